// The driver in-process (linked statically, so it runs under the sanitizers): blocks and
// windows against pyramid::Reader, holes, Sample, concurrent datasets.
#include "gdal/driver.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gdal/internal/dataset.h"
#include "gdal_priv.h"
#include "geo/tile_matrix_set.h"
#include "gtest/gtest.h"
#include "pyramid/builder.h"
#include "pyramid/reader.h"
#include "testing/files.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace gdal_driver {
namespace {

constexpr int kTile = 256;

class DriverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RegisterFlatPyramidDriver();
    GDALAllRegister();
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  }

  // Build writes a pyramid of `inputs` and returns its path.
  std::string Build(std::vector<std::string> inputs, const std::string& name, int max_zoom,
                    std::vector<int> bands = {}) {
    pyramid::BuildOptions options;
    options.inputs = std::move(inputs);
    options.output = dir_.Path(name);
    options.max_zoom = max_zoom;
    options.bands = std::move(bands);
    options.threads = 2;
    absl::StatusOr<pyramid::BuildResult> built = pyramid::BuildPyramid(options);
    EXPECT_TRUE(built.ok()) << built.status();
    return options.output;
  }

  std::string Landsat() {
    return Build({test::DataPath("L7_ETMs.tif")}, "landsat.fpyr", 14, {3, 2, 1});
  }

  // TileOrigin is the dataset's top-left tile at its zoom (overview -1: the full resolution).
  static std::array<int64_t, 3> TileOrigin(GDALDataset& ds, const pyramid::Reader& reader,
                                           int overview) {
    std::array<double, 6> gt;
    ds.GetGeoTransform(gt.data());
    const int zoom = reader.max_zoom() - (overview + 1);
    double px = 0, py = 0;
    reader.tile_matrix_set().CrsToPixel(gt[0], gt[3], reader.max_zoom(), &px, &py);
    return {zoom, static_cast<int64_t>(px) >> (overview + 1),
            static_cast<int64_t>(py) >> (overview + 1)};
  }

  test::TempDir dir_;
};

// ExpectBlocksEqualTiles reads every block of `band`'s level through GDAL and compares it
// with Reader::GetTile of the tiles under it.
void ExpectBlocksEqualTiles(GDALRasterBand* band, const pyramid::Reader& reader, int zoom,
                            int64_t origin_x, int64_t origin_y) {
  std::vector<uint8_t> block(kTile * kTile);
  const int bands = reader.band_count();
  for (int by = 0; by < (band->GetYSize() + kTile - 1) / kTile; ++by) {
    for (int bx = 0; bx < (band->GetXSize() + kTile - 1) / kTile; ++bx) {
      ASSERT_EQ(band->ReadBlock(bx, by, block.data()), CE_None);
      for (int y = 0; y < kTile; y += 37) {
        for (int x = 0; x < kTile; x += 41) {
          const int64_t gx = origin_x + bx * kTile + x, gy = origin_y + by * kTile + y;
          auto tile = reader.GetTile(zoom, gx / kTile, gy / kTile);
          const int want =
              tile.ok()
                  ? (*tile)
                        ->data()[((gy % kTile) * kTile + gx % kTile) * bands + band->GetBand() - 1]
                  : 0;
          ASSERT_EQ(block[y * kTile + x], want)
              << "block " << bx << "," << by << " pixel " << x << "," << y << " zoom " << zoom;
        }
      }
    }
  }
}

TEST_F(DriverTest, BlocksOfEveryLevelAreTheReadersTiles) {
  const std::string path = Landsat();
  GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
  ASSERT_NE(ds, nullptr) << CPLGetLastErrorMsg();
  auto reader = pyramid::Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(ds->GetRasterXSize(), 1536);
  EXPECT_EQ(ds->GetRasterCount(), 4);
  ASSERT_EQ(ds->GetRasterBand(1)->GetOverviewCount(), 3);
  const auto origin = TileOrigin(*ds, **reader, -1);
  EXPECT_EQ(origin[1] % kTile, 0);
  for (int band = 1; band <= 4; ++band) {
    ExpectBlocksEqualTiles(ds->GetRasterBand(band), **reader, 14, origin[1], origin[2]);
    for (int overview = 0; overview < 3; ++overview) {
      const auto o = TileOrigin(*ds, **reader, overview);
      ExpectBlocksEqualTiles(ds->GetRasterBand(band)->GetOverview(overview), **reader,
                             static_cast<int>(o[0]), o[1], o[2]);
    }
  }
}

