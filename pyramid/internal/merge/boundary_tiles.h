// BoundaryTiles: the tiles coarser than the units whose subtree straddles a shard boundary,
// which no shard could form alone. merge_pyramids forms them as a single build does.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_MERGE_BOUNDARY_TILES_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_MERGE_BOUNDARY_TILES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pyramid/internal/merge/shard_set.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// FormedTile is one encoded boundary tile.
struct FormedTile {
  uint64_t key = 0;
  std::string bytes;
};

// FormBoundaryTiles reads every shard's recorded roots and forms, level by level from the
// unit zoom up, each straddling tile from the raw pixels of its four children (a recorded
// root, a straddling tile formed here, or nothing), with the pyramid's overview resampling
// and codec. Returns them by zoom (index = zoom; empty at the unit zoom and finer), sorted
// by key; tiles that come out empty are not stored, as in a single build. DataLoss naming
// the shard for a root of the wrong size; InvalidArgument for metadata this code cannot
// encode.
absl::StatusOr<std::vector<std::vector<FormedTile>>> FormBoundaryTiles(const ShardSet& set);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_MERGE_BOUNDARY_TILES_H_
