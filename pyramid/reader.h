// pyramid::Reader reads a pyramid file (pyramid/FORMAT.md): its metadata, single tiles (as
// stored, or decoded through a shared TileCache), georeferenced windows in any CRS GDAL knows
// (ReadRegion, like a GDAL read of a dataset with overviews), and point samples (Sample).
// Tiles come out normalised: whatever codec a tile was stored with, GetTile and ReadRegion
// return metadata().band_count() bands of pixel_type(), opaque alpha added where a stored
// tile has none.
//
// Errors: absl::Status naming the file, tile or field and what to do; bad files and bad
// requests never abort. Open refuses what breaks the format (CheckMetadata).
//
// Thread safety: every const method may be called concurrently from any number of threads.
//
// Caveats:
//   - The file must not be modified in place while open. An unfinished build opens only with
//     ReaderOptions::allow_being_written; while its writer runs it moves bytes under the map,
//     so such a Reader is good for metadata() and build_in_progress(), not for tiles.
//   - Only geographic request CRSs and the set's own CRS wrap around the antimeridian; a
//     projected window straddling it (a Pacific UTM zone) reads the whole world's width.
//   - Closing a Reader erases its tiles from a shared cache, which scans the whole cache.
//
// Example:
//   absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open("landsat.fpyr");
//   if (!reader.ok()) return reader.status();
//   RegionRequest request;
//   request.bbox = {-34.90, -8.05, -34.85, -8.00};  // lon/lat, EPSG:4326.
//   request.width = request.height = 512;
//   absl::StatusOr<Region> region = (*reader)->ReadRegion(request);
#ifndef FLATPYRAMID_PYRAMID_READER_H_
#define FLATPYRAMID_PYRAMID_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/format.h"
#include "pyramid/metadata.pb.h"
#include "pyramid/region.h"
#include "pyramid/resampling.h"
#include "pyramid/tile_bytes_reader.h"
#include "pyramid/tile_cache.h"

namespace flatpyramid {
namespace storage {
class Reader;
}  // namespace storage

namespace pyramid {
namespace internal {
class TileSource;
class RequestSrsCache;
}  // namespace internal

// ReaderOptions configures Reader::Open.
struct ReaderOptions {
  // cache is shared by every Reader given the same pointer. nullptr: the Reader makes a
  // private cache of `private_cache_bytes`.
  std::shared_ptr<TileCache> cache;
  size_t private_cache_bytes = size_t{128} << 20;
  // allow_being_written opens a pyramid whose build has not finished, running or stopped:
  // the levels and tiles of its last commit point, with the metadata the build will seal
  // (its per-level counts so far); build_in_progress() says how far it got.
  bool allow_being_written = false;
};

// Reader is an open, read-only pyramid. It is move-free: hold it by unique_ptr. Its metadata
// and stored bytes come from a TileBytesReader (tile_bytes()), which it owns.
class Reader {
 public:
  // Open maps `path` read-only and checks it before anything is read: a //storage file whose
  // user metadata is a PyramidMetadata (kMetadataTypeName) that passes CheckMetadata, each
  // level in its own section SectionName(zoom). Errors name the file and the fault (NotFound,
  // InvalidArgument, DataLoss), and say what to do: Unavailable while a writer holds the file and
  // FailedPrecondition for an unfinished build that is not running, unless
  // options.allow_being_written.
  static absl::StatusOr<std::unique_ptr<Reader>> Open(const std::string& path,
                                                      const ReaderOptions& options = {});
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const std::string& path() const { return bytes_->path(); }
  const PyramidMetadata& metadata() const { return bytes_->metadata(); }
  const geo::TileMatrixSet& tile_matrix_set() const { return bytes_->tile_matrix_set(); }
  codec::PixelType pixel_type() const { return pixel_type_; }
  int band_count() const { return static_cast<int>(metadata().band_count()); }
  int tile_size() const { return static_cast<int>(metadata().tile_size()); }
  int min_zoom() const { return bytes_->min_zoom(); }
  int max_zoom() const { return bytes_->max_zoom(); }
  // tile_bytes is the metadata and stored bytes alone, for code that copies tiles.
  const TileBytesReader& tile_bytes() const { return *bytes_; }
  // storage gives access to the underlying store (section names, Verify, ...).
  const storage::Reader& storage() const { return bytes_->storage(); }
  const std::shared_ptr<TileCache>& cache() const { return cache_; }
  // build_in_progress is set when the file is an unfinished build (opened with
  // ReaderOptions::allow_being_written), nullopt for a finished pyramid.
  const std::optional<BuildInProgress>& build_in_progress() const {
    return bytes_->build_in_progress();
  }

