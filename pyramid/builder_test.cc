// BuildPyramid against GDAL as the oracle: base tiles equal gdalwarp of the same source into
// the same tile bounds; JPEG and overview quality against GDAL's own COG; resume after a real
// kill -9; every documented error.
#include "pyramid/builder.h"

#include <glob.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "codec/codec.h"
#include "gdal_alg.h"
#include "gdal_priv.h"
#include "gdal_utils.h"
#include "geo/morton.h"
#include "geo/tile_matrix_set.h"
#include "gtest/gtest.h"
#include "pyramid/internal/build_state.pb.h"
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

// Translate runs the GDAL C API gdal_translate (`args`) of `source` into `path`.
std::string Translate(const std::string& source, std::vector<std::string> args,
                      const std::string& path) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALTranslateOptions* options = GDALTranslateOptionsNew(argv.data(), nullptr);
  GDALDatasetH src = GDALOpen(source.c_str(), GA_ReadOnly);
  GDALDatasetH out = GDALTranslate(path.c_str(), src, options, nullptr);
  GDALTranslateOptionsFree(options);
  EXPECT_NE(out, nullptr) << path;
  GDALClose(out);
  GDALClose(src);
  return path;
}

// SelectBands writes a VRT of `source` with `bands` (gdal_translate -b) for the oracle.
std::string SelectBands(const std::string& source, const std::vector<int>& bands,
                        const std::string& vrt_path) {
  std::vector<std::string> args = {"-of", "VRT"};
  for (int b : bands) {
    args.push_back("-b");
    args.push_back(absl::StrCat(b));
  }
  return Translate(source, args, vrt_path);
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
  options.codec = TileCodec::kPng;
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

// MeanSquaredError turns CompareSamples' PSNR back into a summable error.
double SquaredErrorSum(const test::ImageDifference& d) {
  if (d.compared == 0 || std::isinf(d.psnr_db)) return 0;
  return 255.0 * 255.0 / std::pow(10.0, d.psnr_db / 10.0) * d.compared;
}
double Psnr(double squared_error_sum, size_t count) {
  return 10.0 * std::log10(255.0 * 255.0 / (squared_error_sum / count));
}

// CogWindow reads `tile` from a GoogleMapsCompatible COG at `overview` (-1 = full res).
Pixels CogWindow(GDALDataset& cog, const geo::TileMatrixSet& tms, const geo::TileId& tile,
                 int overview) {
  double gt[6];
  cog.GetGeoTransform(gt);
  const geo::Bounds b = tms.TileBounds(tile);
  const double scale = overview < 0 ? 1 : (1 << (overview + 1));
  const int x0 = static_cast<int>(std::lround((b.min_x - gt[0]) / (gt[1] * scale)));
  const int y0 = static_cast<int>(std::lround((gt[3] - b.max_y) / (-gt[5] * scale)));
  Pixels pixels;
  pixels.bands = 3;
  pixels.values.assign(256 * 256 * 3, 0);
  pixels.alpha.assign(256 * 256, 0);
  std::vector<float> mask(256 * 256);
  for (int band = 1; band <= 3; ++band) {
    GDALRasterBand* rb = cog.GetRasterBand(band);
    if (overview >= 0) rb = rb->GetOverview(overview);
    EXPECT_NE(rb, nullptr);
    if (rb == nullptr) return pixels;
    if (x0 < 0 || y0 < 0 || x0 + 256 > rb->GetXSize() || y0 + 256 > rb->GetYSize()) {
      return pixels;  // Outside the COG: nothing to compare.
    }
    EXPECT_EQ(rb->RasterIO(GF_Read, x0, y0, 256, 256, pixels.values.data() + band - 1, 256, 256,
                           GDT_Float32, 12, 12 * 256, nullptr),
              CE_None);
    if (band == 1) {
      EXPECT_EQ(rb->GetMaskBand()->RasterIO(GF_Read, x0, y0, 256, 256, mask.data(), 256, 256,
                                            GDT_Float32, 0, 0, nullptr),
                CE_None);
    }
  }
  for (size_t i = 0; i < mask.size(); ++i) pixels.alpha[i] = static_cast<uint8_t>(mask[i]);
  return pixels;
}

TEST(BuildPyramidTest, LandsatJpegIsWithinHalfADecibelOfGdalCogAndOverviewsAtLeastAsClose) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir);
  // Zoom 14 has fully covered (JPEG) tiles inside the scene; 13 is their first overview.
  options.max_zoom = 14;
  options.min_zoom = 13;
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->metadata.codec(), "jpeg");
  const std::string rgb = SelectBands(DataPath("L7_ETMs.tif"), {3, 2, 1}, dir.Path("rgb.vrt"));
  const std::string cog_path = dir.Path("cog.tif");
  {
    std::vector<std::string> args = {"-of", "COG",
                                     "-co", "TILING_SCHEME=GoogleMapsCompatible",
                                     "-co", "COMPRESS=JPEG",
                                     "-co", "QUALITY=85",
                                     "-co", "ZOOM_LEVEL=14",
                                     "-co", "WARP_RESAMPLING=BILINEAR",
                                     "-co", "OVERVIEW_RESAMPLING=AVERAGE"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    GDALTranslateOptions* topts = GDALTranslateOptionsNew(argv.data(), nullptr);
    GDALDatasetH src = GDALOpen(rgb.c_str(), GA_ReadOnly);
    GDALDatasetH cog = GDALTranslate(cog_path.c_str(), src, topts, nullptr);
    GDALTranslateOptionsFree(topts);
    ASSERT_NE(cog, nullptr);
    GDALClose(cog);
    GDALClose(src);
  }
  GDALDatasetUniquePtr cog(GDALDataset::Open(cog_path.c_str(), GDAL_OF_RASTER));
  ASSERT_NE(cog, nullptr);
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  size_t jpeg_tiles = 0;
  for (int zoom : {14, 13}) {
    double ours_error = 0, cog_error = 0;
    size_t count = 0;
    for (const StoredTile& tile : ReadLevel(options.output, zoom)) {
      Pixels ours = DecodeToPixels(tile.bytes, 3, std::nullopt);
      Pixels reference = GdalWarpTile(rgb, {"-r", "bilinear"}, tms, tile.id, 3);
      Pixels theirs = CogWindow(*cog, tms, tile.id, zoom == 14 ? -1 : 0);
      if (*codec::DetectCodec(tile.bytes) == codec::CodecId::kJpeg) ++jpeg_tiles;
      // Compare where all three are fully covered, away from the data edge.
      std::vector<uint8_t> mask = InteriorMask(ours, reference, 256, 2, 3);
      for (size_t p = 0; p < theirs.alpha.size(); ++p) {
        if (theirs.alpha[p] != 255) mask[3 * p] = mask[3 * p + 1] = mask[3 * p + 2] = 0;
      }
      test::ImageDifference a =
          test::CompareSamples<float>(ours.values, reference.values, 255, 0, mask);
      test::ImageDifference b =
          test::CompareSamples<float>(theirs.values, reference.values, 255, 0, mask);
      ASSERT_EQ(a.compared, b.compared);
      ours_error += SquaredErrorSum(a);
      cog_error += SquaredErrorSum(b);
      count += a.compared;
    }
    ASSERT_GT(count, 50000u) << "zoom " << zoom;
    const double ours_psnr = Psnr(ours_error, count);
    const double cog_psnr = Psnr(cog_error, count);
    std::cerr << "zoom " << zoom << ": flatpyramid " << ours_psnr << " dB, GDAL COG " << cog_psnr
              << " dB against gdalwarp (" << count << " samples)\n";
    if (zoom == 14) {
      EXPECT_GE(jpeg_tiles, 9u);
      EXPECT_GE(ours_psnr, cog_psnr - 0.5);
    } else {
      EXPECT_GE(ours_psnr, cog_psnr);
    }
  }
}

