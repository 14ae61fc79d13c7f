#include "convert/internal/export_plan.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "codec/codec.h"
#include "codec/terrain_rgb.h"
#include "pyramid/format.h"
#include "storage/output_file.h"
#include "storage/store.h"

namespace flatpyramid {
namespace convert {
namespace internal {
namespace {

// CrsKind sorts a bbox_srs: the two CRSs of WebMercatorQuad's maths (geo::TileMatrixSet), or
// one that needs a CRS library.
enum class CrsKind { kLonLat, kWebMercator, kOther };

CrsKind KindOf(absl::string_view srs) {
  for (const char* name : {"EPSG:4326", "OGC:CRS84", "CRS84", "WGS84"}) {
    if (absl::EqualsIgnoreCase(srs, name)) return CrsKind::kLonLat;
  }
  for (const char* name : {"EPSG:3857", "EPSG:900913"}) {
    if (absl::EqualsIgnoreCase(srs, name)) return CrsKind::kWebMercator;
  }
  return CrsKind::kOther;
}

// BboxInSetCrs transforms options.bbox from options.bbox_srs to the set's CRS (EPSG:3857).
absl::StatusOr<geo::Bounds> BboxInSetCrs(const geo::TileMatrixSet& tms,
                                         const ExportOptions& options) {
  const geo::Bounds& b = *options.bbox;
  if (!(b.min_x < b.max_x && b.min_y < b.max_y)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ExportOptions::bbox %g,%g,%g,%g is empty or inverted: give "
                        "min_x,min_y,max_x,max_y",
                        b.min_x, b.min_y, b.max_x, b.max_y));
  }
  switch (KindOf(options.bbox_srs)) {
    case CrsKind::kWebMercator:
      return b;
    case CrsKind::kLonLat: {
      // Web Mercator is cylindrical: a longitude / latitude box maps to a box exactly.
      geo::Bounds out;
      tms.LonLatToCrs(b.min_x, b.min_y, &out.min_x, &out.min_y);
      tms.LonLatToCrs(b.max_x, b.max_y, &out.max_x, &out.max_y);
      return out;
    }
    case CrsKind::kOther:
      break;
  }
  if (!options.bbox_transform) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ExportOptions::bbox_srs ", options.bbox_srs,
        " needs a CRS transformation and ExportOptions::bbox_transform is not set: give the bbox "
        "in EPSG:4326 or EPSG:3857, or set bbox_transform (geo::TransformBounds)"));
  }
  absl::StatusOr<geo::Bounds> out = options.bbox_transform(b, options.bbox_srs, tms.crs());
  if (!out.ok()) {
    return absl::Status(out.status().code(),
                        absl::StrCat("ExportOptions::bbox in ExportOptions::bbox_srs ",
                                     options.bbox_srs, ": ", out.status().message()));
  }
  return out;
}

absl::Status CheckPyramid(const pyramid::TileBytesReader& reader, const ExportOptions& options,
                          absl::string_view format, ExportPlan* plan) {
  if (reader.tile_matrix_set().id() != "WebMercatorQuad") {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.path(), " holds ", reader.tile_matrix_set().id(), " tiles; ", format,
                     " holds WebMercatorQuad tiles only: rebuild it with "
                     "BuildOptions::tile_matrix_set = kWebMercatorQuad"));
  }
  absl::StatusOr<pyramid::TileCodec> codec = pyramid::ParseTileCodec(reader.metadata().codec());
  if (!codec.ok()) return codec.status();
  const bool elevation = *codec == pyramid::TileCodec::kElevation;
  if (elevation && !options.terrain_encoding.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(reader.path(),
                     " holds elevation tiles, which web clients cannot decode: choose "
                     "ExportOptions::terrain_encoding (terrarium or mapbox)"));
  }
  if (!elevation && options.terrain_encoding.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ExportOptions::terrain_encoding applies to elevation pyramids; ",
                     reader.path(), " holds ", reader.metadata().codec(), " imagery"));
  }
  plan->terrain = options.terrain_encoding;
  plan->format = elevation || *codec == pyramid::TileCodec::kPng ? "png"
                 : *codec == pyramid::TileCodec::kJpeg           ? "jpg"
                                                                 : "webp";
  return absl::OkStatus();
}

