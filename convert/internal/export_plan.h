// Internal to //convert: what every export does before it writes a byte. PlanExport checks
// that the pyramid fits the target formats (WebMercatorQuad, image tiles or a terrain
// encoding) and selects the tiles of the requested zooms and area; TileSource hands out the
// bytes to write for each selected tile and counts the codecs it saw.
#ifndef FLATPYRAMID_CONVERT_INTERNAL_EXPORT_PLAN_H_
#define FLATPYRAMID_CONVERT_INTERNAL_EXPORT_PLAN_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/options.h"
#include "convert/export_options.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/tile_bytes_reader.h"

namespace flatpyramid {
namespace convert {
namespace internal {

// SelectedLevel lists the tiles of one level to export, as storage entry indices in key
// order.
struct SelectedLevel {
  int z = 0;
  uint32_t section = 0;
  std::vector<uint64_t> entries;
};

// ExportPlan is what PlanExport selected, and how the outputs describe the tileset.
struct ExportPlan {
  std::vector<SelectedLevel> levels;  // Ascending zoom; only levels with selected tiles.
  uint64_t tile_count = 0;
  int min_zoom = 0;
  int max_zoom = 0;
  geo::Bounds bounds_lonlat;  // Of the selected tiles' data.
  double center_lon = 0;
  double center_lat = 0;
  int center_zoom = 0;
  std::string name;
  std::string description;  // The pyramid's source description.
  // format: the tiles' format as MBTiles and TileJSON name it ("jpg", "png", "webp"); of
  // the codec the pyramid was built with (a "jpeg" pyramid with alpha also holds PNG/WebP
  // tiles at the data's edges).
  std::string format;
  // attributes: the pyramid's provenance (source, codec, creation options, tool version) for
  // the outputs' metadata, each key prefixed "flatpyramid:".
  std::map<std::string, std::string> attributes;
  // terrain: set when tiles are transcoded (elevation pyramids).
  std::optional<codec::TerrainEncoding> terrain;
};

// PlanExport selects the tiles `options` ask for. `format` ("PMTiles", "MBTiles", "XYZ")
// and `output` name the target in errors and give the default name. Errors: the pyramid is
// not WebMercatorQuad, elevation without options.terrain_encoding (or imagery with one), a
// zoom range or bbox selecting nothing, a bbox_srs GDAL cannot parse.
absl::StatusOr<ExportPlan> PlanExport(const pyramid::TileBytesReader& reader,
                                      const ExportOptions& options, absl::string_view format,
                                      const std::string& output);

// kXyzFormat is the `format` of the XYZ export, whose output is a directory.
inline constexpr char kXyzFormat[] = "XYZ";

// RunExport is every export's frame: the output rules (//storage:output_file; the output is a
// directory for kXyzFormat), PlanExport, then `write(plan, temporary)` into a fresh temporary
// path, committed over `output` when it succeeds and removed when it fails. Errors name
// ExportOptions::overwrite.
absl::Status RunExport(
    const pyramid::TileBytesReader& reader, const std::string& output, const ExportOptions& options,
    absl::string_view format,
    const std::function<absl::Status(const ExportPlan& plan, const std::string& temporary)>& write);

// OverwriteFieldIs is `status` with storage's OutputOptions::overwrite renamed `field` (the
// option the caller of convert set).
absl::Status OverwriteFieldIs(absl::string_view field, const absl::Status& status);

// ContentId identifies stored bytes: deduplicated tiles of a level share one.
struct ContentId {
  uint32_t section = 0;
  uint64_t offset = 0;
  friend bool operator==(const ContentId& a, const ContentId& b) {
    return a.section == b.section && a.offset == b.offset;
  }
  template <typename H>
  friend H AbslHashValue(H h, const ContentId& id) {
    return H::combine(std::move(h), id.section, id.offset);
  }
};

// SelectedTile is one tile of a plan, resolved.
struct SelectedTile {
  int z = 0;
  uint32_t x = 0;
  uint32_t y = 0;  // XYZ row (0 at the top).
  ContentId content;
  uint64_t stored_length = 0;  // Length of the stored bytes (not of a terrain transcode).
  absl::string_view stored;    // Into the Reader's map: valid while it lives.
};

// TileSource reads the tiles of a plan. Not thread-safe.
class TileSource {
 public:
  TileSource(const pyramid::TileBytesReader& reader, const ExportPlan& plan);

  // Tile resolves entry `index` (an element of level.entries).
  SelectedTile Tile(const SelectedLevel& level, uint64_t index) const;

  // Bytes returns what to write for `tile`: the stored bytes (zero-copy, valid while the
  // Reader lives), or its terrain-RGB PNG (in *scratch). DataLoss naming the tile when the
  // stored bytes are empty or not an image of the pyramid's codecs: the pyramid is damaged.
  absl::StatusOr<absl::string_view> Bytes(const SelectedTile& tile, std::string* scratch);

  // codecs_seen: the codecs of the bytes Bytes returned so far (kJpeg, kPng, kWebp).
  const std::vector<codec::CodecId>& codecs_seen() const { return codecs_seen_; }

 private:
  const pyramid::TileBytesReader& reader_;
  const ExportPlan& plan_;
  std::vector<codec::CodecId> codecs_seen_;
};

// ReportEvery is how many tiles pass between progress reports.
inline constexpr uint64_t kProgressEvery = 4096;

}  // namespace internal
}  // namespace convert
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CONVERT_INTERNAL_EXPORT_PLAN_H_
