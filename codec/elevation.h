// Elevation tile codec; the //codec dispatcher calls it, and it can be used on its own.
//
// int16, uint16 or float32 single-band images, lossless: every bit comes back, NaN
// payloads and nodata values included. A 16-byte header then one zstd frame over the
// predicted samples (horizontal delta of the samples' bit patterns, left interleaved or split
// into byte planes as Blosc's shuffle does, whichever is smaller). The byte format is in
// codec/README.md. Option: compression_level 0..9 maps to a zstd level (see README). zstd contexts
// are cached per thread; thread-safe.
//
// Example:
//   std::string bytes;
//   absl::Status s = flatpyramid::codec::EncodeElevation(tile.view(), options, &bytes);
//   absl::StatusOr<ImageInfo> info = flatpyramid::codec::PeekElevationInfo(bytes, limits);
//   flatpyramid::codec::Image out(info->width, info->height, info->bands, info->type);
//   s = flatpyramid::codec::DecodeElevationInto(bytes, out.mutable_view(), limits);
#ifndef FLATPYRAMID_CODEC_ELEVATION_H_
#define FLATPYRAMID_CODEC_ELEVATION_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"
#include "codec/options.h"

namespace flatpyramid {
namespace codec {

// EncodeElevation replaces `*out` with `image` encoded as Elevation, reusing out's capacity.
// Predictor: at compression_level 0-2, DefaultElevationPredictor; from level 3 up, it
// compresses with both delta predictors (kDelta, kDeltaBytePlanes) and keeps the smaller
// (interleaved deltas win on upsampled tiles, byte planes on native data: codec/README.md),
// at twice the encode work. InvalidArgument for an invalid view or an unsupported type /
// band count. REQUIRES: out != nullptr.
absl::Status EncodeElevation(const ImageView& image, const EncodeOptions& options,
                             std::string* out);

// ElevationPredictor is the transform applied before zstd (byte 6 of the header).
enum class ElevationPredictor : uint8_t {
  kNone = 0,             // Samples as they are, little-endian.
  kDelta = 1,            // Per row: first sample as is, then differences, little-endian.
  kDeltaBytePlanes = 2,  // kDelta, then byte planes (all low bytes, then the next ...).
  kBytePlanes = 3,       // Byte planes of the samples as they are (Blosc's shuffle, no delta).
};

// kElevationHeaderSize is the fixed header before the zstd frame (codec/README.md).
inline constexpr size_t kElevationHeaderSize = 16;

// ElevationZstdLevel is the zstd level EncodeElevation uses for `compression_level` 0..9
// (values outside are clamped).
int ElevationZstdLevel(int compression_level);

// DefaultElevationPredictor is EncodeElevation's single choice at levels 0-2: kDelta for
// int16 and uint16, kDeltaBytePlanes for float32.
ElevationPredictor DefaultElevationPredictor(PixelType type);

// EncodeElevationWithPredictor is EncodeElevation with an explicit predictor, for
// measurements and tests. Every predictor decodes exactly.
absl::Status EncodeElevationWithPredictor(const ImageView& image, const EncodeOptions& options,
                                          ElevationPredictor predictor, std::string* out);

// LooksElevation is true when `bytes` starts with the elevation magic number "FPEL".
bool LooksElevation(absl::string_view bytes);

// PeekElevationInfo parses the header only. ResourceExhausted when it exceeds `limits`.
absl::StatusOr<ImageInfo> PeekElevationInfo(absl::string_view bytes,
                                            const DecodeLimits& limits = {});

// DecodeElevationInto decodes into `out`, whose size, bands and type must match PeekElevationInfo.
absl::Status DecodeElevationInto(absl::string_view bytes, const MutableImageView& out,
                                 const DecodeLimits& limits = {});

}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_ELEVATION_H_
