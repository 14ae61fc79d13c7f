// Encode and decode throughput (megapixels per second) and encoded size of every codec and
// setting, on 256x256 and 512x512 tiles cut from the real test data, with zlib level 6
// (what a GeoTIFF with DEFLATE and no predictor stores) as the elevation codec's peer.
//
//   bazel run --config=opt //codec:codec_benchmark -- --benchmark_min_time=0.2
//   (--write_tiles_ppm=DIR writes the Landsat tiles as PPM for tjbench and exits.)
//
// Names: <codec>/<encode|decode>/<tile>/<setting>. Counters: Mpix/s, bytes (encoded size of
// one tile, averaged over the tiles of the set), ratio (raw bytes / encoded bytes).
#include <benchmark/benchmark.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codec/codec.h"
#include "codec/elevation.h"
#include "codec/internal/test_tiles.h"

namespace flatpyramid {
namespace codec {
namespace {

struct TileSet {
  std::string name;
  std::vector<Image> tiles;
};

size_t RawBytes(const TileSet& set) {
  size_t bytes = 0;
  for (const Image& tile : set.tiles) bytes += tile.size_bytes();
  return bytes;
}

size_t Pixels(const TileSet& set) {
  size_t pixels = 0;
  for (const Image& tile : set.tiles) pixels += static_cast<size_t>(tile.width()) * tile.height();
  return pixels;
}

void SetCounters(benchmark::State& state, const TileSet& set, size_t encoded_bytes) {
  state.counters["Mpix/s"] = benchmark::Counter(static_cast<double>(Pixels(set)) / 1e6,
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes"] = static_cast<double>(encoded_bytes) / set.tiles.size();
  state.counters["ratio"] = static_cast<double>(RawBytes(set)) / encoded_bytes;
}

using EncodeFn = std::function<absl::Status(const Image&, std::string*)>;

void RegisterCodec(const std::string& codec, const std::string& setting, const TileSet* set,
                   EncodeFn encode, bool with_decode = true) {
  const std::string suffix = absl::StrCat(set->name, "/", setting);
  benchmark::RegisterBenchmark(absl::StrCat(codec, "/encode/", suffix).c_str(),
                               [set, encode](benchmark::State& state) {
                                 std::string bytes;
                                 size_t total = 0;
                                 for (auto _ : state) {
                                   total = 0;
                                   for (const Image& tile : set->tiles) {
                                     absl::Status s = encode(tile, &bytes);
                                     if (!s.ok()) {
                                       state.SkipWithError(std::string(s.message()).c_str());
                                       return;
                                     }
                                     total += bytes.size();
                                     benchmark::DoNotOptimize(bytes.data());
                                   }
                                 }
                                 SetCounters(state, *set, total);
                               });
  if (!with_decode) return;
  benchmark::RegisterBenchmark(
      absl::StrCat(codec, "/decode/", suffix).c_str(), [set, encode](benchmark::State& state) {
        std::vector<std::string> encoded(set->tiles.size());
        std::vector<Image> outputs;
        size_t total = 0;
        for (size_t i = 0; i < set->tiles.size(); ++i) {
          absl::Status s = encode(set->tiles[i], &encoded[i]);
          if (!s.ok()) {
            state.SkipWithError(std::string(s.message()).c_str());
            return;
          }
          total += encoded[i].size();
          const Image& t = set->tiles[i];
          outputs.emplace_back(t.width(), t.height(), t.bands(), t.type());
        }
        for (auto _ : state) {
          for (size_t i = 0; i < encoded.size(); ++i) {
            absl::Status s = DecodeInto(encoded[i], outputs[i].mutable_view());
            if (!s.ok()) {
              state.SkipWithError(std::string(s.message()).c_str());
              return;
            }
            benchmark::DoNotOptimize(outputs[i].data());
          }
        }
        SetCounters(state, *set, total);
      });
}

// zlib level 6 over the raw samples, the peer of the elevation codec: decode inflates into a
// caller buffer, as a GeoTIFF reader would.
void RegisterZlibPeer(const TileSet* set) {
  RegisterCodec(
      "zlib6", "raw_samples", set,
      [](const Image& tile, std::string* out) {
        uLongf size = compressBound(tile.size_bytes());
        out->resize(size);
        if (compress2(reinterpret_cast<Bytef*>(out->data()), &size, tile.data(), tile.size_bytes(),
                      6) != Z_OK) {
          return absl::InternalError("compress2");
        }
        out->resize(size);
        return absl::OkStatus();
      },
      /*with_decode=*/false);
}

void RegisterZlibInflate(const TileSet* set) {
  benchmark::RegisterBenchmark(
      absl::StrCat("zlib6/decode/", set->name, "/raw_samples").c_str(),
      [set](benchmark::State& state) {
        std::vector<std::string> encoded;
        size_t total = 0;
        for (const Image& tile : set->tiles) {
          uLongf size = compressBound(tile.size_bytes());
          std::string out(size, '\0');
          compress2(reinterpret_cast<Bytef*>(out.data()), &size, tile.data(), tile.size_bytes(), 6);
          out.resize(size);
          total += size;
          encoded.push_back(std::move(out));
        }
        std::vector<uint8_t> raw(set->tiles[0].size_bytes());
        for (auto _ : state) {
          for (size_t i = 0; i < encoded.size(); ++i) {
            uLongf size = raw.size();
            if (uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(encoded[i].data()),
                           encoded[i].size()) != Z_OK) {
              state.SkipWithError("uncompress");
              return;
            }
            benchmark::DoNotOptimize(raw.data());
          }
        }
        SetCounters(state, *set, total);
      });
}

std::vector<TileSet>* LoadTileSets() {
  auto* sets = new std::vector<TileSet>();
  for (int size : {256, 512}) {
    absl::StatusOr<Image> rgb = internal::LandsatRgbTile(size);
    if (!rgb.ok()) {
      std::fprintf(stderr, "%s\n", std::string(rgb.status().message()).c_str());
      std::exit(1);
    }
    TileSet set{absl::StrCat("landsat_rgb_", size), {}};
    set.tiles.push_back(*std::move(rgb));
    sets->push_back(std::move(set));
  }
  for (int size : {256, 512}) {
    absl::StatusOr<std::vector<internal::DemTile>> dems = internal::RealDemTiles(size);
    if (!dems.ok()) {
      std::fprintf(stderr, "%s\n", std::string(dems.status().message()).c_str());
      std::exit(1);
    }
    TileSet elev{absl::StrCat("elev_int16_", size), {}};
    TileSet olinda{absl::StrCat("olinda_float32_", size), {}};
    TileSet etopo{absl::StrCat("etopo20_float32_", size), {}};
    for (internal::DemTile& tile : *dems) {
      TileSet& target = tile.name.rfind("elev", 0) == 0     ? elev
                        : tile.name.rfind("olinda", 0) == 0 ? olinda
                                                            : etopo;
      target.tiles.push_back(std::move(tile.image));
    }
    sets->push_back(std::move(elev));
    sets->push_back(std::move(olinda));
    sets->push_back(std::move(etopo));
  }
  return sets;
}

void RegisterAll(const std::vector<TileSet>& sets) {
  for (const TileSet& set : sets) {
    const TileSet* s = &set;
    if (set.name.rfind("landsat", 0) == 0) {
      for (int quality : {75, 85, 95}) {
        for (ChromaSubsampling sub : {ChromaSubsampling::k420, ChromaSubsampling::k444}) {
          EncodeOptions options;
          options.quality = quality;
          options.subsampling = sub;
          RegisterCodec(
              "jpeg",
              absl::StrFormat("q%d_%s", quality, sub == ChromaSubsampling::k420 ? "420" : "444"), s,
              [options](const Image& tile, std::string* out) {
                return Encode(CodecId::kJpeg, tile.view(), options, out);
              });
        }
      }
      for (int level : {1, 6, 9}) {
        EncodeOptions options;
        options.compression_level = level;
        RegisterCodec("png", absl::StrCat("level", level), s,
                      [options](const Image& tile, std::string* out) {
                        return Encode(CodecId::kPng, tile.view(), options, out);
                      });
      }
      for (int quality : {75, 85}) {
        EncodeOptions options;
        options.quality = quality;
        RegisterCodec("webp", absl::StrCat("lossy_q", quality), s,
                      [options](const Image& tile, std::string* out) {
                        return Encode(CodecId::kWebp, tile.view(), options, out);
                      });
      }
      EncodeOptions lossless;
      lossless.lossless = true;
      lossless.quality = 75;  // Effort for lossless.
      RegisterCodec("webp", "lossless", s, [lossless](const Image& tile, std::string* out) {
        return Encode(CodecId::kWebp, tile.view(), lossless, out);
      });
      continue;
    }
    for (int level : {1, 6, 9}) {
      EncodeOptions options;
      options.compression_level = level;
      RegisterCodec("elevation", absl::StrCat("level", level), s,
                    [options](const Image& tile, std::string* out) {
                      return Encode(CodecId::kElevation, tile.view(), options, out);
                    });
    }
    for (ElevationPredictor p : {ElevationPredictor::kNone, ElevationPredictor::kDelta,
                                 ElevationPredictor::kDeltaBytePlanes}) {
      RegisterCodec("elevation",
                    p == ElevationPredictor::kNone    ? "level6_predictor_none"
                    : p == ElevationPredictor::kDelta ? "level6_predictor_delta"
                                                      : "level6_predictor_delta_planes",
                    s, [p](const Image& tile, std::string* out) {
                      return EncodeElevationWithPredictor(tile.view(), {}, p, out);
                    });
    }
    RegisterZlibPeer(s);
    RegisterZlibInflate(s);
  }
}

}  // namespace
}  // namespace codec
}  // namespace flatpyramid

