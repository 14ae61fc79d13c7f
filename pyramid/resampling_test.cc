#include "pyramid/resampling.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace pyramid {
namespace {

constexpr Resampling kAll[] = {
    Resampling::kNearest, Resampling::kBilinear, Resampling::kCubic, Resampling::kCubicSpline,
    Resampling::kLanczos, Resampling::kAverage,  Resampling::kMode};

TEST(ResamplingTest, NamesAreGdalsAndRoundTrip) {
  const char* names[] = {"nearest", "bilinear", "cubic", "cubicspline",
                         "lanczos", "average",  "mode"};
  int i = 0;
  for (Resampling r : kAll) {
    EXPECT_EQ(ResamplingName(r), names[i++]);
    EXPECT_EQ(*ParseResampling(ResamplingName(r)), r);
  }
}

TEST(ResamplingTest, UnknownNamesListTheKnownOnes) {
  absl::StatusOr<Resampling> r = ParseResampling("Bilinear");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "unknown resampling 'Bilinear': use nearest, bilinear, cubic, cubicspline, lanczos, "
            "average or mode");
}

TEST(ResamplingTest, MapsToGdalKernelsAndOverviewNames) {
  const GDALResampleAlg gdal[] = {GRA_NearestNeighbour, GRA_Bilinear, GRA_Cubic, GRA_CubicSpline,
                                  GRA_Lanczos,          GRA_Average,  GRA_Mode};
  const char* overview[] = {"NEAREST", "BILINEAR", "CUBIC", "CUBICSPLINE",
                            "LANCZOS", "AVERAGE",  "MODE"};
  const int radius[] = {1, 1, 2, 2, 3, 1, 1};
  int i = 0;
  for (Resampling r : kAll) {
    EXPECT_EQ(ToGdalResampleAlg(r), gdal[i]);
    EXPECT_EQ(GdalOverviewResamplingName(r), overview[i]);
    EXPECT_EQ(KernelRadius(r), radius[i]);
    ++i;
  }
}

TEST(ResamplingTest, OverviewsKeepNearestAndModeAndAverageEverythingElse) {
  EXPECT_EQ(DefaultOverviewResampling(Resampling::kNearest), Resampling::kNearest);
  EXPECT_EQ(DefaultOverviewResampling(Resampling::kMode), Resampling::kMode);
  EXPECT_EQ(DefaultOverviewResampling(Resampling::kBilinear), Resampling::kAverage);
  EXPECT_EQ(DefaultOverviewResampling(Resampling::kLanczos), Resampling::kAverage);
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
