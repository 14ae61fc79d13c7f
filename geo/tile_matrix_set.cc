#include "geo/tile_matrix_set.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "geo/morton.h"

namespace flatpyramid {
namespace geo {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDegToRad = kPi / 180.0;
constexpr double kRadToDeg = 180.0 / kPi;
// WGS84 semi-major axis: the sphere radius of EPSG:3857.
constexpr double kEarthRadius = 6378137.0;
// Metres per degree on that sphere's equator: the OGC metres-per-unit for CRS84.
constexpr double kMetresPerDegree = 2.0 * kPi * kEarthRadius / 360.0;
// Slack, in tiles, under which a coordinate counts as lying on a tile edge.
constexpr double kEdgeEpsilonTiles = 1e-9;
// Relative tolerance under which two resolutions are equal (GDAL's COG driver's).
constexpr double kResolutionEpsilon = 1e-8;

}  // namespace

TileMatrixSet::TileMatrixSet(absl::string_view id, absl::string_view crs, bool geographic,
                             TileSize tile_size, Bounds extent, uint32_t zoom0_width,
                             uint32_t zoom0_height)
    : id_(id),
      crs_(crs),
      geographic_(geographic),
      tile_size_(static_cast<int>(tile_size)),
      extent_(extent),
      zoom0_width_(zoom0_width),
      zoom0_height_(zoom0_height),
      zoom0_tile_span_((extent.max_x - extent.min_x) / zoom0_width) {}

TileMatrixSet TileMatrixSet::WebMercatorQuad(TileSize tile_size) {
  return TileMatrixSet("WebMercatorQuad", "EPSG:3857", /*geographic=*/false, tile_size,
                       Bounds{-kWebMercatorHalfExtent, -kWebMercatorHalfExtent,
                              kWebMercatorHalfExtent, kWebMercatorHalfExtent},
                       1, 1);
}

TileMatrixSet TileMatrixSet::WorldCRS84Quad(TileSize tile_size) {
  return TileMatrixSet("WorldCRS84Quad", "OGC:CRS84", /*geographic=*/true, tile_size,
                       Bounds{-180.0, -90.0, 180.0, 90.0}, 2, 1);
}

absl::StatusOr<ZoomStrategy> ParseZoomStrategy(absl::string_view name) {
  if (name == "nearest") return ZoomStrategy::kNearest;
  if (name == "lower") return ZoomStrategy::kLower;
  if (name == "upper") return ZoomStrategy::kUpper;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown zoom strategy '", name, "': use nearest, lower or upper"));
}

absl::StatusOr<TileMatrixSet> TileMatrixSet::FromName(absl::string_view name, int tile_size) {
  if (tile_size != 256 && tile_size != 512) {
    return absl::InvalidArgumentError(absl::StrCat("tile matrix set '", name, "': tile size ",
                                                   tile_size, " is not supported; use 256 or 512"));
  }
  const TileSize size = tile_size == 512 ? TileSize::k512 : TileSize::k256;
  if (absl::EqualsIgnoreCase(name, "WebMercatorQuad")) return WebMercatorQuad(size);
  if (absl::EqualsIgnoreCase(name, "WorldCRS84Quad")) return WorldCRS84Quad(size);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown tile matrix set '", name,
                   "': use WebMercatorQuad (EPSG:3857) or WorldCRS84Quad (OGC:CRS84)"));
}

Bounds TileMatrixSet::extent() const { return extent_; }

bool TileMatrixSet::IsValid(const TileId& tile) const {
  return IsValidZoom(tile.z) && tile.x < MatrixWidth(tile.z) && tile.y < MatrixHeight(tile.z);
}

uint32_t TileMatrixSet::MatrixWidth(int z) const { return IsValidZoom(z) ? zoom0_width_ << z : 0; }

uint32_t TileMatrixSet::MatrixHeight(int z) const {
  return IsValidZoom(z) ? zoom0_height_ << z : 0;
}

uint64_t TileMatrixSet::KeyEnd(int z) const {
  if (!IsValidZoom(z)) return 0;
  return MortonEncode(MatrixWidth(z) - 1, MatrixHeight(z) - 1) + 1;
}

double TileMatrixSet::TileSpan(int z) const {
  if (!IsValidZoom(z)) return std::numeric_limits<double>::quiet_NaN();
  // Division by a power of two is exact, so every zoom's span is exact to the last bit.
  return zoom0_tile_span_ / static_cast<double>(uint64_t{1} << z);
}

double TileMatrixSet::Resolution(int z) const { return TileSpan(z) / tile_size_; }

