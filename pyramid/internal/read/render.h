// Internal to //pyramid: renders a ReadRegion request from a pyramid's tiles, the steps in
// order: the request's box in the set's CRS and the level to read (region_plan.h), the
// level's tiles under the box placed into a mosaic (mosaic.h), and the mosaic resampled onto
// the requested grid.
//
// Resampling: a request in the set's own CRS maps to the level grid by a scale and an offset
// per axis, so no GDAL warp is needed there (the fast path): nearest is a gather of
// precomputed source columns per row, bilinear a separable two-tap blend (region_resample.h),
// and a nearest request on the level's pixel grid at its resolution (within 1e-6 px) places
// the tiles straight into the output, with no mosaic. The fast path gives GDAL's pixels
// (nearest: identical; bilinear: within one grey level) and is taken for
//   - nearest, except pyramids with both alpha and nodata, or a non-uint8 alpha band;
//   - bilinear when every source pixel it reads holds data (no transparency, no nodata value,
//     no missing tile, not float32) and the output is at most 1/0.95 times coarser than the
//     level (GDAL's four-sample formula).
// Everything else goes through GDAL's warper (region_warp.h).
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_RENDER_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_RENDER_H_

#include "absl/status/statusor.h"
#include "pyramid/internal/read/request_srs.h"
#include "pyramid/internal/read/tile_source.h"
#include "pyramid/region.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// RenderRegion renders `request`, whose bbox lies within one copy of the world (x is not
// wrapped here) in the CRS `srs`. Errors as Reader::ReadRegion.
absl::StatusOr<Region> RenderRegion(const TileSource& tiles, const RegionRequest& request,
                                    const ResolvedSrs& srs);

// RenderAcrossWorldEdges renders `request`, whose bbox (min_x < max_x, at most `period`
// wide) reaches past the world's edge at `world_min_x` or `world_min_x + period`: each run of
// output columns whose centres lie in one copy of the world is rendered shifted into it (the
// mosaics wrap, so pixels at the seam keep their whole kernel), then copied into place.
absl::StatusOr<Region> RenderAcrossWorldEdges(const TileSource& tiles, const RegionRequest& request,
                                              const ResolvedSrs& srs, double world_min_x,
                                              double period);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_RENDER_H_
