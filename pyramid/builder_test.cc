// BuildPyramid against GDAL as the oracle: base tiles equal gdalwarp of the same source into
// the same tile bounds; JPEG and overview quality against GDAL's own COG; resume after a real
// kill -9; every documented error.
#include "pyramid/builder.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codec/codec.h"
#include "gdal_priv.h"
#include "gdal_utils.h"
#include "geo/morton.h"
#include "geo/tile_matrix_set.h"
#include "gtest/gtest.h"
#include "storage/store.h"
#include "testing/files.h"
#include "testing/image_compare.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using test::DataPath;
using test::TempDir;

// RgbaTile is a tile as 8-bit RGB(A) or one float band, plus coverage (255 = full).
struct Pixels {
  std::vector<float> values;  // size * size * bands.
  std::vector<uint8_t> alpha;
  int bands = 0;
};

class GdalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    GDALAllRegister();
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");  // Never write .aux.xml next to test data.
  }
};
const ::testing::Environment* const kGdal =
    ::testing::AddGlobalTestEnvironment(new GdalEnvironment);

// GdalWarpTile runs the GDAL C API gdalwarp (`args`) of `source` into tile `tile`'s bounds.
Pixels GdalWarpTile(const std::string& source, const std::vector<std::string>& extra_args,
                    const geo::TileMatrixSet& tms, const geo::TileId& tile, int bands) {
  const geo::Bounds b = tms.TileBounds(tile);
  std::vector<std::string> args = {"-of",
                                   "MEM",
                                   "-t_srs",
                                   std::string(tms.crs()),
                                   "-te",
                                   absl::StrFormat("%.17g", b.min_x),
                                   absl::StrFormat("%.17g", b.min_y),
                                   absl::StrFormat("%.17g", b.max_x),
                                   absl::StrFormat("%.17g", b.max_y),
                                   "-ts",
                                   absl::StrCat(tms.tile_size()),
                                   absl::StrCat(tms.tile_size()),
                                   "-dstalpha"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALWarpAppOptions* options = GDALWarpAppOptionsNew(argv.data(), nullptr);
  GDALDatasetH src = GDALOpen(source.c_str(), GA_ReadOnly);
  EXPECT_NE(src, nullptr) << source;
  GDALDatasetH out = GDALWarp("", nullptr, 1, &src, options, nullptr);
  GDALWarpAppOptionsFree(options);
  Pixels pixels;
  EXPECT_NE(out, nullptr);
  if (out == nullptr) return pixels;
  const int size = tms.tile_size();
  pixels.bands = bands;
  pixels.values.resize(static_cast<size_t>(size) * size * bands);
  pixels.alpha.resize(static_cast<size_t>(size) * size);
  std::vector<float> alpha(pixels.alpha.size());
  EXPECT_EQ(GDALDatasetRasterIO(out, GF_Read, 0, 0, size, size, pixels.values.data(), size, size,
                                GDT_Float32, bands, nullptr, 4 * bands, 4 * bands * size, 4),
            CE_None);
  EXPECT_EQ(GDALRasterIO(GDALGetRasterBand(out, bands + 1), GF_Read, 0, 0, size, size, alpha.data(),
                         size, size, GDT_Float32, 0, 0),
            CE_None);
  for (size_t i = 0; i < alpha.size(); ++i) pixels.alpha[i] = static_cast<uint8_t>(alpha[i]);
  GDALClose(out);
  GDALClose(src);
  return pixels;
}

// SelectBands writes a VRT of `source` with `bands` (gdal_translate -b) for the oracle.
std::string SelectBands(const std::string& source, const std::vector<int>& bands,
                        const std::string& vrt_path) {
  std::vector<std::string> args = {"-of", "VRT"};
  for (int b : bands) {
    args.push_back("-b");
    args.push_back(absl::StrCat(b));
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALTranslateOptions* options = GDALTranslateOptionsNew(argv.data(), nullptr);
  GDALDatasetH src = GDALOpen(source.c_str(), GA_ReadOnly);
  GDALDatasetH vrt = GDALTranslate(vrt_path.c_str(), src, options, nullptr);
  GDALTranslateOptionsFree(options);
  EXPECT_NE(vrt, nullptr);
  GDALClose(vrt);
  GDALClose(src);
  return vrt_path;
}

// StoredTiles lists one level of a built pyramid.
struct StoredTile {
  geo::TileId id;
  std::string bytes;
};
std::vector<StoredTile> ReadLevel(const std::string& path, int zoom) {
  std::vector<StoredTile> tiles;
  absl::StatusOr<std::unique_ptr<storage::Reader>> reader = storage::Reader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return tiles;
  std::optional<uint32_t> section = (*reader)->FindSection(absl::StrCat("z", zoom));
  EXPECT_TRUE(section.has_value()) << "z" << zoom;
  if (!section.has_value()) return tiles;
  for (uint64_t i = 0; i < (*reader)->entry_count(*section); ++i) {
    uint32_t x, y;
    geo::MortonDecode((*reader)->KeyAt(*section, i), &x, &y);
    tiles.push_back({{zoom, x, y}, std::string((*reader)->ValueAt(*section, i))});
  }
  return tiles;
}

// DecodeToPixels decodes a stored tile into `bands` float samples and coverage.
Pixels DecodeToPixels(const std::string& bytes, int bands, std::optional<double> nodata) {
  absl::StatusOr<codec::Image> image = codec::Decode(bytes);
  EXPECT_TRUE(image.ok()) << image.status();
  Pixels pixels;
  if (!image.ok()) return pixels;
  const size_t count = static_cast<size_t>(image->width()) * image->height();
  pixels.bands = bands;
  pixels.values.resize(count * bands);
  pixels.alpha.assign(count, 255);
  const int stored_bands = image->bands();
  for (size_t p = 0; p < count; ++p) {
    for (int b = 0; b < stored_bands; ++b) {
      const size_t i = p * stored_bands + b;
      float v = 0;
      switch (image->type()) {
        case codec::PixelType::kUint8:
          v = image->data()[i];
          break;
        case codec::PixelType::kUint16:
          v = reinterpret_cast<const uint16_t*>(image->data())[i];
          break;
        case codec::PixelType::kInt16:
          v = reinterpret_cast<const int16_t*>(image->data())[i];
          break;
        case codec::PixelType::kFloat32:
          v = reinterpret_cast<const float*>(image->data())[i];
          break;
      }
      if (b < bands) {
        pixels.values[p * bands + b] = v;
      } else {
        pixels.alpha[p] = static_cast<uint8_t>(v);
      }
    }
    if (nodata.has_value() && pixels.values[p * bands] == static_cast<float>(*nodata)) {
      pixels.alpha[p] = 0;
    }
  }
  return pixels;
}

// InteriorMask is 1 where both are fully covered and no pixel within `margin` is not:
// the "all but edge pixels" of the acceptance criteria.
std::vector<uint8_t> InteriorMask(const Pixels& a, const Pixels& b, int size, int margin,
                                  int bands) {
  std::vector<uint8_t> mask(static_cast<size_t>(size) * size * bands, 0);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      bool interior = true;
      for (int dy = -margin; dy <= margin && interior; ++dy) {
        for (int dx = -margin; dx <= margin && interior; ++dx) {
          const int xx = std::min(std::max(x + dx, 0), size - 1);
          const int yy = std::min(std::max(y + dy, 0), size - 1);
          const size_t p = static_cast<size_t>(yy) * size + xx;
          interior = a.alpha[p] == 255 && b.alpha[p] == 255;
        }
      }
      for (int band = 0; band < bands; ++band) {
        mask[(static_cast<size_t>(y) * size + x) * bands + band] = interior;
      }
    }
  }
  return mask;
}

