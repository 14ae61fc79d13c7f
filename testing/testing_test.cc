#include <sys/statfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <vector>

#include "gdal_priv.h"
#include "gtest/gtest.h"
#include "testing/files.h"
#include "testing/image_compare.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace test {
namespace {

constexpr long kTmpfsMagic = 0x01021994;

TEST(DataPathTest, FindsTheRealLandsatScene) {
  GDALAllRegister();
  GDALDatasetUniquePtr ds(GDALDataset::Open(DataPath("L7_ETMs.tif").c_str(), GDAL_OF_RASTER));
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->GetRasterXSize(), 349);
  EXPECT_EQ(ds->GetRasterYSize(), 352);
  EXPECT_EQ(ds->GetRasterCount(), 6);
}

TEST(TempDirTest, TmpfsDirectoryIsOnTmpfsAndRemovedAfterwards) {
  std::string path;
  {
    TempDir dir(Filesystem::kTmpfs);
    path = dir.path();
    struct statfs fs;
    ASSERT_EQ(::statfs(path.c_str(), &fs), 0);
    EXPECT_EQ(fs.f_type, kTmpfsMagic);
    std::ofstream(dir.Path("a")) << "x";
    EXPECT_EQ(::access(dir.Path("a").c_str(), F_OK), 0);
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

TEST(TempDirTest, DiskDirectoryIsNotTmpfs) {
  TempDir dir(Filesystem::kDisk);
  struct statfs fs;
  ASSERT_EQ(::statfs(dir.path().c_str(), &fs), 0);
  EXPECT_NE(fs.f_type, kTmpfsMagic);
}

TEST(CompareSamplesTest, PsnrOfKnownError) {
  std::vector<uint8_t> a(100, 100), b(100, 100);
  b[0] = 110;  // MSE = 100 / 100 = 1 -> PSNR = 10 log10(255^2) = 48.13 dB.
  ImageDifference d = CompareSamples<uint8_t>(a, b);
  EXPECT_NEAR(d.psnr_db, 48.1308, 1e-3);
  EXPECT_EQ(d.max_abs_error, 10);
  EXPECT_EQ(d.differing, 1u);
  EXPECT_EQ(d.compared, 100u);
}

TEST(CompareSamplesTest, MaskAndNaN) {
  std::vector<float> a = {1, NAN, 3, 4}, b = {1, NAN, 5, 40};
  std::vector<uint8_t> valid = {1, 1, 1, 0};
  ImageDifference d = CompareSamples<float>(a, b, 100, 0, valid);
  EXPECT_EQ(d.compared, 3u);
  EXPECT_EQ(d.max_abs_error, 2);
  EXPECT_TRUE(std::isinf(CompareSamples<float>({NAN}, {1.0f}).max_abs_error));
}

TEST(SyntheticRasterTest, GradientMatchesSyntheticValueAndGeoreferencing) {
  SyntheticRasterSpec spec;
  spec.width = 40;
  spec.height = 20;
  spec.bands = 2;
  spec.geotransform = {10, 0.5, 0, 50, 0, -0.5};
  absl::StatusOr<GDALDatasetUniquePtr> ds = MakeSyntheticRaster(spec);
  ASSERT_TRUE(ds.ok()) << ds.status();
  uint8_t value = 0;
  ASSERT_EQ(
      (*ds)->GetRasterBand(2)->RasterIO(GF_Read, 7, 3, 1, 1, &value, 1, 1, GDT_Byte, 0, 0, nullptr),
      CE_None);
  EXPECT_EQ(value, 7 * 2 + 3 * 3);
  EXPECT_EQ(SyntheticValue(spec, 1, 7, 3), 23);
  double gt[6];
  (*ds)->GetGeoTransform(gt);
  EXPECT_EQ(gt[0], 10);
  EXPECT_EQ(gt[5], -0.5);
  EXPECT_NE((*ds)->GetSpatialRef(), nullptr);
}

TEST(SyntheticRasterTest, RejectsUnknownSrs) {
  SyntheticRasterSpec spec;
  spec.srs = "EPSG:999999999";
  EXPECT_FALSE(MakeSyntheticRaster(spec).ok());
}

}  // namespace
}  // namespace test
}  // namespace flatpyramid
