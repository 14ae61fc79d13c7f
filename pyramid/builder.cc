#include "pyramid/builder.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "codec/image.h"
#include "cpl_conv.h"
#include "gdal_priv.h"
#include "geo/crs.h"
#include "geo/morton.h"
#include "geo/tile_matrix_set.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "pyramid/internal/build_state.pb.h"
#include "pyramid/internal/source.h"
#include "pyramid/internal/tile_hash.h"
#include "pyramid/internal/tile_pixels.h"
#include "pyramid/internal/unit_walker.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using internal::OverviewResampling;
using internal::TileEncoding;
using internal::TilePixels;

constexpr char kMetadataType[] = "flatpyramid.pyramid.PyramidMetadata";
constexpr char kBuildStateType[] = "flatpyramid.pyramid.internal.BuildState";
// A unit's base level spans at most this many pixels per side (one GDAL warp).
constexpr int kMaxBlockPixels = 2048;
// Below this many units, blocks shrink (down to 2 x 2 tiles) to keep the workers busy.
constexpr size_t kMinUnits = 8;
// Encoded tiles up to this size are deduplicated per level (uniform fills, open ocean).
constexpr size_t kMaxSharedTileBytes = 8192;
// Unique small tiles remembered per level for deduplication (by digest: ~3 MiB per level).
constexpr size_t kMaxSharedTilesPerLevel = 1 << 16;

PixelType ToProto(codec::PixelType type) {
  switch (type) {
    case codec::PixelType::kUint8:
      return UINT8;
    case codec::PixelType::kUint16:
      return UINT16;
    case codec::PixelType::kInt16:
      return INT16;
    case codec::PixelType::kFloat32:
      return FLOAT32;
  }
  return PIXEL_TYPE_UNSPECIFIED;
}

// WriteFailed adds what to do to a storage write error (disk full, quota, I/O), keeping its
// code. `resumable`: a commit point exists, so --resume can continue after the fix.
absl::Status WriteFailed(const absl::Status& status, bool resumable) {
  return absl::Status(
      status.code(),
      absl::StrCat("cannot write the pyramid (", status.message(), "): free disk space, then ",
                   resumable ? "rerun with --resume to continue from the last commit point"
                             : "rerun with --overwrite"));
}

// Everything the build needs, resolved from BuildOptions.
struct Plan {
  std::unique_ptr<geo::TileMatrixSet> tms;
  OGRSpatialReference target_srs;
  std::unique_ptr<internal::Source> source;
  TileEncoding encoding;
  GDALResampleAlg resampling = GRA_Bilinear;
  OverviewResampling overview_resampling = OverviewResampling::kAverage;
  int kernel_radius = 0;      // internal::OverviewKernelRadius(overview_resampling).
  bool binary_alpha = false;  // Elevation: alpha is validity.
  int min_zoom = 0;
  int max_zoom = 0;
  int unit_zoom = 0;             // Zoom of a unit's root tile.
  int unit_depth = 0;            // max_zoom - unit_zoom.
  double source_resolution = 0;  // A source pixel's size in the set's CRS units (about).
  geo::Bounds footprint;
  uint32_t base_min_x = 0, base_min_y = 0, base_max_x = 0, base_max_y = 0;  // At max_zoom.
  // Units: every tile of unit_rects at unit_zoom (one rectangle, or the two sides of a
  // footprint across the antimeridian), walked lazily in Morton order
  // (internal::UnitWalker): memory does not grow with their number. unit_min/max_* bound
  // them (the spill files and the levels above the units cover that rectangle).
  std::vector<geo::TileRect> unit_rects;
  uint32_t unit_min_x = 0, unit_min_y = 0, unit_max_x = 0, unit_max_y = 0;
  uint64_t unit_count = 0;
  PyramidMetadata metadata;  // Without levels.
};

