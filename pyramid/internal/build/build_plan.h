// BuildPlan: everything a build needs, resolved once from BuildOptions and the source: the
// tile encoding, the resampling, the zoom range, the units (blocks of up to 2048 x 2048 base
// pixels rendered by one worker), the metadata to seal, and the GDAL block cache budget.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_PLAN_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_PLAN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gdalwarper.h"
#include "geo/crs.h"
#include "geo/morton.h"
#include "geo/tile_matrix_set.h"
#include "ogr_spatialref.h"
#include "pyramid/build_options.h"
#include "pyramid/internal/build/overview_resampling.h"
#include "pyramid/internal/source.h"
#include "pyramid/internal/tile_pixels.h"
#include "pyramid/metadata.pb.h"
#include "pyramid/resampling.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// BuildPlan is the resolved build. Immutable once ResolvePlan returns (but for the metadata,
// which a resumed build replaces with its first run's); shared read-only by every worker.
struct BuildPlan {
  std::unique_ptr<geo::TileMatrixSet> tms;
  OGRSpatialReference target_srs;
  std::unique_ptr<Source> source;
  TileEncoding encoding;
  GDALResampleAlg resampling = GRA_Bilinear;
  Resampling overview_name = Resampling::kAverage;  // As BuildOptions names it.
  OverviewResampling overview_resampling = OverviewResampling::kAverage;  // Its kernel.
  int kernel_radius = 0;      // OverviewKernelRadius(overview_resampling).
  bool binary_alpha = false;  // Elevation: alpha is validity.
  int min_zoom = 0;
  int max_zoom = 0;
  int native_zoom = 0;  // The zoom matching the source resolution (BuildOptions::zoom_strategy).
  int unit_zoom = 0;    // Zoom of a unit's root tile.
  int unit_depth = 0;   // max_zoom - unit_zoom.
  double source_resolution = 0;  // A source pixel's size in the set's CRS units (about).
  geo::Bounds footprint;
  uint32_t base_min_x = 0, base_min_y = 0, base_max_x = 0, base_max_y = 0;  // At max_zoom.
  // A unit is the subtree of one tile at unit_zoom = max(0, max_zoom - log2(2048 /
  // tile_size)): up to 2048 x 2048 base pixels, one warp (smaller when that gives fewer than 8
  // units, so every core has work; independent of the thread count, so a resumed build cuts
  // the same units).
  // Units: every tile of unit_rects at unit_zoom (one rectangle, or the two sides of a
  // footprint across the antimeridian), walked lazily in Morton order (UnitWalker): memory
  // does not grow with their number. unit_min/max_* bound them (the spill files and the
  // levels above the units cover that rectangle).
  std::vector<geo::TileRect> unit_rects;
  uint32_t unit_min_x = 0, unit_min_y = 0, unit_max_x = 0, unit_max_y = 0;
  uint64_t unit_count = 0;
  // BuildOptions::area: by zoom (unit_zoom and finer), the tiles touching it; empty without
  // an area (build_area.h).
  std::vector<std::vector<geo::TileRect>> area_tiles;
  // BuildOptions::shard (shard_plan.h): this build renders units [unit_begin, unit_end) of
  // the walk, whose keys at unit_zoom lie in [shard_begin_key, shard_end_key); it forms only
  // the coarser tiles whose key range lies there. Without a shard: every unit, every key.
  uint64_t unit_begin = 0, unit_end = 0;
  uint64_t shard_begin_key = 0, shard_end_key = 0;
  double planned_tiles = 0;  // Tiles touching the source, all levels (at most written).
  PyramidMetadata metadata;  // Without levels.

  int bands() const { return static_cast<int>(source->bands().size()); }
  codec::PixelType pixel_type() const { return source->pixel_type(); }
  int tile_size() const { return tms->tile_size(); }
};

// ResolvePlan opens the source and fills `plan`; errors name what to change.
absl::Status ResolvePlan(const BuildOptions& options, BuildPlan* plan);

// GdalCacheBudget is the GDAL block cache, in bytes, that `threads` workers rendering the
// plan's units need (see the .cc for the reasoning).
int64_t GdalCacheBudget(const BuildPlan& plan, int threads);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_PLAN_H_
