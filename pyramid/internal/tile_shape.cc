#include "pyramid/internal/tile_shape.h"

#include "pyramid/format.h"
#include "pyramid/internal/build/build_plan.h"
#include "pyramid/resampling.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

absl::StatusOr<TileShape> ShapeOf(const PyramidMetadata& m) {
  TileShape shape;
  absl::StatusOr<codec::PixelType> type = FromProtoPixelType(m.pixel_type());
  if (!type.ok()) return type.status();
  shape.type = *type;
  shape.size = static_cast<int>(m.tile_size());
  shape.bands = static_cast<int>(m.band_count()) - (m.has_alpha() ? 1 : 0);
  absl::StatusOr<TileCodec> tile_codec = ParseTileCodec(m.codec());
  if (!tile_codec.ok()) return tile_codec.status();
  shape.encoding.codec = *tile_codec;
  // Recorded for the lossy codecs only; the others ignore it.
  if (m.quality() != 0) shape.encoding.options.quality = static_cast<int>(m.quality());
  shape.binary_alpha = *tile_codec == TileCodec::kElevation;
  if (shape.binary_alpha) shape.encoding.nodata = m.nodata();
  absl::StatusOr<Resampling> overview = ParseResampling(m.overview_resampling());
  if (!overview.ok()) return overview.status();
  shape.overview = ToOverviewResampling(*overview);
  return shape;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
