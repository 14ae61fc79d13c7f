// CRS work through GDAL/OGR (PROJ): parse a user's SRS, find a source raster's footprint
// in a tile matrix set's CRS, and map tile pixels back to source pixels for warping.
//
// Axis order: every OGRSpatialReference made or returned here uses
// OAMS_TRADITIONAL_GIS_ORDER, so x is easting / longitude and y northing / latitude even
// for EPSG:4326, whose official order is latitude first.
//
// Footprints are computed by densifying the source's edges (21 points per edge, through
// OGRCoordinateTransformation::TransformBounds) into WGS84 longitude / latitude, which
// gets curved edges, poles inside the raster and the antimeridian right. Both tile matrix
// sets are cylindrical (meridians and parallels are straight lines), so a longitude /
// latitude box maps exactly to a box in the set's CRS.
//
// Caveats:
//   - Sources georeferenced only by GCPs or RPCs are refused (FailedPrecondition): warp
//     them to a geotransform with gdalwarp first.
//   - A source with no CRS is refused with an error naming source_srs_override (the
//     argument; callers map kSourceSrsOverride onto their own option): never a guess.
//   - A footprint crossing the antimeridian is two boxes in the tile matrix set's CRS
//     (SourceFootprintParts), one each side; SourceFootprint, a single box, is their hull,
//     which spans the whole longitude range (as gdalwarp's output does). List tiles with
//     TileMatrixSet::CoveringTileRanges over the parts, not with the hull.
//
// Example:
//   GDALDatasetUniquePtr ds(GDALDataset::Open("etopo20.cdf", GDAL_OF_RASTER));
//   absl::StatusOr<OGRSpatialReference> srs = flatpyramid::geo::ParseSrs("EPSG:4326");
//   if (!srs.ok()) return srs.status();
//   absl::StatusOr<flatpyramid::geo::Bounds> footprint = flatpyramid::geo::SourceFootprint(
//       *ds, flatpyramid::geo::TileMatrixSet::WebMercatorQuad(), &*srs);
//   // footprint: x in [-20037508.34, 20037508.34], y in the same (clamped at 85.05 deg).
#ifndef FLATPYRAMID_GEO_CRS_H_
#define FLATPYRAMID_GEO_CRS_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gdal_alg.h"
#include "gdal_priv.h"
#include "geo/tile_matrix_set.h"
#include "ogr_spatialref.h"

