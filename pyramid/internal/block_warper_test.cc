// BlockWarper's separable fast path against its GDAL warper path (the same BlockWarper with
// the fast path off) on real data: every pixel off the data edge within 1 grey level (integer
// data) or 1e-3 (float data), the same coverage everywhere off the edge.
#include "pyramid/internal/block_warper.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "gdal_priv.h"
#include "gdal_utils.h"
#include "geo/crs.h"
#include "geo/tile_matrix_set.h"
#include "gtest/gtest.h"
#include "testing/files.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

using test::DataPath;
using test::TempDir;

struct Block {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> samples;
  std::vector<uint8_t> alpha;
};

std::unique_ptr<Source> OpenSource(const std::string& path, const std::string& source_srs = "",
                                   std::vector<int> bands = {}) {
  SourceOptions options;
  options.inputs = {path};
  options.source_srs = source_srs;
  options.bands = std::move(bands);
  absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(options);
  EXPECT_TRUE(source.ok()) << source.status();
  return source.ok() ? std::move(*source) : nullptr;
}

// WarpTiles renders the `tiles_x` x `tiles_y` block of `tms` tiles at zoom z whose top-left
// tile is (tx, ty), with the fast path on or off, splitting at a wrapped source's seam as the
// builder does.
Block WarpTiles(const Source& source, const geo::TileMatrixSet& tms, GDALResampleAlg resampling,
                bool fast, int z, uint32_t tx, uint32_t ty, int tiles_x, int tiles_y,
                bool* separable) {
  absl::StatusOr<OGRSpatialReference> target = geo::TileMatrixSetSrs(tms);
  EXPECT_TRUE(target.ok());
  target->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  absl::StatusOr<std::unique_ptr<BlockWarper>> warper =
      BlockWarper::Create(source, *target, resampling, 0.125, fast);
  EXPECT_TRUE(warper.ok()) << warper.status();
  if (source.center_longitude().has_value()) {
    double seam_lon = *source.center_longitude() - 180.0;
    while (seam_lon < -180.0) seam_lon += 360.0;
    double seam_x, seam_y;
    tms.LonLatToCrs(seam_lon, 0, &seam_x, &seam_y);
    (*warper)->set_seam_x(seam_x);
  }
  *separable = (*warper)->separable();
  const int width = tiles_x * tms.tile_size();
  const int height = tiles_y * tms.tile_size();
  const size_t pixel_bytes = source.bands().size() * GDALGetDataTypeSizeBytes(source.gdal_type());
  Block block;
  block.width = width;
  block.height = height;
  block.samples.resize(pixel_bytes * width * height);
  block.alpha.resize(static_cast<size_t>(width) * height);
  const geo::Bounds corner = tms.TileBounds({z, tx, ty});
  absl::Status status = (*warper)->Warp(corner.min_x, corner.max_y, tms.Resolution(z), width,
                                        height, block.samples.data(), block.alpha.data());
  EXPECT_TRUE(status.ok()) << status;
  return block;
}

struct Agreement {
  int compared = 0;          // Covered pixels off the data edge.
  int coverage_differs = 0;  // Off the edge.
  double max_error = 0;      // Absolute, in the data's units.
};

// Compare checks `fast` against `gdal` on pixels whose 5 x 5 neighbourhood GDAL covers
// entirely (the data edge is where the two kernels' edge rules may differ).
template <typename T>
Agreement Compare(const Block& fast, const Block& gdal, int bands) {
  const int side = gdal.width;
  Agreement a;
  const T* f = reinterpret_cast<const T*>(fast.samples.data());
  const T* g = reinterpret_cast<const T*>(gdal.samples.data());
  for (int y = 2; y < gdal.height - 2; ++y) {
    for (int x = 2; x < side - 2; ++x) {
      bool interior = true;
      for (int dy = -2; dy <= 2 && interior; ++dy) {
        for (int dx = -2; dx <= 2; ++dx) {
          if (gdal.alpha[(y + dy) * side + x + dx] != 255) interior = false;
        }
      }
      if (!interior) continue;
      const size_t p = static_cast<size_t>(y) * side + x;
      if (fast.alpha[p] != gdal.alpha[p]) {
        ++a.coverage_differs;
        continue;
      }
      ++a.compared;
      for (int b = 0; b < bands; ++b) {
        const double fv = f[p * bands + b];
        const double gv = g[p * bands + b];
        double error = std::fabs(fv - gv);

        a.max_error = std::max(a.max_error, error);
      }
    }
  }
  return a;
}

