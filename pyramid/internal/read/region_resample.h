// Internal to //pyramid: the kernels of ReadRegion's fast path, for requests in the tile
// matrix set's own CRS. There the output grid maps to the level's pixel grid by a scale and
// an offset per axis, so resampling is separable: each output column has its source
// column(s) and weights, each output row its source row(s), computed once per request.
//
// The kernels reproduce GDAL's warper on the same grids (what ReadRegion does for other
// CRSs): nearest picks the source pixel under the output pixel's centre exactly as GDAL
// does; bilinear uses GDAL's four-sample formula (pixel centres at half-integers) and rounds
// like GDAL, so results agree to within one unit of the last place.
//
// Example:
//   std::vector<int32_t> columns = NearestSourceIndices(first_centre_x, step_x, out.width,
//                                                       mosaic.width());
//   std::vector<int32_t> rows = NearestSourceIndices(first_centre_y, step_y, out.height,
//                                                    mosaic.height());
//   GatherNearest(mosaic.view(), columns, rows, /*valid_band=*/3, out);
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_REGION_RESAMPLE_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_REGION_RESAMPLE_H_

#include <cstdint>
#include <vector>

#include "codec/image.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// kGdalNearestEpsilon is what GDAL's nearest-neighbour kernel adds to a source coordinate
// before truncating it, so that a centre landing on a pixel edge picks the pixel after it.
inline constexpr double kGdalNearestEpsilon = 1e-10;

// NearestSourceIndices returns, for each of `count` output pixels along one axis, the
// source pixel whose area holds the output pixel's centre, `first_centre + i * step` in
// source pixel coordinates (0 = the source's first edge), or -1 when that is outside
// 0..source_size-1.
std::vector<int32_t> NearestSourceIndices(double first_centre, double step, int count,
                                          int source_size);

// BilinearTaps holds, per output pixel along one axis, the two source pixels it blends and
// the first one's weight (the second's is 1 - weight0). Where a tap falls outside the
// source both taps name the pixel inside with weight0 = 1 (GDAL renormalises the same way).
struct BilinearTaps {
  std::vector<int32_t> index0;
  std::vector<int32_t> index1;
  std::vector<float> weight0;
};

// BilinearSourceTaps computes BilinearTaps for output centres `first_centre + i * step`.
// REQUIRES: source_size >= 1 and every centre within [0, source_size].
BilinearTaps BilinearSourceTaps(double first_centre, double step, int count, int source_size);

// GatherNearest sets every output pixel whose `columns`/`rows` entries are both >= 0 to
// the first out.bands bands of that source pixel, unless `valid_band` >= 0 and that band of
// the source pixel is 0 (no data: the output pixel keeps its value).
// REQUIRES: source and out have the same pixel type, source.bands >= out.bands,
// valid_band < source.bands, columns.size() == out.width, rows.size() == out.height.
void GatherNearest(const codec::ImageView& source, const std::vector<int32_t>& columns,
                   const std::vector<int32_t>& rows, int valid_band,
                   const codec::MutableImageView& out);

// InterpolateBilinear sets every output pixel to the separable two-tap blend of the source,
// every band, rounded half up and clamped to the type's range (float32: not rounded).
// REQUIRES: source and out have the same pixel type and bands, the taps' sizes are
// out.width and out.height.
void InterpolateBilinear(const codec::ImageView& source, const BilinearTaps& columns,
                         const BilinearTaps& rows, const codec::MutableImageView& out);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_REGION_RESAMPLE_H_
