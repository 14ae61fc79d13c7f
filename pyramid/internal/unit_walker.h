// UnitWalker: the tiles of a rectangle (or of a few, such as the two sides of a footprint
// across the antimeridian) at one zoom in increasing Morton key order, generated
// lazily (a quadtree descent with an explicit stack), so a build over a huge rectangle holds
// O(log extent) state instead of a list of every key.
//
// Example:
//   UnitWalker walker(/*min_x=*/3, /*min_y=*/5, /*max_x=*/700, /*max_y=*/6);
//   walker.Skip(10);  // Resume after the first ten.
//   uint64_t key;
//   while (walker.Next(&key)) Render(key);
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_UNIT_WALKER_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_UNIT_WALKER_H_

#include <cstdint>
#include <vector>

#include "geo/morton.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// UnitWalker visits every tile (x, y) with min_x <= x <= max_x, min_y <= y <= max_y (of any
// of its rectangles) once,
// by increasing geo::MortonEncode(x, y) (levels need not be square: WorldCRS84Quad has twice
// as many columns as rows). Thread-compatible.
// REQUIRES: min_x <= max_x, min_y <= max_y.
class UnitWalker {
 public:
  UnitWalker(uint32_t min_x, uint32_t min_y, uint32_t max_x, uint32_t max_y);
  // The union of `rects` (rectangles that share a tile are joined into their bounding
  // rectangle first, so no tile is visited twice). REQUIRES: every rect non-empty.
  explicit UnitWalker(std::vector<geo::TileRect> rects);

  // count is the number of tiles visited in all.
  uint64_t count() const { return count_; }

  // Next sets `*key` to the next tile's Morton key; false once every tile was visited.
  bool Next(uint64_t* key);

  // Skip passes over the next `n` tiles (all remaining ones if fewer), without visiting
  // them one by one: O(log extent) per call.
  void Skip(uint64_t n);

 private:
  struct Node {
    int depth;   // 0 = the root square of 2^levels_ tiles a side, levels_ = one tile.
    uint32_t x;  // Node coordinates at `depth`.
    uint32_t y;
  };
  // Overlap is the number of rectangle tiles under `node`.
  uint64_t Overlap(const Node& node) const;
  void PushChildren(const Node& node);

  int levels_;                        // Smallest L with max_x, max_y < 2^L.
  std::vector<geo::TileRect> rects_;  // Disjoint.
  uint64_t count_;
  std::vector<Node> stack_;  // At most 3 * levels_ + 1 nodes.
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_UNIT_WALKER_H_
