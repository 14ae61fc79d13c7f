#include "pyramid/internal/read/render.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pyramid/internal/read/mosaic.h"
#include "pyramid/internal/read/region_plan.h"
#include "pyramid/internal/read/region_resample.h"
#include "pyramid/internal/read/region_warp.h"
#include "pyramid/internal/read/samples.h"
#include "pyramid/resampling.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

// Render is one RenderRegion call once its level is chosen.
struct Render {
  Render(const TileSource& tiles, const RegionRequest& request, const ResolvedSrs& srs,
         const LevelTiles& level);

  const TileSource& tiles;
  const RegionRequest& request;
  const ResolvedSrs& srs;
  const LevelTiles& level;
  double resolution;  // The set's CRS units per pixel of level.z.
  // Output pixel (i, j) has its top-left corner at global pixel (left + i * step_x,
  // top + j * step_y) of zoom level.z.
  double left = 0, top = 0, step_x, step_y;
  int bands, color_bands;
  bool has_alpha;
  std::optional<double> nodata;
  // same_crs: the request is in the set's CRS and may take the fast path.
  bool same_crs;
  // nearest_fast: a nearest request the fast path renders.
  bool nearest_fast;
};

Render::Render(const TileSource& tiles, const RegionRequest& request, const ResolvedSrs& srs,
               const LevelTiles& level)
    : tiles(tiles),
      request(request),
      srs(srs),
      level(level),
      resolution(tiles.tms().Resolution(level.z)),
      step_x((request.bbox.max_x - request.bbox.min_x) / request.width / resolution),
      step_y((request.bbox.max_y - request.bbox.min_y) / request.height / resolution),
      bands(tiles.band_count()),
      color_bands(tiles.has_alpha() ? bands - 1 : bands),
      has_alpha(tiles.has_alpha()),
      nodata(tiles.nodata()),
      same_crs(!request.force_gdal_warp && srs.srs->same_as_tile_matrix_set),
      nearest_fast(same_crs && request.resampling == Resampling::kNearest &&
                   (!has_alpha || (tiles.pixel_type() == codec::PixelType::kUint8 && !nodata))) {
  tiles.tms().CrsToPixel(request.bbox.min_x, request.bbox.max_y, level.z, &left, &top);
}

// BlankImage is an output with no data anywhere: alpha 0, samples the nodata value (or 0).
codec::Image BlankImage(const TileSource& tiles, int width, int height) {
  codec::Image image(width, height, tiles.band_count(), tiles.pixel_type());
  const int color_bands = tiles.has_alpha() ? tiles.band_count() - 1 : tiles.band_count();
  FillNewImage(image, color_bands, tiles.nodata().value_or(0));
  return image;
}

// BoxInTileMatrixSet is the request's bbox in the set's CRS, clipped to its extent.
absl::StatusOr<geo::Bounds> BoxInTileMatrixSet(const TileSource& tiles,
                                               const RegionRequest& request,
                                               const ResolvedSrs& srs) {
  const geo::Bounds& bbox = request.bbox;
  geo::Bounds in_tms = bbox;
  if (!srs.srs->same_as_tile_matrix_set) {
    // A run of ReadRegion's columns may reach a fraction of a pixel past +-180, which PROJ
    // would wrap to the far side of the world: the kernel margin covers that fraction.
    geo::Bounds transformed = bbox;
    if (srs.srs->geographic) {
      transformed.min_x = std::max(transformed.min_x, -180.0);
      transformed.max_x = std::min(transformed.max_x, 180.0);
    }
    if (!TransformedBounds(transformed, *srs.request_srs, *srs.tms_srs, &in_tms)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bbox ", bbox.min_x, ",", bbox.min_y, ",", bbox.max_x, ",", bbox.max_y,
                       " in ", request.srs, " does not map into ", tiles.tms().crs(),
                       " (check the bbox axis order: x/longitude first)"));
    }
  }
  const geo::Bounds extent = tiles.tms().extent();
  in_tms.min_x = std::max(in_tms.min_x, extent.min_x);
  in_tms.min_y = std::max(in_tms.min_y, extent.min_y);
  in_tms.max_x = std::min(in_tms.max_x, extent.max_x);
  in_tms.max_y = std::min(in_tms.max_y, extent.max_y);
  return in_tms;
}

