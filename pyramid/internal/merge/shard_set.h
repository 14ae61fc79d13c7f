// ShardSet: the shard files of one sharded build, opened and checked to fit together.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_MERGE_SHARD_SET_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_MERGE_SHARD_SET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pyramid/metadata.pb.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// OpenedShard is one shard file, open for reading.
struct OpenedShard {
  std::string path;
  std::unique_ptr<storage::Reader> reader;
  PyramidMetadata metadata;  // Its own: levels, shard info, creation options.
};

// ShardSet is a whole sharded build: shards[i] is shard i of shards.size().
struct ShardSet {
  std::vector<OpenedShard> shards;
  // What a single build's metadata says but levels and created_utc: the shards' common
  // metadata without the shard info and the "shard" creation option.
  PyramidMetadata metadata;
  int unit_zoom = 0;
  // The inner boundaries B_1 .. B_(N-1): the first unit key of shards 1 .. N-1.
  std::vector<uint64_t> boundaries;
};

// OpenShardSet opens `paths` (any order) and checks that they are the N shards of one build:
// InvalidArgument naming the files for a file that is not a shard, different options (the
// first differing field or creation option), a count other than paths.size(), an index
// given twice, or unit ranges that overlap or leave a gap; the storage errors of opening.
absl::StatusOr<ShardSet> OpenShardSet(const std::vector<std::string>& paths);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_MERGE_SHARD_SET_H_