  // FindLevel returns the metadata of level `zoom`, or nullptr when the pyramid has none.
  const Level* FindLevel(int zoom) const { return bytes_->FindLevel(zoom); }

  // GetTileBytes returns the stored (encoded) bytes of tile z/x/y, zero-copy: the view points
  // into the file's memory map and stays valid as long as this Reader lives.
  // Returns NotFound when the tile holds no data (absent tiles are not stored) or the level
  // does not exist, OutOfRange when x or y is outside the tile matrix at z.
  absl::StatusOr<absl::string_view> GetTileBytes(int z, uint32_t x, uint32_t y) const {
    return bytes_->GetTileBytes(z, x, y);
  }

  // GetTile returns tile z/x/y decoded and normalised (band_count() bands of pixel_type()),
  // from the cache or decoded and cached. Errors as GetTileBytes, plus DataLoss when the
  // stored bytes do not decode to the declared size, type and bands.
  absl::StatusOr<std::shared_ptr<const codec::Image>> GetTile(int z, uint32_t x, uint32_t y) const;

  // ReadRegion renders `request`: it picks the level whose resolution matches the requested
  // one, mosaics the tiles under the window (plus the kernel's reach; tiles missing at that
  // level come from the nearest coarser level that has them) and resamples the mosaic onto
  // the requested grid: GDAL's warper, or the same pixels computed directly for nearest and
  // bilinear in the set's own CRS (pyramid/internal/read/render.h). Tiles are decoded in
  // parallel (at most kMaxDecodeThreads threads). InvalidArgument for an empty or
  // inverted bbox (min_x > max_x is inverted only where x does not wrap), one wider than the
  // world, a size outside 1..16384, or an unknown CRS; ResourceExhausted when the
  // window would need a mosaic of more than kMaxMosaicPixels source pixels (ask for a smaller
  // window or force a coarser `zoom`).
  absl::StatusOr<Region> ReadRegion(const RegionRequest& request) const;

  // Verify checks the whole file, for verify_pyramid: the storage structure and checksums
  // (storage::Reader::Verify), the metadata (CheckMetadata), every level's statistics
  // (LevelStats: tile_count, unique_tile_count, bytes, the tile range) against its keys and
  // values, and every tile: a codec the metadata's codec allows (TileCodecAllows), the
  // declared size, pixel type and bands, and that it decodes. Returns DataLoss listing the first
  // faults, each naming the level or tile.
  absl::Status Verify() const;

  // kMaxMosaicPixels, kMaxDecodeThreads: pyramid/region.h.
  static constexpr uint64_t kMaxMosaicPixels = kMaxRegionMosaicPixels;
  static constexpr int kMaxDecodeThreads = kMaxRegionDecodeThreads;

  // Sample returns band `band` at longitude `lon`, latitude `lat` (degrees, WGS 84) from the
  // finest level holding data there, or nullopt where no level does (outside the data,
  // nodata, or transparent at every level). A level holds no data at the point when its tile
  // is missing or when the sample is nodata / transparent (kNearest: the pixel under the
  // point; kBilinear: all four surrounding pixel centres); the next coarser level is tried
  // then. kBilinear weighs the four surrounding pixel centres and ignores those without data
  // (renormalising the rest). InvalidArgument for a non-finite or out-of-range position or a
  // band outside 0..band_count()-1 (an alpha band cannot be sampled).
  absl::StatusOr<std::optional<double>> Sample(double lon, double lat,
                                               SampleMethod method = SampleMethod::kBilinear,
                                               int band = 0) const;

 private:
  Reader(std::unique_ptr<TileBytesReader> bytes, std::string tms_srs_wkt,
         std::shared_ptr<TileCache> cache);

  std::unique_ptr<TileBytesReader> bytes_;
  codec::PixelType pixel_type_ = codec::PixelType::kUint8;
  std::shared_ptr<TileCache> cache_;
  // tiles_ reads the tiles (pyramid/internal/read/); it points into the members above.
  std::unique_ptr<internal::TileSource> tiles_;
  std::unique_ptr<internal::RequestSrsCache> srs_cache_;
};

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_READER_H_
