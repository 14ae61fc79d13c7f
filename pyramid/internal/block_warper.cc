#include "pyramid/internal/block_warper.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "gdal_utils.h"
#include "geo/gdal_errors.h"
#include "pyramid/internal/separable_kernel.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

using geo::QuietGdalErrors;

absl::StatusOr<std::unique_ptr<BlockWarper>> BlockWarper::Create(const Source& source,
                                                                 const OGRSpatialReference& target,
                                                                 GDALResampleAlg resampling,
                                                                 double max_error_pixels,
                                                                 bool separable_fast_path) {
  std::unique_ptr<BlockWarper> warper(new BlockWarper());
  warper->source_ = &source;
  warper->resampling_ = resampling;
  warper->mem_driver_ = GDALGetDriverByName("MEM");
  QuietGdalErrors quiet;
  warper->handle_ = GDALOpenEx(source.open_name().c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY,
                               nullptr, nullptr, nullptr);
  if (warper->handle_ == nullptr) {
    return absl::InternalError(
        absl::StrCat("worker cannot reopen the source: ", quiet.LastMessage()));
  }
  absl::StatusOr<std::unique_ptr<SourceTransformer>> transformer =
      SourceTransformer::Create(source, warper->handle_, target, max_error_pixels);
  if (!transformer.ok()) return transformer.status();
  warper->transformer_ = std::move(*transformer);
  if (source.center_longitude().has_value()) {
    double geotransform[6];
    GDALGetGeoTransform(warper->handle_, geotransform);
    warper->source_pixel_x_ = std::fabs(geotransform[1]);
    warper->source_pixel_y_ = std::fabs(geotransform[5]);
    warper->to_lonlat_ = OGRCreateCoordinateTransformation(&target, &source.srs());
  }
  if (separable_fast_path)
    warper->mapping_ = SeparableMapping(source, warper->handle_, target, resampling);
  if (warper->mapping_ != Mapping::kNone) {
    GDALGetGeoTransform(warper->handle_, warper->source_geotransform_);
    warper->source_width_ = GDALGetRasterXSize(warper->handle_);
    warper->source_height_ = GDALGetRasterYSize(warper->handle_);
    warper->mercator_radius_ = target.GetSemiMajor();
  }
  return warper;
}

BlockWarper::Mapping BlockWarper::SeparableMapping(const Source& source, GDALDatasetH handle,
                                                   const OGRSpatialReference& target,
                                                   GDALResampleAlg resampling) {
  if (source.alpha_band() != 0) return Mapping::kNone;
  if (resampling != GRA_NearestNeighbour && resampling != GRA_Bilinear) return Mapping::kNone;
  // Nodata is handled per sample: single-band data only (GDAL's multi-band rules combine bands).
  for (const std::optional<double>& nodata : source.band_nodata()) {
    if (nodata.has_value() && source.bands().size() != 1) return Mapping::kNone;
  }
  double gt[6];
  if (GDALGetGeoTransform(handle, gt) != CE_None || gt[2] != 0 || gt[4] != 0 || !(gt[1] > 0) ||
      !(gt[5] < 0)) {
    return Mapping::kNone;
  }
  for (int band : source.bands()) {
    GDALRasterBandH h = GDALGetRasterBand(handle, band);
    const int flags = GDALGetMaskFlags(h);
    // Masks other than nodata (per-dataset masks, alpha) are GDAL's path.
    if (flags != GMF_ALL_VALID && !(flags == GMF_NODATA && source.nodata().has_value())) {
      return Mapping::kNone;
    }
  }
  const OGRSpatialReference& srs = source.srs();
  if (srs.IsSame(&target)) return Mapping::kIdentity;
  if (!srs.IsGeographic() || !srs.IsSameGeogCS(&target)) return Mapping::kNone;
  if (target.IsGeographic()) return Mapping::kIdentity;
  const char* code = target.GetAuthorityCode(nullptr);
  const char* authority = target.GetAuthorityName(nullptr);
  if (target.IsProjected() && code != nullptr && authority != nullptr &&
      std::strcmp(authority, "EPSG") == 0 && std::strcmp(code, "3857") == 0) {
    return Mapping::kGeographicToWebMercator;
  }
  return Mapping::kNone;
}

BlockWarper::~BlockWarper() {
  if (to_lonlat_ != nullptr) OGRCoordinateTransformation::DestroyCT(to_lonlat_);
  transformer_.reset();  // Before the handle it transforms.
  if (handle_ != nullptr) GDALClose(handle_);
}

