#include "geo/crs.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "geo/gdal_errors.h"
#include "ogr_core.h"

namespace flatpyramid {
namespace geo {
namespace {

std::string DatasetName(GDALDataset& source) {
  const char* name = source.GetDescription();
  return (name != nullptr && name[0] != '\0') ? name : "<unnamed dataset>";
}

// SourceEnvelope is the box of the source's pixel edges in its own CRS.
absl::StatusOr<Bounds> SourceEnvelope(GDALDataset& source) {
  double gt[6];
  if (source.GetGeoTransform(gt) != CE_None) {
    return absl::FailedPreconditionError(absl::StrCat(
        DatasetName(source),
        ": the raster has no geotransform (GCP or RPC georeferencing is not supported); "
        "warp it first, e.g. gdalwarp -t_srs EPSG:4326 in.tif out.tif"));
  }
  const double width = source.GetRasterXSize();
  const double height = source.GetRasterYSize();
  Bounds b{HUGE_VAL, HUGE_VAL, -HUGE_VAL, -HUGE_VAL};
  for (double col : {0.0, width}) {
    for (double row : {0.0, height}) {
      const double x = gt[0] + col * gt[1] + row * gt[2];
      const double y = gt[3] + col * gt[4] + row * gt[5];
      b.min_x = std::min(b.min_x, x);
      b.max_x = std::max(b.max_x, x);
      b.min_y = std::min(b.min_y, y);
      b.max_y = std::max(b.max_y, y);
    }
  }
  if (!std::isfinite(b.min_x) || !std::isfinite(b.max_x) || !std::isfinite(b.min_y) ||
      !std::isfinite(b.max_y)) {
    return absl::FailedPreconditionError(
        absl::StrCat(DatasetName(source), ": the geotransform gives non-finite corners"));
  }
  return b;
}

OGRSpatialReference Wgs84LonLat() {
  OGRSpatialReference srs;
  srs.importFromEPSG(4326);
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

// WrapLongitudes puts a longitude interval into [-180, 180], using min > max for one that
// crosses the antimeridian and [-180, 180] for one spanning the whole circle.
void WrapLongitudes(double* min_lon, double* max_lon) {
  if (*min_lon > *max_lon) {  // Already the crossing convention.
    if (*max_lon + 360.0 - *min_lon >= 360.0) {
      *min_lon = -180.0;
      *max_lon = 180.0;
    }
    return;
  }
  if (*max_lon - *min_lon >= 360.0) {
    *min_lon = -180.0;
    *max_lon = 180.0;
    return;
  }
  // Shift by whole turns so that min_lon lies in [-180, 180).
  const double turns = std::floor((*min_lon + 180.0) / 360.0);
  *min_lon -= turns * 360.0;
  *max_lon -= turns * 360.0;
  if (*max_lon > 180.0) *max_lon -= 360.0;  // Crosses the antimeridian.
}

}  // namespace

std::optional<LongitudeWrap> LongitudeWrap::ForCenterLongitude(const double geotransform[6],
                                                               double center_longitude) {
  if (geotransform[2] != 0.0 || !(geotransform[1] != 0.0) || !std::isfinite(geotransform[1])) {
    return std::nullopt;
  }
  const double west = (center_longitude - 180.0 - geotransform[0]) / geotransform[1];
  const double east = (center_longitude + 180.0 - geotransform[0]) / geotransform[1];
  LongitudeWrap wrap;
  wrap.first_column = std::min(west, east);
  wrap.period_columns = std::fabs(east - west);
  return wrap;
}

int LongitudeWrap::Transform(void* argument, int dst_to_src, int count, double* x, double* y,
                             double* z, int* success) {
  auto* wrap = static_cast<LongitudeWrap*>(argument);
  const int result = wrap->inner(wrap->inner_argument, dst_to_src, count, x, y, z, success);
  if (!dst_to_src) return result;
  const double first = wrap->first_column;
  const double period = wrap->period_columns;
  for (int i = 0; i < count; ++i) {
    if (!success[i] || (x[i] >= first && x[i] < first + period)) continue;
    x[i] -= std::floor((x[i] - first) / period) * period;
  }
  return result;
}

absl::StatusOr<OGRSpatialReference> ParseSrs(absl::string_view text) {
  const std::string input(text);
  if (input.empty()) {
    return absl::InvalidArgumentError(
        "empty SRS: give e.g. EPSG:4326, a WKT string or a PROJ string");
  }
  QuietGdalErrors quiet;
  OGRSpatialReference srs;
  if (srs.SetFromUserInput(input.c_str(),
                           OGRSpatialReference::SET_FROM_USER_INPUT_LIMITATIONS_get()) !=
      OGRERR_NONE) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot parse SRS '", text, "': ", QuietGdalErrors::LastMessage("unknown"),
                     "; give e.g. EPSG:4326, a WKT string or a PROJ string"));
  }
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

absl::StatusOr<OGRSpatialReference> TileMatrixSetSrs(const TileMatrixSet& tms) {
  QuietGdalErrors quiet;
  OGRSpatialReference srs;
  const int epsg = tms.is_geographic() ? 4326 : 3857;
  if (srs.importFromEPSG(epsg) != OGRERR_NONE) {
    return absl::InternalError(absl::StrCat(tms.id(), ": PROJ does not know EPSG:", epsg, ": ",
                                            QuietGdalErrors::LastMessage("check proj.db"),
                                            " (is the proj-data package installed?)"));
  }
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

absl::StatusOr<Bounds> TransformBounds(const Bounds& bounds, absl::string_view from_srs,
                                       absl::string_view to_srs) {
  absl::StatusOr<OGRSpatialReference> from = ParseSrs(from_srs);
  if (!from.ok()) return from.status();
  absl::StatusOr<OGRSpatialReference> to = ParseSrs(to_srs);
  if (!to.ok()) return to.status();
  QuietGdalErrors quiet;
  std::unique_ptr<OGRCoordinateTransformation> transform(
      OGRCreateCoordinateTransformation(&*from, &*to));
  Bounds out;
  if (transform == nullptr ||
      !transform->TransformBounds(bounds.min_x, bounds.min_y, bounds.max_x, bounds.max_y,
                                  &out.min_x, &out.min_y, &out.max_x, &out.max_y,
                                  kFootprintDensifyPoints)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot transform ", bounds.min_x, ",", bounds.min_y, ",", bounds.max_x, ",",
                     bounds.max_y, " from ", from_srs, " to ", to_srs, ": ",
                     QuietGdalErrors::LastMessage("PROJ found no transformation")));
  }
  return out;
}

