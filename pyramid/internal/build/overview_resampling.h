// ToOverviewResampling: the 2x2 overview kernel (tile_pixels.h) that implements a Resampling
// name, shared by the builder and the merge. Its own target so that a tool that forms
// overview tiles without warping (merge_pyramids) does not link the build plan and GDAL.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_OVERVIEW_RESAMPLING_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_OVERVIEW_RESAMPLING_H_

#include "pyramid/internal/tile_pixels.h"
#include "pyramid/resampling.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// ToOverviewResampling is the overview kernel implementing `resampling` (kAverage for
// kAverage and kCubicSpline).
OverviewResampling ToOverviewResampling(Resampling resampling);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_OVERVIEW_RESAMPLING_H_