double TileMatrixSet::ScaleDenominator(int z) const {
  const double metres_per_unit = geographic_ ? kMetresPerDegree : 1.0;
  return Resolution(z) * metres_per_unit / kStandardPixelSizeMetres;
}

Bounds TileMatrixSet::TileBounds(const TileId& tile) const {
  const double span = TileSpan(tile.z);
  Bounds b;
  b.min_x = extent_.min_x + tile.x * span;
  b.max_x = extent_.min_x + (static_cast<double>(tile.x) + 1.0) * span;
  b.max_y = extent_.max_y - tile.y * span;
  b.min_y = extent_.max_y - (static_cast<double>(tile.y) + 1.0) * span;
  return b;
}

absl::StatusOr<Bounds> TileMatrixSet::TileBoundsLonLat(const TileId& tile) const {
  if (!IsValid(tile)) {
    return absl::InvalidArgumentError(absl::StrCat(
        id_, ": tile ", tile.z, "/", tile.x, "/", tile.y, " is outside the tile matrix (zoom 0..",
        kMaxZoom, ", ", MatrixWidth(tile.z), " x ", MatrixHeight(tile.z), " tiles)"));
  }
  const Bounds b = TileBounds(tile);
  Bounds out;
  CrsToLonLat(b.min_x, b.min_y, &out.min_x, &out.min_y);
  CrsToLonLat(b.max_x, b.max_y, &out.max_x, &out.max_y);
  return out;
}

void TileMatrixSet::CrsToPixel(double x, double y, int z, double* pixel_x, double* pixel_y) const {
  const double resolution = Resolution(z);
  *pixel_x = (x - extent_.min_x) / resolution;
  *pixel_y = (extent_.max_y - y) / resolution;
}

void TileMatrixSet::PixelToCrs(double pixel_x, double pixel_y, int z, double* x, double* y) const {
  const double resolution = Resolution(z);
  *x = extent_.min_x + pixel_x * resolution;
  *y = extent_.max_y - pixel_y * resolution;
}

TileId TileMatrixSet::TileForCrs(double x, double y, int z) const {
  if (!IsValidZoom(z)) return TileId{z, 0, 0};
  const double span = TileSpan(z);
  const double last_column = static_cast<double>(MatrixWidth(z) - 1);
  const double last_row = static_cast<double>(MatrixHeight(z) - 1);
  double column = std::floor((x - extent_.min_x) / span);
  double row = std::floor((extent_.max_y - y) / span);
  // NaN compares false everywhere: std::max/min with the NaN second keep the bound.
  column = std::min(std::max(0.0, column), last_column);
  row = std::min(std::max(0.0, row), last_row);
  if (std::isnan(column)) column = 0;
  if (std::isnan(row)) row = 0;
  return TileId{z, static_cast<uint32_t>(column), static_cast<uint32_t>(row)};
}

TileId TileMatrixSet::TileForLonLat(double lon, double lat, int z) const {
  double x, y;
  LonLatToCrs(lon, lat, &x, &y);
  return TileForCrs(x, y, z);
}

void TileMatrixSet::LonLatToCrs(double lon, double lat, double* x, double* y) const {
  if (geographic_) {
    *x = lon;
    *y = lat;
    return;
  }
  const double clamped = std::max(-kWebMercatorMaxLatitude, std::min(kWebMercatorMaxLatitude, lat));
  *x = kEarthRadius * lon * kDegToRad;
  if (clamped >= kWebMercatorMaxLatitude) {
    *y = kWebMercatorHalfExtent;  // Exactly the extent's edge, not a rounding away from it.
  } else if (clamped <= -kWebMercatorMaxLatitude) {
    *y = -kWebMercatorHalfExtent;
  } else {
    *y = kEarthRadius * std::log(std::tan(kPi / 4.0 + clamped * kDegToRad / 2.0));
  }
  // NaN in, NaN out (std::min/max above would have swallowed it).
  if (std::isnan(lat)) *y = lat;
}

void TileMatrixSet::CrsToLonLat(double x, double y, double* lon, double* lat) const {
  if (geographic_) {
    *lon = x;
    *lat = y;
    return;
  }
  *lon = x / kEarthRadius * kRadToDeg;
  *lat = std::atan(std::sinh(y / kEarthRadius)) * kRadToDeg;
}

