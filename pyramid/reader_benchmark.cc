// reader_benchmark: pyramid::Reader on a real pyramid, with GDAL reading a COG of the same
// source as the peer, in the same run.
//
//   bazel run --config=opt //pyramid:reader_benchmark -- --benchmark_min_time=0.5
//
// Setup (untimed): Landsat bands 3,2,1 (testing/data/L7_ETMs.tif) are built into a JPEG
// pyramid, zooms 10..16 (289 base tiles at 2.4 m), and by GDAL into a COG with
// TILING_SCHEME=GoogleMapsCompatible, ZOOM_LEVEL=16, QUALITY=85 (the same tile grid). Both
// files are in the page cache. Random tiles and windows come from one fixed seed.
//   BM_GetTileBytes          zero-copy lookup of a random base tile.
//   BM_CodecDecode           codec::Decode of the same tiles' bytes (the floor for GetTile).
//   BM_GetTileCold           GetTile with a 0-byte cache: lookup + decode (JPEG straight into
//                            RGBA).
//   BM_CogReadBlock          its peer: GDALRasterBand::ReadBlock of the same tiles on the 3
//                            bands of the COG's full-resolution level (one JPEG decode: the
//                            other bands come from the driver's decoded block), interleaved
//                            to RGB, as testing/bench's BM_CogTileDecoded.
//   BM_GetTileWarm           GetTile from a warm shared TileCache; ->Threads(2) measures
//                            contention on the sharded cache.
//   BM_ReadRegion1024        ReadRegion 1024 x 1024 at the base resolution in EPSG:3857,
//                            bilinear, at random places; /0 no cache (every tile decoded),
//                            /1 every base tile in the cache beforehand.
//   BM_ReadRegion1024LonLat  the same window requested in EPSG:4326 (reprojection).
//   BM_ReadRegion512LonLatShared  512 x 512 windows in EPSG:4326 from 1 and 2 threads sharing
//                            one Reader with no tile cache (python/bench's read() row).
//   BM_GdalWarpCog1024       the peer: gdalwarp (GDALWarp API) of the COG to the EPSG:3857
//                            grid of BM_ReadRegion1024, bilinear, GDAL block cache warm.
//   BM_ReadRegion1024Aligned ReadRegion 1024 x 1024 on the base level's pixel grid (random
//                            whole-pixel offsets inside the data), nearest, 0-byte tile cache:
//                            testing/bench's BM_FlatpyramidWindow1024.
//   BM_CogRasterIO1024       its peer: GDALDataset::RasterIO of the same pixel window of the
//                            COG (3 bands, pixel-interleaved), GDAL's block cache emptied
//                            (untimed) before each read: testing/bench's BM_CogWindow1024.
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "codec/codec.h"
#include "cpl_conv.h"
#include "cpl_string.h"
#include "gdal_priv.h"
#include "gdal_utils.h"
#include "geo/morton.h"
#include "pyramid/builder.h"
#include "pyramid/reader.h"
#include "storage/store.h"
#include "testing/files.h"

