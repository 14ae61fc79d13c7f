// Encode and decode throughput (megapixels per second) and encoded size of every codec and
// setting, on 256x256 and 512x512 tiles cut from the real test data (codec/README.md says
// which sets are native crops, padded edge tiles, derived or upsampled), with zlib level 6
// (GeoTIFF DEFLATE) with and without GeoTIFF's predictor as the elevation codec's peers.
//
//   bazel run --config=opt //codec:codec_benchmark -- --benchmark_min_time=0.2
//   (--write_tiles_ppm=DIR writes the Landsat RGB and gray tiles as PPM / PGM for tjbench
//   and exits.)
//
// Names: <codec>/<encode|decode>/<tile set>/<setting>; jpeg/peek/<tile set> and its peer
// turbojpeg/header/<tile set> time the header check alone. Counters: Mpix/s, bytes (encoded size
// of one tile, averaged over the tiles of the set), ratio (raw bytes / encoded bytes).
#include <benchmark/benchmark.h>
#include <turbojpeg.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
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

// zlib level 6 over the raw samples, the peer of the elevation codec: what a GeoTIFF with
// DEFLATE and no predictor stores. Decode inflates into a caller buffer, as a GeoTIFF
// reader would.
absl::Status ZlibCompress(const uint8_t* data, size_t size, std::string* out) {
  uLongf compressed = compressBound(size);
  out->resize(compressed);
  if (compress2(reinterpret_cast<Bytef*>(out->data()), &compressed, data, size, 6) != Z_OK) {
    return absl::InternalError("compress2");
  }
  out->resize(compressed);
  return absl::OkStatus();
}

// TiffPredict applies GeoTIFF's predictor as libtiff does, row by row: PREDICTOR=2 for
// integers (each sample minus the previous one, modulo 2^16) and PREDICTOR=3 for float32
// (the row's bytes reordered into planes, most significant byte first, then each byte minus
// the previous byte of the row).
void TiffPredict(const Image& tile, std::vector<uint8_t>* out) {
  const size_t width = tile.width();
  const size_t row_bytes = tile.row_stride();
  out->resize(tile.size_bytes());
  for (int y = 0; y < tile.height(); ++y) {
    const uint8_t* in = tile.data() + y * row_bytes;
    uint8_t* row = out->data() + y * row_bytes;
    if (tile.type() == PixelType::kFloat32) {
      for (size_t x = 0; x < width; ++x) {
        for (size_t b = 0; b < 4; ++b) row[(3 - b) * width + x] = in[4 * x + b];
      }
      for (size_t i = row_bytes - 1; i > 0; --i) row[i] = static_cast<uint8_t>(row[i] - row[i - 1]);
    } else {
      uint16_t previous = 0;
      for (size_t x = 0; x < width; ++x) {
        uint16_t sample;
        std::memcpy(&sample, in + 2 * x, 2);
        const uint16_t delta = static_cast<uint16_t>(sample - previous);
        previous = sample;
        std::memcpy(row + 2 * x, &delta, 2);
      }
    }
  }
}

// TiffUnpredict undoes TiffPredict in place; `scratch` holds one row.
void TiffUnpredict(uint8_t* data, int width, int height, PixelType type,
                   std::vector<uint8_t>* scratch) {
  const size_t w = static_cast<size_t>(width);
  const size_t row_bytes = w * BytesPerSample(type);
  scratch->resize(row_bytes);
  for (int y = 0; y < height; ++y) {
    uint8_t* row = data + y * row_bytes;
    if (type == PixelType::kFloat32) {
      for (size_t i = 1; i < row_bytes; ++i) row[i] = static_cast<uint8_t>(row[i] + row[i - 1]);
      std::memcpy(scratch->data(), row, row_bytes);
      for (size_t x = 0; x < w; ++x) {
        for (size_t b = 0; b < 4; ++b) row[4 * x + b] = (*scratch)[(3 - b) * w + x];
      }
    } else {
      uint16_t previous = 0;
      for (size_t x = 0; x < w; ++x) {
        uint16_t delta;
        std::memcpy(&delta, row + 2 * x, 2);
        previous = static_cast<uint16_t>(previous + delta);
        std::memcpy(row + 2 * x, &previous, 2);
      }
    }
  }
}