geo::TileMatrixSet Tms(const std::string& name) {
  absl::StatusOr<geo::TileMatrixSet> tms = geo::TileMatrixSet::FromName(name, 256);
  EXPECT_TRUE(tms.ok());
  return *tms;
}

TEST(SeparableWarpTest, Int16DemWithNodataMatchesGdalPathUpsampled) {
  std::unique_ptr<Source> source = OpenSource(DataPath("elev.tif"));
  ASSERT_NE(source, nullptr);
  const geo::TileMatrixSet tms = Tms("WebMercatorQuad");
  // elev.tif (95 x 90 pixels of 0.00833 degrees at 50 N, nodata -32768) is smaller than one
  // tile up to zoom 7, so only upsampling zooms have pixels off its edge. The blocks reach
  // past the source on every side.
  for (int z = 8; z <= 10; ++z) {
    double x, y;
    tms.LonLatToCrs(5.70, 50.25, &x, &y);
    const geo::Bounds extent = tms.extent();
    const double tile_span = tms.Resolution(z) * 256;
    const uint32_t tx = static_cast<uint32_t>((x - extent.min_x) / tile_span);
    const uint32_t ty = static_cast<uint32_t>((extent.max_y - y) / tile_span);
    const int tiles = 2 << (z - 8);
    bool fast_separable = false, gdal_separable = true;
    const Block fast =
        WarpTiles(*source, tms, GRA_Bilinear, true, z, tx, ty, tiles, tiles, &fast_separable);
    const Block gdal =
        WarpTiles(*source, tms, GRA_Bilinear, false, z, tx, ty, tiles, tiles, &gdal_separable);
    EXPECT_TRUE(fast_separable);
    EXPECT_FALSE(gdal_separable);
    const Agreement a = Compare<int16_t>(fast, gdal, 1);
    SCOPED_TRACE(testing::Message() << "zoom " << z);
    EXPECT_GT(a.compared, 3000);
    EXPECT_EQ(a.coverage_differs, 0);
    EXPECT_LE(a.max_error, 1.0);
  }
}

TEST(SeparableWarpTest, WrappedFloatGridMatchesGdalPathOnBothTileMatrixSets) {
  // etopo20: float32, longitudes 20..380 (wrapped around 200), nodata -1e34.
  std::unique_ptr<Source> source = OpenSource(DataPath("etopo20.cdf"), "EPSG:4326");
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(source->center_longitude().has_value());
  for (const std::string name : {"WebMercatorQuad", "WorldCRS84Quad"}) {
    const geo::TileMatrixSet tms = Tms(name);
    // 1080 pixels around the world: zoom 1 downsamples (about 0.47 in x), zoom 2 is just
    // under GDAL's 0.95 threshold on WebMercatorQuad, zoom 3 upsamples.
    for (int z = 1; z <= 3; ++z) {
      // WorldCRS84Quad: 2 x 2 tiles off the poles, zooms 2 and 3 (GDAL's own path leaves
      // blocks that touch latitude 90 empty). WebMercatorQuad: the whole world up to 4 x 4
      // tiles, from the top-left tile.
      const bool crs84 = name == "WorldCRS84Quad";
      if (crs84 && z == 1) continue;
      const int tiles_x = crs84 ? 2 : std::min(4, 1 << z);
      const int tiles_y = tiles_x;
      const uint32_t tx = crs84 ? (1u << z) : 0;
      const uint32_t ty = crs84 ? (1u << z) / 2 - 1 : 0;
      bool fast_separable = false, gdal_separable = true;
      const Block fast =
          WarpTiles(*source, tms, GRA_Bilinear, true, z, tx, ty, tiles_x, tiles_y, &fast_separable);
      const Block gdal = WarpTiles(*source, tms, GRA_Bilinear, false, z, tx, ty, tiles_x, tiles_y,
                                   &gdal_separable);
      EXPECT_TRUE(fast_separable);
      const Agreement a = Compare<float>(fast, gdal, 1);
      SCOPED_TRACE(testing::Message() << name << " zoom " << z);
      EXPECT_GT(a.compared, 10000);
      EXPECT_EQ(a.coverage_differs, 0);
      EXPECT_LE(a.max_error, 1e-3);
    }
  }
}