// ChooseLevel is the request's forced zoom (NotFound when the pyramid lacks it), or the level
// for `wanted_resolution`.
absl::StatusOr<int> ChooseLevel(const TileSource& tiles, const RegionRequest& request,
                                double wanted_resolution) {
  if (request.zoom < 0) {
    return LevelForResolution(tiles, wanted_resolution > 0
                                         ? wanted_resolution
                                         : tiles.tms().Resolution(tiles.max_zoom()));
  }
  if (tiles.SectionFor(request.zoom) < 0) {
    return absl::NotFoundError(absl::StrCat("zoom ", request.zoom, " is not in the pyramid (zooms ",
                                            tiles.min_zoom(), "..", tiles.max_zoom(), ")"));
  }
  return request.zoom;
}

// RenderAligned places the tiles straight into the output: output pixel (i, j) is global
// pixel (x0 + i, y0 + j) (nearest, on the level's grid).
absl::Status RenderAligned(const Render& r, Region* region) {
  const int64_t x0 = std::llround(r.left), y0 = std::llround(r.top);
  TilePlacement placement;
  placement.tiles = &r.level;
  placement.area =
      Intersect(r.level.window, Window{x0, y0, x0 + r.request.width, y0 + r.request.height});
  // complete: the window (the output plus a margin) was not clipped and every tile under it is
  // stored, so the tiles cover the output and each decode writes all of its part (or fails,
  // and the image is dropped): no need to fill it first.
  region->image = r.level.complete ? codec::Image::Uninitialized(r.request.width, r.request.height,
                                                                 r.bands, r.tiles.pixel_type())
                                   : BlankImage(r.tiles, r.request.width, r.request.height);
  if (placement.area.empty()) return absl::OkStatus();
  placement.target = region->image.mutable_view();
  placement.origin_x = x0;
  placement.origin_y = y0;
  placement.clear_transparent_colour = r.has_alpha;
  bool any_data = false;
  return PlaceTiles(r.tiles, placement, region, &any_data);
}

// IsOpaque says whether every pixel of `mosaic` has an opaque alpha (its band alpha_band).
bool IsOpaque(const codec::Image& mosaic, int alpha_band) {
  const size_t sample = codec::BytesPerSample(mosaic.type());
  const size_t pixel = sample * static_cast<size_t>(mosaic.bands());
  const size_t alpha_offset = sample * static_cast<size_t>(alpha_band);
  const double opaque = OpaqueValue(mosaic.type());
  for (int row = 0; row < mosaic.height(); ++row) {
    const uint8_t* p = mosaic.data() + static_cast<size_t>(row) * mosaic.row_stride();
    for (int col = 0; col < mosaic.width(); ++col, p += pixel) {
      if (ReadSample(p + alpha_offset, mosaic.type()) != opaque) return false;
    }
  }
  return true;
}

// SetOpaque sets band `band` of every pixel of `image` to the opaque alpha value.
void SetOpaque(codec::Image& image, int band) {
  const size_t sample = codec::BytesPerSample(image.type());
  const size_t pixel = sample * static_cast<size_t>(image.bands());
  uint8_t alpha[4];
  WriteSample(OpaqueValue(image.type()), image.type(), alpha);
  for (int row = 0; row < image.height(); ++row) {
    uint8_t* p = image.data() + static_cast<size_t>(row) * image.row_stride() +
                 sample * static_cast<size_t>(band);
    for (int col = 0; col < image.width(); ++col, p += pixel) std::memcpy(p, alpha, sample);
  }
}