// ReadThroughBlocks assembles a window from per-block reads (GDAL's block cache path).
std::vector<uint8_t> ReadThroughBlocks(GDALDataset& ds, int x, int y, int w, int h,
                                       const std::vector<int>& band_map) {
  const size_t n = band_map.size();
  std::vector<uint8_t> out(static_cast<size_t>(w) * h * n);
  std::vector<uint8_t> block(kTile * kTile);
  for (size_t b = 0; b < n; ++b) {
    GDALRasterBand* band = ds.GetRasterBand(band_map[b]);
    for (int by = y / kTile; by <= (y + h - 1) / kTile; ++by) {
      for (int bx = x / kTile; bx <= (x + w - 1) / kTile; ++bx) {
        EXPECT_EQ(band->ReadBlock(bx, by, block.data()), CE_None);
        for (int gy = std::max(y, by * kTile); gy < std::min(y + h, (by + 1) * kTile); ++gy) {
          for (int gx = std::max(x, bx * kTile); gx < std::min(x + w, (bx + 1) * kTile); ++gx) {
            out[(static_cast<size_t>(gy - y) * w + (gx - x)) * n + b] =
                block[(gy % kTile) * kTile + gx % kTile];
          }
        }
      }
    }
  }
  return out;
}

TEST_F(DriverTest, MultiBlockRasterIOEqualsBlockReadsForAnyBandsAndLayout) {
  const std::string path = Landsat();
  GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
  ASSERT_NE(ds, nullptr);
  std::mt19937 random(3);
  for (const std::vector<int>& band_map :
       std::vector<std::vector<int>>{{1, 2, 3, 4}, {3, 1}, {4}}) {
    for (int i = 0; i < 4; ++i) {
      const int w = 200 + static_cast<int>(random() % 700),
                h = 200 + static_cast<int>(random() % 700);
      const int x = static_cast<int>(random() % (1536 - w)),
                y = static_cast<int>(random() % (1536 - h));
      const int n = static_cast<int>(band_map.size());
      std::vector<uint8_t> got(static_cast<size_t>(w) * h * n);
      // Pixel-interleaved, as gdal_translate reads.
      ASSERT_EQ(ds->RasterIO(GF_Read, x, y, w, h, got.data(), w, h, GDT_Byte, n,
                             const_cast<int*>(band_map.data()), n, static_cast<GSpacing>(w) * n, 1,
                             nullptr),
                CE_None);
      EXPECT_EQ(got, ReadThroughBlocks(*ds, x, y, w, h, band_map))
          << x << "," << y << " " << w << "x" << h;
      // UInt16, band-sequential: GDAL's own conversion and spacing.
      std::vector<uint16_t> wide(static_cast<size_t>(w) * h * n);
      ASSERT_EQ(ds->RasterIO(GF_Read, x, y, w, h, wide.data(), w, h, GDT_UInt16, n,
                             const_cast<int*>(band_map.data()), 2, 2 * w,
                             static_cast<GSpacing>(2) * w * h, nullptr),
                CE_None);
      for (int b = 0; b < n; ++b) {
        for (int p = 0; p < w * h; p += 997) {
          ASSERT_EQ(wide[static_cast<size_t>(b) * w * h + p], got[static_cast<size_t>(p) * n + b]);
        }
      }
    }
  }
}

// QGIS reads a rendered window one band at a time: the first band's read decodes the window
// (every band), the other bands copy it; another window decodes again.
TEST_F(DriverTest, BandByBandReadsOfAWindowDecodeItOnce) {
  const std::string path = Landsat();
  GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
  ASSERT_NE(ds, nullptr);
  const auto* pyramid = dynamic_cast<const FlatPyramidDataset*>(ds.get());
  ASSERT_NE(pyramid, nullptr);
  const int x = 300, y = 260, w = 700, h = 500;
  const std::vector<uint8_t> want = ReadThroughBlocks(*ds, x, y, w, h, {1, 2, 3, 4});
  EXPECT_EQ(pyramid->windows_decoded(), 0);
  std::vector<uint8_t> got(static_cast<size_t>(w) * h);
  for (int b = 1; b <= 4; ++b) {
    ASSERT_EQ(ds->GetRasterBand(b)->RasterIO(GF_Read, x, y, w, h, got.data(), w, h, GDT_Byte, 0, 0,
                                             nullptr),
              CE_None);
    EXPECT_EQ(pyramid->windows_decoded(), 1) << "band " << b;
    for (size_t p = 0; p < got.size(); ++p) {
      ASSERT_EQ(got[p], want[p * 4 + b - 1]) << "band " << b << " pixel " << p;
    }
  }
  // The kept window in another type and layout: every other UInt16 of a wider line.
  std::vector<uint16_t> wide(static_cast<size_t>(w) * h * 2);
  ASSERT_EQ(ds->GetRasterBand(3)->RasterIO(GF_Read, x, y, w, h, wide.data(), w, h, GDT_UInt16, 4,
                                           static_cast<GSpacing>(4) * w, nullptr),
            CE_None);
  EXPECT_EQ(pyramid->windows_decoded(), 1);
  for (size_t p = 0; p < got.size(); ++p) ASSERT_EQ(wide[2 * p], want[p * 4 + 2]) << p;
  ASSERT_EQ(ds->GetRasterBand(3)->RasterIO(GF_Read, x + 256, y, w, h, got.data(), w, h, GDT_Byte, 0,
                                           0, nullptr),
            CE_None);
  EXPECT_EQ(pyramid->windows_decoded(), 2);
  EXPECT_EQ(got[0], want[256 * 4 + 2]);
}