std::vector<std::pair<int, int>> BlockWarper::SeamParts(double min_x, double resolution,
                                                        int width) const {
  int split = 0;
  if (seam_x_.has_value() && *seam_x_ > min_x && *seam_x_ < min_x + width * resolution) {
    split = static_cast<int>(std::lround((*seam_x_ - min_x) / resolution));
    split = std::min(std::max(split, 0), width);
  }
  if (split > 0 && split < width) return {{0, split}, {split, width - split}};
  return {{0, width}};
}

absl::Status BlockWarper::Warp(double min_x, double max_y, double resolution, int width, int height,
                               uint8_t* samples, uint8_t* alpha) {
  const int bands = static_cast<int>(source_->bands().size());
  const size_t pixel_bytes =
      static_cast<size_t>(bands) * GDALGetDataTypeSizeBytes(source_->gdal_type());
  std::memset(samples, 0, pixel_bytes * width * height);
  std::memset(alpha, 0, static_cast<size_t>(width) * height);
  if (mapping_ != Mapping::kNone) {
    absl::StatusOr<bool> done =
        WarpSeparable(min_x, max_y, resolution, width, height, samples, alpha);
    if (!done.ok()) return done.status();
    if (*done) return absl::OkStatus();
  }
  QuietGdalErrors quiet;
  GDALDatasetH mem = CreateTargetDataset(width, height, samples, alpha);
  if (mem == nullptr) return absl::InternalError("cannot create a MEM dataset");
  double geotransform[6] = {min_x, resolution, 0, max_y, 0, -resolution};
  GDALSetGeoTransform(mem, geotransform);
  transformer_->SetTargetGeoTransform(geotransform);
  GDALWarpOptions* options = CreateWarpOptions(mem);
  absl::Status status;
  for (const auto& [x0, columns] : SeamParts(min_x, resolution, width)) {
    if (to_lonlat_ != nullptr)
      SetWrappedScale(min_x, max_y, resolution, x0, columns, height, options);
    GDALWarpOperation operation;
    if (operation.Initialize(options) != CE_None) {
      status =
          absl::InternalError(absl::StrCat("cannot set up the GDAL warp: ", quiet.LastMessage()));
      break;
    }
    if (operation.ChunkAndWarpImage(x0, 0, columns, height) != CE_None) {
      status = absl::DataLossError(
          absl::StrFormat("reading the source for block at (%.3f, %.3f) failed: %s", min_x, max_y,
                          quiet.LastMessage()));
      break;
    }
  }
  options->pTransformerArg = nullptr;  // Owned by this warper, not the options.
  GDALDestroyWarpOptions(options);
  GDALClose(mem);
  return status;
}

// CreateTargetDataset is a MEM dataset over the caller's buffers (the selected bands
// interleaved, then alpha), so the warper writes straight into them.
GDALDatasetH BlockWarper::CreateTargetDataset(int width, int height, uint8_t* samples,
                                              uint8_t* alpha) const {
  const int bands = static_cast<int>(source_->bands().size());
  const int bytes = GDALGetDataTypeSizeBytes(source_->gdal_type());
  const size_t pixel_bytes = static_cast<size_t>(bands) * bytes;
  GDALDatasetH mem = GDALCreate(mem_driver_, "", width, height, 0, GDT_Byte, nullptr);
  if (mem == nullptr) return nullptr;
  for (int b = 0; b <= bands; ++b) {
    CPLStringList band_options;
    const bool is_alpha = b == bands;
    band_options.SetNameValue("DATAPOINTER",
                              CPLSPrintf("%p", is_alpha ? static_cast<void*>(alpha)
                                                        : static_cast<void*>(samples + b * bytes)));
    band_options.SetNameValue("PIXELOFFSET",
                              CPLSPrintf("%d", is_alpha ? 1 : static_cast<int>(pixel_bytes)));
    band_options.SetNameValue(
        "LINEOFFSET",
        CPLSPrintf("%lld", static_cast<long long>(is_alpha ? width : pixel_bytes * width)));
    GDALAddBand(mem, is_alpha ? GDT_Byte : source_->gdal_type(), band_options.List());
  }
  return mem;
}

