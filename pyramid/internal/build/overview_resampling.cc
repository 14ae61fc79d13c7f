#include "pyramid/internal/build/overview_resampling.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

OverviewResampling ToOverviewResampling(Resampling resampling) {
  switch (resampling) {
    case Resampling::kNearest:
      return OverviewResampling::kNearest;
    case Resampling::kMode:
      return OverviewResampling::kMode;
    case Resampling::kBilinear:
      return OverviewResampling::kBilinear;
    case Resampling::kCubic:
      return OverviewResampling::kCubic;
    case Resampling::kLanczos:
      return OverviewResampling::kLanczos;
    case Resampling::kAverage:
    case Resampling::kCubicSpline:  // Refused by ValidateBuildOptions.
      return OverviewResampling::kAverage;
  }
  return OverviewResampling::kAverage;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
