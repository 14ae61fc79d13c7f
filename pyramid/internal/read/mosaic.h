// Internal to //pyramid: places a level's tiles into a pixel buffer (a region's mosaic, or the
// output itself on the aligned fast path). Stored tiles are decoded in parallel, each into its
// own part of the target; tiles missing at the level are filled from the nearest coarser
// level that has them, replicated (nearest, average, mode: what those kernels do when
// upsampling) or upsampled by GDAL's warper with the requested kernel over the coarser tiles
// under the hole plus the kernel's reach.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_MOSAIC_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_MOSAIC_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "codec/image.h"
#include "pyramid/internal/read/region_plan.h"
#include "pyramid/internal/read/tile_source.h"
#include "pyramid/region.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// TilePlacement is one call of PlaceTiles: fill `area` of `target` from level `tiles.z`.
struct TilePlacement {
  const LevelTiles* tiles = nullptr;
  Window area;  // Global pixels at zoom tiles->z, inside tiles->window.
  codec::MutableImageView target;
  int64_t origin_x = 0, origin_y = 0;  // The global pixel at target pixel (0, 0).
  double extra_value = 0;              // For target bands beyond the pyramid's.
  // clear_transparent_colour zeroes the colour of placed pixels with alpha 0 (uint8 only).
  bool clear_transparent_colour = false;
  // fill_resampling upsamples the coarser tiles that fill missing ones.
  Resampling fill_resampling = Resampling::kNearest;
};

// PlaceTiles fills `placement.area` of the target and counts the tiles used in `region`
// (tiles_decoded, tiles_from_coarser_levels); `*any_data` is set when any tile was placed.
// Pixels of no tile are left as they were. Errors: a tile that does not decode (DataLoss), a
// failed warp.
absl::Status PlaceTiles(const TileSource& tiles, const TilePlacement& placement, Region* region,
                        bool* any_data);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_MOSAIC_H_
