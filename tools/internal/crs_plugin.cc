// libflatpyramid_crs.so: geo::TransformBounds behind a C entry point, for tools that link no
// GDAL and load it only when a CRS needs PROJ (crs_loader.h). Built by
// //tools:libflatpyramid_crs.so.

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "absl/status/statusor.h"
#include "geo/crs.h"

// flatpyramid_transform_bounds transforms `in` (min_x, min_y, max_x, max_y) from the CRS
// `from` to the CRS `to` into `out`. Returns 0 (absl::StatusCode::kOk) or the status code,
// with the message in `error` (NUL-terminated, cut to error_size).
extern "C" __attribute__((visibility("default"))) int flatpyramid_transform_bounds(
    const double in[4], const char* from, const char* to, double out[4], char* error,
    size_t error_size) {
  const flatpyramid::geo::Bounds bounds{in[0], in[1], in[2], in[3]};
  absl::StatusOr<flatpyramid::geo::Bounds> result =
      flatpyramid::geo::TransformBounds(bounds, from, to);
  if (!result.ok()) {
    if (error_size > 0) {
      const size_t n = std::min(error_size - 1, result.status().message().size());
      std::memcpy(error, result.status().message().data(), n);
      error[n] = '\0';
    }
    return static_cast<int>(result.status().code());
  }
  out[0] = result->min_x;
  out[1] = result->min_y;
  out[2] = result->max_x;
  out[3] = result->max_y;
  return 0;
}
