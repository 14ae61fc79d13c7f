#include "pyramid/internal/build/tile_dedup.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

std::optional<storage::ValueRef> TileDedup::Find(int zoom, const TileDigest& digest) const {
  const auto& level = levels_[zoom];
  auto it = level.find(digest);
  if (it == level.end()) return std::nullopt;
  return it->second;
}

void TileDedup::Remember(int zoom, const TileDigest& digest, const storage::ValueRef& ref) {
  auto& level = levels_[zoom];
  if (level.size() < kMaxSharedTilesPerLevel) level.emplace(digest, ref);
}

void TileDedup::LoadCommitted(const storage::Reader& reader,
                              const std::vector<std::optional<uint32_t>>& sections) {
  for (size_t z = 0; z < sections.size() && z < levels_.size(); ++z) {
    if (!sections[z].has_value()) continue;
    auto& level = levels_[z];
    const uint64_t count = reader.entry_count(*sections[z]);
    for (uint64_t i = 0; i < count && level.size() < kMaxSharedTilesPerLevel; ++i) {
      const absl::string_view bytes = reader.ValueAt(*sections[z], i);
      if (bytes.size() <= kMaxSharedTileBytes) {
        level.emplace(DigestTile(bytes), reader.ValueRefAt(*sections[z], i));
      }
    }
  }
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
