#include "pyramid/reader.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codec/codec.h"
#include "gdal_priv.h"
#include "gdal_utils.h"
#include "geo/morton.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pyramid/internal/region_test_pyramid.h"
#include "storage/store.h"
#include "testing/files.h"
#include "testing/image_compare.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using internal::TestPyramidSpec;
using internal::WriteTestPyramid;
using ::testing::HasSubstr;

// The exact fixture: a 640 x 512 RGB gradient in EPSG:3857 whose pixels are exactly the
// zoom-12 pixels starting at global pixel (kSourceX, kSourceY), so level 12 holds the source
// unchanged and every expected value is known.
constexpr int kZoom = 12;
constexpr int64_t kSourceX = 1500 * 256 + 100;
constexpr int64_t kSourceY = 2000 * 256 + 50;
constexpr int kSourceWidth = 640;
constexpr int kSourceHeight = 512;

class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
    double x0, y0;
    tms.PixelToCrs(kSourceX, kSourceY, kZoom, &x0, &y0);
    spec_.width = kSourceWidth;
    spec_.height = kSourceHeight;
    spec_.bands = 3;
    spec_.srs = "EPSG:3857";
    const double res = tms.Resolution(kZoom);
    spec_.geotransform = {x0, res, 0, y0, 0, -res};
    absl::StatusOr<GDALDatasetUniquePtr> source = test::MakeSyntheticRaster(spec_);
    ASSERT_TRUE(source.ok()) << source.status();
    source_ = *std::move(source);
    path_ = dir_.Path("exact.fpyr");
    TestPyramidSpec pyramid;
    pyramid.min_zoom = 9;
    pyramid.max_zoom = kZoom;
    pyramid.resampling = "nearest";
    ASSERT_TRUE(WriteTestPyramid(*source_, pyramid, path_).ok());
  }

  // SourceValue is band `band` of the source at global zoom-12 pixel (gx, gy).
  double SourceValue(int band, int64_t gx, int64_t gy) const {
    return test::SyntheticValue(spec_, band, static_cast<int>(gx - kSourceX),
                                static_cast<int>(gy - kSourceY));
  }

  std::unique_ptr<Reader> OpenOrDie(const std::string& path, const ReaderOptions& options = {}) {
    absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path, options);
    EXPECT_TRUE(reader.ok()) << reader.status();
    return reader.ok() ? *std::move(reader) : nullptr;
  }

  // Zoom12Request covers global zoom-12 pixels [x0, x0 + w) x [y0, y0 + h) in EPSG:3857.
  static RegionRequest Zoom12Request(int64_t x0, int64_t y0, int w, int h) {
    const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
    RegionRequest request;
    tms.PixelToCrs(static_cast<double>(x0), static_cast<double>(y0 + h), kZoom, &request.bbox.min_x,
                   &request.bbox.min_y);
    tms.PixelToCrs(static_cast<double>(x0 + w), static_cast<double>(y0), kZoom, &request.bbox.max_x,
                   &request.bbox.max_y);
    request.srs = "EPSG:3857";
    request.width = w;
    request.height = h;
    request.resampling = Resampling::kNearest;
    return request;
  }

  // OpenHolesPyramid writes and opens the fixture's source at zooms 10..12 (nearest) without
  // tile 12/1501/2001 and its parent 11/750/1000: 10/375/500 must fill in.
  std::unique_ptr<Reader> OpenHolesPyramid(const ReaderOptions& options = {}) {
    TestPyramidSpec pyramid;
    pyramid.min_zoom = 10;
    pyramid.max_zoom = kZoom;
    pyramid.resampling = "nearest";
    pyramid.skip_tiles = {{12, 1501, 2001}, {11, 750, 1000}};
    const std::string path = dir_.Path("holes.fpyr");
    absl::Status written = WriteTestPyramid(*source_, pyramid, path).status();
    EXPECT_TRUE(written.ok()) << written;
    return written.ok() ? OpenOrDie(path, options) : nullptr;
  }

  const geo::TileMatrixSet tms_ = geo::TileMatrixSet::WebMercatorQuad();
  test::TempDir dir_;
  test::SyntheticRasterSpec spec_;
  GDALDatasetUniquePtr source_;
  std::string path_;
};

TEST_F(ReaderTest, OpenReadsMetadataAndLevels) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->min_zoom(), 9);
  EXPECT_EQ(reader->max_zoom(), kZoom);
  EXPECT_EQ(reader->band_count(), 4);
  EXPECT_EQ(reader->pixel_type(), codec::PixelType::kUint8);
  EXPECT_EQ(reader->tile_size(), 256);
  EXPECT_EQ(reader->tile_matrix_set().id(), "WebMercatorQuad");
  const Level* level = reader->FindLevel(kZoom);
  ASSERT_NE(level, nullptr);
  // 100 + 640 px across from tile 1500 covers tiles 1500..1502; 50 + 512 down covers 2000..2002.
  EXPECT_EQ(level->min_x(), 1500u);
  EXPECT_EQ(level->max_x(), 1502u);
  EXPECT_EQ(level->min_y(), 2000u);
  EXPECT_EQ(level->max_y(), 2002u);
  EXPECT_EQ(level->tile_count(), 9u);
  EXPECT_EQ(reader->FindLevel(8), nullptr);
  EXPECT_EQ(reader->FindLevel(13), nullptr);
}

TEST_F(ReaderTest, GetTileBytesReturnsTheStoredBytesWithoutCopying) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  absl::StatusOr<absl::string_view> bytes = reader->GetTileBytes(kZoom, 1501, 2001);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const uint32_t section = *reader->storage().FindSection("z12");
  std::optional<absl::string_view> stored =
      reader->storage().Get(section, geo::MortonEncode(1501, 2001));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(bytes->data(), stored->data());
  EXPECT_EQ(bytes->size(), stored->size());
  EXPECT_EQ(*codec::DetectCodec(*bytes), codec::CodecId::kPng);
}

TEST_F(ReaderTest, GetTileDecodesTheSourcePixelsAndAlpha) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  absl::StatusOr<std::shared_ptr<const codec::Image>> tile = reader->GetTile(kZoom, 1500, 2000);
  ASSERT_TRUE(tile.ok()) << tile.status();
  const codec::Image& image = **tile;
  ASSERT_EQ(image.width(), 256);
  ASSERT_EQ(image.bands(), 4);
  auto at = [&](int col, int row, int band) {
    return image.data()[static_cast<size_t>(row) * image.row_stride() + col * 4 + band];
  };
  // Inside the source (tile pixel 100, 50 is source pixel 0, 0).
  for (int band = 0; band < 3; ++band) {
    EXPECT_EQ(at(103, 54, band), SourceValue(band, kSourceX + 3, kSourceY + 4));
    EXPECT_EQ(at(255, 255, band), SourceValue(band, 1500 * 256 + 255, 2000 * 256 + 255));
  }
  EXPECT_EQ(at(103, 54, 3), 255);
  // Outside the source: transparent.
  EXPECT_EQ(at(99, 54, 3), 0);
  EXPECT_EQ(at(103, 49, 3), 0);
}

TEST_F(ReaderTest, GetTileComesFromTheCacheTheSecondTime) {
  auto cache = std::make_shared<TileCache>(64 << 20);
  ReaderOptions options;
  options.cache = cache;
  std::unique_ptr<Reader> reader = OpenOrDie(path_, options);
  ASSERT_NE(reader, nullptr);
  absl::StatusOr<std::shared_ptr<const codec::Image>> first = reader->GetTile(kZoom, 1501, 2001);
  absl::StatusOr<std::shared_ptr<const codec::Image>> second = reader->GetTile(kZoom, 1501, 2001);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->get(), second->get());
  EXPECT_EQ(cache->stats().hits, 1u);
  EXPECT_EQ(cache->stats().insertions, 1u);
  reader.reset();  // Closing a reader drops its tiles from the shared cache.
  EXPECT_EQ(cache->stats().entries, 0u);
}