TEST_F(DriverTest, MissingTilesReadAsTransparentInBlocksAndWindows) {
  // Two inputs, one tile of zoom 3 each, with the tile between them empty.
  const double span = 2 * 20037508.342789244 / 8;
  std::vector<std::string> inputs;
  for (int tile_x : {0, 2}) {
    test::SyntheticRasterSpec spec;
    spec.width = spec.height = kTile;
    spec.bands = 3;
    spec.srs = "EPSG:3857";
    spec.geotransform = {
        -20037508.342789244 + tile_x * span, span / kTile, 0, 20037508.342789244, 0, -span / kTile};
    auto raster = test::MakeSyntheticRaster(spec);
    ASSERT_TRUE(raster.ok());
    inputs.push_back(dir_.Path("part" + std::to_string(tile_x) + ".tif"));
    ASSERT_TRUE(test::WriteRaster(**raster, inputs.back()).ok());
  }
  const std::string path = Build(inputs, "holes.fpyr", 3);
  auto reader = pyramid::Reader::Open(path);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(absl::IsNotFound((*reader)->GetTile(3, 1, 0).status()));
  GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
  ASSERT_NE(ds, nullptr);
  ASSERT_EQ(ds->GetRasterXSize(), 3 * kTile);
  ASSERT_EQ(ds->GetRasterCount(), 4);
  std::vector<int> all = {1, 2, 3, 4};
  std::vector<uint8_t> window(static_cast<size_t>(3 * kTile) * kTile * 4);
  ASSERT_EQ(ds->RasterIO(GF_Read, 0, 0, 3 * kTile, kTile, window.data(), 3 * kTile, kTile, GDT_Byte,
                         4, all.data(), 4, 3 * kTile * 4, 1, nullptr),
            CE_None);
  EXPECT_EQ(window, ReadThroughBlocks(*ds, 0, 0, 3 * kTile, kTile, all));
  for (int x = kTile; x < 2 * kTile; ++x) ASSERT_EQ(window[(100 * 3 * kTile + x) * 4 + 3], 0);
  EXPECT_EQ(window[(100 * 3 * kTile + 10) * 4 + 3], 255);
}

TEST_F(DriverTest, PixelsUnderPointsAreReaderSampleNearest) {
  const std::string path = Build({test::DataPath("olinda_dem_utm25s.tif")}, "dem.fpyr", 13);
  GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
  ASSERT_NE(ds, nullptr);
  auto reader = pyramid::Reader::Open(path);
  ASSERT_TRUE(reader.ok());
  std::array<double, 6> gt;
  ds->GetGeoTransform(gt.data());
  std::mt19937 random(5);
  int with_data = 0;
  for (int i = 0; i < 64; ++i) {
    const int px = static_cast<int>(random() % ds->GetRasterXSize());
    const int py = static_cast<int>(random() % ds->GetRasterYSize());
    float value = 0;
    ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Read, px, py, 1, 1, &value, 1, 1, GDT_Float32, 0, 0,
                                             nullptr),
              CE_None);
    double lon = 0, lat = 0;
    (*reader)->tile_matrix_set().CrsToLonLat(gt[0] + (px + 0.5) * gt[1], gt[3] + (py + 0.5) * gt[5],
                                             &lon, &lat);
    auto sample = (*reader)->Sample(lon, lat, pyramid::SampleMethod::kNearest);
    ASSERT_TRUE(sample.ok()) << sample.status();
    if (std::isnan(value)) continue;  // No data at 13: Sample falls back to coarser levels.
    ASSERT_TRUE(sample->has_value()) << px << "," << py;
    EXPECT_EQ(static_cast<float>(**sample), value) << px << "," << py;
    ++with_data;
  }
  EXPECT_GT(with_data, 16);
}

