#include "codec/codec.h"

#include "absl/strings/str_format.h"
#include "codec/elevation.h"
#include "codec/internal/checks.h"
#include "codec/jpeg.h"
#include "codec/png.h"
#include "codec/webp.h"

namespace flatpyramid {
namespace codec {

absl::Status Encode(CodecId codec, const ImageView& image, const EncodeOptions& options,
                    std::string* out) {
  switch (codec) {
    case CodecId::kJpeg:
      return EncodeJpeg(image, options, out);
    case CodecId::kPng:
      return EncodePng(image, options, out);
    case CodecId::kWebp:
      return EncodeWebp(image, options, out);
    case CodecId::kElevation:
      return EncodeElevation(image, options, out);
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("encode: unknown codec id %d", static_cast<int>(codec)));
}

absl::StatusOr<CodecId> DetectCodec(absl::string_view bytes) {
  if (LooksJpeg(bytes)) return CodecId::kJpeg;
  if (LooksPng(bytes)) return CodecId::kPng;
  if (LooksWebp(bytes)) return CodecId::kWebp;
  if (LooksElevation(bytes)) return CodecId::kElevation;
  std::string head;
  for (size_t i = 0; i < bytes.size() && i < 8; ++i) {
    absl::StrAppendFormat(&head, "%02x", static_cast<uint8_t>(bytes[i]));
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "detect codec: %u bytes starting with [%s] match no JPEG, PNG, WebP or elevation magic "
      "number; the tile is corrupt or in an unsupported format",
      bytes.size(), head));
}

absl::StatusOr<ImageInfo> PeekInfo(absl::string_view bytes, const DecodeLimits& limits) {
  absl::StatusOr<CodecId> codec = DetectCodec(bytes);
  if (!codec.ok()) return codec.status();
  switch (*codec) {
    case CodecId::kJpeg:
      return PeekJpegInfo(bytes, limits);
    case CodecId::kPng:
      return PeekPngInfo(bytes, limits);
    case CodecId::kWebp:
      return PeekWebpInfo(bytes, limits);
    case CodecId::kElevation:
      return PeekElevationInfo(bytes, limits);
  }
  return absl::InternalError("peek: unreachable codec");
}

absl::Status DecodeInto(absl::string_view bytes, const MutableImageView& out,
                        const DecodeLimits& limits) {
  absl::StatusOr<CodecId> codec = DetectCodec(bytes);
  if (!codec.ok()) return codec.status();
  switch (*codec) {
    case CodecId::kJpeg:
      return DecodeJpegInto(bytes, out, limits);
    case CodecId::kPng:
      return DecodePngInto(bytes, out, limits);
    case CodecId::kWebp:
      return DecodeWebpInto(bytes, out, limits);
    case CodecId::kElevation:
      return DecodeElevationInto(bytes, out, limits);
  }
  return absl::InternalError("decode: unreachable codec");
}

absl::StatusOr<Image> Decode(absl::string_view bytes, const DecodeLimits& limits) {
  absl::StatusOr<ImageInfo> info = PeekInfo(bytes, limits);
  if (!info.ok()) return info.status();
  // PeekInfo has checked the dimensions against `limits`, so this allocation is bounded.
  // A successful DecodeInto writes every sample; a failed one's image is dropped.
  Image image = Image::Uninitialized(info->width, info->height, info->bands, info->type);
  absl::Status status = DecodeInto(bytes, image.mutable_view(), limits);
  if (!status.ok()) return status;
  return image;
}

}  // namespace codec
}  // namespace flatpyramid
