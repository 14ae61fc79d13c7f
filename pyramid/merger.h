// MergePyramids joins the shard files of a sharded build (BuildOptions::shard, build_pyramid
// --shard=i/N) into one pyramid that holds, tile for tile, the bytes a single build with the
// same options writes.
//
// How it works: the shards are checked to be the N parts of one build (same options, every
// index once, unit ranges that follow each other with no gap or overlap). Each level of the
// output is then the shards' same level in shard order, with, between shard i-1's and shard
// i's tiles, the tiles coarser than the units whose subtree straddles boundary i: those are
// formed here, bottom-up, exactly as a single build forms them (2x2 overview resampling of the
// raw pixels of their four children, which the shards recorded in their "shard_roots"
// section, then the pyramid's codec). Small tiles are shared per level as a single build
// shares them, so the output's sections equal a single build's entry for entry.
//
// Output rules (as every writer here): an existing output is refused without `overwrite`, an
// output that is one of the shards is refused, and the pyramid is written to
// "<output>.merge-tmp" and renamed over `output` only once sealed.
//
// Copying: each shard's stored tile bytes are copied in runs, one storage::Writer::
// AppendValuesFrom (copy_file_range) per run, broken only where a single build would share a
// tile a shard stored (internal/merge/level_copier.h). The kernel copies the bytes without a
// pass through user space. A reflink (XFS, btrfs) needs the run's source and destination
// offsets both block aligned; the output's blob is laid out as a single build's, not aligned
// to the shards', so expect a copy, not shared blocks. Every small tile is still read once, to
// find the ones a single build shares.
//
// Example:
//   flatpyramid::pyramid::MergeOptions options;
//   options.shards = {"shard-0.fpyr", "shard-1.fpyr"};
//   options.output = "mosaic.fpyr";
//   absl::StatusOr<flatpyramid::pyramid::MergeResult> merged =
//       flatpyramid::pyramid::MergePyramids(options);
#ifndef FLATPYRAMID_PYRAMID_MERGER_H_
#define FLATPYRAMID_PYRAMID_MERGER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pyramid/metadata.pb.h"

namespace flatpyramid {
namespace pyramid {

// MergeOptions: the shard files (any order) and the output.
struct MergeOptions {
  std::vector<std::string> shards;
  std::string output;
  bool overwrite = false;  // Replace an existing output.
};

// MergeResult is what was written.
struct MergeResult {
  PyramidMetadata metadata;   // Also stored in the file.
  uint64_t tiles_copied = 0;  // From the shards.
  uint64_t tiles_formed = 0;  // Straddling a shard boundary, formed here.
  uint64_t bytes_read = 0;    // Tile bytes read from the shards.
};

// MergePyramids writes options.output. Errors (nothing is left at `output` on failure):
//   InvalidArgument: no shards, a file that is not a shard, shards of different options
//     (naming the first differing metadata field or creation option), a count that differs
//     from the number of files, one index twice, ranges that overlap or leave a gap;
//   NotFound / DataLoss: a shard missing or corrupt; AlreadyExists: the output exists and
//   !overwrite; ResourceExhausted / Internal: disk full or I/O failure.
absl::StatusOr<MergeResult> MergePyramids(const MergeOptions& options);

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_MERGER_H_
