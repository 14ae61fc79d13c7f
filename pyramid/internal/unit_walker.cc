#include "pyramid/internal/unit_walker.h"

#include <algorithm>

#include "geo/morton.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

UnitWalker::UnitWalker(uint32_t min_x, uint32_t min_y, uint32_t max_x, uint32_t max_y)
    : UnitWalker(std::vector<geo::TileRect>{geo::TileRect{min_x, min_y, max_x, max_y}}) {}

UnitWalker::UnitWalker(std::vector<geo::TileRect> rects) : levels_(0), count_(0) {
  // Join rectangles that share a tile until all are disjoint (a handful at most).
  for (bool joined = true; joined;) {
    joined = false;
    for (size_t i = 0; i < rects.size() && !joined; ++i) {
      for (size_t j = i + 1; j < rects.size() && !joined; ++j) {
        geo::TileRect& a = rects[i];
        const geo::TileRect& b = rects[j];
        if (a.min_x <= b.max_x && b.min_x <= a.max_x && a.min_y <= b.max_y && b.min_y <= a.max_y) {
          a = geo::TileRect{std::min(a.min_x, b.min_x), std::min(a.min_y, b.min_y),
                            std::max(a.max_x, b.max_x), std::max(a.max_y, b.max_y)};
          rects.erase(rects.begin() + j);
          joined = true;
        }
      }
    }
  }
  rects_ = std::move(rects);
  uint32_t extent = 0;
  for (const geo::TileRect& r : rects_) {
    count_ += uint64_t{r.max_x - r.min_x + 1} * (r.max_y - r.min_y + 1);
    extent = std::max({extent, r.max_x, r.max_y});
  }
  while (levels_ < 32 && (uint64_t{extent} >> levels_) != 0) ++levels_;
  stack_.reserve(3 * levels_ + 1);
  if (!rects_.empty()) stack_.push_back({0, 0, 0});
}

uint64_t UnitWalker::Overlap(const Node& node) const {
  const int shift = levels_ - node.depth;
  const uint64_t x0 = uint64_t{node.x} << shift;
  const uint64_t y0 = uint64_t{node.y} << shift;
  const uint64_t x1 = ((uint64_t{node.x} + 1) << shift) - 1;
  const uint64_t y1 = ((uint64_t{node.y} + 1) << shift) - 1;
  uint64_t overlap = 0;
  for (const geo::TileRect& r : rects_) {
    const uint64_t lo_x = std::max<uint64_t>(x0, r.min_x), hi_x = std::min<uint64_t>(x1, r.max_x);
    const uint64_t lo_y = std::max<uint64_t>(y0, r.min_y), hi_y = std::min<uint64_t>(y1, r.max_y);
    if (lo_x <= hi_x && lo_y <= hi_y) overlap += (hi_x - lo_x + 1) * (hi_y - lo_y + 1);
  }
  return overlap;
}

void UnitWalker::PushChildren(const Node& node) {
  // Reverse Morton order, so child 0 (the smallest keys) is popped first.
  for (int child = 3; child >= 0; --child) {
    stack_.push_back({node.depth + 1, 2 * node.x + (child & 1), 2 * node.y + (child >> 1)});
  }
}

bool UnitWalker::Next(uint64_t* key) {
  while (!stack_.empty()) {
    const Node node = stack_.back();
    stack_.pop_back();
    if (Overlap(node) == 0) continue;
    if (node.depth == levels_) {
      *key = geo::MortonEncode(node.x, node.y);
      return true;
    }
    PushChildren(node);
  }
  return false;
}

void UnitWalker::Skip(uint64_t n) {
  while (n > 0 && !stack_.empty()) {
    const Node node = stack_.back();
    stack_.pop_back();
    const uint64_t overlap = Overlap(node);
    if (overlap <= n) {
      n -= overlap;  // The whole node (a leaf's overlap is 0 or 1).
      continue;
    }
    PushChildren(node);
  }
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