// SelectLevel fills level->entries with the tiles of `z` inside `rect` (all when null).
void SelectLevel(const pyramid::TileBytesReader& reader, const pyramid::Level& meta,
                 const geo::TileRect* rect, SelectedLevel* level) {
  const storage::Reader& storage = reader.storage();
  level->z = static_cast<int>(meta.zoom());
  level->section = meta.section();
  const uint64_t count = storage.entry_count(meta.section());
  level->entries.reserve(rect == nullptr ? count : 0);
  for (uint64_t i = 0; i < count; ++i) {
    if (rect != nullptr) {
      uint32_t x, y;
      pyramid::TileFromKey(storage.KeyAt(meta.section(), i), &x, &y);
      if (x < rect->min_x || x > rect->max_x || y < rect->min_y || y > rect->max_y) continue;
    }
    level->entries.push_back(i);
  }
}

void Describe(const pyramid::TileBytesReader& reader, absl::string_view output, ExportPlan* plan) {
  const pyramid::PyramidMetadata& m = reader.metadata();
  plan->center_lon = (plan->bounds_lonlat.min_x + plan->bounds_lonlat.max_x) / 2;
  plan->center_lat = (plan->bounds_lonlat.min_y + plan->bounds_lonlat.max_y) / 2;
  plan->center_zoom = plan->min_zoom;
  plan->description = m.source_description();
  if (plan->name.empty()) {
    absl::string_view stem = output;
    while (!stem.empty() && stem.back() == '/') stem.remove_suffix(1);
    stem = stem.substr(stem.rfind('/') + 1);
    plan->name = std::string(stem.substr(0, stem.find('.')));
  }
  plan->attributes["flatpyramid:source"] = m.source_description();
  plan->attributes["flatpyramid:codec"] = m.codec();
  plan->attributes["flatpyramid:tool_version"] = m.tool_version();
  plan->attributes["flatpyramid:created_utc"] = m.created_utc();
  for (const auto& [key, value] : m.creation_options()) {
    plan->attributes[absl::StrCat("flatpyramid:option:", key)] = value;
  }
  if (plan->terrain.has_value()) {
    plan->attributes["encoding"] = std::string(codec::TerrainEncodingName(*plan->terrain));
  }
}

}  // namespace

absl::StatusOr<ExportPlan> PlanExport(const pyramid::TileBytesReader& reader,
                                      const ExportOptions& options, absl::string_view format,
                                      const std::string& output) {
  ExportPlan plan;
  plan.name = options.name;
  if (absl::Status s = CheckPyramid(reader, options, format, &plan); !s.ok()) return s;
  const geo::TileMatrixSet& tms = reader.tile_matrix_set();
  std::optional<geo::Bounds> bbox;
  if (options.bbox.has_value()) {
    absl::StatusOr<geo::Bounds> b = BboxInSetCrs(tms, options);
    if (!b.ok()) return b.status();
    bbox = *b;
  }
  const int lo = std::max(reader.min_zoom(), options.min_zoom < 0 ? 0 : options.min_zoom);
  const int hi = std::min(reader.max_zoom(), options.max_zoom < 0 ? 99 : options.max_zoom);
  for (int z = lo; z <= hi; ++z) {
    const pyramid::Level* meta = reader.FindLevel(z);
    if (meta == nullptr) continue;
    geo::TileRect rect;
    if (bbox.has_value() &&
        !tms.CoveringTiles(*bbox, z, &rect.min_x, &rect.min_y, &rect.max_x, &rect.max_y)) {
      continue;
    }
    SelectedLevel level;
    SelectLevel(reader, *meta, bbox.has_value() ? &rect : nullptr, &level);
    if (level.entries.empty()) continue;
    plan.tile_count += level.entries.size();
    plan.levels.push_back(std::move(level));
  }
  if (plan.levels.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no tiles of ", reader.path(), " in zooms ", lo, "..", hi,
        bbox.has_value() ? " inside the bbox" : "", ": the pyramid has zooms ", reader.min_zoom(),
        "..", reader.max_zoom(), "; widen the zoom range or the bbox"));
  }
  plan.min_zoom = plan.levels.front().z;
  plan.max_zoom = plan.levels.back().z;
  const pyramid::Bounds& data = reader.metadata().bounds_lonlat();
  plan.bounds_lonlat = {data.min_x(), data.min_y(), data.max_x(), data.max_y()};
  if (bbox.has_value()) {
    double min_lon, min_lat, max_lon, max_lat;
    tms.CrsToLonLat(bbox->min_x, bbox->min_y, &min_lon, &min_lat);
    tms.CrsToLonLat(bbox->max_x, bbox->max_y, &max_lon, &max_lat);
    plan.bounds_lonlat = {std::max(min_lon, data.min_x()), std::max(min_lat, data.min_y()),
                          std::min(max_lon, data.max_x()), std::min(max_lat, data.max_y())};
  }
  Describe(reader, output, &plan);
  return plan;
}

