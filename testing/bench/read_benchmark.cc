// read_benchmark: random reads from the pyramids the peers (and flatpyramid) built, in one
// process, the way a tile server reads them. compare_peers runs it with
// --benchmark_repetitions and --benchmark_enable_random_interleaving, so every benchmark's
// repetitions are interleaved with every other's.
//
//   read_benchmark --zoom=5 --cog=cog.tif --mbtiles=t.mbtiles --xyz_dir=vips
//       --xyz_template='{z}/{y}/{x}.jpg' [--flatpyramid=p.fpyr] --benchmark_min_time=0.5
//
// Each benchmark reads tiles z/x/y of --zoom from one fixed sequence of 4096 uniformly random
// tiles (or 1024 x 1024 windows of the full-resolution level at random places), the same
// sequence for every format:
//   BM_CogTileDecoded       GDALRasterBand::ReadBlock on each band of the COG level, bands
//                           interleaved into one RGB tile (what GetTile returns).
//   BM_MbtilesTileBytes     SELECT tile_data through one prepared SQLite statement.
//   BM_MbtilesTileDecoded   the same, then decoded (flatpyramid's codec library).
//   BM_XyzDirTileBytes      open + read + close of the vips dzsave tile file.
//   BM_CogWindow1024        GDALDataset::RasterIO of 1024 x 1024 RGB, pixel-interleaved.
//   BM_FlatpyramidTileBytes   pyramid::Reader::GetTileBytes, copied into a reused string
//                             (like the peers' reads: a server sends them from a buffer,
//                             and the copy makes a cold read touch the mapped pages).
//   BM_FlatpyramidTileDecoded pyramid::Reader::GetTile with a 0-byte tile cache: decodes.
//   BM_FlatpyramidWindow1024  pyramid::Reader::ReadRegion of the same 1024 x 1024 window in
//                             EPSG:3857 at the base zoom, nearest (pixel-aligned, as RasterIO).
//   BM_GdalDriverWindow1024   GDALDataset::RasterIO of the same window of the .fpyr file
//                             through the FlatPyramid GDAL driver (//gdal, registered in this
//                             process), RGBA pixel-interleaved, no decoded-tile cache.
// Suffix /warm: the file is read whole before the timing loop, so the page cache holds it.
// Suffix /cold: before every read, untimed: close, posix_fadvise(POSIX_FADV_DONTNEED) on the
// file (on the one tile file for a directory), reopen. Cold runs a fixed 64 iterations.
// Decoded reads must decode: GDAL's block cache is flushed (untimed) before every window
// read; ReadBlock does not use the block cache for the band it reads; flatpyramid's tile
// cache holds nothing.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "codec/image.h"
#include "cpl_conv.h"
#include "gdal/driver.h"
#include "gdal/internal/shared_readers.h"
#include "gdal_priv.h"
#include "gflags/gflags.h"
#include "pyramid/reader.h"
#include "testing/bench/peer_tiles.h"

DEFINE_int32(zoom, -1, "zoom level of the random tiles (the base zoom of the pyramids)");
DEFINE_string(cog, "", "COG written with TILING_SCHEME=GoogleMapsCompatible");
DEFINE_string(mbtiles, "", "MBTiles file");
DEFINE_string(xyz_dir, "", "tile directory (vips dzsave --layout google)");
DEFINE_string(xyz_template, "{z}/{y}/{x}.jpg", "tile file names under --xyz_dir");
DEFINE_string(flatpyramid, "", "flatpyramid file (tools/build_pyramid)");
DEFINE_uint64(seed, 1, "seed of the random tile and window sequences");

