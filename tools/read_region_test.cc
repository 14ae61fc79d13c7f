// End to end: read_region on pyramids that build_pyramid made from real data, with GDAL as
// the oracle for the pixels and the georeferencing.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "codec/codec.h"
#include "cpl_string.h"
#include "gdal_priv.h"
#include "gdal_utils.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ogr_spatialref.h"
#include "testing/files.h"
#include "testing/image_compare.h"

namespace flatpyramid {
namespace {

using ::testing::HasSubstr;

std::string Tool(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/flatpyramid/tools/", name);
}

struct RunResult {
  int exit_code = -1;
  std::string stderr_text;
};

// RunTool runs `tool` with `args` (each shell-quoted) and returns its exit code and stderr.
RunResult RunTool(const std::string& tool, const std::vector<std::string>& args,
                  const test::TempDir& dir) {
  std::vector<std::string> quoted = {Tool(tool)};
  for (const std::string& arg : args) quoted.push_back(absl::StrCat("'", arg, "'"));
  const std::string err = dir.Path("stderr.txt");
  const int status =
      std::system(absl::StrCat(absl::StrJoin(quoted, " "), " > /dev/null 2> '", err, "'").c_str());
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.stderr_text = test::ReadFileOrDie(err);
  return result;
}

GDALDatasetUniquePtr Warp(GDALDataset& source, const std::vector<std::string>& args) {
  char** argv = CSLAddString(nullptr, "-of");
  argv = CSLAddString(argv, "MEM");
  for (const std::string& arg : args) argv = CSLAddString(argv, arg.c_str());
  GDALWarpAppOptions* options = GDALWarpAppOptionsNew(argv, nullptr);
  CSLDestroy(argv);
  GDALDatasetH sources[] = {GDALDataset::ToHandle(&source)};
  GDALDatasetUniquePtr out(
      GDALDataset::FromHandle(GDALWarp("", nullptr, 1, sources, options, nullptr)));
  GDALWarpAppOptionsFree(options);
  return out;
}

std::vector<uint8_t> ReadInterleaved(GDALDataset& dataset) {
  const int w = dataset.GetRasterXSize(), h = dataset.GetRasterYSize();
  const int bands = dataset.GetRasterCount();
  std::vector<uint8_t> pixels(static_cast<size_t>(w) * h * bands);
  EXPECT_EQ(dataset.RasterIO(GF_Read, 0, 0, w, h, pixels.data(), w, h, GDT_Byte, bands, nullptr,
                             bands, static_cast<GSpacing>(w) * bands, 1, nullptr),
            CE_None);
  return pixels;
}

class ReadRegionToolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    GDALAllRegister();
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
    dir_ = new test::TempDir();
    // Landsat 3,2,1 as lossless PNG tiles, base level zoom 13 (19 m, finer than the 28.5 m
    // source, so reading at the source's resolution uses base tiles).
    const RunResult build =
        RunTool("build_pyramid",
                {absl::StrCat("--input=", test::DataPath("L7_ETMs.tif")), "--bands=3,2,1",
                 "--codec=png", "--min_zoom=11", "--max_zoom=13", "--quiet",
                 absl::StrCat("--output=", dir_->Path("l7.fpyr"))},
                *dir_);
    ASSERT_EQ(build.exit_code, 0) << build.stderr_text;
  }
  static void TearDownTestSuite() { delete dir_; }

  static test::TempDir* dir_;
};

test::TempDir* ReadRegionToolTest::dir_ = nullptr;

// A window inside the scene in its own CRS (SIRGAS 2000 / UTM 25S) at 28.5714 m per pixel.
constexpr double kBounds[4] = {290000, 9112000, 296000, 9118000};
constexpr int kSize = 210;

