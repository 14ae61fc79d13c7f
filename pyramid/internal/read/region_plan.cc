#include "pyramid/internal/read/region_plan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "geo/morton.h"
#include "pyramid/format.h"
#include "pyramid/resampling.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

Window Intersect(const Window& a, const Window& b) {
  return Window{std::max(a.x0, b.x0), std::max(a.y0, b.y0), std::min(a.x1, b.x1),
                std::min(a.y1, b.y1)};
}

bool TransformedBounds(const geo::Bounds& bbox, const OGRSpatialReference& from,
                       const OGRSpatialReference& to, geo::Bounds* out) {
  std::unique_ptr<OGRCoordinateTransformation> transform(
      OGRCreateCoordinateTransformation(&from, &to));
  if (transform == nullptr) return false;
  constexpr int kSteps = 20;
  std::vector<double> xs, ys;
  std::vector<int> ok((kSteps + 1) * (kSteps + 1));
  xs.reserve(ok.size());
  ys.reserve(ok.size());
  for (int j = 0; j <= kSteps; ++j) {
    for (int i = 0; i <= kSteps; ++i) {
      xs.push_back(bbox.min_x + (bbox.max_x - bbox.min_x) * i / kSteps);
      ys.push_back(bbox.min_y + (bbox.max_y - bbox.min_y) * j / kSteps);
    }
  }
  transform->Transform(static_cast<int>(xs.size()), xs.data(), ys.data(), nullptr, ok.data());
  bool any = false;
  geo::Bounds result{
      std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!ok[i] || !std::isfinite(xs[i]) || !std::isfinite(ys[i])) continue;
    any = true;
    result.min_x = std::min(result.min_x, xs[i]);
    result.max_x = std::max(result.max_x, xs[i]);
    result.min_y = std::min(result.min_y, ys[i]);
    result.max_y = std::max(result.max_y, ys[i]);
  }
  *out = result;
  return any;
}

int LevelForResolution(const TileSource& tiles, double resolution) {
  // Like GDAL's overview choice: the coarsest level whose pixels are no larger than the
  // requested ones (1% slack absorbs rounding in the bbox transform).
  const int wanted = tiles.tms().ZoomForResolution(resolution * 1.01, geo::ZoomStrategy::kUpper);
  for (int z = std::min(wanted, tiles.max_zoom()); z >= tiles.min_zoom(); --z) {
    if (tiles.SectionFor(z) >= 0) return z;
  }
  for (int z = tiles.min_zoom(); z <= tiles.max_zoom(); ++z) {
    if (tiles.SectionFor(z) >= 0) return z;
  }
  return tiles.min_zoom();
}

namespace {

// DataArea is where level z or a coarser one (the fallback for missing tiles) holds data,
// in global pixels of zoom z; empty when none does.
Window DataArea(const TileSource& tiles, int z) {
  const int64_t ts = tiles.tile_size();
  Window area{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(),
              std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min()};
  for (int zz = tiles.min_zoom(); zz <= z; ++zz) {
    const Level* level = tiles.FindLevel(zz);
    if (level == nullptr || level->tile_count() == 0) continue;
    const int shift = z - zz;
    area.x0 = std::min<int64_t>(area.x0, (int64_t{level->min_x()} * ts) << shift);
    area.y0 = std::min<int64_t>(area.y0, (int64_t{level->min_y()} * ts) << shift);
    area.x1 = std::max<int64_t>(area.x1, (int64_t{level->max_x() + 1} * ts) << shift);
    area.y1 = std::max<int64_t>(area.y1, (int64_t{level->max_y() + 1} * ts) << shift);
  }
  return area;
}

// MarkPresentTiles sets plan->present for the stored tiles under plan's tile range, looking
// up each world copy's columns by Morton key ranges.
void MarkPresentTiles(const TileSource& tiles, LevelTiles* plan) {
  const int64_t tx1 = plan->tx0 + plan->tiles_across - 1;
  plan->present.assign(static_cast<size_t>(plan->tiles_across) * (plan->ty1 - plan->ty0 + 1), 0);
  const storage::Reader& store = tiles.store();
  const uint32_t section = static_cast<uint32_t>(tiles.SectionFor(plan->z));
  const uint64_t count = store.entry_count(section);
  const int64_t matrix_width = tiles.tms().MatrixWidth(plan->z);
  for (int64_t copy = FloorDiv(plan->tx0, matrix_width); copy <= FloorDiv(tx1, matrix_width);
       ++copy) {
    const int64_t offset = copy * matrix_width;  // Unwrapped column of wrapped column 0.
    const uint32_t x0 = static_cast<uint32_t>(std::max(plan->tx0, offset) - offset);
    const uint32_t x1 = static_cast<uint32_t>(std::min(tx1, offset + matrix_width - 1) - offset);
    for (const geo::KeyRange& range : geo::KeyRangesForRect(x0, plan->ty0, x1, plan->ty1)) {
      for (uint64_t i = store.LowerBound(section, range.begin);
           i < count && store.KeyAt(section, i) < range.end; ++i) {
        uint32_t x, y;
        TileFromKey(store.KeyAt(section, i), &x, &y);
        if (x < x0 || x > x1 || y < plan->ty0 || y > plan->ty1) continue;
        plan->present[static_cast<size_t>(y - plan->ty0) * plan->tiles_across +
                      static_cast<size_t>(x + offset - plan->tx0)] = 1;
      }
    }
  }
}

}  // namespace