namespace flatpyramid {
namespace bench {
namespace {

constexpr int kSequenceLength = 4096;
constexpr int kWindowSize = 1024;
constexpr int kColdIterations = 64;
constexpr double kWebMercatorHalf = 20037508.342789244;

struct TileXY {
  uint32_t x;
  uint32_t y;
};

std::vector<TileXY>& Tiles() {
  static std::vector<TileXY> tiles;
  return tiles;
}

std::vector<TileXY>& Windows() {  // Pixel offsets in the full-resolution level.
  static std::vector<TileXY> windows;
  return windows;
}

void Check(const absl::Status& status, benchmark::State& state) {
  if (!status.ok()) state.SkipWithError(std::string(status.ToString()).c_str());
}

// ReadWhole reads every byte of `path` (every file under it for a directory) so that the
// page cache holds it.
void ReadWhole(const std::string& path) {
  if (path.empty()) return;
  std::vector<std::string> stack = {path};
  std::vector<char> buffer(1 << 20);
  while (!stack.empty()) {
    const std::string current = stack.back();
    stack.pop_back();
    char** entries = VSIReadDir(current.c_str());
    if (entries != nullptr) {
      for (char** entry = entries; *entry != nullptr; ++entry) {
        if (std::string(*entry) != "." && std::string(*entry) != "..") {
          stack.push_back(absl::StrCat(current, "/", *entry));
        }
      }
      CSLDestroy(entries);
      continue;
    }
    const int fd = open(current.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    while (read(fd, buffer.data(), buffer.size()) > 0) {
    }
    close(fd);
  }
}

// ColdOrWarm runs `read(i)` for the benchmark's iterations. Cold: before every read,
// untimed, `close()`, drop `file_of(i)` from the page cache, `reopen()`.
void ColdOrWarm(benchmark::State& state, bool cold, const std::string& whole,
                const std::function<std::string(size_t)>& file_of,
                const std::function<absl::Status()>& reopen, const std::function<void()>& close,
                const std::function<absl::Status(size_t)>& read) {
  if (!cold) ReadWhole(whole);
  Check(reopen(), state);
  size_t i = 0;
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      close();
      Check(DropFromPageCache(file_of(i)), state);
      Check(reopen(), state);
      state.ResumeTiming();
    }
    Check(read(i), state);
    ++i;
  }
  close();
  state.SetItemsProcessed(static_cast<int64_t>(i));
}

void CogTileDecoded(benchmark::State& state, bool cold) {
  std::unique_ptr<CogTiles> cog;
  codec::Image tile(kTileSize, kTileSize, 3, codec::PixelType::kUint8);
  ColdOrWarm(
      state, cold, FLAGS_cog, [](size_t) { return FLAGS_cog; },
      [&]() -> absl::Status {
        absl::StatusOr<std::unique_ptr<CogTiles>> opened = CogTiles::Open(FLAGS_cog);
        if (!opened.ok()) return opened.status();
        cog = std::move(*opened);
        tile = codec::Image(kTileSize, kTileSize, cog->band_count(), codec::PixelType::kUint8);
        return absl::OkStatus();
      },
      [&] { cog.reset(); },
      [&](size_t i) {
        const TileXY& t = Tiles()[i % Tiles().size()];
        absl::Status status = cog->ReadTile(FLAGS_zoom, t.x, t.y, tile.mutable_view());
        benchmark::DoNotOptimize(tile.data());
        return status;
      });
}

// GdalWindow1024 reads windows of `path` through GDALDataset::RasterIO; all_cores sets
// GDAL_NUM_THREADS=ALL_CPUS, with which GDAL 3.6's GTiff driver decodes a RasterIO's tiles in
// parallel (as ReadRegion, and so the FlatPyramid driver, do their own), so the two can be
// compared at one thread each and at every core each.
void GdalWindow1024(benchmark::State& state, bool cold, const std::string& path, bool all_cores) {
  CPLSetConfigOption("GDAL_NUM_THREADS", all_cores ? "ALL_CPUS" : nullptr);
  std::unique_ptr<CogTiles> dataset;
  std::unique_ptr<codec::Image> window;
  ColdOrWarm(
      state, cold, path, [&](size_t) { return path; },
      [&]() -> absl::Status {
        absl::StatusOr<std::unique_ptr<CogTiles>> opened = CogTiles::Open(path);
        if (!opened.ok()) return opened.status();
        dataset = std::move(*opened);
        window = std::make_unique<codec::Image>(kWindowSize, kWindowSize, dataset->band_count(),
                                                codec::PixelType::kUint8);
        return absl::OkStatus();
      },
      [&] { dataset.reset(); },
      [&](size_t i) {
        state.PauseTiming();
        GDALSetCacheMax64(0);  // Drops every cached block: the read must decode.
        GDALSetCacheMax64(int64_t{64} << 20);
        state.ResumeTiming();
        const TileXY& w = Windows()[i % Windows().size()];
        absl::Status status = dataset->ReadWindow(static_cast<int>(w.x), static_cast<int>(w.y),
                                                  window->mutable_view());
        benchmark::DoNotOptimize(window->data());
        return status;
      });
  dataset.reset();
  CPLSetConfigOption("GDAL_NUM_THREADS", nullptr);
}

void MbtilesTileBytes(benchmark::State& state, bool cold, bool decode) {
  std::unique_ptr<MbtilesTiles> mbtiles;
  std::string bytes;
  ColdOrWarm(
      state, cold, FLAGS_mbtiles, [](size_t) { return FLAGS_mbtiles; },
      [&]() -> absl::Status {
        absl::StatusOr<std::unique_ptr<MbtilesTiles>> opened = MbtilesTiles::Open(FLAGS_mbtiles);
        if (!opened.ok()) return opened.status();
        mbtiles = std::move(*opened);
        return absl::OkStatus();
      },
      [&] { mbtiles.reset(); },
      [&](size_t i) {
        const TileXY& t = Tiles()[i % Tiles().size()];
        absl::Status status = mbtiles->TileBytes(FLAGS_zoom, t.x, t.y, &bytes);
        if (status.ok() && decode) {
          absl::StatusOr<codec::Image> image = DecodeTileBytes(bytes);
          status = image.status();
          if (image.ok()) benchmark::DoNotOptimize(image->data());
        }
        benchmark::DoNotOptimize(bytes.data());
        return status;
      });
}

void XyzDirTileBytes(benchmark::State& state, bool cold) {
  DirectoryTiles directory(FLAGS_xyz_dir, FLAGS_xyz_template);
  std::string bytes;
  ColdOrWarm(
      state, cold, FLAGS_xyz_dir,
      [&](size_t i) {
        const TileXY& t = Tiles()[i % Tiles().size()];
        return directory.Path(FLAGS_zoom, t.x, t.y);
      },
      [] { return absl::OkStatus(); }, [] {},
      [&](size_t i) {
        const TileXY& t = Tiles()[i % Tiles().size()];
        absl::Status status = directory.TileBytes(FLAGS_zoom, t.x, t.y, &bytes);
        benchmark::DoNotOptimize(bytes.data());
        return status;
      });
}

// OpenPyramid opens --flatpyramid with no decoded-tile cache.
absl::Status OpenPyramid(std::unique_ptr<pyramid::Reader>* reader) {
  pyramid::ReaderOptions options;
  options.private_cache_bytes = 0;
  absl::StatusOr<std::unique_ptr<pyramid::Reader>> opened =
      pyramid::Reader::Open(FLAGS_flatpyramid, options);
  if (!opened.ok()) return opened.status();
  *reader = std::move(*opened);
  return absl::OkStatus();
}

void FlatpyramidTileBytes(benchmark::State& state, bool cold) {
  std::unique_ptr<pyramid::Reader> reader;
  std::string bytes;
  ColdOrWarm(
      state, cold, FLAGS_flatpyramid, [](size_t) { return FLAGS_flatpyramid; },
      [&] { return OpenPyramid(&reader); }, [&] { reader.reset(); },
      [&](size_t i) {
        const TileXY& t = Tiles()[i % Tiles().size()];
        absl::StatusOr<absl::string_view> stored = reader->GetTileBytes(FLAGS_zoom, t.x, t.y);
        if (!stored.ok()) return stored.status();
        bytes.assign(stored->data(), stored->size());
        benchmark::DoNotOptimize(bytes.data());
        return absl::OkStatus();
      });
}

void FlatpyramidTileDecoded(benchmark::State& state, bool cold) {
  std::unique_ptr<pyramid::Reader> reader;
  ColdOrWarm(
      state, cold, FLAGS_flatpyramid, [](size_t) { return FLAGS_flatpyramid; },
      [&] { return OpenPyramid(&reader); }, [&] { reader.reset(); },
      [&](size_t i) {
        const TileXY& t = Tiles()[i % Tiles().size()];
        absl::StatusOr<std::shared_ptr<const codec::Image>> tile =
            reader->GetTile(FLAGS_zoom, t.x, t.y);
        if (!tile.ok()) return tile.status();
        benchmark::DoNotOptimize((*tile)->data());
        return absl::OkStatus();
      });
}

void FlatpyramidWindow1024(benchmark::State& state, bool cold) {
  std::unique_ptr<pyramid::Reader> reader;
  const double resolution =
      2 * kWebMercatorHalf / static_cast<double>(uint64_t{kTileSize} << FLAGS_zoom);
  ColdOrWarm(
      state, cold, FLAGS_flatpyramid, [](size_t) { return FLAGS_flatpyramid; },
      [&] { return OpenPyramid(&reader); }, [&] { reader.reset(); },
      [&](size_t i) {
        const TileXY& w = Windows()[i % Windows().size()];
        pyramid::RegionRequest request;
        const double min_x = -kWebMercatorHalf + w.x * resolution;
        const double max_y = kWebMercatorHalf - w.y * resolution;
        request.bbox = {min_x, max_y - kWindowSize * resolution, min_x + kWindowSize * resolution,
                        max_y};
        request.srs = "EPSG:3857";
        request.width = kWindowSize;
        request.height = kWindowSize;
        request.resampling = pyramid::Resampling::kNearest;
        request.zoom = FLAGS_zoom;
        absl::StatusOr<pyramid::Region> region = reader->ReadRegion(request);
        if (!region.ok()) return region.status();
        benchmark::DoNotOptimize(region->image.data());
        return absl::OkStatus();
      });
}

void Register(const std::string& name, std::function<void(benchmark::State&, bool)> body) {
  for (const bool cold : {false, true}) {
    benchmark::internal::Benchmark* b =
        benchmark::RegisterBenchmark((name + (cold ? "/cold" : "/warm")).c_str(),
                                     [body, cold](benchmark::State& state) { body(state, cold); });
    b->UseRealTime()->Unit(benchmark::kMicrosecond);
    if (cold) b->Iterations(kColdIterations);
  }
}

int Main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (FLAGS_zoom < 0 || FLAGS_zoom > 24) {
    std::fprintf(stderr, "read_benchmark: --zoom (0..24) is required\n");
    return 1;
  }
  // The driver linked into this process (no decoded-tile cache, as OpenPyramid), before
  // GDALAllRegister so an installed plugin leaves it alone.
  CPLSetConfigOption(gdal_driver::kCacheOption, "0");
  gdal_driver::RegisterFlatPyramidDriver();
  GDALAllRegister();
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  GDALSetCacheMax64(int64_t{64} << 20);

