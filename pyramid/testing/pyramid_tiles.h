// PyramidTiles: every tile of a pyramid file as (zoom, x, y) -> encoded bytes, for tests that
// compare two builds tile for tile (a restricted or sharded build against a full one), and
// whether the stored tiles are those the metadata's bounds promise.
#ifndef FLATPYRAMID_PYRAMID_TESTING_PYRAMID_TILES_H_
#define FLATPYRAMID_PYRAMID_TESTING_PYRAMID_TILES_H_

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flatpyramid {
namespace test {

// TileAddress orders tiles by zoom, then x, then y.
using TileAddress = std::tuple<int, uint32_t, uint32_t>;

// ReadPyramidTiles reads every tile of every level section of the sealed pyramid at `path`
// (through storage::Reader, so the file's own structure is checked, not trusted).
absl::StatusOr<std::map<TileAddress, std::string>> ReadPyramidTiles(const std::string& path);

// CheckTilesCoverBounds checks that at every level of the sealed pyramid at `path` the stored
// tiles span exactly the tiles covering the metadata's bounds (TileMatrixSet::CoveringTiles):
// no column or row of the bounds lacks a stored tile, none lies outside them. A builder
// promise for sources with data up to their edges (a source with a nodata collar may leave
// edge tiles empty, and empty tiles are not stored); not a format rule (an imported tile set
// keeps its own bounds), so not part of Reader::Verify. FailedPrecondition naming the level
// and both ranges.
absl::Status CheckTilesCoverBounds(const std::string& path);

}  // namespace test
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_TESTING_PYRAMID_TILES_H_
