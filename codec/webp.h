// WebP tile codec; the //codec dispatcher calls it, and it can be used on its own.
//
// uint8 images with 3 (RGB) or 4 (RGBA) bands. Options: lossless, quality (lossy; for
// lossless it is the effort), webp_method (0..6). Lossless keeps RGB under fully
// transparent pixels too (WebPConfig::exact), so the round trip is exact. Thread-safe.
//
// Example:
//   std::string bytes;
//   absl::Status s = flatpyramid::codec::EncodeWebp(tile.view(), options, &bytes);
//   absl::StatusOr<ImageInfo> info = flatpyramid::codec::PeekWebpInfo(bytes, limits);
//   flatpyramid::codec::Image out(info->width, info->height, info->bands, info->type);
//   s = flatpyramid::codec::DecodeWebpInto(bytes, out.mutable_view(), limits);
#ifndef FLATPYRAMID_CODEC_WEBP_H_
#define FLATPYRAMID_CODEC_WEBP_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"
#include "codec/options.h"

namespace flatpyramid {
namespace codec {

// EncodeWebp replaces `*out` with `image` encoded as WebP, reusing out's capacity.
// InvalidArgument for an invalid view or an unsupported type / band count.
// REQUIRES: out != nullptr.
absl::Status EncodeWebp(const ImageView& image, const EncodeOptions& options, std::string* out);

// LooksWebp is true when `bytes` starts with the WebP magic number.
bool LooksWebp(absl::string_view bytes);

// PeekWebpInfo parses the header only. ResourceExhausted when it exceeds `limits`. Bands
// are 4 when the bitstream carries alpha, else 3. libwebp's encoder leaves alpha out when
// every pixel is opaque, so an RGBA tile that was fully opaque reports 3 bands.
absl::StatusOr<ImageInfo> PeekWebpInfo(absl::string_view bytes, const DecodeLimits& limits = {});

// DecodeWebpInto decodes into `out`, whose size, bands and type must match PeekWebpInfo,
// except that a bitstream without alpha also decodes into 4 bands, with alpha 255
// (WebPDecodeRGBAInto): an opaque RGBA tile comes back as it went in.
absl::Status DecodeWebpInto(absl::string_view bytes, const MutableImageView& out,
                            const DecodeLimits& limits = {});

}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_WEBP_H_
