#include "geo/morton.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace flatpyramid {
namespace geo {
namespace {

// Reference: interleave one bit at a time.
uint64_t SlowMortonEncode(uint32_t x, uint32_t y) {
  uint64_t key = 0;
  for (int bit = 0; bit < 32; ++bit) {
    key |= uint64_t{(x >> bit) & 1u} << (2 * bit);
    key |= uint64_t{(y >> bit) & 1u} << (2 * bit + 1);
  }
  return key;
}

TEST(MortonTest, EncodesXInEvenBitsAndYInOddBits) {
  EXPECT_EQ(MortonEncode(0, 0), 0u);
  EXPECT_EQ(MortonEncode(1, 0), 1u);
  EXPECT_EQ(MortonEncode(0, 1), 2u);
  EXPECT_EQ(MortonEncode(1, 1), 3u);
  EXPECT_EQ(MortonEncode(5, 3), 27u);  // x=101, y=011 -> 01 10 11.
  EXPECT_EQ(MortonEncode(0xFFFFFFFFu, 0), 0x5555555555555555ull);
  EXPECT_EQ(MortonEncode(0, 0xFFFFFFFFu), 0xAAAAAAAAAAAAAAAAull);
  EXPECT_EQ(MortonEncode(0xFFFFFFFFu, 0xFFFFFFFFu), 0xFFFFFFFFFFFFFFFFull);
  EXPECT_EQ(MortonEncode((1u << 30) - 1, (1u << 30) - 1), (uint64_t{1} << 60) - 1);
}

TEST(MortonTest, MatchesBitByBitReferenceAndRoundTrips) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100000; ++i) {
    const uint32_t x = static_cast<uint32_t>(rng());
    const uint32_t y = static_cast<uint32_t>(rng());
    const uint64_t key = MortonEncode(x, y);
    ASSERT_EQ(key, SlowMortonEncode(x, y)) << x << "," << y;
    uint32_t dx = 0, dy = 0;
    MortonDecode(key, &dx, &dy);
    ASSERT_EQ(dx, x);
    ASSERT_EQ(dy, y);
  }
}

TEST(MortonTest, ChildrenAreContiguousAndParentIsKeyShiftedRightByTwo) {
  for (uint32_t y = 0; y < 16; ++y) {
    for (uint32_t x = 0; x < 16; ++x) {
      const uint64_t key = MortonEncode(x, y);
      for (unsigned dy = 0; dy < 2; ++dy) {
        for (unsigned dx = 0; dx < 2; ++dx) {
          const uint64_t child = MortonEncode(2 * x + dx, 2 * y + dy);
          EXPECT_EQ(child, 4 * key + ((dy << 1) | dx));
          EXPECT_EQ(MortonChild(key, (dy << 1) | dx), child);
          EXPECT_EQ(MortonParent(child), key);
        }
      }
    }
  }
}

// Checks the contract of KeyRangesForRect against brute force and returns the number of
// keys outside the rectangle that the ranges include.
uint64_t CheckRanges(uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1, size_t max_ranges,
                     const std::vector<KeyRange>& ranges) {
  EXPECT_FALSE(ranges.empty());
  EXPECT_LE(ranges.size(), max_ranges);
  for (size_t i = 0; i < ranges.size(); ++i) {
    EXPECT_LT(ranges[i].begin, ranges[i].end);
    // Sorted, disjoint and not adjacent (adjacent ranges would have been merged).
    if (i > 0) {
      EXPECT_LT(ranges[i - 1].end, ranges[i].begin);
    }
  }
  auto covered = [&](uint64_t key) {
    // Ranges are sorted (checked above): the candidate is the last one beginning <= key.
    auto it = std::upper_bound(ranges.begin(), ranges.end(), key,
                               [](uint64_t k, const KeyRange& r) { return k < r.begin; });
    return it != ranges.begin() && key < std::prev(it)->end;
  };
  uint64_t inside = 0;
  for (uint32_t y = y0; y <= y1; ++y) {
    for (uint32_t x = x0; x <= x1; ++x) {
      EXPECT_TRUE(covered(MortonEncode(x, y))) << x << "," << y;
      ++inside;
    }
  }
  uint64_t total = 0;
  for (const KeyRange& r : ranges) total += r.end - r.begin;
  return total - inside;
}

