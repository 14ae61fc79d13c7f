#include "pyramid/internal/unit_walker.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "geo/morton.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

// SortedKeys is the reference: every key of the rectangle, sorted.
std::vector<uint64_t> SortedKeys(uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1) {
  std::vector<uint64_t> keys;
  for (uint32_t y = y0; y <= y1; ++y) {
    for (uint32_t x = x0; x <= x1; ++x) keys.push_back(geo::MortonEncode(x, y));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST(UnitWalkerTest, VisitsEveryTileOfTheRectangleInIncreasingKeyOrder) {
  // Zoom is informative only (WorldCRS84Quad levels are twice as wide as high).
  struct Rect {
    int zoom;
    uint32_t x0, y0, x1, y1;
  };
  for (const Rect& r : {Rect{0, 0, 0, 0, 0}, Rect{3, 1, 2, 6, 5}, Rect{6, 0, 0, 63, 63},
                        Rect{8, 17, 3, 200, 9}, Rect{12, 4000, 1000, 4095, 1003},
                        Rect{0, 0, 0, 1, 0}, Rect{2, 0, 0, 7, 3}, Rect{3, 9, 1, 15, 6}}) {
    UnitWalker walker(r.x0, r.y0, r.x1, r.y1);
    const std::vector<uint64_t> expected = SortedKeys(r.x0, r.y0, r.x1, r.y1);
    EXPECT_EQ(walker.count(), expected.size());
    std::vector<uint64_t> keys;
    uint64_t key;
    while (walker.Next(&key)) keys.push_back(key);
    EXPECT_EQ(keys, expected) << r.zoom << ": " << r.x0 << "," << r.y0;
    EXPECT_FALSE(walker.Next(&key));
  }
}

TEST(UnitWalkerTest, SkipPassesOverExactlyNTiles) {
  const std::vector<uint64_t> expected = SortedKeys(5, 2, 37, 19);
  for (uint64_t skip : {0u, 1u, 7u, 64u, 300u, 560u, 561u, 1000u}) {
    UnitWalker walker(5, 2, 37, 19);
    walker.Skip(skip);
    std::vector<uint64_t> keys;
    uint64_t key;
    while (walker.Next(&key)) keys.push_back(key);
    const size_t first = std::min<size_t>(skip, expected.size());
    EXPECT_EQ(keys, std::vector<uint64_t>(expected.begin() + first, expected.end())) << skip;
  }
}

TEST(UnitWalkerTest, AWholeWorldLevelHoldsOnlyAFewNodes) {
  // Zoom 20: 2^40 tiles; the walker starts, skips 2^39 and goes on without a list.
  UnitWalker walker(0, 0, (1u << 20) - 1, (1u << 20) - 1);
  EXPECT_EQ(walker.count(), uint64_t{1} << 40);
  walker.Skip(uint64_t{1} << 39);
  uint64_t key;
  ASSERT_TRUE(walker.Next(&key));
  EXPECT_EQ(key, uint64_t{1} << 39);
  ASSERT_TRUE(walker.Next(&key));
  EXPECT_EQ(key, (uint64_t{1} << 39) + 1);
}

TEST(UnitWalkerTest, SeveralRectanglesAreVisitedOnceEachInIncreasingKeyOrder) {
  // The two sides of an antimeridian footprint at zoom 6, and two that share tiles (joined).
  const std::vector<std::vector<geo::TileRect>> cases = {
      {geo::TileRect{60, 20, 63, 30}, geo::TileRect{0, 22, 2, 31}},
      {geo::TileRect{3, 3, 9, 5}, geo::TileRect{8, 4, 12, 12}},
  };
  for (const std::vector<geo::TileRect>& rects : cases) {
    std::vector<uint64_t> expected;
    for (uint32_t y = 0; y < 64; ++y) {
      for (uint32_t x = 0; x < 64; ++x) {
        bool inside = false;
        for (const geo::TileRect& r : rects) {
          inside |= x >= r.min_x && x <= r.max_x && y >= r.min_y && y <= r.max_y;
        }
        if (inside) expected.push_back(geo::MortonEncode(x, y));
      }
    }
    std::sort(expected.begin(), expected.end());
    UnitWalker walker(rects);
    std::vector<uint64_t> keys;
    uint64_t key;
    while (walker.Next(&key)) keys.push_back(key);
    const bool joined = &rects == &cases[1];
    // Shared tiles join into the bounding rectangle: 10 x 10 tiles.
    EXPECT_EQ(keys.size(), joined ? 100u : expected.size());
    if (!joined) {
      EXPECT_EQ(keys, expected);
    }
    EXPECT_EQ(walker.count(), keys.size());
    UnitWalker skipping(rects);
    skipping.Skip(7);
    ASSERT_TRUE(skipping.Next(&key));
    EXPECT_EQ(key, keys[7]);
  }
}

}  // namespace
}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
