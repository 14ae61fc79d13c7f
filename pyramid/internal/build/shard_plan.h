// ShardPlan: which units one shard of a sharded build renders (BuildOptions::shard, the
// tool's --shard=i/N), and which tiles above the unit zoom it forms.
//
// The units, walked in Morton order, are cut into `count` contiguous ranges holding as
// nearly as possible the same number of base tiles (the tiles at max_zoom inside the source's
// footprint, or the area), not the same area. Every shard computes the same cut from the same
// options, with no communication. Shard i's range of unit keys is [B_i, B_(i+1)): B_0 = 0,
// B_count = TileMatrixSet::KeyEnd(unit_zoom) (4^unit_zoom, twice that for WorldCRS84Quad),
// and B_i is the key of its first unit otherwise. A tile coarser than the units belongs to
// shard i when its whole key range at the unit zoom lies in [B_i, B_(i+1)); otherwise it
// straddles a boundary and merge_pyramids forms it, from the raw pixels of its children that
// the shards recorded (their "roots").
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_SHARD_PLAN_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_SHARD_PLAN_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "pyramid/build_options.h"
#include "pyramid/internal/build/build_plan.h"
#include "pyramid/metadata.pb.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// ApplyShard cuts a resolved (and area-restricted) plan to options.shard, when set: fills
// plan->unit_begin, unit_end, shard_begin_key, shard_end_key and plan->metadata.shard.
// InvalidArgument naming BuildOptions::shard for index >= count or count 0;
// FailedPrecondition for kernel overview resamplings (their tiles above the units read
// neighbours across shard boundaries).
absl::Status ApplyShard(const BuildOptions& options, BuildPlan* plan);

// OwnsTile is whether the tile with key `key` at `zoom` <= unit_zoom lies wholly in the
// unit key range [begin_key, end_key) (at `unit_zoom`).
inline bool OwnsTile(int unit_zoom, uint64_t begin_key, uint64_t end_key, int zoom, uint64_t key) {
  const int shift = 2 * (unit_zoom - zoom);
  return (key << shift) >= begin_key && ((key + 1) << shift) <= end_key;
}

// StraddlingKeys is, sorted, every tile key at `zoom` (< unit_zoom) whose key range at the
// unit zoom holds one of `boundaries` (unit keys B_1 .. B_(count-1)) strictly inside.
std::vector<uint64_t> StraddlingKeys(int unit_zoom, const std::vector<uint64_t>& boundaries,
                                     int zoom);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_SHARD_PLAN_H_
