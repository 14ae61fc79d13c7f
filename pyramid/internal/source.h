// Source: the builder's view of its input rasters (one file, or several mosaicked later-on-
// top as gdalbuildvrt would), checked once: they exist and are regular files or GDAL names,
// they share band count, pixel type and CRS (a mosaic never drops an input), a paletted input
// is expanded to RGB(A), the bands and the CRS are known. Workers read it through their own
// BlockWarper (block_warper.h).
//
// Example:
//   SourceOptions options;
//   options.inputs = {"L7_ETMs.tif"};
//   options.bands = {3, 2, 1};
//   absl::StatusOr<std::unique_ptr<Source>> source = Source::Open(options);
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
#include "geo/crs.h"
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

// Source is an opened, validated input.
class Source {
 public:
  // Open opens and checks the inputs: they exist and GDAL reads them (a local FIFO, device
  // or socket is refused before GDAL blocks on it), several share band count, pixel types and
  // CRS and the mosaic covers each of them (InvalidArgument naming the input otherwise), the
  // bands exist, a CRS is known (from the file or options.source_srs), the pixel type is
  // supported. A single paletted input is read through its colour table, expanded to RGB, or
  // RGBA when the table has transparent entries (gdal_translate -expand); `bands` then
  // selects among those bands.
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
  // 0..360 grid such as etopo20): SourceTransformer then wraps longitudes to within 180
  // degrees of it (as GDAL's CENTER_LONG would), so the part beyond 180 degrees lands west of
  // the antimeridian.
  const std::optional<double>& center_longitude() const { return center_longitude_; }

  // NativeResolution is the source's pixel size expressed in `target` units, as
  // gdalwarp would choose it (GDALSuggestedWarpOutput2).
  absl::StatusOr<double> NativeResolution(const OGRSpatialReference& target) const;

 private:
  Source() = default;
  absl::Status SelectBands(const SourceOptions& options);
  absl::Status ResolveSrs(const SourceOptions& options);
  void Describe(const SourceOptions& options);

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
  bool palette_expanded_ = false;  // The input's colour table is expanded to RGB(A) bands.
};

// SourceTransformer maps target pixels to source pixels: GDAL's GenImgProj transformer from
// a source dataset handle to `target` (georeferenced until SetTargetGeoTransform), under
// GDAL's approximating transformer within max_error_pixels (gdalwarp -et; 0 = exact). The
// columns of a wrapped source (Source::center_longitude) are moved by whole turns to within
// 180 degrees of its centre (geo::LongitudeWrap), which GDAL's CENTER_LONG would do but only
// by a process-wide option that GDAL's cache of coordinate transformations ignores. Not
// thread-safe: one per thread.
class SourceTransformer {
 public:
  // Create: InvalidArgument with GDAL's reason when the CRS pair cannot be transformed.
  // `handle` must outlive the transformer.
  static absl::StatusOr<std::unique_ptr<SourceTransformer>> Create(
      const Source& source, GDALDatasetH handle, const OGRSpatialReference& target,
      double max_error_pixels);
  ~SourceTransformer();
  SourceTransformer(const SourceTransformer&) = delete;
  SourceTransformer& operator=(const SourceTransformer&) = delete;

  // SetTargetGeoTransform makes target pixel coordinates those of `geotransform`.
  void SetTargetGeoTransform(const double geotransform[6]);

  // function and argument are the transformer for GDALWarpOptions / GDAL's algorithms; the
  // argument stays owned by this object. Not clonable by GDAL (no warper NUM_THREADS).
  GDALTransformerFunc function() const { return function_; }
  void* argument() const { return argument_; }

 private:
  SourceTransformer() = default;

  void* gen_img_ = nullptr;  // GenImgProj.
  void* approx_ = nullptr;   // Approx over gen_img_ (which it does not own), or nullptr.
  std::optional<geo::LongitudeWrap> wrap_;
  GDALTransformerFunc function_ = nullptr;
  void* argument_ = nullptr;
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_SOURCE_H_
