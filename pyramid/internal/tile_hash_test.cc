#include "pyramid/internal/tile_hash.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

TEST(TileHashTest, PassesSmhashersVerificationOfMurmurHash3x64_128) {
  // SMHasher's VerificationTest: hash keys {0}, {0,1}, ..., {0..254} with seeds 256 - n,
  // hash the 256 concatenated digests with seed 0; the first 4 bytes are 0x6384BA69 for
  // MurmurHash3_x64_128 (its table entry "Murmur3F").
  uint8_t key[256];
  uint8_t digests[256 * 16];
  for (int n = 0; n < 256; ++n) {
    key[n] = static_cast<uint8_t>(n);
    const auto h =
        MurmurHash3x64_128(absl::string_view(reinterpret_cast<const char*>(key), n), 256 - n);
    std::memcpy(digests + 16 * n, &h.first, 8);
    std::memcpy(digests + 16 * n + 8, &h.second, 8);
  }
  const auto final_hash =
      MurmurHash3x64_128(absl::string_view(reinterpret_cast<const char*>(digests), 4096), 0);
  EXPECT_EQ(static_cast<uint32_t>(final_hash.first), 0x6384BA69u);
  EXPECT_EQ(MurmurHash3x64_128("", 0), std::make_pair(uint64_t{0}, uint64_t{0}));
}

TEST(TileHashTest, DigestsTellApartTilesDifferingInOneByteOrInLength) {
  std::string tile(5000, '\x11');
  absl::flat_hash_set<TileDigest> seen;
  seen.insert(DigestTile(tile));
  for (size_t i = 0; i < tile.size(); ++i) {
    std::string changed = tile;
    changed[i] ^= 1;
    EXPECT_TRUE(seen.insert(DigestTile(changed)).second) << i;
  }
  EXPECT_TRUE(seen.insert(DigestTile(tile.substr(1))).second);
  EXPECT_EQ(DigestTile(tile), DigestTile(std::string(5000, '\x11')));
  EXPECT_EQ(DigestTile(tile).length, 5000u);
}

}  // namespace
}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
