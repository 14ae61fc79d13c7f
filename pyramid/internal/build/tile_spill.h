// TileSpill: the raw tiles of one level in a side file (SpillFileName, build_files.h), for
// overview kernels that read a tile's neighbours when forming the levels above the units.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_TILE_SPILL_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_TILE_SPILL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pyramid/internal/tile_pixels.h"
#include "storage/env.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// TileSpill keeps the raw tiles of one level, one fixed-size slot per tile of a rectangle
// (samples, then alpha), so the levels above the units can read any tile and its neighbours
// back (random access) without holding the level in memory. Unwritten slots are holes and
// read back as transparent tiles. Thread-compatible.
class TileSpill {
 public:
  // Open creates (`truncate`) or reopens (a resumed build) the spill of the tiles
  // x0..x1 x y0..y1 with slots of `samples_bytes` + `alpha_bytes`.
  static absl::StatusOr<std::unique_ptr<TileSpill>> Open(storage::Env* env, const std::string& path,
                                                         bool truncate, uint32_t x0, uint32_t y0,
                                                         uint32_t x1, uint32_t y1,
                                                         size_t samples_bytes, size_t alpha_bytes);

  absl::Status Write(uint32_t x, uint32_t y, const TilePixels& tile);
  // Read fills `tile` (already shaped) with tile (x, y); outside the rectangle: transparent.
  absl::Status Read(int64_t x, int64_t y, TilePixels* tile) const;
  // Sync makes every written slot durable (at each commit point).
  absl::Status Sync();

 private:
  TileSpill() = default;
  uint64_t Slot(uint32_t x, uint32_t y) const;
  // ReadOrZero reads [offset, offset + n); bytes past the end (slots never written) are zero.
  absl::Status ReadOrZero(uint64_t offset, size_t n, uint8_t* data) const;

  std::string path_;
  std::unique_ptr<storage::File> file_;
  uint32_t x0_ = 0, y0_ = 0, x1_ = 0, y1_ = 0;
  size_t samples_bytes_ = 0, alpha_bytes_ = 0;
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_TILE_SPILL_H_