TEST_F(ReaderTest, MissingTilesAndBadCoordinatesHavePreciseErrors) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  absl::StatusOr<absl::string_view> absent = reader->GetTileBytes(kZoom, 1400, 2000);
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(absent.status().message(), HasSubstr("tile 12/1400/2000 holds no data"));
  absl::StatusOr<absl::string_view> no_level = reader->GetTileBytes(13, 3000, 4000);
  EXPECT_EQ(no_level.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_level.status().message(), HasSubstr("no level 13"));
  absl::StatusOr<absl::string_view> outside = reader->GetTileBytes(kZoom, 4096, 0);
  EXPECT_EQ(outside.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(outside.status().message(), HasSubstr("4096 x 4096 tiles at zoom 12"));
  EXPECT_EQ(reader->GetTileBytes(31, 0, 0).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(reader->GetTileBytes(-1, 0, 0).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(reader->GetTile(kZoom, 1400, 2000).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ReaderTest, ReadRegionOnTheLevelGridReturnsTheSourcePixelsExactly) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  // Straddles the tile boundary at x = 1501 * 256 and y = 2001 * 256.
  const int64_t x0 = kSourceX + 10, y0 = kSourceY + 20;
  absl::StatusOr<Region> region = reader->ReadRegion(Zoom12Request(x0, y0, 300, 200));
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->zoom, kZoom);
  EXPECT_EQ(region->tiles_decoded, 4u);
  EXPECT_EQ(region->tiles_from_coarser_levels, 0u);
  const codec::Image& image = region->image;
  ASSERT_EQ(image.width(), 300);
  ASSERT_EQ(image.height(), 200);
  ASSERT_EQ(image.bands(), 4);
  size_t mismatches = 0;
  for (int row = 0; row < 200; ++row) {
    for (int col = 0; col < 300; ++col) {
      const uint8_t* p = image.data() + static_cast<size_t>(row) * image.row_stride() + col * 4;
      for (int band = 0; band < 3; ++band) {
        mismatches += p[band] != SourceValue(band, x0 + col, y0 + row);
      }
      mismatches += p[3] != 255;
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

// WithOpaqueAlpha copies a uint8 dataset into a MEM dataset with an extra alpha band of 255.
GDALDatasetUniquePtr WithOpaqueAlpha(GDALDataset& source) {
  const int w = source.GetRasterXSize(), h = source.GetRasterYSize();
  const int bands = source.GetRasterCount();
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr out(mem->Create("", w, h, bands + 1, GDT_Byte, nullptr));
  double gt[6];
  source.GetGeoTransform(gt);
  out->SetGeoTransform(gt);
  out->SetSpatialRef(source.GetSpatialRef());
  std::vector<uint8_t> row(static_cast<size_t>(w) * h);
  for (int b = 1; b <= bands; ++b) {
    EXPECT_EQ(source.GetRasterBand(b)->RasterIO(GF_Read, 0, 0, w, h, row.data(), w, h, GDT_Byte, 0,
                                                0, nullptr),
              CE_None);
    EXPECT_EQ(out->GetRasterBand(b)->RasterIO(GF_Write, 0, 0, w, h, row.data(), w, h, GDT_Byte, 0,
                                              0, nullptr),
              CE_None);
  }
  out->GetRasterBand(bands + 1)->Fill(255);
  out->GetRasterBand(bands + 1)->SetColorInterpretation(GCI_AlphaBand);
  return out;
}

TEST_F(ReaderTest, ReadRegionInAnotherCrsMatchesGdalwarpOfTheSource) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  // A lon/lat window inside the source, at about the source's resolution.
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  double lon0, lat0, lon1, lat1;
  double x, y;
  tms.PixelToCrs(kSourceX + 40, kSourceY + 400, kZoom, &x, &y);
  tms.CrsToLonLat(x, y, &lon0, &lat0);
  tms.PixelToCrs(kSourceX + 560, kSourceY + 60, kZoom, &x, &y);
  tms.CrsToLonLat(x, y, &lon1, &lat1);
  RegionRequest request;
  request.bbox = {lon0, lat0, lon1, lat1};
  request.srs = "EPSG:4326";
  request.width = 400;
  request.height = 300;
  request.resampling = Resampling::kBilinear;
  absl::StatusOr<Region> region = reader->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->zoom, kZoom);
  const double bounds[4] = {lon0, lat0, lon1, lat1};
  // The source with an opaque alpha band: GDAL's warper takes the same (alpha-aware) kernel
  // path for both, instead of its no-mask fast path that rounds differently.
  GDALDatasetUniquePtr with_alpha = WithOpaqueAlpha(*source_);
  absl::StatusOr<std::vector<uint8_t>> expected =
      internal::WarpToGrid(*with_alpha, "EPSG:4326", bounds, 400, 300, {"-r", "bilinear"});
  ASSERT_TRUE(expected.ok()) << expected.status();
  ASSERT_EQ(expected->size(), region->image.size_bytes());
  const test::ImageDifference d = test::CompareSamples<uint8_t>(
      absl::MakeConstSpan(region->image.data(), region->image.size_bytes()), *expected, 255.0, 1.0);
  // Where the source steps from 255 to 0 (the gradient wraps), GDAL's kernel scale, chosen
  // from the source window, tips a few samples further; everywhere else within 1.
  EXPECT_GE(d.psnr_db, 45.0);
  EXPECT_LE(d.differing, d.compared / 50);
  EXPECT_LE(d.mean_abs_error, 0.25);
}

TEST_F(ReaderTest, ReadRegionPicksTheLevelMatchingTheRequestedResolution) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  // 640 x 512 source pixels into 160 x 128: a quarter of the resolution, zoom 10.
  RegionRequest request = Zoom12Request(kSourceX, kSourceY, kSourceWidth, kSourceHeight);
  request.width = 160;
  request.height = 128;
  absl::StatusOr<Region> region = reader->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->zoom, 10);
  // Slightly coarser than zoom 11 still reads zoom 11 (never a level coarser than asked).
  request.width = 300;
  request.height = 240;
  region = reader->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->zoom, 11);
  // Finer than the finest level reads the finest.
  request.width = 2000;
  request.height = 1600;
  region = reader->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->zoom, kZoom);
  // A forced zoom is honoured.
  request.zoom = 9;
  region = reader->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->zoom, 9);
}

