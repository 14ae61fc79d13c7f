#include "pyramid/internal/build/build_plan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gdal_priv.h"
#include "pyramid/format.h"
#include "pyramid/internal/unit_walker.h"
#include "pyramid/resampling.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

// A unit's base level spans at most this many pixels per side (one GDAL warp).
constexpr int kMaxBlockPixels = 2048;
// Below this many units, blocks shrink (down to 2 x 2 tiles) to keep the workers busy.
constexpr size_t kMinUnits = 8;

absl::Status ResolveTileMatrixSet(const BuildOptions& options, BuildPlan* plan) {
  absl::StatusOr<geo::TileMatrixSet> tms =
      geo::TileMatrixSet::FromName(TileMatrixSetIdName(options.tile_matrix_set), options.tile_size);
  if (!tms.ok()) return tms.status();
  plan->tms = std::make_unique<geo::TileMatrixSet>(*tms);
  absl::StatusOr<OGRSpatialReference> target_srs = geo::TileMatrixSetSrs(*plan->tms);
  if (!target_srs.ok()) return target_srs.status();
  plan->target_srs = *target_srs;
  plan->target_srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return absl::OkStatus();
}

void ResolveResampling(const BuildOptions& options, BuildPlan* plan) {
  plan->resampling = ToGdalResampleAlg(options.resampling);
  plan->overview_name =
      options.overview_resampling.value_or(DefaultOverviewResampling(options.resampling));
  plan->overview_resampling = ToOverviewResampling(plan->overview_name);
  plan->kernel_radius = OverviewKernelRadius(plan->overview_resampling);
}

// ElevationNodata is the nodata value an elevation pyramid of the source's type stores.
absl::StatusOr<double> ElevationNodata(const Source& src) {
  switch (src.pixel_type()) {
    case codec::PixelType::kInt16: {
      const double nodata = src.nodata().value_or(-32768.0);
      if (nodata < -32768 || nodata > 32767 || nodata != std::floor(nodata)) {
        return absl::InvalidArgumentError(
            absl::StrCat("nodata ", nodata,
                         " does not fit int16: set BuildOptions::nodata=-32768 (or another "
                         "int16 value)"));
      }
      return nodata;
    }
    case codec::PixelType::kUint16: {
      const double nodata = src.nodata().value_or(65535.0);
      if (nodata < 0 || nodata > 65535 || nodata != std::floor(nodata)) {
        return absl::InvalidArgumentError(
            absl::StrCat("nodata ", nodata,
                         " does not fit uint16: set BuildOptions::nodata=65535 (or another "
                         "uint16 value)"));
      }
      return nodata;
    }
    default:
      // float32: the value as stored in a float tile (NaN when the source has none).
      return static_cast<double>(
          static_cast<float>(src.nodata().value_or(std::numeric_limits<double>::quiet_NaN())));
  }
}

// CheckNodataFits refuses a BuildOptions::nodata that no sample of the source's type can
// hold (300 on 8-bit data): no pixel would be masked.
absl::Status CheckNodataFits(const BuildOptions& options, const Source& src) {
  if (!options.nodata.has_value()) return absl::OkStatus();
  const double v = *options.nodata;
  double lo = 0, hi = 0;
  switch (src.pixel_type()) {
    case codec::PixelType::kUint8:
      lo = 0, hi = 255;
      break;
    case codec::PixelType::kUint16:
      lo = 0, hi = 65535;
      break;
    case codec::PixelType::kInt16:
      lo = -32768, hi = 32767;
      break;
    case codec::PixelType::kFloat32:
      if (std::isnan(v) || std::abs(v) <= std::numeric_limits<float>::max()) {
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(
          absl::StrCat("BuildOptions::nodata=", v, " does not fit the source's float32 samples"));
  }
  if (std::isnan(v) || v < lo || v > hi || v != std::floor(v)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BuildOptions::nodata=", v, " does not fit the source's ",
        codec::PixelTypeName(src.pixel_type()), " samples: use an integer in ", lo, "..", hi));
  }
  return absl::OkStatus();
}