absl::Status ResolvePlan(const BuildOptions& options, Plan* plan) {
  if (options.output.empty()) {
    return absl::InvalidArgumentError("no output: give --output=FILE.fpyr");
  }
  if (options.tile_size != 256 && options.tile_size != 512) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tile_size=", options.tile_size, " is not supported: use 256 or 512"));
  }
  absl::StatusOr<geo::TileMatrixSet> tms =
      geo::TileMatrixSet::FromName(options.tile_matrix_set, options.tile_size);
  if (!tms.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--tms=", options.tile_matrix_set, ": ",
                                                   tms.status().message(),
                                                   " (use WebMercatorQuad or WorldCRS84Quad)"));
  }
  plan->tms = std::make_unique<geo::TileMatrixSet>(*tms);
  absl::StatusOr<OGRSpatialReference> target_srs = geo::TileMatrixSetSrs(*plan->tms);
  if (!target_srs.ok()) return target_srs.status();
  plan->target_srs = *target_srs;
  plan->target_srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  geo::ZoomStrategy strategy;
  if (options.zoom_strategy == "nearest") {
    strategy = geo::ZoomStrategy::kNearest;
  } else if (options.zoom_strategy == "lower") {
    strategy = geo::ZoomStrategy::kLower;
  } else if (options.zoom_strategy == "upper") {
    strategy = geo::ZoomStrategy::kUpper;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("--zoom_strategy=", options.zoom_strategy,
                                                   " is unknown: use nearest, lower or upper"));
  }
  if (options.quality < 1 || options.quality > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("--quality=", options.quality, " is out of range: use 1..100"));
  }
  absl::StatusOr<GDALResampleAlg> resampling =
      internal::ParseResampling(options.resampling.empty() ? "bilinear" : options.resampling);
  if (!resampling.ok()) return resampling.status();
  plan->resampling = *resampling;
  // Overviews follow the base for classified (mode) and nearest data, so they keep its
  // class values; otherwise the alpha-weighted average.
  std::string overview_name = options.overview_resampling;
  if (overview_name.empty()) {
    overview_name = *resampling == GRA_Mode               ? "mode"
                    : *resampling == GRA_NearestNeighbour ? "nearest"
                                                          : "average";
  }
  absl::StatusOr<OverviewResampling> overview = internal::ParseOverviewResampling(overview_name);
  if (!overview.ok()) return overview.status();
  plan->overview_resampling = *overview;
  plan->kernel_radius = internal::OverviewKernelRadius(*overview);

  internal::SourceOptions source_options;
  source_options.inputs = options.inputs;
  source_options.bands = options.bands;
  source_options.source_srs = options.source_srs;
  source_options.nodata = options.nodata;
  absl::StatusOr<std::unique_ptr<internal::Source>> source = internal::Source::Open(source_options);
  if (!source.ok()) return source.status();
  plan->source = std::move(*source);
  const internal::Source& src = *plan->source;
  const int bands = static_cast<int>(src.bands().size());

  std::string codec_name = options.codec;
  if (codec_name.empty()) {
    if (src.pixel_type() == codec::PixelType::kUint8) {
      codec_name = bands == 1 || bands == 3 ? "jpeg" : "png";
    } else {
      codec_name = bands == 1 ? "elevation" : "png";
    }
  }
  absl::StatusOr<TileEncoding::Kind> kind = internal::ParseTileEncodingName(codec_name);
  if (!kind.ok()) return kind.status();
  absl::Status supported = internal::CheckEncodingSupports(*kind, src.pixel_type(), bands);
  if (!supported.ok()) return supported;
  plan->encoding.kind = *kind;
  plan->encoding.options.quality = options.quality;
  plan->binary_alpha = *kind == TileEncoding::Kind::kElevation;
  std::optional<double> nodata;
  if (plan->binary_alpha) {
    switch (src.pixel_type()) {
      case codec::PixelType::kInt16:
        nodata = src.nodata().value_or(-32768.0);
        if (*nodata < -32768 || *nodata > 32767 || *nodata != std::floor(*nodata)) {
          return absl::InvalidArgumentError(
              absl::StrCat("nodata ", *nodata, " does not fit int16: give --nodata=-32768"));
        }
        break;
      case codec::PixelType::kUint16:
        nodata = src.nodata().value_or(65535.0);
        if (*nodata < 0 || *nodata > 65535 || *nodata != std::floor(*nodata)) {
          return absl::InvalidArgumentError(
              absl::StrCat("nodata ", *nodata, " does not fit uint16: give --nodata=65535"));
        }
        break;
      default:
        // float32: the value as stored in a float tile (NaN when the source has none).
        nodata = static_cast<double>(
            static_cast<float>(src.nodata().value_or(std::numeric_limits<double>::quiet_NaN())));
        break;
    }
    plan->encoding.nodata = *nodata;
  }

  // Footprint and zoom range.
  absl::StatusOr<geo::Bounds> footprint =
      geo::SourceFootprint(*src.dataset(), *plan->tms, src.srs_override());
  if (!footprint.ok()) return footprint.status();
  plan->footprint = *footprint;
  const geo::Bounds extent = plan->tms->extent();
  if (!(footprint->max_x > extent.min_x && footprint->min_x < extent.max_x &&
        footprint->max_y > extent.min_y && footprint->min_y < extent.max_y &&
        footprint->max_x > footprint->min_x && footprint->max_y > footprint->min_y)) {
    return absl::OutOfRangeError(
        absl::StrCat("the source (", src.description(), ") does not overlap the ", plan->tms->id(),
                     " tile matrix set: check its CRS (--source_srs) or choose another --tms"));
  }
  plan->min_zoom = options.min_zoom;
  // gdalwarp's suggested resolution (what GDAL's COG driver uses), unless the footprint
  // shared among the source's pixels is finer: GDALSuggestedWarpOutput is far too coarse
  // for global grids (etopo20 to WebMercator suggests zoom 0 for a 1/3 degree grid).
  const double pixels =
      static_cast<double>(src.dataset()->GetRasterXSize()) * src.dataset()->GetRasterYSize();
  double resolution = std::sqrt((footprint->max_x - footprint->min_x) *
                                (footprint->max_y - footprint->min_y) / pixels);
  if (options.max_zoom < 0) {
    absl::StatusOr<double> suggested = src.NativeResolution(plan->target_srs);
    if (suggested.ok()) resolution = std::min(resolution, *suggested);
  }
  plan->source_resolution = resolution;
  if (options.max_zoom >= 0) {
    plan->max_zoom = options.max_zoom;
  } else {
    plan->max_zoom = plan->tms->ZoomForResolution(resolution, strategy);
  }
  if (plan->min_zoom < 0 || plan->max_zoom > geo::TileMatrixSet::kMaxZoom ||
      plan->min_zoom > plan->max_zoom) {
    return absl::InvalidArgumentError(
        absl::StrFormat("zoom range %d..%d is invalid: need 0 <= --min_zoom <= --max_zoom <= %d",
                        plan->min_zoom, plan->max_zoom, geo::TileMatrixSet::kMaxZoom));
  }
  int block_depth = 0;
  while ((options.tile_size << (block_depth + 1)) <= kMaxBlockPixels) ++block_depth;
  if (!plan->tms->CoveringTiles(*footprint, plan->max_zoom, &plan->base_min_x, &plan->base_min_y,
                                &plan->base_max_x, &plan->base_max_y)) {
    return absl::OutOfRangeError(
        absl::StrCat("the source does not overlap the ", plan->tms->id(), " tile matrix set"));
  }
  // Units cover the footprint's parts only: across the antimeridian the hull spans every
  // column, the parts just the two sides.
  absl::StatusOr<std::vector<geo::Bounds>> parts =
      geo::SourceFootprintParts(*src.dataset(), *plan->tms, src.srs_override());
  if (!parts.ok()) return parts.status();
  const std::vector<geo::TileRect> base_ranges =
      plan->tms->CoveringTileRanges(*parts, plan->max_zoom);
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
    plan->unit_count = internal::UnitWalker(plan->unit_rects).count();
    if (plan->unit_count >= kMinUnits || block_depth <= 1) break;
    --block_depth;
  }

  PyramidMetadata& m = plan->metadata;
  m.set_format_version(1);
  m.set_tile_matrix_set(std::string(plan->tms->id()));
  m.set_tile_size(options.tile_size);
  m.set_pixel_type(ToProto(src.pixel_type()));
  const bool has_alpha = !plan->binary_alpha;
  m.set_band_count(bands + (has_alpha ? 1 : 0));
  for (const std::string& name : src.color_interpretation()) m.add_color_interpretation(name);
  if (has_alpha) m.add_color_interpretation("Alpha");
  m.set_has_alpha(has_alpha);
  m.set_codec(std::string(internal::TileEncodingName(*kind)));
  m.set_quality(options.quality);
  if (nodata.has_value()) m.set_nodata(*nodata);
  m.set_min_zoom(plan->min_zoom);
  m.set_max_zoom(plan->max_zoom);
  m.mutable_bounds()->set_min_x(footprint->min_x);
  m.mutable_bounds()->set_min_y(footprint->min_y);
  m.mutable_bounds()->set_max_x(footprint->max_x);
  m.mutable_bounds()->set_max_y(footprint->max_y);
  double lon0, lat0, lon1, lat1;
  plan->tms->CrsToLonLat(footprint->min_x, footprint->min_y, &lon0, &lat0);
  plan->tms->CrsToLonLat(footprint->max_x, footprint->max_y, &lon1, &lat1);
  m.mutable_bounds_lonlat()->set_min_x(lon0);
  m.mutable_bounds_lonlat()->set_min_y(lat0);
  m.mutable_bounds_lonlat()->set_max_x(lon1);
  m.mutable_bounds_lonlat()->set_max_y(lat1);
  m.set_resampling(options.resampling.empty() ? "bilinear" : options.resampling);
  m.set_overview_resampling(internal::OverviewResamplingName(plan->overview_resampling).data());
  m.set_source_description(src.description());
  m.set_tool_version(options.tool_version);
  for (const auto& [key, value] : options.creation_options) {
    (*m.mutable_creation_options())[key] = value;
  }
  m.set_created_utc(absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()));
  return absl::OkStatus();
}

// One encoded tile of a unit, its bytes in UnitResult::arena.
struct EncodedTile {
  int zoom;
  uint64_t key;
  size_t offset;
  size_t length;
};

struct UnitResult {
  uint64_t key = 0;  // The unit's Morton key at unit_zoom.
  absl::Status status;
  std::string arena;
  std::vector<EncodedTile> tiles;    // Per zoom, keys increasing.
  std::unique_ptr<TilePixels> root;  // Raw root tile when levels above are built.
};

