#include "geo/morton.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace flatpyramid {
namespace geo {
namespace {

// Coordinates are clamped here so that the root quadtree node (2^31 tiles across, 2^62
// keys) and every range end stay representable in uint64_t. Zoom 30 needs 2^30.
constexpr uint32_t kMaxCoordinate = (uint32_t{1} << 31) - 1;

// Node is a quadtree node: the 2^shift x 2^shift tiles whose top-left tile is (x0, y0).
struct Node {
  uint32_t x0;
  uint32_t y0;
  int shift;
};

struct Rect {
  uint64_t min_x, min_y, max_x, max_y;  // Inclusive.
};

enum class Overlap { kNone, kPartial, kFull };

Overlap Classify(const Node& node, const Rect& rect) {
  const uint64_t last_x = uint64_t{node.x0} + (uint64_t{1} << node.shift) - 1;
  const uint64_t last_y = uint64_t{node.y0} + (uint64_t{1} << node.shift) - 1;
  if (node.x0 > rect.max_x || last_x < rect.min_x || node.y0 > rect.max_y || last_y < rect.min_y) {
    return Overlap::kNone;
  }
  if (node.x0 >= rect.min_x && last_x <= rect.max_x && node.y0 >= rect.min_y &&
      last_y <= rect.max_y) {
    return Overlap::kFull;
  }
  return Overlap::kPartial;
}

KeyRange RangeOf(const Node& node) {
  const uint64_t begin = MortonEncode(node.x0, node.y0);
  return KeyRange{begin, begin + (uint64_t{1} << (2 * node.shift))};
}

// SortAndMerge sorts `ranges` and joins overlapping or adjacent ones.
std::vector<KeyRange> SortAndMerge(std::vector<KeyRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const KeyRange& a, const KeyRange& b) { return a.begin < b.begin; });
  std::vector<KeyRange> merged;
  merged.reserve(ranges.size());
  for (const KeyRange& r : ranges) {
    if (!merged.empty() && r.begin <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, r.end);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

// MergeSmallestGaps joins neighbours across the smallest gaps (the earliest first on
// ties) until at most max_ranges ranges remain. REQUIRES: sorted, disjoint, max_ranges>0.
std::vector<KeyRange> MergeSmallestGaps(const std::vector<KeyRange>& ranges, size_t max_ranges) {
  if (ranges.size() <= max_ranges) return ranges;
  const size_t gap_count = ranges.size() - 1;
  std::vector<size_t> order(gap_count);
  for (size_t i = 0; i < gap_count; ++i) order[i] = i;
  auto gap = [&](size_t i) { return ranges[i + 1].begin - ranges[i].end; };
  const size_t to_close = ranges.size() - max_ranges;
  std::nth_element(order.begin(), order.begin() + to_close, order.end(),
                   [&](size_t a, size_t b) { return gap(a) != gap(b) ? gap(a) < gap(b) : a < b; });
  std::vector<bool> closed(gap_count, false);
  for (size_t i = 0; i < to_close; ++i) closed[order[i]] = true;
  std::vector<KeyRange> out;
  out.reserve(max_ranges);
  out.push_back(ranges[0]);
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (closed[i - 1]) {
      out.back().end = ranges[i].end;
    } else {
      out.push_back(ranges[i]);
    }
  }
  return out;
}

std::vector<KeyRange> Combine(const std::vector<KeyRange>& full, const std::vector<Node>& partial) {
  std::vector<KeyRange> all = full;
  all.reserve(full.size() + partial.size());
  for (const Node& node : partial) all.push_back(RangeOf(node));
  return SortAndMerge(std::move(all));
}

}  // namespace

std::vector<KeyRange> KeyRangesForRect(uint32_t min_x, uint32_t min_y, uint32_t max_x,
                                       uint32_t max_y, size_t max_ranges) {
  max_x = std::min(max_x, kMaxCoordinate);
  max_y = std::min(max_y, kMaxCoordinate);
  if (min_x > max_x || min_y > max_y) return {};
  if (max_ranges == 0) max_ranges = 1;
  const Rect rect{min_x, min_y, max_x, max_y};

  int root_shift = 0;
  while ((std::max(max_x, max_y) >> root_shift) != 0) ++root_shift;

  // Breadth-first, one quadtree level at a time: `full` nodes are exact ranges, `partial`
  // nodes straddle the rectangle's boundary. Refine until nothing straddles or the
  // boundary holds too many nodes, count the straddling nodes whole, then close gaps.
  std::vector<KeyRange> full;
  std::vector<Node> partial;
  const Node root{0, 0, root_shift};
  if (Classify(root, rect) == Overlap::kFull) {
    full.push_back(RangeOf(root));
  } else {
    partial.push_back(root);
  }
  // Bounds the work (and memory) per level to O(max_ranges), whatever the rectangle.
  const size_t max_partial_nodes = 8 * max_ranges + 16;
  while (!partial.empty() && partial.size() <= max_partial_nodes) {
    std::vector<Node> next_partial;
    next_partial.reserve(partial.size() * 2);
    for (const Node& node : partial) {
      const int shift = node.shift - 1;  // A single tile is never partial: shift >= 1.
      const uint32_t half = uint32_t{1} << shift;
      for (unsigned child = 0; child < 4; ++child) {
        const Node c{node.x0 + ((child & 1u) ? half : 0u), node.y0 + ((child & 2u) ? half : 0u),
                     shift};
        switch (Classify(c, rect)) {
          case Overlap::kNone:
            break;
          case Overlap::kFull:
            full.push_back(RangeOf(c));
            break;
          case Overlap::kPartial:
            next_partial.push_back(c);
            break;
        }
      }
    }
    full = SortAndMerge(std::move(full));
    partial = std::move(next_partial);
  }
  return MergeSmallestGaps(Combine(full, partial), max_ranges);
}

std::vector<KeyRange> KeyRangesForRects(const std::vector<TileRect>& rects, size_t max_ranges) {
  if (max_ranges == 0) max_ranges = 1;
  std::vector<KeyRange> all;
  for (const TileRect& r : rects) {
    const std::vector<KeyRange> ranges =
        KeyRangesForRect(r.min_x, r.min_y, r.max_x, r.max_y, max_ranges);
    all.insert(all.end(), ranges.begin(), ranges.end());
  }
  return MergeSmallestGaps(SortAndMerge(std::move(all)), max_ranges);
}

}  // namespace geo
}  // namespace flatpyramid
