#include "pyramid/build_options.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace pyramid {

absl::string_view TileMatrixSetIdName(TileMatrixSetId id) {
  switch (id) {
    case TileMatrixSetId::kWebMercatorQuad:
      return "WebMercatorQuad";
    case TileMatrixSetId::kWorldCRS84Quad:
      return "WorldCRS84Quad";
  }
  return "WebMercatorQuad";
}

absl::StatusOr<TileMatrixSetId> ParseTileMatrixSetId(absl::string_view name) {
  for (TileMatrixSetId id : {TileMatrixSetId::kWebMercatorQuad, TileMatrixSetId::kWorldCRS84Quad}) {
    if (name == TileMatrixSetIdName(id)) return id;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown tile matrix set \"", name,
                                                 "\": use WebMercatorQuad or WorldCRS84Quad"));
}

int MaxBuildThreads() {
  return 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

namespace {

absl::Status CheckZooms(const BuildOptions& options) {
  const int max = geo::TileMatrixSet::kMaxZoom;
  if (options.min_zoom < 0 || options.min_zoom > max) {
    return absl::InvalidArgumentError(absl::StrCat("BuildOptions::min_zoom=", options.min_zoom,
                                                   " is out of range: use 0..", max));
  }
  if (options.max_zoom.has_value()) {
    if (*options.max_zoom < 0 || *options.max_zoom > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("BuildOptions::max_zoom=", *options.max_zoom, " is out of range: use 0..",
                       max, " (or leave it unset for the source resolution)"));
    }
    if (*options.max_zoom < options.min_zoom) {
      return absl::InvalidArgumentError(
          absl::StrCat("BuildOptions::max_zoom=", *options.max_zoom,
                       " is below BuildOptions::min_zoom=", options.min_zoom));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBands(const BuildOptions& options) {
  for (int band : options.bands) {
    if (band < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("BuildOptions::bands: band ", band, " is invalid: bands count from 1"));
    }
  }
  if (options.bands.size() > 4) {
    return absl::InvalidArgumentError(absl::StrCat("BuildOptions::bands: ", options.bands.size(),
                                                   " bands selected: a pyramid holds 1 to 4"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateBuildOptions(const BuildOptions& options) {
  if (options.inputs.empty()) {
    return absl::InvalidArgumentError("BuildOptions::inputs is empty: give at least one raster");
  }
  for (const std::string& input : options.inputs) {
    if (input.empty()) {
      return absl::InvalidArgumentError("BuildOptions::inputs holds an empty path");
    }
  }
  if (options.output.empty()) {
    return absl::InvalidArgumentError("BuildOptions::output is empty: give the FILE.fpyr to write");
  }
  if (options.tile_size != 256 && options.tile_size != 512) {
    return absl::InvalidArgumentError(absl::StrCat("BuildOptions::tile_size=", options.tile_size,
                                                   " is not supported: use 256 or 512"));
  }
  if (absl::Status s = CheckZooms(options); !s.ok()) return s;
  if (options.quality < 1 || options.quality > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("BuildOptions::quality=", options.quality, " is out of range: use 1..100"));
  }
  if (options.overview_resampling == Resampling::kCubicSpline) {
    return absl::InvalidArgumentError(
        "BuildOptions::overview_resampling=cubicspline is not supported: use average, mode, "
        "nearest, bilinear, cubic or lanczos");
  }
  if (absl::Status s = CheckBands(options); !s.ok()) return s;
  if (options.nodata.has_value() && std::isinf(*options.nodata)) {
    return absl::InvalidArgumentError("BuildOptions::nodata must be finite or NaN");
  }
  if (options.threads.has_value() && *options.threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("BuildOptions::threads=", *options.threads,
                     " is invalid: use 1 or more (or leave it unset for one per core)"));
  }
  if (!(options.max_error_pixels >= 0) || std::isinf(options.max_error_pixels)) {
    return absl::InvalidArgumentError(
        absl::StrCat("BuildOptions::max_error_pixels=", options.max_error_pixels,
                     " is invalid: use 0 or more pixels"));
  }
  if (options.commit_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("BuildOptions::commit_interval must be >= 0");
  }
  return absl::OkStatus();
}

}  // namespace pyramid
}  // namespace flatpyramid