namespace {

// TileSpanOnAxis returns the inclusive tile index range [first, last] covered by the
// coordinates [lo, hi] measured in tiles from the matrix origin, clamped to [0, count).
void TileSpanOnAxis(double lo, double hi, uint32_t count, uint32_t* first, uint32_t* last) {
  double a = std::floor(lo + kEdgeEpsilonTiles);
  double b = std::ceil(hi - kEdgeEpsilonTiles) - 1.0;
  if (b < a) b = a;  // A zero-width box (or one thinner than the slack) covers one tile.
  const double max_index = static_cast<double>(count - 1);
  a = std::min(std::max(a, 0.0), max_index);
  b = std::min(std::max(b, 0.0), max_index);
  *first = static_cast<uint32_t>(a);
  *last = static_cast<uint32_t>(b);
}

// OutsideOnAxis is true when [lo, hi] does not meet [extent_lo, extent_hi]; a box with
// positive width that only touches the extent's edge is outside.
bool OutsideOnAxis(double lo, double hi, double extent_lo, double extent_hi) {
  if (hi < extent_lo || lo > extent_hi) return true;
  return lo < hi && (hi <= extent_lo || lo >= extent_hi);
}

}  // namespace

bool TileMatrixSet::CoveringTiles(const Bounds& bounds, int z, uint32_t* min_x, uint32_t* min_y,
                                  uint32_t* max_x, uint32_t* max_y) const {
  *min_x = *min_y = 1;
  *max_x = *max_y = 0;
  // Written so that NaN fails every test.
  if (!IsValidZoom(z) || !(bounds.min_x <= bounds.max_x) || !(bounds.min_y <= bounds.max_y)) {
    return false;
  }
  if (OutsideOnAxis(bounds.min_x, bounds.max_x, extent_.min_x, extent_.max_x) ||
      OutsideOnAxis(bounds.min_y, bounds.max_y, extent_.min_y, extent_.max_y)) {
    return false;
  }
  const double span = TileSpan(z);
  TileSpanOnAxis((bounds.min_x - extent_.min_x) / span, (bounds.max_x - extent_.min_x) / span,
                 MatrixWidth(z), min_x, max_x);
  TileSpanOnAxis((extent_.max_y - bounds.max_y) / span, (extent_.max_y - bounds.min_y) / span,
                 MatrixHeight(z), min_y, max_y);
  return true;
}

std::vector<TileRect> TileMatrixSet::CoveringTileRanges(const std::vector<Bounds>& parts,
                                                        int z) const {
  std::vector<TileRect> ranges;
  for (const Bounds& part : parts) {
    TileRect r;
    if (CoveringTiles(part, z, &r.min_x, &r.min_y, &r.max_x, &r.max_y)) ranges.push_back(r);
  }
  // Join rectangles sharing a tile until none do (at most a handful: one per part).
  for (bool joined = true; joined;) {
    joined = false;
    for (size_t i = 0; i < ranges.size() && !joined; ++i) {
      for (size_t j = i + 1; j < ranges.size() && !joined; ++j) {
        TileRect& a = ranges[i];
        const TileRect& b = ranges[j];
        if (a.min_x <= b.max_x && b.min_x <= a.max_x && a.min_y <= b.max_y && b.min_y <= a.max_y) {
          a = TileRect{std::min(a.min_x, b.min_x), std::min(a.min_y, b.min_y),
                       std::max(a.max_x, b.max_x), std::max(a.max_y, b.max_y)};
          ranges.erase(ranges.begin() + static_cast<std::ptrdiff_t>(j));
          joined = true;
        }
      }
    }
  }
  return ranges;
}

int TileMatrixSet::ZoomForResolution(double resolution, ZoomStrategy strategy) const {
  if (std::isnan(resolution)) return 0;
  if (resolution <= 0) return kMaxZoom;
  int z = 0;
  double previous = 0;
  double current = 0;
  for (; z <= kMaxZoom; ++z) {
    current = Resolution(z);
    if (resolution > current || std::fabs(resolution - current) / current <= kResolutionEpsilon) {
      break;
    }
    previous = current;
  }
  if (z > kMaxZoom) return kMaxZoom;
  if (z > 0 && std::fabs(resolution - current) / current > kResolutionEpsilon) {
    switch (strategy) {
      case ZoomStrategy::kLower:
        --z;
        break;
      case ZoomStrategy::kUpper:
        break;
      case ZoomStrategy::kNearest:
        if (previous / resolution < resolution / current) --z;
        break;
    }
  }
  return z;
}

uint32_t TmsRow(int z, uint32_t xyz_row, const TileMatrixSet& tms) {
  return tms.MatrixHeight(z) - 1 - xyz_row;
}

}  // namespace geo
}  // namespace flatpyramid
