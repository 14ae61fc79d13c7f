// ShardRoots: the raw tiles a shard records for merge_pyramids (the children of the tiles
// that straddle a shard boundary), stored in the shard file's kShardRootsSection
// (pyramid/format.h spells the key and value layout).
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_SHARD_ROOTS_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_SHARD_ROOTS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pyramid/internal/tile_pixels.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// ShardRootMap holds raw tiles by (zoom, tile key).
using ShardRootMap = std::map<std::pair<int, uint64_t>, std::unique_ptr<TilePixels>>;

// WriteShardRoots adds kShardRootsSection to `writer` with every tile of `roots`.
absl::Status WriteShardRoots(const ShardRootMap& roots, storage::Writer* writer);

// ReadShardRoots adds the tiles of `reader`'s kShardRootsSection (if any) to `roots`, each
// `type`, `size` x `size`, `bands`. DataLoss naming `path` for a value of the wrong length.
absl::Status ReadShardRoots(const storage::Reader& reader, const std::string& path,
                            codec::PixelType type, int size, int bands, ShardRootMap* roots);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_SHARD_ROOTS_H_
