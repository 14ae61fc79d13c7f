// Tile matrix sets as data, following the OGC Two Dimensional Tile Matrix Set standard
// (OGC 17-083r4, Annex D): WebMercatorQuad and WorldCRS84Quad, 256 or 512 pixel tiles,
// zoom levels 0 to 30. Pure arithmetic: no GDAL, no allocation, cheap to copy.
//
// Conventions:
//   - Tiles are addressed XYZ style: column x grows east, row y grows south, (0, 0) is the
//     top-left tile (the OGC TileMatrix convention). TmsRow() converts to the bottom-left
//     rows of TMS / MBTiles.
//   - Coordinates are in the set's CRS with x = easting / longitude first and
//     y = northing / latitude second, whatever the CRS's official axis order.
//   - Pixel coordinates at a zoom are "global": pixel (0, 0) is the top-left corner of the
//     top-left tile; pixel centres sit at half-integers.
//   - Changing the tile size keeps each tile's ground extent and changes only the pixels
//     per tile (GDAL's COG driver and Mapbox's 512 px tiles do the same), so a 512 px
//     set has half the resolution value (twice the detail) at the same zoom.
//
// Example:
//   using flatpyramid::geo::TileMatrixSet;
//   TileMatrixSet tms = TileMatrixSet::WebMercatorQuad();
//   flatpyramid::geo::TileId tile = tms.TileForLonLat(-34.8553, -7.9986, 10);  // 10/412/534
//   flatpyramid::geo::Bounds b = tms.TileBounds(tile);                         // metres
//   int z = tms.ZoomForResolution(28.5, flatpyramid::geo::ZoomStrategy::kNearest);  // 12
#ifndef FLATPYRAMID_GEO_TILE_MATRIX_SET_H_
#define FLATPYRAMID_GEO_TILE_MATRIX_SET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "geo/morton.h"

namespace flatpyramid {
namespace geo {

// Bounds is an axis-aligned box: x is easting / longitude, y is northing / latitude.
struct Bounds {
  double min_x = 0;
  double min_y = 0;
  double max_x = 0;
  double max_y = 0;
};

// TileId names one tile: zoom, column, XYZ row (row 0 at the top).
struct TileId {
  int z = 0;
  uint32_t x = 0;
  uint32_t y = 0;
};

inline bool operator==(const TileId& a, const TileId& b) {
  return a.z == b.z && a.x == b.x && a.y == b.y;
}
inline bool operator!=(const TileId& a, const TileId& b) { return !(a == b); }

// ZoomStrategy picks a zoom when a source resolution falls between two zoom levels, with
// the meaning of GDAL's COG driver option ZOOM_LEVEL_STRATEGY:
enum class ZoomStrategy {
  kNearest,  // AUTO: the closer of the two in log space (ratio of resolutions).
  kLower,    // LOWER: the coarser zoom (fewer pixels than the source, downsampling).
  kUpper,    // UPPER: the finer zoom (at least the source's detail, upsampling).
};

// ParseZoomStrategy accepts "nearest", "lower" and "upper" (the names tools and bindings
// take); InvalidArgument listing them otherwise.
absl::StatusOr<ZoomStrategy> ParseZoomStrategy(absl::string_view name);

// TileMatrixSet is one of the OGC quad tile matrix sets: each zoom level z has
// MatrixWidth(z) x MatrixHeight(z) tiles of tile_size() x tile_size() pixels, all sharing
// the top-left corner of extent(). A value type; copy it freely. Thread-safe.
class TileMatrixSet {
 public:
  // kMaxZoom is the deepest zoom level (2^30 tiles across in WebMercatorQuad).
  static constexpr int kMaxZoom = 30;

  // kStandardPixelSizeMetres is the OGC "standardized rendering pixel size", 0.28 mm,
  // which turns resolutions into scale denominators.
  static constexpr double kStandardPixelSizeMetres = 0.00028;

  // TileSize is a supported tile width (= height) in pixels. A pixel count from a user
  // goes through FromName, which refuses anything else.
  enum class TileSize { k256 = 256, k512 = 512 };

