// Source: the builder's view of its input rasters (one file, or several mosaicked later-on-
// top as gdalbuildvrt would), and BlockWarper, which renders one rectangular block of the
// tile matrix (many tiles at once) from the source through GDAL's warper.
//
// Every worker thread owns one BlockWarper with its own GDAL dataset handle: GDAL datasets
// are not thread-safe, so handles are never shared.
//
// Example:
//   SourceOptions options;
//   options.inputs = {"L7_ETMs.tif"};
//   options.bands = {3, 2, 1};
//   absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(options);
//   auto warper = BlockWarper::Create(**source, target_wkt, GRA_Bilinear);
//   (*warper)->Warp(min_x, max_y, resolution, 2048, 2048, samples, alpha);
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_SOURCE_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_SOURCE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"
#include "gdal_priv.h"
#include "gdalwarper.h"
#include "ogr_spatialref.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// SourceOptions select what is read from the inputs.
struct SourceOptions {
  std::vector<std::string> inputs;  // GDAL paths; several are mosaicked, later on top.
  std::vector<int> bands;           // 1-based source bands; empty = all but an alpha band.
  std::string source_srs;           // Overrides (or supplies) the CRS; any GDAL SRS string.
  std::optional<double> nodata;     // Overrides every source band's nodata.
};

// ParseResampling maps "nearest", "bilinear", "cubic", "lanczos", "average", "mode" to
// GDAL's algorithm; InvalidArgument naming the flag otherwise.
absl::StatusOr<GDALResampleAlg> ParseResampling(absl::string_view name);

// Source is an opened, validated input.
class Source {
 public:
  // Open opens and checks the inputs: they exist and GDAL reads them, the bands exist,
  // a CRS is known (from the file or options.source_srs), the pixel type is supported.
  static absl::StatusOr<std::unique_ptr<Source>> Open(const SourceOptions& options);
  ~Source();

  // dataset is the handle of the opening thread (not for worker threads).
  GDALDataset* dataset() const { return dataset_; }
  // open_name is what a worker opens for its own handle: the path, or the mosaic VRT's XML.
  const std::string& open_name() const { return open_name_; }
  const std::vector<int>& bands() const { return bands_; }
  int alpha_band() const { return alpha_band_; }  // Source alpha band, 0 if none.
  codec::PixelType pixel_type() const { return pixel_type_; }
  GDALDataType gdal_type() const { return gdal_type_; }
  // nodata is the value marking missing samples in the first selected band, if any (the
  // pyramid's nodata: elevation data has one band).
  const std::optional<double>& nodata() const { return nodata_; }
  // band_nodata is each selected band's own nodata (SourceOptions::nodata for all when given);
  // the warper masks every band with its own value, as gdalwarp does.
  const std::vector<std::optional<double>>& band_nodata() const { return band_nodata_; }
  const OGRSpatialReference& srs() const { return srs_; }
  // srs_override is non-null when SourceOptions::source_srs was given.
  const OGRSpatialReference* srs_override() const { return has_srs_override_ ? &srs_ : nullptr; }
  const std::vector<std::string>& color_interpretation() const { return color_interpretation_; }
  // description names the inputs, the raster size and the CRS (for the metadata).
  const std::string& description() const { return description_; }

  // center_longitude is set for a geographic source whose longitudes leave -180..180 (a
  // 0..360 grid such as etopo20): transformers then wrap longitudes around it (GDAL's
  // CENTER_LONG), so the part beyond 180 degrees lands west of the antimeridian.
  const std::optional<double>& center_longitude() const { return center_longitude_; }

  // NativeResolution is the source's pixel size expressed in `target` units, as
  // gdalwarp would choose it (GDALSuggestedWarpOutput2).
  absl::StatusOr<double> NativeResolution(const OGRSpatialReference& target) const;

 private:
  Source() = default;

  GDALDataset* dataset_ = nullptr;
  std::string open_name_;
  std::vector<int> bands_;
  int alpha_band_ = 0;
  codec::PixelType pixel_type_ = codec::PixelType::kUint8;
  GDALDataType gdal_type_ = GDT_Byte;
  std::optional<double> nodata_;
  std::vector<std::optional<double>> band_nodata_;
  OGRSpatialReference srs_;
  bool has_srs_override_ = false;
  std::vector<std::string> color_interpretation_;
  std::string description_;
  std::optional<double> center_longitude_;
};