// RegisterZlibPeers registers zlib 6 on the raw samples ("raw_samples") and after GeoTIFF's
// predictor ("tiff_predictor"), encode and decode; decode checks the first round trip.
void RegisterZlibPeers(const TileSet* set) {
  for (bool predictor : {false, true}) {
    const std::string setting = predictor ? "tiff_predictor" : "raw_samples";
    const std::string suffix = absl::StrCat(set->name, "/", setting);
    benchmark::RegisterBenchmark(absl::StrCat("zlib6/encode/", suffix).c_str(),
                                 [set, predictor](benchmark::State& state) {
                                   std::vector<uint8_t> predicted;
                                   std::string out;
                                   size_t total = 0;
                                   for (auto _ : state) {
                                     total = 0;
                                     for (const Image& tile : set->tiles) {
                                       const uint8_t* data = tile.data();
                                       if (predictor) {
                                         TiffPredict(tile, &predicted);
                                         data = predicted.data();
                                       }
                                       if (!ZlibCompress(data, tile.size_bytes(), &out).ok()) {
                                         state.SkipWithError("compress2");
                                         return;
                                       }
                                       total += out.size();
                                       benchmark::DoNotOptimize(out.data());
                                     }
                                   }
                                   SetCounters(state, *set, total);
                                 });
    benchmark::RegisterBenchmark(
        absl::StrCat("zlib6/decode/", suffix).c_str(), [set, predictor](benchmark::State& state) {
          std::vector<std::string> encoded;
          std::vector<uint8_t> predicted, scratch;
          size_t total = 0;
          for (const Image& tile : set->tiles) {
            const uint8_t* data = tile.data();
            if (predictor) {
              TiffPredict(tile, &predicted);
              data = predicted.data();
            }
            std::string out;
            if (!ZlibCompress(data, tile.size_bytes(), &out).ok()) {
              state.SkipWithError("compress2");
              return;
            }
            total += out.size();
            encoded.push_back(std::move(out));
          }
          const Image& first = set->tiles[0];
          std::vector<uint8_t> raw(first.size_bytes());
          bool checked = false;
          for (auto _ : state) {
            for (size_t i = 0; i < encoded.size(); ++i) {
              uLongf size = raw.size();
              if (uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(encoded[i].data()),
                             encoded[i].size()) != Z_OK) {
                state.SkipWithError("uncompress");
                return;
              }
              if (predictor) {
                TiffUnpredict(raw.data(), first.width(), first.height(), first.type(), &scratch);
              }
              if (!checked) {
                checked = true;
                if (std::memcmp(raw.data(), set->tiles[i].data(), raw.size()) != 0) {
                  state.SkipWithError("zlib peer round trip differs");
                  return;
                }
              }
              benchmark::DoNotOptimize(raw.data());
            }
          }
          SetCounters(state, *set, total);
        });
  }
}

// RegisterPeek times the header check of one JPEG tile of the set (codec::PeekInfo, what an
// import runs on every tile) against TurboJPEG's own header read, its peer.
void RegisterPeek(const TileSet* set) {
  auto jpeg = std::make_shared<std::string>();
  if (!Encode(CodecId::kJpeg, set->tiles[0].view(), {}, jpeg.get()).ok()) return;
  benchmark::RegisterBenchmark(absl::StrCat("jpeg/peek/", set->name).c_str(),
                               [jpeg](benchmark::State& state) {
                                 for (auto _ : state) {
                                   absl::StatusOr<ImageInfo> info = PeekInfo(*jpeg);
                                   benchmark::DoNotOptimize(info);
                                 }
                               });
  benchmark::RegisterBenchmark(
      absl::StrCat("turbojpeg/header/", set->name).c_str(), [jpeg](benchmark::State& state) {
        tjhandle handle = tjInitDecompress();
        int width, height, subsampling, colorspace;
        for (auto _ : state) {
          const int rc =
              tjDecompressHeader3(handle, reinterpret_cast<const unsigned char*>(jpeg->data()),
                                  jpeg->size(), &width, &height, &subsampling, &colorspace);
          benchmark::DoNotOptimize(rc);
        }
        tjDestroy(handle);
      });
}

