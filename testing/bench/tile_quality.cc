// tile_quality: PSNR of a pyramid's tiles at one zoom against a gdalwarp reference.
//
// For a fixed random sample of tiles z/x/y of WebMercatorQuad, the reference is the source
// warped by GDAL (GDALWarp, the library behind gdalwarp) to exactly that tile's bounds and
// size with the same resampling; the tile under test is read the way its format is read
// (peer_tiles.h, or pyramid::Reader::GetTile). Prints one JSON object:
//   {"psnr_db": 38.1, "tiles": 64, "samples": 12582912}
// The PSNR pools the squared error of every colour sample of every compared tile; samples a
// tile marks transparent (alpha 0) are skipped.
//
//   tile_quality --reference=relief_4326.tif --kind=cog --path=cog.tif --zoom=4
//   tile_quality ... --kind=dir --path=tiles --template='{z}/{x}/{y}.png'
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "gdal_priv.h"
#include "gdal_utils.h"
#include "gflags/gflags.h"
#include "pyramid/reader.h"
#include "testing/bench/peer_tiles.h"
#include "testing/image_compare.h"

DEFINE_string(reference, "", "the source raster the pyramid was built from");
DEFINE_string(kind, "", "cog | mbtiles | dir | flatpyramid");
DEFINE_string(path, "", "the pyramid: file or directory");
DEFINE_string(template, "{z}/{x}/{y}.png", "--kind=dir: tile file names under --path");
DEFINE_int32(zoom, -1, "zoom level to compare");
DEFINE_int32(samples, 64, "tiles to compare (all of the level when it has fewer)");
DEFINE_string(resampling, "bilinear", "gdalwarp -r for the reference");
DEFINE_uint64(seed, 1, "seed of the tile sample");

namespace flatpyramid {
namespace bench {
namespace {

constexpr double kWebMercatorHalf = 20037508.342789244;

// ReferenceTile warps the source to the bounds of tile z/x/y: kTileSize^2, RGB interleaved.
absl::StatusOr<std::vector<uint8_t>> ReferenceTile(GDALDatasetH source, int z, uint32_t x,
                                                   uint32_t y) {
  const double tile_metres = 2 * kWebMercatorHalf / static_cast<double>(uint64_t{1} << z);
  const double min_x = -kWebMercatorHalf + x * tile_metres;
  const double max_y = kWebMercatorHalf - y * tile_metres;
  const std::vector<std::string> args = {"-of",
                                         "MEM",
                                         "-t_srs",
                                         "EPSG:3857",
                                         "-te",
                                         absl::StrFormat("%.10f", min_x),
                                         absl::StrFormat("%.10f", max_y - tile_metres),
                                         absl::StrFormat("%.10f", min_x + tile_metres),
                                         absl::StrFormat("%.10f", max_y),
                                         "-ts",
                                         absl::StrCat(kTileSize),
                                         absl::StrCat(kTileSize),
                                         "-r",
                                         FLAGS_resampling};
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  GDALWarpAppOptions* options = GDALWarpAppOptionsNew(argv.data(), nullptr);
  int usage_error = 0;
  GDALDatasetH warped = GDALWarp("", nullptr, 1, &source, options, &usage_error);
  GDALWarpAppOptionsFree(options);
  if (warped == nullptr) {
    return absl::InternalError(absl::StrCat("gdalwarp reference of tile ", z, "/", x, "/", y,
                                            " failed: ", CPLGetLastErrorMsg()));
  }
  std::vector<uint8_t> rgb(kTileSize * kTileSize * 3);
  const CPLErr error =
      GDALDatasetRasterIO(warped, GF_Read, 0, 0, kTileSize, kTileSize, rgb.data(), kTileSize,
                          kTileSize, GDT_Byte, 3, nullptr, 3, 3 * kTileSize, 1);
  GDALClose(warped);
  if (error != CE_None) return absl::InternalError("reading the warped reference failed");
  return rgb;
}

// TileReader returns tile z/x/y of the pyramid under test decoded to uint8 (3 or 4 bands).
class TileReader {
 public:
  static absl::StatusOr<std::unique_ptr<TileReader>> Open() {
    std::unique_ptr<TileReader> reader(new TileReader());
    if (FLAGS_kind == "cog") {
      absl::StatusOr<std::unique_ptr<CogTiles>> cog = CogTiles::Open(FLAGS_path);
      if (!cog.ok()) return cog.status();
      reader->cog_ = std::move(*cog);
    } else if (FLAGS_kind == "mbtiles") {
      absl::StatusOr<std::unique_ptr<MbtilesTiles>> mbtiles = MbtilesTiles::Open(FLAGS_path);
      if (!mbtiles.ok()) return mbtiles.status();
      reader->mbtiles_ = std::move(*mbtiles);
    } else if (FLAGS_kind == "dir") {
      reader->directory_ = std::make_unique<DirectoryTiles>(FLAGS_path, FLAGS_template);
    } else if (FLAGS_kind == "flatpyramid") {
      pyramid::ReaderOptions options;
      options.private_cache_bytes = 0;
      absl::StatusOr<std::unique_ptr<pyramid::Reader>> opened =
          pyramid::Reader::Open(FLAGS_path, options);
      if (!opened.ok()) return opened.status();
      reader->pyramid_ = std::move(*opened);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--kind=", FLAGS_kind, " is not one of cog, mbtiles, dir, flatpyramid"));
    }
    return reader;
  }