// ResolveEncoding picks the codec (the default follows the pixel type and band count).
absl::Status ResolveEncoding(const BuildOptions& options, BuildPlan* plan) {
  const Source& src = *plan->source;
  const int bands = plan->bands();
  TileCodec tile_codec;
  if (options.codec.has_value()) {
    tile_codec = *options.codec;
  } else if (src.pixel_type() == codec::PixelType::kUint8) {
    tile_codec = bands == 1 || bands == 3 ? TileCodec::kJpeg : TileCodec::kPng;
  } else {
    tile_codec = bands == 1 ? TileCodec::kElevation : TileCodec::kPng;
  }
  absl::Status supported = CheckEncodingSupports(tile_codec, src.pixel_type(), bands);
  if (!supported.ok()) return supported;
  plan->encoding.codec = tile_codec;
  plan->encoding.options.quality = options.quality;
  plan->binary_alpha = tile_codec == TileCodec::kElevation;
  if (plan->binary_alpha) {
    absl::StatusOr<double> nodata = ElevationNodata(src);
    if (!nodata.ok()) return nodata.status();
    plan->encoding.nodata = *nodata;
  }
  return absl::OkStatus();
}

// NamingSourceSrs is geo's footprint error with BuildOptions::source_srs where geo names its
// own argument.
absl::Status NamingSourceSrs(const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrReplaceAll(status.message(),
                                          {{geo::kSourceSrsOverride, "BuildOptions::source_srs"}}));
}

// ResolveZoomRange finds the footprint in the set's CRS and the zoom range.
absl::Status ResolveZoomRange(const BuildOptions& options, BuildPlan* plan) {
  const Source& src = *plan->source;
  absl::StatusOr<geo::Bounds> footprint =
      geo::SourceFootprint(*src.dataset(), *plan->tms, src.srs_override());
  if (!footprint.ok()) return NamingSourceSrs(footprint.status());
  plan->footprint = *footprint;
  const geo::Bounds extent = plan->tms->extent();
  if (!(footprint->max_x > extent.min_x && footprint->min_x < extent.max_x &&
        footprint->max_y > extent.min_y && footprint->min_y < extent.max_y &&
        footprint->max_x > footprint->min_x && footprint->max_y > footprint->min_y)) {
    return absl::OutOfRangeError(
        absl::StrCat("the source (", src.description(), ") does not overlap the ", plan->tms->id(),
                     " tile matrix set: check its CRS (BuildOptions::source_srs) or choose "
                     "another BuildOptions::tile_matrix_set"));
  }
  plan->min_zoom = options.min_zoom;
  // gdalwarp's suggested resolution (what GDAL's COG driver uses), unless the footprint
  // shared among the source's pixels is finer: GDALSuggestedWarpOutput is far too coarse
  // for global grids (etopo20 to WebMercator suggests zoom 0 for a 1/3 degree grid).
  const double pixels =
      static_cast<double>(src.dataset()->GetRasterXSize()) * src.dataset()->GetRasterYSize();
  double resolution = std::sqrt((footprint->max_x - footprint->min_x) *
                                (footprint->max_y - footprint->min_y) / pixels);
  // With a given max_zoom the footprint's resolution is close enough (for the cache budget and
  // CheckBuildSize), and GDALSuggestedWarpOutput is not run: run before the workers'
  // transformers, it costs 0..360 grids their CENTER_LONG wrap (builder_test's Etopo20 case).
  if (!options.max_zoom.has_value()) {
    absl::StatusOr<double> suggested = src.NativeResolution(plan->target_srs);
    if (suggested.ok()) resolution = std::min(resolution, *suggested);
  }
  plan->source_resolution = resolution;
  plan->native_zoom = plan->tms->ZoomForResolution(resolution, options.zoom_strategy);
  plan->max_zoom = options.max_zoom.value_or(plan->native_zoom);
  if (plan->min_zoom > plan->max_zoom) {
    return absl::InvalidArgumentError(
        absl::StrFormat("BuildOptions::min_zoom=%d is above the source's zoom %d: lower it, or set "
                        "BuildOptions::max_zoom",
                        plan->min_zoom, plan->max_zoom));
  }
  return absl::OkStatus();
}

