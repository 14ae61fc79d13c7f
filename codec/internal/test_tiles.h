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

// DemTile names one real elevation tile of the benchmarks and tests.
struct DemTile {
  std::string name;  // For benchmark labels, e.g. "etopo20_256_0".
  Image image;
};

// RealDemTiles returns size x size tiles (size 256 or 512) of the real DEMs: elev.tif (int16,
// nodata -32768) and olinda_dem_utm25s.tif (float32), each whole raster resampled to one tile,
// and etopo20.cdf (float32) cut natively into every full tile of its 1081x540 grid.
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

}  // namespace internal
}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_INTERNAL_TEST_TILES_H_
