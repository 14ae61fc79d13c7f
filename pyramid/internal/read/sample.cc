#include "pyramid/internal/read/sample.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "pyramid/internal/read/samples.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

using TilePtr = std::shared_ptr<const codec::Image>;

// LevelPoint reads band `band` of level `z` around one point; `home` is the (stored) tile
// under the point, which decides whether the level has data there.
class LevelPoint {
 public:
  LevelPoint(const TileSource& tiles, int z, int band, TilePtr home, int64_t home_x, int64_t home_y)
      : tiles_(tiles),
        z_(z),
        band_(band),
        ts_(tiles.tile_size()),
        width_(int64_t{tiles.tms().MatrixWidth(z)} * ts_),
        height_(int64_t{tiles.tms().MatrixHeight(z)} * ts_),
        home_(std::move(home)),
        home_tx_(home_x / ts_),
        home_ty_(home_y / ts_),
        nodata_(tiles.nodata()) {}

  // ValueAt reads global pixel (gx, gy) of the level; nullopt where there is no data
  // (outside the matrix, no tile, transparent, nodata or NaN).
  absl::StatusOr<std::optional<double>> ValueAt(int64_t gx, int64_t gy) const {
    if (gx < 0 || gy < 0 || gx >= width_ || gy >= height_) return std::optional<double>();
    TilePtr tile;
    if (gx / ts_ == home_tx_ && gy / ts_ == home_ty_) {
      tile = home_;
    } else {
      absl::StatusOr<TilePtr> other =
          tiles_.FindTile(z_, static_cast<uint32_t>(gx / ts_), static_cast<uint32_t>(gy / ts_));
      if (!other.ok()) return other.status();
      tile = *std::move(other);
    }
    if (tile == nullptr) return std::optional<double>();
    const codec::PixelType type = tiles_.pixel_type();
    const size_t sample_bytes = codec::BytesPerSample(type);
    const uint8_t* pixel = tile->data() + static_cast<size_t>(gy % ts_) * tile->row_stride() +
                           static_cast<size_t>(gx % ts_) * sample_bytes * tile->bands();
    if (tiles_.has_alpha() && ReadSample(pixel + (tile->bands() - 1) * sample_bytes, type) == 0) {
      return std::optional<double>();
    }
    const double v = ReadSample(pixel + band_ * sample_bytes, type);
    if (std::isnan(v) || (nodata_.has_value() && v == *nodata_)) return std::optional<double>();
    return std::optional<double>(v);
  }

  // Bilinear weighs the four pixel centres around (px, py) (centres at half-integers),
  // ignoring those without data; nullopt when none has any.
  absl::StatusOr<std::optional<double>> Bilinear(double px, double py) const {
    const double fx = px - 0.5, fy = py - 0.5;
    const int64_t x0 = static_cast<int64_t>(std::floor(fx));
    const int64_t y0 = static_cast<int64_t>(std::floor(fy));
    const double ax = fx - x0, ay = fy - y0;
    double sum = 0, weight = 0;
    for (int j = 0; j < 2; ++j) {
      for (int i = 0; i < 2; ++i) {
        const double w = (i ? ax : 1 - ax) * (j ? ay : 1 - ay);
        absl::StatusOr<std::optional<double>> v = ValueAt(x0 + i, y0 + j);
        if (!v.ok()) return v.status();
        if (!v->has_value() || w <= 0) continue;
        sum += w * **v;
        weight += w;
      }
    }
    if (weight > 0) return std::optional<double>(sum / weight);
    return std::optional<double>();
  }

 private:
  const TileSource& tiles_;
  const int z_, band_;
  const int64_t ts_, width_, height_;
  const TilePtr home_;
  const int64_t home_tx_, home_ty_;
  const std::optional<double> nodata_;
};

absl::Status CheckSampleArguments(const TileSource& tiles, double lon, double lat, int band) {
  if (!std::isfinite(lon) || !std::isfinite(lat) || lat < -90 || lat > 90 || lon < -540 ||
      lon > 540) {
    return absl::InvalidArgumentError(absl::StrCat("position lon ", lon, ", lat ", lat,
                                                   " is not a longitude/latitude in degrees"));
  }
  const int bands = tiles.band_count();
  if (band < 0 || band >= bands || (tiles.has_alpha() && band == bands - 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("band ", band, " cannot be sampled: the pyramid has ",
                     tiles.has_alpha() ? bands - 1 : bands, " value band(s), from 0"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<double>> SamplePoint(const TileSource& tiles, double lon, double lat,
                                                  SampleMethod method, int band) {
  if (absl::Status s = CheckSampleArguments(tiles, lon, lat, band); !s.ok()) return s;
  while (lon > 180) lon -= 360;
  while (lon < -180) lon += 360;
  const geo::TileMatrixSet& tms = tiles.tms();
  if (!tms.is_geographic() && std::fabs(lat) > geo::kWebMercatorMaxLatitude) {
    return std::optional<double>();
  }
  double x, y;
  tms.LonLatToCrs(lon, lat, &x, &y);
  const int64_t ts = tiles.tile_size();
  for (int z = tiles.max_zoom(); z >= tiles.min_zoom(); --z) {
    if (tiles.SectionFor(z) < 0) continue;
    double px, py;
    tms.CrsToPixel(x, y, z, &px, &py);
    const int64_t nx = std::min<int64_t>(int64_t{tms.MatrixWidth(z)} * ts - 1,
                                         std::max<int64_t>(0, std::floor(px)));
    const int64_t ny = std::min<int64_t>(int64_t{tms.MatrixHeight(z)} * ts - 1,
                                         std::max<int64_t>(0, std::floor(py)));
    absl::StatusOr<TilePtr> home =
        tiles.FindTile(z, static_cast<uint32_t>(nx / ts), static_cast<uint32_t>(ny / ts));
    if (!home.ok()) return home.status();
    if (*home == nullptr) continue;
    const LevelPoint level(tiles, z, band, *std::move(home), nx, ny);
    // A level without a value here (nodata, transparent) defers to the coarser levels, as a
    // missing tile does: their pixels may average valid samples around the hole.
    absl::StatusOr<std::optional<double>> v =
        method == SampleMethod::kNearest ? level.ValueAt(nx, ny) : level.Bilinear(px, py);
    if (!v.ok() || v->has_value()) return v;
  }
  return std::optional<double>();
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
