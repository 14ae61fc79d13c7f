#include "codec/internal/test_tiles.h"

#include <cstring>
#include <fstream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

absl::StatusOr<Image> LandsatRgbTile(int size) {
  const std::string path = test::DataPath("L7_ETMs.tif");
  const SourceWindow window =
      size <= 349 ? SourceWindow{0, 0, size, size} : SourceWindow{0, 0, 349, 352};
  return ReadTile(path, {3, 2, 1}, window, size, size, PixelType::kUint8);
}

absl::StatusOr<std::vector<DemTile>> RealDemTiles(int size) {
  std::vector<DemTile> tiles;
  absl::StatusOr<Image> elev = ReadTile(test::DataPath("elev.tif"), {1}, SourceWindow{0, 0, 95, 90},
                                        size, size, PixelType::kInt16);
  if (!elev.ok()) return elev.status();
  tiles.push_back({absl::StrCat("elev_int16_", size), *std::move(elev)});
  absl::StatusOr<Image> olinda =
      ReadTile(test::DataPath("olinda_dem_utm25s.tif"), {1}, SourceWindow{0, 0, 111, 111}, size,
               size, PixelType::kFloat32);
  if (!olinda.ok()) return olinda.status();
  tiles.push_back({absl::StrCat("olinda_float32_", size), *std::move(olinda)});
  for (int y = 0; y + size <= 540; y += size) {
    for (int x = 0; x + size <= 1081; x += size) {
      absl::StatusOr<Image> etopo =
          ReadTile(test::DataPath("etopo20.cdf"), {1}, SourceWindow{x, y, size, size}, size, size,
                   PixelType::kFloat32);
      if (!etopo.ok()) return etopo.status();
      tiles.push_back({absl::StrFormat("etopo20_float32_%d_%d_%d", size, x / size, y / size),
                       *std::move(etopo)});
    }
  }
  return tiles;
}

bool SameImage(const Image& a, const Image& b) {
  return a.width() == b.width() && a.height() == b.height() && a.bands() == b.bands() &&
         a.type() == b.type() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
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