// UnitRenderer turns one unit into encoded tiles. One per worker thread; its buffers are
// reused from unit to unit.
class UnitRenderer {
 public:
  UnitRenderer(const Plan& plan, std::unique_ptr<internal::BlockWarper> warper)
      : plan_(plan), warper_(std::move(warper)) {
    const int depth = plan.unit_depth;
    levels_.resize(depth + 1);
    present_.resize(depth + 1);
    for (int d = 0; d <= depth; ++d) {
      levels_[d].resize(size_t{1} << (2 * d));
      present_[d].assign(levels_[d].size(), false);
    }
  }

  void Render(uint64_t unit_key, UnitResult* result) {
    const Plan& plan = plan_;
    const int depth = plan.unit_depth;
    const int size = plan.tms->tile_size();
    const codec::PixelType type = plan.source->pixel_type();
    const int bands = static_cast<int>(plan.source->bands().size());
    uint32_t ux, uy;
    geo::MortonDecode(unit_key, &ux, &uy);
    if (plan.kernel_radius > 0) {
      result->status = RenderWithMargin(ux, uy);
      if (!result->status.ok()) return;
      EncodeLevels(unit_key, result);
      return;
    }
    // Base tiles of this unit that the footprint covers.
    const uint32_t tx0 = std::max(ux << depth, plan.base_min_x);
    const uint32_t ty0 = std::max(uy << depth, plan.base_min_y);
    const uint32_t tx1 = std::min(((ux + 1) << depth) - 1, plan.base_max_x);
    const uint32_t ty1 = std::min(((uy + 1) << depth) - 1, plan.base_max_y);
    const int width = static_cast<int>(tx1 - tx0 + 1) * size;
    const int height = static_cast<int>(ty1 - ty0 + 1) * size;
    const size_t pixel_bytes = bands * codec::BytesPerSample(type);
    block_samples_.resize(static_cast<size_t>(width) * height * pixel_bytes);
    block_alpha_.resize(static_cast<size_t>(width) * height);
    const geo::Bounds corner = plan.tms->TileBounds({plan.max_zoom, tx0, ty0});
    result->status = warper_->Warp(corner.min_x, corner.max_y, plan.tms->Resolution(plan.max_zoom),
                                   width, height, block_samples_.data(), block_alpha_.data());
    if (!result->status.ok()) return;

    // Base level: cut the block into tiles (Morton-indexed within the unit).
    std::fill(present_[depth].begin(), present_[depth].end(), false);
    for (uint32_t ty = ty0; ty <= ty1; ++ty) {
      for (uint32_t tx = tx0; tx <= tx1; ++tx) {
        const uint64_t local = geo::MortonEncode(tx - (ux << depth), ty - (uy << depth));
        TilePixels& tile = levels_[depth][local];
        tile.Reshape(type, size, bands);  // Every pixel is written below.
        const size_t bx = (tx - tx0) * size;
        const size_t by = (ty - ty0) * size;
        for (int row = 0; row < size; ++row) {
          const size_t block_pixel = (by + row) * width + bx;
          std::memcpy(tile.samples.data() + row * size * pixel_bytes,
                      block_samples_.data() + block_pixel * pixel_bytes, size * pixel_bytes);
          std::memcpy(tile.alpha.data() + row * size, block_alpha_.data() + block_pixel, size);
        }
        present_[depth][local] = !tile.Empty();
      }
    }
    // Overview levels inside the unit, from raw children.
    for (int d = depth - 1; d >= 0; --d) {
      for (size_t m = 0; m < levels_[d].size(); ++m) {
        const TilePixels* children[4];
        bool any = false;
        for (int c = 0; c < 4; ++c) {
          const size_t child = 4 * m + c;
          children[c] = present_[d + 1][child] ? &levels_[d + 1][child] : nullptr;
          any = any || children[c] != nullptr;
        }
        present_[d][m] = false;
        if (!any) continue;
        TilePixels& tile = levels_[d][m];
        tile.Reshape(type, size, bands);  // Every pixel is written below.
        internal::Downsample2x(children, plan.overview_resampling, plan.binary_alpha, &tile);
        present_[d][m] = !tile.Empty();
      }
    }
    EncodeLevels(unit_key, result);
  }

 private:
  // RenderWithMargin fills every level of the unit for a convolution kernel of radius r: the
  // base block is warped with a margin of 2r (2^depth - 1) pixels, and each level's block is
  // reduced with its margin (DownsampleKernel2x: a margin 2m + 2r becomes m), so every
  // tile's kernel reads the neighbouring units' pixels too, down to the unit's root (margin 0).
  absl::Status RenderWithMargin(uint32_t ux, uint32_t uy) {
    const Plan& plan = plan_;
    const int depth = plan.unit_depth;
    const int size = plan.tms->tile_size();
    const codec::PixelType type = plan.source->pixel_type();
    const int bands = static_cast<int>(plan.source->bands().size());
    const size_t pixel_bytes = bands * codec::BytesPerSample(type);
    const int r = plan.kernel_radius;
    // margin[d]: margin of the level d levels below the unit's root; side[d]: its block size.
    std::vector<int> margin(depth + 1), side(depth + 1);
    margin[0] = 0;
    for (int d = 1; d <= depth; ++d) margin[d] = 2 * margin[d - 1] + 2 * r;
    for (int d = 0; d <= depth; ++d) side[d] = (size << d) + 2 * margin[d];
    kernel_samples_.resize(depth + 1);
    kernel_alpha_.resize(depth + 1);
    for (int d = 0; d <= depth; ++d) {
      kernel_samples_[d].resize(static_cast<size_t>(side[d]) * side[d] * pixel_bytes);
      kernel_alpha_[d].resize(static_cast<size_t>(side[d]) * side[d]);
    }
    const double resolution = plan.tms->Resolution(plan.max_zoom);
    const geo::Bounds corner = plan.tms->TileBounds({plan.max_zoom, ux << depth, uy << depth});
    absl::Status status =
        warper_->Warp(corner.min_x - margin[depth] * resolution,
                      corner.max_y + margin[depth] * resolution, resolution, side[depth],
                      side[depth], kernel_samples_[depth].data(), kernel_alpha_[depth].data());
    if (!status.ok()) return status;
    for (int d = depth - 1; d >= 0; --d) {
      internal::DownsampleKernel2x(type, bands, plan.overview_resampling, plan.binary_alpha,
                                   side[d], kernel_samples_[d + 1].data(),
                                   kernel_alpha_[d + 1].data(), kernel_samples_[d].data(),
                                   kernel_alpha_[d].data(), &kernel_scratch_);
    }
    // Cut each level's block (without its margin) into tiles.
    for (int d = 0; d <= depth; ++d) {
      const uint32_t n = 1u << d;
      for (uint32_t ty = 0; ty < n; ++ty) {
        for (uint32_t tx = 0; tx < n; ++tx) {
          const uint64_t local = geo::MortonEncode(tx, ty);
          TilePixels& tile = levels_[d][local];
          tile.Reshape(type, size, bands);
          for (int row = 0; row < size; ++row) {
            const size_t block_pixel =
                static_cast<size_t>(margin[d] + ty * size + row) * side[d] + margin[d] + tx * size;
            std::memcpy(tile.samples.data() + row * size * pixel_bytes,
                        kernel_samples_[d].data() + block_pixel * pixel_bytes, size * pixel_bytes);
            std::memcpy(tile.alpha.data() + row * size, kernel_alpha_[d].data() + block_pixel,
                        size);
          }
          present_[d][local] = !tile.Empty();
        }
      }
    }
    return absl::OkStatus();
  }