TEST(BuildPyramidTest, Int16DemBaseTilesMatchGdalwarpAndKeepNodata) {
  TempDir dir;
  BuildOptions options;
  options.inputs = {DataPath("elev.tif")};
  options.output = dir.Path("elev.fpyr");
  options.max_zoom = 9;  // Two levels finer than the source, for more samples.
  options.min_zoom = 7;
  options.max_error_pixels = 0;
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  const PyramidMetadata& m = result->metadata;
  EXPECT_EQ(m.codec(), "elevation");
  EXPECT_EQ(m.pixel_type(), INT16);
  EXPECT_EQ(m.band_count(), 1u);
  EXPECT_FALSE(m.has_alpha());
  ASSERT_TRUE(m.has_nodata());
  EXPECT_EQ(m.nodata(), -32768.0);
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  size_t compared = 0;
  for (const StoredTile& tile : ReadLevel(options.output, m.max_zoom())) {
    Pixels ours = DecodeToPixels(tile.bytes, 1, m.nodata());
    Pixels gdal =
        GdalWarpTile(DataPath("elev.tif"), {"-r", "bilinear", "-et", "0"}, tms, tile.id, 1);
    std::vector<uint8_t> mask = InteriorMask(ours, gdal, 256, 2, 1);
    test::ImageDifference d =
        test::CompareSamples<float>(ours.values, gdal.values, 1000, 1e-3, mask);
    EXPECT_LE(d.max_abs_error, 1e-3) << tile.id.x << "," << tile.id.y;
    compared += d.compared;
  }
  EXPECT_GT(compared, 10000u);
}

TEST(BuildPyramidTest, Etopo20WithSourceSrsMatchesGdalwarpOnWorldCrs84Quad) {
  TempDir dir;
  BuildOptions options;
  options.inputs = {DataPath("etopo20.cdf")};
  options.output = dir.Path("etopo.fpyr");
  options.source_srs = "EPSG:4326";
  options.tile_matrix_set = TileMatrixSetId::kWorldCRS84Quad;
  options.max_zoom = 2;
  options.max_error_pixels = 0;
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->metadata.pixel_type(), FLOAT32);
  EXPECT_EQ(result->metadata.nodata(), static_cast<double>(static_cast<float>(-1e34)));
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WorldCRS84Quad();
  // The 20..380 grid covers the globe: longitudes beyond 180 wrap west of the antimeridian
  // (gdalwarp does the same with --config CENTER_LONG 200), so all 8 x 4 tiles hold data.
  std::vector<StoredTile> tiles = ReadLevel(options.output, 2);
  EXPECT_EQ(tiles.size(), 32u);
  CPLSetConfigOption("CENTER_LONG", "200.1666665");
  size_t compared = 0;
  for (const StoredTile& tile : tiles) {
    // The tile holding the seam (longitude 20.17): gdalwarp reads the whole source width
    // for it and widens its kernel; we warp each side of the seam on its own.
    if (tile.id.x == 4) continue;
    Pixels ours = DecodeToPixels(tile.bytes, 1, result->metadata.nodata());
    Pixels gdal =
        GdalWarpTile(DataPath("etopo20.cdf"), {"-s_srs", "EPSG:4326", "-r", "bilinear", "-et", "0"},
                     tms, tile.id, 1);
    std::vector<uint8_t> mask = InteriorMask(ours, gdal, 256, 2, 1);
    test::ImageDifference d =
        test::CompareSamples<float>(ours.values, gdal.values, 10000, 1e-3, mask);
    EXPECT_LE(d.max_abs_error, 1e-3) << tile.id.x << "," << tile.id.y;
    compared += d.compared;
  }
  CPLSetConfigOption("CENTER_LONG", nullptr);
  EXPECT_GT(compared, 1500000u);
}

// WriteConstant writes a `width` x `height` EPSG:3857 raster of `value` whose top-left
// corner is (x, y) with pixels of `resolution`.
std::string WriteConstant(const TempDir& dir, const std::string& name, double x, double y,
                          double resolution, int width, int height, double value) {
  test::SyntheticRasterSpec spec;
  spec.width = width;
  spec.height = height;
  spec.srs = "EPSG:3857";
  spec.geotransform = {x, resolution, 0, y, 0, -resolution};
  spec.pattern = test::SyntheticPattern::kConstant;
  spec.constant = value;
  absl::StatusOr<GDALDatasetUniquePtr> ds = test::MakeSyntheticRaster(spec);
  EXPECT_TRUE(ds.ok());
  const std::string path = dir.Path(name);
  EXPECT_TRUE(test::WriteRaster(**ds, path).ok());
  return path;
}

TEST(BuildPyramidTest, MosaicsInputsLaterOnTopAndStoresIdenticalTilesOnce) {
  TempDir dir;
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  const geo::Bounds tile = tms.TileBounds({4, 5, 6});
  const double res = tms.Resolution(4);
  // 2 x 2 tiles of 10, then the right half of the first tile row overwritten with 200.
  const std::string under =
      WriteConstant(dir, "under.tif", tile.min_x, tile.max_y, res, 512, 512, 10);
  const std::string over =
      WriteConstant(dir, "over.tif", tile.min_x + 128 * res, tile.max_y, res, 128, 256, 200);
  BuildOptions options;
  options.inputs = {under, over};
  options.output = dir.Path("mosaic.fpyr");
  options.min_zoom = 4;
  options.max_zoom = 4;
  options.resampling = Resampling::kNearest;
  options.codec = TileCodec::kPng;
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  std::vector<StoredTile> tiles = ReadLevel(options.output, 4);
  ASSERT_EQ(tiles.size(), 4u);
  EXPECT_EQ(tiles[0].id.x, 5u);
  EXPECT_EQ(tiles[0].id.y, 6u);
  Pixels mixed = DecodeToPixels(tiles[0].bytes, 1, std::nullopt);
  EXPECT_EQ(mixed.values[100 * 256 + 10], 10);
  EXPECT_EQ(mixed.values[100 * 256 + 200], 200);
  EXPECT_EQ(mixed.alpha[100 * 256 + 200], 255);
  // The three uniform tiles of 10 are stored once.
  const Level& level = result->metadata.levels(0);
  EXPECT_EQ(level.tile_count(), 4u);
  EXPECT_EQ(level.unique_tile_count(), 2u);
  absl::StatusOr<std::unique_ptr<storage::Reader>> reader = storage::Reader::Open(options.output);
  ASSERT_TRUE(reader.ok());
  const uint32_t section = *(*reader)->FindSection("z4");
  EXPECT_EQ((*reader)->ValueRefAt(section, 1).offset, (*reader)->ValueRefAt(section, 2).offset);
  EXPECT_EQ((*reader)->ValueRefAt(section, 1).offset, (*reader)->ValueRefAt(section, 3).offset);
  EXPECT_EQ((*reader)->user_metadata_type(), "flatpyramid.pyramid.PyramidMetadata");
  EXPECT_TRUE((*reader)->sealed());
}

