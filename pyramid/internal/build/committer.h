// Committer: the one thread that appends the units' tiles to the store in Morton order,
// forms the levels above the unit zoom, deduplicates small tiles and keeps the per-level
// statistics of the metadata.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_COMMITTER_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_COMMITTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pyramid/format.h"
#include "pyramid/internal/build/build_plan.h"
#include "pyramid/internal/build/shard_roots.h"
#include "pyramid/internal/build/tile_dedup.h"
#include "pyramid/internal/build/tile_spill.h"
#include "pyramid/internal/build/unit_renderer.h"
#include "pyramid/internal/build_state.pb.h"
#include "pyramid/internal/tile_pixels.h"
#include "pyramid/metadata.pb.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// Committer appends to `writer`'s level sections (`sections[zoom]`). Every level's section
// grows at the same time with strictly increasing keys. The levels above the unit zoom are
// formed from the units' raw root tiles: 2x2-local overviews keep three pending tiles per
// level in memory; kernel overviews spill the root tiles (SetSpill) and form those levels
// level by level with their neighbours in Finish. Thread-compatible (the committer thread).
class Committer {
 public:
  Committer(const BuildPlan& plan, storage::Writer* writer, std::vector<uint32_t> sections);

  // AppendUnit appends a rendered unit's tiles and hands its root tile to the levels above.
  absl::Status AppendUnit(uint64_t unit_key, UnitResult* result);

  // SetSpill makes the units' raw root tiles go to `spill` (kernel overviews).
  void SetSpill(std::unique_ptr<TileSpill> spill) { spill_ = std::move(spill); }
  TileSpill* spill() const { return spill_.get(); }

  // Finish forms the levels above the units, after the last unit. Nothing is committed
  // meanwhile, so a killed build redoes this pass on --resume. The spill files of the
  // intermediate levels are beside `build_path`, written through `env`.
  absl::Status Finish(storage::Env* env, const std::string& build_path);

  void FillLevels(PyramidMetadata* metadata) const;

  // BoundaryRoots are the raw tiles whose parent straddles the plan's shard boundaries
  // (formed by merge_pyramids instead), by (zoom, key); empty without a shard.
  const ShardRootMap& boundary_roots() const { return boundary_roots_; }
  uint64_t tiles_written() const { return tiles_written_; }
  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t unique_tiles() const;

  // SaveState writes the per-level statistics into `state` and the pending overview tiles
  // into `pending` (a commit point); RestoreState reinstalls them (--resume).
  void SaveState(BuildState* state, PendingTiles* pending) const;
  absl::Status RestoreState(const BuildState& state, const PendingTiles& pending);
  // SetDedup installs the small tiles already committed (a resumed build), so it shares them
  // exactly as a clean build would.
  void SetDedup(TileDedup dedup) { dedup_ = std::move(dedup); }

 private:
  struct Pending {
    bool active = false;
    uint64_t key = 0;  // Parent key at this level.
    std::unique_ptr<TilePixels> children[4];
  };

  absl::Status FinishFromSpill(storage::Env* env, const std::string& build_path);
  absl::Status AppendTile(int zoom, uint64_t key, absl::string_view bytes);
  void AddTileStats(int zoom, uint64_t key, bool unique, uint64_t bytes);
  absl::Status AddAbove(int zoom, uint64_t key, std::unique_ptr<TilePixels> tile);
  absl::Status Flush(int zoom);

  const BuildPlan& plan_;
  storage::Writer* writer_;
  std::vector<uint32_t> sections_;  // By zoom.
  TileDedup dedup_;
  std::vector<Pending> pending_;  // By parent zoom.
  // Levels min_zoom..max_zoom: their zoom and section, and their statistics so far.
  google::protobuf::RepeatedPtrField<Level> metadata_levels_;
  std::vector<LevelStats> stats_;
  uint64_t tiles_written_ = 0;
  uint64_t bytes_written_ = 0;
  std::vector<uint8_t> scratch_;
  std::string encoded_;
  std::unique_ptr<TileSpill> spill_;  // Kernel overviews: the units' root tiles.
  // Shards: the children of the pending parents that straddle a shard boundary.
  ShardRootMap boundary_roots_;
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_COMMITTER_H_
