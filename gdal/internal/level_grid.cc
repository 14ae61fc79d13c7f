#include "gdal/internal/level_grid.h"

#include <climits>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "geo/tile_matrix_set.h"

namespace flatpyramid {
namespace gdal_driver {
namespace {

// FinestTileRange is the finest level's tiles covering the pyramid's bounds, or, when the
// bounds do not give one (bounds across the antimeridian), the tiles the level holds.
absl::Status FinestTileRange(const pyramid::Reader& reader, uint32_t* min_x, uint32_t* min_y,
                             uint32_t* max_x, uint32_t* max_y) {
  const pyramid::PyramidMetadata& m = reader.metadata();
  const geo::Bounds bounds{m.bounds().min_x(), m.bounds().min_y(), m.bounds().max_x(),
                           m.bounds().max_y()};
  if (reader.tile_matrix_set().CoveringTiles(bounds, reader.max_zoom(), min_x, min_y, max_x,
                                             max_y)) {
    return absl::OkStatus();
  }
  const pyramid::Level* level = reader.FindLevel(reader.max_zoom());
  if (level == nullptr || level->tile_count() == 0 || level->min_x() > level->max_x() ||
      level->min_y() > level->max_y()) {
    return absl::InvalidArgumentError(absl::StrCat(
        reader.path(), ": the bounds in the metadata meet no tile of the finest level ",
        reader.max_zoom(), " and that level holds no tiles: nothing to show"));
  }
  *min_x = level->min_x();
  *min_y = level->min_y();
  *max_x = level->max_x();
  *max_y = level->max_y();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<LevelGrid>> LevelGrids(const pyramid::Reader& reader) {
  uint32_t min_x = 0, min_y = 0, max_x = 0, max_y = 0;
  if (absl::Status s = FinestTileRange(reader, &min_x, &min_y, &max_x, &max_y); !s.ok()) return s;
  const int64_t tile_size = reader.tile_size();
  const int64_t origin_x = min_x * tile_size;
  const int64_t origin_y = min_y * tile_size;
  const int64_t width = (int64_t{max_x} - min_x + 1) * tile_size;
  const int64_t height = (int64_t{max_y} - min_y + 1) * tile_size;
  if (width > INT_MAX || height > INT_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.path(), ": level ", reader.max_zoom(), " is ", width, " x ", height,
                     " pixels over the pyramid's bounds, more than GDAL's ", INT_MAX,
                     " per side: rebuild with a lower --max_zoom"));
  }
  const geo::TileMatrixSet& tms = reader.tile_matrix_set();
  std::vector<LevelGrid> grids;
  for (int zoom = reader.max_zoom(); zoom >= reader.min_zoom(); --zoom) {
    const int depth = reader.max_zoom() - zoom;
    const int64_t scale = int64_t{1} << depth;
    LevelGrid grid;
    grid.zoom = zoom;
    grid.origin_x = origin_x >> depth;
    grid.origin_y = origin_y >> depth;
    grid.width = static_cast<int>(((origin_x + width + scale - 1) >> depth) - grid.origin_x);
    grid.height = static_cast<int>(((origin_y + height + scale - 1) >> depth) - grid.origin_y);
    double left = 0, top = 0;
    tms.PixelToCrs(static_cast<double>(grid.origin_x), static_cast<double>(grid.origin_y), zoom,
                   &left, &top);
    const double resolution = tms.Resolution(zoom);
    grid.geotransform = {left, resolution, 0, top, 0, -resolution};
    grids.push_back(grid);
    // Coarser levels would show this one tile in ever fewer pixels: GDAL needs no more.
    if (grid.width <= tile_size && grid.height <= tile_size) break;
  }
  return grids;
}

}  // namespace gdal_driver
}  // namespace flatpyramid
