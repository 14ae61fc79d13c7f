#include "codec/webp.h"

#include <webp/decode.h>
#include <webp/encode.h>

#include <climits>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codec/internal/checks.h"

namespace flatpyramid {
namespace codec {
namespace {

int AppendToString(const uint8_t* data, size_t size, const WebPPicture* picture) {
  static_cast<std::string*>(picture->custom_ptr)->append(reinterpret_cast<const char*>(data), size);
  return 1;
}

const char* EncodingErrorName(WebPEncodingError error) {
  switch (error) {
    case VP8_ENC_ERROR_OUT_OF_MEMORY:
    case VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY:
      return "out of memory";
    case VP8_ENC_ERROR_BAD_DIMENSION:
      return "bad dimension (WebP takes at most 16383x16383)";
    case VP8_ENC_ERROR_PARTITION0_OVERFLOW:
    case VP8_ENC_ERROR_PARTITION_OVERFLOW:
      return "partition overflow";
    default:
      return "encoder error";
  }
}

}  // namespace

bool LooksWebp(absl::string_view bytes) {
  return bytes.size() >= 12 && std::memcmp(bytes.data(), "RIFF", 4) == 0 &&
         std::memcmp(bytes.data() + 8, "WEBP", 4) == 0;
}

absl::Status EncodeWebp(const ImageView& image, const EncodeOptions& options, std::string* out) {
  absl::Status valid = ValidateView(image);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("webp encode: ", valid.message()));
  }
  if (image.type != PixelType::kUint8 || (image.bands != 3 && image.bands != 4)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "webp encode: %d bands of %s; WebP takes uint8 RGB (3 bands) or RGBA (4 bands)",
        image.bands, PixelTypeName(image.type)));
  }
  if (options.quality < 0 || options.quality > 100 || options.webp_method < 0 ||
      options.webp_method > 6) {
    return absl::InvalidArgumentError(
        absl::StrFormat("webp encode: quality %d (0..100) or webp_method %d (0..6) out of range",
                        options.quality, options.webp_method));
  }
  if (image.width > WEBP_MAX_DIMENSION || image.height > WEBP_MAX_DIMENSION ||
      image.row_stride > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("webp encode: %dx%d exceeds WebP's %d pixel limit", image.width,
                        image.height, WEBP_MAX_DIMENSION));
  }
  WebPConfig config;
  if (!WebPConfigInit(&config)) return absl::InternalError("webp encode: libwebp version mismatch");
  config.lossless = options.lossless ? 1 : 0;
  config.quality = static_cast<float>(options.quality);
  config.method = options.webp_method;
  // Lossless must give back every sample, including RGB under transparent pixels.
  config.exact = options.lossless ? 1 : 0;
  if (!WebPValidateConfig(&config)) {
    return absl::InvalidArgumentError("webp encode: libwebp rejected the configuration");
  }
  WebPPicture picture;
  if (!WebPPictureInit(&picture)) return absl::InternalError("webp encode: libwebp mismatch");
  picture.use_argb = options.lossless ? 1 : 0;
  picture.width = image.width;
  picture.height = image.height;
  const int stride = static_cast<int>(image.row_stride);
  const int imported = image.bands == 4 ? WebPPictureImportRGBA(&picture, image.data, stride)
                                        : WebPPictureImportRGB(&picture, image.data, stride);
  if (!imported) {
    WebPPictureFree(&picture);
    return absl::ResourceExhaustedError("webp encode: importing the pixels failed (memory)");
  }
  out->clear();
  picture.writer = AppendToString;
  picture.custom_ptr = out;
  const int ok = WebPEncode(&config, &picture);
  const WebPEncodingError error = picture.error_code;
  WebPPictureFree(&picture);
  if (!ok) {
    out->clear();
    return absl::InternalError(absl::StrCat("webp encode: ", EncodingErrorName(error)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ImageInfo> PeekWebpInfo(absl::string_view bytes, const DecodeLimits& limits) {
  if (!LooksWebp(bytes)) {
    return absl::InvalidArgumentError("webp decode: missing the RIFF....WEBP signature");
  }
  WebPBitstreamFeatures features;
  const VP8StatusCode status =
      WebPGetFeatures(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &features);
  if (status != VP8_STATUS_OK) {
    return absl::InvalidArgumentError(
        absl::StrFormat("webp decode: bad header (libwebp status %d)", static_cast<int>(status)));
  }
  if (features.has_animation) {
    return absl::UnimplementedError("webp decode: animated WebP is not a tile");
  }
  absl::Status dims =
      internal::CheckDimensions(CodecId::kWebp, features.width < 0 ? 0 : features.width,
                                features.height < 0 ? 0 : features.height, limits);
  if (!dims.ok()) return dims;
  ImageInfo info;
  info.width = features.width;
  info.height = features.height;
  info.bands = features.has_alpha ? 4 : 3;
  info.type = PixelType::kUint8;
  info.codec = CodecId::kWebp;
  return info;
}

absl::Status DecodeWebpInto(absl::string_view bytes, const MutableImageView& out,
                            const DecodeLimits& limits) {
  absl::StatusOr<ImageInfo> info = PeekWebpInfo(bytes, limits);
  if (!info.ok()) return info.status();
  absl::Status matches = internal::CheckOutputMatches(*info, out);
  if (!matches.ok()) return matches;
  if (out.row_stride > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError("webp decode: output row_stride exceeds 2^31");
  }
  const uint8_t* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t size = out.row_stride * static_cast<size_t>(out.height - 1) +
                      static_cast<size_t>(out.width) * out.bands;
  const int stride = static_cast<int>(out.row_stride);
  const uint8_t* decoded = out.bands == 4
                               ? WebPDecodeRGBAInto(data, bytes.size(), out.data, size, stride)
                               : WebPDecodeRGBInto(data, bytes.size(), out.data, size, stride);
  if (decoded == nullptr) {
    return absl::InvalidArgumentError("webp decode: corrupt or truncated bitstream");
  }
  return absl::OkStatus();
}

}  // namespace codec
}  // namespace flatpyramid
