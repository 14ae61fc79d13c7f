// TilePixels: the raw pixels of one tile while the builder holds it (never re-decoded
// from lossy bytes), the 2x2 overview kernels that form a parent tile from its four
// children, and the per-tile encoding choice (mixed JPEG/PNG, native alpha, elevation).
//
// Samples are interleaved `bands` data bands of `type`; coverage is a separate uint8
// alpha plane (0 = no data, 255 = fully covered, in between = partially covered edge
// pixels from the warper). Elevation data uses the alpha plane as a validity mask.
//
// Example:
//   TilePixels parent(PixelType::kUint8, 256, 3);
//   const TilePixels* children[4] = {&nw, &ne, nullptr, &se};  // Absent = transparent.
//   Downsample2x(children, OverviewResampling::kAverage, /*binary_alpha=*/false, &parent);
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_TILE_PIXELS_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_TILE_PIXELS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/codec.h"
#include "codec/image.h"
#include "pyramid/format.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// TilePixels is a square tile: `size` x `size` pixels of `bands` interleaved samples
// plus one alpha byte per pixel.
struct TilePixels {
  TilePixels() = default;
  TilePixels(codec::PixelType type, int size, int bands);

  // Reset reshapes to `type`/`size`/`bands` (keeping capacity) and clears to transparent.
  void Reset(codec::PixelType type, int size, int bands);
  // Reshape is Reset without clearing: for callers that overwrite every pixel.
  void Reshape(codec::PixelType type, int size, int bands);
  // Empty is true when every alpha byte is 0; Opaque when every alpha byte is 255.
  bool Empty() const;
  bool Opaque() const;
  size_t pixel_bytes() const { return bands * codec::BytesPerSample(type); }

  codec::PixelType type = codec::PixelType::kUint8;
  int size = 0;
  int bands = 0;
  std::vector<uint8_t> samples;  // size * size * pixel_bytes().
  std::vector<uint8_t> alpha;    // size * size.
};

// OverviewResampling is how a parent pixel is formed from the finer level.
enum class OverviewResampling {
  // 2x2-local (Downsample2x): a parent pixel reads only its own 2x2 children pixels.
  kNearest,  // The bottom-right sample of the 2x2 (GDAL's choice for a 2x decimation).
  kAverage,  // Alpha-weighted mean of the covered samples.
  kMode,     // The most frequent covered pixel value (classified data); ties: first in scan order.
  // Convolution kernels (DownsampleKernel2x): GDAL's overview kernels (gdaladdo -r), which
  // read 4 x radius finer pixels per axis, so neighbouring tiles' pixels too.
  kBilinear,  // Radius 1 (taps 1/8, 3/8, 3/8, 1/8).
  kCubic,     // Radius 2 (Keys, a = -0.5).
  kLanczos,   // Radius 3 (Lanczos-3 windowed sinc).
};

// OverviewKernelRadius is the kernel radius in parent pixels: 0 for the 2x2-local ones.
// A parent pixel x reads finer pixels 2x + 1 - 2r .. 2x + 2r (4r taps per axis).
int OverviewKernelRadius(OverviewResampling resampling);

// DownsampleKernel2x forms a `dst_size` x `dst_size` block from a finer block of
// `src_size` = 2 * dst_size + 4 * radius pixels a side (same type and bands; samples
// interleaved, rows of src_size pixels), dst pixel (x, y) centred on src pixel
// (2x + 1 + 2r, 2y + 1 + 2r): so a block with a margin of 2m + 2r pixels gives one with a
// margin of m. GDAL's weights for a 2x reduction (GDALRegenerateOverviews), normalised;
// samples are weighted by coverage (alpha / 255; with `binary_alpha`, valid = alpha > 0),
// and the coverage is resampled with the same weights (binary_alpha: 255 where any weighed
// sample is valid). Where the whole footprint is covered this is GDAL's result.
// `scratch` is reused across calls (no allocation once large enough).
// REQUIRES: resampling is a kernel (radius > 0); buffers of the stated sizes.
void DownsampleKernel2x(codec::PixelType type, int bands, OverviewResampling resampling,
                        bool binary_alpha, int dst_size, const uint8_t* src_samples,
                        const uint8_t* src_alpha, uint8_t* dst_samples, uint8_t* dst_alpha,
                        std::vector<double>* scratch);

// Downsample2x (2x2-local resamplings only) overwrites every pixel of `parent` (already Reset or
// Reshaped to the children's type, size and bands) with the 2x reduction of the mosaic of
// `children` in quadrant order NW, NE, SW, SE (Morton order: child index = dy << 1 | dx). A null
// child is fully transparent. `binary_alpha` (elevation): a parent pixel is valid (255) when any of
// its samples is valid and its value is formed from valid samples only; otherwise alpha is the mean
// of the four alphas. REQUIRES: every non-null child has parent's type, size and bands; size is
// even.
void Downsample2x(const TilePixels* const children[4], OverviewResampling resampling,
                  bool binary_alpha, TilePixels* parent);

// TileEncoding is the codec policy of a whole pyramid: with TileCodec::kJpeg opaque tiles are
// JPEG (alpha dropped) and partial tiles PNG with alpha; PNG and WebP tiles carry alpha; the
// elevation codec stores one band with uncovered pixels as nodata.
struct TileEncoding {
  TileCodec codec = TileCodec::kJpeg;
  codec::EncodeOptions options;
  double nodata = 0;  // kElevation only.
};

// CheckEncodingSupports returns OK when every tile of `type` with `bands` data bands can be
// encoded with `tile_codec`, and InvalidArgument naming the BuildOptions field to change
// otherwise.
absl::Status CheckEncodingSupports(TileCodec tile_codec, codec::PixelType type, int bands);

// EncodeTile encodes `tile` into `*out` following `encoding`, using `*scratch` as the
// staging image (reused across calls: no allocation once it has the right shape).
// REQUIRES: !tile.Empty(); CheckEncodingSupports(encoding.kind, tile.type, tile.bands).
absl::Status EncodeTile(const TilePixels& tile, const TileEncoding& encoding,
                        std::vector<uint8_t>* scratch, std::string* out);

// DecodeTile is EncodeTile's inverse: it overwrites every pixel of `tile` (already Reset or
// Reshaped to the pyramid's type, size and data bands) with the decoded `bytes`, the coverage
// taken from the stored alpha band (a tile stored without one is opaque; elevation: 0 where
// the value is `encoding.nodata`). A lossless codec gives back exactly the pixels EncodeTile
// was given; a lossy one, the codec's approximation. DataLoss (the caller names the tile)
// when the bytes do not decode to tile->size pixels square of tile->type with the data bands,
// with or without alpha.
absl::Status DecodeTile(absl::string_view bytes, const TileEncoding& encoding, TilePixels* tile);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_TILE_PIXELS_H_
