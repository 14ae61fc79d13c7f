// JPEG tile codec; the //codec dispatcher calls it, and it can be used on its own.
//
// uint8 images with 1 band (grayscale JPEG) or 3 bands (RGB in R, G, B order; stored as
// YCbCr, as every JPEG reader expects). Options: quality, subsampling (4:2:0 / 4:4:4),
// accurate_dct, optimize_huffman.
// Decoding accepts any baseline or progressive JPEG whose colour space is gray or YCbCr/RGB
// (CMYK/YCCK give Unimplemented). Corrupt-data warnings from libjpeg are errors. Progressive
// files with an absurd number of scans are refused (TJFLAG_LIMITSCANS).
// Encoding goes through libjpeg's API (per-image Huffman tables, EncodeOptions::
// optimize_huffman), whole decodes through TurboJPEG, region decodes through libjpeg's API;
// the library objects are cached per thread, and all functions are thread-safe.
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

// DecodeJpegRegionInto decodes only the out.width x out.height pixels whose top-left corner
// is (x, y) in the image, into `out` (bands and type as for DecodeJpegInto, 4 bands taking
// a colour JPEG with opaque alpha). The pixels equal those of a whole decode at the same
// place. Rows above the region are entropy-decoded but not transformed, rows below are not
// read, and columns outside it are skipped down to the nearest block column (libjpeg's
// jpeg_skip_scanlines and jpeg_crop_scanline), so an edge part of a tile costs about its
// share of the whole decode. InvalidArgument when the region leaves the image; corrupt
// data after the region is not noticed.
absl::Status DecodeJpegRegionInto(absl::string_view bytes, int x, int y,
                                  const MutableImageView& out, const DecodeLimits& limits = {});

}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_JPEG_H_