absl::Status RunExport(const pyramid::TileBytesReader& reader, const std::string& output,
                       const ExportOptions& options, absl::string_view format,
                       const std::function<absl::Status(const ExportPlan& plan,
                                                        const std::string& temporary)>& write) {
  std::string path = output;  // A directory named with a trailing '/' is the same directory.
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  storage::OutputOptions output_options;
  output_options.overwrite = options.overwrite;
  output_options.inputs = {reader.path()};
  output_options.directory = format == kXyzFormat;
  if (absl::Status s = storage::CheckOutput(path, output_options); !s.ok()) {
    return OverwriteFieldIs("ExportOptions::overwrite", s);
  }
  absl::StatusOr<ExportPlan> plan = PlanExport(reader, options, format, path);
  if (!plan.ok()) return plan.status();
  const std::string temporary = storage::TemporaryPath(path);
  storage::RemoveOutput(temporary);  // A crashed run's leftover.
  absl::Status status = write(*plan, temporary);
  if (status.ok()) status = storage::CommitOutput(temporary, path);
  if (!status.ok()) storage::RemoveOutput(temporary);
  return status;
}

absl::Status OverwriteFieldIs(absl::string_view field, const absl::Status& status) {
  return absl::Status(
      status.code(),
      absl::StrReplaceAll(status.message(), {{"OutputOptions::overwrite", field},
                                             {"TileWriterOptions::overwrite", field}}));
}

TileSource::TileSource(const pyramid::TileBytesReader& reader, const ExportPlan& plan)
    : reader_(reader), plan_(plan) {}

SelectedTile TileSource::Tile(const SelectedLevel& level, uint64_t index) const {
  const storage::Reader& storage = reader_.storage();
  SelectedTile tile;
  tile.z = level.z;
  pyramid::TileFromKey(storage.KeyAt(level.section, index), &tile.x, &tile.y);
  const storage::ValueRef ref = storage.ValueRefAt(level.section, index);
  tile.content = {level.section, ref.offset};
  tile.stored_length = ref.length;
  tile.stored = storage.ValueAt(level.section, index);
  return tile;
}

absl::StatusOr<absl::string_view> TileSource::Bytes(const SelectedTile& tile,
                                                    std::string* scratch) {
  const std::string name = absl::StrCat("tile ", tile.z, "/", tile.x, "/", tile.y);
  if (tile.stored.empty()) {
    return absl::DataLossError(absl::StrCat(name, " of ", reader_.path(),
                                            " has no bytes: the file is damaged "
                                            "(run verify_pyramid), nothing was converted"));
  }
  absl::StatusOr<codec::CodecId> codec = codec::DetectCodec(tile.stored);
  if (!codec.ok()) {
    return absl::DataLossError(absl::StrCat(name, " of ", reader_.path(),
                                            " is not JPEG, PNG, WebP or elevation data: the file "
                                            "is damaged (run verify_pyramid)"));
  }
  if (!plan_.terrain.has_value()) {
    if (std::find(codecs_seen_.begin(), codecs_seen_.end(), *codec) == codecs_seen_.end()) {
      codecs_seen_.push_back(*codec);
    }
    return tile.stored;
  }
  absl::StatusOr<codec::Image> elevation = codec::Decode(tile.stored);
  if (!elevation.ok()) {
    return absl::DataLossError(
        absl::StrCat(name, " of ", reader_.path(), ": ", elevation.status().message()));
  }
  const pyramid::PyramidMetadata& m = reader_.metadata();
  absl::StatusOr<codec::Image> rgb =
      codec::EncodeTerrainRgb(elevation->view(), *plan_.terrain,
                              m.has_nodata() ? std::optional<double>(m.nodata()) : std::nullopt);
  if (!rgb.ok()) return rgb.status();
  if (absl::Status s = codec::Encode(codec::CodecId::kPng, rgb->view(), {}, scratch); !s.ok()) {
    return s;
  }
  if (codecs_seen_.empty()) codecs_seen_.push_back(codec::CodecId::kPng);
  return absl::string_view(*scratch);
}

}  // namespace internal
}  // namespace convert
}  // namespace flatpyramid
