#include "codec/terrain_rgb.h"

#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace codec {
namespace {

constexpr double kMaxCode = (1 << 24) - 1;  // 24 bits of R, G, B.

// Offset and steps per metre of each encoding: code = (metres + offset) * steps.
double Offset(TerrainEncoding e) { return e == TerrainEncoding::kTerrarium ? 32768.0 : 10000.0; }
double StepsPerMetre(TerrainEncoding e) { return e == TerrainEncoding::kTerrarium ? 256.0 : 10.0; }

double SampleAt(const ImageView& view, int x, int y) {
  const uint8_t* row = view.data + static_cast<size_t>(y) * view.row_stride;
  switch (view.type) {
    case PixelType::kUint8:
      return row[x];
    case PixelType::kUint16: {
      uint16_t v;
      std::memcpy(&v, row + 2 * x, 2);
      return v;
    }
    case PixelType::kInt16: {
      int16_t v;
      std::memcpy(&v, row + 2 * x, 2);
      return v;
    }
    case PixelType::kFloat32: {
      float v;
      std::memcpy(&v, row + 4 * x, 4);
      return v;
    }
  }
  return 0;
}

}  // namespace

absl::StatusOr<TerrainEncoding> ParseTerrainEncoding(absl::string_view name) {
  if (name == "terrarium") return TerrainEncoding::kTerrarium;
  if (name == "mapbox") return TerrainEncoding::kMapbox;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown terrain encoding \"", name, "\": use terrarium or mapbox"));
}

absl::string_view TerrainEncodingName(TerrainEncoding encoding) {
  return encoding == TerrainEncoding::kTerrarium ? "terrarium" : "mapbox";
}

double TerrainRgbToMetres(TerrainEncoding encoding, uint8_t r, uint8_t g, uint8_t b) {
  const double code = r * 65536.0 + g * 256.0 + b;
  return code / StepsPerMetre(encoding) - Offset(encoding);
}

void MetresToTerrainRgb(TerrainEncoding encoding, double metres, uint8_t rgb[3]) {
  double code = std::round((metres + Offset(encoding)) * StepsPerMetre(encoding));
  code = code < 0 ? 0 : (code > kMaxCode ? kMaxCode : code);
  const uint32_t v = static_cast<uint32_t>(code);
  rgb[0] = static_cast<uint8_t>(v >> 16);
  rgb[1] = static_cast<uint8_t>(v >> 8);
  rgb[2] = static_cast<uint8_t>(v);
}

absl::StatusOr<Image> EncodeTerrainRgb(const ImageView& elevation, TerrainEncoding encoding,
                                       std::optional<double> nodata) {
  if (absl::Status s = ValidateView(elevation); !s.ok()) return s;
  if (elevation.bands != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("terrain-RGB encodes one band of elevation, the image has ", elevation.bands));
  }
  Image out = Image::Uninitialized(elevation.width, elevation.height, 3, PixelType::kUint8);
  uint8_t zero[3];
  MetresToTerrainRgb(encoding, 0.0, zero);
  for (int y = 0; y < elevation.height; ++y) {
    uint8_t* row = out.data() + static_cast<size_t>(y) * out.row_stride();
    for (int x = 0; x < elevation.width; ++x) {
      const double h = SampleAt(elevation, x, y);
      const bool no_data = std::isnan(h) || (nodata.has_value() && h == *nodata);
      if (no_data) {
        std::memcpy(row + 3 * x, zero, 3);
      } else {
        MetresToTerrainRgb(encoding, h, row + 3 * x);
      }
    }
  }
  return out;
}

}  // namespace codec
}  // namespace flatpyramid