TEST(BuildPyramidTest, MosaicGapsAreTransparentAndTheFinerInputIsNotResampled) {
  TempDir dir;
  // Two disjoint crops of Landsat (no nodata, no alpha), the right one at half resolution.
  const std::string left =
      Translate(DataPath("L7_ETMs.tif"), {"-srcwin", "0", "0", "90", "352"}, dir.Path("left.tif"));
  const std::string right =
      Translate(DataPath("L7_ETMs.tif"),
                {"-srcwin", "259", "0", "90", "352", "-outsize", "50%", "50%", "-r", "average"},
                dir.Path("right.tif"));
  BuildOptions options;
  options.inputs = {left, right};
  options.output = dir.Path("gap.fpyr");
  options.bands = {3, 2, 1};
  options.codec = TileCodec::kPng;
  options.min_zoom = 14;
  options.max_zoom = 14;
  options.max_error_pixels = 0;
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string left_rgb = SelectBands(left, {3, 2, 1}, dir.Path("left_rgb.vrt"));
  const std::string right_rgb = SelectBands(right, {3, 2, 1}, dir.Path("right_rgb.vrt"));
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  std::vector<StoredTile> tiles = ReadLevel(options.output, 14);
  ASSERT_FALSE(tiles.empty());
  const Level& level = result->metadata.levels(0);
  size_t expected_tiles = 0, left_compared = 0, gap_pixels = 0;
  size_t stored = 0;
  for (uint32_t y = level.min_y(); y <= level.max_y(); ++y) {
    for (uint32_t x = level.min_x(); x <= level.max_x(); ++x) {
      const geo::TileId id{14, x, y};
      Pixels a = GdalWarpTile(left_rgb, {"-r", "bilinear", "-et", "0"}, tms, id, 3);
      Pixels b = GdalWarpTile(right_rgb, {"-r", "bilinear", "-et", "0"}, tms, id, 3);
      bool covered = false;
      for (size_t p = 0; p < a.alpha.size(); ++p) covered |= a.alpha[p] > 0 || b.alpha[p] > 0;
      expected_tiles += covered;
      const StoredTile* tile = nullptr;
      for (const StoredTile& t : tiles) {
        if (t.id.x == x && t.id.y == y) tile = &t;
      }
      // A tile in the gap between the inputs holds no data: it is not stored.
      EXPECT_EQ(tile != nullptr, covered) << x << "," << y;
      if (tile == nullptr) continue;
      ++stored;
      Pixels ours = DecodeToPixels(tile->bytes, 3, std::nullopt);
      // The left input at full resolution: equal to gdalwarp of it alone.
      std::vector<uint8_t> mask = InteriorMask(ours, a, 256, 2, 3);
      test::ImageDifference d = test::CompareSamples<float>(ours.values, a.values, 255, 1.0, mask);
      EXPECT_LE(d.max_abs_error, 1.0) << x << "," << y;
      left_compared += d.compared;
      // Away from both inputs (2 pixels of margin) the mosaic is transparent.
      for (int row = 0; row < 256; ++row) {
        for (int col = 0; col < 256; ++col) {
          bool near_data = false;
          for (int dy = -2; dy <= 2 && !near_data; ++dy) {
            for (int dx = -2; dx <= 2 && !near_data; ++dx) {
              const int r = std::min(std::max(row + dy, 0), 255);
              const int c = std::min(std::max(col + dx, 0), 255);
              near_data = a.alpha[r * 256 + c] > 0 || b.alpha[r * 256 + c] > 0;
            }
          }
          if (near_data) continue;
          ++gap_pixels;
          ASSERT_EQ(ours.alpha[row * 256 + col], 0)
              << x << "," << y << " pixel " << col << "," << row;
        }
      }
    }
  }
  EXPECT_EQ(stored, tiles.size());
  EXPECT_EQ(expected_tiles, tiles.size());
  EXPECT_GT(left_compared, 50000u);
  EXPECT_GT(gap_pixels, 50000u);
}

// SameTiles expects two pyramids to hold the same sections, keys and tile bytes.
void ExpectSameTiles(const std::string& a_path, const std::string& b_path) {
  absl::StatusOr<std::unique_ptr<storage::Reader>> a = storage::Reader::Open(a_path);
  absl::StatusOr<std::unique_ptr<storage::Reader>> b = storage::Reader::Open(b_path);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ((*a)->section_count(), (*b)->section_count());
  for (uint32_t s = 0; s < (*a)->section_count(); ++s) {
    ASSERT_EQ((*a)->section_name(s), (*b)->section_name(s));
    ASSERT_EQ((*a)->entry_count(s), (*b)->entry_count(s)) << (*a)->section_name(s);
    for (uint64_t i = 0; i < (*a)->entry_count(s); ++i) {
      ASSERT_EQ((*a)->KeyAt(s, i), (*b)->KeyAt(s, i));
      ASSERT_EQ((*a)->ValueAt(s, i), (*b)->ValueAt(s, i)) << (*a)->section_name(s) << " #" << i;
      ASSERT_EQ((*a)->ValueRefAt(s, i).offset, (*b)->ValueRefAt(s, i).offset);
    }
  }
  PyramidMetadata ma, mb;
  ASSERT_TRUE(ma.ParseFromString(std::string((*a)->user_metadata())));
  ASSERT_TRUE(mb.ParseFromString(std::string((*b)->user_metadata())));
  ASSERT_EQ(ma.levels_size(), mb.levels_size());
  for (int i = 0; i < ma.levels_size(); ++i) {
    EXPECT_EQ(ma.levels(i).SerializeAsString(), mb.levels(i).SerializeAsString()) << i;
  }
}

// ReadMetadata is the sealed PyramidMetadata of `path`.
PyramidMetadata ReadMetadata(const std::string& path) {
  PyramidMetadata metadata;
  absl::StatusOr<std::unique_ptr<storage::Reader>> reader = storage::Reader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return metadata;
  EXPECT_EQ((*reader)->user_metadata_type(), "flatpyramid.pyramid.PyramidMetadata");
  EXPECT_TRUE(metadata.ParseFromString(std::string((*reader)->user_metadata())));
  return metadata;
}

