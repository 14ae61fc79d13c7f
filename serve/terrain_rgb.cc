#include "serve/terrain_rgb.h"

#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "codec/codec.h"

namespace flatpyramid {
namespace serve {
namespace {

double SampleAt(const codec::ImageView& image, int x, int y) {
  const uint8_t* row = image.data + static_cast<size_t>(y) * image.row_stride;
  switch (image.type) {
    case codec::PixelType::kInt16: {
      int16_t v;
      std::memcpy(&v, row + 2 * x, 2);
      return v;
    }
    case codec::PixelType::kUint16: {
      uint16_t v;
      std::memcpy(&v, row + 2 * x, 2);
      return v;
    }
    default: {
      float v;
      std::memcpy(&v, row + 4 * x, 4);
      return v;
    }
  }
}

}  // namespace

absl::StatusOr<TerrainEncoding> ParseTerrainEncoding(absl::string_view name) {
  if (name == "terrarium") return TerrainEncoding::kTerrarium;
  if (name == "mapbox") return TerrainEncoding::kMapbox;
  return absl::InvalidArgumentError(
      absl::StrCat("encoding \"", name, "\" is not one of terrarium, mapbox"));
}

void EncodeTerrainRgb(double height, TerrainEncoding encoding, uint8_t rgb[3]) {
  double steps = encoding == TerrainEncoding::kTerrarium ? std::round((height + 32768.0) * 256.0)
                                                         : std::round((height + 10000.0) * 10.0);
  steps = std::fmin(std::fmax(steps, 0.0), 16777215.0);
  const uint32_t v = static_cast<uint32_t>(steps);
  rgb[0] = static_cast<uint8_t>(v >> 16);
  rgb[1] = static_cast<uint8_t>(v >> 8);
  rgb[2] = static_cast<uint8_t>(v);
}

absl::StatusOr<std::string> TerrainRgbPng(const codec::ImageView& elevation,
                                          std::optional<double> nodata, TerrainEncoding encoding) {
  if (elevation.bands != 1 || elevation.type == codec::PixelType::kUint8) {
    return absl::InvalidArgumentError(
        "terrain RGB needs a single-band int16, uint16 or float32 elevation tile");
  }
  codec::Image rgb(elevation.width, elevation.height, 3, codec::PixelType::kUint8);
  for (int y = 0; y < elevation.height; ++y) {
    uint8_t* out = rgb.data() + static_cast<size_t>(y) * rgb.row_stride();
    for (int x = 0; x < elevation.width; ++x) {
      double h = SampleAt(elevation, x, y);
      if (std::isnan(h) || (nodata.has_value() && h == *nodata)) h = 0;
      EncodeTerrainRgb(h, encoding, out + 3 * x);
    }
  }
  std::string png;
  if (absl::Status s = codec::Encode(codec::CodecId::kPng, rgb.view(), {}, &png); !s.ok()) {
    return s;
  }
  return png;
}

}  // namespace serve
}  // namespace flatpyramid
