// Image comparison for tests: PSNR and the largest absolute difference between two
// equally sized sample buffers, optionally ignoring samples a mask marks invalid.
//
// Example:
//   ImageDifference d = CompareSamples<uint8_t>(ours, gdal_reference);
//   EXPECT_GE(d.psnr_db, 40.0);
//   EXPECT_LE(d.max_abs_error, 1.0);
#ifndef FLATPYRAMID_TESTING_IMAGE_COMPARE_H_
#define FLATPYRAMID_TESTING_IMAGE_COMPARE_H_

#include <cstddef>
#include <cstdint>
#include <limits>

#include "absl/types/span.h"

namespace flatpyramid {
namespace test {

struct ImageDifference {
  double psnr_db = std::numeric_limits<double>::infinity();  // Infinity when identical.
  double max_abs_error = 0;
  double mean_abs_error = 0;
  size_t compared = 0;   // Samples compared (after the mask).
  size_t differing = 0;  // Samples whose difference exceeds `tolerance`.
};

// CompareSamples compares `actual` with `expected` sample by sample. PSNR uses `peak`
// (255 for 8-bit data; for other types pass the data range). A sample is skipped where
// `valid` is non-empty and holds 0, or where both values are NaN.
// REQUIRES: actual.size() == expected.size(), and valid is empty or of the same size.
template <typename T>
ImageDifference CompareSamples(absl::Span<const T> actual, absl::Span<const T> expected,
                               double peak = 255.0, double tolerance = 0.0,
                               absl::Span<const uint8_t> valid = {});

extern template ImageDifference CompareSamples<uint8_t>(absl::Span<const uint8_t>,
                                                        absl::Span<const uint8_t>, double, double,
                                                        absl::Span<const uint8_t>);
extern template ImageDifference CompareSamples<uint16_t>(absl::Span<const uint16_t>,
                                                         absl::Span<const uint16_t>, double, double,
                                                         absl::Span<const uint8_t>);
extern template ImageDifference CompareSamples<int16_t>(absl::Span<const int16_t>,
                                                        absl::Span<const int16_t>, double, double,
                                                        absl::Span<const uint8_t>);
extern template ImageDifference CompareSamples<float>(absl::Span<const float>,
                                                      absl::Span<const float>, double, double,
                                                      absl::Span<const uint8_t>);

}  // namespace test
}  // namespace flatpyramid

#endif  // FLATPYRAMID_TESTING_IMAGE_COMPARE_H_
