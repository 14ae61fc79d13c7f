// Internal to //gdal: where each zoom level of a pyramid sits in the GDAL dataset.
//
// The dataset covers the tiles of the finest level that hold the pyramid's bounds (a
// tile-aligned extent): block (i, j) of the full-resolution dataset is exactly tile
// (min_x + i, min_y + j) of the finest level. A coarser level d steps up shows the same
// extent at 1/2^d of the size; its origin is the finest origin divided by 2^d, which is a
// whole pixel of that level for d <= log2(tile size) (8 levels of 256 px tiles). Beyond
// that the origin is rounded down to the level's pixel grid, less than one of its pixels
// off the dataset's extent.
#ifndef FLATPYRAMID_GDAL_INTERNAL_LEVEL_GRID_H_
#define FLATPYRAMID_GDAL_INTERNAL_LEVEL_GRID_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "pyramid/reader.h"

namespace flatpyramid {
namespace gdal_driver {

// LevelGrid is one zoom level as a GDAL raster: its top-left pixel in the level's global
// pixel grid (pixel (0, 0) is the tile matrix's top-left corner) and its size.
struct LevelGrid {
  int zoom = 0;
  int64_t origin_x = 0;
  int64_t origin_y = 0;
  int width = 0;
  int height = 0;
  // geotransform maps the level's pixel corners to the tile matrix set's CRS.
  std::array<double, 6> geotransform{0, 1, 0, 0, 0, -1};
};

// LevelGrids returns the finest level first, then every coarser level down to min_zoom or
// to the first that fits in one tile, whichever comes first.
// InvalidArgument when the pyramid's bounds meet none of the finest level's tiles or the
// finest level is wider or taller than GDAL's int pixel counts allow.
absl::StatusOr<std::vector<LevelGrid>> LevelGrids(const pyramid::Reader& reader);

}  // namespace gdal_driver
}  // namespace flatpyramid

#endif  // FLATPYRAMID_GDAL_INTERNAL_LEVEL_GRID_H_
