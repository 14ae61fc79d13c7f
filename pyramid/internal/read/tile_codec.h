// Internal to //pyramid: decodes a stored tile into the pyramid's normal form, the one place
// the read side applies the format's codec rules (pyramid/format.h): the tile's codec must be
// one its pyramid's codec allows (a "jpeg" pyramid mixes opaque JPEG tiles without alpha with
// PNG/WebP tiles that keep it), and a tile stored without its alpha band gets an opaque one.
//
// Thread safety: every function may be called concurrently (per-thread scratch buffers).
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_TILE_CODEC_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_TILE_CODEC_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"
#include "pyramid/metadata.pb.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// DecodeStoredTile decodes the `out.width` x `out.height` pixels from column `col0`, row
// `row0` of the stored tile `bytes` of a pyramid described by `metadata` into `out`
// (metadata.band_count() bands of its pixel type, any row stride). A JPEG part decodes alone
// (codec::DecodeJpegRegionInto); other codecs decode the whole tile into a per-thread scratch
// buffer first. `*opaque` (if not null) is set when the tile was stored without its alpha band.
// Returns DataLoss when the bytes break the format's promises (CheckStoredTile) or do not
// decode; the message names neither the file nor the tile (the caller adds them).
// REQUIRES: CheckMetadata(metadata) is OK; the part lies inside the tile.
absl::Status DecodeStoredTile(absl::string_view bytes, const PyramidMetadata& metadata, int col0,
                              int row0, const codec::MutableImageView& out, bool* opaque);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_TILE_CODEC_H_