// ResolveUnits cuts the footprint's tiles at max_zoom into units.
absl::Status ResolveUnits(int tile_size, BuildPlan* plan) {
  const Source& src = *plan->source;
  int block_depth = 0;
  while ((tile_size << (block_depth + 1)) <= kMaxBlockPixels) ++block_depth;
  if (!plan->tms->CoveringTiles(plan->footprint, plan->max_zoom, &plan->base_min_x,
                                &plan->base_min_y, &plan->base_max_x, &plan->base_max_y)) {
    return absl::OutOfRangeError(
        absl::StrCat("the source does not overlap the ", plan->tms->id(), " tile matrix set"));
  }
  // Units cover the footprint's parts only: across the antimeridian the hull spans every
  // column, the parts just the two sides.
  absl::StatusOr<std::vector<geo::Bounds>> parts =
      geo::SourceFootprintParts(*src.dataset(), *plan->tms, src.srs_override());
  if (!parts.ok()) return NamingSourceSrs(parts.status());
  const std::vector<geo::TileRect> base_ranges =
      plan->tms->CoveringTileRanges(*parts, plan->max_zoom);
  // Tiles that touch the source, summed over the levels (an upper bound: empty tiles are
  // not written).
  plan->planned_tiles = 0;
  for (int z = plan->min_zoom; z <= plan->max_zoom; ++z) {
    const int shift = plan->max_zoom - z;
    for (const geo::TileRect& r : base_ranges) {
      plan->planned_tiles += (static_cast<double>((r.max_x >> shift) - (r.min_x >> shift)) + 1) *
                             (static_cast<double>((r.max_y >> shift) - (r.min_y >> shift)) + 1);
    }
  }
  // Small builds get smaller blocks so that every core has work (independent of --threads,
  // so a resumed build cuts the same units).
  for (;;) {
    plan->unit_zoom = std::max(0, plan->max_zoom - block_depth);
    plan->unit_depth = plan->max_zoom - plan->unit_zoom;
    const int shift = plan->unit_depth;
    plan->unit_min_x = plan->base_min_x >> shift;
    plan->unit_min_y = plan->base_min_y >> shift;
    plan->unit_max_x = plan->base_max_x >> shift;
    plan->unit_max_y = plan->base_max_y >> shift;
    plan->unit_rects.clear();
    for (const geo::TileRect& r : base_ranges) {
      plan->unit_rects.push_back(
          geo::TileRect{r.min_x >> shift, r.min_y >> shift, r.max_x >> shift, r.max_y >> shift});
    }
    plan->unit_count = UnitWalker(plan->unit_rects).count();
    if (plan->unit_count >= kMinUnits || block_depth <= 1) break;
    --block_depth;
  }
  return absl::OkStatus();
}

// CheckBuildSize refuses, unless BuildOptions::allow_large_build, a build that upsamples the
// source by more than kMaxUpsampleLevels or plans more than kLargeBuildTiles tiles, saying
// how many tiles it would write.
absl::Status CheckBuildSize(const BuildOptions& options, const BuildPlan& plan) {
  if (options.allow_large_build) return absl::OkStatus();
  const int upsampled = plan.max_zoom - plan.native_zoom;
  if (upsampled <= kMaxUpsampleLevels && plan.planned_tiles <= kLargeBuildTiles) {
    return absl::OkStatus();
  }
  const std::string why =
      upsampled > kMaxUpsampleLevels
          ? absl::StrCat("zoom ", plan.max_zoom, " is ", upsampled,
                         " levels finer than the source (zoom ", plan.native_zoom, ")")
          : absl::StrCat("it is more than ", kLargeBuildTiles, " tiles");
  return absl::FailedPreconditionError(absl::StrFormat(
      "the build would write up to %.4g tiles (zoom %d..%d): %s; lower BuildOptions::max_zoom, "
      "or set BuildOptions::allow_large_build to build it anyway",
      plan.planned_tiles, plan.min_zoom, plan.max_zoom, why));
}

// FillMetadata writes everything the sealed metadata says but the levels.
void FillMetadata(const BuildOptions& options, BuildPlan* plan) {
  const Source& src = *plan->source;
  PyramidMetadata& m = plan->metadata;
  m.set_format_version(kFormatVersion);
  m.set_tile_matrix_set(std::string(plan->tms->id()));
  m.set_tile_size(options.tile_size);
  m.set_pixel_type(ToProtoPixelType(src.pixel_type()));
  const bool has_alpha = !plan->binary_alpha;
  m.set_band_count(plan->bands() + (has_alpha ? 1 : 0));
  for (const std::string& name : src.color_interpretation()) m.add_color_interpretation(name);
  if (has_alpha) m.add_color_interpretation("Alpha");
  m.set_has_alpha(has_alpha);
  m.set_codec(std::string(TileCodecName(plan->encoding.codec)));
  // Only the lossy codecs have a quality.
  if (plan->encoding.codec == TileCodec::kJpeg || plan->encoding.codec == TileCodec::kWebp) {
    m.set_quality(options.quality);
  }
  if (plan->binary_alpha) m.set_nodata(plan->encoding.nodata);
  m.set_min_zoom(plan->min_zoom);
  m.set_max_zoom(plan->max_zoom);
  const geo::Bounds& footprint = plan->footprint;
  m.mutable_bounds()->set_min_x(footprint.min_x);
  m.mutable_bounds()->set_min_y(footprint.min_y);
  m.mutable_bounds()->set_max_x(footprint.max_x);
  m.mutable_bounds()->set_max_y(footprint.max_y);
  double lon0, lat0, lon1, lat1;
  plan->tms->CrsToLonLat(footprint.min_x, footprint.min_y, &lon0, &lat0);
  plan->tms->CrsToLonLat(footprint.max_x, footprint.max_y, &lon1, &lat1);
  m.mutable_bounds_lonlat()->set_min_x(lon0);
  m.mutable_bounds_lonlat()->set_min_y(lat0);
  m.mutable_bounds_lonlat()->set_max_x(lon1);
  m.mutable_bounds_lonlat()->set_max_y(lat1);
  m.set_resampling(std::string(ResamplingName(options.resampling)));
  m.set_overview_resampling(std::string(ResamplingName(plan->overview_name)));
  m.set_source_description(src.description());
  m.set_tool_version(options.tool_version);
  for (const auto& [key, value] : options.creation_options) {
    (*m.mutable_creation_options())[key] = value;
  }
  m.set_created_utc(absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()));
}

}  // namespace

