#include "pyramid/internal/read/region_warp.h"

#include <cstring>
#include <vector>

#include "gdal_priv.h"
#include "gdal_utils.h"
#include "gtest/gtest.h"
#include "ogr_spatialref.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

std::string Wkt(const char* user_input) {
  OGRSpatialReference srs;
  EXPECT_EQ(srs.SetFromUserInput(user_input), OGRERR_NONE);
  char* wkt = nullptr;
  srs.exportToWkt(&wkt);
  std::string result = wkt;
  CPLFree(wkt);
  return result;
}

// Interleaved copies the dataset's bands into one interleaved uint8 buffer.
std::vector<uint8_t> Interleaved(GDALDataset& dataset) {
  const int w = dataset.GetRasterXSize(), h = dataset.GetRasterYSize();
  const int bands = dataset.GetRasterCount();
  std::vector<uint8_t> out(static_cast<size_t>(w) * h * bands);
  EXPECT_EQ(dataset.RasterIO(GF_Read, 0, 0, w, h, out.data(), w, h, GDT_Byte, bands, nullptr, bands,
                             static_cast<GSpacing>(w) * bands, 1, nullptr),
            CE_None);
  return out;
}

class RegionWarpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { GDALAllRegister(); }
};

TEST_F(RegionWarpTest, SameGridWithNearestCopiesEveryPixel) {
  test::SyntheticRasterSpec spec;
  spec.width = 64;
  spec.height = 48;
  spec.bands = 3;
  spec.srs = "EPSG:3857";
  spec.geotransform = {1000, 10, 0, 5000, 0, -10};
  absl::StatusOr<GDALDatasetUniquePtr> source = test::MakeSyntheticRaster(spec);
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<uint8_t> pixels = Interleaved(**source);

  const GeoGrid grid{spec.geotransform, Wkt("EPSG:3857")};
  codec::Image out(64, 48, 3, codec::PixelType::kUint8);
  WarpSpec warp;
  warp.resampling = GRA_NearestNeighbour;
  warp.color_bands = 3;
  ASSERT_TRUE(WarpRegion({pixels.data(), 64, 48, 3, codec::PixelType::kUint8, 64 * 3}, grid,
                         out.mutable_view(), grid, warp)
                  .ok());
  EXPECT_EQ(std::memcmp(out.data(), pixels.data(), pixels.size()), 0);
}

TEST_F(RegionWarpTest, ReprojectionMatchesGdalWarpExactly) {
  // A WebMercator source warped to a lon/lat grid: our MEM-over-buffer path must give the
  // very pixels gdalwarp gives for the same grids, kernel and error threshold.
  test::SyntheticRasterSpec spec;
  spec.width = 200;
  spec.height = 200;
  spec.bands = 2;
  spec.srs = "EPSG:3857";
  spec.pattern = test::SyntheticPattern::kCheckerboard;
  spec.geotransform = {-3900000, 50, 0, -880000, 0, -50};
  absl::StatusOr<GDALDatasetUniquePtr> source = test::MakeSyntheticRaster(spec);
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<uint8_t> pixels = Interleaved(**source);

  const int w = 90, h = 70;
  const std::array<double, 6> out_gt = {-35.02, 0.0009, 0, -7.94, 0, -0.0009};
  codec::Image ours(w, h, 2, codec::PixelType::kUint8);
  WarpSpec warp;
  warp.resampling = GRA_Cubic;
  warp.color_bands = 1;
  warp.source_alpha_band = 1;
  warp.destination_alpha_band = 1;
  ASSERT_TRUE(WarpRegion({pixels.data(), 200, 200, 2, codec::PixelType::kUint8, 400},
                         GeoGrid{spec.geotransform, Wkt("EPSG:3857")}, ours.mutable_view(),
                         GeoGrid{out_gt, Wkt("EPSG:4326")}, warp)
                  .ok());

  // Band 2 of the source as alpha: the checkerboard's 0 squares are "no data", its 200
  // squares partly transparent.
  (*source)->GetRasterBand(2)->SetColorInterpretation(GCI_AlphaBand);
  char** argv = nullptr;
  for (const char* arg : {"-of", "MEM", "-t_srs", "EPSG:4326", "-te", "-35.02", "-8.003", "-34.939",
                          "-7.94", "-ts", "90", "70", "-r", "cubic", "-et", "0.125"}) {
    argv = CSLAddString(argv, arg);
  }
  GDALWarpAppOptions* options = GDALWarpAppOptionsNew(argv, nullptr);
  CSLDestroy(argv);
  GDALDatasetH sources[] = {source->get()};
  int usage_error = 0;
  GDALDatasetUniquePtr reference(
      GDALDataset::FromHandle(GDALWarp("", nullptr, 1, sources, options, &usage_error)));
  GDALWarpAppOptionsFree(options);
  ASSERT_NE(reference, nullptr);
  std::vector<uint8_t> expected = Interleaved(*reference);
  ASSERT_EQ(expected.size(), ours.size_bytes());
  size_t differing = 0;
  for (size_t i = 0; i < expected.size(); ++i) differing += expected[i] != ours.data()[i];
  EXPECT_EQ(differing, 0u);
  // Not trivially empty: both data and no-data pixels are in the window.
  size_t opaque = 0;
  for (size_t i = 1; i < expected.size(); i += 2) opaque += expected[i] != 0;
  EXPECT_GT(opaque, 1000u);
  EXPECT_LT(opaque, expected.size() / 2 - 1000);
}

TEST_F(RegionWarpTest, PixelsWithoutSourceTakeNodata) {
  const std::array<double, 6> gt = {0, 1, 0, 10, 0, -1};
  std::vector<float> source(10 * 10, 7.5f);
  codec::Image out(20, 10, 1, codec::PixelType::kFloat32);
  WarpSpec warp;
  warp.resampling = GRA_Bilinear;
  warp.nodata = -9999.0;
  // Destination spans x 0..20; the source only 0..10.
  ASSERT_TRUE(WarpRegion({reinterpret_cast<const uint8_t*>(source.data()), 10, 10, 1,
                          codec::PixelType::kFloat32, 40},
                         GeoGrid{gt, Wkt("EPSG:4326")}, out.mutable_view(),
                         GeoGrid{gt, Wkt("EPSG:4326")}, warp)
                  .ok());
  const float* values = reinterpret_cast<const float*>(out.data());
  EXPECT_FLOAT_EQ(values[5 * 20 + 2], 7.5f);
  EXPECT_FLOAT_EQ(values[5 * 20 + 15], -9999.0f);
}

TEST_F(RegionWarpTest, RejectsMismatchedPixelTypes) {
  std::vector<uint8_t> source(16, 0);
  codec::Image out(4, 4, 1, codec::PixelType::kUint16);
  const GeoGrid grid{{0, 1, 0, 4, 0, -1}, Wkt("EPSG:4326")};
  absl::Status s = WarpRegion({source.data(), 4, 4, 1, codec::PixelType::kUint8, 4}, grid,
                              out.mutable_view(), grid, WarpSpec{});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