  // EncodeLevels encodes every stored level, Morton order within each.
  void EncodeLevels(uint64_t unit_key, UnitResult* result) {
    const Plan& plan = plan_;
    const int depth = plan.unit_depth;
    result->arena.clear();
    result->tiles.clear();
    for (int d = depth; d >= 0; --d) {
      const int zoom = plan.unit_zoom + d;
      if (zoom < plan.min_zoom) break;
      const uint64_t first_key = unit_key << (2 * d);
      for (size_t m = 0; m < levels_[d].size(); ++m) {
        if (!present_[d][m]) continue;
        result->status = internal::EncodeTile(levels_[d][m], plan.encoding, &scratch_, &encoded_);
        if (!result->status.ok()) {
          uint32_t x, y;
          geo::MortonDecode(first_key + m, &x, &y);
          result->status = absl::InternalError(absl::StrFormat(
              "tile %d/%u/%u: encoding failed: %s", zoom, x, y, result->status.message()));
          return;
        }
        result->tiles.push_back({zoom, first_key + m, result->arena.size(), encoded_.size()});
        result->arena.append(encoded_);
      }
    }
    if (plan.unit_zoom > plan.min_zoom && present_[0][0]) {
      result->root = std::make_unique<TilePixels>(std::move(levels_[0][0]));
    }
  }

  const Plan& plan_;
  std::unique_ptr<internal::BlockWarper> warper_;
  std::vector<std::vector<TilePixels>> levels_;  // [depth][Morton index within the unit].
  std::vector<std::vector<bool>> present_;
  std::vector<uint8_t> block_samples_;
  std::vector<uint8_t> block_alpha_;
  std::vector<uint8_t> scratch_;
  std::string encoded_;
  // Kernel resampling: each level's block with its margin, and the passes' scratch.
  std::vector<std::vector<uint8_t>> kernel_samples_;
  std::vector<std::vector<uint8_t>> kernel_alpha_;
  std::vector<double> kernel_scratch_;
};