// CreateWarpOptions are gdalwarp's options from this warper's source into `mem`.
GDALWarpOptions* BlockWarper::CreateWarpOptions(GDALDatasetH mem) const {
  const int bands = static_cast<int>(source_->bands().size());
  GDALWarpOptions* options = GDALCreateWarpOptions();
  options->hSrcDS = handle_;
  options->hDstDS = mem;
  options->eResampleAlg = resampling_;
  options->eWorkingDataType = GDT_Unknown;
  options->dfWarpMemoryLimit = 256.0 * 1024 * 1024;
  options->nBandCount = bands;
  options->panSrcBands = static_cast<int*>(CPLMalloc(sizeof(int) * bands));
  options->panDstBands = static_cast<int*>(CPLMalloc(sizeof(int) * bands));
  for (int b = 0; b < bands; ++b) {
    options->panSrcBands[b] = source_->bands()[b];
    options->panDstBands[b] = b + 1;
  }
  options->nSrcAlphaBand = source_->alpha_band();
  options->nDstAlphaBand = bands + 1;
  const std::vector<std::optional<double>>& band_nodata = source_->band_nodata();
  if (std::any_of(band_nodata.begin(), band_nodata.end(),
                  [](const std::optional<double>& v) { return v.has_value(); })) {
    // Each band its own value; a band without one gets gdalwarp's "no nodata" placeholder.
    options->padfSrcNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double) * bands));
    for (int b = 0; b < bands; ++b) {
      options->padfSrcNoDataReal[b] = band_nodata[b].value_or(-1.1e20);
    }
    // gdalwarp's rule for nodata read from the source: a pixel is no data when every band
    // holds its nodata value; otherwise each band's nodata samples are left out on their own.
    options->papszWarpOptions =
        CSLSetNameValue(options->papszWarpOptions, "UNIFIED_SRC_NODATA", "PARTIAL");
  }
  options->pfnTransformer = transformer_->function();
  options->pTransformerArg = transformer_->argument();
  options->papszWarpOptions = CSLSetNameValue(options->papszWarpOptions, "INIT_DEST", "0");
  options->papszWarpOptions = CSLSetNameValue(options->papszWarpOptions, "SKIP_NOSOURCE", "YES");
  return options;
}

// SetWrappedScale gives GDAL the true kernel scale (XSCALE/YSCALE) of columns x0.. of a
// block: GDAL derives it from the source window, which a wrapped source makes as wide as the
// whole grid.
void BlockWarper::SetWrappedScale(double min_x, double max_y, double resolution, int x0,
                                  int columns, int height, GDALWarpOptions* options) const {
  const double left = min_x + x0 * resolution;
  const double right = left + columns * resolution;
  const double top = max_y;
  const double bottom = max_y - height * resolution;
  double xs[4] = {left, right, (left + right) / 2, (left + right) / 2};
  double ys[4] = {(top + bottom) / 2, (top + bottom) / 2, top, bottom};
  if (!to_lonlat_->Transform(4, xs, ys)) return;
  double lon_span = xs[1] - xs[0];
  while (lon_span <= 0) lon_span += 360.0;
  const double lat_span = std::fabs(ys[2] - ys[3]);
  const double xscale = columns / (lon_span / source_pixel_x_);
  const double yscale = height / (lat_span / source_pixel_y_);
  options->papszWarpOptions =
      CSLSetNameValue(options->papszWarpOptions, "XSCALE", CPLSPrintf("%.17g", xscale));
  options->papszWarpOptions =
      CSLSetNameValue(options->papszWarpOptions, "YSCALE", CPLSPrintf("%.17g", yscale));
}

namespace {

// SeparableAxes maps target x to a source column and target y to a source row (continuous,
// 0 = the first pixel's edge), for a source whose mapping is separable.
struct SeparableAxes {
  const double* gt;
  bool mercator;
  double mercator_radius;
  std::optional<double> center;  // A wrapped source: longitudes within 180 degrees of it.

