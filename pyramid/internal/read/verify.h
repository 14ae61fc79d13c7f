// Internal to //pyramid: Reader::Verify, every promise of the format checked against the
// stored bytes (for verify_pyramid).
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_VERIFY_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_VERIFY_H_

#include "absl/status/status.h"
#include "pyramid/internal/read/tile_source.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// VerifyPyramid checks the storage structure and checksums (storage::Reader::Verify), then
// every tile: its key inside the tile matrix, its codec allowed by the metadata's, its size,
// pixel type and bands (CheckStoredTile), that it decodes; and every level's statistics
// recounted with LevelStats. The metadata itself passed CheckMetadata when the pyramid was
// opened. DataLoss listing the first faults, each naming the level or tile.
absl::Status VerifyPyramid(const TileSource& tiles);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_VERIFY_H_