std::string Compress(const std::vector<uint8_t>& bytes) {
  std::string out(ZSTD_compressBound(bytes.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(), 1);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

bool Decompress(const std::string& in, std::vector<uint8_t>* out) {
  const size_t n = ZSTD_decompress(out->data(), out->size(), in.data(), in.size());
  return !ZSTD_isError(n) && n == out->size();
}

// SharedTiles maps the digest of a level's small tiles to where they are stored: 40 bytes
// per tile whatever its size (internal/tile_hash.h states the collision odds).
using SharedTiles = absl::flat_hash_map<internal::TileDigest, storage::ValueRef>;

// LoadSharedTiles reads back the small tiles a killed build committed, in key order (the
// order a clean build met them in).
std::vector<SharedTiles> LoadSharedTiles(const Plan& plan, const storage::Reader& reader) {
  std::vector<SharedTiles> all(plan.max_zoom + 1);
  for (int z = plan.min_zoom; z <= plan.max_zoom; ++z) {
    std::optional<uint32_t> section = reader.FindSection(absl::StrCat("z", z));
    if (!section.has_value()) continue;
    SharedTiles& shared = all[z];
    const uint64_t count = reader.entry_count(*section);
    for (uint64_t i = 0; i < count && shared.size() < kMaxSharedTilesPerLevel; ++i) {
      const absl::string_view bytes = reader.ValueAt(*section, i);
      if (bytes.size() <= kMaxSharedTileBytes) {
        shared.emplace(internal::DigestTile(bytes), reader.ValueRefAt(*section, i));
      }
    }
  }
  return all;
}

// SpillFileName is the side file holding the raw tiles of level `zoom` (kernel overviews).
std::string SpillFileName(const std::string& output, int zoom) {
  return absl::StrCat(output, ".spill-z", zoom);
}

// TileSpill keeps the raw tiles of one level in a side file, one fixed-size slot per tile of
// a rectangle (samples, then alpha), so the levels above the units can read any tile and its
// neighbours back (random access) without holding the level in memory. Unwritten slots are
// holes and read back as transparent tiles.
class TileSpill {
 public:
  static absl::StatusOr<std::unique_ptr<TileSpill>> Open(const std::string& path, bool truncate,
                                                         uint32_t x0, uint32_t y0, uint32_t x1,
                                                         uint32_t y1, size_t samples_bytes,
                                                         size_t alpha_bytes) {
    const int fd =
        open(path.c_str(), O_RDWR | O_CLOEXEC | (truncate ? O_CREAT | O_TRUNC : 0), 0644);
    if (fd < 0) {
      return truncate ? absl::ResourceExhaustedError(
                            absl::StrCat("cannot create ", path, ": ", std::strerror(errno)))
                      : absl::DataLossError(
                            absl::StrCat("--resume: the side file ", path,
                                         " is missing: rerun with --overwrite to start again"));
    }
    auto spill = std::unique_ptr<TileSpill>(new TileSpill());
    spill->path_ = path;
    spill->fd_ = fd;
    spill->x0_ = x0;
    spill->y0_ = y0;
    spill->x1_ = x1;
    spill->y1_ = y1;
    spill->samples_bytes_ = samples_bytes;
    spill->alpha_bytes_ = alpha_bytes;
    return spill;
  }
  ~TileSpill() {
    if (fd_ >= 0) close(fd_);
  }

  absl::Status Write(uint32_t x, uint32_t y, const TilePixels& tile) {
    const off_t offset = Slot(x, y);
    if (!WriteAll(tile.samples.data(), samples_bytes_, offset) ||
        !WriteAll(tile.alpha.data(), alpha_bytes_, offset + samples_bytes_)) {
      return absl::ResourceExhaustedError(absl::StrCat("writing ", path_,
                                                       " failed: ", std::strerror(errno),
                                                       " (disk full?): free space and --resume"));
    }
    return absl::OkStatus();
  }

  // Read fills `tile` (already shaped) with tile (x, y); outside the rectangle: transparent.
  absl::Status Read(int64_t x, int64_t y, TilePixels* tile) const {
    if (x < x0_ || y < y0_ || x > x1_ || y > y1_) {
      std::fill(tile->samples.begin(), tile->samples.end(), 0);
      std::fill(tile->alpha.begin(), tile->alpha.end(), 0);
      return absl::OkStatus();
    }
    const off_t offset = Slot(static_cast<uint32_t>(x), static_cast<uint32_t>(y));
    if (!ReadAll(tile->samples.data(), samples_bytes_, offset) ||
        !ReadAll(tile->alpha.data(), alpha_bytes_, offset + samples_bytes_)) {
      return absl::DataLossError(
          absl::StrCat("reading ", path_, " failed: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }

  absl::Status Sync() {
    if (fdatasync(fd_) != 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("syncing ", path_, " failed: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }

 private:
  TileSpill() = default;
  off_t Slot(uint32_t x, uint32_t y) const {
    const uint64_t columns = uint64_t{x1_} - x0_ + 1;
    return static_cast<off_t>(((uint64_t{y} - y0_) * columns + (x - x0_)) *
                              (samples_bytes_ + alpha_bytes_));
  }
  bool WriteAll(const uint8_t* data, size_t n, off_t offset) {
    while (n > 0) {
      const ssize_t done = pwrite(fd_, data, n, offset);
      if (done < 0 && errno == EINTR) continue;
      if (done <= 0) return false;
      data += done;
      n -= static_cast<size_t>(done);
      offset += done;
    }
    return true;
  }
  bool ReadAll(uint8_t* data, size_t n, off_t offset) const {
    while (n > 0) {
      const ssize_t done = pread(fd_, data, n, offset);
      if (done < 0 && errno == EINTR) continue;
      if (done < 0) return false;
      if (done == 0) {  // Past the end: a slot never written.
        std::memset(data, 0, n);
        return true;
      }
      data += done;
      n -= static_cast<size_t>(done);
      offset += done;
    }
    return true;
  }

  std::string path_;
  int fd_ = -1;
  uint32_t x0_ = 0, y0_ = 0, x1_ = 0, y1_ = 0;
  size_t samples_bytes_ = 0, alpha_bytes_ = 0;
};

// Committer appends tiles in order, forms the levels above the unit zoom, deduplicates,
// keeps per-level statistics and writes commit points.
class Committer {
 public:
  Committer(const Plan& plan, storage::Writer* writer, std::vector<uint32_t> sections)
      : plan_(plan), writer_(writer), sections_(std::move(sections)) {
    const int levels = plan.max_zoom + 1;
    shared_.resize(levels);
    pending_.resize(levels);
    for (int z = plan.min_zoom; z <= plan.max_zoom; ++z) {
      Level* level = metadata_levels_.Add();
      level->set_zoom(z);
      level->set_section(sections_[z]);
    }
  }

  absl::Status AppendUnit(uint64_t unit_key, UnitResult* result) {
    for (const EncodedTile& tile : result->tiles) {
      absl::Status s = AppendTile(
          tile.zoom, tile.key, absl::string_view(result->arena).substr(tile.offset, tile.length));
      if (!s.ok()) return s;
    }
    if (result->root == nullptr) return absl::OkStatus();
    if (spill_ != nullptr) {
      uint32_t x, y;
      geo::MortonDecode(unit_key, &x, &y);
      return spill_->Write(x, y, *result->root);
    }
    return AddAbove(plan_.unit_zoom, unit_key, std::move(result->root));
  }

  // SetSpill makes the units' raw root tiles go to `spill` (kernel overviews: the levels
  // above the units are formed by Finish from it, with their neighbours).
  void SetSpill(std::unique_ptr<TileSpill> spill) { spill_ = std::move(spill); }
  TileSpill* spill() const { return spill_.get(); }

  // Finish forms the levels above the units: from the pending tiles (2x2-local overviews) or
  // level by level from the spilled tiles and their neighbours (kernel overviews). Nothing is
  // committed meanwhile, so a killed build redoes this pass on --resume.
  absl::Status Finish(const std::string& output) {
    if (spill_ != nullptr) return FinishFromSpill(output);
    for (int z = plan_.unit_zoom - 1; z >= plan_.min_zoom; --z) {
      if (pending_[z].active) {
        absl::Status s = Flush(z);
        if (!s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

  void FillLevels(PyramidMetadata* metadata) const {
    *metadata->mutable_levels() = metadata_levels_;
  }
  uint64_t tiles_written() const { return tiles_written_; }
  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t unique_tiles() const {
    uint64_t n = 0;
    for (const Level& level : metadata_levels_) n += level.unique_tile_count();
    return n;
  }

  void SaveState(internal::BuildState* state, internal::PendingTiles* pending) const {
    FillLevels(state->mutable_metadata());
    state->set_tiles_written(tiles_written_);
    pending->clear_tiles();
    for (int z = 0; z < static_cast<int>(pending_.size()); ++z) {
      const Pending& p = pending_[z];
      if (!p.active) continue;
      for (int c = 0; c < 4; ++c) {
        if (p.children[c] == nullptr) continue;
        internal::PendingTile* tile = pending->add_tiles();
        tile->set_zoom(z + 1);
        tile->set_key(4 * p.key + c);
        tile->set_samples(Compress(p.children[c]->samples));
        tile->set_alpha(Compress(p.children[c]->alpha));
      }
    }
  }

  // SetShared installs the small tiles already committed (LoadSharedTiles), so a resumed
  // build shares them exactly as a clean build would.
  void SetShared(std::vector<SharedTiles> shared) {
    if (!shared.empty()) shared_ = std::move(shared);
  }

  absl::Status RestoreState(const internal::BuildState& state,
                            const internal::PendingTiles& pending) {
    metadata_levels_ = state.metadata().levels();
    if (metadata_levels_.size() != plan_.max_zoom - plan_.min_zoom + 1) {
      return absl::FailedPreconditionError("the partial build's level list does not match");
    }
    tiles_written_ = state.tiles_written();
    for (const internal::PendingTile& tile : pending.tiles()) {
      auto pixels = std::make_unique<TilePixels>(plan_.source->pixel_type(), plan_.tms->tile_size(),
                                                 static_cast<int>(plan_.source->bands().size()));
      if (tile.zoom() == 0 || static_cast<int>(tile.zoom()) > plan_.unit_zoom ||
          !Decompress(tile.samples(), &pixels->samples) ||
          !Decompress(tile.alpha(), &pixels->alpha)) {
        return absl::DataLossError("the partial build's pending overview tiles are corrupt");
      }
      Pending& p = pending_[tile.zoom() - 1];
      p.active = true;
      p.key = tile.key() >> 2;
      p.children[tile.key() & 3] = std::move(pixels);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status FinishFromSpill(const std::string& output) {
    const int size = plan_.tms->tile_size();
    const codec::PixelType type = plan_.source->pixel_type();
    const int bands = static_cast<int>(plan_.source->bands().size());
    const size_t pixel_bytes = bands * codec::BytesPerSample(type);
    const int r = plan_.kernel_radius;
    const int side = 2 * size + 4 * r;
    std::vector<uint8_t> block_samples(static_cast<size_t>(side) * side * pixel_bytes);
    std::vector<uint8_t> block_alpha(static_cast<size_t>(side) * side);
    std::vector<double> scratch;
    TilePixels child(type, size, bands);
    TilePixels parent(type, size, bands);
    std::unique_ptr<TileSpill> below = std::move(spill_);
    for (int z = plan_.unit_zoom - 1; z >= plan_.min_zoom; --z) {
      const int shift = plan_.unit_zoom - z;
      const uint32_t x0 = plan_.unit_min_x >> shift, y0 = plan_.unit_min_y >> shift;
      const uint32_t x1 = plan_.unit_max_x >> shift, y1 = plan_.unit_max_y >> shift;
      std::unique_ptr<TileSpill> level;
      if (z > plan_.min_zoom) {
        absl::StatusOr<std::unique_ptr<TileSpill>> opened =
            TileSpill::Open(SpillFileName(output, z), /*truncate=*/true, x0, y0, x1, y1,
                            parent.samples.size(), parent.alpha.size());
        if (!opened.ok()) return opened.status();
        level = std::move(*opened);
      }
      std::vector<geo::TileRect> rects;
      for (const geo::TileRect& r : plan_.unit_rects) {
        rects.push_back(
            geo::TileRect{r.min_x >> shift, r.min_y >> shift, r.max_x >> shift, r.max_y >> shift});
      }
      internal::UnitWalker tiles(std::move(rects));
      uint64_t key;
      while (tiles.Next(&key)) {
        uint32_t x, y;
        geo::MortonDecode(key, &x, &y);
        // The finer block: children (2x .. 2x + 1) plus 2r pixels of their neighbours.
        bool any = false;
        for (int ty = -1; ty <= 2; ++ty) {
          for (int tx = -1; tx <= 2; ++tx) {
            const int64_t cx = int64_t{2} * x + tx, cy = int64_t{2} * y + ty;
            absl::Status s = below->Read(cx, cy, &child);
            if (!s.ok()) return s;
            // Child pixel (px, py) lands at block (tx * size + px + 2r, ty * size + py + 2r).
            const int ox = tx * size + 2 * r, oy = ty * size + 2 * r;
            const int px0 = std::max(0, -ox), px1 = std::min(size, side - ox);
            const int py0 = std::max(0, -oy), py1 = std::min(size, side - oy);
            if (px0 >= px1 || py0 >= py1) continue;
            for (int py = py0; py < py1; ++py) {
              const size_t b = static_cast<size_t>(oy + py) * side + ox + px0;
              const size_t c = static_cast<size_t>(py) * size + px0;
              std::memcpy(block_samples.data() + b * pixel_bytes,
                          child.samples.data() + c * pixel_bytes, (px1 - px0) * pixel_bytes);
              std::memcpy(block_alpha.data() + b, child.alpha.data() + c, px1 - px0);
              if (tx >= 0 && tx <= 1 && ty >= 0 && ty <= 1 && !any) {
                any = std::any_of(child.alpha.data() + c, child.alpha.data() + c + (px1 - px0),
                                  [](uint8_t a) { return a != 0; });
              }
            }
          }
        }
        if (!any) continue;
        internal::DownsampleKernel2x(type, bands, plan_.overview_resampling, plan_.binary_alpha,
                                     size, block_samples.data(), block_alpha.data(),
                                     parent.samples.data(), parent.alpha.data(), &scratch);
        if (parent.Empty()) continue;
        absl::Status s = internal::EncodeTile(parent, plan_.encoding, &scratch_, &encoded_);
        if (!s.ok()) return s;
        s = AppendTile(z, key, encoded_);
        if (!s.ok()) return s;
        if (level != nullptr) {
          s = level->Write(x, y, parent);
          if (!s.ok()) return s;
        }
      }
      below = std::move(level);
    }
    return absl::OkStatus();
  }

  struct Pending {
    bool active = false;
    uint64_t key = 0;  // Parent key at this level.
    std::unique_ptr<TilePixels> children[4];
  };

  absl::Status AppendTile(int zoom, uint64_t key, absl::string_view bytes) {
    const uint32_t section = sections_[zoom];
    Level& level = metadata_levels_[zoom - plan_.min_zoom];
    auto& shared = shared_[zoom];
    bool stored_shared = false;
    internal::TileDigest digest;
    if (bytes.size() <= kMaxSharedTileBytes) {
      digest = internal::DigestTile(bytes);
      auto it = shared.find(digest);
      if (it != shared.end()) {
        absl::Status s = writer_->AppendShared(section, key, it->second);
        if (!s.ok()) return WriteFailed(s, true);
        stored_shared = true;
      }
    }
    if (!stored_shared) {
      absl::StatusOr<storage::ValueRef> ref = writer_->Append(section, key, bytes);
      if (!ref.ok()) return WriteFailed(ref.status(), true);
      if (bytes.size() <= kMaxSharedTileBytes && shared.size() < kMaxSharedTilesPerLevel) {
        shared.emplace(digest, *ref);
      }
      level.set_unique_tile_count(level.unique_tile_count() + 1);
      level.set_bytes(level.bytes() + bytes.size());
      bytes_written_ += bytes.size();
    }
    uint32_t x, y;
    geo::MortonDecode(key, &x, &y);
    if (level.tile_count() == 0) {
      level.set_min_x(x);
      level.set_min_y(y);
      level.set_max_x(x);
      level.set_max_y(y);
    } else {
      level.set_min_x(std::min(level.min_x(), x));
      level.set_min_y(std::min(level.min_y(), y));
      level.set_max_x(std::max(level.max_x(), x));
      level.set_max_y(std::max(level.max_y(), y));
    }
    level.set_tile_count(level.tile_count() + 1);
    ++tiles_written_;
    return absl::OkStatus();
  }

  // AddAbove hands the raw tile (zoom, key) to its parent's pending slot, forming pending
  // parents of earlier keys first.
  absl::Status AddAbove(int zoom, uint64_t key, std::unique_ptr<TilePixels> tile) {
    const int parent_zoom = zoom - 1;
    if (parent_zoom < plan_.min_zoom) return absl::OkStatus();
    Pending& p = pending_[parent_zoom];
    if (p.active && p.key != (key >> 2)) {
      absl::Status s = Flush(parent_zoom);
      if (!s.ok()) return s;
    }
    p.active = true;
    p.key = key >> 2;
    p.children[key & 3] = std::move(tile);
    return absl::OkStatus();
  }

  absl::Status Flush(int zoom) {
    Pending& p = pending_[zoom];
    const TilePixels* children[4];
    for (int c = 0; c < 4; ++c) children[c] = p.children[c].get();
    auto parent = std::make_unique<TilePixels>(plan_.source->pixel_type(), plan_.tms->tile_size(),
                                               static_cast<int>(plan_.source->bands().size()));
    internal::Downsample2x(children, plan_.overview_resampling, plan_.binary_alpha, parent.get());
    for (auto& child : p.children) child.reset();
    p.active = false;
    if (parent->Empty()) return absl::OkStatus();
    absl::Status s = internal::EncodeTile(*parent, plan_.encoding, &scratch_, &encoded_);
    if (!s.ok()) return s;
    s = AppendTile(zoom, p.key, encoded_);
    if (!s.ok()) return s;
    return AddAbove(zoom, p.key, std::move(parent));
  }

  const Plan& plan_;
  storage::Writer* writer_;
  std::vector<uint32_t> sections_;   // By zoom.
  std::vector<SharedTiles> shared_;  // By zoom.
  std::vector<Pending> pending_;     // By parent zoom.
  google::protobuf::RepeatedPtrField<Level> metadata_levels_;
  uint64_t tiles_written_ = 0;
  uint64_t bytes_written_ = 0;
  std::vector<uint8_t> scratch_;
  std::string encoded_;
  std::unique_ptr<TileSpill> spill_;  // Kernel overviews: the units' root tiles.
};

// PendingFileName is the side file holding the pending overview tiles of a commit point.
std::string PendingFileName(const std::string& output, uint64_t units_done) {
  return absl::StrCat(output, ".resume-", units_done);
}

// WritePendingFile writes `bytes` durably (temporary file, fsync, rename).
absl::Status WritePendingFile(const std::string& path, const std::string& bytes) {
  const std::string temporary = path + ".tmp";
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot create ", temporary, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      close(fd);
      unlink(temporary.c_str());
      return absl::ResourceExhaustedError(absl::StrCat("writing ", temporary,
                                                       " failed: ", std::strerror(error),
                                                       " (disk full?): free space and --resume"));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    unlink(temporary.c_str());
    return absl::ResourceExhaustedError(
        absl::StrCat("syncing ", path, " failed: ", std::strerror(error)));
  }
  return absl::OkStatus();
}

// RemovePendingFiles deletes every "<output>.resume-*" and "<output>.spill-*" side file.
void RemovePendingFiles(const std::string& output) {
  const size_t slash = output.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : output.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? output : output.substr(slash + 1);
  const std::string prefix = absl::StrCat(base, ".resume-");
  const std::string spill_prefix = absl::StrCat(base, ".spill-");
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return;
  while (struct dirent* entry = readdir(handle)) {
    const absl::string_view name(entry->d_name);
    if (name.substr(0, prefix.size()) == prefix ||
        name.substr(0, spill_prefix.size()) == spill_prefix) {
      unlink(absl::StrCat(dir, slash == std::string::npos ? "/" : "", entry->d_name).c_str());
    }
  }
  closedir(handle);
}

// BeingWritten is the error for an output whose lock another build holds.
absl::Status BeingWritten(const std::string& output) {
  return absl::UnavailableError(
      absl::StrCat("output ", output,
                   " is being written by another build (its lock is held): wait for it to "
                   "finish, or choose another --output"));
}

// DeterministicBytes serializes `message` with map entries in key order, so equal metadata
// (a resumed build's and a clean one's) are equal bytes.
std::string DeterministicBytes(const google::protobuf::MessageLite& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

// GdalCacheBudget is the GDAL block cache a build needs: every worker reads its unit's
// source window once (its own dataset handle, so its own cached blocks), and the next unit
// in Morton order is a neighbour that shares blocks with it only along their common edge.
// A tiled source therefore needs, per worker, the window's last block row and block column
// (what its right and lower neighbours read again); a strip-organised TIFF, whose blocks are
// whole rows, needs the whole window (the neighbour on the right reads the same strips). At
// least 8 MiB, at most GDAL's default (5% of RAM). Without it the cache fills to GDAL's
// default and peak memory grows with the input; a smaller cache than this re-reads edge
// blocks (a cost only for compressed sources).
int64_t GdalCacheBudget(const Plan& plan, int threads) {
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

// Fields that must match for --resume to continue a build.
std::string ResumeFingerprint(PyramidMetadata metadata) {
  metadata.clear_levels();
  metadata.clear_created_utc();
  metadata.clear_creation_options();
  metadata.clear_tool_version();
  return DeterministicBytes(metadata);
}

}  // namespace

absl::StatusOr<BuildResult> BuildPyramid(const BuildOptions& options) {
  const absl::Time start = absl::Now();
  Plan plan;
  absl::Status status = ResolvePlan(options, &plan);
  if (!status.ok()) return status;

  storage::WriterOptions writer_options;
  writer_options.overwrite = options.overwrite;
  writer_options.force_fallback = options.force_fallback;
  std::unique_ptr<storage::Writer> writer;
  internal::BuildState state;
  uint64_t first_unit = 0;
  bool resuming = false;
  std::vector<SharedTiles> shared;
  internal::PendingTiles pending;
  if (options.resume && access(options.output.c_str(), F_OK) == 0) {
    // The lock first: while another build holds it, nothing of its state may be read or
    // touched.
    absl::StatusOr<std::unique_ptr<storage::Writer>> reopened =
        storage::Writer::OpenForAppend(options.output, writer_options);
    if (!reopened.ok()) {
      if (absl::IsUnavailable(reopened.status())) return BeingWritten(options.output);
      if (absl::IsFailedPrecondition(reopened.status())) {
        return absl::FailedPreconditionError(
            absl::StrCat("--resume: ", options.output,
                         " is already a finished pyramid: nothing to resume (use --overwrite "
                         "to rebuild)"));
      }
      return absl::FailedPreconditionError(
          absl::StrCat("--resume: ", options.output, " cannot be read (",
                       reopened.status().message(), "): rerun with --overwrite to start again"));
    }
    writer = std::move(*reopened);
    {
      storage::ReaderOptions reader_options;
      reader_options.allow_being_written = true;  // Ours: we hold its lock.
      absl::StatusOr<std::unique_ptr<storage::Reader>> existing =
          storage::Reader::Open(options.output, reader_options);
      if (!existing.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat("--resume: ", options.output, " cannot be read (",
                         existing.status().message(), "): rerun with --overwrite to start again"));
      }
      if ((*existing)->user_metadata_type() != kBuildStateType ||
          !state.ParseFromString(std::string((*existing)->user_metadata()))) {
        return absl::FailedPreconditionError(
            absl::StrCat("--resume: ", options.output,
                         " has no commit point of a pyramid build yet: rerun with --overwrite"));
      }
      shared = LoadSharedTiles(plan, **existing);
    }
    const std::string pending_path = PendingFileName(options.output, state.units_done());
    std::string pending_bytes;
    if (state.pending_bytes() > 0) {
      FILE* file = std::fopen(pending_path.c_str(), "rb");
      if (file != nullptr) {
        pending_bytes.resize(state.pending_bytes());
        pending_bytes.resize(std::fread(pending_bytes.data(), 1, pending_bytes.size(), file));
        std::fclose(file);
      }
    }
    if (pending_bytes.size() != state.pending_bytes() ||
        static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(pending_bytes.data()),
                                    static_cast<uInt>(pending_bytes.size()))) !=
            state.pending_crc32() ||
        !pending.ParseFromString(pending_bytes)) {
      return absl::DataLossError(
          absl::StrCat("--resume: the side file ", pending_path,
                       " of the last commit point is missing or damaged: rerun with --overwrite"));
    }
    if (ResumeFingerprint(state.metadata()) != ResumeFingerprint(plan.metadata) ||
        state.units_total() != plan.unit_count) {
      return absl::FailedPreconditionError(
          absl::StrCat("--resume: ", options.output,
                       " was started with other inputs or options: rerun with the same flags, "
                       "or with --overwrite to start again"));
    }
    first_unit = state.units_done();
    // The first run's metadata stands for the whole build: its creation time, creation
    // options and tool version (the rest is equal, as the fingerprint shows).
    plan.metadata = state.metadata();
    plan.metadata.clear_levels();
    resuming = true;
  } else {
    if (!options.overwrite && access(options.output.c_str(), F_OK) == 0) {
      return absl::AlreadyExistsError(
          absl::StrCat("output ", options.output,
                       " already exists: use --overwrite to replace it (or --resume to "
                       "continue an interrupted build)"));
    }
    absl::StatusOr<std::unique_ptr<storage::Writer>> created =
        storage::Writer::Create(options.output, writer_options);
    if (!created.ok()) {
      if (absl::IsUnavailable(created.status())) return BeingWritten(options.output);
      return WriteFailed(created.status(), false);
    }
    writer = std::move(*created);
    // Side files of an earlier build being overwritten; only now that the lock is ours (a
    // running build's would otherwise be deleted under it).
    RemovePendingFiles(options.output);
  }

  std::vector<uint32_t> sections(plan.max_zoom + 1, 0);
  for (int z = plan.min_zoom; z <= plan.max_zoom; ++z) {
    const std::string name = absl::StrCat("z", z);
    std::optional<uint32_t> found = writer->FindSection(name);
    if (found.has_value()) {
      sections[z] = *found;
      continue;
    }
    absl::StatusOr<uint32_t> added = writer->AddSection(name);
    if (!added.ok()) return WriteFailed(added.status(), resuming);
    sections[z] = *added;
  }
  Committer committer(plan, writer.get(), sections);
  if (plan.kernel_radius > 0 && plan.unit_zoom > plan.min_zoom) {
    const size_t pixels = static_cast<size_t>(plan.tms->tile_size()) * plan.tms->tile_size();
    absl::StatusOr<std::unique_ptr<TileSpill>> spill = TileSpill::Open(
        SpillFileName(options.output, plan.unit_zoom), /*truncate=*/!resuming, plan.unit_min_x,
        plan.unit_min_y, plan.unit_max_x, plan.unit_max_y,
        pixels * plan.source->bands().size() * codec::BytesPerSample(plan.source->pixel_type()),
        pixels);
    if (!spill.ok()) return spill.status();
    committer.SetSpill(std::move(*spill));
  }
  if (resuming) {
    status = committer.RestoreState(state, pending);
    if (!status.ok()) return status;
    committer.SetShared(std::move(shared));
  }
  state.set_units_total(plan.unit_count);

  // Workers.
  int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = static_cast<int>(std::max<uint64_t>(1, std::min<uint64_t>(threads, plan.unit_count)));
  std::vector<std::unique_ptr<UnitRenderer>> renderers;
  for (int t = 0; t < threads; ++t) {
    absl::StatusOr<std::unique_ptr<internal::BlockWarper>> warper = internal::BlockWarper::Create(
        *plan.source, plan.target_srs, plan.resampling, options.max_error_pixels);
    if (!warper.ok()) return warper.status();
    if (plan.source->center_longitude().has_value()) {
      double seam_lon = *plan.source->center_longitude() - 180.0;
      while (seam_lon < -180.0) seam_lon += 360.0;
      double seam_x, seam_y;
      plan.tms->LonLatToCrs(seam_lon, 0, &seam_x, &seam_y);
      (*warper)->set_seam_x(seam_x);
    }
    renderers.push_back(std::make_unique<UnitRenderer>(plan, std::move(*warper)));
  }
  // GDAL's block cache for this build, unless the user chose one (GDAL_CACHEMAX).
  std::optional<int64_t> previous_cache;
  if (CPLGetConfigOption("GDAL_CACHEMAX", nullptr) == nullptr) {
    previous_cache = GDALGetCacheMax64();
    GDALSetCacheMax64(GdalCacheBudget(plan, threads));
  }
  auto restore_cache = absl::MakeCleanup([&] {
    if (previous_cache.has_value()) GDALSetCacheMax64(*previous_cache);
  });
  const size_t window = 2 * threads + 1;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t next_unit = first_unit;
  internal::UnitWalker units(plan.unit_rects);
  units.Skip(first_unit);
  uint64_t committed = first_unit;
  bool stop = false;
  std::vector<std::unique_ptr<UnitResult>> ring(window);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (;;) {
        uint64_t index, key = 0;
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] {
            return stop || next_unit >= plan.unit_count || next_unit < committed + window;
          });
          if (stop || next_unit >= plan.unit_count) return;
          index = next_unit++;
          units.Next(&key);
        }
        auto result = std::make_unique<UnitResult>();
        result->key = key;
        renderers[t]->Render(key, result.get());
        std::lock_guard<std::mutex> lock(mu);
        ring[index % window] = std::move(result);
        cv.notify_all();
      }
    });
  }

  BuildProgress progress;
  progress.units_total = plan.unit_count;
  absl::Time last_commit = absl::Now();
  uint64_t previous_commit = resuming ? first_unit : 0;
  auto save_and_commit = [&](uint64_t units_done) -> absl::Status {
    *state.mutable_metadata() = plan.metadata;
    state.set_units_done(units_done);
    committer.SaveState(&state, &pending);
    const std::string bytes = pending.SerializeAsString();
    state.set_pending_bytes(bytes.size());
    state.set_pending_crc32(static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()))));
    // The side files first: a crash before the header commit leaves the old state intact.
    absl::Status s = WritePendingFile(PendingFileName(options.output, units_done), bytes);
    if (!s.ok()) return s;
    if (committer.spill() != nullptr) {
      s = committer.spill()->Sync();
      if (!s.ok()) return s;
    }
    writer->SetUserMetadata(kBuildStateType, DeterministicBytes(state));
    s = writer->Commit();
    if (!s.ok()) return WriteFailed(s, previous_commit > 0);
    if (previous_commit != units_done) {
      unlink(PendingFileName(options.output, previous_commit).c_str());
    }
    previous_commit = units_done;
    return absl::OkStatus();
  };
  for (uint64_t i = first_unit; i < plan.unit_count && status.ok(); ++i) {
    std::unique_ptr<UnitResult> result;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return ring[i % window] != nullptr; });
      result = std::move(ring[i % window]);
      committed = i + 1;
      cv.notify_all();
    }
    status = result->status;
    if (status.ok()) status = committer.AppendUnit(result->key, result.get());
    if (!status.ok()) break;
    const bool forced = options.commit_after_units != 0 && i + 1 == options.commit_after_units;
    if (forced || absl::Now() - last_commit >= options.commit_interval) {
      status = save_and_commit(i + 1);
      last_commit = absl::Now();
      if (!status.ok()) break;
    }
    progress.units_done = i + 1;
    progress.tiles_written = committer.tiles_written();
    progress.bytes_written = committer.bytes_written();
    progress.elapsed = absl::Now() - start;
    if (options.progress) options.progress(progress);
    if (i + 1 < plan.unit_count && options.cancelled && options.cancelled()) {
      status = save_and_commit(i + 1);
      if (status.ok()) {
        status = absl::CancelledError(
            absl::StrCat(options.output, ": build cancelled after ", i + 1, " of ", plan.unit_count,
                         " blocks, at a commit point: build again with resume to continue"));
      }
      break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_all();
  }
  for (std::thread& worker : workers) worker.join();
  if (!status.ok()) return status;

  status = committer.Finish(options.output);
  if (!status.ok()) return status;
  BuildResult result;
  result.metadata = plan.metadata;
  committer.FillLevels(&result.metadata);
  writer->SetUserMetadata(kMetadataType, DeterministicBytes(result.metadata));
  status = writer->Seal();
  if (!status.ok()) return WriteFailed(status, previous_commit > 0);
  RemovePendingFiles(options.output);
  result.tiles_written = committer.tiles_written();
  result.unique_tiles = committer.unique_tiles();
  result.units = plan.unit_count;
  progress.finished = true;
  progress.units_done = plan.unit_count;
  progress.tiles_written = result.tiles_written;
  progress.bytes_written = committer.bytes_written();
  progress.elapsed = absl::Now() - start;
  if (options.progress) options.progress(progress);
  return result;
}

}  // namespace pyramid
}  // namespace flatpyramid
