#include "testing/image_compare.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace flatpyramid {
namespace test {

template <typename T>
ImageDifference CompareSamples(absl::Span<const T> actual, absl::Span<const T> expected,
                               double peak, double tolerance, absl::Span<const uint8_t> valid) {
  if (actual.size() != expected.size() || (!valid.empty() && valid.size() != actual.size())) {
    std::fprintf(stderr, "CompareSamples: sizes differ (%zu, %zu, mask %zu)\n", actual.size(),
                 expected.size(), valid.size());
    std::abort();
  }
  ImageDifference d;
  double sum_squared = 0, sum_abs = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (!valid.empty() && valid[i] == 0) continue;
    const double a = static_cast<double>(actual[i]);
    const double e = static_cast<double>(expected[i]);
    if (std::isnan(a) && std::isnan(e)) {
      ++d.compared;
      continue;
    }
    // A NaN on one side only is an infinite error.
    const double diff = (std::isnan(a) || std::isnan(e)) ? INFINITY : std::fabs(a - e);
    ++d.compared;
    sum_squared += diff * diff;
    sum_abs += diff;
    if (diff > d.max_abs_error) d.max_abs_error = diff;
    if (diff > tolerance) ++d.differing;
  }
  if (d.compared > 0) {
    const double mse = sum_squared / static_cast<double>(d.compared);
    d.mean_abs_error = sum_abs / static_cast<double>(d.compared);
    d.psnr_db = mse == 0 ? INFINITY : 10.0 * std::log10(peak * peak / mse);
  }
  return d;
}

template ImageDifference CompareSamples<uint8_t>(absl::Span<const uint8_t>,
                                                 absl::Span<const uint8_t>, double, double,
                                                 absl::Span<const uint8_t>);
template ImageDifference CompareSamples<uint16_t>(absl::Span<const uint16_t>,
                                                  absl::Span<const uint16_t>, double, double,
                                                  absl::Span<const uint8_t>);
template ImageDifference CompareSamples<int16_t>(absl::Span<const int16_t>,
                                                 absl::Span<const int16_t>, double, double,
                                                 absl::Span<const uint8_t>);
template ImageDifference CompareSamples<float>(absl::Span<const float>, absl::Span<const float>,
                                               double, double, absl::Span<const uint8_t>);

}  // namespace test
}  // namespace flatpyramid
