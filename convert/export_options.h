// ExportOptions: what every export from a pyramid (PMTiles, MBTiles, XYZ directory) accepts:
// the zoom range and area to copy, the terrain encoding of elevation pyramids, the output
// rules and a progress callback.
//
// Exports copy the stored tile bytes unchanged (JPEG, PNG, WebP, as the pyramid holds them;
// a "jpeg" pyramid with alpha also holds PNG/WebP tiles at the data's edges, and those are
// copied as they are). Elevation pyramids export only with a terrain encoding: each tile is
// decoded and re-encoded as a terrain-RGB PNG (codec/terrain_rgb.h).
#ifndef FLATPYRAMID_CONVERT_EXPORT_OPTIONS_H_
#define FLATPYRAMID_CONVERT_EXPORT_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/terrain_rgb.h"
#include "geo/tile_matrix_set.h"

namespace flatpyramid {
namespace convert {

// ExportProgress is reported after every 4096 tiles and once at the end.
struct ExportProgress {
  uint64_t tiles_done = 0;
  uint64_t tiles_total = 0;
  uint64_t bytes_written = 0;
};

struct ExportOptions {
  // min_zoom, max_zoom: the levels to copy, clamped to the pyramid's; -1 = the pyramid's own.
  int min_zoom = -1;
  int max_zoom = -1;
  // bbox: copy only tiles meeting this box (min_x, min_y, max_x, max_y in `bbox_srs`).
  std::optional<geo::Bounds> bbox;
  // bbox_srs: EPSG:4326 (also OGC:CRS84) and EPSG:3857 are converted here; any other CRS goes
  // through bbox_transform. Longitude, latitude order for geographic CRSs.
  std::string bbox_srs = "EPSG:4326";
  // bbox_transform returns `bbox` transformed from the CRS `from` to the CRS `to` (their
  // user-input names, such as "EPSG:32633" and "EPSG:3857"), as the box covering the
  // transformed edges. Needed only for a bbox_srs other than those above: convert links no
  // CRS library, so that copying tiles starts fast; geo::TransformBounds (geo/crs.h) is one.
  // Unset: such a bbox_srs is refused (InvalidArgument).
  std::function<absl::StatusOr<geo::Bounds>(const geo::Bounds& bbox, absl::string_view from,
                                            absl::string_view to)>
      bbox_transform;
  // terrain_encoding: REQUIRED for elevation pyramids, refused for imagery.
  std::optional<codec::TerrainEncoding> terrain_encoding;
  // name: the tileset's name in the output's metadata; empty = the output's file stem.
  std::string name;
  // overwrite: replace an existing output (never one of the inputs).
  bool overwrite = false;
  std::function<void(const ExportProgress&)> progress;
};

}  // namespace convert
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CONVERT_EXPORT_OPTIONS_H_
