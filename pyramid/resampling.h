// Resampling kernels, named once for the whole pyramid layer: the typed enum the library takes
// (ReadRegion, the builder), the names tools and the metadata use (GDAL's -r names), and their
// GDAL equivalents.
//
// Thread safety: every function may be called concurrently.
//
// Example:
//   absl::StatusOr<Resampling> r = ParseResampling("cubic");
//   if (!r.ok()) return r.status();  // InvalidArgument listing the names.
//   GDALResampleAlg alg = ToGdalResampleAlg(*r);  // GRA_Cubic.
#ifndef FLATPYRAMID_PYRAMID_RESAMPLING_H_
#define FLATPYRAMID_PYRAMID_RESAMPLING_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gdalwarper.h"

namespace flatpyramid {
namespace pyramid {

// Resampling names a GDAL resampling kernel.
enum class Resampling { kNearest, kBilinear, kCubic, kCubicSpline, kLanczos, kAverage, kMode };

// ParseResampling accepts "nearest", "bilinear", "cubic", "cubicspline", "lanczos",
// "average" and "mode" (GDAL's names); InvalidArgument listing them otherwise.
absl::StatusOr<Resampling> ParseResampling(absl::string_view name);

// ResamplingName returns the name ParseResampling accepts.
absl::string_view ResamplingName(Resampling resampling);

// ToGdalResampleAlg is the GDAL warper's kernel (GRA_NearestNeighbour, GRA_Bilinear, ...).
GDALResampleAlg ToGdalResampleAlg(Resampling resampling);

// GdalOverviewResamplingName is the kernel's name for GDALRegenerateOverviews and
// gdaladdo -r ("NEAREST", "BILINEAR", "CUBIC", "CUBICSPLINE", "LANCZOS", "AVERAGE", "MODE").
absl::string_view GdalOverviewResamplingName(Resampling resampling);

// DefaultOverviewResampling is the kernel overviews are formed with when none is given:
// classified (mode) and nearest data keep their values (the same kernel), anything else
// the average.
Resampling DefaultOverviewResampling(Resampling base);

// KernelRadius is the kernel's reach in source pixels at 1:1 scale: 1 for nearest, bilinear,
// average and mode, 2 for cubic and cubicspline, 3 for lanczos.
int KernelRadius(Resampling resampling);

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_RESAMPLING_H_