  // WebMercatorQuad is EPSG:3857 over x, y in [-20037508.3427892, 20037508.3427892] m
  // (pi times the WGS84 semi-major axis), one tile at zoom 0, scale denominator
  // 559082264.0287178 at zoom 0 for 256 px tiles.
  static TileMatrixSet WebMercatorQuad(TileSize tile_size = TileSize::k256);

  // WorldCRS84Quad is OGC:CRS84 (WGS84 longitude, latitude in degrees) over
  // [-180, 180] x [-90, 90], two tiles (west, east) at zoom 0, 180/256 degrees per pixel
  // at zoom 0 for 256 px tiles (scale denominator 279541132.0143588).
  static TileMatrixSet WorldCRS84Quad(TileSize tile_size = TileSize::k256);

  // FromName returns the set with identifier `name` ("WebMercatorQuad" or
  // "WorldCRS84Quad", case-insensitive) and `tile_size` pixels per tile: the checked path
  // for untrusted input. InvalidArgument for other names or for a tile_size other than
  // 256 or 512 (never a silent substitute).
  static absl::StatusOr<TileMatrixSet> FromName(absl::string_view name, int tile_size = 256);

  // id is the OGC identifier: "WebMercatorQuad" or "WorldCRS84Quad".
  absl::string_view id() const { return id_; }
  // crs is "EPSG:3857" or "OGC:CRS84" (EPSG:4326 datum, longitude first).
  absl::string_view crs() const { return crs_; }
  // is_geographic is true when the CRS units are degrees (WorldCRS84Quad).
  bool is_geographic() const { return geographic_; }
  // tile_size is the width and height of a tile in pixels.
  int tile_size() const { return tile_size_; }
  // extent is the area all zoom levels cover, in the set's CRS.
  Bounds extent() const;

  // IsValidZoom is true for 0 <= z <= kMaxZoom.
  static bool IsValidZoom(int z) { return z >= 0 && z <= kMaxZoom; }
  // IsValid is true when the zoom is valid and x, y lie inside that zoom's matrix.
  bool IsValid(const TileId& tile) const;

  // MatrixWidth is the number of tile columns at zoom z (0 for an invalid zoom).
  uint32_t MatrixWidth(int z) const;
  // MatrixHeight is the number of tile rows at zoom z (0 for an invalid zoom).
  uint32_t MatrixHeight(int z) const;
  // KeyEnd is one past the largest Morton key (MortonEncode) of a tile at zoom z: 4^z for
  // WebMercatorQuad, 2 * 4^z for WorldCRS84Quad (twice as many columns as rows); 0 for an
  // invalid z.
  uint64_t KeyEnd(int z) const;
  // TileSpan is the width (= height) of one tile at zoom z in CRS units (NaN for an
  // invalid zoom).
  double TileSpan(int z) const;
  // Resolution is the pixel size at zoom z in CRS units per pixel (NaN for an invalid
  // zoom): WebMercatorQuad 256 px, zoom 0: 156543.03392804097 m.
  double Resolution(int z) const;
  // ScaleDenominator is the OGC scale denominator at zoom z: Resolution(z) in metres
  // (degrees times 2 pi 6378137 / 360 for CRS84) divided by the 0.28 mm standard pixel.
  double ScaleDenominator(int z) const;

  // TileBounds is the tile's box in the set's CRS. For a tile outside the matrix the
  // arithmetic is extended beyond extent() (check IsValid first when that matters).
  Bounds TileBounds(const TileId& tile) const;
  // TileBoundsLonLat is the tile's box in WGS84 longitude / latitude degrees (exact:
  // both sets are cylindrical, so tile edges are meridians and parallels).
  // InvalidArgument for a tile outside its matrix.
  absl::StatusOr<Bounds> TileBoundsLonLat(const TileId& tile) const;

  // CrsToPixel converts CRS coordinates to global pixel coordinates at zoom z.
  // REQUIRES: IsValidZoom(z) (otherwise the outputs are NaN).
  void CrsToPixel(double x, double y, int z, double* pixel_x, double* pixel_y) const;
  // PixelToCrs is the inverse of CrsToPixel.
  void PixelToCrs(double pixel_x, double pixel_y, int z, double* x, double* y) const;
  // TileForCrs is the tile containing CRS point (x, y) at zoom z, clamped to the matrix
  // (a point on a shared edge belongs to the tile east / south of it, except on the
  // extent's own east / south edge). REQUIRES: IsValidZoom(z) (otherwise {z, 0, 0}).
  TileId TileForCrs(double x, double y, int z) const;
  // TileForLonLat is TileForCrs for a WGS84 longitude / latitude (latitudes beyond the
  // WebMercator limit go to the edge row).
  TileId TileForLonLat(double lon, double lat, int z) const;