// ExpectResumeAfterKill9GivesACleanBuild kills a build after its second unit's commit point
// (with the third appended, uncommitted), resumes it, and compares with a clean build.
void ExpectResumeAfterKill9GivesACleanBuild(std::optional<Resampling> overview_resampling) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir);
  options.max_zoom = 15;
  options.min_zoom = 8;
  options.overview_resampling = overview_resampling;
  options.creation_options = {{"max_zoom", "15"}, {"min_zoom", "8"}};
  options.output = dir.Path("clean.fpyr");
  absl::StatusOr<BuildResult> clean = BuildPyramid(options);
  ASSERT_TRUE(clean.ok()) << clean.status();
  ASSERT_GE(clean->units, 4u);

  options.output = dir.Path("killed.fpyr");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Commit after unit 2, then die by SIGKILL with unit 3 appended but not committed.
    BuildOptions killed = options;
    killed.commit_interval = absl::Hours(1);
    killed.commit_after_units = 2;
    killed.progress = [](const BuildProgress& p) {
      if (p.units_done == 3) raise(SIGKILL);
    };
    (void)BuildPyramid(killed);
    _exit(0);
  }
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wait_status));
  ASSERT_EQ(WTERMSIG(wait_status), SIGKILL);
  std::string first_created_utc;
  {
    absl::StatusOr<std::unique_ptr<storage::Reader>> partial = storage::Reader::Open(
        options.output, storage::ReaderOptions{/*allow_being_written=*/true, nullptr});
    ASSERT_TRUE(partial.ok()) << partial.status();
    EXPECT_FALSE((*partial)->sealed());
    EXPECT_EQ((*partial)->user_metadata_type(), "flatpyramid.pyramid.internal.BuildState");
    internal::BuildState state;
    ASSERT_TRUE(state.ParseFromString(std::string((*partial)->user_metadata())));
    first_created_utc = state.metadata().created_utc();
    ASSERT_FALSE(first_created_utc.empty());
  }
  // Without --resume the killed file is in the way; with it the build completes.
  EXPECT_EQ(BuildPyramid(options).status().code(), absl::StatusCode::kAlreadyExists);
  options.resume = true;
  // What the tool would add for this run must not reach the pyramid: the first run's
  // options stand.
  options.creation_options["resume"] = "true";
  absl::SleepFor(absl::Seconds(1));  // A later created_utc, were it taken from this run.
  absl::StatusOr<BuildResult> resumed = BuildPyramid(options);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->tiles_written, clean->tiles_written);
  ExpectSameTiles(dir.Path("clean.fpyr"), options.output);
  // Sealed: no side file (.resume-*, .spill-*) is left.
  glob_t side_files;
  EXPECT_EQ(glob((options.output + ".*").c_str(), 0, nullptr, &side_files), GLOB_NOMATCH);
  globfree(&side_files);
  // The whole sealed metadata is the clean build's, but for its creation time: the first
  // (killed) run's.
  PyramidMetadata clean_metadata = ReadMetadata(dir.Path("clean.fpyr"));
  PyramidMetadata resumed_metadata = ReadMetadata(options.output);
  EXPECT_EQ(resumed_metadata.created_utc(), first_created_utc);
  EXPECT_EQ(resumed_metadata.creation_options().count("resume"), 0u);
  clean_metadata.clear_created_utc();
  resumed_metadata.clear_created_utc();
  EXPECT_EQ(clean_metadata.DebugString(), resumed_metadata.DebugString());  // Maps sorted.
  // A finished pyramid of the same build is nothing to do; with other options it is refused.
  absl::StatusOr<BuildResult> again = BuildPyramid(options);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->resume_outcome, ResumeOutcome::kAlreadyFinished);
  EXPECT_EQ(again->tiles_written, clean->tiles_written);
  options.quality = 60;
  EXPECT_EQ(BuildPyramid(options).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(BuildPyramidTest, ResumeAfterKill9GivesTheTilesAndMetadataOfACleanBuild) {
  ExpectResumeAfterKill9GivesACleanBuild(std::nullopt);
}

TEST(BuildPyramidTest, ResumeAfterKill9WithKernelOverviewsGivesACleanBuild) {
  // The units' root tiles are in the spill file, synced at the commit point.
  ExpectResumeAfterKill9GivesACleanBuild(Resampling::kCubic);
}

TEST(BuildPyramidTest, ASecondBuildOfARunningBuildsOutputFailsAndLeavesItAlone) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir);
  options.max_zoom = 15;
  options.threads = 1;
  options.commit_interval = absl::Hours(1);
  options.commit_after_units = 1;
  std::promise<void> committed, second_tried;
  std::shared_future<void> second_tried_future = second_tried.get_future().share();
  bool signalled = false;
  options.progress = [&](const BuildProgress& p) {
    if (p.units_done == 1 && !signalled) {
      signalled = true;
      committed.set_value();
      second_tried_future.wait();
    }
  };
  absl::StatusOr<BuildResult> first = absl::UnknownError("not run");
  std::thread running([&] { first = BuildPyramid(options); });
  committed.get_future().wait();
  const std::string side_file = options.output + ".resume-1";
  EXPECT_EQ(access(side_file.c_str(), F_OK), 0);

  BuildOptions second = options;
  second.progress = nullptr;
  second.overwrite = true;
  absl::Status status = BuildPyramid(second).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_NE(status.message().find("another build"), absl::string_view::npos) << status;
  second.overwrite = false;
  second.resume = true;
  status = BuildPyramid(second).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  // The running build's commit point and its side file are untouched.
  EXPECT_EQ(access(side_file.c_str(), F_OK), 0);
  second_tried.set_value();
  running.join();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(ReadMetadata(options.output).levels_size(), 6);

  options.progress = nullptr;
  options.output = dir.Path("alone.fpyr");
  ASSERT_TRUE(BuildPyramid(options).ok());
  ExpectSameTiles(options.output, dir.Path("landsat.fpyr"));
}

TEST(BuildPyramidTest, ResumeWithOtherOptionsIsRefused) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir);
  options.max_zoom = 15;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    BuildOptions killed = options;
    killed.threads = 1;
    killed.commit_after_units = 1;
    killed.progress = [](const BuildProgress& p) {
      if (p.units_done == 1) raise(SIGKILL);
    };
    (void)BuildPyramid(killed);
    _exit(0);
  }
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  options.resume = true;
  options.quality = 60;
  absl::Status status = BuildPyramid(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find("same flags"), absl::string_view::npos) << status;
}