  std::mt19937_64 random(FLAGS_seed);
  const uint32_t side = uint32_t{1} << FLAGS_zoom;
  std::uniform_int_distribution<uint32_t> coordinate(0, side - 1);
  for (int i = 0; i < kSequenceLength; ++i) {
    Tiles().push_back({coordinate(random), coordinate(random)});
  }
  const uint32_t level_pixels = side * kTileSize;
  const uint32_t last_window = level_pixels > kWindowSize ? level_pixels - kWindowSize : 0;
  std::uniform_int_distribution<uint32_t> offset(0, last_window);
  for (int i = 0; i < kSequenceLength; ++i) Windows().push_back({offset(random), offset(random)});

  if (!FLAGS_cog.empty()) {
    Register("BM_CogTileDecoded", CogTileDecoded);
    if (level_pixels >= kWindowSize) {
      Register("BM_CogWindow1024", [](benchmark::State& state, bool cold) {
        GdalWindow1024(state, cold, FLAGS_cog, false);
      });
      Register("BM_CogWindow1024AllCores", [](benchmark::State& state, bool cold) {
        GdalWindow1024(state, cold, FLAGS_cog, true);
      });
    }
  }
  if (!FLAGS_mbtiles.empty()) {
    Register("BM_MbtilesTileBytes",
             [](benchmark::State& state, bool cold) { MbtilesTileBytes(state, cold, false); });
    Register("BM_MbtilesTileDecoded",
             [](benchmark::State& state, bool cold) { MbtilesTileBytes(state, cold, true); });
  }
  if (!FLAGS_xyz_dir.empty()) Register("BM_XyzDirTileBytes", XyzDirTileBytes);
  if (!FLAGS_flatpyramid.empty()) {
    Register("BM_FlatpyramidTileBytes", FlatpyramidTileBytes);
    Register("BM_FlatpyramidTileDecoded", FlatpyramidTileDecoded);
    if (level_pixels >= kWindowSize) {
      Register("BM_FlatpyramidWindow1024", FlatpyramidWindow1024);
      Register("BM_GdalDriverWindow1024", [](benchmark::State& state, bool cold) {
        GdalWindow1024(state, cold, FLAGS_flatpyramid, false);
      });
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace flatpyramid

int main(int argc, char** argv) { return flatpyramid::bench::Main(argc, argv); }