TEST_F(ReaderTest, ReadRegionFillsMissingTilesFromTheNearestCoarserLevel) {
  std::unique_ptr<Reader> reader = OpenHolesPyramid();
  ASSERT_NE(reader, nullptr);
  const int64_t x0 = 1501 * 256, y0 = 2001 * 256;
  absl::StatusOr<Region> region = reader->ReadRegion(Zoom12Request(x0, y0, 256, 256));
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->zoom, kZoom);
  EXPECT_EQ(region->tiles_from_coarser_levels, 1u);
  absl::StatusOr<std::shared_ptr<const codec::Image>> ancestor = reader->GetTile(10, 375, 500);
  ASSERT_TRUE(ancestor.ok()) << ancestor.status();
  // Each zoom-10 pixel covers 4 x 4 zoom-12 pixels.
  size_t mismatches = 0;
  for (int row = 0; row < 256; ++row) {
    for (int col = 0; col < 256; ++col) {
      const int64_t ax = ((x0 + col) >> 2) - 375 * 256, ay = ((y0 + row) >> 2) - 500 * 256;
      const uint8_t* want = (*ancestor)->data() + ay * (*ancestor)->row_stride() + ax * 4;
      const uint8_t* got =
          region->image.data() + static_cast<size_t>(row) * region->image.row_stride() + col * 4;
      mismatches += std::memcmp(want, got, 4) != 0;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  // GetTile itself does not invent tiles.
  EXPECT_EQ(reader->GetTile(12, 1501, 2001).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ReaderTest, ReadRegionUpsamplesTheCoarserFillWithTheRequestedKernel) {
  // Zoom 10 fills the hole, 4x upsampled.
  std::unique_ptr<Reader> reader = OpenHolesPyramid();
  ASSERT_NE(reader, nullptr);

  // The oracle: zoom-10 tiles 374..376 x 499..501 as a GDAL dataset, gdalwarp'ed with the
  // same kernel to the missing tile's bounds.
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr ancestors(mem->Create("", 768, 768, 4, GDT_Byte, nullptr));
  double x0, y0;
  tms_.PixelToCrs(374 * 256, 499 * 256, 10, &x0, &y0);
  double geotransform[6] = {x0, tms_.Resolution(10), 0, y0, 0, -tms_.Resolution(10)};
  ancestors->SetGeoTransform(geotransform);
  OGRSpatialReference mercator;
  mercator.importFromEPSG(3857);
  ancestors->SetSpatialRef(&mercator);
  ancestors->GetRasterBand(4)->SetColorInterpretation(GCI_AlphaBand);
  for (uint32_t ty = 499; ty <= 501; ++ty) {
    for (uint32_t tx = 374; tx <= 376; ++tx) {
      absl::StatusOr<std::shared_ptr<const codec::Image>> tile = reader->GetTile(10, tx, ty);
      if (!tile.ok()) continue;  // No data there.
      ASSERT_EQ(ancestors->RasterIO(GF_Write, (tx - 374) * 256, (ty - 499) * 256, 256, 256,
                                    const_cast<uint8_t*>((*tile)->data()), 256, 256, GDT_Byte, 4,
                                    nullptr, 4, 4 * 256, 1, nullptr),
                CE_None);
    }
  }
  const geo::Bounds hole = tms_.TileBounds({kZoom, 1501, 2001});
  const double hole_bounds[4] = {hole.min_x, hole.min_y, hole.max_x, hole.max_y};
  for (const auto& [resampling, name] :
       {std::pair{Resampling::kBilinear, "bilinear"}, std::pair{Resampling::kCubic, "cubic"}}) {
    SCOPED_TRACE(name);
    absl::StatusOr<std::vector<uint8_t>> want = internal::WarpToGrid(
        *ancestors, "EPSG:3857", hole_bounds, 256, 256, {"-r", name, "-dstalpha"});
    ASSERT_TRUE(want.ok()) << want.status();
    // The window: the missing tile and 32 px of its present neighbours on every side.
    RegionRequest request = Zoom12Request(1501 * 256 - 32, 2001 * 256 - 32, 320, 320);
    request.resampling = resampling;
    absl::StatusOr<Region> region = reader->ReadRegion(request);
    ASSERT_TRUE(region.ok()) << region.status();
    EXPECT_EQ(region->zoom, kZoom);
    EXPECT_EQ(region->tiles_from_coarser_levels, 1u);
    int max_difference = 0;
    size_t constant_blocks = 0;  // 4 x 4 blocks of one value: pixel replication.
    for (int row = 0; row < 256; ++row) {
      const uint8_t* got = region->image.data() + (row + 32) * region->image.row_stride() + 32 * 4;
      for (int i = 0; i < 256 * 4; ++i) {
        max_difference = std::max(max_difference, std::abs(got[i] - (*want)[row * 256 * 4 + i]));
      }
    }
    for (int by = 0; by < 256; by += 4) {
      for (int bx = 0; bx < 256; bx += 4) {
        const uint8_t* corner =
            region->image.data() + (by + 32) * region->image.row_stride() + (bx + 32) * 4;
        bool constant = true;
        for (int j = 0; j < 4; ++j) {
          for (int i = 0; i < 4; ++i) {
            constant = constant && corner[j * region->image.row_stride() + i * 4] == corner[0];
          }
        }
        constant_blocks += constant;
      }
    }
    EXPECT_LE(max_difference, 1);
    EXPECT_EQ(constant_blocks, 0u);
  }
  // Nearest still replicates (ReadRegionFillsMissingTilesFromTheNearestCoarserLevel).
}

TEST_F(ReaderTest, ReadRegionWithoutDataIsTransparent) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  RegionRequest request;
  request.bbox = {100.0, 10.0, 101.0, 11.0};  // Far from Brazil's coast.
  request.width = 64;
  request.height = 64;
  absl::StatusOr<Region> region = reader->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->tiles_decoded, 0u);
  size_t opaque = 0;
  for (size_t i = 3; i < region->image.size_bytes(); i += 4) opaque += region->image.data()[i];
  EXPECT_EQ(opaque, 0u);
  EXPECT_EQ(region->geotransform[0], 100.0);
  EXPECT_EQ(region->geotransform[1], 1.0 / 64);
  EXPECT_EQ(region->geotransform[3], 11.0);
  EXPECT_EQ(region->geotransform[5], -1.0 / 64);
}

TEST_F(ReaderTest, ReadRegionRejectsBadRequests) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  RegionRequest request;
  request.bbox = {-35, -8, -34.9, -7.9};
  request.width = 10;
  request.height = 10;
  RegionRequest inverted = request;
  inverted.bbox = {-35, -7.9, -34.9, -8};  // Latitudes upside down.
  EXPECT_EQ(reader->ReadRegion(inverted).status().code(), absl::StatusCode::kInvalidArgument);
  // In a projected CRS other than the set's, min_x > max_x is inverted (it only wraps in
  // lon/lat and in the set's own CRS); no bbox is wider than the world.
  RegionRequest inverted_utm = request;
  inverted_utm.srs = "EPSG:32725";
  inverted_utm.bbox = {290000, 9110000, 280000, 9120000};
  EXPECT_EQ(reader->ReadRegion(inverted_utm).status().code(), absl::StatusCode::kInvalidArgument);
  RegionRequest too_wide = request;
  too_wide.bbox = {-200, -8, 170, -7.9};
  EXPECT_EQ(reader->ReadRegion(too_wide).status().code(), absl::StatusCode::kInvalidArgument);
  RegionRequest nan = request;
  nan.bbox.min_x = std::nan("");
  EXPECT_EQ(reader->ReadRegion(nan).status().code(), absl::StatusCode::kInvalidArgument);
  RegionRequest empty = request;
  empty.width = 0;
  EXPECT_EQ(reader->ReadRegion(empty).status().code(), absl::StatusCode::kInvalidArgument);
  RegionRequest huge = request;
  huge.height = 20000;
  EXPECT_EQ(reader->ReadRegion(huge).status().code(), absl::StatusCode::kInvalidArgument);
  RegionRequest bad_srs = request;
  bad_srs.srs = "EPSG:999999";
  absl::Status s = reader->ReadRegion(bad_srs).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("EPSG:999999"));
  RegionRequest missing_zoom = request;
  missing_zoom.zoom = 14;
  EXPECT_EQ(reader->ReadRegion(missing_zoom).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ReaderTest, ConcurrentReadersSeeTheSameTilesAndRegions) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  absl::StatusOr<Region> reference =
      reader->ReadRegion(Zoom12Request(kSourceX, kSourceY, 500, 400));
  ASSERT_TRUE(reference.ok());
  std::vector<std::thread> threads;
  std::vector<int> failures(2, 0);
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        absl::StatusOr<Region> region =
            reader->ReadRegion(Zoom12Request(kSourceX, kSourceY, 500, 400));
        if (!region.ok() || std::memcmp(region->image.data(), reference->image.data(),
                                        reference->image.size_bytes()) != 0) {
          ++failures[t];
        }
        for (uint32_t x = 1500; x <= 1502; ++x) {
          if (!reader->GetTile(kZoom, x, 2001).ok()) ++failures[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures[0], 0);
  EXPECT_EQ(failures[1], 0);
}

TEST_F(ReaderTest, VerifyAcceptsAGoodFile) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->Verify().ok()) << reader->Verify();
}

// Warp is gdalwarp of `source` to a MEM dataset with `args`.
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

// ---------------------------------------------------------------------------------------------
// Mixed JPEG/PNG tiles, elevation and real data.

TEST_F(ReaderTest, MixedPyramidGivesJpegTilesAnOpaqueAlphaBand) {
  TestPyramidSpec pyramid;
  pyramid.min_zoom = kZoom;
  pyramid.max_zoom = kZoom;
  pyramid.codec = codec::CodecId::kJpeg;
  pyramid.resampling = "nearest";
  const std::string path = dir_.Path("mixed.fpyr");
  ASSERT_TRUE(WriteTestPyramid(*source_, pyramid, path).ok());
  std::unique_ptr<Reader> reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);
  // 12/1501/2001 lies wholly inside the source: opaque, stored as 3-band JPEG.
  absl::StatusOr<absl::string_view> inner = reader->GetTileBytes(kZoom, 1501, 2001);
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(*codec::DetectCodec(*inner), codec::CodecId::kJpeg);
  EXPECT_EQ(codec::PeekInfo(*inner)->bands, 3);
  absl::StatusOr<absl::string_view> edge = reader->GetTileBytes(kZoom, 1500, 2000);
  ASSERT_TRUE(edge.ok());
  EXPECT_EQ(*codec::DetectCodec(*edge), codec::CodecId::kPng);
  absl::StatusOr<std::shared_ptr<const codec::Image>> tile = reader->GetTile(kZoom, 1501, 2001);
  ASSERT_TRUE(tile.ok()) << tile.status();
  ASSERT_EQ((*tile)->bands(), 4);
  size_t not_opaque = 0;
  for (size_t i = 3; i < (*tile)->size_bytes(); i += 4) not_opaque += (*tile)->data()[i] != 255;
  EXPECT_EQ(not_opaque, 0u);
  EXPECT_TRUE(reader->Verify().ok()) << reader->Verify();
}

