// BlockWarper renders one rectangular block of the tile matrix (many tiles at once) from a
// Source through GDAL's warper, or through a separable two-pass kernel when the mapping allows.
//
// Every worker thread owns one BlockWarper with its own GDAL dataset handle: GDAL datasets
// are not thread-safe, so handles are never shared.
//
// Example:
//   auto warper = BlockWarper::Create(source, target_srs, GRA_Bilinear);
//   (*warper)->Warp(min_x, max_y, resolution, 2048, 2048, samples, alpha);
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BLOCK_WARPER_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BLOCK_WARPER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gdal_priv.h"
#include "gdalwarper.h"
#include "ogr_spatialref.h"
#include "pyramid/internal/source.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

struct AxisTaps;  // The source samples a target pixel reads along one axis (block_warper.cc).

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
  // SeamParts are the (first column, columns) of a block's parts: the whole block, or its two
  // sides of a wrapped source's seam.
  std::vector<std::pair<int, int>> SeamParts(double min_x, double resolution, int width) const;
  GDALDatasetH CreateTargetDataset(int width, int height, uint8_t* samples, uint8_t* alpha) const;
  GDALWarpOptions* CreateWarpOptions(GDALDatasetH mem) const;
  void SetWrappedScale(double min_x, double max_y, double resolution, int x0, int columns,
                       int height, GDALWarpOptions* options) const;
  absl::Status ResampleStrips(const AxisTaps& xt, const AxisTaps& yt, int window_width, int stride,
                              int height, uint8_t* samples, uint8_t* alpha);
  // WarpSeparable is Warp's fast path (outputs already zeroed); false: use GDAL's path.
  absl::StatusOr<bool> WarpSeparable(double min_x, double max_y, double resolution, int width,
                                     int height, uint8_t* samples, uint8_t* alpha);

  const Source* source_ = nullptr;
  GDALDatasetH handle_ = nullptr;
  std::unique_ptr<SourceTransformer> transformer_;
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

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BLOCK_WARPER_H_
