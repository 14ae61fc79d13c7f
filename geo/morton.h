// Morton (Z-order) keys for tiles inside one zoom level, and the key ranges that cover a
// rectangle of tiles.
//
// Bit order: bit i of x goes to bit 2i of the key, bit i of y to bit 2i + 1. So the four
// children of the tile with key k at the next zoom are the contiguous keys 4k .. 4k + 3,
// child 4k + ((dy << 1) | dx) for dx, dy in {0, 1}, and the parent of key k is k >> 2.
// Keys sort tiles into the Z curve: a rectangle of tiles is a handful of key ranges.
//
// Example:
//   uint64_t key = flatpyramid::geo::MortonEncode(5, 3);    // 0b011011 = 27
//   uint32_t x, y;
//   flatpyramid::geo::MortonDecode(key, &x, &y);           // x = 5, y = 3
//   for (const flatpyramid::geo::KeyRange& r :
//        flatpyramid::geo::KeyRangesForRect(2, 1, 5, 6)) {
//     // Every key of a tile with 2 <= x <= 5 and 1 <= y <= 6 is in some [r.begin, r.end).
//   }
#ifndef FLATPYRAMID_GEO_MORTON_H_
#define FLATPYRAMID_GEO_MORTON_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flatpyramid {
namespace geo {

namespace morton_internal {

// Spread spaces the 32 bits of v into the even bits of the result (magic-number shifts:
// five shift/or/mask steps, branch-free, as fast as BMI2 pdep on every x86-64 and ARM).
inline uint64_t Spread(uint32_t v) {
  uint64_t x = v;
  x = (x | (x << 16)) & 0x0000FFFF0000FFFFull;
  x = (x | (x << 8)) & 0x00FF00FF00FF00FFull;
  x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0Full;
  x = (x | (x << 2)) & 0x3333333333333333ull;
  x = (x | (x << 1)) & 0x5555555555555555ull;
  return x;
}

// Compact is the inverse of Spread: it gathers the even bits of v.
inline uint32_t Compact(uint64_t v) {
  uint64_t x = v & 0x5555555555555555ull;
  x = (x | (x >> 1)) & 0x3333333333333333ull;
  x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0Full;
  x = (x | (x >> 4)) & 0x00FF00FF00FF00FFull;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFull;
  x = (x | (x >> 16)) & 0x00000000FFFFFFFFull;
  return static_cast<uint32_t>(x);
}

}  // namespace morton_internal

// MortonEncode interleaves x (even bits) and y (odd bits) into a 64-bit key.
inline uint64_t MortonEncode(uint32_t x, uint32_t y) {
  return morton_internal::Spread(x) | (morton_internal::Spread(y) << 1);
}

// MortonDecode splits `key` back into x (even bits) and y (odd bits).
// REQUIRES: x != nullptr, y != nullptr.
inline void MortonDecode(uint64_t key, uint32_t* x, uint32_t* y) {
  *x = morton_internal::Compact(key);
  *y = morton_internal::Compact(key >> 1);
}

// MortonParent is the key of the parent tile (zoom - 1) of the tile with key `key`.
inline uint64_t MortonParent(uint64_t key) { return key >> 2; }

// MortonChild is the key of child ((dy << 1) | dx) (0..3: NW, NE, SW, SE in XYZ rows) of
// `key` at the next zoom. REQUIRES: child < 4 and key < 2^62.
inline uint64_t MortonChild(uint64_t key, unsigned child) { return (key << 2) | (child & 3u); }

// KeyRange is the half-open key interval [begin, end).
struct KeyRange {
  uint64_t begin = 0;
  uint64_t end = 0;
};

inline bool operator==(const KeyRange& a, const KeyRange& b) {
  return a.begin == b.begin && a.end == b.end;
}

// TileRect is an inclusive rectangle of tiles at one zoom: min_x <= x <= max_x and
// min_y <= y <= max_y (empty when min > max).
struct TileRect {
  uint32_t min_x = 1;
  uint32_t min_y = 1;
  uint32_t max_x = 0;
  uint32_t max_y = 0;
};

inline bool operator==(const TileRect& a, const TileRect& b) {
  return a.min_x == b.min_x && a.min_y == b.min_y && a.max_x == b.max_x && a.max_y == b.max_y;
}

// KeyRangesForRect returns sorted, disjoint, non-adjacent key ranges whose union holds
// the key of every tile with min_x <= x <= max_x and min_y <= y <= max_y.
//
// With enough max_ranges the ranges are exact (no key outside the rectangle). Otherwise
// the ranges with the smallest gaps between them are merged until at most max_ranges
// remain, so some keys outside the rectangle are included: callers filter by decoding.
// The quadtree is refined only while its boundary holds at most 8 * max_ranges + 16
// nodes, so the cost is O(max_ranges * log(extent)) whatever the rectangle's area; a
// huge rectangle may then carry more foreign keys than the minimum.
// Returns an empty vector for an empty rectangle (min_x > max_x or min_y > max_y).
// max_ranges 0 is treated as 1.
std::vector<KeyRange> KeyRangesForRect(uint32_t min_x, uint32_t min_y, uint32_t max_x,
                                       uint32_t max_y, size_t max_ranges = 64);

// KeyRangesForRects is KeyRangesForRect for the union of several rectangles, such as the
// two sides of a footprint that crosses the antimeridian (TileMatrixSet::
// CoveringTileRanges): sorted, disjoint, non-adjacent ranges, exact with enough max_ranges,
// otherwise merged across the smallest gaps. Empty rectangles are skipped.
std::vector<KeyRange> KeyRangesForRects(const std::vector<TileRect>& rects, size_t max_ranges = 64);

}  // namespace geo
}  // namespace flatpyramid

#endif  // FLATPYRAMID_GEO_MORTON_H_