// WarpMosaic resamples `mosaic` (the level's window) onto the request's grid with GDAL's
// warper. `synthetic_alpha`: its last band marks where tiles were; `opaque_mosaic`: it is
// opaque, so its alpha band is left out (GDAL's kernels without masks are about twice as
// fast) and the output's set opaque afterwards.
absl::Status WarpMosaic(const Render& r, const codec::Image& mosaic, bool synthetic_alpha,
                        bool opaque_mosaic, Region* region) {
  const geo::TileMatrixSet& tms = r.tiles.tms();
  GeoGrid source_grid;
  double origin_x, origin_y;
  tms.PixelToCrs(static_cast<double>(r.level.window.x0), static_cast<double>(r.level.window.y0),
                 r.level.z, &origin_x, &origin_y);
  source_grid.geotransform = {origin_x, r.resolution, 0, origin_y, 0, -r.resolution};
  source_grid.srs_wkt = r.tiles.tms_srs_wkt();
  GeoGrid destination_grid{region->geotransform, region->srs_wkt};
  const bool alpha = r.has_alpha && !opaque_mosaic;
  WarpSpec spec;
  spec.resampling = ToGdalResampleAlg(r.request.resampling);
  spec.color_bands = r.color_bands;
  spec.source_alpha_band = alpha ? r.bands - 1 : synthetic_alpha ? r.bands : -1;
  spec.destination_alpha_band = alpha ? r.bands - 1 : -1;
  spec.nodata = r.nodata;
  if (absl::Status s = WarpRegion(mosaic.view(), source_grid, region->image.mutable_view(),
                                  destination_grid, spec);
      !s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat(r.tiles.path(), ": region at zoom ", r.level.z, ": ", s.message()));
  }
  if (opaque_mosaic) SetOpaque(region->image, r.bands - 1);
  return absl::OkStatus();
}

// ResampleMosaic resamples `mosaic` onto the request's grid into region->image: the fast
// path where it applies (see render.h), GDAL's warper otherwise.
absl::Status ResampleMosaic(const Render& r, const codec::Image& mosaic, bool synthetic_alpha,
                            Region* region) {
  // Output centres in mosaic pixels.
  const double first_x = r.left + 0.5 * r.step_x - static_cast<double>(r.level.window.x0);
  const double first_y = r.top + 0.5 * r.step_y - static_cast<double>(r.level.window.y0);
  const int width = r.request.width, height = r.request.height;
  if (r.nearest_fast) {
    GatherNearest(mosaic.view(), NearestSourceIndices(first_x, r.step_x, width, mosaic.width()),
                  NearestSourceIndices(first_y, r.step_y, height, mosaic.height()),
                  r.has_alpha       ? r.bands - 1
                  : synthetic_alpha ? r.bands
                                    : -1,
                  region->image.mutable_view());
    return absl::OkStatus();
  }
  const bool opaque_mosaic = r.has_alpha && r.level.complete && IsOpaque(mosaic, r.bands - 1);
  // Bilinear without GDAL where every sample read holds data and GDAL would use its
  // four-sample formula (output pixels at most 1/0.95 source pixels).
  constexpr double kGdalFourSampleMaxStep = 1 / 0.95;
  if (r.same_crs && r.request.resampling == Resampling::kBilinear && r.level.complete &&
      (!r.has_alpha || opaque_mosaic) && !r.nodata.has_value() &&
      r.tiles.pixel_type() != codec::PixelType::kFloat32 && r.step_x <= kGdalFourSampleMaxStep &&
      r.step_y <= kGdalFourSampleMaxStep) {
    InterpolateBilinear(mosaic.view(), BilinearSourceTaps(first_x, r.step_x, width, mosaic.width()),
                        BilinearSourceTaps(first_y, r.step_y, height, mosaic.height()),
                        region->image.mutable_view());
    return absl::OkStatus();
  }
  return WarpMosaic(r, mosaic, synthetic_alpha, opaque_mosaic, region);
}

// RenderThroughMosaic places the level's window into a mosaic and resamples it.
absl::Status RenderThroughMosaic(const Render& r, Region* region) {
  region->image = BlankImage(r.tiles, r.request.width, r.request.height);
  // Without alpha or nodata, a synthetic alpha band tells the resampling where tiles were.
  const bool synthetic_alpha = !r.has_alpha && !r.nodata.has_value() && !r.level.complete;
  codec::Image mosaic(static_cast<int>(r.level.window.width()),
                      static_cast<int>(r.level.window.height()),
                      r.bands + (synthetic_alpha ? 1 : 0), r.tiles.pixel_type());
  if (r.nodata.has_value()) FillNewImage(mosaic, r.bands, *r.nodata);
  TilePlacement placement;
  placement.tiles = &r.level;
  placement.area = r.level.window;
  placement.target = mosaic.mutable_view();
  placement.origin_x = r.level.window.x0;
  placement.origin_y = r.level.window.y0;
  placement.extra_value = OpaqueValue(r.tiles.pixel_type());
  placement.fill_resampling = r.request.resampling;
  bool any_data = false;
  if (absl::Status s = PlaceTiles(r.tiles, placement, region, &any_data); !s.ok()) return s;
  if (!any_data) return absl::OkStatus();
  return ResampleMosaic(r, mosaic, synthetic_alpha, region);
}

}  // namespace