// ElevationSource is a float32 DEM on the zoom-12 grid: value = 100 + col + 1000 * row, with a
// 20 x 20 block of nodata (-9999) at columns 200..219, rows 100..119.
GDALDatasetUniquePtr ElevationSource() {
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  double x0, y0;
  tms.PixelToCrs(kSourceX, kSourceY, kZoom, &x0, &y0);
  test::SyntheticRasterSpec spec;
  spec.width = 300;
  spec.height = 200;
  spec.type = GDT_Float32;
  spec.srs = "EPSG:3857";
  spec.geotransform = {x0, tms.Resolution(kZoom), 0, y0, 0, -tms.Resolution(kZoom)};
  spec.pattern = test::SyntheticPattern::kConstant;
  spec.nodata = -9999;
  absl::StatusOr<GDALDatasetUniquePtr> ds = test::MakeSyntheticRaster(spec);
  EXPECT_TRUE(ds.ok());
  std::vector<float> values(300 * 200);
  for (int row = 0; row < 200; ++row) {
    for (int col = 0; col < 300; ++col) {
      const bool hole = col >= 200 && col < 220 && row >= 100 && row < 120;
      values[row * 300 + col] = hole ? -9999.0f : 100.0f + col + 1000.0f * row;
    }
  }
  EXPECT_EQ((*ds)->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 300, 200, values.data(), 300, 200,
                                              GDT_Float32, 0, 0, nullptr),
            CE_None);
  return *std::move(ds);
}

class ElevationTest : public ReaderTest {
 protected:
  void SetUp() override {
    dem_ = ElevationSource();
    dem_path_ = dir_.Path("dem.fpyr");
    ASSERT_TRUE(WriteTestPyramid(*dem_, DemPyramid(), dem_path_).ok());
    reader_ = OpenOrDie(dem_path_);
    ASSERT_NE(reader_, nullptr);
  }

  // DemPyramid is the elevation pyramid of the DEM: zooms 11..12, nearest, nodata -9999.
  static TestPyramidSpec DemPyramid() {
    TestPyramidSpec pyramid;
    pyramid.min_zoom = 11;
    pyramid.max_zoom = kZoom;
    pyramid.codec = codec::CodecId::kElevation;
    pyramid.add_alpha = false;
    pyramid.nodata = -9999;
    pyramid.resampling = "nearest";
    return pyramid;
  }

  // LonLatOf is the lon/lat of zoom-12 global pixel position (px, py) (centres at +0.5).
  static void LonLatOf(double px, double py, double* lon, double* lat) {
    const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
    double x, y;
    tms.PixelToCrs(px, py, kZoom, &x, &y);
    tms.CrsToLonLat(x, y, lon, lat);
  }

  GDALDatasetUniquePtr dem_;
  std::string dem_path_;
  std::unique_ptr<Reader> reader_;
};

TEST_F(ElevationTest, SampleNearestReturnsThePixelValue) {
  double lon, lat;
  LonLatOf(kSourceX + 30.5, kSourceY + 40.5, &lon, &lat);
  absl::StatusOr<std::optional<double>> v = reader_->Sample(lon, lat, SampleMethod::kNearest);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->has_value());
  EXPECT_DOUBLE_EQ(**v, 100.0 + 30 + 1000.0 * 40);
}

TEST_F(ElevationTest, SampleBilinearInterpolatesBetweenPixelCentres) {
  double lon, lat;
  // A quarter of the way from centre (30, 40) to (31, 41): 130 + 0.25 + 40000 + 250.
  LonLatOf(kSourceX + 30.75, kSourceY + 40.75, &lon, &lat);
  absl::StatusOr<std::optional<double>> v = reader_->Sample(lon, lat);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->has_value());
  EXPECT_NEAR(**v, 130.25 + 40250.0, 1e-3);
}

TEST_F(ElevationTest, SampleIgnoresNodataNeighboursAndReportsNoData) {
  double lon, lat;
  // Centre of nodata pixel (200, 100).
  LonLatOf(kSourceX + 200.5, kSourceY + 100.5, &lon, &lat);
  absl::StatusOr<std::optional<double>> v = reader_->Sample(lon, lat, SampleMethod::kNearest);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->has_value());
  // Between centre (199, 99) (valid) and (200, 100) (nodata): only the valid ones count.
  LonLatOf(kSourceX + 200.0, kSourceY + 100.0, &lon, &lat);
  v = reader_->Sample(lon, lat);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->has_value());
  // Valid: (199, 99) = 99299, (200, 99) = 99300, (199, 100) = 100299; equal weights.
  EXPECT_NEAR(**v, (99299.0 + 99300.0 + 100299.0) / 3, 1e-2);
  // Far away: no tile.
  v = reader_->Sample(10.0, 50.0);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->has_value());
}

TEST_F(ElevationTest, SampleFallsBackToACoarserLevelWhereTheFinerPixelIsNodata) {
  // The source's nodata hole (columns 200..219, rows 100..119) is zoom-11 pixels 150..159 x
  // 75..84 of tile 11/750/1000. Give those zoom-11 pixels values (-5000 - col - 100 * row),
  // as an overview averaging valid samples around a smaller hole would, and store that tile.
  const int64_t hole_x11 = (kSourceX + 200) / 2 - 750 * 256;
  const int64_t hole_y11 = (kSourceY + 100) / 2 - 1000 * 256;
  ASSERT_EQ(hole_x11, 150);
  ASSERT_EQ(hole_y11, 75);
  absl::StatusOr<std::shared_ptr<const codec::Image>> z11 = reader_->GetTile(11, 750, 1000);
  ASSERT_TRUE(z11.ok()) << z11.status();
  codec::Image filled((*z11)->width(), (*z11)->height(), 1, codec::PixelType::kFloat32);
  std::memcpy(filled.data(), (*z11)->data(), filled.size_bytes());
  auto filled_value = [](int col, int row) { return -5000.0f - col - 100.0f * row; };
  for (int row = 75; row < 85; ++row) {
    float* line = reinterpret_cast<float*>(filled.data() + row * filled.row_stride());
    for (int col = 150; col < 160; ++col) {
      ASSERT_EQ(line[col], -9999.0f) << col << "," << row;
      line[col] = filled_value(col, row);
    }
  }
  std::string bytes;
  ASSERT_TRUE(codec::Encode(codec::CodecId::kElevation, filled.view(), {}, &bytes).ok());
  TestPyramidSpec pyramid = DemPyramid();
  pyramid.replace_tiles = {{11, 750, 1000, bytes}};
  const std::string path = dir_.Path("dem_filled_overview.fpyr");
  ASSERT_TRUE(WriteTestPyramid(*dem_, pyramid, path).ok());
  std::unique_ptr<Reader> reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);

  double lon, lat;
  // Zoom-12 pixel (205, 105) is nodata: the zoom-11 pixel under it, (152, 77), answers.
  LonLatOf(kSourceX + 205.5, kSourceY + 105.5, &lon, &lat);
  absl::StatusOr<std::optional<double>> v = reader->Sample(lon, lat, SampleMethod::kNearest);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->has_value());
  EXPECT_DOUBLE_EQ(**v, filled_value(152, 77));
  // Deep in the hole all four zoom-12 centres are nodata: bilinear over zoom-11 centres
  // (154, 79), (155, 79), (154, 80), (155, 80), the point halfway between them.
  LonLatOf(kSourceX + 210.0, kSourceY + 110.0, &lon, &lat);
  v = reader->Sample(lon, lat);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->has_value());
  EXPECT_NEAR(**v,
              (filled_value(154, 79) + filled_value(155, 79) + filled_value(154, 80) +
               filled_value(155, 80)) /
                  4,
              1e-3);
  // At the hole's corner three zoom-12 centres hold data: zoom 12 still answers alone.
  LonLatOf(kSourceX + 200.0, kSourceY + 100.0, &lon, &lat);
  v = reader->Sample(lon, lat);
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_NEAR(**v, (99299.0 + 99300.0 + 100299.0) / 3, 1e-2);
  // Outside the hole the zoom-12 pixel answers, not the zoom-11 one.
  LonLatOf(kSourceX + 30.5, kSourceY + 40.5, &lon, &lat);
  v = reader->Sample(lon, lat, SampleMethod::kNearest);
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_DOUBLE_EQ(**v, 100.0 + 30 + 1000.0 * 40);
}

