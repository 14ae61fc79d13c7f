// UnitRenderer: turns one unit (the subtree of one tile at the plan's unit zoom, up to
// 2048 x 2048 base pixels) into encoded tiles of every level it holds, and its raw root tile
// when levels above the units are formed. One per worker thread.
//
// The base level is one warp of the unit's block (BlockWarper: GDAL's warper, or a separable
// two-pass kernel where the mapping allows). Overviews inside the unit: 2x2-local resamplings
// (average, mode, nearest) form each tile from its four children's raw pixels; GDAL's overview
// kernels (bilinear, cubic, lanczos of radius r) also read 2r finer pixels around them, so the
// base block is warped with a margin of 2r (2^depth - 1) pixels and reduced level by level with
// its margin.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_UNIT_RENDERER_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_UNIT_RENDERER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "pyramid/internal/block_warper.h"
#include "pyramid/internal/build/build_plan.h"
#include "pyramid/internal/source.h"
#include "pyramid/internal/tile_pixels.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// EncodedTile is one encoded tile of a unit, its bytes in UnitResult::arena.
struct EncodedTile {
  int zoom;
  uint64_t key;
  size_t offset;
  size_t length;
};

// UnitResult is a rendered unit, handed from a worker to the committer.
struct UnitResult {
  uint64_t key = 0;  // The unit's Morton key at unit_zoom.
  absl::Status status;
  std::string arena;
  std::vector<EncodedTile> tiles;    // Per zoom (finest first), keys increasing.
  std::unique_ptr<TilePixels> root;  // Raw root tile when levels above are built.
};

// UnitRenderer renders units of `plan` through its own `warper`. Its buffers are reused from
// unit to unit. Thread-compatible: one per worker; `plan` must outlive it.
class UnitRenderer {
 public:
  UnitRenderer(const BuildPlan& plan, std::unique_ptr<BlockWarper> warper);

  // Render fills `result` (status, tiles, root) for the unit `unit_key`. The base level is
  // one warp of the unit's block; its overview levels are formed from each tile's four
  // children (2x2-local resamplings) or, for kernels, from a block warped with the margin
  // the kernel reads at every level (RenderWithMargin).
  void Render(uint64_t unit_key, UnitResult* result);

 private:
  absl::Status RenderBase(uint32_t ux, uint32_t uy);
  void FormOverviews();
  absl::Status RenderWithMargin(uint32_t ux, uint32_t uy);
  void EncodeLevels(uint64_t unit_key, UnitResult* result);

  const BuildPlan& plan_;
  std::unique_ptr<BlockWarper> warper_;
  std::vector<std::vector<TilePixels>> levels_;  // [depth][Morton index within the unit].
  std::vector<std::vector<bool>> present_;
  std::vector<uint8_t> block_samples_;
  std::vector<uint8_t> block_alpha_;
  std::vector<uint8_t> scratch_;
  std::string encoded_;
  // Kernel resampling: each level's block with its margin, and the passes' scratch.
  std::vector<std::vector<uint8_t>> kernel_samples_;
  std::vector<std::vector<uint8_t>> kernel_alpha_;
  std::vector<double> kernel_scratch_;
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_UNIT_RENDERER_H_
