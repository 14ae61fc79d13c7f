// TileDedup: each level's small encoded tiles (uniform fills, open ocean) are stored once and
// every repeat points at the stored bytes (storage::Writer::AppendShared).
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_TILE_DEDUP_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_TILE_DEDUP_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "pyramid/internal/tile_hash.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// Encoded tiles up to this size are deduplicated per level.
constexpr size_t kMaxSharedTileBytes = 8192;
// Unique small tiles remembered per level (by digest: about 3 MiB per level).
constexpr size_t kMaxSharedTilesPerLevel = 1 << 16;

// TileDedup maps the digest of each level's small tiles to where they are stored: 40 bytes
// per tile whatever its size (tile_hash.h states the collision odds). Thread-compatible.
class TileDedup {
 public:
  explicit TileDedup(int max_zoom) : levels_(max_zoom + 1) {}

  // Find returns where tile bytes equal to `bytes` of level `zoom` are stored, if they
  // were remembered. REQUIRES: bytes.size() <= kMaxSharedTileBytes.
  std::optional<storage::ValueRef> Find(int zoom, const TileDigest& digest) const;

  // Remember records that `digest`'s bytes of level `zoom` are stored at `ref` (until the
  // level holds kMaxSharedTilesPerLevel tiles).
  void Remember(int zoom, const TileDigest& digest, const storage::ValueRef& ref);

  // LoadCommitted remembers the small tiles a killed build committed, level by level in key
  // order (the order a clean build met them in). `sections[z]`: level z's section in
  // `reader`, if it has one.
  void LoadCommitted(const storage::Reader& reader,
                     const std::vector<std::optional<uint32_t>>& sections);

 private:
  std::vector<absl::flat_hash_map<TileDigest, storage::ValueRef>> levels_;  // By zoom.
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_TILE_DEDUP_H_