TEST_F(ElevationTest, SampleRejectsBadPositionsAndBands) {
  EXPECT_EQ(reader_->Sample(std::nan(""), 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader_->Sample(0, 91).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader_->Sample(0, 0, SampleMethod::kNearest, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ElevationTest, ReadRegionFillsNodataWhereThereIsNoData) {
  RegionRequest request = Zoom12Request(kSourceX + 190, kSourceY + 90, 40, 40);
  request.resampling = Resampling::kNearest;
  absl::StatusOr<Region> region = reader_->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  const float* values = reinterpret_cast<const float*>(region->image.data());
  EXPECT_FLOAT_EQ(values[0], 100.0f + 190 + 1000.0f * 90);
  EXPECT_FLOAT_EQ(values[15 * 40 + 15], -9999.0f);  // Source pixel (205, 105): the hole.
  // Beyond the source's right edge (column 300) along the top row? Still inside: (229, 90).
  EXPECT_FLOAT_EQ(values[39], 100.0f + 229 + 1000.0f * 90);
}

TEST_F(ReaderTest, ReadRegionOfRealLandsatMatchesGdalwarpOfTheSource) {
  // Landsat bands 3,2,1 (UTM 25S) into a bilinear PNG pyramid: the pyramid resamples once and
  // ReadRegion once more, so the comparison with one gdalwarp of the source allows for that.
  GDALDatasetUniquePtr landsat(
      GDALDataset::Open(test::DataPath("L7_ETMs.tif").c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  ASSERT_NE(landsat, nullptr);
  char** argv = nullptr;
  for (const char* arg : {"-of", "MEM", "-b", "3", "-b", "2", "-b", "1"}) {
    argv = CSLAddString(argv, arg);
  }
  GDALTranslateOptions* options = GDALTranslateOptionsNew(argv, nullptr);
  CSLDestroy(argv);
  GDALDatasetUniquePtr rgb(GDALDataset::FromHandle(
      GDALTranslate("", GDALDataset::ToHandle(landsat.get()), options, nullptr)));
  GDALTranslateOptionsFree(options);
  ASSERT_NE(rgb, nullptr);
  TestPyramidSpec pyramid;
  pyramid.min_zoom = 10;
  pyramid.max_zoom = 13;
  const std::string path = dir_.Path("landsat.fpyr");
  ASSERT_TRUE(WriteTestPyramid(*rgb, pyramid, path).ok());
  std::unique_ptr<Reader> reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);

  // A window inside the scene, in its own UTM CRS, at the source's 28.5 m resolution.
  const double bounds[4] = {290000, 9112000, 296000, 9118000};
  RegionRequest request;
  request.bbox = {bounds[0], bounds[1], bounds[2], bounds[3]};
  request.srs = "EPSG:31985";
  request.width = request.height = 210;
  request.resampling = Resampling::kBilinear;
  absl::StatusOr<Region> region = reader->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->zoom, 13);
  absl::StatusOr<std::vector<uint8_t>> expected =
      internal::WarpToGrid(*rgb, "EPSG:31985", bounds, 210, 210, {"-r", "bilinear", "-dstalpha"});
  ASSERT_TRUE(expected.ok()) << expected.status();
  const test::ImageDifference ours = test::CompareSamples<uint8_t>(
      absl::MakeConstSpan(region->image.data(), region->image.size_bytes()), *expected, 255.0);

  // GDAL's own two-step path: gdalwarp to the zoom-13 grid, then to the window.
  GDALDatasetUniquePtr zoom13 =
      Warp(*rgb, {"-t_srs", "EPSG:3857", "-tr", absl::StrCat(tms_.Resolution(13)),
                  absl::StrCat(tms_.Resolution(13)), "-tap", "-r", "bilinear", "-dstalpha"});
  ASSERT_NE(zoom13, nullptr);
  absl::StatusOr<std::vector<uint8_t>> two_step =
      internal::WarpToGrid(*zoom13, "EPSG:31985", bounds, 210, 210, {"-r", "bilinear"});
  ASSERT_TRUE(two_step.ok()) << two_step.status();
  const test::ImageDifference gdal = test::CompareSamples<uint8_t>(*two_step, *expected, 255.0);
  EXPECT_GE(ours.psnr_db, gdal.psnr_db - 0.5)
      << "ours " << ours.psnr_db << " dB, GDAL two-step " << gdal.psnr_db << " dB";
  const test::ImageDifference same_path = test::CompareSamples<uint8_t>(
      absl::MakeConstSpan(region->image.data(), region->image.size_bytes()), *two_step, 255.0);
  EXPECT_GE(same_path.psnr_db, 45.0);
}

TEST_F(ReaderTest, WithoutAlphaOrNodataAMissingTileIsNotBlendedIntoItsNeighbour) {
  // A gray pyramid with neither alpha nor nodata and a hole: tile 12/1501/2001 is absent.
  // ReadRegion must not treat the hole as zeros (a synthetic alpha band tells GDAL's warper
  // where tiles were), so an output pixel straddling the hole's edge takes the edge pixel's
  // value, not its average with zero.
  constexpr int64_t kEdgeX = 1501 * 256;
  TestPyramidSpec pyramid;
  pyramid.min_zoom = kZoom;
  pyramid.max_zoom = kZoom;
  pyramid.resampling = "nearest";
  pyramid.add_alpha = false;
  pyramid.skip_tiles = {{kZoom, 1501, 2001}};
  test::SyntheticRasterSpec gray = spec_;
  gray.bands = 1;
  absl::StatusOr<GDALDatasetUniquePtr> source = test::MakeSyntheticRaster(gray);
  ASSERT_TRUE(source.ok());
  const std::string path = dir_.Path("gray.fpyr");
  ASSERT_TRUE(WriteTestPyramid(**source, pyramid, path).ok());
  std::unique_ptr<Reader> reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->band_count(), 1);
  // 40 x 20 pixels from 10 columns left of the hole, shifted a quarter pixel right: output
  // column 9's centre lies a quarter pixel left of the hole, weighing the last data column
  // 0.75 and the hole 0.25.
  const int64_t top = 2001 * 256 + 10;
  RegionRequest request = Zoom12Request(kEdgeX - 10, top, 40, 20);
  const double quarter = tms_.Resolution(kZoom) / 4;
  request.bbox.min_x += quarter;
  request.bbox.max_x += quarter;
  request.resampling = Resampling::kBilinear;
  absl::StatusOr<Region> region = reader->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  const uint8_t* row5 = region->image.data() + 5 * region->image.row_stride();
  const int edge_col = static_cast<int>(kEdgeX - 1 - kSourceX);
  const int row = static_cast<int>(top + 5 - kSourceY);
  EXPECT_EQ(row5[9], test::SyntheticValue(gray, 0, edge_col, row));
  EXPECT_EQ(row5[10], 0);  // Wholly inside the hole.
  // Left of the hole, 0.75 x column c + 0.25 x column c + 1 rounds to column c (the gradient
  // rises by 1 per column).
  EXPECT_EQ(row5[4], test::SyntheticValue(gray, 0, edge_col - 5, row));
}

TEST_F(ReaderTest, WorldCrs84QuadPyramidReadsBackOnItsGridAndSamplesByLonLat) {
  // A lon/lat gradient whose pixels are exactly the zoom-7 pixels of WorldCRS84Quad
  // (180 / 256 / 128 degrees each) starting at global pixel (20000, 9000).
  const geo::TileMatrixSet crs84 = geo::TileMatrixSet::WorldCRS84Quad();
  constexpr int z = 7;
  constexpr int64_t x0 = 20000, y0 = 9000;
  test::SyntheticRasterSpec spec;
  spec.width = 400;
  spec.height = 300;
  spec.type = GDT_UInt16;
  spec.srs = "EPSG:4326";
  double lon0, lat0;
  crs84.PixelToCrs(x0, y0, z, &lon0, &lat0);
  spec.geotransform = {lon0, crs84.Resolution(z), 0, lat0, 0, -crs84.Resolution(z)};
  absl::StatusOr<GDALDatasetUniquePtr> source = test::MakeSyntheticRaster(spec);
  ASSERT_TRUE(source.ok());
  TestPyramidSpec pyramid;
  pyramid.tile_matrix_set = "WorldCRS84Quad";
  pyramid.min_zoom = 6;
  pyramid.max_zoom = z;
  pyramid.resampling = "nearest";
  pyramid.add_alpha = false;
  pyramid.nodata = 65535;
  const std::string path = dir_.Path("crs84.fpyr");
  ASSERT_TRUE(WriteTestPyramid(**source, pyramid, path).ok());
  std::unique_ptr<Reader> reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->pixel_type(), codec::PixelType::kUint16);

  RegionRequest request;
  crs84.PixelToCrs(x0 + 50, y0 + 250, z, &request.bbox.min_x, &request.bbox.min_y);
  crs84.PixelToCrs(x0 + 350, y0 + 50, z, &request.bbox.max_x, &request.bbox.max_y);
  request.srs = "EPSG:4326";
  request.width = 300;
  request.height = 200;
  request.resampling = Resampling::kNearest;
  absl::StatusOr<Region> region = reader->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->zoom, z);
  const uint16_t* values = reinterpret_cast<const uint16_t*>(region->image.data());
  size_t mismatches = 0;
  for (int row = 0; row < 200; ++row) {
    for (int col = 0; col < 300; ++col) {
      mismatches += values[row * 300 + col] != test::SyntheticValue(spec, 0, 50 + col, 50 + row);
    }
  }
  EXPECT_EQ(mismatches, 0u);

  double lon, lat;
  crs84.PixelToCrs(x0 + 10.5, y0 + 20.5, z, &lon, &lat);
  absl::StatusOr<std::optional<double>> v = reader->Sample(lon, lat, SampleMethod::kNearest);
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, test::SyntheticValue(spec, 0, 10, 20));
}

