#include "pyramid/reader.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "geo/crs.h"
#include "pyramid/internal/read/render.h"
#include "pyramid/internal/read/request_srs.h"
#include "pyramid/internal/read/sample.h"
#include "pyramid/internal/read/tile_source.h"
#include "pyramid/internal/read/verify.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {

Reader::Reader(std::unique_ptr<TileBytesReader> bytes, std::string tms_srs_wkt,
               std::shared_ptr<TileCache> cache)
    : bytes_(std::move(bytes)),
      pixel_type_(*FromProtoPixelType(metadata().pixel_type())),
      cache_(std::move(cache)),
      tiles_(std::make_unique<internal::TileSource>(
          path(), &storage(), &metadata(), &tile_matrix_set(), std::move(tms_srs_wkt), cache_)),
      srs_cache_(std::make_unique<internal::RequestSrsCache>()) {}

Reader::~Reader() = default;

absl::StatusOr<std::unique_ptr<Reader>> Reader::Open(const std::string& path,
                                                     const ReaderOptions& options) {
  TileBytesReaderOptions bytes_options;
  bytes_options.allow_being_written = options.allow_being_written;
  absl::StatusOr<std::unique_ptr<TileBytesReader>> bytes =
      TileBytesReader::Open(path, bytes_options);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<OGRSpatialReference> tms_srs = geo::TileMatrixSetSrs((*bytes)->tile_matrix_set());
  if (!tms_srs.ok()) return tms_srs.status();
  std::shared_ptr<TileCache> cache = options.cache;
  if (cache == nullptr) cache = std::make_shared<TileCache>(options.private_cache_bytes);
  return std::unique_ptr<Reader>(
      new Reader(*std::move(bytes), internal::ToWkt(*tms_srs), std::move(cache)));
}

// ---------------------------------------------------------------------------------------------
// Tiles

absl::StatusOr<std::shared_ptr<const codec::Image>> Reader::GetTile(int z, uint32_t x,
                                                                    uint32_t y) const {
  // GetTileBytes produces the precise NotFound / OutOfRange errors.
  absl::StatusOr<absl::string_view> bytes = GetTileBytes(z, x, y);
  if (!bytes.ok()) return bytes.status();
  return tiles_->FindTile(z, x, y);
}

absl::Status Reader::Verify() const { return internal::VerifyPyramid(*tiles_); }

absl::StatusOr<std::optional<double>> Reader::Sample(double lon, double lat, SampleMethod method,
                                                     int band) const {
  return internal::SamplePoint(*tiles_, lon, lat, method, band);
}

// ---------------------------------------------------------------------------------------------
// Regions

namespace {

absl::Status CheckRequestShape(const RegionRequest& request) {
  const geo::Bounds& bbox = request.bbox;
  if (!std::isfinite(bbox.min_x) || !std::isfinite(bbox.min_y) || !std::isfinite(bbox.max_x) ||
      !std::isfinite(bbox.max_y) || bbox.min_y >= bbox.max_y) {
    return absl::InvalidArgumentError(
        absl::StrCat("bbox ", bbox.min_x, ",", bbox.min_y, ",", bbox.max_x, ",", bbox.max_y,
                     " is empty or inverted: give min_x,min_y,max_x,max_y with min < max"));
  }
  if (request.width < 1 || request.height < 1 || request.width > kMaxRegionSide ||
      request.height > kMaxRegionSide) {
    return absl::InvalidArgumentError(absl::StrCat("size ", request.width, "x", request.height,
                                                   " is outside 1..", kMaxRegionSide,
                                                   " pixels per side"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Region> Reader::ReadRegion(const RegionRequest& request) const {
  if (absl::Status s = CheckRequestShape(request); !s.ok()) return s;
  internal::ResolvedSrs srs;
  if (absl::Status s = srs_cache_->Resolve(request.srs, tiles_->tms_srs_wkt(), &srs); !s.ok()) {
    return s;
  }
  // x wraps around the globe in geographic CRSs and in the set's own (both sets span it): a
  // bbox with min_x > max_x crosses the antimeridian, and one reaching past the world's edge
  // reads the other side.
  double period = 0, world_min_x = 0;
  if (srs.srs->same_as_tile_matrix_set) {
    period = tile_matrix_set().extent().max_x - tile_matrix_set().extent().min_x;
    world_min_x = tile_matrix_set().extent().min_x;
  } else if (srs.srs->geographic) {
    period = 360;
    world_min_x = -180;
  }
  const geo::Bounds& bbox = request.bbox;
  RegionRequest unwrapped = request;
  if (period > 0 && bbox.min_x > bbox.max_x) unwrapped.bbox.max_x += period;
  const geo::Bounds& wide = unwrapped.bbox;
  if (wide.min_x >= wide.max_x || (period > 0 && wide.max_x - wide.min_x > period * (1 + 1e-9))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bbox ", bbox.min_x, ",", bbox.min_y, ",", bbox.max_x, ",", bbox.max_y,
        " is empty, inverted or wider than the world: give min_x,min_y,max_x,max_y with min < "
        "max",
        period > 0 ? " (or min_x > max_x for a bbox crossing the antimeridian)" : ""));
  }
  if (period == 0 || (wide.min_x >= world_min_x && wide.max_x <= world_min_x + period)) {
    return internal::RenderRegion(*tiles_, unwrapped, srs);
  }
  return internal::RenderAcrossWorldEdges(*tiles_, unwrapped, srs, world_min_x, period);
}

}  // namespace pyramid
}  // namespace flatpyramid
