#include "convert/xyz_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "convert/internal/export_plan.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace flatpyramid {
namespace convert {
namespace {

using internal::ContentId;
using internal::ExportPlan;
using internal::SelectedTile;
using internal::TileSource;

absl::Status MakeDirectory(const std::string& path) {
  if (mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("cannot create the directory ", path, ": ", std::strerror(errno)));
}

absl::Status WriteFile(const std::string& path, absl::string_view bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  const bool written = write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  const int error = errno;
  if (close(fd) != 0 || !written) {
    return absl::ResourceExhaustedError(
        absl::StrCat("writing ", path, " failed: ", std::strerror(error), " (disk full?)"));
  }
  return absl::OkStatus();
}

std::string TileJson(const ExportPlan& plan) {
  google::protobuf::Struct json;
  auto& f = *json.mutable_fields();
  f["tilejson"].set_string_value("3.0.0");
  f["name"].set_string_value(plan.name);
  f["description"].set_string_value(plan.description);
  f["format"].set_string_value(plan.format);
  f["scheme"].set_string_value("xyz");
  f["tiles"].mutable_list_value()->add_values()->set_string_value(
      absl::StrCat("{z}/{x}/{y}.", plan.format));
  f["minzoom"].set_number_value(plan.min_zoom);
  f["maxzoom"].set_number_value(plan.max_zoom);
  const geo::Bounds& b = plan.bounds_lonlat;
  for (double v : {b.min_x, b.min_y, b.max_x, b.max_y}) {
    f["bounds"].mutable_list_value()->add_values()->set_number_value(v);
  }
  for (double v : {plan.center_lon, plan.center_lat, 1.0 * plan.center_zoom}) {
    f["center"].mutable_list_value()->add_values()->set_number_value(v);
  }
  for (const auto& [key, value] : plan.attributes) f[key].set_string_value(value);
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(json, &out, options);
  return out;
}

constexpr char kIndexHtml[] = R"(<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>$NAME</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="https://unpkg.com/leaflet@1.9.4/dist/leaflet.css" crossorigin="">
<script src="https://unpkg.com/leaflet@1.9.4/dist/leaflet.js" crossorigin=""></script>
<style>html, body, #map { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="map"></div>
<script>
var map = L.map('map');
L.tileLayer('{z}/{x}/{y}.$EXT', {minZoom: $MINZOOM, maxNativeZoom: $MAXZOOM, maxZoom: $MAXZOOM_PLUS,
    bounds: [[$SOUTH, $WEST], [$NORTH, $EAST]]}).addTo(map);
map.fitBounds([[$SOUTH, $WEST], [$NORTH, $EAST]]);
</script>
</body>
</html>
)";

std::string IndexHtml(const ExportPlan& plan) {
  std::string name = absl::StrReplaceAll(plan.name, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}});
  const geo::Bounds& b = plan.bounds_lonlat;
  return absl::StrReplaceAll(kIndexHtml, {{"$NAME", name},
                                          {"$EXT", plan.format},
                                          {"$MINZOOM", absl::StrCat(plan.min_zoom)},
                                          {"$MAXZOOM_PLUS", absl::StrCat(plan.max_zoom + 2)},
                                          {"$MAXZOOM", absl::StrCat(plan.max_zoom)},
                                          {"$SOUTH", absl::StrFormat("%.9g", b.min_y)},
                                          {"$WEST", absl::StrFormat("%.9g", b.min_x)},
                                          {"$NORTH", absl::StrFormat("%.9g", b.max_y)},
                                          {"$EAST", absl::StrFormat("%.9g", b.max_x)}});
}

absl::Status WriteTree(const pyramid::TileBytesReader& reader, const ExportPlan& plan,
                       const ExportOptions& options, const std::string& root) {
  if (absl::Status s = MakeDirectory(root); !s.ok()) return s;
  TileSource source(reader, plan);
  absl::flat_hash_map<ContentId, std::string> first_file;  // Where each content went first.
  std::string scratch;
  ExportProgress progress{0, plan.tile_count, 0};
  for (const internal::SelectedLevel& level : plan.levels) {
    const std::string zdir = absl::StrCat(root, "/", level.z);
    if (absl::Status s = MakeDirectory(zdir); !s.ok()) return s;
    absl::flat_hash_set<uint32_t> columns;  // Made already: one mkdir per column, not per tile.
    for (uint64_t index : level.entries) {
      const SelectedTile tile = source.Tile(level, index);
      const std::string xdir = absl::StrCat(zdir, "/", tile.x);
      if (columns.insert(tile.x).second) {
        if (absl::Status s = MakeDirectory(xdir); !s.ok()) return s;
      }
      const std::string path = absl::StrCat(xdir, "/", tile.y, ".", plan.format);
      auto [it, inserted] = first_file.try_emplace(tile.content, path);
      if (inserted || link(it->second.c_str(), path.c_str()) != 0) {
        absl::StatusOr<absl::string_view> bytes = source.Bytes(tile, &scratch);
        if (!bytes.ok()) return bytes.status();
        if (absl::Status s = WriteFile(path, *bytes); !s.ok()) return s;
        progress.bytes_written += bytes->size();
      }
      if (++progress.tiles_done % internal::kProgressEvery == 0 && options.progress) {
        options.progress(progress);
      }
    }
  }
  if (absl::Status s = WriteFile(root + "/tilejson.json", TileJson(plan)); !s.ok()) return s;
  if (absl::Status s = WriteFile(root + "/index.html", IndexHtml(plan)); !s.ok()) return s;
  if (options.progress) options.progress(progress);
  return absl::OkStatus();
}

}  // namespace

absl::Status ExportXyzDirectory(const pyramid::TileBytesReader& reader, const std::string& output,
                                const ExportOptions& options) {
  return internal::RunExport(reader, output, options, internal::kXyzFormat,
                             [&](const ExportPlan& plan, const std::string& temporary) {
                               return WriteTree(reader, plan, options, temporary);
                             });
}

}  // namespace convert
}  // namespace flatpyramid