BuildOptions LandsatOptions(const TempDir& dir) {
  BuildOptions options;
  options.inputs = {DataPath("L7_ETMs.tif")};
  options.output = dir.Path("landsat.fpyr");
  options.bands = {3, 2, 1};
  options.max_zoom = 13;
  options.min_zoom = 10;
  options.threads = 2;
  return options;
}

TEST(BuildPyramidTest, LandsatPngBaseTilesMatchGdalwarpWithinOneGreyLevel) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir);
  options.codec = "png";
  options.max_error_pixels = 0;
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->metadata.band_count(), 4u);
  EXPECT_TRUE(result->metadata.has_alpha());
  const std::string rgb = SelectBands(DataPath("L7_ETMs.tif"), {3, 2, 1}, dir.Path("rgb.vrt"));
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  std::vector<StoredTile> tiles = ReadLevel(options.output, 13);
  ASSERT_GE(tiles.size(), 4u);
  size_t compared = 0;
  for (const StoredTile& tile : tiles) {
    Pixels ours = DecodeToPixels(tile.bytes, 3, std::nullopt);
    Pixels gdal = GdalWarpTile(rgb, {"-r", "bilinear", "-et", "0"}, tms, tile.id, 3);
    std::vector<uint8_t> mask = InteriorMask(ours, gdal, 256, 2, 3);
    test::ImageDifference d = test::CompareSamples<float>(ours.values, gdal.values, 255, 1.0, mask);
    EXPECT_LE(d.max_abs_error, 1.0) << tile.id.x << "," << tile.id.y << " mean " << d.mean_abs_error
                                    << " differing " << d.differing << " of " << d.compared;
    compared += d.compared;
  }
  EXPECT_GT(compared, 100000u);
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