TEST(BuildPyramidTest, ErrorsNameTheProblemAndTheFix) {
  TempDir dir;
  BuildOptions options;
  options.output = dir.Path("out.fpyr");

  options.inputs = {dir.Path("missing.tif")};
  absl::Status status = BuildPyramid(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_NE(status.message().find("missing.tif"), absl::string_view::npos) << status;

  options.inputs = {DataPath("etopo20.cdf")};
  status = BuildPyramid(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("BuildOptions::source_srs"), absl::string_view::npos) << status;

  // A CRS PROJ cannot take to WGS84: geo's footprint error names the option, not geo's argument.
  options.inputs = {DataPath("elev.tif")};
  options.source_srs = "LOCAL_CS[\"arbitrary\"]";
  status = BuildPyramid(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::EndsWith(status.message(),
                             "; check the CRS or give another in BuildOptions::source_srs"))
      << status;
  options.source_srs.clear();

  // Entirely north of WebMercator's 85.05 degree limit.
  test::SyntheticRasterSpec arctic;
  arctic.srs = "EPSG:4326";
  arctic.geotransform = {10, 0.01, 0, 89, 0, -0.01};
  absl::StatusOr<GDALDatasetUniquePtr> ds = test::MakeSyntheticRaster(arctic);
  ASSERT_TRUE(ds.ok());
  ASSERT_TRUE(test::WriteRaster(**ds, dir.Path("arctic.tif")).ok());
  options.inputs = {dir.Path("arctic.tif")};
  status = BuildPyramid(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange) << status;
  EXPECT_NE(status.message().find("WorldCRS84Quad"), absl::string_view::npos) << status;

  options.inputs = {DataPath("L7_ETMs.tif")};
  status = BuildPyramid(options).status();  // Six bands cannot be JPEG tiles.
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("BuildOptions::bands"), absl::string_view::npos) << status;

  options.bands = {1};
  options.max_zoom = 11;
  ASSERT_TRUE(BuildPyramid(options).ok());
  status = BuildPyramid(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_NE(status.message().find("BuildOptions::overwrite"), absl::string_view::npos) << status;
  options.overwrite = true;
  EXPECT_TRUE(BuildPyramid(options).ok());
}

TEST(BuildPyramidTest, SourceAlphaBandBecomesTransparencyAndUint16KeepsFullRange) {
  TempDir dir;
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  const geo::Bounds tile = tms.TileBounds({5, 10, 12});
  const double res = tms.Resolution(5);
  test::SyntheticRasterSpec spec;
  spec.width = 256;
  spec.height = 256;
  spec.bands = 4;
  spec.type = GDT_UInt16;
  spec.srs = "EPSG:3857";
  spec.geotransform = {tile.min_x, res, 0, tile.max_y, 0, -res};
  spec.pattern = test::SyntheticPattern::kConstant;
  spec.constant = 40000;
  absl::StatusOr<GDALDatasetUniquePtr> ds = test::MakeSyntheticRaster(spec);
  ASSERT_TRUE(ds.ok());
  // Band 4 is alpha: opaque on the left half, transparent on the right half.
  GDALRasterBand* alpha = (*ds)->GetRasterBand(4);
  ASSERT_EQ(alpha->SetColorInterpretation(GCI_AlphaBand), CE_None);
  std::vector<uint16_t> row(256);
  for (int x = 0; x < 256; ++x) row[x] = x < 128 ? 65535 : 0;
  for (int y = 0; y < 256; ++y) {
    ASSERT_EQ(
        alpha->RasterIO(GF_Write, 0, y, 256, 1, row.data(), 256, 1, GDT_UInt16, 0, 0, nullptr),
        CE_None);
  }
  const std::string path = dir.Path("rgba16.tif");
  ASSERT_TRUE(test::WriteRaster(**ds, path).ok());

  BuildOptions options;
  options.inputs = {path};
  options.output = dir.Path("rgba16.fpyr");
  options.min_zoom = 5;
  options.max_zoom = 5;
  options.resampling = Resampling::kNearest;
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->metadata.codec(), "png");  // uint16 imagery: PNG with alpha.
  EXPECT_EQ(result->metadata.pixel_type(), UINT16);
  EXPECT_EQ(result->metadata.band_count(), 4u);  // 3 data bands + alpha.
  std::vector<StoredTile> tiles = ReadLevel(options.output, 5);
  ASSERT_EQ(tiles.size(), 1u);
  absl::StatusOr<codec::Image> image = codec::Decode(tiles[0].bytes);
  ASSERT_TRUE(image.ok()) << image.status();
  ASSERT_EQ(image->bands(), 4);
  const uint16_t* px = reinterpret_cast<const uint16_t*>(image->data());
  const size_t left = (100 * 256 + 20) * 4;
  const size_t right = (100 * 256 + 200) * 4;
  EXPECT_EQ(px[left + 0], 40000);
  EXPECT_EQ(px[left + 2], 40000);
  EXPECT_EQ(px[left + 3], 65535);
  EXPECT_EQ(px[right + 3], 0);
}