TEST_F(DriverTest, DatasetsOnManyThreadsReadTheSamePixels) {
  const std::string path = Landsat();
  std::vector<uint8_t> want(static_cast<size_t>(1536) * 1536 * 4);
  {
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
    ASSERT_NE(ds, nullptr);
    ASSERT_EQ(ds->RasterIO(GF_Read, 0, 0, 1536, 1536, want.data(), 1536, 1536, GDT_Byte, 4, nullptr,
                           4, 1536 * 4, 1, nullptr),
              CE_None);
  }
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, -1);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
      if (ds == nullptr) return;
      int bad = 0;
      std::vector<uint8_t> block(kTile * kTile);
      for (int by = 0; by < 6; ++by) {
        for (int bx = 0; bx < 6; ++bx) {
          const int band = 1 + (bx + by + t) % 4;
          if (ds->GetRasterBand(band)->ReadBlock(bx, by, block.data()) != CE_None) ++bad;
          for (int p = 0; p < kTile * kTile; p += 61) {
            const size_t i =
                ((static_cast<size_t>(by) * kTile + p / kTile) * 1536 + bx * kTile + p % kTile) *
                    4 +
                band - 1;
            bad += block[p] != want[i];
          }
        }
      }
      mismatches[t] = bad;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST_F(DriverTest, UpdateAndVirtualFilesAreRefusedWithTheReason) {
  const std::string path = Landsat();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  GDALDatasetUniquePtr update(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_UPDATE));
  const std::string update_error = CPLGetLastErrorMsg();
  CPLPopErrorHandler();
  EXPECT_EQ(update, nullptr);
  EXPECT_EQ(update_error, "FlatPyramid: " + path +
                              ": pyramids open read-only; build a new one with gdal_translate -of "
                              "FlatPyramid");

  std::string bytes = test::ReadFileOrDie(path);
  VSIFCloseL(VSIFileFromMemBuffer("/vsimem/landsat.fpyr", reinterpret_cast<GByte*>(bytes.data()),
                                  bytes.size(), FALSE));
  CPLPushErrorHandler(CPLQuietErrorHandler);
  GDALDatasetUniquePtr virtual_file(GDALDataset::Open("/vsimem/landsat.fpyr", GDAL_OF_RASTER));
  const std::string virtual_error = CPLGetLastErrorMsg();
  CPLPopErrorHandler();
  VSIUnlink("/vsimem/landsat.fpyr");
  EXPECT_EQ(virtual_file, nullptr);
  EXPECT_EQ(virtual_error,
            "FlatPyramid: /vsimem/landsat.fpyr: pyramids are memory-mapped, so they must be local "
            "files; copy it out of the virtual file system first");
}

// CancelAfterFirstCall lets the first progress call through and stops at the second.
int CPL_STDCALL CancelAfterFirstCall(double /*complete*/, const char* /*message*/, void* calls) {
  return ++*static_cast<int*>(calls) == 1 ? TRUE : FALSE;
}

TEST_F(DriverTest, CancelledCreateCopyStopsWithUserInterruptAndLeavesNoFile) {
  GDALDatasetUniquePtr source(
      GDALDataset::Open(test::DataPath("L7_ETMs.tif").c_str(), GDAL_OF_RASTER));
  ASSERT_NE(source, nullptr);
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("FlatPyramid");
  ASSERT_NE(driver, nullptr);
  const std::string path = dir_.Path("cancelled.fpyr");
  const char* const options[] = {"MAX_ZOOM=15", "BANDS=3,2,1", "NUM_THREADS=1", nullptr};
  int calls = 0;
  CPLErrorReset();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  GDALDatasetUniquePtr copy(driver->CreateCopy(path.c_str(), source.get(), FALSE,
                                               const_cast<char**>(options), CancelAfterFirstCall,
                                               &calls));
  const CPLErrorNum error = CPLGetLastErrorNo();
  const std::string message = CPLGetLastErrorMsg();
  CPLPopErrorHandler();
  EXPECT_EQ(copy, nullptr);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(error, CPLE_UserInterrupt);
  EXPECT_EQ(message, "FlatPyramid: " + path +
                         ": build cancelled by the progress callback; the unfinished file was "
                         "removed");
  VSIStatBufL stat;
  EXPECT_NE(VSIStatL(path.c_str(), &stat), 0) << path << " is left behind";
  char** left = VSIReadDir(dir_.Path("").c_str());
  int files = 0;
  for (char** name = left; name != nullptr && *name != nullptr; ++name) {
    if (std::string(*name) != "." && std::string(*name) != "..") ++files;
  }
  CSLDestroy(left);
  EXPECT_EQ(files, 0) << "side files of the cancelled build are left behind";
}

}  // namespace
}  // namespace gdal_driver
}  // namespace flatpyramid