// ---------------------------------------------------------------------------------------------
// Across the antimeridian.

// GlobalRelief is a smooth RGB picture of the whole world in EPSG:4326, 1440 x 720 pixels of
// 0.25 degrees from longitude `first_lon`, periodic in longitude (no step at +-180): band b at
// a pixel centre is 128 + 100 sin(3 lon + b) cos(2 lat). first_lon -180 is the usual grid; 0
// is the same world on 0..360, which crosses the antimeridian without an edge (the oracle).
// With `alpha`, a fourth band of 255 marked as alpha.
GDALDatasetUniquePtr GlobalRelief(double first_lon, bool alpha) {
  constexpr int kWidth = 1440, kHeight = 720;
  constexpr double kStep = 0.25;
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr ds(mem->Create("", kWidth, kHeight, alpha ? 4 : 3, GDT_Byte, nullptr));
  double geotransform[6] = {first_lon, kStep, 0, 90, 0, -kStep};
  ds->SetGeoTransform(geotransform);
  OGRSpatialReference wgs84;
  wgs84.importFromEPSG(4326);
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  ds->SetSpatialRef(&wgs84);
  std::vector<uint8_t> values(kWidth * kHeight);
  for (int b = 0; b < 3; ++b) {
    for (int row = 0; row < kHeight; ++row) {
      const double lat = (90 - (row + 0.5) * kStep) * M_PI / 180;
      for (int col = 0; col < kWidth; ++col) {
        const double lon = (first_lon + (col + 0.5) * kStep) * M_PI / 180;
        values[row * kWidth + col] = static_cast<uint8_t>(
            std::lround(128 + 100 * std::sin(3 * lon + b) * std::cos(2 * lat)));
      }
    }
    EXPECT_EQ(ds->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, 0, kWidth, kHeight, values.data(),
                                                 kWidth, kHeight, GDT_Byte, 0, 0, nullptr),
              CE_None);
  }
  if (alpha) {
    ds->GetRasterBand(4)->Fill(255);
    ds->GetRasterBand(4)->SetColorInterpretation(GCI_AlphaBand);
  }
  return ds;
}

TEST_F(ReaderTest, ReadRegionAcrossTheAntimeridianMatchesGdalwarpOfAWorldThatCrossesIt) {
  GDALDatasetUniquePtr world = GlobalRelief(-180, false);
  GDALDatasetUniquePtr world_0_360 = GlobalRelief(0, true);
  for (const char* tile_matrix_set : {"WebMercatorQuad", "WorldCRS84Quad"}) {
    SCOPED_TRACE(tile_matrix_set);
    TestPyramidSpec pyramid;
    pyramid.tile_matrix_set = tile_matrix_set;
    pyramid.min_zoom = 0;
    pyramid.max_zoom = std::string(tile_matrix_set) == "WebMercatorQuad" ? 3 : 2;
    pyramid.resampling = "bilinear";
    const std::string path = dir_.Path(absl::StrCat("world_", tile_matrix_set, ".fpyr"));
    ASSERT_TRUE(WriteTestPyramid(*world, pyramid, path).ok());
    std::unique_ptr<Reader> reader = OpenOrDie(path);
    ASSERT_NE(reader, nullptr);

    // 170E to 170W (min_x > max_x), 30S..30N, at the source's 0.25 degrees.
    RegionRequest request;
    request.bbox = {170, -30, -170, 30};
    request.srs = "EPSG:4326";
    request.width = 80;
    request.height = 240;
    request.resampling = Resampling::kBilinear;
    absl::StatusOr<Region> region = reader->ReadRegion(request);
    ASSERT_TRUE(region.ok()) << region.status();
    EXPECT_EQ(region->zoom, pyramid.max_zoom);
    EXPECT_EQ(region->geotransform[0], 170);
    EXPECT_EQ(region->geotransform[1], 0.25);
    const double bounds[4] = {170, -30, 190, 30};
    absl::StatusOr<std::vector<uint8_t>> expected =
        internal::WarpToGrid(*world_0_360, "EPSG:4326", bounds, 80, 240, {"-r", "bilinear"});
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_EQ(expected->size(), region->image.size_bytes());
    const test::ImageDifference d = test::CompareSamples<uint8_t>(
        absl::MakeConstSpan(region->image.data(), region->image.size_bytes()), *expected, 255.0,
        1.0);
    EXPECT_GE(d.psnr_db, 60.0);
    EXPECT_LE(d.max_abs_error, 1.0);
    // The seam columns (39: 179.75..180, 40: 180..180.25) hold data and join like the rest.
    for (int row = 0; row < 240; ++row) {
      EXPECT_EQ(region->image.data()[(row * 80 + 39) * 4 + 3], 255);
      EXPECT_EQ(region->image.data()[(row * 80 + 40) * 4 + 3], 255);
    }

    // The same window as 170..190 and as -190..-170: the same pixels.
    for (const geo::Bounds& same :
         {geo::Bounds{170, -30, 190, 30}, geo::Bounds{-190, -30, -170, 30}}) {
      RegionRequest again = request;
      again.bbox = same;
      absl::StatusOr<Region> other = reader->ReadRegion(again);
      ASSERT_TRUE(other.ok()) << other.status();
      EXPECT_EQ(other->geotransform[0], same.min_x);
      EXPECT_EQ(std::memcmp(other->image.data(), region->image.data(), region->image.size_bytes()),
                0)
          << same.min_x;
    }
  }

  // On the WorldCRS84Quad zoom-2 grid, nearest copies tiles from both sides of the seam:
  // output column i is global column (2008 + i) mod 2048 of zoom 2.
  TestPyramidSpec pyramid;
  pyramid.tile_matrix_set = "WorldCRS84Quad";
  pyramid.min_zoom = pyramid.max_zoom = 2;
  const std::string path = dir_.Path("world_crs84_z2.fpyr");
  ASSERT_TRUE(WriteTestPyramid(*world, pyramid, path).ok());
  std::unique_ptr<Reader> reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);
  const geo::TileMatrixSet crs84 = geo::TileMatrixSet::WorldCRS84Quad();
  RegionRequest request;
  crs84.PixelToCrs(2008, 600, 2, &request.bbox.min_x, &request.bbox.max_y);
  crs84.PixelToCrs(2088, 700, 2, &request.bbox.max_x, &request.bbox.min_y);
  ASSERT_GT(request.bbox.max_x, 180);
  request.srs = "EPSG:4326";
  request.width = 80;
  request.height = 100;
  request.resampling = Resampling::kNearest;
  absl::StatusOr<Region> region = reader->ReadRegion(request);
  ASSERT_TRUE(region.ok()) << region.status();
  size_t mismatches = 0;
  for (int row = 0; row < 100; ++row) {
    for (int col = 0; col < 80; ++col) {
      const int gx = (2008 + col) % 2048, gy = 600 + row;
      absl::StatusOr<std::shared_ptr<const codec::Image>> tile =
          reader->GetTile(2, gx / 256, gy / 256);
      ASSERT_TRUE(tile.ok()) << tile.status();
      mismatches +=
          std::memcmp(region->image.data() + (row * 80 + col) * 4,
                      (*tile)->data() + (gy % 256) * (*tile)->row_stride() + (gx % 256) * 4,
                      4) != 0;
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

// ---------------------------------------------------------------------------------------------
// Bad files.

// WriteStore writes a sealed storage file with one empty section "z0" and the given metadata.
void WriteStore(const std::string& path, absl::string_view type, const std::string& bytes,
                const std::string& section_name = "z0") {
  storage::WriterOptions options;
  options.overwrite = true;
  absl::StatusOr<std::unique_ptr<storage::Writer>> writer = storage::Writer::Create(path, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->AddSection(section_name).ok());
  (*writer)->SetUserMetadata(type, bytes);
  ASSERT_TRUE((*writer)->Seal().ok());
}

PyramidMetadata MinimalMetadata() {
  PyramidMetadata m;
  m.set_format_version(1);
  m.set_tile_matrix_set("WebMercatorQuad");
  m.set_tile_size(256);
  m.set_pixel_type(UINT8);
  m.set_band_count(4);
  m.set_has_alpha(true);
  m.set_codec("png");
  Level* level = m.add_levels();
  level->set_zoom(0);
  level->set_section(0);
  return m;
}

TEST_F(ReaderTest, OpenRefusesFilesThatAreNotPyramids) {
  EXPECT_EQ(Reader::Open(dir_.Path("missing.fpyr")).status().code(), absl::StatusCode::kNotFound);

  const std::string other = dir_.Path("other.fpyr");
  WriteStore(other, "some.other.Type", "x");
  absl::Status s = Reader::Open(other).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'some.other.Type'"));

  const std::string garbage = dir_.Path("garbage.fpyr");
  WriteStore(garbage, kMetadataTypeName, "\xff\xff\xff\xff");
  s = Reader::Open(garbage).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("does not parse"));

  const std::string minimal = dir_.Path("minimal.fpyr");
  WriteStore(minimal, kMetadataTypeName, MinimalMetadata().SerializeAsString());
  EXPECT_TRUE(Reader::Open(minimal).ok()) << Reader::Open(minimal).status();
}

TEST_F(ReaderTest, OpenRefusesInconsistentMetadata) {
  struct Case {
    const char* name;
    void (*mutate)(PyramidMetadata*);
    absl::StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {"version", [](PyramidMetadata* m) { m->set_format_version(2); },
       absl::StatusCode::kFailedPrecondition, "format_version 2"},
      {"tms", [](PyramidMetadata* m) { m->set_tile_matrix_set("Mars"); },
       absl::StatusCode::kDataLoss, "Mars"},
      {"tile size", [](PyramidMetadata* m) { m->set_tile_size(300); }, absl::StatusCode::kDataLoss,
       "300"},
      {"pixel type", [](PyramidMetadata* m) { m->set_pixel_type(PIXEL_TYPE_UNSPECIFIED); },
       absl::StatusCode::kDataLoss, "pixel_type"},
      {"bands", [](PyramidMetadata* m) { m->set_band_count(7); }, absl::StatusCode::kDataLoss,
       "band_count 7"},
      {"section", [](PyramidMetadata* m) { m->mutable_levels(0)->set_section(3); },
       absl::StatusCode::kDataLoss, "section 3"},
      {"zoom", [](PyramidMetadata* m) { m->mutable_levels(0)->set_zoom(1); },
       absl::StatusCode::kDataLoss, "level 1"},
      {"tile count", [](PyramidMetadata* m) { m->mutable_levels(0)->set_tile_count(5); },
       absl::StatusCode::kDataLoss, "lists 5 tiles"},
  };
  for (const Case& c : cases) {
    PyramidMetadata m = MinimalMetadata();
    c.mutate(&m);
    const std::string path = dir_.Path("bad.fpyr");
    WriteStore(path, kMetadataTypeName, m.SerializeAsString());
    absl::Status s = Reader::Open(path).status();
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr(c.message)) << c.name;
    EXPECT_THAT(s.message(), HasSubstr(path)) << c.name;
  }
  // A level whose section is named for another zoom.
  const std::string path = dir_.Path("misnamed.fpyr");
  WriteStore(path, kMetadataTypeName, MinimalMetadata().SerializeAsString(), "z5");
  absl::Status s = Reader::Open(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("'z5', not 'z0'"));
}