TEST_F(ReadRegionToolTest, GeoTiffIsGeoreferencedAndMatchesGdalwarpOfTheSource) {
  const std::string out = dir_->Path("window.tif");
  const RunResult run = RunTool(
      "read_region",
      {dir_->Path("l7.fpyr"), "--bbox=290000,9112000,296000,9118000", "--bbox_srs=EPSG:31985",
       "--size=210,210", "--resampling=bilinear", absl::StrCat("--output=", out), "--overwrite"},
      *dir_);
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  EXPECT_THAT(run.stderr_text, HasSubstr("210x210 px, 4 band(s) from zoom 13"));

  GDALDatasetUniquePtr ours(GDALDataset::Open(out.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  ASSERT_NE(ours, nullptr);
  double gt[6];
  ASSERT_EQ(ours->GetGeoTransform(gt), CE_None);
  EXPECT_DOUBLE_EQ(gt[0], 290000);
  EXPECT_DOUBLE_EQ(gt[1], 6000.0 / kSize);
  EXPECT_DOUBLE_EQ(gt[3], 9118000);
  EXPECT_DOUBLE_EQ(gt[5], -6000.0 / kSize);
  OGRSpatialReference utm;
  utm.importFromEPSG(31985);
  ASSERT_NE(ours->GetSpatialRef(), nullptr);
  EXPECT_TRUE(ours->GetSpatialRef()->IsSame(&utm));
  ASSERT_EQ(ours->GetRasterCount(), 4);
  EXPECT_EQ(ours->GetRasterBand(1)->GetColorInterpretation(), GCI_RedBand);
  EXPECT_EQ(ours->GetRasterBand(4)->GetColorInterpretation(), GCI_AlphaBand);

  // GDAL straight from the source, and GDAL's own two-step path (source -> zoom 13 grid ->
  // window), which resamples as often as the pyramid does.
  GDALDatasetUniquePtr landsat(
      GDALDataset::Open(test::DataPath("L7_ETMs.tif").c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  ASSERT_NE(landsat, nullptr);
  char** argv = nullptr;
  for (const char* arg : {"-of", "MEM", "-b", "3", "-b", "2", "-b", "1"}) {
    argv = CSLAddString(argv, arg);
  }
  GDALTranslateOptions* translate = GDALTranslateOptionsNew(argv, nullptr);
  CSLDestroy(argv);
  GDALDatasetUniquePtr rgb(GDALDataset::FromHandle(
      GDALTranslate("", GDALDataset::ToHandle(landsat.get()), translate, nullptr)));
  GDALTranslateOptionsFree(translate);
  ASSERT_NE(rgb, nullptr);
  // clang-format off
  const std::vector<std::string> window = {
      "-t_srs", "EPSG:31985",
      "-te", absl::StrCat(kBounds[0]), absl::StrCat(kBounds[1]), absl::StrCat(kBounds[2]),
      absl::StrCat(kBounds[3]),
      "-ts", absl::StrCat(kSize), absl::StrCat(kSize),
      "-r", "bilinear"};
  // clang-format on
  std::vector<std::string> direct_args = {"-dstalpha"};
  direct_args.insert(direct_args.end(), window.begin(), window.end());
  GDALDatasetUniquePtr direct = Warp(*rgb, direct_args);
  ASSERT_NE(direct, nullptr);
  const double res13 = 2 * 20037508.342789244 / (256 << 13);
  GDALDatasetUniquePtr zoom13 =
      Warp(*rgb, {"-dstalpha", "-t_srs", "EPSG:3857", "-tr", absl::StrCat(res13),
                  absl::StrCat(res13), "-tap", "-r", "bilinear"});
  ASSERT_NE(zoom13, nullptr);
  GDALDatasetUniquePtr two_step = Warp(*zoom13, window);
  ASSERT_NE(two_step, nullptr);

  const std::vector<uint8_t> ours_pixels = ReadInterleaved(*ours);
  const std::vector<uint8_t> direct_pixels = ReadInterleaved(*direct);
  const std::vector<uint8_t> two_step_pixels = ReadInterleaved(*two_step);
  const test::ImageDifference ours_vs_direct =
      test::CompareSamples<uint8_t>(ours_pixels, direct_pixels);
  const test::ImageDifference gdal_vs_direct =
      test::CompareSamples<uint8_t>(two_step_pixels, direct_pixels);
  RecordProperty("psnr_db_ours_vs_gdalwarp", absl::StrCat(ours_vs_direct.psnr_db));
  RecordProperty("psnr_db_gdal_two_step_vs_gdalwarp", absl::StrCat(gdal_vs_direct.psnr_db));
  EXPECT_GE(ours_vs_direct.psnr_db, gdal_vs_direct.psnr_db - 0.5)
      << "ours " << ours_vs_direct.psnr_db << " dB, GDAL two-step " << gdal_vs_direct.psnr_db;
  EXPECT_GE(test::CompareSamples<uint8_t>(ours_pixels, two_step_pixels).psnr_db, 45.0);
}

TEST_F(ReadRegionToolTest, PngHoldsTheSamePixelsAsTheGeoTiff) {
  const std::vector<std::string> common = {dir_->Path("l7.fpyr"), "--bbox=-34.9,-8.03,-34.85,-7.98",
                                           "--size=300,300", "--resampling=cubic", "--overwrite"};
  std::vector<std::string> tif_args = common, png_args = common;
  tif_args.push_back(absl::StrCat("--output=", dir_->Path("w.tif")));
  png_args.push_back(absl::StrCat("--output=", dir_->Path("w.png")));
  ASSERT_EQ(RunTool("read_region", tif_args, *dir_).exit_code, 0);
  ASSERT_EQ(RunTool("read_region", png_args, *dir_).exit_code, 0);
  absl::StatusOr<codec::Image> png = codec::Decode(test::ReadFileOrDie(dir_->Path("w.png")));
  ASSERT_TRUE(png.ok()) << png.status();
  ASSERT_EQ(png->bands(), 4);
  GDALDatasetUniquePtr tif(
      GDALDataset::Open(dir_->Path("w.tif").c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  ASSERT_NE(tif, nullptr);
  const std::vector<uint8_t> tif_pixels = ReadInterleaved(*tif);
  ASSERT_EQ(tif_pixels.size(), png->size_bytes());
  EXPECT_EQ(std::memcmp(tif_pixels.data(), png->data(), tif_pixels.size()), 0);
}

TEST_F(ReadRegionToolTest, ElevationRegionKeepsTypeAndNodataAndRefusesPng) {
  const RunResult build =
      RunTool("build_pyramid",
              {absl::StrCat("--input=", test::DataPath("elev.tif")), "--quiet",
               absl::StrCat("--output=", dir_->Path("elev.fpyr")), "--overwrite"},
              *dir_);
  ASSERT_EQ(build.exit_code, 0) << build.stderr_text;
  // Luxembourg, with a margin outside the DEM (nodata there).
  const std::vector<std::string> common = {dir_->Path("elev.fpyr"), "--bbox=5.6,49.4,6.6,50.2",
                                           "--size=120,96", "--overwrite"};
  std::vector<std::string> tif_args = common, png_args = common;
  tif_args.push_back(absl::StrCat("--output=", dir_->Path("elev.tif")));
  png_args.push_back(absl::StrCat("--output=", dir_->Path("elev.png")));
  const RunResult tif_run = RunTool("read_region", tif_args, *dir_);
  ASSERT_EQ(tif_run.exit_code, 0) << tif_run.stderr_text;
  GDALDatasetUniquePtr tif(
      GDALDataset::Open(dir_->Path("elev.tif").c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  ASSERT_NE(tif, nullptr);
  ASSERT_EQ(tif->GetRasterCount(), 1);
  GDALRasterBand* band = tif->GetRasterBand(1);
  EXPECT_EQ(band->GetRasterDataType(), GDT_Int16);
  int has_nodata = 0;
  EXPECT_EQ(band->GetNoDataValue(&has_nodata), -32768);
  EXPECT_TRUE(has_nodata);
  std::vector<int16_t> values(120 * 96);
  ASSERT_EQ(
      band->RasterIO(GF_Read, 0, 0, 120, 96, values.data(), 120, 96, GDT_Int16, 0, 0, nullptr),
      CE_None);
  EXPECT_EQ(values[0], -32768);           // 5.6 E, 50.2 N: outside the DEM.
  EXPECT_GT(values[48 * 120 + 60], 100);  // 6.1 E, 49.8 N: Luxembourg, a few hundred m.
  EXPECT_LT(values[48 * 120 + 60], 600);

  const RunResult png_run = RunTool("read_region", png_args, *dir_);
  EXPECT_EQ(png_run.exit_code, 1);
  EXPECT_EQ(png_run.stderr_text,
            "read_region: cannot write int16 pixels as PNG (png encode: int16 samples; PNG takes "
            "uint8 or uint16 (use the elevation codec for int16 and float32)): use "
            "--output=FILE.tif\n");
}

TEST_F(ReadRegionToolTest, BadArgumentsFailWithOneExactLineNamingTheFix) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string line;  // All of stderr, without its newline.
  };
  const std::string file = dir_->Path("l7.fpyr");
  const std::string bad = dir_->Path("bad.tif");
  const std::string out = absl::StrCat("--output=", bad);
  const std::string bbox = "--bbox=-35,-8.1,-34.8,-7.9";
  const std::string geotiff = test::DataPath("L7_ETMs.tif");
  const std::string text_file = dir_->Path("notes.txt");
  FILE* notes = std::fopen(text_file.c_str(), "w");
  ASSERT_NE(notes, nullptr);
  std::fputs("flatpyramid test: not a pyramid\n", notes);  // 32 bytes.
  std::fclose(notes);
  const std::string link = dir_->Path("l7_link.tif");
  ASSERT_EQ(symlink(file.c_str(), link.c_str()), 0);
  const std::string fifo = dir_->Path("fifo.fpyr");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  const Case cases[] = {
      {{file, "--bbox=1,2,3", "--size=10,10", out},
       2,
       "read_region: --bbox=\"1,2,3\" is not four numbers min_x,min_y,max_x,max_y (see "
       "read_region --help)"},
      {{file, bbox, "--size=10", out},
       2,
       "read_region: --size=\"10\" is not WIDTH,HEIGHT (e.g. 1024,768) (see read_region --help)"},
      {{file, bbox, "--size=10,10", "--resampling=sharp", out},
       2,
       "read_region: unknown resampling 'sharp': use nearest, bilinear, cubic, cubicspline, "
       "lanczos, average or mode (see read_region --help)"},
      {{file, bbox, "--size=10,10", "--output=x.jpg"},
       2,
       "read_region: --output=\"x.jpg\" must end in .tif, .tiff or .png (see read_region --help)"},
      {{file, "--size=10,10", out},
       2,
       "read_region: no --bbox: give --bbox=min_x,min_y,max_x,max_y (see read_region --help)"},
      {{file, bbox, out},
       2,
       "read_region: no --size: give --size=WIDTH,HEIGHT (see read_region --help)"},
      {{file, bbox, "--size=10,10"},
       2,
       "read_region: no --output: give --output=OUT.tif or --output=OUT.png (see read_region "
       "--help)"},
      {{bbox, "--size=10,10", out},
       2,
       "read_region: give exactly one argument: the pyramid FILE (see read_region --help)"},
      // Latitudes upside down (in lon/lat, min_x > max_x crosses the antimeridian instead).
      {{file, "--bbox=-35,-7.9,-34.8,-8.1", "--size=10,10", out},
       1,
       "read_region: bbox -35,-7.9,-34.8,-8.1 is empty or inverted: give min_x,min_y,max_x,max_y "
       "with min < max"},
      {{file, bbox, "--size=0,10", out},
       1,
       "read_region: size 0x10 is outside 1..16384 pixels per side"},
      {{file, bbox, "--size=10,10", "--zoom=20", out},
       1,
       "read_region: zoom 20 is not in the pyramid (zooms 11..13)"},
      {{file, bbox, "--size=10,10", "--bbox_srs=EPSG:123456", out},
       1,
       "read_region: cannot parse SRS 'EPSG:123456': PROJ: proj_create_from_database: crs not "
       "found; give e.g. EPSG:4326, a WKT string or a PROJ string"},
      {{dir_->Path("missing.fpyr"), bbox, "--size=10,10", out},
       1,
       absl::StrCat("read_region: ", dir_->Path("missing.fpyr"),
                    ": open: No such file or directory")},
      // An existing file that is not a pyramid: a text file, and a GeoTIFF.
      {{text_file, bbox, "--size=10,10", out},
       1,
       absl::StrCat("read_region: ", text_file,
                    ": 32 bytes, smaller than the 32768-byte header region: not a flatpyramid "
                    "store, or truncated")},
      {{geotiff, bbox, "--size=10,10", out},
       1,
       absl::StrCat("read_region: ", geotiff,
                    ": no valid header slot (not a flatpyramid store, never committed, or "
                    "corrupt): header slot 0: bad magic (not a flatpyramid store, or corrupt); "
                    "header slot 1: bad magic (not a flatpyramid store, or corrupt)")},
      // The output exists and there is no --overwrite.
      {{file, bbox, "--size=10,10", absl::StrCat("--output=", geotiff)},
       1,
       absl::StrCat("read_region: ", geotiff, " exists: remove it or pass --overwrite")},
      // The output's directory does not exist; the output is the pyramid through a link.
      {{file, bbox, "--size=10,10", absl::StrCat("--output=", dir_->Path("no/such/dir/x.tif"))},
       1,
       absl::StrCat("read_region: ", dir_->Path("no/such/dir/x.tif"), ": the directory ",
                    dir_->Path("no/such/dir"), " does not exist; create it first")},
      {{file, bbox, "--size=10,10", absl::StrCat("--output=", dir_->Path("no/such/dir/x.png"))},
       1,
       absl::StrCat("read_region: ", dir_->Path("no/such/dir/x.png"), ": the directory ",
                    dir_->Path("no/such/dir"), " does not exist; create it first")},
      {{file, bbox, "--size=10,10", "--overwrite", absl::StrCat("--output=", link)},
       1,
       absl::StrCat("read_region: ", link, ": is the input ", file,
                    " (the same file); write the output to another path")},
      // A FIFO is refused at once (opening it would wait for a writer forever).
      {{fifo, bbox, "--size=10,10", out},
       1,
       absl::StrCat("read_region: ", fifo, ": is a FIFO (named pipe), not a regular file")},
      // A bad command line is exit code 2.
      {{file, bbox, "--size=10,10", "--colour=red", out},
       2,
       "read_region: unknown flag --colour (see read_region --help)"},
      {{file, bbox, "--size=10,10", "--zoom=twelve", out},
       2,
       "read_region: --zoom=twelve is not a valid int32 (see read_region --help)"},
      {{file, bbox, "--size=10,10", out, "--zoom"},
       2,
       "read_region: --zoom needs a value (see read_region --help)"},
  };
  for (const Case& c : cases) {
    const RunResult run = RunTool("read_region", c.args, *dir_);
    EXPECT_EQ(run.exit_code, c.exit_code) << absl::StrJoin(c.args, " ") << ": " << run.stderr_text;
    EXPECT_EQ(run.stderr_text, c.line + "\n") << absl::StrJoin(c.args, " ");
  }
  struct stat st;
  EXPECT_NE(stat(bad.c_str(), &st), 0) << "a failed read_region wrote " << bad;
  EXPECT_NE(stat(absl::StrCat(bad, ".partial").c_str(), &st), 0);
}

// Outputs taller than one strip (64 MiB of rows) are rendered and written strip by strip; the
// GeoTIFF holds the pixels of the PNG, which is rendered in one piece.
TEST_F(ReadRegionToolTest, AWindowOfManyStripsHoldsTheSamePixelsAsOneRenderedWhole) {
  const std::vector<std::string> common = {dir_->Path("l7.fpyr"), "--bbox=-34.95,-8.1,-34.8,-7.95",
                                           "--size=16384,1030", "--resampling=bilinear",
                                           "--overwrite"};
  std::vector<std::string> tif_args = common, png_args = common;
  tif_args.push_back(absl::StrCat("--output=", dir_->Path("tall.tif")));
  png_args.push_back(absl::StrCat("--output=", dir_->Path("tall.png")));
  const RunResult tif_run = RunTool("read_region", tif_args, *dir_);
  ASSERT_EQ(tif_run.exit_code, 0) << tif_run.stderr_text;
  ASSERT_EQ(RunTool("read_region", png_args, *dir_).exit_code, 0);
  GDALDatasetUniquePtr png(
      GDALDataset::Open(dir_->Path("tall.png").c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  ASSERT_NE(png, nullptr);
  GDALDatasetUniquePtr tif(
      GDALDataset::Open(dir_->Path("tall.tif").c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  ASSERT_NE(tif, nullptr);
  ASSERT_EQ(tif->GetRasterYSize(), 1030);
  ASSERT_EQ(png->GetRasterCount(), 4);
  EXPECT_TRUE(ReadInterleaved(*tif) == ReadInterleaved(*png));
}

}  // namespace
}  // namespace flatpyramid