absl::StatusOr<OGRSpatialReference> SourceSrs(GDALDataset& source,
                                              const OGRSpatialReference* source_srs_override) {
  OGRSpatialReference srs;
  if (source_srs_override != nullptr) {
    srs = *source_srs_override;
  } else {
    const OGRSpatialReference* own = source.GetSpatialRef();
    if (own == nullptr || own->IsEmpty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          DatasetName(source), ": the raster has no coordinate reference system; give one in ",
          kSourceSrsOverride, " (for example EPSG:4326 for longitude/latitude grids)"));
    }
    srs = *own;
  }
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

absl::StatusOr<Bounds> SourceFootprintLonLat(GDALDataset& source,
                                             const OGRSpatialReference* source_srs_override) {
  absl::StatusOr<OGRSpatialReference> srs = SourceSrs(source, source_srs_override);
  if (!srs.ok()) return srs.status();
  absl::StatusOr<Bounds> envelope = SourceEnvelope(source);
  if (!envelope.ok()) return envelope.status();
  Bounds in = *envelope;
  if (srs->IsGeographic()) {
    // A 0..360 grid (or any past +-180) is wrapped before PROJ sees it; a grid spanning
    // the whole circle is the whole circle.
    WrapLongitudes(&in.min_x, &in.max_x);
    in.min_y = std::max(in.min_y, -90.0);
    in.max_y = std::min(in.max_y, 90.0);
  }

  QuietGdalErrors quiet;
  const OGRSpatialReference lonlat = Wgs84LonLat();
  std::unique_ptr<OGRCoordinateTransformation> transform(
      OGRCreateCoordinateTransformation(&*srs, &lonlat));
  if (transform == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(DatasetName(source), ": cannot transform from the source CRS to WGS84: ",
                     QuietGdalErrors::LastMessage("PROJ found no transformation"),
                     "; check the CRS or give another in ", kSourceSrsOverride));
  }
  Bounds out;
  auto transform_bounds = [&](const Bounds& b, Bounds* result) {
    return transform->TransformBounds(b.min_x, b.min_y, b.max_x, b.max_y, &result->min_x,
                                      &result->min_y, &result->max_x, &result->max_y,
                                      kFootprintDensifyPoints) != 0;
  };
  bool ok;
  if (in.min_x > in.max_x) {
    // A geographic source across the antimeridian: transform both halves, then join.
    Bounds west, east;
    ok = transform_bounds(Bounds{in.min_x, in.min_y, 180.0, in.max_y}, &west) &&
         transform_bounds(Bounds{-180.0, in.min_y, in.max_x, in.max_y}, &east);
    out = Bounds{west.min_x, std::min(west.min_y, east.min_y), east.max_x,
                 std::max(west.max_y, east.max_y)};
  } else {
    ok = transform_bounds(in, &out);
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        DatasetName(source), ": cannot transform the raster's edges to WGS84: ",
        QuietGdalErrors::LastMessage("every point failed"),
        "; is the CRS right for this raster? (override it with ", kSourceSrsOverride, ")"));
  }
  WrapLongitudes(&out.min_x, &out.max_x);
  out.min_y = std::max(out.min_y, -90.0);
  out.max_y = std::min(out.max_y, 90.0);
  return out;
}