namespace {

// WriteTilesAsPpm writes the Landsat tiles as binary PPM (P6) for tjbench, so that
// codec/compare_tjbench.sh times libjpeg-turbo's own tool on exactly our pixels.
int WriteTilesAsPpm(const std::string& directory) {
  for (int size : {256, 512}) {
    absl::StatusOr<flatpyramid::codec::Image> tile =
        flatpyramid::codec::internal::LandsatRgbTile(size);
    if (!tile.ok()) {
      std::fprintf(stderr, "%s\n", std::string(tile.status().message()).c_str());
      return 1;
    }
    const std::string path = absl::StrFormat("%s/landsat_rgb_%d.ppm", directory, size);
    FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
      std::perror(path.c_str());
      return 1;
    }
    std::fprintf(file, "P6\n%d %d\n255\n", size, size);
    const bool written =
        std::fwrite(tile->data(), 1, tile->size_bytes(), file) == tile->size_bytes();
    if (std::fclose(file) != 0 || !written) {
      std::perror(path.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // `bazel run` starts us inside <binary>.runfiles/<workspace>: point the data helpers there.
  if (std::getenv("TEST_SRCDIR") == nullptr) {
    const std::string runfiles = std::string(argv[0]) + ".runfiles";
    setenv("TEST_SRCDIR", access(runfiles.c_str(), R_OK) == 0 ? runfiles.c_str() : "..", 1);
  }
  constexpr absl::string_view kWriteFlag = "--write_tiles_ppm=";
  for (int i = 1; i < argc; ++i) {
    if (absl::StartsWith(argv[i], kWriteFlag)) return WriteTilesAsPpm(argv[i] + kWriteFlag.size());
  }
  benchmark::Initialize(&argc, argv);
  const auto* sets = flatpyramid::codec::LoadTileSets();
  flatpyramid::codec::RegisterAll(*sets);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