template <typename T>
T OrExit(absl::StatusOr<T> value) {
  if (!value.ok()) {
    std::fprintf(stderr, "%s\n", std::string(value.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(value);
}

TileSet OneTile(const std::string& name, Image tile) {
  TileSet set{name, {}};
  set.tiles.push_back(std::move(tile));
  return set;
}

std::vector<TileSet>* LoadTileSets() {
  auto* sets = new std::vector<TileSet>();
  for (int size : {256, 512}) {
    // RGB: 256 native crop, 512 upsampled, 512 edge tile (the native scene, black beyond).
    sets->push_back(
        OneTile(absl::StrCat("landsat_rgb_", size), OrExit(internal::LandsatRgbTile(size))));
    if (size == 512) {
      sets->push_back(OneTile("landsat_rgb_512_edge",
                              OrExit(internal::LandsatEdgeTile({3, 2, 1}, 512, false))));
    }
    // Gray: the near-infrared band, 256 native, 512 upsampled.
    sets->push_back(
        OneTile(absl::StrCat("landsat_gray_", size), OrExit(internal::LandsatTile({4}, size))));
    // With alpha: native edge tiles.
    sets->push_back(OneTile(absl::StrCat("landsat_ga_", size, "_edge"),
                            OrExit(internal::LandsatEdgeTile({4}, size, true))));
    sets->push_back(OneTile(absl::StrCat("landsat_rgba_", size, "_edge"),
                            OrExit(internal::LandsatEdgeTile({3, 2, 1}, size, true))));
  }
  for (int size : {256, 512}) {
    std::vector<internal::DemTile> dems = OrExit(internal::RealDemTiles(size));
    for (internal::DemTile& tile : dems) {
      if (sets->empty() || sets->back().name != tile.group)
        sets->push_back(TileSet{tile.group, {}});
      sets->back().tiles.push_back(std::move(tile.image));
    }
  }
  return sets;
}

void RegisterWith(const std::string& codec_name, CodecId codec, const std::string& setting,
                  const TileSet* set, const EncodeOptions& options) {
  RegisterCodec(codec_name, setting, set, [codec, options](const Image& tile, std::string* out) {
    return Encode(codec, tile.view(), options, out);
  });
}

void RegisterAll(const std::vector<TileSet>& sets) {
  for (const TileSet& set : sets) {
    const TileSet* s = &set;
    const int bands = set.tiles[0].bands();
    const PixelType type = set.tiles[0].type();
    if (type == PixelType::kUint8 && (bands == 1 || bands == 3)) RegisterPeek(s);
    if (type == PixelType::kUint8 && bands == 3) {
      for (int quality : {75, 85, 95}) {
        for (ChromaSubsampling sub : {ChromaSubsampling::k420, ChromaSubsampling::k444}) {
          EncodeOptions options;
          options.quality = quality;
          options.subsampling = sub;
          const std::string name =
              absl::StrFormat("q%d_%s", quality, sub == ChromaSubsampling::k420 ? "420" : "444");
          RegisterWith("jpeg", CodecId::kJpeg, name, s, options);  // Optimised Huffman tables.
          // tjbench's setting (standard tables, fast DCT below q96): compare_tjbench.sh
          // compares these rows.
          options.optimize_huffman = false;
          options.accurate_dct = false;
          RegisterWith("jpeg", CodecId::kJpeg, name + "_standard_huffman", s, options);
        }
      }
      EncodeOptions fast;
      fast.accurate_dct = false;
      RegisterWith("jpeg", CodecId::kJpeg, "q85_420_fast_dct", s, fast);
      for (int level : {1, 6, 9}) {
        EncodeOptions options;
        options.compression_level = level;
        RegisterWith("png", CodecId::kPng, absl::StrCat("level", level), s, options);
      }
    }
    if (type == PixelType::kUint8 && bands == 1) {
      RegisterWith("jpeg", CodecId::kJpeg, "q85_gray", s, {});
    }
    if (type == PixelType::kUint8 && bands != 3) {
      RegisterWith("png", CodecId::kPng, "level6", s, {});
    }
    if (type == PixelType::kUint8 && bands >= 3) {
      for (int quality : {75, 85}) {
        if (bands == 4 && quality == 75) continue;
        EncodeOptions options;
        options.quality = quality;
        RegisterWith("webp", CodecId::kWebp, absl::StrCat("lossy_q", quality), s, options);
      }
      EncodeOptions lossless;
      lossless.lossless = true;
      lossless.quality = 75;  // Effort for lossless.
      RegisterWith("webp", CodecId::kWebp, "lossless", s, lossless);
    }
    if (type == PixelType::kUint8) continue;
    if (type == PixelType::kUint16) {
      RegisterWith("png", CodecId::kPng, "level6_gray16", s, {});
    }
    for (int level : {1, 6, 9}) {
      EncodeOptions options;
      options.compression_level = level;
      RegisterWith("elevation", CodecId::kElevation, absl::StrCat("level", level), s, options);
    }
    for (ElevationPredictor p :
         {ElevationPredictor::kNone, ElevationPredictor::kDelta,
          ElevationPredictor::kDeltaBytePlanes, ElevationPredictor::kBytePlanes}) {
      RegisterCodec("elevation",
                    p == ElevationPredictor::kNone              ? "level6_predictor_none"
                    : p == ElevationPredictor::kDelta           ? "level6_predictor_delta"
                    : p == ElevationPredictor::kDeltaBytePlanes ? "level6_predictor_delta_planes"
                                                                : "level6_predictor_planes",
                    s, [p](const Image& tile, std::string* out) {
                      return EncodeElevationWithPredictor(tile.view(), {}, p, out);
                    });
    }
    RegisterZlibPeers(s);
  }
}

}  // namespace
}  // namespace codec
}  // namespace flatpyramid

