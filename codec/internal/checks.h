// Checks every codec shares: header sizes against DecodeLimits, and a caller's output view
// against what the header says. Internal to //codec.
#ifndef FLATPYRAMID_CODEC_INTERNAL_CHECKS_H_
#define FLATPYRAMID_CODEC_INTERNAL_CHECKS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "codec/image.h"
#include "codec/options.h"

namespace flatpyramid {
namespace codec {
namespace internal {

// CheckDimensions returns ResourceExhausted when width x height exceeds `limits` and
// InvalidArgument when either is zero; the message names the codec and the sizes.
absl::Status CheckDimensions(CodecId codec, uint64_t width, uint64_t height,
                             const DecodeLimits& limits);

// CheckOutputMatches returns InvalidArgument when `out` is not a valid view or its size,
// bands or pixel type differ from `info`. One difference is allowed: a 4-band `out` for a
// 3-band (colour) `info`, which the codec fills with opaque alpha (AddsOpaqueAlpha).
absl::Status CheckOutputMatches(const ImageInfo& info, const MutableImageView& out);

// AddsOpaqueAlpha is true when a decode of `info` into `out` must add an opaque alpha band.
inline bool AddsOpaqueAlpha(const ImageInfo& info, const MutableImageView& out) {
  return info.bands == 3 && out.bands == 4;
}

}  // namespace internal
}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_INTERNAL_CHECKS_H_