// WriteBytesTile writes a 256 x 256 3-band byte raster exactly over tile 5/10/12 with
// `fill(band, col, row)` as GeoTIFF `name`; with per-band `nodata`, returns a VRT over it
// that carries them.
template <typename Fill>
std::string WriteBytesTile(const TempDir& dir, const std::string& name,
                           const std::vector<double>& nodata, Fill fill,
                           GDALDatasetUniquePtr* keep_open = nullptr) {
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  const geo::Bounds tile = tms.TileBounds({5, 10, 12});
  const double res = tms.Resolution(5);
  test::SyntheticRasterSpec spec;
  spec.bands = 3;
  spec.srs = "EPSG:3857";
  spec.geotransform = {tile.min_x, res, 0, tile.max_y, 0, -res};
  absl::StatusOr<GDALDatasetUniquePtr> ds = test::MakeSyntheticRaster(spec);
  EXPECT_TRUE(ds.ok());
  std::vector<uint8_t> row(256);
  for (int b = 0; b < 3; ++b) {
    GDALRasterBand* band = (*ds)->GetRasterBand(b + 1);
    for (int y = 0; y < 256; ++y) {
      for (int x = 0; x < 256; ++x) row[x] = static_cast<uint8_t>(fill(b, x, y));
      EXPECT_EQ(band->RasterIO(GF_Write, 0, y, 256, 1, row.data(), 256, 1, GDT_Byte, 0, 0, nullptr),
                CE_None);
    }
  }
  const std::string path = dir.Path(name);
  EXPECT_TRUE(test::WriteRaster(**ds, path).ok());
  if (keep_open != nullptr) *keep_open = std::move(*ds);
  if (nodata.empty()) return path;
  // GeoTIFF holds one nodata value for all bands (without .aux.xml): a VRT over it holds one
  // per band.
  const std::string vrt_path = path + ".vrt";
  {
    GDALDatasetUniquePtr tif(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
    GDALDatasetUniquePtr vrt(GetGDALDriverManager()->GetDriverByName("VRT")->CreateCopy(
        vrt_path.c_str(), tif.get(), false, nullptr, nullptr, nullptr));
    EXPECT_NE(vrt, nullptr);
    for (int b = 0; b < 3; ++b) vrt->GetRasterBand(b + 1)->SetNoDataValue(nodata[b]);
  }
  return vrt_path;
}

TEST(BuildPyramidTest, EachBandHonoursItsOwnNodata) {
  TempDir dir;
  // Nodata 0, 1, 2 for bands 1, 2, 3. Rows 0..63: band 2 is 0 (valid for band 2, band 1's
  // nodata); rows 64..127: every band at its nodata; rows 128..191: band 1 alone at nodata.
  const std::vector<double> nodata = {0, 1, 2};
  const std::string path = WriteBytesTile(dir, "nodata3.tif", nodata, [](int b, int, int y) {
    if (y < 64) return b == 1 ? 0 : 50 + 10 * b;
    if (y < 128) return b;
    if (y < 192) return b == 0 ? 0 : 50 + 10 * b;
    return 50 + 10 * b;
  });
  BuildOptions options;
  options.inputs = {path};
  options.output = dir.Path("nodata3.fpyr");
  options.min_zoom = 5;
  options.max_zoom = 5;
  options.resampling = Resampling::kNearest;
  options.codec = TileCodec::kPng;
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  std::vector<StoredTile> tiles = ReadLevel(options.output, 5);
  ASSERT_EQ(tiles.size(), 1u);
  Pixels ours = DecodeToPixels(tiles[0].bytes, 3, std::nullopt);
  Pixels gdal = GdalWarpTile(path, {"-r", "near", "-et", "0"},
                             geo::TileMatrixSet::WebMercatorQuad(), {5, 10, 12}, 3);
  EXPECT_EQ(ours.alpha, gdal.alpha);
  for (size_t p = 0; p < ours.alpha.size(); ++p) {
    if (gdal.alpha[p] == 0) continue;
    for (int b = 0; b < 3; ++b) ASSERT_EQ(ours.values[3 * p + b], gdal.values[3 * p + b]) << p;
  }
  // Independently of GDAL: a 0 in band 2 is data; all bands at nodata is no data.
  EXPECT_EQ(ours.alpha[10 * 256 + 10], 255);
  EXPECT_EQ(ours.values[3 * (10 * 256 + 10) + 1], 0);
  EXPECT_EQ(ours.alpha[100 * 256 + 10], 0);
  EXPECT_EQ(ours.alpha[220 * 256 + 10], 255);
}

TEST(BuildPyramidTest, PerDatasetMaskBecomesTransparency) {
  TempDir dir;
  for (const bool internal : {true, false}) {
    SCOPED_TRACE(internal ? "internal mask" : ".msk side file");
    // A per-dataset mask hiding the right half of the tile (GDAL writes it into the GeoTIFF,
    // or as <file>.msk with GDAL_TIFF_INTERNAL_MASK=NO).
    CPLSetConfigOption("GDAL_TIFF_INTERNAL_MASK", internal ? "YES" : "NO");
    const std::string name = internal ? "masked.tif" : "masked_msk.tif";
    GDALDatasetUniquePtr ds;
    WriteBytesTile(
        dir, "unused_" + name, {}, [](int b, int x, int) { return 30 + b + x / 4; }, &ds);
    GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
    GDALDatasetUniquePtr tif(
        gtiff->CreateCopy(dir.Path(name).c_str(), ds.get(), false, nullptr, nullptr, nullptr));
    ASSERT_NE(tif, nullptr);
    ASSERT_EQ(tif->CreateMaskBand(GMF_PER_DATASET), CE_None);
    GDALRasterBand* mask = tif->GetRasterBand(1)->GetMaskBand();
    std::vector<uint8_t> row(256);
    for (int x = 0; x < 256; ++x) row[x] = x < 128 ? 255 : 0;
    for (int y = 0; y < 256; ++y) {
      ASSERT_EQ(mask->RasterIO(GF_Write, 0, y, 256, 1, row.data(), 256, 1, GDT_Byte, 0, 0, nullptr),
                CE_None);
    }
    tif.reset();
    CPLSetConfigOption("GDAL_TIFF_INTERNAL_MASK", nullptr);
    if (!internal) {
      ASSERT_EQ(access(dir.Path(name + ".msk").c_str(), F_OK), 0);
    }

    BuildOptions options;
    options.inputs = {dir.Path(name)};
    options.output = dir.Path(name + ".fpyr");
    options.min_zoom = 5;
    options.max_zoom = 5;
    options.resampling = Resampling::kNearest;
    absl::StatusOr<BuildResult> result = BuildPyramid(options);
    ASSERT_TRUE(result.ok()) << result.status();
    std::vector<StoredTile> tiles = ReadLevel(options.output, 5);
    ASSERT_EQ(tiles.size(), 1u);
    // Partly masked: PNG with alpha (an opaque tile would be JPEG).
    EXPECT_EQ(*codec::DetectCodec(tiles[0].bytes), codec::CodecId::kPng);
    Pixels ours = DecodeToPixels(tiles[0].bytes, 3, std::nullopt);
    Pixels gdal = GdalWarpTile(dir.Path(name), {"-r", "near", "-et", "0"},
                               geo::TileMatrixSet::WebMercatorQuad(), {5, 10, 12}, 3);
    EXPECT_EQ(ours.alpha, gdal.alpha);
    for (int y = 0; y < 256; ++y) {
      for (int x = 0; x < 256; ++x) {
        const size_t p = static_cast<size_t>(y) * 256 + x;
        ASSERT_EQ(ours.alpha[p], x < 128 ? 255 : 0) << x << "," << y;
        if (x < 128) {
          ASSERT_EQ(ours.values[3 * p + 2], 32 + x / 4) << x << "," << y;
        }
      }
    }
  }
}

// KernelOverviewCase builds a 2048 x 2048 RGB gradient (wrapping 255 -> 0: sharp edges)
// laid exactly on the zoom 6 tiles 16..23 with nearest base resampling, so the base level is
// the raster itself, and overviews down to zoom 3 with `overview`: 16 units of 2 x 2 tiles
// (zoom 5 inside the units, zooms 4 and 3 from the units' spilled root tiles).
TEST(BuildPyramidTest, KernelOverviewsEqualGdalsWholeImageOverviewsWithoutSeams) {
  TempDir dir;
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  const geo::Bounds corner = tms.TileBounds({6, 16, 16});
  test::SyntheticRasterSpec spec;
  spec.width = 2048;
  spec.height = 2048;
  spec.bands = 3;
  spec.srs = "EPSG:3857";
  spec.geotransform = {corner.min_x, tms.Resolution(6), 0, corner.max_y, 0, -tms.Resolution(6)};
  absl::StatusOr<GDALDatasetUniquePtr> raster = test::MakeSyntheticRaster(spec);
  ASSERT_TRUE(raster.ok());
  const std::string path = dir.Path("gradient.tif");
  ASSERT_TRUE(test::WriteRaster(**raster, path).ok());
  for (const char* kernel : {"bilinear", "cubic", "lanczos"}) {
    SCOPED_TRACE(kernel);
    BuildOptions options;
    options.inputs = {path};
    options.output = dir.Path(absl::StrCat(kernel, ".fpyr"));
    options.min_zoom = 3;
    options.max_zoom = 6;
    options.resampling = Resampling::kNearest;
    options.overview_resampling = *ParseResampling(kernel);
    options.codec = TileCodec::kPng;
    options.threads = 2;
    absl::StatusOr<BuildResult> result = BuildPyramid(options);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->units, 16u);
    EXPECT_EQ(result->metadata.overview_resampling(), kernel);
    // GDAL's overviews of the raw base, level by level (each from the previous one, as the
    // pyramid forms them), per band.
    std::vector<GDALDatasetUniquePtr> levels;
    levels.push_back(std::move(*raster));
    raster = test::MakeSyntheticRaster(spec);
    GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
    for (int z = 5; z >= 3; --z) {
      const int n = 256 << (z - 3);
      levels.emplace_back(mem->Create("", n, n, 3, GDT_Byte, nullptr));
      for (int b = 1; b <= 3; ++b) {
        GDALRasterBandH dst = levels.back()->GetRasterBand(b);
        ASSERT_EQ(GDALRegenerateOverviews(levels[levels.size() - 2]->GetRasterBand(b), 1, &dst,
                                          absl::AsciiStrToUpper(kernel).c_str(), nullptr, nullptr),
                  CE_None);
      }
    }
    size_t compared = 0;
    for (int z = 6; z >= 3; --z) {
      GDALDataset& reference = *levels[6 - z];
      const uint32_t first = 16u >> (6 - z);
      std::vector<StoredTile> tiles = ReadLevel(options.output, z);
      ASSERT_EQ(tiles.size(), (8u >> (6 - z)) * (8u >> (6 - z))) << z;
      for (const StoredTile& tile : tiles) {
        Pixels ours = DecodeToPixels(tile.bytes, 3, std::nullopt);
        std::vector<uint8_t> expected(256 * 256 * 3);
        ASSERT_EQ(reference.RasterIO(GF_Read, (tile.id.x - first) * 256, (tile.id.y - first) * 256,
                                     256, 256, expected.data(), 256, 256, GDT_Byte, 3, nullptr, 3,
                                     3 * 256, 1, nullptr),
                  CE_None);
        int max_error = 0;
        for (size_t p = 0; p < ours.alpha.size(); ++p) {
          if (ours.alpha[p] != 255) continue;  // The data's outer edge fades out.
          for (int b = 0; b < 3; ++b) {
            max_error =
                std::max(max_error,
                         static_cast<int>(std::fabs(ours.values[3 * p + b] - expected[3 * p + b])));
            ++compared;
          }
        }
        // The base is the raster; every overview is GDAL's within rounding, unit boundaries
        // (every 512 base pixels) included. Lanczos' negative lobes amplify the 1-level
        // rounding differences of the levels below: 2 at the third level down.
        const int tolerance = z == 6 ? 0 : (std::string(kernel) == "lanczos" && z == 3 ? 2 : 1);
        EXPECT_LE(max_error, tolerance) << "tile " << z << "/" << tile.id.x << "/" << tile.id.y;
      }
    }
    EXPECT_GT(compared, 3u * (2048 * 2048 + 900 * 900));
    options.threads = 1;
    options.output = dir.Path(absl::StrCat(kernel, "_1.fpyr"));
    ASSERT_TRUE(BuildPyramid(options).ok());
    ExpectSameTiles(options.output, dir.Path(absl::StrCat(kernel, ".fpyr")));
  }
}