// An RGB byte source of etopo20's 1080 x 540 pixels placed on -180..180 (not wrapped: the
// texture only needs to be real, not in place), stretched to 0..255.
std::string MakeRgbRelief(const TempDir& dir) {
  const std::string path = dir.Path("relief_rgb.tif");
  GDALDatasetH etopo = GDALOpen(DataPath("etopo20.cdf").c_str(), GA_ReadOnly);
  EXPECT_NE(etopo, nullptr);
  std::vector<std::string> args = {"-of",  "GTiff", "-ot",  "Byte",      "-scale",   "-8000",
                                   "6000", "0",     "255",  "-b",        "1",        "-b",
                                   "1",    "-b",    "1",    "-a_nodata", "none",     "-srcwin",
                                   "0",    "0",     "1080", "540",       "-a_ullr",  "-180",
                                   "90",   "180",   "-90",  "-a_srs",    "EPSG:4326"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  GDALTranslateOptions* options = GDALTranslateOptionsNew(argv.data(), nullptr);
  GDALDatasetH out = GDALTranslate(path.c_str(), etopo, options, nullptr);
  GDALTranslateOptionsFree(options);
  EXPECT_NE(out, nullptr);
  GDALClose(out);
  GDALClose(etopo);
  return path;
}

TEST(SeparableWarpTest, RgbByteMatchesGdalPathWithinOneGreyLevelBilinearAndExactNearest) {
  TempDir dir;
  std::unique_ptr<Source> source = OpenSource(MakeRgbRelief(dir));
  ASSERT_NE(source, nullptr);
  const geo::TileMatrixSet tms = Tms("WebMercatorQuad");
  // 3 pixels per degree; the source covers every block. Zoom 1 downsamples (0.47 in x),
  // zoom 2 is just under GDAL's 0.95 threshold in x, zooms 3 and 4 upsample.
  for (int z = 1; z <= 4; ++z) {
    const int tiles = std::min(1 << z, 4);
    const uint32_t tx = z <= 2 ? 0 : (1u << z) / 2;
    const uint32_t ty = z <= 2 ? 0 : 2;
    for (GDALResampleAlg resampling : {GRA_Bilinear, GRA_NearestNeighbour}) {
      bool fast_separable = false, gdal_separable = true;
      const Block fast =
          WarpTiles(*source, tms, resampling, true, z, tx, ty, tiles, tiles, &fast_separable);
      const Block gdal =
          WarpTiles(*source, tms, resampling, false, z, tx, ty, tiles, tiles, &gdal_separable);
      EXPECT_TRUE(fast_separable);
      const Agreement a = Compare<uint8_t>(fast, gdal, 3);
      SCOPED_TRACE(testing::Message() << "zoom " << z << " resampling " << resampling);
      EXPECT_GT(a.compared, 30000);
      EXPECT_EQ(a.coverage_differs, 0);
      EXPECT_LE(a.max_error, resampling == GRA_Bilinear ? 1.0 : 0.0);
    }
  }
}

TEST(SeparableWarpTest, ProjectedSourcesAndOtherKernelsUseGdalsWarper) {
  std::unique_ptr<Source> utm = OpenSource(DataPath("L7_ETMs.tif"), "", {3, 2, 1});
  std::unique_ptr<Source> dem = OpenSource(DataPath("elev.tif"));
  ASSERT_NE(utm, nullptr);
  ASSERT_NE(dem, nullptr);
  absl::StatusOr<OGRSpatialReference> target = geo::TileMatrixSetSrs(Tms("WebMercatorQuad"));
  ASSERT_TRUE(target.ok());
  target->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  auto separable = [&](const Source& source, GDALResampleAlg resampling) {
    absl::StatusOr<std::unique_ptr<BlockWarper>> warper =
        BlockWarper::Create(source, *target, resampling);
    EXPECT_TRUE(warper.ok());
    return warper.ok() && (*warper)->separable();
  };
  EXPECT_FALSE(separable(*utm, GRA_Bilinear));  // UTM to WebMercator is not separable.
  EXPECT_TRUE(separable(*dem, GRA_Bilinear));
  EXPECT_TRUE(separable(*dem, GRA_NearestNeighbour));
  EXPECT_FALSE(separable(*dem, GRA_Cubic));
  EXPECT_FALSE(separable(*dem, GRA_Average));
}

TEST(SeparableWarpTest, PerDatasetMasksAndMosaicAlphaUseGdalsWarper) {
  TempDir dir;
  test::SyntheticRasterSpec spec;
  spec.bands = 3;
  spec.srs = "EPSG:3857";
  spec.geotransform = {0, 100, 0, 0, 0, -100};
  absl::StatusOr<GDALDatasetUniquePtr> raster = test::MakeSyntheticRaster(spec);
  ASSERT_TRUE(raster.ok()) << raster.status();
  const std::string plain = dir.Path("plain.tif");
  ASSERT_TRUE(test::WriteRaster(**raster, plain).ok());
  spec.geotransform = {100 * 256, 100, 0, 0, 0, -100};
  raster = test::MakeSyntheticRaster(spec);
  ASSERT_TRUE(raster.ok());
  const std::string beside = dir.Path("beside.tif");
  ASSERT_TRUE(test::WriteRaster(**raster, beside).ok());
  const std::string masked = dir.Path("masked.tif");
  {
    GDALDatasetUniquePtr copy(GetGDALDriverManager()->GetDriverByName("GTiff")->CreateCopy(
        masked.c_str(), raster->get(), false, nullptr, nullptr, nullptr));
    ASSERT_NE(copy, nullptr);
    ASSERT_EQ(copy->CreateMaskBand(GMF_PER_DATASET), CE_None);
  }
  absl::StatusOr<OGRSpatialReference> target = geo::TileMatrixSetSrs(Tms("WebMercatorQuad"));
  ASSERT_TRUE(target.ok());
  target->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  auto separable = [&](const Source& source) {
    absl::StatusOr<std::unique_ptr<BlockWarper>> warper =
        BlockWarper::Create(source, *target, GRA_Bilinear);
    EXPECT_TRUE(warper.ok());
    return warper.ok() && (*warper)->separable();
  };
  std::unique_ptr<Source> without_mask = OpenSource(plain);
  std::unique_ptr<Source> with_mask = OpenSource(masked);
  ASSERT_NE(without_mask, nullptr);
  ASSERT_NE(with_mask, nullptr);
  EXPECT_TRUE(separable(*without_mask));
  EXPECT_FALSE(separable(*with_mask));
  // Two inputs without nodata or alpha: the mosaic gets an alpha band (its gaps are no data).
  SourceOptions options;
  options.inputs = {plain, beside};
  absl::StatusOr<std::unique_ptr<Source>> mosaic = Source::Open(options);
  ASSERT_TRUE(mosaic.ok()) << mosaic.status();
  EXPECT_EQ((*mosaic)->alpha_band(), 4);
  EXPECT_EQ((*mosaic)->bands(), (std::vector<int>{1, 2, 3}));
  EXPECT_FALSE(separable(**mosaic));
}

TEST(SeparableWarpTest, FarDownsampledBlocksFallBackToGdalsWarper) {
  // 8192 x 4096 pixels of the world into one zoom 0 tile: scale 1/32 in x, beyond the
  // fast path's widest kernel, so the block goes through GDAL's warper and both paths agree
  // exactly.
  TempDir dir;
  test::SyntheticRasterSpec spec;
  spec.width = 8192;
  spec.height = 4096;
  spec.bands = 3;
  spec.srs = "EPSG:4326";
  spec.geotransform = {-180, 360.0 / 8192, 0, 90, 0, -180.0 / 4096};
  spec.pattern = test::SyntheticPattern::kCheckerboard;
  absl::StatusOr<GDALDatasetUniquePtr> raster = test::MakeSyntheticRaster(spec);
  ASSERT_TRUE(raster.ok()) << raster.status();
  const std::string path = dir.Path("checkerboard.tif");
  ASSERT_TRUE(test::WriteRaster(**raster, path).ok());
  std::unique_ptr<Source> source = OpenSource(path);
  ASSERT_NE(source, nullptr);
  const geo::TileMatrixSet tms = Tms("WebMercatorQuad");
  bool fast_separable = false, gdal_separable = true;
  const Block fast = WarpTiles(*source, tms, GRA_Bilinear, true, 0, 0, 0, 1, 1, &fast_separable);
  const Block gdal = WarpTiles(*source, tms, GRA_Bilinear, false, 0, 0, 0, 1, 1, &gdal_separable);
  EXPECT_TRUE(fast_separable);
  EXPECT_EQ(fast.samples, gdal.samples);
  EXPECT_EQ(fast.alpha, gdal.alpha);
  EXPECT_EQ(std::count(gdal.alpha.begin(), gdal.alpha.end(), 255), 256 * 256);
}

}  // namespace
}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