  double Longitude(double x) const { return mercator ? x / mercator_radius * kToDegrees : x; }
  double Column(double x) const {
    double u = Longitude(x);
    if (center.has_value()) {
      while (u < *center - 180.0) u += 360.0;
      while (u >= *center + 180.0) u -= 360.0;
    }
    return (u - gt[0]) / gt[1];
  }
  double Row(double y) const {
    const double v = mercator ? std::atan(std::sinh(y / mercator_radius)) * kToDegrees : y;
    return (v - gt[3]) / gt[5];
  }
  static constexpr double kToDegrees = 180.0 / M_PI;
};

// SeparablePart is one side of a block (the whole block but at a wrapped source's seam) and
// the taps its pixels read.
struct SeparablePart {
  int x0, columns;
  AxisTaps xt, yt;
};

// PlanSeparablePart fills `part`'s taps; false when GDAL's path must render the block (far
// downsampled: wide kernels, a huge window).
bool PlanSeparablePart(const SeparableAxes& axes, double min_x, double max_y, double resolution,
                       int height, bool nearest, int source_width, int source_height,
                       size_t pixel_bytes, int bands, SeparablePart* part) {
  const double left = min_x + part->x0 * resolution;
  const double right = left + part->columns * resolution;
  std::vector<double> columns(part->columns), rows(height);
  for (int i = 0; i < part->columns; ++i) columns[i] = axes.Column(left + (i + 0.5) * resolution);
  for (int j = 0; j < height; ++j) rows[j] = axes.Row(max_y - (j + 0.5) * resolution);
  double xscale, yscale;
  if (axes.center.has_value()) {
    // Warp's GDAL path gives GDAL the true scale (XSCALE/YSCALE) for wrapped sources.
    xscale = part->columns / std::fabs((axes.Longitude(right) - axes.Longitude(left)) / axes.gt[1]);
    yscale = height / std::fabs(axes.Row(max_y - height * resolution) - axes.Row(max_y));
  } else {
    xscale = KernelScale(axes.Column(left), axes.Column(right), part->columns);
    yscale = KernelScale(axes.Row(max_y), axes.Row(max_y - height * resolution), height);
  }
  if (xscale >= 0.95 && yscale >= 0.95) {
    xscale = yscale = 1.0;  // GDAL's 4-sample bilinear.
  } else {
    // GDAL widens the kernel only when downsampling (bXScaleBelow1).
    xscale = std::min(xscale, 1.0);
    yscale = std::min(yscale, 1.0);
  }
  // Far-downsampled blocks need wide kernels (BuildTaps holds up to 64 taps) and would read
  // a huge window at once: GDAL's path chunks them.
  if (!nearest && (xscale < 1.0 / 30 || yscale < 1.0 / 30)) return false;
  BuildTaps(columns, source_width, nearest, xscale, &part->xt);
  BuildTaps(rows, source_height, nearest, yscale, &part->yt);
  if (part->xt.lo > part->xt.hi || part->yt.lo > part->yt.hi) return true;
  constexpr double kMaxBufferBytes = 512.0 * 1024 * 1024;
  const double window_rows = part->yt.hi - part->yt.lo + 1;
  return (part->xt.hi - part->xt.lo + 1) * window_rows * pixel_bytes <= kMaxBufferBytes &&
         window_rows * part->columns * bands * sizeof(double) * 2 <= kMaxBufferBytes;
}

// StripTaps sets `strip` to rows j0..j1 of `yt` (its source range recomputed).
void StripTaps(const AxisTaps& yt, int j0, int j1, AxisTaps* strip) {
  strip->stride = yt.stride;
  strip->first.assign(yt.first.begin() + j0, yt.first.begin() + j1);
  strip->count.assign(yt.count.begin() + j0, yt.count.begin() + j1);
  strip->weights.assign(yt.weights.begin() + static_cast<size_t>(j0) * yt.stride,
                        yt.weights.begin() + static_cast<size_t>(j1) * yt.stride);
  strip->lo = INT_MAX;
  strip->hi = INT_MIN;
  for (int j = 0; j < j1 - j0; ++j) {
    if (strip->count[j] == 0) continue;
    strip->lo = std::min(strip->lo, strip->first[j]);
    strip->hi = std::max(strip->hi, strip->first[j] + strip->count[j] - 1);
  }
}

}  // namespace