absl::StatusOr<LevelTiles> PlanLevelWindow(const TileSource& tiles, const geo::Bounds& in_tms,
                                           int z, double wanted_resolution, Resampling resampling) {
  const geo::TileMatrixSet& tms = tiles.tms();
  const double scale = std::max(1.0, wanted_resolution / tms.Resolution(z));
  const double margin = KernelRadius(resampling) * scale + 2;
  double px0, py0, px1, py1;
  tms.CrsToPixel(in_tms.min_x, in_tms.max_y, z, &px0, &py0);
  tms.CrsToPixel(in_tms.max_x, in_tms.min_y, z, &px1, &py1);
  const int64_t ts = tiles.tile_size();
  LevelTiles plan;
  plan.z = z;
  plan.requested = Window{static_cast<int64_t>(std::floor(px0 - margin)),
                          static_cast<int64_t>(std::floor(py0 - margin)),
                          static_cast<int64_t>(std::ceil(px1 + margin)),
                          static_cast<int64_t>(std::ceil(py1 + margin))};
  // x wraps (both sets span the globe): a window past the world's edge reads the other side,
  // so that pixels next to the antimeridian keep their whole kernel.
  const int64_t world = int64_t{tms.MatrixWidth(z)} * ts;
  Window window = Intersect(
      plan.requested, Window{-world, 0, 2 * world, static_cast<int64_t>(tms.MatrixHeight(z)) * ts});
  // Only where the level (or a coarser one, for fallback) has data. (Across the world's edge
  // only in y: the data's copies make no rectangle.)
  const Window data_area = DataArea(tiles, z);
  const bool wraps = window.x0 < 0 || window.x1 > world;
  plan.window = Intersect(
      window, wraps ? Window{window.x0, data_area.y0, window.x1, data_area.y1} : data_area);
  if (plan.window.empty()) return plan;
  if (static_cast<uint64_t>(plan.window.width()) * static_cast<uint64_t>(plan.window.height()) >
      kMaxRegionMosaicPixels) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the window needs ", plan.window.width(), "x", plan.window.height(),
                     " source pixels at zoom ", z, " (limit ", kMaxRegionMosaicPixels,
                     "): ask for a smaller bbox or force a coarser zoom"));
  }
  plan.tx0 = FloorDiv(plan.window.x0, ts);
  plan.ty0 = static_cast<uint32_t>(plan.window.y0 / ts);
  plan.tiles_across = static_cast<uint32_t>(FloorDiv(plan.window.x1 - 1, ts) - plan.tx0 + 1);
  plan.ty1 = static_cast<uint32_t>((plan.window.y1 - 1) / ts);
  MarkPresentTiles(tiles, &plan);
  plan.complete =
      plan.requested == plan.window && std::all_of(plan.present.begin(), plan.present.end(),
                                                   [](char present) { return present != 0; });
  return plan;
}

std::vector<ColumnRun> SplitAtWorldEdges(double min_x, double step, int width, double world_min_x,
                                         double period) {
  auto copy_of = [&](int column) {
    return std::floor((min_x + (column + 0.5) * step - world_min_x) / period);
  };
  std::vector<ColumnRun> runs;
  for (int column = 0; column < width;) {
    int end = column + 1;
    while (end < width && copy_of(end) == copy_of(column)) ++end;
    runs.push_back({column, end, copy_of(column)});
    column = end;
  }
  const auto widest = std::max_element(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
    return a.end - a.first < b.end - b.first;
  });
  std::rotate(runs.begin(), widest, widest + 1);
  return runs;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
