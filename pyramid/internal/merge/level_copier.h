// LevelCopier: plans a merged level's tiles exactly as a single build stores them, then writes
// the level with one copy per run of a shard's stored tile bytes instead of tile by tile.
//
// A single build appends each level's tiles in key order and stores small repeated tiles once
// per level (TileDedup). A shard's section holds, in key order, its tiles' bytes one after the
// other, each first seen; a later repeat is an entry pointing back. The copier walks a shard's
// entries with the same TileDedup the whole level shares: a tile a single build would share
// (its bytes already stored by an earlier shard or a formed tile) becomes a shared entry and
// its bytes are skipped; every other stored tile extends the current run of contiguous shard
// bytes, which Write copies at once (storage::Writer::AppendValuesFrom, in the kernel), and
// its entry is added with AppendShared at the rebased location. So the output's sections equal
// a single build's entry for entry, value bytes and locations included, and the number of
// copies is the number of skipped repeats plus one per shard and level.
//
// Planning first gives the level's exact entry count and blob size (section_capacity), so the
// output section is reserved exactly: nothing is grown or trimmed, nothing moved.
//
// Example (per level):
//   LevelCopier copier(max_zoom);  // One for the whole merge (dedup is per level inside).
//   copier.AddTile(z, key, formed_bytes, &stats);
//   copier.AddShardLevel(z, *shard_reader, section_in_shard, &stats, &counts);
//   section = writer->AddSection(name, copier.section_capacity());
//   status = copier.Write(writer, *section);
//
// Thread-compatible. The shard Readers must outlive Write.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_MERGE_LEVEL_COPIER_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_MERGE_LEVEL_COPIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pyramid/format.h"
#include "pyramid/internal/build/tile_dedup.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// CopiedCounts is what AddShardLevel took from a shard.
struct CopiedCounts {
  uint64_t tiles = 0;
  uint64_t bytes = 0;  // Tile bytes (every tile, shared or not).
};

class LevelCopier {
 public:
  explicit LevelCopier(int max_zoom) : dedup_(max_zoom) {}

  // AddTile plans one tile (a formed boundary tile) of level `zoom`, after those planned.
  void AddTile(int zoom, uint64_t key, absl::string_view bytes, LevelStats* stats);

  // AddShardLevel plans every entry of `from` (a level section of `shard`), after those
  // planned. Keys must increase across calls (Write fails otherwise).
  void AddShardLevel(int zoom, const storage::Reader& shard, uint32_t from, LevelStats* stats,
                     CopiedCounts* counts);

  // section_capacity is the exact room of the planned level.
  storage::SectionCapacity section_capacity() const;

  // Write appends the planned level to `section` (empty, of `writer`) and clears the plan.
  absl::Status Write(storage::Writer* writer, uint32_t section);

 private:
  // Step is one write of the plan, in order: copy shard bytes [begin, end) of `from`
  // (shard != nullptr), append `bytes` under `key` (a formed tile, owned), or add entry `key`
  // at `ref` (bytes already written).
  struct Step {
    const storage::Reader* shard = nullptr;
    uint32_t from = 0;
    uint64_t begin = 0, end = 0;
    bool append_bytes = false;
    std::string bytes;
    uint64_t key = 0;
    storage::ValueRef ref;
  };

  // PlanStored places shard bytes `ref` in the open run (closing it first if they do not
  // follow it) and returns where they go in the level's blob.
  storage::ValueRef PlanStored(const storage::Reader& shard, uint32_t from, storage::ValueRef ref);
  // CloseRun emits the open run's copy, then the entries waiting for it.
  void CloseRun();

  TileDedup dedup_;
  std::vector<Step> steps_;
  uint64_t entries_ = 0;
  uint64_t blob_length_ = 0;  // Of the planned level, open run included.
  bool has_run_ = false;
  Step run_;  // The open run (shard != nullptr), at blob offset run_out_begin_.
  uint64_t run_out_begin_ = 0;
  // Entries planned while the run is open, emitted after its copy (an entry's bytes must be
  // written before it). Invariant: empty when !has_run_.
  std::vector<Step> waiting_;
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_MERGE_LEVEL_COPIER_H_
