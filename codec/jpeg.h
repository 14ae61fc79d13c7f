// JPEG tile codec; the //codec dispatcher calls it, and it can be used on its own.
//
// uint8 images with 1 band (grayscale JPEG) or 3 bands (RGB in R, G, B order; stored as
// YCbCr, as every JPEG reader expects). Options: quality, subsampling (4:2:0 / 4:4:4), fast_dct.
// Decoding accepts any baseline or progressive JPEG whose colour space is gray or YCbCr/RGB
// (CMYK/YCCK give Unimplemented). Corrupt-data warnings from libjpeg are errors. Progressive
// files with an absurd number of scans are refused (TJFLAG_LIMITSCANS).
// TurboJPEG handles are cached per thread; all functions are thread-safe.
//
// Example:
//   std::string bytes;
//   absl::Status s = flatpyramid::codec::EncodeJpeg(tile.view(), options, &bytes);
//   absl::StatusOr<ImageInfo> info = flatpyramid::codec::PeekJpegInfo(bytes, limits);
//   flatpyramid::codec::Image out(info->width, info->height, info->bands, info->type);
//   s = flatpyramid::codec::DecodeJpegInto(bytes, out.mutable_view(), limits);
#ifndef FLATPYRAMID_CODEC_JPEG_H_
#define FLATPYRAMID_CODEC_JPEG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"
#include "codec/options.h"

namespace flatpyramid {
namespace codec {

// EncodeJpeg replaces `*out` with `image` encoded as JPEG, reusing out's capacity.
// InvalidArgument for an invalid view or an unsupported type / band count.
// REQUIRES: out != nullptr.
absl::Status EncodeJpeg(const ImageView& image, const EncodeOptions& options, std::string* out);

// LooksJpeg is true when `bytes` starts with the JPEG magic number.
bool LooksJpeg(absl::string_view bytes);

// PeekJpegInfo parses the header only. ResourceExhausted when it exceeds `limits`.
absl::StatusOr<ImageInfo> PeekJpegInfo(absl::string_view bytes, const DecodeLimits& limits = {});

// DecodeJpegInto decodes into `out`, whose size, bands and type must match PeekJpegInfo,
// except that a colour JPEG also decodes into 4 bands: RGB and alpha 255 (TJPF_RGBA).
absl::Status DecodeJpegInto(absl::string_view bytes, const MutableImageView& out,
                            const DecodeLimits& limits = {});

}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_JPEG_H_
