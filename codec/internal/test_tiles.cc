#include "codec/internal/test_tiles.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codec/codec.h"
#include "gdal_priv.h"
#include "testing/files.h"

namespace flatpyramid {
namespace codec {
namespace internal {
namespace {

void RegisterGdalOnce() {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
}

GDALDataType GdalType(PixelType type) {
  switch (type) {
    case PixelType::kUint8:
      return GDT_Byte;
    case PixelType::kUint16:
      return GDT_UInt16;
    case PixelType::kInt16:
      return GDT_Int16;
    case PixelType::kFloat32:
      return GDT_Float32;
  }
  return GDT_Byte;
}

absl::StatusOr<Image> ReadInterleaved(GDALDataset& dataset, const std::string& what,
                                      std::vector<int> bands, const SourceWindow& window,
                                      int tile_width, int tile_height, PixelType type) {
  Image image(tile_width, tile_height, static_cast<int>(bands.size()), type);
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.eResampleAlg = GRIORA_Bilinear;
  const int sample = static_cast<int>(BytesPerSample(type));
  const int pixel_space = sample * image.bands();
  if (dataset.RasterIO(GF_Read, window.x, window.y, window.width, window.height, image.data(),
                       tile_width, tile_height, GdalType(type), image.bands(), bands.data(),
                       pixel_space, static_cast<GSpacing>(image.row_stride()), sample,
                       &extra) != CE_None) {
    return absl::InternalError(
        absl::StrCat("GDAL RasterIO failed on ", what, ": ", CPLGetLastErrorMsg()));
  }
  return image;
}

}  // namespace

absl::StatusOr<Image> ReadTile(const std::string& path, const std::vector<int>& bands,
                               const SourceWindow& window, int tile_width, int tile_height,
                               PixelType type) {
  RegisterGdalOnce();
  GDALDatasetUniquePtr dataset(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (dataset == nullptr) return absl::NotFoundError(absl::StrCat("GDAL cannot open ", path));
  return ReadInterleaved(*dataset, path, bands, window, tile_width, tile_height, type);
}

absl::StatusOr<Image> LandsatRgbTile(int size) { return LandsatTile({3, 2, 1}, size); }

absl::StatusOr<Image> LandsatTile(const std::vector<int>& bands, int size) {
  const std::string path = test::DataPath("L7_ETMs.tif");
  const SourceWindow window =
      size <= 349 ? SourceWindow{0, 0, size, size} : SourceWindow{0, 0, 349, 352};
  return ReadTile(path, bands, window, size, size, PixelType::kUint8);
}

absl::StatusOr<Image> LandsatEdgeTile(const std::vector<int>& bands, int size, bool with_alpha) {
  constexpr int kSceneWidth = 349, kSceneHeight = 352;
  // A tile smaller than the scene takes its bottom-right corner, 221 x 224 for 256 pixels.
  const int width = size >= kSceneWidth ? kSceneWidth : size * 221 / 256;
  const int height = size >= kSceneHeight ? kSceneHeight : size * 224 / 256;
  const SourceWindow window{kSceneWidth - width, kSceneHeight - height, width, height};
  absl::StatusOr<Image> native =
      ReadTile(test::DataPath("L7_ETMs.tif"), bands, window, width, height, PixelType::kUint8);
  if (!native.ok()) return native.status();
  const int in_bands = native->bands();
  const int out_bands = in_bands + (with_alpha ? 1 : 0);
  Image tile(size, size, out_bands, PixelType::kUint8);  // Zero-filled: transparent black.
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* pixel = tile.data() + (static_cast<size_t>(y) * size + x) * out_bands;
      std::memcpy(pixel, native->data() + (static_cast<size_t>(y) * width + x) * in_bands,
                  in_bands);
      if (with_alpha) pixel[in_bands] = 255;
    }
  }
  return tile;
}

namespace {

// StoreSample writes `value` as one sample of `type` at `out`.
void StoreSample(double value, PixelType type, uint8_t* out) {
  switch (type) {
    case PixelType::kUint8:
      *out = static_cast<uint8_t>(value);
      break;
    case PixelType::kUint16: {
      const uint16_t v = static_cast<uint16_t>(value);
      std::memcpy(out, &v, 2);
      break;
    }
    case PixelType::kInt16: {
      const int16_t v = static_cast<int16_t>(value);
      std::memcpy(out, &v, 2);
      break;
    }
    case PixelType::kFloat32: {
      const float v = static_cast<float>(value);
      std::memcpy(out, &v, 4);
      break;
    }
  }
}

}  // namespace

Image PadTile(const Image& native, int size, double fill) {
  Image tile(size, size, native.bands(), native.type());
  const size_t sample = BytesPerSample(native.type());
  uint8_t fill_bytes[4];
  StoreSample(fill, native.type(), fill_bytes);
  for (size_t i = 0; i < tile.size_bytes(); i += sample)
    std::memcpy(tile.data() + i, fill_bytes, sample);
  for (int y = 0; y < native.height(); ++y) {
    std::memcpy(tile.data() + static_cast<size_t>(y) * tile.row_stride(),
                native.data() + static_cast<size_t>(y) * native.row_stride(), native.row_stride());
  }
  return tile;
}

absl::StatusOr<std::vector<DemTile>> RealDemTiles(int size) {
  std::vector<DemTile> tiles;
  struct Small {
    const char* file;
    const char* group;
    SourceWindow window;
    PixelType type;
    double fill;
  };
  for (const Small& small :
       {Small{"elev.tif", "elev_int16", SourceWindow{0, 0, 95, 90}, PixelType::kInt16, -32768.0},
        Small{"olinda_dem_utm25s.tif", "olinda_float32", SourceWindow{0, 0, 111, 111},
              PixelType::kFloat32, std::nan("")}}) {
    const std::string path = test::DataPath(small.file);
    absl::StatusOr<Image> upsampled = ReadTile(path, {1}, small.window, size, size, small.type);
    if (!upsampled.ok()) return upsampled.status();
    const std::string group = absl::StrCat(small.group, "_", size);
    tiles.push_back({group, group, *std::move(upsampled)});
    absl::StatusOr<Image> native =
        ReadTile(path, {1}, small.window, small.window.width, small.window.height, small.type);
    if (!native.ok()) return native.status();
    const std::string padded = absl::StrCat(group, "_padded");
    tiles.push_back({padded, padded, PadTile(*native, size, small.fill)});
  }
  std::vector<DemTile> etopo_uint16;
  for (int y = 0; y + size <= 540; y += size) {
    for (int x = 0; x + size <= 1081; x += size) {
      absl::StatusOr<Image> etopo =
          ReadTile(test::DataPath("etopo20.cdf"), {1}, SourceWindow{x, y, size, size}, size, size,
                   PixelType::kFloat32);
      if (!etopo.ok()) return etopo.status();
      Image metres(size, size, 1, PixelType::kUint16);
      const float* in = reinterpret_cast<const float*>(etopo->data());
      for (size_t i = 0; i < static_cast<size_t>(size) * size; ++i) {
        const double v = std::clamp(std::round(in[i]) + 11000.0, 0.0, 65535.0);
        StoreSample(v, PixelType::kUint16, metres.data() + 2 * i);
      }
      const std::string suffix = absl::StrFormat("%d_%d_%d", size, x / size, y / size);
      tiles.push_back({absl::StrCat("etopo20_float32_", size),
                       absl::StrCat("etopo20_float32_", suffix), *std::move(etopo)});
      etopo_uint16.push_back({absl::StrCat("etopo20_uint16_", size),
                              absl::StrCat("etopo20_uint16_", suffix), std::move(metres)});
    }
  }
  for (DemTile& tile : etopo_uint16) tiles.push_back(std::move(tile));
  return tiles;
}

bool SameImage(const Image& a, const Image& b) {
  return a.width() == b.width() && a.height() == b.height() && a.bands() == b.bands() &&
         a.type() == b.type() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

std::string RgbaWideningMismatch(const std::string& bytes, const Image& rgb, size_t padding) {
  constexpr uint8_t kPadding = 0x5C;
  const size_t sample = BytesPerSample(rgb.type());
  const size_t row = static_cast<size_t>(rgb.width()) * 4 * sample;
  const size_t stride = row + padding;
  std::vector<uint8_t> out(stride * rgb.height(), kPadding);
  const absl::Status status = DecodeInto(
      bytes, MutableImageView{out.data(), rgb.width(), rgb.height(), 4, rgb.type(), stride});
  if (!status.ok()) return std::string(status.message());
  uint8_t opaque[2] = {255, 255};  // 255 as uint8, 65535 as uint16 in either byte order.
  for (int y = 0; y < rgb.height(); ++y) {
    for (int x = 0; x < rgb.width(); ++x) {
      const uint8_t* pixel = out.data() + y * stride + x * 4 * sample;
      if (std::memcmp(pixel, rgb.data() + y * rgb.row_stride() + x * 3 * sample, 3 * sample) != 0) {
        return absl::StrFormat("colour differs at %d,%d", x, y);
      }
      if (std::memcmp(pixel + 3 * sample, opaque, sample) != 0) {
        return absl::StrFormat("alpha is not opaque at %d,%d", x, y);
      }
    }
    for (size_t i = row; i < stride; ++i) {
      if (out[y * stride + i] != kPadding) return absl::StrFormat("padding written in row %d", y);
    }
  }
  return "";
}

absl::StatusOr<Image> DecodeWithGdal(const std::string& bytes, const std::string& path,
                                     const std::string& driver, PixelType type) {
  RegisterGdalOnce();
  {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!file) return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  const char* const drivers[] = {driver.c_str(), nullptr};
  GDALDatasetUniquePtr dataset(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY,
                                                 drivers, nullptr, nullptr));
  if (dataset == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("GDAL driver ", driver, " cannot open ", path, ": ", CPLGetLastErrorMsg()));
  }
  std::vector<int> bands;
  for (int b = 1; b <= dataset->GetRasterCount(); ++b) bands.push_back(b);
  const int width = dataset->GetRasterXSize();
  const int height = dataset->GetRasterYSize();
  return ReadInterleaved(*dataset, path, bands, SourceWindow{0, 0, width, height}, width, height,
                         type);
}

}  // namespace internal
}  // namespace codec
}  // namespace flatpyramid
