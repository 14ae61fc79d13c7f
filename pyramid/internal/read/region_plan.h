// Internal to //pyramid: planning one ReadRegion: the request's box in the tile matrix set's
// CRS, the level to read, the window of level pixels the output needs (with the resampling
// kernel's reach), which tiles under it are stored, and how a request across the antimeridian
// splits into runs of output columns that each lie in one copy of the world.
//
// Pixel windows are "global pixels" of one zoom: pixel (0, 0) is the top-left of tile 0/0 of
// that zoom. Columns are unwrapped: a window may start left of 0 or end past the matrix's
// width, where the tile matrix repeats around the globe (WrapColumn).
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_REGION_PLAN_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_REGION_PLAN_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "geo/tile_matrix_set.h"
#include "ogr_spatialref.h"
#include "pyramid/internal/read/tile_source.h"
#include "pyramid/region.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// Window is a half-open rectangle of global pixels at one zoom.
struct Window {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x1 <= x0 || y1 <= y0; }
  int64_t width() const { return x1 - x0; }
  int64_t height() const { return y1 - y0; }
  bool operator==(const Window& o) const {
    return x0 == o.x0 && y0 == o.y0 && x1 == o.x1 && y1 == o.y1;
  }
};

// FloorDiv is a / b rounded down. REQUIRES: b > 0.
inline int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// WrapColumn is unwrapped tile column `x` (any integer) as a column of a matrix `width` tiles
// wide.
inline uint32_t WrapColumn(int64_t x, uint32_t width) {
  return static_cast<uint32_t>(x - FloorDiv(x, width) * int64_t{width});
}

Window Intersect(const Window& a, const Window& b);

// TransformedBounds maps `bbox` (in `from`) into `to` by transforming a 21 x 21 grid of
// points (edges and interior, so curved edges and interior extremes count) and returns
// their envelope. Points that do not transform (outside the projection's domain) are
// skipped; false when none does.
bool TransformedBounds(const geo::Bounds& bbox, const OGRSpatialReference& from,
                       const OGRSpatialReference& to, geo::Bounds* out);

// LevelForResolution picks the level to read for `resolution` (the set's CRS units per
// output pixel): the coarsest present level at least as fine, else the finest present.
int LevelForResolution(const TileSource& tiles, double resolution);

// LevelTiles is the window of one level a region reads, and which of its tiles are stored.
struct LevelTiles {
  int z = 0;
  // requested: the output's box at zoom z plus the kernel's reach; window: that clipped to the
  // world's rows and to where the level (or a coarser one) holds data.
  Window requested, window;
  // The tiles under `window`: columns tx0 .. tx0 + tiles_across - 1 (unwrapped), rows
  // ty0 .. ty1; present[(y - ty0) * tiles_across + (x - tx0)] says whether tile x, y is stored.
  int64_t tx0 = 0;
  uint32_t ty0 = 0, ty1 = 0, tiles_across = 0;
  std::vector<char> present;
  // complete: the window was not clipped and every tile under it is stored, so no pixel of a
  // mosaic of it lacks data unless a tile says so itself.
  bool complete = false;
};

// PlanLevelWindow is the window of level `z` that a region covering `in_tms` (in the set's
// CRS, inside its extent) at `wanted_resolution` reads with `resampling`: the box at zoom z
// plus the kernel's reach, wrapping in x, clipped to the data. An empty window (no data
// there) has no tiles. ResourceExhausted when it exceeds kMaxRegionMosaicPixels.
absl::StatusOr<LevelTiles> PlanLevelWindow(const TileSource& tiles, const geo::Bounds& in_tms,
                                           int z, double wanted_resolution, Resampling resampling);

// ColumnRun is output columns [first, end) whose pixel centres lie in one copy of the world;
// `copy` is that copy's index (0: the world itself, -1 west of it, 1 east of it).
struct ColumnRun {
  int first = 0, end = 0;
  double copy = 0;
};

// SplitAtWorldEdges cuts `width` output columns spanning min_x .. min_x + width * step (x
// wrapping with `period` from `world_min_x`) into runs of one world copy each; the widest
// run comes first (it picks the level for all).
std::vector<ColumnRun> SplitAtWorldEdges(double min_x, double step, int width, double world_min_x,
                                         double period);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_REGION_PLAN_H_
