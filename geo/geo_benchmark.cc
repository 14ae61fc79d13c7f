// Benchmarks for //geo: Morton keys against two peers (a bit-by-bit loop and BMI2
// pdep/pext), tile bounds, key ranges, and the per-pixel cost of the tile-to-source
// transformer (GDAL's approximating transformer against exact PROJ on every pixel).
//
//   bazel run --config=opt //geo:geo_benchmark -- --benchmark_min_time=0.2
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "cpl_conv.h"
#include "gdal_priv.h"
#include "geo/crs.h"
#include "geo/morton.h"
#include "geo/tile_matrix_set.h"
#include "testing/files.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace flatpyramid {
namespace geo {
namespace {

constexpr int kBatch = 4096;

struct Coordinates {
  std::vector<uint32_t> x, y;
  std::vector<uint64_t> keys;
};

const Coordinates& RandomCoordinates() {
  static const Coordinates* c = [] {
    auto* out = new Coordinates;
    std::mt19937 rng(1);
    for (int i = 0; i < kBatch; ++i) {
      out->x.push_back(rng() & ((1u << 30) - 1));
      out->y.push_back(rng() & ((1u << 30) - 1));
      out->keys.push_back(MortonEncode(out->x.back(), out->y.back()));
    }
    return out;
  }();
  return *c;
}

uint64_t LoopMortonEncode(uint32_t x, uint32_t y) {
  uint64_t key = 0;
  for (int bit = 0; bit < 32; ++bit) {
    key |= uint64_t{(x >> bit) & 1u} << (2 * bit);
    key |= uint64_t{(y >> bit) & 1u} << (2 * bit + 1);
  }
  return key;
}

#if defined(__x86_64__)
__attribute__((target("bmi2"))) void Bmi2EncodeBatch(const uint32_t* x, const uint32_t* y,
                                                     uint64_t* out, int n) {
  for (int i = 0; i < n; ++i) {
    out[i] = _pdep_u64(x[i], 0x5555555555555555ull) | _pdep_u64(y[i], 0xAAAAAAAAAAAAAAAAull);
  }
}
__attribute__((target("bmi2"))) void Bmi2DecodeBatch(const uint64_t* keys, uint32_t* x, uint32_t* y,
                                                     int n) {
  for (int i = 0; i < n; ++i) {
    x[i] = static_cast<uint32_t>(_pext_u64(keys[i], 0x5555555555555555ull));
    y[i] = static_cast<uint32_t>(_pext_u64(keys[i], 0xAAAAAAAAAAAAAAAAull));
  }
}
#endif

void BM_MortonEncode(benchmark::State& state) {
  const Coordinates& c = RandomCoordinates();
  std::vector<uint64_t> out(kBatch);
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) out[i] = MortonEncode(c.x[i], c.y[i]);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_MortonEncode);

void BM_MortonEncodeLoopPeer(benchmark::State& state) {
  const Coordinates& c = RandomCoordinates();
  std::vector<uint64_t> out(kBatch);
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) out[i] = LoopMortonEncode(c.x[i], c.y[i]);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_MortonEncodeLoopPeer);

void BM_MortonDecode(benchmark::State& state) {
  const Coordinates& c = RandomCoordinates();
  std::vector<uint32_t> x(kBatch), y(kBatch);
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) MortonDecode(c.keys[i], &x[i], &y[i]);
    benchmark::DoNotOptimize(x.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_MortonDecode);

