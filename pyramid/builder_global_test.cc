// The builder on global grids: etopo20.cdf, a grid whose longitudes run from 20 to 380.33
// degrees, built at the zoom the builder picks for it covers the whole globe with gdalwarp's
// pixels on both tile matrix sets; WorldCRS84Quad levels keep their eastern half above the
// units (a level has twice as many columns as rows); and building leaves the process's other
// coordinate transformations alone.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gdal_priv.h"
#include "geo/crs.h"
#include "geo/tile_matrix_set.h"
#include "gtest/gtest.h"
#include "ogr_spatialref.h"
#include "pyramid/builder.h"
#include "pyramid/reader.h"
#include "pyramid/testing/pyramid_tiles.h"
#include "testing/files.h"
#include "testing/image_compare.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using test::DataPath;
using test::TempDir;

// etopo20.cdf: 1081 columns of 0.3333333 degrees from longitude 20.00000005 (gdalinfo); its
// centre, the CENTER_LONG that makes gdalwarp wrap it, is 200.1666665, its seam 180 degrees
// away at 20.1666665.
constexpr double kEtopoCenterLongitude = 200.1666665;

// RunGdalwarp runs the gdalwarp program (gdal-bin) with `args`; true when it exits 0. A
// separate process, so that its CENTER_LONG never reaches this one's GDAL.
bool RunGdalwarp(const std::vector<std::string>& args) {
  std::vector<char*> argv = {const_cast<char*>("gdalwarp"), const_cast<char*>("-q")};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    execvp("gdalwarp", argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

BuildOptions EtopoOptions(const TempDir& dir, TileMatrixSetId tms) {
  BuildOptions options;
  options.inputs = {DataPath("etopo20.cdf")};
  options.output = dir.Path("etopo.fpyr");
  options.source_srs = "EPSG:4326";
  options.tile_matrix_set = tms;
  options.resampling = Resampling::kBilinear;
  options.max_error_pixels = 0;  // gdalwarp -et 0.
  return options;
}

// At the zoom the builder picks (no max_zoom: the plan then estimates the source resolution
// with a transformer of its own first), the level holds every tile of the matrix, each with
// gdalwarp's pixels: gdalwarp wraps this grid only with --config CENTER_LONG (the grid spans a
// little more than 360 degrees, so GDAL does not insert it itself); without it, it leaves
// longitudes -180..20 empty. The reference is one warp of the whole extent at the level's
// resolution. Columns next to the seam are left out: there GDAL's bilinear kernel reads
// across the grid's last column, ours ends at it.
TEST(GlobalGridTest, ZeroTo360GridAtItsOwnZoomMatchesGdalwarpOverTheWholeGlobe) {
  for (const auto& [id, resampling] : std::vector<std::pair<TileMatrixSetId, Resampling>>{
           {TileMatrixSetId::kWorldCRS84Quad, Resampling::kNearest},
           {TileMatrixSetId::kWorldCRS84Quad, Resampling::kBilinear},
           {TileMatrixSetId::kWebMercatorQuad, Resampling::kNearest},
           {TileMatrixSetId::kWebMercatorQuad, Resampling::kBilinear}}) {
    const bool nearest = resampling == Resampling::kNearest;
    SCOPED_TRACE(absl::StrCat(TileMatrixSetIdName(id), nearest ? " nearest" : " bilinear"));
    TempDir dir;
    BuildOptions options = EtopoOptions(dir, id);
    options.resampling = resampling;
    absl::StatusOr<BuildResult> result = BuildPyramid(options);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(test::CheckTilesCoverBounds(options.output).ok())
        << test::CheckTilesCoverBounds(options.output);
    absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(options.output);
    ASSERT_TRUE(reader.ok()) << reader.status();
    const geo::TileMatrixSet& tms = (*reader)->tile_matrix_set();
    const int z = (*reader)->max_zoom();
    // etopo's 1/3 degree: zoom 1 (0.35 degrees) on WorldCRS84Quad, 2 on WebMercatorQuad.
    EXPECT_EQ(z, id == TileMatrixSetId::kWorldCRS84Quad ? 1 : 2);
    const Level* level = (*reader)->FindLevel(z);
    ASSERT_NE(level, nullptr);
    EXPECT_EQ(level->tile_count(), uint64_t{tms.MatrixWidth(z)} * tms.MatrixHeight(z));

    const int size = tms.tile_size();
    const int width = static_cast<int>(tms.MatrixWidth(z)) * size;
    const int height = static_cast<int>(tms.MatrixHeight(z)) * size;
    const geo::Bounds e = tms.extent();
    const std::string reference = dir.Path("gdalwarp.tif");
    ASSERT_TRUE(RunGdalwarp({"--config",
                             "CENTER_LONG",
                             absl::StrCat(kEtopoCenterLongitude),
                             "-s_srs",
                             "EPSG:4326",
                             "-t_srs",
                             std::string(tms.crs()),
                             "-te",
                             absl::StrFormat("%.17g", e.min_x),
                             absl::StrFormat("%.17g", e.min_y),
                             absl::StrFormat("%.17g", e.max_x),
                             absl::StrFormat("%.17g", e.max_y),
                             "-ts",
                             absl::StrCat(width),
                             absl::StrCat(height),
                             "-r",
                             nearest ? "near" : "bilinear",
                             "-et",
                             "0",
                             DataPath("etopo20.cdf"),
                             reference}));
    GDALDatasetUniquePtr gdal(GDALDataset::Open(reference.c_str(), GDAL_OF_RASTER));
    ASSERT_NE(gdal, nullptr);
    std::vector<float> expected(static_cast<size_t>(width) * height);
    ASSERT_EQ(gdal->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, width, height, expected.data(), width,
                                               height, GDT_Float32, 0, 0, nullptr),
              CE_None);
    const float nodata = static_cast<float>((*reader)->metadata().nodata());
    double seam_x, seam_y;
    tms.LonLatToCrs(kEtopoCenterLongitude - 180.0, 0, &seam_x, &seam_y);
    const double seam_column = (seam_x - e.min_x) / tms.Resolution(z);

    std::vector<float> ours(expected.size(), nodata);
    for (uint32_t ty = 0; ty < tms.MatrixHeight(z); ++ty) {
      for (uint32_t tx = 0; tx < tms.MatrixWidth(z); ++tx) {
        absl::StatusOr<std::shared_ptr<const codec::Image>> tile = (*reader)->GetTile(z, tx, ty);
        ASSERT_TRUE(tile.ok()) << tile.status();
        const float* samples = reinterpret_cast<const float*>((*tile)->data());
        for (int y = 0; y < size; ++y) {
          for (int x = 0; x < size; ++x) {
            ours[static_cast<size_t>(ty * size + y) * width + tx * size + x] =
                samples[static_cast<size_t>(y) * size + x];
          }
        }
      }
    }
    std::vector<uint8_t> compared(expected.size(), 0);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const size_t i = static_cast<size_t>(y) * width + x;
        compared[i] =
            std::fabs(x + 0.5 - seam_column) > 3 && ours[i] != nodata && expected[i] != nodata;
      }
    }
    const test::ImageDifference d =
        test::CompareSamples<float>(ours, expected, 10000, 1e-3, compared);
    // Nearest is gdalwarp's exactly. Bilinear here downsamples a little (0.35 degree pixels
    // from 0.33), where GDAL widens its kernel by the scale of the chunk it warps: one scale
    // for the whole globe in the reference, one per block in ours: close, not exact.
    if (nearest) {
      EXPECT_EQ(d.max_abs_error, 0) << d.differing << " of " << d.compared << " differ";
    } else {
      EXPECT_GE(d.psnr_db, 60) << "max " << d.max_abs_error << ", mean " << d.mean_abs_error;
    }
    EXPECT_GE(d.compared, expected.size() * 99 / 100);
  }
}