absl::StatusOr<std::vector<Bounds>> SourceFootprintParts(
    GDALDataset& source, const TileMatrixSet& tms, const OGRSpatialReference* source_srs_override) {
  absl::StatusOr<Bounds> lonlat = SourceFootprintLonLat(source, source_srs_override);
  if (!lonlat.ok()) return lonlat.status();
  const Bounds b = *lonlat;
  if (!tms.is_geographic() &&
      (b.min_y >= kWebMercatorMaxLatitude || b.max_y <= -kWebMercatorMaxLatitude)) {
    return absl::OutOfRangeError(absl::StrCat(
        DatasetName(source), ": the raster lies entirely beyond WebMercator's latitude limit (",
        b.min_y, " to ", b.max_y, " degrees, limit +-85.0511287798); use WorldCRS84Quad"));
  }
  // Across the antimeridian: the part up to 180 degrees, then the part from -180.
  const std::vector<Bounds> lonlat_parts =
      b.min_x > b.max_x ? std::vector<Bounds>{Bounds{b.min_x, b.min_y, 180.0, b.max_y},
                                              Bounds{-180.0, b.min_y, b.max_x, b.max_y}}
                        : std::vector<Bounds>{b};
  const Bounds extent = tms.extent();
  std::vector<Bounds> parts;
  for (const Bounds& part : lonlat_parts) {
    Bounds out;
    tms.LonLatToCrs(part.min_x, part.min_y, &out.min_x, &out.min_y);
    tms.LonLatToCrs(part.max_x, part.max_y, &out.max_x, &out.max_y);
    out.min_x = std::max(out.min_x, extent.min_x);
    out.min_y = std::max(out.min_y, extent.min_y);
    out.max_x = std::min(out.max_x, extent.max_x);
    out.max_y = std::min(out.max_y, extent.max_y);
    parts.push_back(out);
  }
  return parts;
}

absl::StatusOr<Bounds> SourceFootprint(GDALDataset& source, const TileMatrixSet& tms,
                                       const OGRSpatialReference* source_srs_override) {
  absl::StatusOr<std::vector<Bounds>> parts =
      SourceFootprintParts(source, tms, source_srs_override);
  if (!parts.ok()) return parts.status();
  Bounds hull = parts->front();
  for (const Bounds& part : *parts) {
    hull.min_x = std::min(hull.min_x, part.min_x);
    hull.min_y = std::min(hull.min_y, part.min_y);
    hull.max_x = std::max(hull.max_x, part.max_x);
    hull.max_y = std::max(hull.max_y, part.max_y);
  }
  return hull;
}

TileToSourceTransformer::TileToSourceTransformer(void* gen_img, void* approx,
                                                 std::unique_ptr<LongitudeWrap> wrap)
    : gen_img_(gen_img),
      approx_(approx),
      wrap_(std::move(wrap)),
      function_(approx != nullptr ? GDALApproxTransform : GDALGenImgProjTransform),
      argument_(approx != nullptr ? approx : gen_img) {
  if (wrap_ != nullptr) {
    wrap_->inner = function_;
    wrap_->inner_argument = argument_;
    function_ = LongitudeWrap::Transform;
    argument_ = wrap_.get();
  }
}

TileToSourceTransformer::~TileToSourceTransformer() {
  // The approximating transformer owns and destroys the generic one.
  GDALDestroyTransformer(approx_ != nullptr ? approx_ : gen_img_);
}