namespace flatpyramid {
namespace geo {

// kFootprintDensifyPoints is the number of points added along each edge of the source
// when transforming its bounds (GDAL's and PROJ's recommended 21).
constexpr int kFootprintDensifyPoints = 21;

// ParseSrs parses a user SRS string: "EPSG:32633", WKT, a PROJ string ("+proj=utm
// +zone=33 +datum=WGS84"), "OGC:CRS84" or anything else OGRSpatialReference::
// SetFromUserInput accepts without reading files or the network. The result uses
// traditional GIS axis order. InvalidArgument naming the input when it does not parse.
absl::StatusOr<OGRSpatialReference> ParseSrs(absl::string_view text);

// TileMatrixSetSrs is the spatial reference of `tms`'s CRS: EPSG:3857 for
// WebMercatorQuad, WGS84 longitude / latitude (EPSG:4326 in traditional GIS order, the
// same as OGC:CRS84) for WorldCRS84Quad.
absl::StatusOr<OGRSpatialReference> TileMatrixSetSrs(const TileMatrixSet& tms);

// TransformBounds is `bounds` (min_x, min_y, max_x, max_y in the CRS `from_srs`) transformed
// to the CRS `to_srs` (both strings as ParseSrs reads them): the box holding the transformed
// edges, densified with kFootprintDensifyPoints per edge. InvalidArgument naming the input
// when a CRS does not parse or PROJ cannot transform the box.
absl::StatusOr<Bounds> TransformBounds(const Bounds& bounds, absl::string_view from_srs,
                                       absl::string_view to_srs);

// kSourceSrsOverride is how errors here name the CRS override (the `source_srs_override`
// argument and TransformerOptions field): a caller whose users set it under another name
// (BuildOptions::source_srs, a tool's flag) replaces this in the message.
inline constexpr char kSourceSrsOverride[] = "source_srs_override";

// SourceSrs is `source_srs_override` when non-null, else the dataset's own CRS, in
// traditional GIS axis order. FailedPrecondition naming the dataset and
// kSourceSrsOverride when neither exists.
absl::StatusOr<OGRSpatialReference> SourceSrs(
    GDALDataset& source, const OGRSpatialReference* source_srs_override = nullptr);

// SourceFootprintLonLat is the source raster's footprint (the outer edges of its pixels)
// in WGS84 degrees: longitudes in [-180, 180], latitudes in [-90, 90]. Sources whose
// longitudes run past 180 (0..360 grids) are wrapped; a source spanning 360 degrees or
// more gets [-180, 180]. When the footprint crosses the antimeridian min_x > max_x (as
// GDAL's TransformBounds reports it): the box runs east from min_x to max_x + 360.
// Errors: no CRS (see SourceSrs), no geotransform, or PROJ unable to transform the edges.
absl::StatusOr<Bounds> SourceFootprintLonLat(
    GDALDataset& source, const OGRSpatialReference* source_srs_override = nullptr);

// SourceFootprintParts is the source's footprint in `tms`'s CRS as boxes that do not cross
// the antimeridian, clamped to tms.extent() (WebMercatorQuad clamps latitudes to
// +-kWebMercatorMaxLatitude, 85.0511287798 deg): one box, or two when the footprint crosses
// the antimeridian, first the part west of it (east edge at extent().max_x), then the part
// east of it (west edge at extent().min_x), sharing one latitude range. OutOfRange when the
// source lies entirely beyond the WebMercator latitude limit; other errors as
// SourceFootprintLonLat.
//
// Example (a raster from 170E to 170W, 40N to 50N, into WebMercatorQuad):
//   parts[0] = {18924313.43, 4865942.28, 20037508.34, 6446275.84}   // 170E .. 180
//   parts[1] = {-20037508.34, 4865942.28, -18924313.43, 6446275.84} // 180 .. 170W
absl::StatusOr<std::vector<Bounds>> SourceFootprintParts(
    GDALDataset& source, const TileMatrixSet& tms,
    const OGRSpatialReference* source_srs_override = nullptr);

// SourceFootprint is the hull of SourceFootprintParts: the single smallest box holding the
// source's footprint, which for a footprint crossing the antimeridian is the full longitude
// span. Errors as SourceFootprintParts.
absl::StatusOr<Bounds> SourceFootprint(GDALDataset& source, const TileMatrixSet& tms,
                                       const OGRSpatialReference* source_srs_override = nullptr);

// LongitudeWrap is a GDAL transformer (Transform, with the LongitudeWrap as its argument)
// over another, `inner`, that maps to source pixels of a geographic source whose grid runs
// past +-180 degrees (a 0..360 grid): every source column `inner` answers from destination to
// source is moved by whole turns (period_columns) into [first_column, first_column +
// period_columns). With the window centred on a longitude this is what GDAL's CENTER_LONG
// does to longitudes, done in pixels and without that process-wide configuration option:
// GDAL 3.6 caches OGRCoordinateTransformations by their CRS pair and ignores CENTER_LONG in
// the cache key, so a transformation created under CENTER_LONG is handed, once released, to
// any later caller in the process asking for the same pair (and an unwrapped one to a caller
// that set it). Source-to-destination calls and failed points pass through. GDAL can neither
// clone nor serialize it: do not set a warper's NUM_THREADS with it.
struct LongitudeWrap {
  GDALTransformerFunc inner = nullptr;
  void* inner_argument = nullptr;
  double first_column = 0;    // West edge of the window, in source pixels.
  double period_columns = 0;  // 360 degrees in source pixels (> 0).

  // ForCenterLongitude is the wrap of a north-up geographic source with `geotransform`
  // around `center_longitude` (GDAL's CENTER_LONG): longitudes within 180 degrees of it.
  // nullopt when the geotransform is rotated or has no width.
  static std::optional<LongitudeWrap> ForCenterLongitude(const double geotransform[6],
                                                         double center_longitude);

