// Tile codecs behind one interface: encode an interleaved image to bytes, recognise the
// codec from the bytes themselves (so a pyramid may mix codecs tile by tile), and decode to
// a new Image or into a caller's buffer.
//
// Supported combinations (anything else is InvalidArgument / Unimplemented, never a crash):
//   JPEG       uint8, 1 (gray) or 3 (RGB) bands; quality, 4:2:0 or 4:4:4.
//   PNG        uint8 or uint16, 1 (gray), 2 (gray+alpha), 3 (RGB), 4 (RGBA) bands.
//   WebP       uint8, 3 (RGB) or 4 (RGBA) bands; lossy with quality, or lossless.
//   Elevation  int16, uint16 or float32, 1 band; exact (NaN payloads and nodata included).
//
// Decoding untrusted bytes is safe: truncated, corrupted or hostile input returns an error
// status, and no decode allocates a block larger than MaxDecodedBytes(limits) plus a small
// constant (allocation_test measures it, inside the codec libraries too).
//
// Thread safety: every function may be called concurrently from any number of threads.
// Library handles (TurboJPEG, zstd contexts) are cached per thread.
//
// Example:
//   std::string bytes;
//   absl::Status s = flatpyramid::codec::Encode(CodecId::kPng, tile.view(), {}, &bytes);
//   ...
//   absl::StatusOr<flatpyramid::codec::Image> back = flatpyramid::codec::Decode(bytes);
//   if (!back.ok()) return back.status();
#ifndef FLATPYRAMID_CODEC_CODEC_H_
#define FLATPYRAMID_CODEC_CODEC_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"
#include "codec/options.h"

namespace flatpyramid {
namespace codec {

// Encode replaces `*out` with `image` encoded by `codec`, reusing out's capacity.
// Returns InvalidArgument for a view that breaks ImageView's requirements or a pixel type /
// band count the codec does not support, and Internal if the library fails.
// REQUIRES: out != nullptr.
absl::Status Encode(CodecId codec, const ImageView& image, const EncodeOptions& options,
                    std::string* out);

// DetectCodec recognises the codec from magic numbers (JPEG FF D8 FF, the PNG signature,
// RIFF....WEBP, elevation "FPEL"). It reads at most the first 16 bytes.
// Returns InvalidArgument when no codec matches.
absl::StatusOr<CodecId> DetectCodec(absl::string_view bytes);

// PeekInfo parses only the header: size, bands, pixel type and codec, without decoding.
// Returns ResourceExhausted when the size exceeds `limits`.
absl::StatusOr<ImageInfo> PeekInfo(absl::string_view bytes, const DecodeLimits& limits = {});

// Decode decodes `bytes` into a new, tightly packed Image.
absl::StatusOr<Image> Decode(absl::string_view bytes, const DecodeLimits& limits = {});

// DecodeInto decodes `bytes` into `out`, which must have the encoded image's width, height,
// bands and pixel type (any row_stride large enough); InvalidArgument otherwise, before any
// pixel is written. One exception: a 3-band colour image (JPEG, PNG, WebP) decodes into a
// 4-band `out` too, with an opaque alpha band (255; 65535 for 16-bit PNG), so an RGBA
// buffer can take RGB tiles with no second pass. (A WebP encoder drops an all-opaque alpha
// channel, so an RGBA tile may come back as a 3-band stream: decode it into 4 bands.)
// On a decode error `out` may hold partial data.
absl::Status DecodeInto(absl::string_view bytes, const MutableImageView& out,
                        const DecodeLimits& limits = {});

}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_CODEC_H_
