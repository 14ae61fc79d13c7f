// Internal to //tools: CRS transformations for tools that do not link GDAL (convert_pyramid
// copies tile bytes and starts without loading GDAL's ~100 shared libraries). The rare request
// that needs PROJ loads libflatpyramid_crs.so, built next to the tool's binary
// (//tools:libflatpyramid_crs.so, geo::TransformBounds inside), and GDAL with it.
//
// Caveats: the shared object is found next to the running executable (/proc/self/exe, Linux):
// a tool copied elsewhere needs it copied along. Thread-safe.
#ifndef FLATPYRAMID_TOOLS_INTERNAL_CRS_LOADER_H_
#define FLATPYRAMID_TOOLS_INTERNAL_CRS_LOADER_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "geo/tile_matrix_set.h"

namespace flatpyramid {
namespace tools {

// TransformBoundsLoadingGdal is geo::TransformBounds (geo/crs.h), run in
// libflatpyramid_crs.so, which the first call loads. FailedPrecondition naming the file when
// it cannot be loaded; otherwise geo::TransformBounds's errors.
absl::StatusOr<geo::Bounds> TransformBoundsLoadingGdal(const geo::Bounds& bounds,
                                                       absl::string_view from_srs,
                                                       absl::string_view to_srs);

}  // namespace tools
}  // namespace flatpyramid

#endif  // FLATPYRAMID_TOOLS_INTERNAL_CRS_LOADER_H_
