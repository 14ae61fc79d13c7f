// Test and benchmark inputs cut from the real rasters in //testing/data through GDAL, and
// GDAL as an independent decoder of the bytes our codecs write. Internal to //codec, testonly.
#ifndef FLATPYRAMID_CODEC_INTERNAL_TEST_TILES_H_
#define FLATPYRAMID_CODEC_INTERNAL_TEST_TILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "codec/image.h"

namespace flatpyramid {
namespace codec {
namespace internal {

// SourceWindow is a rectangle of source pixels.
struct SourceWindow {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

// ReadTile reads 1-based `bands` of `window` of the raster at `path` into a
// tile_width x tile_height Image of `type`, bands interleaved. GDAL resamples bilinearly when
// the window and the tile differ in size (as a pyramid's deepest zoom does); otherwise the
// samples are the file's own.
absl::StatusOr<Image> ReadTile(const std::string& path, const std::vector<int>& bands,
                               const SourceWindow& window, int tile_width, int tile_height,
                               PixelType type);

// LandsatRgbTile is Landsat bands 3,2,1 (natural colour) of L7_ETMs.tif: for size <= 349 the
// top-left size x size pixels as they are, for larger sizes the whole scene resampled.
absl::StatusOr<Image> LandsatRgbTile(int size);

// LandsatTile is LandsatRgbTile for any 1-based `bands` of L7_ETMs.tif (e.g. {4}: the
// near-infrared band as a gray tile).
absl::StatusOr<Image> LandsatTile(const std::vector<int>& bands, int size);

// LandsatEdgeTile is an edge tile as a pyramid cuts it where the scene ends: the scene's
// native pixels of `bands` in the top-left min(size, scene) corner of a size x size tile
// and zeros beyond, plus (with_alpha) an alpha band, 255 over the scene and 0 beyond. For
// size 256 the corner is the scene's bottom-right 221 x 224 pixels (75 % opaque); for 512
// the whole 349 x 352 scene (47 % opaque). REQUIRES: size is 256 or 512.
absl::StatusOr<Image> LandsatEdgeTile(const std::vector<int>& bands, int size, bool with_alpha);

// PadTile places `native` in the top-left corner of a size x size tile of the same bands and
// type whose other pixels hold `fill` (every band). REQUIRES: native fits, size > 0.
Image PadTile(const Image& native, int size, double fill);

// DemTile names one real elevation tile of the benchmarks and tests.
struct DemTile {
  std::string group;  // The tile set, e.g. "etopo20_float32_256".
  std::string name;   // The tile, e.g. "etopo20_float32_256_0_1" (group, column, row).
  Image image;
};

// RealDemTiles returns size x size tiles (size 256 or 512) of the real DEMs, in this order:
//   elev_int16_<size>:               elev.tif (int16, nodata -32768) resampled to one tile;
//   elev_int16_<size>_padded:        its native 95 x 90 pixels, the rest nodata -32768;
//   olinda_float32_<size>:           olinda_dem_utm25s.tif (float32) resampled to one tile;
//   olinda_float32_<size>_padded:    its native 111 x 111 pixels, the rest NaN;
//   etopo20_float32_<size>:          etopo20.cdf cut natively into every full tile of its
//                                    1081 x 540 grid (8 of 256, 2 of 512);
//   etopo20_uint16_<size>:           the same tiles rounded to whole metres + 11000 as uint16
//                                    (a derived uint16 DEM; etopo20 spans -9027..6229 m).
// Resampled tiles are bilinear upsampling by GDAL, which flatters compression; padded
// tiles are what a pyramid stores at a raster's edge.
absl::StatusOr<std::vector<DemTile>> RealDemTiles(int size);

// DecodeWithGdal writes `bytes` to `path` (its extension picks nothing: `driver` does), opens it
// with the GDAL driver named `driver` ("JPEG", "PNG", "WEBP") and reads every band interleaved
// as `type`: an independent decoder to check ours against.
absl::StatusOr<Image> DecodeWithGdal(const std::string& bytes, const std::string& path,
                                     const std::string& driver, PixelType type);

// Samples views a packed Image's samples as T (the test's own choice of T must match type()).
template <typename T>
absl::Span<const T> Samples(const Image& image) {
  return absl::Span<const T>(reinterpret_cast<const T*>(image.data()),
                             image.size_bytes() / sizeof(T));
}

// SameImage is true when both images have the same shape and every byte is equal.
bool SameImage(const Image& a, const Image& b);

// RgbaWideningMismatch decodes `bytes` (a 3-band colour image) with DecodeInto into a 4-band
// buffer whose rows carry `padding` extra bytes, and returns "" when every pixel holds the
// samples of `rgb` followed by opaque alpha (255, or 65535 for uint16) and the padding is
// untouched; otherwise a description of the first difference (or of the decode error).
std::string RgbaWideningMismatch(const std::string& bytes, const Image& rgb, size_t padding);

}  // namespace internal
}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_INTERNAL_TEST_TILES_H_
