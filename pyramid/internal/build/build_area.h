// BuildArea restricts a build to the tiles that touch an area (BuildOptions::area, the
// tool's --bbox): the area is turned into boxes of the tile matrix set's CRS (two across the
// antimeridian), the plan's units are cut down to those touching it, and the tiles of every
// level a unit holds are kept only where they touch it.
//
// What a restricted build holds, against a full build with the same options: the units
// (and so the unit zoom) are chosen from the whole source first, so every tile at the unit
// zoom and finer that touches the area has exactly the full build's bytes, and no other
// tile of those levels is stored. Tiles coarser than the unit zoom are formed from the units
// that were built: those whose whole subtree of units touches the area equal the full
// build's; the others hold only the area's part of the data.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_AREA_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_AREA_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/build_options.h"
#include "pyramid/internal/build/build_plan.h"
#include "pyramid/internal/build/unit_renderer.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// AreaParts is `area` in `tms`'s CRS as boxes that do not cross the antimeridian (one, or
// two: the part west of it first). In a geographic CRS x is longitude and wraps as in
// Reader::ReadRegion: min_x > max_x crosses the antimeridian (170, -10, -170, 10 is
// 170..190) and a box past +-180 continues on the other side. Other CRSs are transformed
// through WGS84 with 21 points per edge (geo::TransformBounds), which reports a crossing
// the same way. InvalidArgument naming BuildOptions::area for an unknown CRS, NaN, an
// inverted latitude or y range, or a box wider than 360 degrees.
absl::StatusOr<std::vector<geo::Bounds>> AreaParts(const BuildArea& area,
                                                   const geo::TileMatrixSet& tms);

// RestrictToArea applies options.area (when set) to a resolved plan: keeps the units that
// touch it, fills plan->area_tiles and narrows the metadata bounds. OutOfRange when the
// area misses the source.
absl::Status RestrictToArea(const BuildOptions& options, BuildPlan* plan);

// TileInArea is whether tile (z, x, y), z >= plan.unit_zoom, is to be stored: always
// without an area.
bool TileInArea(const BuildPlan& plan, int z, uint32_t x, uint32_t y);

// DropTilesOutsideArea removes from a rendered unit the tiles TileInArea rejects (its raw
// root stays: the levels above are formed from it).
void DropTilesOutsideArea(const BuildPlan& plan, UnitResult* result);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_AREA_H_
