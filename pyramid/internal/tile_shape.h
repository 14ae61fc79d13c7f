// TileShape: what a tile of a finished pyramid is, read back from its metadata, for code that
// forms new tiles of an existing pyramid as its build would (merge_pyramids' boundary tiles,
// build_pyramid --update's ancestors).
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_TILE_SHAPE_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_TILE_SHAPE_H_

#include "absl/status/statusor.h"
#include "codec/image.h"
#include "pyramid/internal/tile_pixels.h"
#include "pyramid/metadata.pb.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// TileShape is the pixel layout, codec policy and overview kernel of a pyramid's tiles.
struct TileShape {
  codec::PixelType type = codec::PixelType::kUint8;
  int size = 0;
  int bands = 0;  // Data bands, alpha excluded.
  TileEncoding encoding;
  OverviewResampling overview = OverviewResampling::kAverage;
  bool binary_alpha = false;  // Elevation: coverage is valid / not valid.
};

// ShapeOf reads a TileShape from `metadata`; InvalidArgument for an unknown pixel type, codec
// or resampling name.
absl::StatusOr<TileShape> ShapeOf(const PyramidMetadata& metadata);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_TILE_SHAPE_H_