  static int Transform(void* argument, int dst_to_src, int count, double* x, double* y, double* z,
                       int* success);
};

// TransformerOptions configures a TileToSourceTransformer.
struct TransformerOptions {
  // max_error_pixels is the largest error, in source pixels, that the linear
  // approximation along a row may introduce (gdalwarp's -et, default 0.125). 0 makes
  // every point go through PROJ.
  double max_error_pixels = 0.125;
  // source_srs_override replaces the dataset's CRS when non-null.
  // It is copied: it need not outlive Create().
  const OGRSpatialReference* source_srs_override = nullptr;
};

// TileToSourceTransformer maps pixel coordinates of a destination block (a tile, or any
// axis-aligned block in the tile matrix set's CRS) to source pixel / line coordinates:
// GDAL's generic image-projection transformer (GDALCreateGenImgProjTransformer2) under
// GDAL's approximating transformer, what gdalwarp uses. Geographic sources with
// longitudes past +-180 (0..360 grids such as etopo20.cdf) are wrapped here, source x
// modulo 360 degrees, because GDAL's CENTER_LONG remedy does not cover grids spanning
// more than 360 degrees nor same-CRS warps.
//
// Not thread-safe (GDAL's transformers keep state): use one per thread.
//
// Example:
//   auto t = TileToSourceTransformer::Create(*ds, tms);
//   if (!t.ok()) return t.status();
//   absl::Status s = (*t)->SetBlock(tms.TileBounds(tile), 256, 256);
//   std::vector<double> sx(256), sy(256);
//   std::vector<int> ok(256);
//   s = (*t)->TransformRow(row, sx.data(), sy.data(), ok.data());
class TileToSourceTransformer {
 public:
  // Create builds the transformer for `source` into `tms`'s CRS. `source` must outlive
  // the transformer. Errors as SourceSrs, plus FailedPrecondition when the source has no
  // geotransform and InvalidArgument for a negative or NaN max_error_pixels.
  static absl::StatusOr<std::unique_ptr<TileToSourceTransformer>> Create(
      GDALDataset& source, const TileMatrixSet& tms, const TransformerOptions& options = {});

  ~TileToSourceTransformer();
  TileToSourceTransformer(const TileToSourceTransformer&) = delete;
  TileToSourceTransformer& operator=(const TileToSourceTransformer&) = delete;

  // SetBlock makes destination pixel (0, 0) the top-left corner of `bounds` (in the set's
  // CRS) and the block width x height pixels. InvalidArgument for an empty or NaN box or
  // a non-positive size. Until the first SetBlock, destination coordinates are CRS units.
  absl::Status SetBlock(const Bounds& bounds, int width, int height);

  // Transform converts `count` destination pixel coordinates in place to source pixel /
  // line coordinates (0, 0 = the top-left corner of the source's first pixel).
  // success[i] is set to 1 or 0 per point; points outside PROJ's domain fail one by one.
  // The approximation applies to runs of points sharing one y (a row) of 5 or more.
  // REQUIRES: x, y, success hold `count` elements.
  void Transform(int count, double* x, double* y, int* success);

  // TransformRow fills src_x, src_y, success (each width() elements) with the source
  // coordinates of the pixel centres (col + 0.5, row + 0.5) of block row `row`.
  // FailedPrecondition before SetBlock; InvalidArgument for row outside [0, height()).
  absl::Status TransformRow(int row, double* src_x, double* src_y, int* success);

  // width, height: the current block's size in pixels (0 before SetBlock).
  int width() const { return width_; }
  int height() const { return height_; }

  // gdal_function and gdal_argument expose the transformer (destination block pixels to
  // source pixels with bDstToSrc = TRUE) for GDALWarpOptions; it stays owned by this
  // object. For longitude-wrapped sources it is our own function, which GDAL cannot
  // clone: do not set the warper's NUM_THREADS with it.
  GDALTransformerFunc gdal_function() const { return function_; }
  void* gdal_argument() const { return argument_; }

 private:
  TileToSourceTransformer(void* gen_img, void* approx, std::unique_ptr<LongitudeWrap> wrap);

  void* gen_img_;  // GDALCreateGenImgProjTransformer2; owned by approx_ when set.
  void* approx_;   // GDALCreateApproxTransformer, or nullptr when max_error is 0.
  std::unique_ptr<LongitudeWrap> wrap_;  // Set for geographic sources past +-180.
  std::vector<double> z_;                // Scratch heights for GDAL's transformers.
  GDALTransformerFunc function_;
  void* argument_;
  int width_ = 0;
  int height_ = 0;
};

}  // namespace geo
}  // namespace flatpyramid

#endif  // FLATPYRAMID_GEO_CRS_H_