  absl::StatusOr<codec::Image> Read(int z, uint32_t x, uint32_t y) {
    if (cog_ != nullptr) {
      codec::Image tile(kTileSize, kTileSize, cog_->band_count(), codec::PixelType::kUint8);
      absl::Status status = cog_->ReadTile(z, x, y, tile.mutable_view());
      if (!status.ok()) return status;
      return tile;
    }
    if (pyramid_ != nullptr) {
      absl::StatusOr<std::shared_ptr<const codec::Image>> tile = pyramid_->GetTile(z, x, y);
      if (!tile.ok()) return tile.status();
      const codec::Image& stored = **tile;
      if (stored.type() != codec::PixelType::kUint8) {
        return absl::InvalidArgumentError("the pyramid is not 8-bit");
      }
      codec::Image copy(stored.width(), stored.height(), stored.bands(), stored.type());
      std::copy(stored.data(), stored.data() + stored.size_bytes(), copy.data());
      return copy;
    }
    std::string bytes;
    absl::Status status = mbtiles_ != nullptr ? mbtiles_->TileBytes(z, x, y, &bytes)
                                              : directory_->TileBytes(z, x, y, &bytes);
    if (!status.ok()) return status;
    return DecodeTileBytes(bytes);
  }

 private:
  std::unique_ptr<CogTiles> cog_;
  std::unique_ptr<MbtilesTiles> mbtiles_;
  std::unique_ptr<DirectoryTiles> directory_;
  std::unique_ptr<pyramid::Reader> pyramid_;
};

absl::Status Run() {
  if (FLAGS_reference.empty() || FLAGS_path.empty() || FLAGS_zoom < 0 || FLAGS_zoom > 24 ||
      FLAGS_samples < 1) {
    return absl::InvalidArgumentError(
        "--reference, --kind, --path, --zoom (0..24) and --samples (>= 1) are required");
  }
  GDALAllRegister();
  GDALDatasetH source = GDALOpen(FLAGS_reference.c_str(), GA_ReadOnly);
  if (source == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("--reference=", FLAGS_reference, ": ", CPLGetLastErrorMsg()));
  }
  std::unique_ptr<void, void (*)(void*)> close_source(source, [](void* d) { GDALClose(d); });
  if (GDALGetRasterCount(source) < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("--reference=", FLAGS_reference, ": not an RGB raster"));
  }
  absl::StatusOr<std::unique_ptr<TileReader>> reader = TileReader::Open();
  if (!reader.ok()) return reader.status();

  const uint64_t side = uint64_t{1} << FLAGS_zoom;
  const uint64_t count = std::min<uint64_t>(side * side, static_cast<uint64_t>(FLAGS_samples));
  std::set<std::pair<uint32_t, uint32_t>> tiles;
  std::mt19937_64 random(FLAGS_seed);
  std::uniform_int_distribution<uint32_t> coordinate(0, static_cast<uint32_t>(side - 1));
  while (tiles.size() < count) tiles.insert({coordinate(random), coordinate(random)});

  double squared_error = 0;
  uint64_t samples = 0;
  for (const auto& [x, y] : tiles) {
    absl::StatusOr<std::vector<uint8_t>> reference = ReferenceTile(source, FLAGS_zoom, x, y);
    if (!reference.ok()) return reference.status();
    absl::StatusOr<codec::Image> tile = (*reader)->Read(FLAGS_zoom, x, y);
    if (!tile.ok()) {
      return absl::Status(tile.status().code(),
                          absl::StrCat(FLAGS_kind, " ", FLAGS_path, ": tile ", FLAGS_zoom, "/", x,
                                       "/", y, ": ", tile.status().message()));
    }
    if (tile->width() != kTileSize || tile->height() != kTileSize || tile->bands() < 3) {
      return absl::InvalidArgumentError(
          absl::StrCat(FLAGS_kind, " tile ", FLAGS_zoom, "/", x, "/", y, " is ", tile->width(), "x",
                       tile->height(), " with ", tile->bands(), " bands; expected 256x256 RGB(A)"));
    }
    const int bands = tile->bands();
    std::vector<uint8_t> rgb(reference->size());
    std::vector<uint8_t> valid(reference->size(), 1);
    for (size_t pixel = 0; pixel < rgb.size() / 3; ++pixel) {
      const uint8_t* in = tile->data() + pixel * bands;
      for (int band = 0; band < 3; ++band) {
        rgb[pixel * 3 + band] = in[band];
        valid[pixel * 3 + band] = bands == 4 && in[3] == 0 ? 0 : 1;
      }
    }
    const test::ImageDifference difference =
        test::CompareSamples<uint8_t>(absl::MakeConstSpan(rgb), absl::MakeConstSpan(*reference),
                                      255.0, 0.0, absl::MakeConstSpan(valid));
    if (difference.compared == 0) continue;
    const double mse = std::isinf(difference.psnr_db)
                           ? 0.0
                           : 255.0 * 255.0 / std::pow(10.0, difference.psnr_db / 10.0);
    squared_error += mse * difference.compared;
    samples += difference.compared;
  }
  if (samples == 0) {
    return absl::FailedPreconditionError("every sampled tile is fully transparent");
  }
  const double mse = squared_error / samples;
  const double psnr = mse == 0 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
  std::printf("{\"psnr_db\": %.3f, \"tiles\": %zu, \"samples\": %llu}\n", psnr, tiles.size(),
              static_cast<unsigned long long>(samples));
  return absl::OkStatus();
}

}  // namespace
}  // namespace bench
}  // namespace flatpyramid

int main(int argc, char** argv) {
  gflags::SetUsageMessage("PSNR of pyramid tiles against a gdalwarp reference");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  const absl::Status status = flatpyramid::bench::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "tile_quality: %s\n", std::string(status.ToString()).c_str());
    return 1;
  }
  return 0;
}