TEST(MortonTest, KeyRangesAreExactForEveryRectangleOfAnEightByEightGrid) {
  for (uint32_t y0 = 0; y0 < 8; ++y0) {
    for (uint32_t y1 = y0; y1 < 8; ++y1) {
      for (uint32_t x0 = 0; x0 < 8; ++x0) {
        for (uint32_t x1 = x0; x1 < 8; ++x1) {
          const std::vector<KeyRange> ranges = KeyRangesForRect(x0, y0, x1, y1, 1000);
          EXPECT_EQ(CheckRanges(x0, y0, x1, y1, 1000, ranges), 0u)
              << x0 << "," << y0 << " - " << x1 << "," << y1;
        }
      }
    }
  }
}

TEST(MortonTest, CappedKeyRangesStillCoverEveryKeyOfEveryRectangle) {
  for (size_t max_ranges : {1, 2, 3, 5, 8}) {
    for (uint32_t y0 = 0; y0 < 10; ++y0) {
      for (uint32_t y1 = y0; y1 < 10; ++y1) {
        for (uint32_t x0 = 0; x0 < 10; x0 += 3) {
          for (uint32_t x1 = x0; x1 < 10; ++x1) {
            CheckRanges(x0, y0, x1, y1, max_ranges, KeyRangesForRect(x0, y0, x1, y1, max_ranges));
          }
        }
      }
    }
  }
}

TEST(MortonTest, KeyRangesAreExactForRandomRectanglesOfA256Grid) {
  std::mt19937 rng(3);
  for (int i = 0; i < 200; ++i) {
    uint32_t x0 = rng() % 256, x1 = rng() % 256, y0 = rng() % 256, y1 = rng() % 256;
    if (x0 > x1) std::swap(x0, x1);
    if (y0 > y1) std::swap(y0, y1);
    // The exact decomposition of a w x h rectangle needs O(w + h) ranges: 100000 is plenty.
    const std::vector<KeyRange> exact = KeyRangesForRect(x0, y0, x1, y1, 100000);
    ASSERT_EQ(CheckRanges(x0, y0, x1, y1, 100000, exact), 0u)
        << x0 << "," << y0 << " - " << x1 << "," << y1;
    const std::vector<KeyRange> capped = KeyRangesForRect(x0, y0, x1, y1, 4);
    CheckRanges(x0, y0, x1, y1, 4, capped);
  }
}

TEST(MortonTest, KeyRangesOfKnownRectangles) {
  // The whole 4 x 4 grid is one range.
  EXPECT_EQ(KeyRangesForRect(0, 0, 3, 3), (std::vector<KeyRange>{{0, 16}}));
  // One tile.
  EXPECT_EQ(KeyRangesForRect(5, 3, 5, 3), (std::vector<KeyRange>{{27, 28}}));
  // Row 0, x 0..3: keys 0,1 | 4,5.
  EXPECT_EQ(KeyRangesForRect(0, 0, 3, 0), (std::vector<KeyRange>{{0, 2}, {4, 6}}));
  // Capped to one range: from the first to the last key.
  EXPECT_EQ(KeyRangesForRect(0, 0, 3, 0, 1), (std::vector<KeyRange>{{0, 6}}));
  // x 1..2, y 1..2: keys 3 | 6 | 9 | 12.
  EXPECT_EQ(KeyRangesForRect(1, 1, 2, 2),
            (std::vector<KeyRange>{{3, 4}, {6, 7}, {9, 10}, {12, 13}}));
  // Capped to two: the smallest gaps (6-4=2 and 9-7=2 tie, 12-10=2) close first-first.
  EXPECT_EQ(KeyRangesForRect(1, 1, 2, 2, 2), (std::vector<KeyRange>{{3, 10}, {12, 13}}));
  // max_ranges 0 behaves as 1; empty rectangles give nothing.
  EXPECT_EQ(KeyRangesForRect(1, 1, 2, 2, 0), (std::vector<KeyRange>{{3, 13}}));
  EXPECT_TRUE(KeyRangesForRect(3, 0, 2, 5).empty());
  EXPECT_TRUE(KeyRangesForRect(0, 3, 5, 2).empty());
}