absl::StatusOr<bool> BlockWarper::WarpSeparable(double min_x, double max_y, double resolution,
                                                int width, int height, uint8_t* samples,
                                                uint8_t* alpha) {
  const SeparableAxes axes{source_geotransform_, mapping_ == Mapping::kGeographicToWebMercator,
                           mercator_radius_, source_->center_longitude()};
  const int bands = static_cast<int>(source_->bands().size());
  const size_t pixel_bytes =
      static_cast<size_t>(bands) * GDALGetDataTypeSizeBytes(source_->gdal_type());
  // Plan every part before reading, so a part that must go through GDAL leaves the block
  // untouched.
  std::vector<SeparablePart> parts;
  for (const auto& [x0, columns] : SeamParts(min_x, resolution, width)) {
    parts.push_back(SeparablePart{x0, columns, {}, {}});
    if (!PlanSeparablePart(axes, min_x, max_y, resolution, height,
                           resampling_ == GRA_NearestNeighbour, source_width_, source_height_,
                           pixel_bytes, bands, &parts.back())) {
      return false;
    }
  }
  QuietGdalErrors quiet;
  for (const SeparablePart& part : parts) {
    const AxisTaps& xt = part.xt;
    const AxisTaps& yt = part.yt;
    if (xt.lo > xt.hi || yt.lo > yt.hi) continue;  // This part misses the source.
    const int window_width = xt.hi - xt.lo + 1;
    const int window_height = yt.hi - yt.lo + 1;
    window_.resize(static_cast<size_t>(window_width) * window_height * pixel_bytes);
    std::vector<int> band_list(source_->bands().begin(), source_->bands().end());
    if (GDALDatasetRasterIO(handle_, GF_Read, xt.lo, yt.lo, window_width, window_height,
                            window_.data(), window_width, window_height, source_->gdal_type(),
                            bands, band_list.data(), static_cast<int>(pixel_bytes),
                            static_cast<int>(pixel_bytes * window_width),
                            GDALGetDataTypeSizeBytes(source_->gdal_type())) != CE_None) {
      return absl::DataLossError(absl::StrFormat(
          "reading source window %dx%d at pixel (%d, %d) for block at (%.3f, %.3f) failed: %s",
          window_width, window_height, xt.lo, yt.lo, min_x, max_y, quiet.LastMessage()));
    }
    absl::Status status = ResampleStrips(xt, yt, window_width, width, height,
                                         samples + part.x0 * pixel_bytes, alpha + part.x0);
    if (!status.ok()) return status;
  }
  return true;
}

// ResampleStrips resamples the source window (read for taps xt x yt) into a block of rows of
// `stride` pixels, in strips of output rows: the horizontal pass then holds the source rows of
// one strip, not of the whole block (whose source window grows with how much finer the source
// is).
absl::Status BlockWarper::ResampleStrips(const AxisTaps& xt, const AxisTaps& yt, int window_width,
                                         int stride, int height, uint8_t* samples, uint8_t* alpha) {
  constexpr int kStripRows = 256;
  const int bands = static_cast<int>(source_->bands().size());
  const size_t pixel_bytes =
      static_cast<size_t>(bands) * GDALGetDataTypeSizeBytes(source_->gdal_type());
  const std::optional<double>& nodata = source_->nodata();
  AxisTaps strip;  // Once per block; its vectors keep their capacity from strip to strip.
  for (int j0 = 0; j0 < height; j0 += kStripRows) {
    StripTaps(yt, j0, std::min(height, j0 + kStripRows), &strip);
    if (strip.lo > strip.hi) continue;
    uint8_t* strip_samples = samples + static_cast<size_t>(j0) * stride * pixel_bytes;
    uint8_t* strip_alpha = alpha + static_cast<size_t>(j0) * stride;
    switch (source_->gdal_type()) {
      case GDT_Byte:
        ResampleSeparable(window_.data(), window_width, xt.lo, yt.lo, bands, xt, strip, nodata,
                          stride, &float_rows_, strip_samples, strip_alpha);
        break;
      case GDT_UInt16:
        ResampleSeparable(reinterpret_cast<const uint16_t*>(window_.data()), window_width, xt.lo,
                          yt.lo, bands, xt, strip, nodata, stride, &float_rows_,
                          reinterpret_cast<uint16_t*>(strip_samples), strip_alpha);
        break;
      case GDT_Int16:
        ResampleSeparable(reinterpret_cast<const int16_t*>(window_.data()), window_width, xt.lo,
                          yt.lo, bands, xt, strip, nodata, stride, &float_rows_,
                          reinterpret_cast<int16_t*>(strip_samples), strip_alpha);
        break;
      case GDT_Float32:
        ResampleSeparable(reinterpret_cast<const float*>(window_.data()), window_width, xt.lo,
                          yt.lo, bands, xt, strip, nodata, stride, &double_rows_,
                          reinterpret_cast<float*>(strip_samples), strip_alpha);
        break;
      default:
        return absl::InternalError(absl::StrCat("separable warp: unexpected pixel type ",
                                                GDALGetDataTypeName(source_->gdal_type())));
    }
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid