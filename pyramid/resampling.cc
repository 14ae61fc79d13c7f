#include "pyramid/resampling.h"

#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace pyramid {
namespace {

constexpr Resampling kAll[] = {
    Resampling::kNearest, Resampling::kBilinear, Resampling::kCubic, Resampling::kCubicSpline,
    Resampling::kLanczos, Resampling::kAverage,  Resampling::kMode};

}  // namespace

absl::StatusOr<Resampling> ParseResampling(absl::string_view name) {
  for (Resampling r : kAll) {
    if (name == ResamplingName(r)) return r;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown resampling '", name,
                   "': use nearest, bilinear, cubic, cubicspline, lanczos, average or mode"));
}

absl::string_view ResamplingName(Resampling resampling) {
  switch (resampling) {
    case Resampling::kNearest:
      return "nearest";
    case Resampling::kBilinear:
      return "bilinear";
    case Resampling::kCubic:
      return "cubic";
    case Resampling::kCubicSpline:
      return "cubicspline";
    case Resampling::kLanczos:
      return "lanczos";
    case Resampling::kAverage:
      return "average";
    case Resampling::kMode:
      return "mode";
  }
  return "bilinear";
}

GDALResampleAlg ToGdalResampleAlg(Resampling resampling) {
  switch (resampling) {
    case Resampling::kNearest:
      return GRA_NearestNeighbour;
    case Resampling::kBilinear:
      return GRA_Bilinear;
    case Resampling::kCubic:
      return GRA_Cubic;
    case Resampling::kCubicSpline:
      return GRA_CubicSpline;
    case Resampling::kLanczos:
      return GRA_Lanczos;
    case Resampling::kAverage:
      return GRA_Average;
    case Resampling::kMode:
      return GRA_Mode;
  }
  return GRA_Bilinear;
}

absl::string_view GdalOverviewResamplingName(Resampling resampling) {
  switch (resampling) {
    case Resampling::kNearest:
      return "NEAREST";
    case Resampling::kBilinear:
      return "BILINEAR";
    case Resampling::kCubic:
      return "CUBIC";
    case Resampling::kCubicSpline:
      return "CUBICSPLINE";
    case Resampling::kLanczos:
      return "LANCZOS";
    case Resampling::kAverage:
      return "AVERAGE";
    case Resampling::kMode:
      return "MODE";
  }
  return "AVERAGE";
}

Resampling DefaultOverviewResampling(Resampling base) {
  return base == Resampling::kMode || base == Resampling::kNearest ? base : Resampling::kAverage;
}

int KernelRadius(Resampling resampling) {
  switch (resampling) {
    case Resampling::kNearest:
    case Resampling::kBilinear:
    case Resampling::kAverage:
    case Resampling::kMode:
      return 1;
    case Resampling::kCubic:
    case Resampling::kCubicSpline:
      return 2;
    case Resampling::kLanczos:
      return 3;
  }
  return 3;
}

}  // namespace pyramid
}  // namespace flatpyramid