TEST(BuildPyramidTest, EveryResamplingNameIsAcceptedAndOverviewsFollowModeAndNearest) {
  TempDir dir;
  for (const char* name : {"nearest", "bilinear", "cubic", "lanczos", "average", "mode"}) {
    for (const bool overview : {false, true}) {
      BuildOptions options = LandsatOptions(dir);
      options.min_zoom = 11;
      options.max_zoom = 13;
      if (overview) {
        options.overview_resampling = *ParseResampling(name);
      } else {
        options.resampling = *ParseResampling(name);
      }
      options.output = dir.Path(absl::StrCat(name, overview, ".fpyr"));
      absl::StatusOr<BuildResult> result = BuildPyramid(options);
      ASSERT_TRUE(result.ok()) << name << ": " << result.status();
      const std::string expected_overview =
          overview
              ? name
              : (std::string(name) == "mode" || std::string(name) == "nearest" ? name : "average");
      EXPECT_EQ(result->metadata.overview_resampling(), expected_overview) << name;
      EXPECT_GT(result->metadata.levels(0).tile_count(), 0u) << name;
    }
  }
  BuildOptions options = LandsatOptions(dir);
  options.overview_resampling = Resampling::kCubicSpline;
  absl::Status status = BuildPyramid(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(status.message(),
            "BuildOptions::overview_resampling=cubicspline is not supported: use average, mode, "
            "nearest, bilinear, cubic or lanczos");
}

TEST(BuildPyramidTest, OneThreadAndTwoThreadsWriteTheSameFile) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir);
  options.max_zoom = 15;
  options.threads = 1;
  options.output = dir.Path("one.fpyr");
  ASSERT_TRUE(BuildPyramid(options).ok());
  options.threads = 2;
  options.output = dir.Path("two.fpyr");
  ASSERT_TRUE(BuildPyramid(options).ok());
  ExpectSameTiles(dir.Path("one.fpyr"), dir.Path("two.fpyr"));
}

TEST(BuildPyramidTest, LosslessWebpTilesHoldThePngTilesPixels) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir);
  options.min_zoom = 12;
  options.max_zoom = 13;
  options.codec = TileCodec::kPng;
  options.output = dir.Path("png.fpyr");
  ASSERT_TRUE(BuildPyramid(options).ok());
  options.codec = TileCodec::kWebpLossless;
  options.output = dir.Path("webp.fpyr");
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->metadata.codec(), "webp_lossless");
  for (int zoom : {12, 13}) {
    std::vector<StoredTile> png = ReadLevel(dir.Path("png.fpyr"), zoom);
    std::vector<StoredTile> webp = ReadLevel(options.output, zoom);
    ASSERT_EQ(png.size(), webp.size());
    for (size_t i = 0; i < png.size(); ++i) {
      EXPECT_EQ(*codec::DetectCodec(webp[i].bytes), codec::CodecId::kWebp);
      absl::StatusOr<codec::Image> a = codec::Decode(png[i].bytes);
      absl::StatusOr<codec::Image> b = codec::Decode(webp[i].bytes);
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(a->bands(), 4);
      // An opaque WebP tile decodes without its alpha band; fully transparent pixels may
      // change colour in WebP: compare RGBA of the covered ones.
      const int wb = b->bands();
      size_t differing = 0;
      for (size_t p = 0; p < static_cast<size_t>(256 * 256); ++p) {
        const uint8_t* pa = a->data() + 4 * p;
        const uint8_t* pb = b->data() + wb * p;
        const uint8_t alpha_b = wb == 4 ? pb[3] : 255;
        if (pa[3] == 0 && alpha_b == 0) continue;
        differing += std::memcmp(pa, pb, 3) != 0 || pa[3] != alpha_b;
      }
      EXPECT_EQ(differing, 0u) << "zoom " << zoom << " tile " << i;
    }
  }
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid

namespace flatpyramid {
namespace pyramid {
namespace {

TEST(BuildPyramidTest, PalettedSourceIsExpandedToRgbTiles) {
  TempDir dir;
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  const geo::Bounds tile = tms.TileBounds({5, 10, 12});
  const double res = tms.Resolution(5);
  test::SyntheticRasterSpec spec;
  spec.srs = "EPSG:3857";
  spec.geotransform = {tile.min_x, res, 0, tile.max_y, 0, -res};
  spec.pattern = test::SyntheticPattern::kConstant;
  absl::StatusOr<GDALDatasetUniquePtr> ds = test::MakeSyntheticRaster(spec);
  ASSERT_TRUE(ds.ok());
  // Palette indices 0..3 in 64-pixel columns: red, green, blue, grey 90.
  GDALRasterBand* band = (*ds)->GetRasterBand(1);
  std::vector<uint8_t> row(256);
  for (int x = 0; x < 256; ++x) row[x] = static_cast<uint8_t>(x / 64);
  for (int y = 0; y < 256; ++y) {
    ASSERT_EQ(band->RasterIO(GF_Write, 0, y, 256, 1, row.data(), 256, 1, GDT_Byte, 0, 0, nullptr),
              CE_None);
  }
  GDALColorTable table;
  const GDALColorEntry colours[4] = {
      {255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {90, 90, 90, 255}};
  for (int i = 0; i < 4; ++i) table.SetColorEntry(i, &colours[i]);
  ASSERT_EQ(band->SetColorTable(&table), CE_None);
  const std::string path = dir.Path("classes.tif");
  ASSERT_TRUE(test::WriteRaster(**ds, path).ok());

  BuildOptions options;
  options.inputs = {path};
  options.output = dir.Path("classes.fpyr");
  options.min_zoom = 5;
  options.max_zoom = 5;
  options.resampling = Resampling::kNearest;
  options.codec = TileCodec::kPng;
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->metadata.band_count(), 4u);  // Red, green, blue + alpha.
  EXPECT_EQ(result->metadata.color_interpretation(0), "Red");
  std::vector<StoredTile> tiles = ReadLevel(options.output, 5);
  ASSERT_EQ(tiles.size(), 1u);
  absl::StatusOr<codec::Image> image = codec::Decode(tiles[0].bytes);
  ASSERT_TRUE(image.ok()) << image.status();
  ASSERT_EQ(image->bands(), 4);
  for (int column = 0; column < 4; ++column) {
    const uint8_t* px = image->data() + (100 * 256 + column * 64 + 20) * 4;
    EXPECT_EQ(px[0], colours[column].c1) << "column " << column;
    EXPECT_EQ(px[1], colours[column].c2) << "column " << column;
    EXPECT_EQ(px[2], colours[column].c3) << "column " << column;
    EXPECT_EQ(px[3], 255) << "column " << column;
  }
}

TEST(BuildPyramidTest, MosaicOfInputsWithOtherBandsIsRefusedNamingTheInput) {
  TempDir dir;
  const std::string rgb = dir.Path("rgb.tif");
  const std::string gray = dir.Path("gray.tif");
  for (const auto& [path, bands] : {std::pair<std::string, int>{rgb, 3}, {gray, 1}}) {
    test::SyntheticRasterSpec spec;
    spec.bands = bands;
    spec.geotransform = {path == rgb ? 10.0 : 10.5, 1.0 / 256, 0, 50, 0, -1.0 / 256};
    absl::StatusOr<GDALDatasetUniquePtr> ds = test::MakeSyntheticRaster(spec);
    ASSERT_TRUE(ds.ok());
    ASSERT_TRUE(test::WriteRaster(**ds, path).ok());
  }
  BuildOptions options;
  options.inputs = {rgb, gray};
  options.output = dir.Path("mosaic.fpyr");
  absl::Status status = BuildPyramid(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), "input " + gray + " has 1 band (Byte) but "))
      << status;
}

TEST(BuildPyramidTest, FarUpsampledBuildIsRefusedSayingHowManyTiles) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir);
  options.min_zoom = 30;
  options.max_zoom = 30;
  absl::Status status = BuildPyramid(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), "the build would write up to ")) << status;
  EXPECT_NE(status.message().find(" levels finer than the source (zoom 1"), absl::string_view::npos)
      << status;
  EXPECT_TRUE(absl::EndsWith(status.message(),
                             "lower BuildOptions::max_zoom, or set "
                             "BuildOptions::allow_large_build to build it anyway"))
      << status;
  EXPECT_FALSE(std::ifstream(options.output).good()) << "nothing may be written";
}

TEST(BuildPyramidTest, ThreadsAreCappedAtFourPerCoreAndNegativeThreadsRefused) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir);
  options.min_zoom = 12;
  options.max_zoom = 13;
  options.threads = 10000;
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->threads,
            static_cast<int>(std::min<uint64_t>(MaxBuildThreads(), result->units)));
  options.threads = -1;
  absl::Status status = BuildPyramid(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "BuildOptions::threads=-1 is invalid: use 1 or more (or leave it unset for one per "
            "core)");
}

TEST(BuildPyramidTest, NodataMustFitThePixelTypeAndElevationHasNoQuality) {
  TempDir dir;
  BuildOptions options = LandsatOptions(dir);
  options.nodata = 300;
  absl::Status status = BuildPyramid(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "BuildOptions::nodata=300 does not fit the source's uint8 samples: use an integer in "
            "0..255");
  BuildOptions elevation;
  elevation.inputs = {DataPath("elev.tif")};
  elevation.output = dir.Path("elev.fpyr");
  absl::StatusOr<BuildResult> result = BuildPyramid(elevation);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->metadata.codec(), "elevation");
  EXPECT_EQ(result->metadata.quality(), 0u);
}

TEST(ValidateBuildOptionsTest, EachFieldOutOfRangeIsNamed) {
  BuildOptions valid;
  valid.inputs = {"a.tif"};
  valid.output = "a.fpyr";
  EXPECT_TRUE(ValidateBuildOptions(valid).ok());
  const std::pair<std::function<void(BuildOptions*)>, std::string> cases[] = {
      {[](BuildOptions* o) { o->inputs.clear(); },
       "BuildOptions::inputs is empty: give at least one raster"},
      {[](BuildOptions* o) { o->output.clear(); },
       "BuildOptions::output is empty: give the FILE.fpyr to write"},
      {[](BuildOptions* o) { o->tile_size = 300; },
       "BuildOptions::tile_size=300 is not supported: use 256 or 512"},
      {[](BuildOptions* o) { o->max_zoom = -5; },
       "BuildOptions::max_zoom=-5 is out of range: use 0..30 (or leave it unset for the source "
       "resolution)"},
      {[](BuildOptions* o) { o->min_zoom = 31; },
       "BuildOptions::min_zoom=31 is out of range: use 0..30"},
      {[](BuildOptions* o) {
         o->min_zoom = 9;
         o->max_zoom = 3;
       },
       "BuildOptions::max_zoom=3 is below BuildOptions::min_zoom=9"},
      {[](BuildOptions* o) { o->quality = 101; },
       "BuildOptions::quality=101 is out of range: use 1..100"},
      {[](BuildOptions* o) {
         o->bands = {3, 0, 1};
       },
       "BuildOptions::bands: band 0 is invalid: bands count from 1"},
      {[](BuildOptions* o) { o->max_error_pixels = -1; },
       "BuildOptions::max_error_pixels=-1 is invalid: use 0 or more pixels"},
      {[](BuildOptions* o) { o->commit_interval = absl::Seconds(-1); },
       "BuildOptions::commit_interval must be >= 0"},
  };
  for (const auto& [change, message] : cases) {
    BuildOptions options = valid;
    change(&options);
    const absl::Status status = ValidateBuildOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_EQ(status.message(), message);
  }
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
