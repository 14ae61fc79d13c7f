// TileDigest: a 128-bit fingerprint of an encoded tile (MurmurHash3_x64_128, Austin
// Appleby's public-domain hash) plus its length, so the builder's deduplication table keeps
// 24 bytes per tile instead of a copy of its bytes.
//
// Two different tiles share a digest with probability about n^2 / 2^129 for n tiles of one
// length (1e-29 for the builder's 65,536 tiles per level): the builder, whose tiles come from
// its own encoders, treats it as never. The hash is not cryptographic: a writer of tiles from
// another program's file (pyramid::TileWriter) compares the bytes before sharing.
//
// Example:
//   TileDigest digest = DigestTile(encoded);
//   absl::flat_hash_map<TileDigest, storage::ValueRef> seen;
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_TILE_HASH_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_TILE_HASH_H_

#include <cstdint>
#include <utility>

#include "absl/strings/string_view.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// MurmurHash3x64_128 is MurmurHash3_x64_128 of `bytes` with `seed`: {h1, h2} as the
// reference implementation writes them (little-endian: h1 first).
std::pair<uint64_t, uint64_t> MurmurHash3x64_128(absl::string_view bytes, uint32_t seed);

struct TileDigest {
  uint64_t h1 = 0;
  uint64_t h2 = 0;
  uint64_t length = 0;

  friend bool operator==(const TileDigest& a, const TileDigest& b) {
    return a.h1 == b.h1 && a.h2 == b.h2 && a.length == b.length;
  }
  template <typename H>
  friend H AbslHashValue(H state, const TileDigest& d) {
    return H::combine(std::move(state), d.h1, d.h2, d.length);
  }
};

// DigestTile fingerprints `bytes` (seed 0).
TileDigest DigestTile(absl::string_view bytes);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_TILE_HASH_H_
