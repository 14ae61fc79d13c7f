// Codec identifiers, encoder options, decoder limits and the header facts a decoder
// reports before decoding. Shared by the dispatching //codec target and by each codec's
// own target (//codec:jpeg, :png, :webp, :elevation).
//
// Example:
//   flatpyramid::codec::EncodeOptions options;
//   options.quality = 90;
//   options.subsampling = flatpyramid::codec::ChromaSubsampling::k444;
//   flatpyramid::codec::DecodeLimits limits;
//   limits.max_width = limits.max_height = 512;  // Tiles: refuse anything bigger.
#ifndef FLATPYRAMID_CODEC_OPTIONS_H_
#define FLATPYRAMID_CODEC_OPTIONS_H_

#include <cstddef>

#include "absl/strings/string_view.h"
#include "codec/image.h"

namespace flatpyramid {
namespace codec {

// CodecId names a tile encoding. DetectCodec recognises each from its first bytes.
enum class CodecId {
  kJpeg,       // JFIF/JPEG, libjpeg-turbo. uint8, 1 (gray) or 3 (RGB) bands. Lossy.
  kPng,        // PNG, libspng. uint8 or uint16, 1 to 4 bands. Lossless.
  kWebp,       // WebP, libwebp. uint8, 3 or 4 bands. Lossy or lossless.
  kElevation,  // flatpyramid's lossless DEM codec (codec/README.md). int16/uint16/float32, 1 band.
};

// CodecName returns "jpeg", "png", "webp" or "elevation" (for messages).
absl::string_view CodecName(CodecId codec);

// ChromaSubsampling selects JPEG chroma resolution for 3-band images.
enum class ChromaSubsampling {
  k420,  // Chroma at half resolution in both directions (smaller, the usual choice).
  k444,  // Full-resolution chroma (sharper colour edges, about 1.5x larger).
};

// EncodeOptions are read by the codecs they name and ignored by the others.
struct EncodeOptions {
  int quality = 85;                                         // JPEG and lossy WebP, 1..100.
  ChromaSubsampling subsampling = ChromaSubsampling::k420;  // JPEG.
  bool lossless = false;                                    // WebP.
  // PNG: zlib level 0..9. Elevation: mapped to a zstd level (codec/README.md). Level 0 and 1
  // also select PNG's fastest filter choice (none / sub only).
  int compression_level = 6;
  // JPEG: libjpeg's accurate integer forward DCT (JDCT_ISLOW), as cjpeg and GDAL use; the
  // same speed here and slightly smaller, closer files than the fast one (codec/README.md).
  // Off, the fast DCT (JDCT_IFAST) is used below quality 96, as TurboJPEG and tjbench do.
  bool accurate_dct = true;
  // JPEG: Huffman tables computed for each image (libjpeg's optimize_coding) instead of the
  // standard ones: the same pixels in about 15-20 % fewer bytes on 256 px tiles, for a second
  // pass over the coefficients (codec/README.md). Off is what tjbench and cjpeg do by default.
  bool optimize_huffman = true;
  int webp_method = 4;  // WebP: speed/size trade-off, 0 (fastest) .. 6 (smallest).
};

// DecodeLimits bounds what a decoder accepts. Dimensions are checked from the header before
// any pixel memory is allocated, and everything else a decoder keeps (PNG text and ICC
// chunks, scratch buffers) is bounded by the same budget, so hostile bytes cannot make a
// decode allocate a block larger than MaxDecodedBytes(limits) plus a small constant
// (corruption_test and allocation_test measure it).
//
// The default, 4096 x 4096, is far above any tile (256 or 512) yet caps a hostile header
// at 128 MiB (16-bit RGBA). Tile readers should pass their tile size; raise it only for
// trusted input.
struct DecodeLimits {
  int max_width = 4096;
  int max_height = 4096;
};

// kMaxBytesPerPixel is the widest pixel any codec decodes: 4 bands of 16 bits (PNG RGBA16).
inline constexpr size_t kMaxBytesPerPixel = 8;

// MaxDecodedBytes is the largest image `limits` admit: max_width * max_height *
// kMaxBytesPerPixel bytes (0 for non-positive limits).
size_t MaxDecodedBytes(const DecodeLimits& limits);

// ImageInfo is what a header says about the image inside it.
struct ImageInfo {
  int width = 0;
  int height = 0;
  int bands = 0;
  PixelType type = PixelType::kUint8;
  CodecId codec = CodecId::kJpeg;
};

}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_OPTIONS_H_
