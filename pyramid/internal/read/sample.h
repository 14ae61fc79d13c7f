// Internal to //pyramid: Reader::Sample, a value at a point from the finest level holding
// data there.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_SAMPLE_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_SAMPLE_H_

#include <optional>

#include "absl/status/statusor.h"
#include "pyramid/internal/read/tile_source.h"
#include "pyramid/region.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// SamplePoint is Reader::Sample (pyramid/reader.h states the contract).
absl::StatusOr<std::optional<double>> SamplePoint(const TileSource& tiles, double lon, double lat,
                                                  SampleMethod method, int band);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_SAMPLE_H_
