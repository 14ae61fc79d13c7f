#include "codec/internal/checks.h"

#include "absl/strings/str_format.h"

namespace flatpyramid {
namespace codec {
namespace internal {

absl::Status CheckDimensions(CodecId codec, uint64_t width, uint64_t height,
                             const DecodeLimits& limits) {
  if (width == 0 || height == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s decode: header declares an empty %ux%u image", CodecName(codec), width, height));
  }
  if (limits.max_width <= 0 || limits.max_height <= 0 ||
      width > static_cast<uint64_t>(limits.max_width) ||
      height > static_cast<uint64_t>(limits.max_height)) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("%s decode: header declares %ux%u pixels, over the limit of %dx%d; raise "
                        "DecodeLimits if the input is trusted",
                        CodecName(codec), width, height, limits.max_width, limits.max_height));
  }
  return absl::OkStatus();
}

absl::Status CheckOutputMatches(const ImageInfo& info, const MutableImageView& out) {
  absl::Status valid = ValidateView(out.view());
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s decode: output %s", CodecName(info.codec), valid.message()));
  }
  if (out.width != info.width || out.height != info.height ||
      (out.bands != info.bands && !AddsOpaqueAlpha(info, out)) || out.type != info.type) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s decode: output is %dx%d, %d bands of %s but the data holds %dx%d, %d bands of %s; "
        "size the output from PeekInfo (or give 4 bands for 3 to add opaque alpha)",
        CodecName(info.codec), out.width, out.height, out.bands, PixelTypeName(out.type),
        info.width, info.height, info.bands, PixelTypeName(info.type)));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace codec
}  // namespace flatpyramid
