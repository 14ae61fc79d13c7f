#include "pyramid/internal/build/build_area.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "geo/crs.h"
#include "ogr_spatialref.h"
#include "pyramid/format.h"
#include "pyramid/internal/unit_walker.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

absl::Status BadArea(const BuildArea& area, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("BuildOptions::area %.9g,%.9g,%.9g,%.9g (%s): %s", area.min_x, area.min_y,
                      area.max_x, area.max_y, area.srs, why));
}

// LonLatBox is the area in WGS84 degrees: min_x > max_x when it crosses the antimeridian. A
// geographic area is taken as given, not transformed: its longitudes wrap (AreaParts).
absl::StatusOr<geo::Bounds> LonLatBox(const BuildArea& area) {
  absl::StatusOr<OGRSpatialReference> srs = geo::ParseSrs(area.srs);
  if (!srs.ok()) return BadArea(area, srs.status().message());
  const geo::Bounds box{area.min_x, area.min_y, area.max_x, area.max_y};
  if (srs->IsGeographic()) return box;
  absl::StatusOr<geo::Bounds> lonlat = geo::TransformBounds(box, area.srs, "EPSG:4326");
  if (!lonlat.ok()) return BadArea(area, "PROJ cannot transform it to longitude/latitude");
  return lonlat;
}

}  // namespace

absl::StatusOr<std::vector<geo::Bounds>> AreaParts(const BuildArea& area,
                                                   const geo::TileMatrixSet& tms) {
  if (!std::isfinite(area.min_x) || !std::isfinite(area.min_y) || !std::isfinite(area.max_x) ||
      !std::isfinite(area.max_y)) {
    return BadArea(area, "not four finite numbers");
  }
  if (!(area.min_y < area.max_y)) return BadArea(area, "min_y must be below max_y");
  absl::StatusOr<geo::Bounds> lonlat = LonLatBox(area);
  if (!lonlat.ok()) return lonlat.status();
  double west = lonlat->min_x, east = lonlat->max_x;
  if (west > east) east += 360.0;
  if (west == east) return BadArea(area, "min_x must differ from max_x");
  if (east - west > 360.0) return BadArea(area, "wider than 360 degrees");
  if (east - west == 360.0) west = -180.0, east = 180.0;
  while (west >= 180.0) west -= 360.0, east -= 360.0;
  while (west < -180.0) west += 360.0, east += 360.0;
  const double south = std::max(lonlat->min_y, -90.0), north = std::min(lonlat->max_y, 90.0);
  std::vector<std::pair<double, double>> spans = {{west, std::min(east, 180.0)}};
  if (east > 180.0) spans.push_back({-180.0, east - 360.0});
  std::vector<geo::Bounds> parts;
  for (const auto& [lon0, lon1] : spans) {
    geo::Bounds part;
    tms.LonLatToCrs(lon0, south, &part.min_x, &part.min_y);
    tms.LonLatToCrs(lon1, north, &part.max_x, &part.max_y);
    parts.push_back(part);
  }
  return parts;
}

absl::Status RestrictToArea(const BuildOptions& options, BuildPlan* plan) {
  if (!options.area.has_value()) return absl::OkStatus();
  absl::StatusOr<std::vector<geo::Bounds>> parts = AreaParts(*options.area, *plan->tms);
  if (!parts.ok()) return parts.status();
  // The area's units, intersected with the footprint's: rectangles stay disjoint.
  std::vector<geo::TileRect> units;
  for (const geo::TileRect& a : plan->tms->CoveringTileRanges(*parts, plan->unit_zoom)) {
    for (const geo::TileRect& u : plan->unit_rects) {
      const geo::TileRect cut{std::max(a.min_x, u.min_x), std::max(a.min_y, u.min_y),
                              std::min(a.max_x, u.max_x), std::min(a.max_y, u.max_y)};
      if (cut.min_x <= cut.max_x && cut.min_y <= cut.max_y) units.push_back(cut);
    }
  }
  plan->unit_rects = std::move(units);
  plan->unit_count = UnitWalker(plan->unit_rects).count();
  if (plan->unit_count == 0) {
    return absl::OutOfRangeError(
        absl::StrFormat("BuildOptions::area %.9g,%.9g,%.9g,%.9g (%s) does not overlap the source",
                        options.area->min_x, options.area->min_y, options.area->max_x,
                        options.area->max_y, options.area->srs));
  }
  plan->area_tiles.assign(plan->max_zoom + 1, {});
  for (int z = plan->unit_zoom; z <= plan->max_zoom; ++z) {
    plan->area_tiles[z] = plan->tms->CoveringTileRanges(*parts, z);
  }
  // The metadata bounds: the footprint cut to the area's hull.
  geo::Bounds hull = (*parts)[0];
  for (const geo::Bounds& p : *parts) {
    hull = geo::Bounds{std::min(hull.min_x, p.min_x), std::min(hull.min_y, p.min_y),
                       std::max(hull.max_x, p.max_x), std::max(hull.max_y, p.max_y)};
  }
  Bounds* bounds = plan->metadata.mutable_bounds();
  bounds->set_min_x(std::max(bounds->min_x(), hull.min_x));
  bounds->set_min_y(std::max(bounds->min_y(), hull.min_y));
  bounds->set_max_x(std::min(bounds->max_x(), hull.max_x));
  bounds->set_max_y(std::min(bounds->max_y(), hull.max_y));
  double lon0, lat0, lon1, lat1;
  plan->tms->CrsToLonLat(bounds->min_x(), bounds->min_y(), &lon0, &lat0);
  plan->tms->CrsToLonLat(bounds->max_x(), bounds->max_y(), &lon1, &lat1);
  plan->metadata.mutable_bounds_lonlat()->set_min_x(lon0);
  plan->metadata.mutable_bounds_lonlat()->set_min_y(lat0);
  plan->metadata.mutable_bounds_lonlat()->set_max_x(lon1);
  plan->metadata.mutable_bounds_lonlat()->set_max_y(lat1);
  return absl::OkStatus();
}

bool TileInArea(const BuildPlan& plan, int z, uint32_t x, uint32_t y) {
  if (plan.area_tiles.empty()) return true;
  for (const geo::TileRect& r : plan.area_tiles[z]) {
    if (x >= r.min_x && x <= r.max_x && y >= r.min_y && y <= r.max_y) return true;
  }
  return false;
}

void DropTilesOutsideArea(const BuildPlan& plan, UnitResult* result) {
  std::vector<EncodedTile>& tiles = result->tiles;
  tiles.erase(std::remove_if(tiles.begin(), tiles.end(),
                             [&plan](const EncodedTile& tile) {
                               uint32_t x, y;
                               TileFromKey(tile.key, &x, &y);
                               return !TileInArea(plan, tile.zoom, x, y);
                             }),
              tiles.end());
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