namespace {

// WriteTilesAsPpm writes the Landsat RGB tiles as binary PPM (P6) and the gray ones as PGM
// (P5) for tjbench, so that codec/compare_tjbench.sh times libjpeg-turbo's own tool on
// exactly our pixels.
int WriteTilesAsPpm(const std::string& directory) {
  for (int size : {256, 512}) {
    for (bool gray : {false, true}) {
      absl::StatusOr<flatpyramid::codec::Image> tile =
          gray ? flatpyramid::codec::internal::LandsatTile({4}, size)
               : flatpyramid::codec::internal::LandsatRgbTile(size);
      if (!tile.ok()) {
        std::fprintf(stderr, "%s\n", std::string(tile.status().message()).c_str());
        return 1;
      }
      const std::string path = absl::StrFormat("%s/landsat_%s_%d.%s", directory,
                                               gray ? "gray" : "rgb", size, gray ? "pgm" : "ppm");
      FILE* file = std::fopen(path.c_str(), "wb");
      if (file == nullptr) {
        std::perror(path.c_str());
        return 1;
      }
      std::fprintf(file, "%s\n%d %d\n255\n", gray ? "P5" : "P6", size, size);
      const bool written =
          std::fwrite(tile->data(), 1, tile->size_bytes(), file) == tile->size_bytes();
      if (std::fclose(file) != 0 || !written) {
        std::perror(path.c_str());
        return 1;
      }
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