  // LonLatToCrs converts WGS84 degrees to the set's CRS. For WebMercatorQuad the
  // latitude is first clamped to +-kWebMercatorMaxLatitude, so the result is finite, and
  // latitudes at or beyond the limit give exactly +-kWebMercatorHalfExtent.
  void LonLatToCrs(double lon, double lat, double* x, double* y) const;
  // CrsToLonLat converts the set's CRS to WGS84 degrees.
  void CrsToLonLat(double x, double y, double* lon, double* lat) const;

  // CoveringTiles sets the inclusive tile range covering `bounds` (CRS units) at zoom z,
  // clamped to the matrix. A box ending exactly on a tile edge does not include the next
  // tile (edges within 1e-9 tile of a boundary count as on it, to absorb rounding); a
  // zero-width box covers the tile that holds it. Returns false, with an empty range
  // (*min_x = *min_y = 1, *max_x = *max_y = 0), when the zoom is invalid, the box is
  // inverted or NaN, or it does not intersect extent().
  // REQUIRES: the output pointers are non-null.
  bool CoveringTiles(const Bounds& bounds, int z, uint32_t* min_x, uint32_t* min_y, uint32_t* max_x,
                     uint32_t* max_y) const;

  // CoveringTileRanges is CoveringTiles for a footprint made of several boxes, such as the
  // two sides of one that crosses the antimeridian (SourceFootprintParts in geo/crs.h):
  // the tile rectangle of each box that meets extent(), in the boxes' order. Rectangles
  // that share a tile at this zoom (at low zooms one tile spans both sides) are joined into
  // their bounding rectangle, so no tile is listed twice. Empty for an invalid zoom or when
  // no box meets extent(). KeyRangesForRects (geo/morton.h) turns the result into keys.
  std::vector<TileRect> CoveringTileRanges(const std::vector<Bounds>& parts, int z) const;

  // ZoomForResolution is the zoom level matching a source pixel size `resolution` (in the
  // set's CRS units) exactly as GDAL's COG driver chooses it: the first zoom whose
  // resolution is finer than or equal to (within 1e-8 relative) `resolution` is the
  // kUpper choice; kLower takes the one before it; kNearest takes the one before it when
  // prev_resolution / resolution < resolution / upper_resolution (closer in log space).
  // Resolutions coarser than zoom 0 give 0; finer than kMaxZoom give kMaxZoom (where GDAL
  // fails); non-positive give kMaxZoom, NaN gives 0.
  int ZoomForResolution(double resolution, ZoomStrategy strategy) const;

 private:
  TileMatrixSet(absl::string_view id, absl::string_view crs, bool geographic, TileSize tile_size,
                Bounds extent, uint32_t zoom0_width, uint32_t zoom0_height);

  std::string id_;
  std::string crs_;
  bool geographic_;
  int tile_size_;
  Bounds extent_;
  uint32_t zoom0_width_;
  uint32_t zoom0_height_;
  double zoom0_tile_span_;
};

// kWebMercatorMaxLatitude is the latitude of the WebMercator square's north edge,
// atan(sinh(pi)) in degrees = 85.0511287798066.
constexpr double kWebMercatorMaxLatitude = 85.05112877980659;

// kWebMercatorHalfExtent is pi * 6378137 m, half the width of the WebMercator square.
constexpr double kWebMercatorHalfExtent = 20037508.342789244;

// TmsRow converts an XYZ row (0 at the top) to a TMS row (0 at the bottom) at zoom z, and
// back (the conversion is its own inverse).
// REQUIRES: xyz_row < tms.MatrixHeight(z) (otherwise the result wraps modulo 2^32).
uint32_t TmsRow(int z, uint32_t xyz_row, const TileMatrixSet& tms);

}  // namespace geo
}  // namespace flatpyramid

#endif  // FLATPYRAMID_GEO_TILE_MATRIX_SET_H_