TEST_F(ReaderTest, AnUnfinishedBuildOpensOnlyWhenAllowedAndReadsItsCommitPoint) {
  TestPyramidSpec pyramid;
  pyramid.min_zoom = 9;
  pyramid.max_zoom = kZoom;
  pyramid.resampling = "nearest";
  pyramid.unfinished_units = {{2, 5}};
  const std::string path = dir_.Path("unfinished.fpyr");
  absl::StatusOr<PyramidMetadata> written = WriteTestPyramid(*source_, pyramid, path);
  ASSERT_TRUE(written.ok()) << written.status();
  uint64_t tiles = 0;
  for (const Level& level : written->levels()) tiles += level.tile_count();

  absl::StatusOr<std::unique_ptr<Reader>> refused = Reader::Open(path);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr(absl::StrCat(path, ": an unfinished build (2 of 5 blocks committed, ",
                                     tiles, " tiles; no build_pyramid is writing it)")));
  EXPECT_THAT(refused.status().message(), HasSubstr("--resume"));

  ReaderOptions allow;
  allow.allow_being_written = true;
  std::unique_ptr<Reader> reader = OpenOrDie(path, allow);
  ASSERT_NE(reader, nullptr);
  ASSERT_TRUE(reader->build_in_progress().has_value());
  EXPECT_EQ(reader->build_in_progress()->units_done, 2u);
  EXPECT_EQ(reader->build_in_progress()->units_total, 5u);
  EXPECT_EQ(reader->build_in_progress()->tiles_written, tiles);
  EXPECT_FALSE(reader->build_in_progress()->writer_active);
  EXPECT_FALSE(reader->storage().sealed());
  EXPECT_EQ(reader->min_zoom(), 9);
  EXPECT_EQ(reader->max_zoom(), kZoom);
  ASSERT_NE(reader->FindLevel(kZoom), nullptr);
  EXPECT_EQ(reader->FindLevel(kZoom)->tile_count(), 9u);
  // The committed tiles read as in the sealed pyramid of the same source.
  std::unique_ptr<Reader> sealed = OpenOrDie(path_);
  ASSERT_NE(sealed, nullptr);
  EXPECT_EQ(sealed->build_in_progress(), std::nullopt);
  EXPECT_EQ(*reader->GetTileBytes(kZoom, 1501, 2001), *sealed->GetTileBytes(kZoom, 1501, 2001));
  EXPECT_TRUE(reader->Verify().ok()) << reader->Verify();
}

TEST_F(ReaderTest, ABuildStillBeingWrittenIsUnavailableUnlessAllowed) {
  TestPyramidSpec pyramid;
  pyramid.min_zoom = 11;
  pyramid.max_zoom = kZoom;
  pyramid.unfinished_units = {{1, 3}};
  const std::string path = dir_.Path("running.fpyr");
  std::unique_ptr<storage::Writer> writer;  // Holds the file's lock, as a running build.
  ASSERT_TRUE(WriteTestPyramid(*source_, pyramid, path, &writer).ok());
  ASSERT_NE(writer, nullptr);
  EXPECT_EQ(Reader::Open(path).status().code(), absl::StatusCode::kUnavailable);
  ReaderOptions allow;
  allow.allow_being_written = true;
  std::unique_ptr<Reader> reader = OpenOrDie(path, allow);
  ASSERT_NE(reader, nullptr);
  ASSERT_TRUE(reader->build_in_progress().has_value());
  EXPECT_TRUE(reader->build_in_progress()->writer_active);
  EXPECT_EQ(reader->build_in_progress()->units_done, 1u);
  EXPECT_EQ(BuildProgressText(*reader->build_in_progress()),
            absl::StrCat("1 of 3 blocks committed, ", reader->build_in_progress()->tiles_written,
                         " tiles; build_pyramid is writing it now"));
}

TEST_F(ReaderTest, OpenRefusesATruncatedFile) {
  const std::string data = test::ReadFileOrDie(path_);
  const std::string truncated = dir_.Path("truncated.fpyr");
  std::ofstream(truncated, std::ios::binary).write(data.data(), data.size() / 2);
  absl::Status s = Reader::Open(truncated).status();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

TEST_F(ReaderTest, CorruptTilesFailToDecodeWithTheirNameAndVerifyListsThem) {
  TestPyramidSpec pyramid;
  pyramid.min_zoom = kZoom;
  pyramid.max_zoom = kZoom;
  pyramid.resampling = "nearest";
  // A PNG of the wrong size, and bytes that are no image at all.
  codec::Image small(128, 128, 4, codec::PixelType::kUint8);
  std::string small_png;
  ASSERT_TRUE(codec::Encode(codec::CodecId::kPng, small.view(), {}, &small_png).ok());
  pyramid.replace_tiles = {{kZoom, 1501, 2001, small_png},
                           {kZoom, 1502, 2001, std::string("\x89PNG\r\n\x1a\ngarbage", 15)}};
  const std::string path = dir_.Path("corrupt.fpyr");
  ASSERT_TRUE(WriteTestPyramid(*source_, pyramid, path).ok());
  std::unique_ptr<Reader> reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);
  absl::Status s = reader->GetTile(kZoom, 1501, 2001).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("tile 12/1501/2001: png tile is 128x128"));
  s = reader->GetTile(kZoom, 1502, 2001).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("tile 12/1502/2001"));
  // ReadRegion over a corrupt tile fails instead of returning wrong pixels.
  EXPECT_EQ(reader->ReadRegion(Zoom12Request(1501 * 256, 2001 * 256, 64, 64)).status().code(),
            absl::StatusCode::kDataLoss);
  s = reader->Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("2 fault(s)"));
  EXPECT_THAT(s.message(), HasSubstr("12/1501/2001"));
  EXPECT_THAT(s.message(), HasSubstr("12/1502/2001"));
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid

// --- The fast path (requests in the set's own CRS) against GDAL's warper -----------------

namespace flatpyramid {
namespace pyramid {
namespace {

// FastPathDifference reads `request` twice, through the fast path and through GDAL's warper
// (force_gdal_warp), and returns the largest absolute sample difference (NaN == NaN).
double FastPathDifference(const Reader& reader, RegionRequest request, std::string* where) {
  absl::StatusOr<Region> fast = reader.ReadRegion(request);
  request.force_gdal_warp = true;
  absl::StatusOr<Region> gdal = reader.ReadRegion(request);
  EXPECT_TRUE(fast.ok()) << fast.status();
  EXPECT_TRUE(gdal.ok()) << gdal.status();
  if (!fast.ok() || !gdal.ok()) return 1e9;
  EXPECT_EQ(fast->zoom, gdal->zoom);
  const codec::Image& a = fast->image;
  const codec::Image& b = gdal->image;
  double worst = 0;
  const size_t sample = codec::BytesPerSample(a.type());
  for (int row = 0; row < a.height(); ++row) {
    for (int col = 0; col < a.width(); ++col) {
      for (int band = 0; band < a.bands(); ++band) {
        const size_t offset = static_cast<size_t>(row) * a.row_stride() +
                              (static_cast<size_t>(col) * a.bands() + band) * sample;
        double va = 0, vb = 0;
        switch (a.type()) {
          case codec::PixelType::kUint8:
            va = a.data()[offset];
            vb = b.data()[offset];
            break;
          case codec::PixelType::kFloat32: {
            float fa, fb;
            std::memcpy(&fa, a.data() + offset, 4);
            std::memcpy(&fb, b.data() + offset, 4);
            if (std::isnan(fa) && std::isnan(fb)) continue;
            va = fa;
            vb = fb;
            break;
          }
          default:
            ADD_FAILURE() << "unexpected pixel type";
            return 1e9;
        }
        if (std::fabs(va - vb) > worst) {
          worst = std::fabs(va - vb);
          *where =
              absl::StrCat("pixel ", col, ",", row, " band ", band, ": fast ", va, ", gdal ", vb);
        }
      }
    }
  }
  return worst;
}

// RandomRequests makes `count` requests in EPSG:3857 around the zoom-12 data at `x0`, `y0`
// (global pixels, `w` x `h`): some on the level grid, some shifted by fractions of a pixel and
// scaled 0.6..1.05 (finer and slightly coarser than the level), many partly outside the
// data or over tile boundaries.
std::vector<RegionRequest> RandomRequests(int count, int64_t x0, int64_t y0, int w, int h,
                                          Resampling resampling, uint32_t seed) {
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> fx(x0 - 80.0, x0 + w - 20.0);
  std::uniform_real_distribution<double> fy(y0 - 80.0, y0 + h - 20.0);
  std::uniform_int_distribution<int> size(8, 300);
  std::uniform_real_distribution<double> scale(0.6, 1.05);
  std::vector<RegionRequest> requests;
  for (int i = 0; i < count; ++i) {
    const bool aligned = i % 3 == 0;
    const double px = aligned ? std::floor(fx(random)) : fx(random);
    const double py = aligned ? std::floor(fy(random)) : fy(random);
    RegionRequest request;
    request.width = size(random);
    request.height = size(random);
    const double sx = aligned ? 1 : scale(random), sy = aligned ? 1 : scale(random);
    tms.PixelToCrs(px, py + request.height * sy, kZoom, &request.bbox.min_x, &request.bbox.min_y);
    tms.PixelToCrs(px + request.width * sx, py, kZoom, &request.bbox.max_x, &request.bbox.max_y);
    request.srs = "EPSG:3857";
    request.resampling = resampling;
    request.zoom = kZoom;
    requests.push_back(request);
  }
  return requests;
}

void ExpectFastPathMatchesGdal(const Reader& reader, int64_t x0, int64_t y0, int w, int h,
                               Resampling resampling, double tolerance) {
  int i = 0;
  for (const RegionRequest& request : RandomRequests(40, x0, y0, w, h, resampling, 5)) {
    std::string where;
    EXPECT_LE(FastPathDifference(reader, request, &where), tolerance)
        << ResamplingName(resampling) << " request " << i << " (" << request.width << "x"
        << request.height << "): " << where;
    ++i;
  }
}

TEST_F(ReaderTest, FastNearestEqualsGdalWarpPixelForPixel) {
  for (const size_t cache_bytes : {size_t{0}, size_t{64} << 20}) {
    ReaderOptions options;
    options.private_cache_bytes = cache_bytes;
    std::unique_ptr<Reader> reader = OpenOrDie(path_, options);
    ASSERT_NE(reader, nullptr);
    ExpectFastPathMatchesGdal(*reader, kSourceX, kSourceY, kSourceWidth, kSourceHeight,
                              Resampling::kNearest, 0);
  }
}

TEST_F(ReaderTest, FastBilinearIsWithinOneGreyLevelOfGdalWarp) {
  std::unique_ptr<Reader> reader = OpenOrDie(path_);
  ASSERT_NE(reader, nullptr);
  ExpectFastPathMatchesGdal(*reader, kSourceX, kSourceY, kSourceWidth, kSourceHeight,
                            Resampling::kBilinear, 1);
}

TEST_F(ReaderTest, FastPathKeepsTheCoarserLevelFillAndMissingDataOfGdalWarp) {
  ReaderOptions options;
  options.private_cache_bytes = 0;
  std::unique_ptr<Reader> reader = OpenHolesPyramid(options);
  ASSERT_NE(reader, nullptr);
  ExpectFastPathMatchesGdal(*reader, kSourceX, kSourceY, kSourceWidth, kSourceHeight,
                            Resampling::kNearest, 0);
  ExpectFastPathMatchesGdal(*reader, kSourceX, kSourceY, kSourceWidth, kSourceHeight,
                            Resampling::kBilinear, 1);
}

TEST_F(ReaderTest, FastPathWithoutAlphaOrNodataEqualsGdalWarp) {
  TestPyramidSpec pyramid;
  pyramid.min_zoom = kZoom;
  pyramid.max_zoom = kZoom;
  pyramid.resampling = "nearest";
  pyramid.add_alpha = false;
  pyramid.skip_tiles = {{kZoom, 1501, 2001}};
  const std::string path = dir_.Path("rgb.fpyr");
  ASSERT_TRUE(WriteTestPyramid(*source_, pyramid, path).ok());
  std::unique_ptr<Reader> reader = OpenOrDie(path);
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->band_count(), 3);
  ExpectFastPathMatchesGdal(*reader, kSourceX, kSourceY, kSourceWidth, kSourceHeight,
                            Resampling::kNearest, 0);
  ExpectFastPathMatchesGdal(*reader, kSourceX, kSourceY, kSourceWidth, kSourceHeight,
                            Resampling::kBilinear, 1);
}

TEST_F(ReaderTest, FastPathOfAMixedJpegPyramidEqualsGdalWarp) {
  TestPyramidSpec pyramid;
  pyramid.min_zoom = 11;
  pyramid.max_zoom = kZoom;
  pyramid.codec = codec::CodecId::kJpeg;
  pyramid.resampling = "nearest";
  const std::string path = dir_.Path("mixed.fpyr");
  ASSERT_TRUE(WriteTestPyramid(*source_, pyramid, path).ok());
  ReaderOptions options;
  options.private_cache_bytes = 0;  // Whole JPEG tiles decode straight into the output.
  std::unique_ptr<Reader> reader = OpenOrDie(path, options);
  ASSERT_NE(reader, nullptr);
  ExpectFastPathMatchesGdal(*reader, kSourceX, kSourceY, kSourceWidth, kSourceHeight,
                            Resampling::kNearest, 0);
  ExpectFastPathMatchesGdal(*reader, kSourceX, kSourceY, kSourceWidth, kSourceHeight,
                            Resampling::kBilinear, 1);
}

TEST_F(ElevationTest, FastNearestOfElevationWithNodataEqualsGdalWarp) {
  ExpectFastPathMatchesGdal(*reader_, kSourceX, kSourceY, 300, 200, Resampling::kNearest, 0);
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