absl::StatusOr<Region> RenderRegion(const TileSource& tiles, const RegionRequest& request,
                                    const ResolvedSrs& srs) {
  const geo::Bounds& bbox = request.bbox;
  Region region;
  region.geotransform = {bbox.min_x, (bbox.max_x - bbox.min_x) / request.width,  0, bbox.max_y,
                         0,          -(bbox.max_y - bbox.min_y) / request.height};
  region.srs_wkt = srs.srs->wkt;
  absl::StatusOr<geo::Bounds> in_tms = BoxInTileMatrixSet(tiles, request, srs);
  if (!in_tms.ok()) return in_tms.status();
  const double wanted_resolution = std::min((in_tms->max_x - in_tms->min_x) / request.width,
                                            (in_tms->max_y - in_tms->min_y) / request.height);
  absl::StatusOr<int> z = ChooseLevel(tiles, request, wanted_resolution);
  if (!z.ok()) return z.status();
  region.zoom = *z;
  if (in_tms->min_x >= in_tms->max_x || in_tms->min_y >= in_tms->max_y) {
    region.image = BlankImage(tiles, request.width, request.height);
    return region;  // Entirely outside the tile matrix set: no data anywhere.
  }
  absl::StatusOr<LevelTiles> level =
      PlanLevelWindow(tiles, *in_tms, *z, wanted_resolution, request.resampling);
  if (!level.ok()) return level.status();
  if (level->window.empty()) {
    region.image = BlankImage(tiles, request.width, request.height);
    return region;
  }
  const Render r(tiles, request, srs, *level);
  constexpr double kAlignedPixels = 1e-6;
  const bool aligned = std::fabs(r.left - std::round(r.left)) < kAlignedPixels &&
                       std::fabs(r.top - std::round(r.top)) < kAlignedPixels &&
                       std::fabs(r.step_x - 1) * request.width < kAlignedPixels &&
                       std::fabs(r.step_y - 1) * request.height < kAlignedPixels;
  absl::Status s =
      r.nearest_fast && aligned ? RenderAligned(r, &region) : RenderThroughMosaic(r, &region);
  if (!s.ok()) return s;
  return region;
}

absl::StatusOr<Region> RenderAcrossWorldEdges(const TileSource& tiles, const RegionRequest& request,
                                              const ResolvedSrs& srs, double world_min_x,
                                              double period) {
  const geo::Bounds& wide = request.bbox;
  const double step = (wide.max_x - wide.min_x) / request.width;
  Region region;
  region.image =
      codec::Image(request.width, request.height, tiles.band_count(), tiles.pixel_type());
  region.geotransform = {wide.min_x, step, 0,
                         wide.max_y, 0,    -(wide.max_y - wide.min_y) / request.height};
  region.srs_wkt = srs.srs->wkt;
  const size_t pixel_bytes =
      codec::BytesPerSample(tiles.pixel_type()) * static_cast<size_t>(tiles.band_count());
  // The first run is the widest: it picks the level for all (their resolutions are equal).
  const std::vector<ColumnRun> runs =
      SplitAtWorldEdges(wide.min_x, step, request.width, world_min_x, period);
  for (const ColumnRun& run : runs) {
    const bool first = &run == &runs.front();
    RegionRequest part = request;
    const double shift = run.copy * period;
    part.bbox.min_x = wide.min_x + run.first * step - shift;
    part.bbox.max_x = wide.min_x + run.end * step - shift;
    part.width = run.end - run.first;
    if (!first) part.zoom = region.zoom;
    absl::StatusOr<Region> rendered = RenderRegion(tiles, part, srs);
    if (!rendered.ok()) return rendered.status();
    if (first) region.zoom = rendered->zoom;
    region.tiles_decoded += rendered->tiles_decoded;
    region.tiles_from_coarser_levels += rendered->tiles_from_coarser_levels;
    for (int row = 0; row < request.height; ++row) {
      std::memcpy(region.image.data() + row * region.image.row_stride() + run.first * pixel_bytes,
                  rendered->image.data() + row * rendered->image.row_stride(),
                  static_cast<size_t>(part.width) * pixel_bytes);
    }
  }
  return region;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
