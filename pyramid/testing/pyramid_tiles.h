// PyramidTiles: every tile of a pyramid file as (zoom, x, y) -> encoded bytes, for tests that
// compare two builds tile for tile (a restricted or sharded build against a full one).
#ifndef FLATPYRAMID_PYRAMID_TESTING_PYRAMID_TILES_H_
#define FLATPYRAMID_PYRAMID_TESTING_PYRAMID_TILES_H_

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "absl/status/statusor.h"

namespace flatpyramid {
namespace test {

// TileAddress orders tiles by zoom, then x, then y.
using TileAddress = std::tuple<int, uint32_t, uint32_t>;

// ReadPyramidTiles reads every tile of every level section of the sealed pyramid at `path`
// (through storage::Reader, so the file's own structure is checked, not trusted).
absl::StatusOr<std::map<TileAddress, std::string>> ReadPyramidTiles(const std::string& path);

}  // namespace test
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_TESTING_PYRAMID_TILES_H_