namespace flatpyramid {
namespace pyramid {
namespace {

constexpr int kBaseZoom = 16;

struct Fixture {
  std::unique_ptr<test::TempDir> dir;
  std::string pyramid_path;
  std::string cog_path;
  std::vector<std::pair<uint32_t, uint32_t>> tiles;  // Every base tile, in key order.
  geo::Bounds data;                                  // Data bounds, EPSG:3857.
};

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    GDALAllRegister();
    auto* f = new Fixture;
    f->dir = std::make_unique<test::TempDir>();
    f->pyramid_path = f->dir->Path("landsat.fpyr");
    f->cog_path = f->dir->Path("landsat_cog.tif");
    BuildOptions options;
    options.inputs = {test::DataPath("L7_ETMs.tif")};
    options.output = f->pyramid_path;
    options.bands = {3, 2, 1};
    options.min_zoom = 10;
    options.max_zoom = kBaseZoom;
    options.allow_large_build = true;  // Zoom 16 is 4 levels finer than the source.
    absl::StatusOr<BuildResult> built = BuildPyramid(options);
    if (!built.ok()) {
      std::fprintf(stderr, "build failed: %s\n", std::string(built.status().message()).c_str());
      std::abort();
    }
    GDALDatasetUniquePtr source(GDALDataset::Open(test::DataPath("L7_ETMs.tif").c_str(),
                                                  GDAL_OF_RASTER | GDAL_OF_READONLY));
    char** argv = nullptr;
    for (const char* arg : {"-of", "COG", "-b", "3", "-b", "2", "-b", "1", "-co",
                            "TILING_SCHEME=GoogleMapsCompatible", "-co", "ZOOM_LEVEL=16", "-co",
                            "QUALITY=85", "-co", "COMPRESS=JPEG"}) {
      argv = CSLAddString(argv, arg);
    }
    GDALTranslateOptions* translate = GDALTranslateOptionsNew(argv, nullptr);
    CSLDestroy(argv);
    GDALDatasetH cog =
        GDALTranslate(f->cog_path.c_str(), GDALDataset::ToHandle(source.get()), translate, nullptr);
    GDALTranslateOptionsFree(translate);
    if (cog == nullptr) std::abort();
    GDALClose(cog);

    absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(f->pyramid_path);
    if (!reader.ok()) std::abort();
    const uint32_t section = *(*reader)->storage().FindSection(SectionName(kBaseZoom));
    for (uint64_t i = 0; i < (*reader)->storage().entry_count(section); ++i) {
      uint32_t x, y;
      geo::MortonDecode((*reader)->storage().KeyAt(section, i), &x, &y);
      f->tiles.push_back({x, y});
    }
    const PyramidMetadata& m = (*reader)->metadata();
    f->data = {m.bounds().min_x(), m.bounds().min_y(), m.bounds().max_x(), m.bounds().max_y()};
    return f;
  }();
  return *fixture;
}

std::unique_ptr<Reader> OpenReader(size_t cache_bytes) {
  ReaderOptions options;
  options.private_cache_bytes = cache_bytes;
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(GetFixture().pyramid_path, options);
  if (!reader.ok()) std::abort();
  return *std::move(reader);
}

void BM_GetTileBytes(benchmark::State& state) {
  const Fixture& f = GetFixture();
  std::unique_ptr<Reader> reader = OpenReader(0);
  std::mt19937 random(42);
  std::uniform_int_distribution<size_t> pick(0, f.tiles.size() - 1);
  size_t bytes = 0;
  for (auto _ : state) {
    const auto& [x, y] = f.tiles[pick(random)];
    absl::StatusOr<absl::string_view> tile = reader->GetTileBytes(kBaseZoom, x, y);
    benchmark::DoNotOptimize(tile->data());
    bytes += tile->size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_GetTileBytes);

void BM_CodecDecode(benchmark::State& state) {
  const Fixture& f = GetFixture();
  std::unique_ptr<Reader> reader = OpenReader(0);
  std::mt19937 random(42);
  std::uniform_int_distribution<size_t> pick(0, f.tiles.size() - 1);
  for (auto _ : state) {
    const auto& [x, y] = f.tiles[pick(random)];
    absl::StatusOr<codec::Image> image = codec::Decode(*reader->GetTileBytes(kBaseZoom, x, y));
    benchmark::DoNotOptimize(image->data());
  }
}
BENCHMARK(BM_CodecDecode);

void BM_GetTileCold(benchmark::State& state) {
  const Fixture& f = GetFixture();
  std::unique_ptr<Reader> reader = OpenReader(0);
  std::mt19937 random(42);
  std::uniform_int_distribution<size_t> pick(0, f.tiles.size() - 1);
  for (auto _ : state) {
    const auto& [x, y] = f.tiles[pick(random)];
    absl::StatusOr<std::shared_ptr<const codec::Image>> tile = reader->GetTile(kBaseZoom, x, y);
    benchmark::DoNotOptimize((*tile)->data());
  }
}
BENCHMARK(BM_GetTileCold);

// OpenCog opens the fixture's COG and sets `origin_x`, `origin_y` to its top-left corner in
// base-level global pixels.
GDALDatasetUniquePtr OpenCog(int64_t* origin_x, int64_t* origin_y) {
  GDALDatasetUniquePtr cog(
      GDALDataset::Open(GetFixture().cog_path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (cog == nullptr) std::abort();
  double geotransform[6];
  cog->GetGeoTransform(geotransform);
  double x, y;
  geo::TileMatrixSet::WebMercatorQuad().CrsToPixel(geotransform[0], geotransform[3], kBaseZoom, &x,
                                                   &y);
  *origin_x = std::llround(x);
  *origin_y = std::llround(y);
  return cog;
}

void BM_CogReadBlock(benchmark::State& state) {
  const Fixture& f = GetFixture();
  int64_t origin_x, origin_y;
  GDALDatasetUniquePtr cog = OpenCog(&origin_x, &origin_y);
  const int64_t block_x0 = origin_x / 256, block_y0 = origin_y / 256;
  std::vector<uint8_t> planes(size_t{256} * 256 * 3), rgb(planes.size());
  std::mt19937 random(42);
  std::uniform_int_distribution<size_t> pick(0, f.tiles.size() - 1);
  for (auto _ : state) {
    const auto& [x, y] = f.tiles[pick(random)];
    for (int band = 0; band < 3; ++band) {
      if (cog->GetRasterBand(band + 1)->ReadBlock(
              static_cast<int>(x - block_x0), static_cast<int>(y - block_y0),
              planes.data() + size_t{256} * 256 * band) != CE_None) {
        state.SkipWithError("ReadBlock failed");
      }
    }
    for (size_t i = 0; i < size_t{256} * 256; ++i) {
      for (size_t band = 0; band < 3; ++band) rgb[3 * i + band] = planes[band * 256 * 256 + i];
    }
    benchmark::DoNotOptimize(rgb.data());
  }
}
BENCHMARK(BM_CogReadBlock);

void BM_GetTileWarm(benchmark::State& state) {
  const Fixture& f = GetFixture();
  static Reader* shared = nullptr;
  if (state.thread_index() == 0) {
    shared = OpenReader(size_t{1} << 30).release();
    for (const auto& [x, y] : f.tiles) {
      if (!shared->GetTile(kBaseZoom, x, y).ok()) std::abort();
    }
  }
  // Google Benchmark starts the timing loop of every thread together, after this setup.
  std::mt19937 random(42 + state.thread_index());
  std::uniform_int_distribution<size_t> pick(0, f.tiles.size() - 1);
  for (auto _ : state) {
    const auto& [x, y] = f.tiles[pick(random)];
    absl::StatusOr<std::shared_ptr<const codec::Image>> tile = shared->GetTile(kBaseZoom, x, y);
    benchmark::DoNotOptimize((*tile)->data());
  }
  if (state.thread_index() == 0) {
    state.counters["hit_rate"] =
        static_cast<double>(shared->cache()->stats().hits) /
        static_cast<double>(shared->cache()->stats().hits + shared->cache()->stats().misses);
  }
}
BENCHMARK(BM_GetTileWarm)->Threads(1)->Threads(2)->UseRealTime();

// RandomWindow is a 1024 x 1024 base-resolution window in EPSG:3857 inside the data.
geo::Bounds RandomWindow(std::mt19937& random) {
  const Fixture& f = GetFixture();
  const double side = 1024 * geo::TileMatrixSet::WebMercatorQuad().Resolution(kBaseZoom);
  std::uniform_real_distribution<double> x(f.data.min_x, f.data.max_x - side);
  std::uniform_real_distribution<double> y(f.data.min_y, f.data.max_y - side);
  const double x0 = x(random), y0 = y(random);
  return {x0, y0, x0 + side, y0 + side};
}

void BM_ReadRegion1024(benchmark::State& state) {
  const bool warm = state.range(0) == 1;
  std::unique_ptr<Reader> reader = OpenReader(warm ? size_t{1} << 30 : 0);
  if (warm) {
    for (const auto& [x, y] : GetFixture().tiles) {
      if (!reader->GetTile(kBaseZoom, x, y).ok()) std::abort();
    }
  }
  std::mt19937 random(7);
  for (auto _ : state) {
    RegionRequest request;
    request.bbox = RandomWindow(random);
    request.srs = "EPSG:3857";
    request.width = request.height = 1024;
    request.resampling = Resampling::kBilinear;
    absl::StatusOr<Region> region = reader->ReadRegion(request);
    if (!region.ok()) state.SkipWithError(std::string(region.status().message()).c_str());
    benchmark::DoNotOptimize(region->image.data());
  }
  state.SetItemsProcessed(state.iterations() * 1024 * 1024);
}
BENCHMARK(BM_ReadRegion1024)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// LonLatRequest asks for EPSG:3857 window `w` in EPSG:4326, `size` x `size`, bilinear.
RegionRequest LonLatRequest(const geo::Bounds& w, int size) {
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  RegionRequest request;
  tms.CrsToLonLat(w.min_x, w.min_y, &request.bbox.min_x, &request.bbox.min_y);
  tms.CrsToLonLat(w.max_x, w.max_y, &request.bbox.max_x, &request.bbox.max_y);
  request.srs = "EPSG:4326";
  request.width = request.height = size;
  request.resampling = Resampling::kBilinear;
  return request;
}

void BM_ReadRegion1024LonLat(benchmark::State& state) {
  std::unique_ptr<Reader> reader = OpenReader(size_t{1} << 30);
  std::mt19937 random(7);
  for (auto _ : state) {
    absl::StatusOr<Region> region = reader->ReadRegion(LonLatRequest(RandomWindow(random), 1024));
    if (!region.ok()) state.SkipWithError(std::string(region.status().message()).c_str());
    benchmark::DoNotOptimize(region->image.data());
  }
  state.SetItemsProcessed(state.iterations() * 1024 * 1024);
}
BENCHMARK(BM_ReadRegion1024LonLat)->Unit(benchmark::kMillisecond);

// The Python binding's read() on threads: 512 x 512 windows in EPSG:4326 of one Reader shared
// by the threads, no tile cache (every tile decoded, as python/bench's read() row). Real and
// process CPU time: with 2 threads, a read costing more CPU than with 1 shows as CPU time
// per iteration growing.
void BM_ReadRegion512LonLatShared(benchmark::State& state) {
  static std::unique_ptr<Reader> shared;
  if (state.thread_index() == 0) shared = OpenReader(0);
  std::mt19937 random(11 + state.thread_index());
  for (auto _ : state) {
    geo::Bounds w = RandomWindow(random);
    w.max_x = w.min_x + (w.max_x - w.min_x) / 2;
    w.max_y = w.min_y + (w.max_y - w.min_y) / 2;
    absl::StatusOr<Region> region = shared->ReadRegion(LonLatRequest(w, 512));
    if (!region.ok()) state.SkipWithError(std::string(region.status().message()).c_str());
    benchmark::DoNotOptimize(region->image.data());
  }
  state.SetItemsProcessed(state.iterations() * 512 * 512);
}
BENCHMARK(BM_ReadRegion512LonLatShared)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

// RandomAlignedWindow is the base-level global pixel (x, y) of the top-left corner of a
// 1024 x 1024 window inside the data.
std::pair<int64_t, int64_t> RandomAlignedWindow(std::mt19937& random) {
  const Fixture& f = GetFixture();
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  double x0, y0, x1, y1;
  tms.CrsToPixel(f.data.min_x, f.data.max_y, kBaseZoom, &x0, &y0);
  tms.CrsToPixel(f.data.max_x, f.data.min_y, kBaseZoom, &x1, &y1);
  std::uniform_int_distribution<int64_t> x(static_cast<int64_t>(std::ceil(x0)),
                                           static_cast<int64_t>(std::floor(x1)) - 1024);
  std::uniform_int_distribution<int64_t> y(static_cast<int64_t>(std::ceil(y0)),
                                           static_cast<int64_t>(std::floor(y1)) - 1024);
  const int64_t px = x(random);
  return {px, y(random)};
}

void BM_ReadRegion1024Aligned(benchmark::State& state) {
  std::unique_ptr<Reader> reader = OpenReader(0);
  const geo::TileMatrixSet tms = geo::TileMatrixSet::WebMercatorQuad();
  std::mt19937 random(11);
  for (auto _ : state) {
    const auto [px, py] = RandomAlignedWindow(random);
    RegionRequest request;
    tms.PixelToCrs(static_cast<double>(px), static_cast<double>(py + 1024), kBaseZoom,
                   &request.bbox.min_x, &request.bbox.min_y);
    tms.PixelToCrs(static_cast<double>(px + 1024), static_cast<double>(py), kBaseZoom,
                   &request.bbox.max_x, &request.bbox.max_y);
    request.srs = "EPSG:3857";
    request.width = request.height = 1024;
    request.resampling = Resampling::kNearest;
    request.zoom = kBaseZoom;
    absl::StatusOr<Region> region = reader->ReadRegion(request);
    if (!region.ok()) state.SkipWithError(std::string(region.status().message()).c_str());
    benchmark::DoNotOptimize(region->image.data());
  }
  state.SetItemsProcessed(state.iterations() * 1024 * 1024);
}
BENCHMARK(BM_ReadRegion1024Aligned)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CogRasterIO1024(benchmark::State& state) {
  int64_t origin_x, origin_y;
  GDALDatasetUniquePtr cog = OpenCog(&origin_x, &origin_y);
  std::vector<uint8_t> buffer(size_t{1024} * 1024 * 3);
  int bands[] = {1, 2, 3};
  std::mt19937 random(11);
  for (auto _ : state) {
    state.PauseTiming();
    GDALSetCacheMax64(0);  // Drops every cached block: the read must decode.
    GDALSetCacheMax64(int64_t{64} << 20);
    state.ResumeTiming();
    const auto [px, py] = RandomAlignedWindow(random);
    const int x = static_cast<int>(px - origin_x);
    const int y = static_cast<int>(py - origin_y);
    if (cog->RasterIO(GF_Read, x, y, 1024, 1024, buffer.data(), 1024, 1024, GDT_Byte, 3, bands, 3,
                      3 * 1024, 1, nullptr) != CE_None) {
      state.SkipWithError("RasterIO failed");
    }
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetItemsProcessed(state.iterations() * 1024 * 1024);
}
BENCHMARK(BM_CogRasterIO1024)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_GdalWarpCog1024(benchmark::State& state) {
  const Fixture& f = GetFixture();
  GDALDatasetUniquePtr cog(
      GDALDataset::Open(f.cog_path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (cog == nullptr) std::abort();
  std::mt19937 random(7);
  for (auto _ : state) {
    const geo::Bounds w = RandomWindow(random);
    char** argv = nullptr;
    for (const std::string& arg :
         {std::string("-of"), std::string("MEM"), std::string("-t_srs"), std::string("EPSG:3857"),
          std::string("-te"), absl::StrFormat("%.17g", w.min_x), absl::StrFormat("%.17g", w.min_y),
          absl::StrFormat("%.17g", w.max_x), absl::StrFormat("%.17g", w.max_y), std::string("-ts"),
          std::string("1024"), std::string("1024"), std::string("-r"), std::string("bilinear")}) {
      argv = CSLAddString(argv, arg.c_str());
    }
    GDALWarpAppOptions* options = GDALWarpAppOptionsNew(argv, nullptr);
    CSLDestroy(argv);
    GDALDatasetH sources[] = {GDALDataset::ToHandle(cog.get())};
    GDALDatasetH out = GDALWarp("", nullptr, 1, sources, options, nullptr);
    GDALWarpAppOptionsFree(options);
    if (out == nullptr) state.SkipWithError("gdalwarp failed");
    GDALClose(out);
  }
  state.SetItemsProcessed(state.iterations() * 1024 * 1024);
}
BENCHMARK(BM_GdalWarpCog1024)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid

int main(int argc, char** argv) {
  // `bazel run` sets no TEST_SRCDIR: the data is in this binary's runfiles tree.
  if (std::getenv("TEST_SRCDIR") == nullptr) {
    setenv("TEST_SRCDIR", absl::StrCat(argv[0], ".runfiles").c_str(), 0);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