TEST(MortonTest, CappingMergesTheSmallestGapsFirst) {
  // The 2 x 4 block x 0..1, y 1..4 in Morton order: keys 2,3 | 8,9,10,11 | 32,33.
  // Exact: {2,4} {8,12} {32,34}; gaps 4 and 20. Capped to 2: close the gap of 4.
  EXPECT_EQ(KeyRangesForRect(0, 1, 1, 4), (std::vector<KeyRange>{{2, 4}, {8, 12}, {32, 34}}));
  EXPECT_EQ(KeyRangesForRect(0, 1, 1, 4, 2), (std::vector<KeyRange>{{2, 12}, {32, 34}}));
  EXPECT_EQ(KeyRangesForRect(0, 1, 1, 4, 1), (std::vector<KeyRange>{{2, 34}}));
}

TEST(MortonTest, KeyRangesForRectsAreExactlyTheKeysOfTheUnion) {
  // The two sides of an antimeridian-crossing footprint on a 16 x 16 grid: columns 13..15
  // and 0..2 of rows 5..9, and the union of two overlapping rectangles.
  const std::vector<std::vector<TileRect>> cases = {
      {TileRect{13, 5, 15, 9}, TileRect{0, 5, 2, 9}},
      {TileRect{1, 1, 6, 4}, TileRect{4, 3, 9, 8}},
      {TileRect{3, 3, 3, 3}, TileRect{5, 0, 4, 9}}};  // The second is empty.
  for (const std::vector<TileRect>& rects : cases) {
    const std::vector<KeyRange> ranges = KeyRangesForRects(rects, 1000);
    std::vector<uint64_t> expected, actual;
    for (uint32_t y = 0; y < 16; ++y) {
      for (uint32_t x = 0; x < 16; ++x) {
        for (const TileRect& r : rects) {
          if (x >= r.min_x && x <= r.max_x && y >= r.min_y && y <= r.max_y) {
            expected.push_back(MortonEncode(x, y));
            break;
          }
        }
      }
    }
    std::sort(expected.begin(), expected.end());
    for (size_t i = 0; i < ranges.size(); ++i) {
      if (i > 0) {
        EXPECT_GT(ranges[i].begin, ranges[i - 1].end);  // Sorted, disjoint, not adjacent.
      }
      for (uint64_t k = ranges[i].begin; k < ranges[i].end; ++k) actual.push_back(k);
    }
    EXPECT_EQ(actual, expected);
    // Capped: still every key, in at most max_ranges ranges.
    const std::vector<KeyRange> capped = KeyRangesForRects(rects, 2);
    EXPECT_LE(capped.size(), 2u);
    for (uint64_t key : expected) {
      EXPECT_TRUE(std::any_of(capped.begin(), capped.end(), [key](const KeyRange& r) {
        return key >= r.begin && key < r.end;
      })) << key;
    }
  }
  EXPECT_TRUE(KeyRangesForRects({}).empty());
}

TEST(MortonTest, HugeRectanglesAtZoomThirtyStayCheapAndCovering) {
  const uint32_t last = (1u << 30) - 1;
  // The whole zoom-30 matrix: one range of 4^30 keys.
  EXPECT_EQ(KeyRangesForRect(0, 0, last, last), (std::vector<KeyRange>{{0, uint64_t{1} << 60}}));
  // An odd rectangle spanning most of the matrix: covering, capped, every corner inside.
  const uint32_t x0 = 12345, y0 = 678901, x1 = last - 4321, y1 = last - 98765;
  const std::vector<KeyRange> ranges = KeyRangesForRect(x0, y0, x1, y1, 64);
  ASSERT_LE(ranges.size(), 64u);
  ASSERT_FALSE(ranges.empty());
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const uint32_t x = x0 + rng() % (x1 - x0 + 1);
    const uint32_t y = y0 + rng() % (y1 - y0 + 1);
    const uint64_t key = MortonEncode(x, y);
    bool found = false;
    for (const KeyRange& r : ranges) found = found || (key >= r.begin && key < r.end);
    ASSERT_TRUE(found) << x << "," << y;
  }
  // Coordinates past 2^31 - 1 are clamped, so range ends never overflow.
  const std::vector<KeyRange> all = KeyRangesForRect(0, 0, 0xFFFFFFFFu, 0xFFFFFFFFu);
  EXPECT_EQ(all, (std::vector<KeyRange>{{0, uint64_t{1} << 62}}));
}

}  // namespace
}  // namespace geo
}  // namespace flatpyramid