// A WorldCRS84Quad level has twice as many columns as rows, so its Morton keys run to
// 2 * 4^z: the levels the builder forms above its units (here zoom 0, from units at zoom 1)
// keep their eastern tiles.
TEST(GlobalGridTest, WorldCrs84QuadLevelsAboveTheUnitsKeepTheEasternHalf) {
  TempDir dir;
  test::SyntheticRasterSpec spec;
  spec.width = 720;
  spec.height = 360;
  spec.srs = "EPSG:4326";
  spec.geotransform = {-180, 0.5, 0, 90, 0, -0.5};
  spec.pattern = test::SyntheticPattern::kGradient;
  absl::StatusOr<GDALDatasetUniquePtr> ds = test::MakeSyntheticRaster(spec);
  ASSERT_TRUE(ds.ok()) << ds.status();
  const std::string input = dir.Path("world.tif");
  ASSERT_TRUE(test::WriteRaster(**ds, input).ok());
  BuildOptions options;
  options.inputs = {input};
  options.output = dir.Path("world.fpyr");
  options.tile_matrix_set = TileMatrixSetId::kWorldCRS84Quad;
  options.max_zoom = 2;
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(test::CheckTilesCoverBounds(options.output).ok())
      << test::CheckTilesCoverBounds(options.output);
  ASSERT_EQ(result->metadata.levels_size(), 3);
  EXPECT_EQ(result->metadata.levels(0).tile_count(), 2u);  // 2 x 1
  EXPECT_EQ(result->metadata.levels(1).tile_count(), 8u);  // 4 x 2
  EXPECT_EQ(result->metadata.levels(2).tile_count(), 32u);
}

// GDAL 3.6 caches coordinate transformations by their CRS pair and ignores the CENTER_LONG
// option in that key: a build wrapping etopo20 through that option handed its wrapped
// EPSG:4326 -> EPSG:4326 transformation to whatever in the process asked for that pair next
// (here longitude -170 came back as 190).
TEST(GlobalGridTest, BuildingAZeroTo360GridLeavesOtherTransformationsUnwrapped) {
  TempDir dir;
  BuildOptions options = EtopoOptions(dir, TileMatrixSetId::kWorldCRS84Quad);
  options.resampling = Resampling::kCubic;  // GDAL's warper, through the transformers.
  ASSERT_TRUE(BuildPyramid(options).ok());
  absl::StatusOr<OGRSpatialReference> wgs84 = geo::ParseSrs("EPSG:4326");
  ASSERT_TRUE(wgs84.ok());
  std::unique_ptr<OGRCoordinateTransformation> ct(
      OGRCreateCoordinateTransformation(&*wgs84, &*wgs84));
  ASSERT_NE(ct, nullptr);
  double x = -170, y = 10;
  ASSERT_TRUE(ct->Transform(1, &x, &y));
  EXPECT_EQ(x, -170);
  EXPECT_EQ(y, 10);
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
