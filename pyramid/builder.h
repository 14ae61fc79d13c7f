// BuildPyramid turns georeferenced rasters (anything GDAL opens; several inputs of the same
// bands, pixel type and CRS are mosaicked later-on-top as gdalbuildvrt would) into a sealed
// flatpyramid file (pyramid/FORMAT.md) in one pass over the source, on
// BuildOptions::threads workers. A paletted input is expanded to RGB, or RGBA when its colour
// table has transparent entries (gdal_translate -expand), before resampling.
//
// Errors: InvalidArgument naming the BuildOptions field, the input or the output; NotFound for
// a missing input or output directory; FailedPrecondition for a --resume that cannot continue
// or a build larger than BuildOptions::allow_large_build permits (the message says how many
// tiles); ResourceExhausted and other storage codes when writing fails (the file stays
// unsealed, never a valid pyramid; a build with a commit point continues with `resume`).
//
// Thread safety: concurrent builds of different outputs are safe, but for GDAL's block cache:
// unless BuildOptions::set_gdal_cache is false (or GDAL_CACHEMAX is set), a build sets the
// process-wide GDALSetCacheMax64 for its duration and restores it after. A second build of the
// same output fails with Unavailable (the output's lock).
//
// Caveats: at most 4 data bands (narrow with `bands`); slow remote sources (/vsicurl/) are
// read once per unit and worker; kernel overviews (bilinear, cubic, lanczos) spill one raw
// tile per unit next to the output.
//
// Example:
//   flatpyramid::pyramid::BuildOptions options;
//   options.inputs = {"L7_ETMs.tif"};
//   options.output = "landsat.fpyr";
//   options.bands = {3, 2, 1};
//   absl::StatusOr<flatpyramid::pyramid::BuildResult> result =
//       flatpyramid::pyramid::BuildPyramid(options);
//   if (!result.ok()) { std::cerr << result.status() << "\n"; return 1; }
#ifndef FLATPYRAMID_PYRAMID_BUILDER_H_
#define FLATPYRAMID_PYRAMID_BUILDER_H_

#include "absl/status/statusor.h"
#include "pyramid/build_options.h"

namespace flatpyramid {
namespace pyramid {

// BuildPyramid builds `options.output` (ValidateBuildOptions first). Also OutOfRange when the
// source does not overlap the tile matrix set, AlreadyExists when the output exists and
// neither `overwrite` nor `resume` is set. A geographic source whose longitudes leave
// -180..180 (a 0..360 grid) is wrapped around its centre, so it covers the globe.
absl::StatusOr<BuildResult> BuildPyramid(const BuildOptions& options);

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_BUILDER_H_