#if defined(__x86_64__)
void BM_MortonEncodeBmi2Peer(benchmark::State& state) {
  if (!__builtin_cpu_supports("bmi2")) {
    state.SkipWithError("no BMI2 on this CPU");
    return;
  }
  const Coordinates& c = RandomCoordinates();
  std::vector<uint64_t> out(kBatch);
  for (auto _ : state) {
    Bmi2EncodeBatch(c.x.data(), c.y.data(), out.data(), kBatch);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_MortonEncodeBmi2Peer);

void BM_MortonDecodeBmi2Peer(benchmark::State& state) {
  if (!__builtin_cpu_supports("bmi2")) {
    state.SkipWithError("no BMI2 on this CPU");
    return;
  }
  const Coordinates& c = RandomCoordinates();
  std::vector<uint32_t> x(kBatch), y(kBatch);
  for (auto _ : state) {
    Bmi2DecodeBatch(c.keys.data(), x.data(), y.data(), kBatch);
    benchmark::DoNotOptimize(x.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_MortonDecodeBmi2Peer);
#endif

void BM_TileBounds(benchmark::State& state) {
  const TileMatrixSet tms = TileMatrixSet::WebMercatorQuad();
  const Coordinates& c = RandomCoordinates();
  double sum = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      const Bounds b = tms.TileBounds(TileId{30, c.x[i], c.y[i]});
      sum += b.min_x + b.max_y;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_TileBounds);

void BM_TileBoundsLonLat(benchmark::State& state) {
  const TileMatrixSet tms = TileMatrixSet::WebMercatorQuad();
  const Coordinates& c = RandomCoordinates();
  double sum = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      const absl::StatusOr<Bounds> b = tms.TileBoundsLonLat(TileId{30, c.x[i], c.y[i]});
      sum += b->min_x + b->max_y;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_TileBoundsLonLat);

// A rectangle of side state.range(0) tiles at an odd offset, capped at 64 ranges.
void BM_KeyRangesForRect(benchmark::State& state) {
  const uint32_t side = static_cast<uint32_t>(state.range(0));
  size_t ranges = 0;
  for (auto _ : state) {
    const std::vector<KeyRange> r =
        KeyRangesForRect(12345, 6789, 12345 + side - 1, 6789 + side - 1, 64);
    ranges = r.size();
    benchmark::DoNotOptimize(r.data());
  }
  state.counters["ranges"] = static_cast<double>(ranges);
}
BENCHMARK(BM_KeyRangesForRect)->Arg(4)->Arg(64)->Arg(4096)->Arg(1 << 20);

// Per destination pixel: a 256 x 256 block over Olinda (EPSG:3857) into L7_ETMs.tif
// (UTM 25S), row by row as a warper asks. state.range(0) is max_error_pixels x 1000:
// 0 is exact PROJ on every pixel (the peer), 125 is gdalwarp's default 0.125 px.
void BM_TransformerPerPixel(benchmark::State& state) {
  GDALAllRegister();
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  GDALDatasetUniquePtr ds(
      GDALDataset::Open(test::DataPath("L7_ETMs.tif").c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  if (ds == nullptr) {
    state.SkipWithError("cannot open L7_ETMs.tif");
    return;
  }
  const TileMatrixSet tms = TileMatrixSet::WebMercatorQuad();
  TransformerOptions options;
  options.max_error_pixels = state.range(0) / 1000.0;
  auto t = TileToSourceTransformer::Create(*ds, tms, options);
  if (!t.ok() || !(*t)->SetBlock(Bounds{-3886000, -897000, -3877000, -888000}, 256, 256).ok()) {
    state.SkipWithError("cannot create the transformer");
    return;
  }
  std::vector<double> x(256), y(256);
  std::vector<int> ok(256);
  for (auto _ : state) {
    for (int row = 0; row < 256; ++row) {
      absl::Status s = (*t)->TransformRow(row, x.data(), y.data(), ok.data());
      benchmark::DoNotOptimize(s);
    }
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations() * 256 * 256);
}
BENCHMARK(BM_TransformerPerPixel)->Arg(0)->Arg(125)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace geo
}  // namespace flatpyramid

int main(int argc, char** argv) {
  // `bazel run` starts us inside <binary>.runfiles/<workspace>: point the data helpers there.
  if (std::getenv("TEST_SRCDIR") == nullptr) {
    const std::string runfiles = std::string(argv[0]) + ".runfiles";
    setenv("TEST_SRCDIR", access(runfiles.c_str(), R_OK) == 0 ? runfiles.c_str() : "..", 1);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
