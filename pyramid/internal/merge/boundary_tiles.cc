#include "pyramid/internal/merge/boundary_tiles.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pyramid/format.h"
#include "pyramid/internal/build/overview_resampling.h"
#include "pyramid/internal/build/shard_plan.h"
#include "pyramid/internal/build/shard_roots.h"
#include "pyramid/internal/tile_pixels.h"
#include "pyramid/internal/tile_shape.h"
#include "pyramid/resampling.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

absl::StatusOr<std::vector<std::vector<FormedTile>>> FormBoundaryTiles(const ShardSet& set) {
  absl::StatusOr<TileShape> shape = ShapeOf(set.metadata);
  if (!shape.ok()) return shape.status();
  ShardRootMap raw;  // Recorded roots, then every formed tile: what the parents read.
  for (const OpenedShard& shard : set.shards) {
    absl::Status s =
        ReadShardRoots(*shard.reader, shard.path, shape->type, shape->size, shape->bands, &raw);
    if (!s.ok()) return s;
  }
  const int min_zoom = static_cast<int>(set.metadata.min_zoom());
  std::vector<std::vector<FormedTile>> formed(set.unit_zoom + 1);
  std::vector<uint8_t> scratch;
  for (int z = set.unit_zoom - 1; z >= min_zoom; --z) {
    for (uint64_t key : StraddlingKeys(set.unit_zoom, set.boundaries, z)) {
      const TilePixels* children[4];
      for (int c = 0; c < 4; ++c) {
        auto it = raw.find({z + 1, 4 * key + c});
        children[c] = it == raw.end() ? nullptr : it->second.get();
      }
      auto parent = std::make_unique<TilePixels>(shape->type, shape->size, shape->bands);
      Downsample2x(children, shape->overview, shape->binary_alpha, parent.get());
      if (parent->Empty()) continue;
      FormedTile tile;
      tile.key = key;
      absl::Status s = EncodeTile(*parent, shape->encoding, &scratch, &tile.bytes);
      if (!s.ok()) return s;
      formed[z].push_back(std::move(tile));
      raw[{z, key}] = std::move(parent);
    }
  }
  return formed;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
