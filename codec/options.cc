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

}  // namespace codec
}  // namespace flatpyramid
