#include "codec/options.h"

namespace flatpyramid {
namespace codec {

absl::string_view CodecName(CodecId codec) {
  switch (codec) {
    case CodecId::kJpeg:
      return "jpeg";
    case CodecId::kPng:
      return "png";
    case CodecId::kWebp:
      return "webp";
    case CodecId::kElevation:
      return "elevation";
  }
  return "unknown";
}

size_t MaxDecodedBytes(const DecodeLimits& limits) {
  if (limits.max_width <= 0 || limits.max_height <= 0) return 0;
  return static_cast<size_t>(limits.max_width) * static_cast<size_t>(limits.max_height) *
         kMaxBytesPerPixel;
}

}  // namespace codec
}  // namespace flatpyramid
