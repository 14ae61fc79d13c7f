#include "pyramid/internal/build/shard_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "pyramid/format.h"
#include "pyramid/internal/unit_walker.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

uint64_t Overlap(uint32_t a0, uint32_t a1, uint32_t b0, uint32_t b1) {
  const uint32_t lo = std::max(a0, b0), hi = std::min(a1, b1);
  return lo > hi ? 0 : uint64_t{hi} - lo + 1;
}

// BaseTiles is the number of the plan's base tiles in unit (ux, uy): those of the source's
// tile range, and of the area when there is one.
uint64_t BaseTiles(const BuildPlan& plan, uint32_t ux, uint32_t uy) {
  const int d = plan.unit_depth;
  const uint32_t x0 = std::max(ux << d, plan.base_min_x);
  const uint32_t x1 = std::min(((ux + 1) << d) - 1, plan.base_max_x);
  const uint32_t y0 = std::max(uy << d, plan.base_min_y);
  const uint32_t y1 = std::min(((uy + 1) << d) - 1, plan.base_max_y);
  if (x0 > x1 || y0 > y1) return 0;
  if (plan.area_tiles.empty()) return Overlap(x0, x1, x0, x1) * Overlap(y0, y1, y0, y1);
  uint64_t n = 0;
  for (const geo::TileRect& r : plan.area_tiles[plan.max_zoom]) {
    n += Overlap(x0, x1, r.min_x, r.max_x) * Overlap(y0, y1, r.min_y, r.max_y);
  }
  return n;
}

// Cut is the unit boundary whose preceding tiles come nearest to share/count of the total
// (the earlier one on a tie): each shard is then within half a unit of its share.
uint64_t Cut(const std::vector<uint64_t>& weights, uint64_t total, uint32_t share, uint32_t count) {
  if (share >= count) return weights.size();
  using Wide = unsigned __int128;
  const Wide target = static_cast<Wide>(total) * share;
  Wide before = 0;
  for (uint64_t i = 0; i < weights.size(); ++i) {
    const Wide after = before + weights[i];
    if (after * count >= target) {
      return target - before * count <= after * count - target ? i : i + 1;
    }
    before = after;
  }
  return weights.size();
}

// UnitKey is the key of the plan's index-th unit, the unit zoom's KeyEnd past the last.
uint64_t UnitKey(const BuildPlan& plan, uint64_t index) {
  uint64_t key = plan.tms->KeyEnd(plan.unit_zoom);
  if (index >= plan.unit_count) return key;
  UnitWalker units(plan.unit_rects);
  units.Skip(index);
  units.Next(&key);
  return key;
}

}  // namespace

absl::Status ApplyShard(const BuildOptions& options, BuildPlan* plan) {
  plan->unit_begin = 0;
  plan->unit_end = plan->unit_count;
  plan->shard_begin_key = 0;
  plan->shard_end_key = plan->tms->KeyEnd(plan->unit_zoom);
  if (!options.shard.has_value()) return absl::OkStatus();
  const BuildShard& shard = *options.shard;
  if (shard.count == 0 || shard.index >= shard.count) {
    return absl::InvalidArgumentError(
        absl::StrCat("BuildOptions::shard ", shard.index, "/", shard.count,
                     " is out of range: the index runs from 0 to count - 1"));
  }
  if (plan->kernel_radius > 0) {
    return absl::FailedPreconditionError(
        "BuildOptions::shard: kernel overview resamplings (bilinear, cubic, lanczos) read "
        "neighbouring tiles across shards; shard with average, mode or nearest");
  }
  std::vector<uint64_t> weights;
  weights.reserve(plan->unit_count);
  uint64_t total = 0, key = 0;
  for (UnitWalker units(plan->unit_rects); units.Next(&key);) {
    uint32_t ux, uy;
    TileFromKey(key, &ux, &uy);
    weights.push_back(BaseTiles(*plan, ux, uy));
    total += weights.back();
  }
  plan->unit_begin = Cut(weights, total, shard.index, shard.count);
  plan->unit_end = Cut(weights, total, shard.index + 1, shard.count);
  if (shard.index > 0) plan->shard_begin_key = UnitKey(*plan, plan->unit_begin);
  if (shard.index + 1 < shard.count) plan->shard_end_key = UnitKey(*plan, plan->unit_end);
  ShardInfo* info = plan->metadata.mutable_shard();
  info->set_index(shard.index);
  info->set_count(shard.count);
  info->set_unit_zoom(plan->unit_zoom);
  info->set_begin_unit_key(plan->shard_begin_key);
  info->set_end_unit_key(plan->shard_end_key);
  return absl::OkStatus();
}

std::vector<uint64_t> StraddlingKeys(int unit_zoom, const std::vector<uint64_t>& boundaries,
                                     int zoom) {
  const int shift = 2 * (unit_zoom - zoom);
  std::vector<uint64_t> keys;
  for (uint64_t b : boundaries) {
    if ((b & ((uint64_t{1} << shift) - 1)) != 0) keys.push_back(b >> shift);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
