// PNG tile codec; the //codec dispatcher calls it, and it can be used on its own.
//
// uint8 or uint16 images with 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) bands.
// 16-bit samples are host-endian in memory and big-endian in the file, as PNG requires.
// Options: compression_level (zlib 0..9); levels 0-1 use a single cheap filter, higher
// levels let libspng choose the filter per row. Decoding also accepts palette images
// (expanded to RGB, or RGBA with tRNS) and gray below 8 bits (expanded to 8 bits).
// Thread-safe.
//
// Example:
//   std::string bytes;
//   absl::Status s = flatpyramid::codec::EncodePng(tile.view(), options, &bytes);
//   absl::StatusOr<ImageInfo> info = flatpyramid::codec::PeekPngInfo(bytes, limits);
//   flatpyramid::codec::Image out(info->width, info->height, info->bands, info->type);
//   s = flatpyramid::codec::DecodePngInto(bytes, out.mutable_view(), limits);
#ifndef FLATPYRAMID_CODEC_PNG_H_
#define FLATPYRAMID_CODEC_PNG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"
#include "codec/options.h"

namespace flatpyramid {
namespace codec {

// EncodePng replaces `*out` with `image` encoded as PNG, reusing out's capacity.
// InvalidArgument for an invalid view or an unsupported type / band count.
// REQUIRES: out != nullptr.
absl::Status EncodePng(const ImageView& image, const EncodeOptions& options, std::string* out);

// LooksPng is true when `bytes` starts with the PNG magic number.
bool LooksPng(absl::string_view bytes);

// PeekPngInfo parses the header only. ResourceExhausted when it exceeds `limits`.
absl::StatusOr<ImageInfo> PeekPngInfo(absl::string_view bytes, const DecodeLimits& limits = {});

// DecodePngInto decodes into `out`, whose size, bands and type must match PeekPngInfo,
// except that an RGB (or opaque palette) PNG also decodes into 4 bands with alpha 255, or
// 65535 for 16 bits. Padded output rows are decoded row by row in place (no copy).
absl::Status DecodePngInto(absl::string_view bytes, const MutableImageView& out,
                           const DecodeLimits& limits = {});

}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_PNG_H_
