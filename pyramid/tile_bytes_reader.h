// pyramid::TileBytesReader opens a pyramid file (pyramid/FORMAT.md) for its metadata and its
// tiles' stored (encoded) bytes, and nothing else: no decoding, no CRS work, so it links
// neither GDAL nor the codecs. Tools that copy tile bytes (convert_pyramid, merge_pyramids)
// use it and start without loading GDAL's shared libraries; pyramid::Reader is built on it and
// adds decoded tiles, windows and samples.
//
// Errors: absl::Status naming the file, tile or field and what to do; bad files never abort.
// Open refuses what breaks the format (CheckMetadata, the levels against the storage sections).
//
// Thread safety: every const method may be called concurrently from any number of threads.
//
// Caveats:
//   - The file must not be modified in place while open. An unfinished build opens only with
//     TileBytesReaderOptions::allow_being_written; while its writer runs it moves bytes under
//     the map, so such a reader is good for metadata() and build_in_progress(), not for tiles.
//
// Example:
//   absl::StatusOr<std::unique_ptr<TileBytesReader>> pyramid =
//       TileBytesReader::Open("landsat.fpyr");
//   if (!pyramid.ok()) return pyramid.status();
//   absl::StatusOr<absl::string_view> jpeg = (*pyramid)->GetTileBytes(12, 1534, 2210);
#ifndef FLATPYRAMID_PYRAMID_TILE_BYTES_READER_H_
#define FLATPYRAMID_PYRAMID_TILE_BYTES_READER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/metadata.pb.h"

namespace flatpyramid {
namespace storage {
class Reader;
}  // namespace storage

namespace pyramid {

// TileBytesReaderOptions configures TileBytesReader::Open.
struct TileBytesReaderOptions {
  // allow_being_written opens a pyramid whose build has not finished, running or stopped:
  // the levels and tiles of its last commit point, with the metadata the build will seal
  // (its per-level counts so far); build_in_progress() says how far it got.
  bool allow_being_written = false;
};

// BuildInProgress is the last commit point of a pyramid whose build has not finished
// (TileBytesReader::build_in_progress).
struct BuildInProgress {
  uint64_t units_done = 0;   // Blocks of the base level (subtrees) committed, in Morton order.
  uint64_t units_total = 0;  // Blocks in the whole build.
  uint64_t tiles_written = 0;
  // writer_active: a writer held the file's lock at Open (the build was running; its file
  // changes under the map, see the caveats). False for a build that was stopped or killed.
  bool writer_active = false;
};

// BuildProgressText is "3 of 12 blocks committed, 140 tiles; build_pyramid is writing it
// now" (or "no build_pyramid is writing it"), for messages.
std::string BuildProgressText(const BuildInProgress& build);

// TileBytesReader is an open, read-only pyramid's metadata and stored tiles. It is move-free:
// hold it by unique_ptr.
class TileBytesReader {
 public:
  // Open maps `path` read-only and checks it before anything is read: a //storage file whose
  // user metadata is a PyramidMetadata (kMetadataTypeName) that passes CheckMetadata, each
  // level in its own section SectionName(zoom). Errors name the file and the fault (NotFound,
  // InvalidArgument, DataLoss), and say what to do: Unavailable while a writer holds the file
  // and FailedPrecondition for an unfinished build that is not running, unless
  // options.allow_being_written.
  static absl::StatusOr<std::unique_ptr<TileBytesReader>> Open(
      const std::string& path, const TileBytesReaderOptions& options = {});
  ~TileBytesReader();
  TileBytesReader(const TileBytesReader&) = delete;
  TileBytesReader& operator=(const TileBytesReader&) = delete;

  const std::string& path() const { return path_; }
  const PyramidMetadata& metadata() const { return metadata_; }
  const geo::TileMatrixSet& tile_matrix_set() const { return tms_; }
  int min_zoom() const { return static_cast<int>(metadata_.min_zoom()); }
  int max_zoom() const { return static_cast<int>(metadata_.max_zoom()); }
  // storage gives access to the underlying store (entries of a level in key order, Verify).
  const storage::Reader& storage() const { return *storage_; }
  // build_in_progress is set when the file is an unfinished build (opened with
  // allow_being_written), nullopt for a finished pyramid.
  const std::optional<BuildInProgress>& build_in_progress() const { return build_in_progress_; }

  // FindLevel returns the metadata of level `zoom`, or nullptr when the pyramid has none.
  const Level* FindLevel(int zoom) const;
  // SectionFor returns the storage section of level `zoom`, or -1 when the pyramid has none.
  int64_t SectionFor(int zoom) const;

  // GetTileBytes returns the stored (encoded) bytes of tile z/x/y, zero-copy: the view points
  // into the file's memory map and stays valid as long as this reader lives.
  // Returns NotFound when the tile holds no data (absent tiles are not stored) or the level
  // does not exist, OutOfRange when x or y is outside the tile matrix at z.
  absl::StatusOr<absl::string_view> GetTileBytes(int z, uint32_t x, uint32_t y) const;

 private:
  TileBytesReader(std::string path, std::unique_ptr<storage::Reader> storage,
                  PyramidMetadata metadata, geo::TileMatrixSet tms,
                  std::optional<BuildInProgress> build);

  std::string path_;
  std::unique_ptr<storage::Reader> storage_;
  PyramidMetadata metadata_;
  geo::TileMatrixSet tms_;
  std::optional<BuildInProgress> build_in_progress_;
  // levels_[z] points into metadata_ (nullptr: no level z); sections_[z] is its section or -1.
  std::array<const Level*, geo::TileMatrixSet::kMaxZoom + 1> levels_{};
  std::array<int64_t, geo::TileMatrixSet::kMaxZoom + 1> sections_{};
};

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_TILE_BYTES_READER_H_