absl::Status ResolvePlan(const BuildOptions& options, BuildPlan* plan) {
  absl::Status status = ValidateBuildOptions(options);
  if (!status.ok()) return status;
  status = ResolveTileMatrixSet(options, plan);
  if (!status.ok()) return status;
  ResolveResampling(options, plan);

  SourceOptions source_options;
  source_options.inputs = options.inputs;
  source_options.bands = options.bands;
  source_options.source_srs = options.source_srs;
  source_options.nodata = options.nodata;
  absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(source_options);
  if (!source.ok()) return source.status();
  plan->source = std::move(*source);

  status = CheckNodataFits(options, *plan->source);
  if (!status.ok()) return status;
  status = ResolveEncoding(options, plan);
  if (!status.ok()) return status;
  status = ResolveZoomRange(options, plan);
  if (!status.ok()) return status;
  status = ResolveUnits(options.tile_size, plan);
  if (!status.ok()) return status;
  status = CheckBuildSize(options, *plan);
  if (!status.ok()) return status;
  FillMetadata(options, plan);
  return absl::OkStatus();
}

// Every worker reads its unit's source window once (its own dataset handle, so its own
// cached blocks), and the next unit in Morton order is a neighbour that shares blocks with it
// only along their common edge. A tiled source therefore needs, per worker, the window's last
// block row and block column (what its right and lower neighbours read again); a
// strip-organised TIFF, whose blocks are whole rows, needs the whole window (the neighbour on
// the right reads the same strips). At least 8 MiB, at most GDAL's default (5% of RAM).
// Without it the cache fills to GDAL's default and peak memory grows with the input; a
// smaller cache than this re-reads edge blocks (a cost only for compressed sources).
int64_t GdalCacheBudget(const BuildPlan& plan, int threads) {
  GDALDataset& ds = *plan.source->dataset();
  GDALRasterBand* band = ds.GetRasterBand(1);
  int block_x = 0, block_y = 0;
  band->GetBlockSize(&block_x, &block_y);
  block_x = std::max(block_x, 1);
  block_y = std::max(block_y, 1);
  // The unit's base block plus a kernel margin, in source pixels.
  const double unit_pixels =
      (static_cast<double>(plan.tms->tile_size()) * (1 << plan.unit_depth) + 128) *
      plan.tms->Resolution(plan.max_zoom) / std::max(plan.source_resolution, 1e-300);
  const double width = std::min<double>(unit_pixels, ds.GetRasterXSize());
  const double height = std::min<double>(unit_pixels, ds.GetRasterYSize());
  const double covered_x =
      std::min<double>((std::ceil(width / block_x) + 1) * block_x, ds.GetRasterXSize() + block_x);
  const double covered_y =
      std::min<double>((std::ceil(height / block_y) + 1) * block_y, ds.GetRasterYSize() + block_y);
  const bool strips = block_x >= ds.GetRasterXSize();
  const double pixels = strips ? covered_x * covered_y
                               : covered_x * block_y + static_cast<double>(block_x) * covered_y;
  const double bytes =
      pixels * ds.GetRasterCount() * GDALGetDataTypeSizeBytes(band->GetRasterDataType());
  const double budget = std::max(8.0 * (1 << 20), threads * bytes);
  return static_cast<int64_t>(std::min<double>(budget, static_cast<double>(GDALGetCacheMax64())));
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
