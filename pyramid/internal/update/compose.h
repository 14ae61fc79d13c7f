// ComposeUpdate: writes an updated pyramid from the old one and a restricted build of the same
// pyramid over the updated area (BuildOptions::area with every source, the new ones on top).
//
// Level by level, the tiles inside the updated area are replaced: at the unit zoom and finer
// by the restricted build's tiles (they are a full build's, build_area.h), and above it by
// tiles formed here, bottom-up, from the four children of the updated level below with the
// pyramid's 2x2 overview resampling and codec (as a build forms them, but from the decoded
// children: with a lossy codec they differ from a full build's by the codec's error). Every
// other tile keeps its bytes, shared tiles still shared.
//
// Two ways to write the result. ComposeUpdate writes a new store: each level's old value blob,
// and the restricted build's, is copied whole (storage::Writer::AppendValuesFrom:
// copy_file_range, a reflink where the filesystem can) and the entries point into the copies;
// with `compact` every tile is copied on its own instead and no dead byte is left.
// ComposeInPlace changes the pyramid's own file (a storage::Writer from OpenForUpdate): each
// level gets a new index (ReplaceEntries) whose kept tiles point at their bytes where they
// are, and the new tiles are appended to the level's blob. Either way the replaced tiles' old
// bytes stay in the blob, unreferenced, counted in Level::dead_bytes.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_UPDATE_COMPOSE_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_UPDATE_COMPOSE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/metadata.pb.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// UpdateSources are the two pyramids an update reads.
struct UpdateSources {
  // The pyramid being updated; ComposeInPlace reads it through its writer instead (null).
  const storage::Reader* old_store = nullptr;
  PyramidMetadata old_metadata;
  const storage::Reader* area_store = nullptr;  // The restricted build.
  PyramidMetadata area_metadata;
  int unit_zoom = 0;  // The restricted build's.
  // replaced[z]: the tile rectangles of level z whose tiles the update replaces (those at the
  // unit zoom and finer that touch the area; above it, their ancestors).
  std::vector<std::vector<geo::TileRect>> replaced;
  bool compact = false;  // Copy tile by tile, leaving no dead bytes.
};

// DeadBytesAfter is how many dead bytes a bulk (not compacting) update would leave, over
// every level: those already dead, and the bytes of the old tiles it replaces.
uint64_t DeadBytesAfter(const UpdateSources& sources);

// UpdateCounts says what ComposeUpdate wrote.
struct UpdateCounts {
  uint64_t tiles_copied = 0;    // Old tiles kept.
  uint64_t tiles_replaced = 0;  // Old tiles inside the area (replaced or gone).
  uint64_t tiles_written = 0;   // New tiles.
  uint64_t new_bytes = 0;       // Bytes of the new tiles (shared ones once).
  uint64_t dead_bytes = 0;      // Left in the value blobs (Level::dead_bytes summed).
};

// ComposeUpdate appends every level of the updated pyramid to `out` (a new store: it adds the
// level sections in zoom order) and fills metadata->levels. DataLoss naming the tile for a
// stored tile that does not decode; storage errors as they come.
absl::StatusOr<UpdateCounts> ComposeUpdate(const UpdateSources& sources, storage::Writer* out,
                                           PyramidMetadata* metadata);

// ComposeInPlace replaces the entries of every level of `pyramid` (the old pyramid, opened by
// storage::Writer::OpenForUpdate; sources.old_store is not used) with the updated level's,
// appending the new tiles, and fills metadata->levels (same sections). Nothing is committed:
// the caller commits (or seals) once, so that the file shows the old pyramid or the new one.
// REQUIRES: !sources.compact. Errors as ComposeUpdate.
absl::StatusOr<UpdateCounts> ComposeInPlace(const UpdateSources& sources, storage::Writer* pyramid,
                                            PyramidMetadata* metadata);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_UPDATE_COMPOSE_H_
