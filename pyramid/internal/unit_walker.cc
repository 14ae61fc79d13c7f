#include "pyramid/internal/unit_walker.h"

#include <algorithm>

#include "geo/morton.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

UnitWalker::UnitWalker(uint32_t min_x, uint32_t min_y, uint32_t max_x, uint32_t max_y)
    : levels_(0),
      min_x_(min_x),
      min_y_(min_y),
      max_x_(max_x),
      max_y_(max_y),
      count_(uint64_t{max_x - min_x + 1} * (max_y - min_y + 1)) {
  while (levels_ < 32 && (uint64_t{std::max(max_x, max_y)} >> levels_) != 0) ++levels_;
  stack_.reserve(3 * levels_ + 1);
  stack_.push_back({0, 0, 0});
}

uint64_t UnitWalker::Overlap(const Node& node) const {
  const int shift = levels_ - node.depth;
  const uint64_t x0 = uint64_t{node.x} << shift;
  const uint64_t y0 = uint64_t{node.y} << shift;
  const uint64_t x1 = ((uint64_t{node.x} + 1) << shift) - 1;
  const uint64_t y1 = ((uint64_t{node.y} + 1) << shift) - 1;
  const uint64_t lo_x = std::max<uint64_t>(x0, min_x_), hi_x = std::min<uint64_t>(x1, max_x_);
  const uint64_t lo_y = std::max<uint64_t>(y0, min_y_), hi_y = std::min<uint64_t>(y1, max_y_);
  if (lo_x > hi_x || lo_y > hi_y) return 0;
  return (hi_x - lo_x + 1) * (hi_y - lo_y + 1);
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