absl::StatusOr<std::unique_ptr<TileToSourceTransformer>> TileToSourceTransformer::Create(
    GDALDataset& source, const TileMatrixSet& tms, const TransformerOptions& options) {
  if (!(options.max_error_pixels >= 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_error_pixels must be >= 0 (0 = exact), got ", options.max_error_pixels));
  }
  absl::StatusOr<OGRSpatialReference> source_srs = SourceSrs(source, options.source_srs_override);
  if (!source_srs.ok()) return source_srs.status();
  absl::StatusOr<Bounds> envelope = SourceEnvelope(source);  // Checks the geotransform.
  if (!envelope.ok()) return envelope.status();
  absl::StatusOr<OGRSpatialReference> target_srs = TileMatrixSetSrs(tms);
  if (!target_srs.ok()) return target_srs.status();

  QuietGdalErrors quiet;
  char* source_wkt = nullptr;
  char* target_wkt = nullptr;
  const char* const wkt_options[] = {"FORMAT=WKT2_2018", nullptr};
  source_srs->exportToWkt(&source_wkt, wkt_options);
  target_srs->exportToWkt(&target_wkt, wkt_options);
  // A geographic source with longitudes past +-180 is wrapped by LongitudeWrap, so GDAL
  // must not wrap too (its CENTER_LONG would put a seam inside rows).
  std::unique_ptr<LongitudeWrap> wrap;
  double gt[6];
  source.GetGeoTransform(gt);
  if (source_srs->IsGeographic() && gt[1] > 0.0 && gt[2] == 0.0 &&
      (envelope->min_x < -180.0 || envelope->max_x > 180.0)) {
    // The window starts at the grid's west edge: longitudes already on the grid stay.
    wrap.reset(new LongitudeWrap{nullptr, nullptr, 0.0, 360.0 / gt[1]});
  }
  CPLStringList transformer_options;
  if (wrap != nullptr) transformer_options.SetNameValue("INSERT_CENTER_LONG", "FALSE");
  transformer_options.SetNameValue("SRC_SRS", source_wkt);
  transformer_options.SetNameValue("DST_SRS", target_wkt);
  CPLFree(source_wkt);
  CPLFree(target_wkt);
  void* gen_img = GDALCreateGenImgProjTransformer2(GDALDataset::ToHandle(&source), nullptr,
                                                   transformer_options.List());
  if (gen_img == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(DatasetName(source), ": cannot create a transformer to ", tms.crs(), ": ",
                     QuietGdalErrors::LastMessage("GDAL gave no reason"),
                     "; check the source CRS (override it with ", kSourceSrsOverride, ")"));
  }
  void* approx = nullptr;
  if (options.max_error_pixels > 0.0) {
    approx =
        GDALCreateApproxTransformer(GDALGenImgProjTransform, gen_img, options.max_error_pixels);
    if (approx == nullptr) {
      GDALDestroyTransformer(gen_img);
      return absl::InternalError(absl::StrCat("GDALCreateApproxTransformer failed: ",
                                              QuietGdalErrors::LastMessage("no reason")));
    }
    GDALApproxTransformerOwnsSubtransformer(approx, TRUE);
  }
  return std::unique_ptr<TileToSourceTransformer>(
      new TileToSourceTransformer(gen_img, approx, std::move(wrap)));
}

absl::Status TileToSourceTransformer::SetBlock(const Bounds& bounds, int width, int height) {
  if (width <= 0 || height <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("block size ", width, " x ", height, " must be positive"));
  }
  if (!(bounds.min_x < bounds.max_x) || !(bounds.min_y < bounds.max_y) ||
      !std::isfinite(bounds.min_x) || !std::isfinite(bounds.max_x) ||
      !std::isfinite(bounds.min_y) || !std::isfinite(bounds.max_y)) {
    return absl::InvalidArgumentError(absl::StrCat("block bounds [", bounds.min_x, ", ",
                                                   bounds.min_y, ", ", bounds.max_x, ", ",
                                                   bounds.max_y, "] are empty or not finite"));
  }
  double gt[6] = {bounds.min_x, (bounds.max_x - bounds.min_x) / width,  0.0, bounds.max_y,
                  0.0,          -(bounds.max_y - bounds.min_y) / height};
  GDALSetGenImgProjTransformerDstGeoTransform(gen_img_, gt);
  width_ = width;
  height_ = height;
  return absl::OkStatus();
}

void TileToSourceTransformer::Transform(int count, double* x, double* y, int* success) {
  if (count <= 0) return;
  QuietGdalErrors quiet;
  // GDAL's transformers want a z array; heights stay 0 (no vertical datum work).
  if (z_.size() < static_cast<size_t>(count)) z_.resize(count);
  std::fill(z_.begin(), z_.begin() + count, 0.0);
  function_(argument_, /*bDstToSrc=*/TRUE, count, x, y, z_.data(), success);
}

absl::Status TileToSourceTransformer::TransformRow(int row, double* src_x, double* src_y,
                                                   int* success) {
  if (width_ == 0) {
    return absl::FailedPreconditionError("TransformRow before SetBlock: no block is set");
  }
  if (row < 0 || row >= height_) {
    return absl::InvalidArgumentError(
        absl::StrCat("row ", row, " is outside the block's rows [0, ", height_, ")"));
  }
  const double y = row + 0.5;
  for (int col = 0; col < width_; ++col) {
    src_x[col] = col + 0.5;
    src_y[col] = y;
  }
  Transform(width_, src_x, src_y, success);
  return absl::OkStatus();
}

}  // namespace geo
}  // namespace flatpyramid