// CreateSourceTransformer creates GDAL's GenImgProj transformer from `source` (pixels) to
// `target` (georeferenced; set the destination geotransform afterwards), honouring
// Source::center_longitude. Returns nullptr with GDAL's error on failure.
void* CreateSourceTransformer(const Source& source, GDALDatasetH handle,
                              const OGRSpatialReference& target);

// BlockWarper renders blocks of the target grid from one Source. Not thread-safe: one per
// worker.
class BlockWarper {
 public:
  // Create opens a private handle on `source` and prepares GDAL's transformer from the
  // source to `target`, approximated within `max_error_pixels` (gdalwarp -et; 0.125 is
  // gdalwarp's default, 0 transforms every pixel exactly).
  // With `separable_fast_path`, blocks whose mapping to the source is separable (see
  // separable()) are resampled by our own two-pass kernel instead of GDAL's warper.
  static absl::StatusOr<std::unique_ptr<BlockWarper>> Create(const Source& source,
                                                             const OGRSpatialReference& target,
                                                             GDALResampleAlg resampling,
                                                             double max_error_pixels = 0.125,
                                                             bool separable_fast_path = true);
  ~BlockWarper();

  // Warp renders the `width` x `height` block whose top-left corner is (min_x, max_y) in
  // target units with square pixels of `resolution`, into `samples` (interleaved selected
  // bands, source pixel type, rows of width * bands * bytes) and `alpha` (coverage 0..255,
  // rows of width bytes). Both are overwritten entirely; uncovered pixels are 0.
  // The warper reads the source margin its resampling kernel needs, so adjacent blocks join
  // without seams.
  absl::Status Warp(double min_x, double max_y, double resolution, int width, int height,
                    uint8_t* samples, uint8_t* alpha);

  // set_seam_x makes Warp split blocks at target x = `seam_x`: the longitude where a
  // wrapped source (Source::center_longitude) is cut. A block across it would otherwise
  // read the whole source width, and GDAL would widen its kernel as if downsampling.
  void set_seam_x(double seam_x) { seam_x_ = seam_x; }

  // separable is true when Warp uses the fast path: a north-up source (no rotation) whose
  // CRS is the target's, or a geographic source on the target's datum into WebMercator or a
  // geographic target; nearest or bilinear resampling; no alpha band, no per-dataset mask,
  // nodata only on a single band (0..360 grids are wrapped as GDAL does). Source column then
  // depends only on the target column and source row only on the target row, so a block is one
  // source window read (RasterIO) and a horizontal then a vertical pass with precomputed
  // taps. The kernel is GDAL's (same coverage test, same triangle widened by 1/scale when
  // the block downsamples, same 0.95 threshold for the 4-sample formula, same rounding), so
  // results match the GDAL path within rounding (1 grey level, 1e-3 for float data).
  bool separable() const { return mapping_ != Mapping::kNone; }

 private:
  // How target coordinates become source geographic/projected coordinates, per axis.
  enum class Mapping { kNone, kIdentity, kGeographicToWebMercator };

  BlockWarper() = default;
  static Mapping SeparableMapping(const Source& source, GDALDatasetH handle,
                                  const OGRSpatialReference& target, GDALResampleAlg resampling);
  // WarpSeparable is Warp's fast path (outputs already zeroed); false: use GDAL's path.
  absl::StatusOr<bool> WarpSeparable(double min_x, double max_y, double resolution, int width,
                                     int height, uint8_t* samples, uint8_t* alpha);

  const Source* source_ = nullptr;
  GDALDatasetH handle_ = nullptr;
  void* transformer_ = nullptr;  // GenImgProj.
  void* approx_ = nullptr;       // Approx over transformer_.
  GDALResampleAlg resampling_ = GRA_Bilinear;
  GDALDriverH mem_driver_ = nullptr;
  std::optional<double> seam_x_;
  // Wrapped sources only: target -> source lon/lat, and the source pixel size in degrees.
  OGRCoordinateTransformation* to_lonlat_ = nullptr;
  double source_pixel_x_ = 0;
  double source_pixel_y_ = 0;
  // Separable fast path.
  Mapping mapping_ = Mapping::kNone;
  double source_geotransform_[6] = {0, 1, 0, 0, 0, -1};
  double mercator_radius_ = 6378137.0;
  int source_width_ = 0;
  int source_height_ = 0;
  std::vector<uint8_t> window_;  // The block's source window, interleaved bands.
  // Horizontal pass (a strip's source rows x block columns x bands): integer data, float
  // data.
  std::vector<float> float_rows_;
  std::vector<double> double_rows_;
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_SOURCE_H_
