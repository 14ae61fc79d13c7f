// pyramid_info FILE [--json]: prints everything a flatpyramid file says about itself: the
// storage header (sealed, sections, size), the pyramid metadata (tile matrix set, pixel type,
// bands, codec, nodata, zooms, bounds, source, creation options) and, per level, the tile
// counts, bytes, tile range and bounds.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gflags/gflags.h"
#include "google/protobuf/util/json_util.h"
#include "pyramid/reader.h"
#include "serve/escape.h"
#include "storage/store.h"
#include "tools/internal/cli.h"

DEFINE_bool(json, false,
            "Print one JSON object (the metadata message in proto3 JSON with its field names, "
            "plus storage facts and per-level bounds) instead of text.");

DEFINE_bool(allow_being_written, false,
            "Show a build that has not finished, running or stopped, instead of refusing it: "
            "its progress (blocks committed of all, tiles written, whether build_pyramid is "
            "still writing it) and the levels as of its last commit point.");

namespace {

constexpr char kTool[] = "pyramid_info";

using flatpyramid::pyramid::Level;
using flatpyramid::pyramid::Reader;
using flatpyramid::serve::JsonString;

// LevelBounds is the CRS box of the level's tile range.
flatpyramid::geo::Bounds LevelBounds(const Reader& reader, const Level& level) {
  const int z = static_cast<int>(level.zoom());
  const flatpyramid::geo::Bounds top_left =
      reader.tile_matrix_set().TileBounds({z, level.min_x(), level.min_y()});
  const flatpyramid::geo::Bounds bottom_right =
      reader.tile_matrix_set().TileBounds({z, level.max_x(), level.max_y()});
  return {top_left.min_x, bottom_right.min_y, bottom_right.max_x, top_left.max_y};
}

std::string BoundsText(double min_x, double min_y, double max_x, double max_y) {
  return absl::StrFormat("%.10g, %.10g, %.10g, %.10g", min_x, min_y, max_x, max_y);
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

std::string Json(const Reader& reader, const std::string& path) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string metadata;
  if (!google::protobuf::util::MessageToJsonString(reader.metadata(), &metadata, options).ok()) {
    metadata = "null";
  }
  std::vector<std::string> levels;
  for (const Level& level : reader.metadata().levels()) {
    const flatpyramid::geo::Bounds b = LevelBounds(reader, level);
    levels.push_back(absl::StrFormat(
        "{\"zoom\":%d,\"tiles\":%d,\"unique_tiles\":%d,\"bytes\":%d,\"resolution\":%.17g,"
        "\"tile_range\":[%d,%d,%d,%d],\"bounds\":[%.17g,%.17g,%.17g,%.17g]}",
        level.zoom(), level.tile_count(), level.unique_tile_count(), level.bytes(),
        reader.tile_matrix_set().Resolution(static_cast<int>(level.zoom())), level.min_x(),
        level.min_y(), level.max_x(), level.max_y(), b.min_x, b.min_y, b.max_x, b.max_y));
  }
  std::string build = "null";
  if (const std::optional<flatpyramid::pyramid::BuildInProgress>& b = reader.build_in_progress()) {
    build = absl::StrFormat(
        "{\"units_done\":%d,\"units_total\":%d,\"tiles_written\":%d,\"writer_active\":%s}",
        b->units_done, b->units_total, b->tiles_written, b->writer_active ? "true" : "false");
  }
  return absl::StrCat("{\"file\":", JsonString(path), ",\"file_bytes\":", FileSize(path),
                      ",\"sealed\":", reader.storage().sealed() ? "true" : "false",
                      ",\"build_in_progress\":", build,
                      ",\"storage_sections\":", reader.storage().section_count(),
                      ",\"crs\":", JsonString(reader.tile_matrix_set().crs()), ",\"levels\":[",
                      absl::StrJoin(levels, ","), "],\"metadata\":", metadata, "}\n");
}

std::string Text(const Reader& reader, const std::string& path) {
  const flatpyramid::pyramid::PyramidMetadata& m = reader.metadata();
  std::string out;
  absl::StrAppend(&out, "File:              ", path, "\n");
  absl::StrAppend(&out, "Size:              ", FileSize(path), " bytes, ",
                  reader.storage().sealed() ? "sealed" : "NOT sealed (build unfinished)", ", ",
                  reader.storage().section_count(), " storage sections\n");
  if (const std::optional<flatpyramid::pyramid::BuildInProgress>& b = reader.build_in_progress()) {
    absl::StrAppend(&out, "Build:             unfinished, ",
                    b->units_total > 0
                        ? absl::StrFormat("%.1f%%: ", 100.0 * static_cast<double>(b->units_done) /
                                                          b->units_total)
                        : std::string(),
                    flatpyramid::pyramid::BuildProgressText(*b),
                    " (levels below: its last commit point)\n");
  }
  absl::StrAppend(&out, "Format version:    ", m.format_version(), "\n");
  absl::StrAppend(&out, "Tile matrix set:   ", m.tile_matrix_set(), " (",
                  reader.tile_matrix_set().crs(), "), ", m.tile_size(), "x", m.tile_size(),
                  " px tiles\n");
  absl::StrAppend(&out, "Pixels:            ", m.band_count(), " band(s) of ",
                  flatpyramid::codec::PixelTypeName(reader.pixel_type()), " (",
                  absl::StrJoin(m.color_interpretation(), ", "), ")",
                  m.has_alpha() ? ", last band is alpha" : "", "\n");
  absl::StrAppend(&out, "Codec:             ", m.codec(),
                  m.quality() > 0 ? absl::StrCat(", quality ", m.quality()) : "", "\n");
  absl::StrAppend(&out, "Nodata:            ",
                  m.has_nodata() ? absl::StrFormat("%.17g", m.nodata()) : std::string("none"),
                  "\n");
  absl::StrAppend(&out, "Zooms:             ", m.min_zoom(), "..", m.max_zoom(), "\n");
  absl::StrAppend(
      &out, "Bounds:            ",
      BoundsText(m.bounds().min_x(), m.bounds().min_y(), m.bounds().max_x(), m.bounds().max_y()),
      " (", reader.tile_matrix_set().crs(), ")\n");
  absl::StrAppend(&out, "Bounds (lon/lat):  ",
                  BoundsText(m.bounds_lonlat().min_x(), m.bounds_lonlat().min_y(),
                             m.bounds_lonlat().max_x(), m.bounds_lonlat().max_y()),
                  "\n");
  absl::StrAppend(&out, "Resampling:        ", m.resampling(), " (overviews ",
                  m.overview_resampling(), ")\n");
  absl::StrAppend(&out, "Source:            ", m.source_description(), "\n");
  absl::StrAppend(&out, "Tool version:      ", m.tool_version(), "\n");
  absl::StrAppend(&out, "Created (UTC):     ", m.created_utc(), "\n");
  std::vector<std::string> options;
  for (const auto& [key, value] : m.creation_options())
    options.push_back(absl::StrCat(key, "=", value));
  std::sort(options.begin(), options.end());
  absl::StrAppend(&out, "Creation options:  ", absl::StrJoin(options, " "), "\n");
  absl::StrAppend(&out, "Levels:\n");
  absl::StrAppend(&out, absl::StrFormat("  %4s %10s %10s %14s %15s %27s  %s\n", "zoom", "tiles",
                                        "unique", "bytes", "resolution", "tiles x / y", "bounds"));
  uint64_t tiles = 0, unique = 0, bytes = 0;
  for (const Level& level : m.levels()) {
    const flatpyramid::geo::Bounds b = LevelBounds(reader, level);
    absl::StrAppend(
        &out, absl::StrFormat("  %4d %10d %10d %14d %15.6g %27s  %s\n", level.zoom(),
                              level.tile_count(), level.unique_tile_count(), level.bytes(),
                              reader.tile_matrix_set().Resolution(static_cast<int>(level.zoom())),
                              absl::StrCat(level.min_x(), "..", level.max_x(), " / ", level.min_y(),
                                           "..", level.max_y()),
                              BoundsText(b.min_x, b.min_y, b.max_x, b.max_y)));
    tiles += level.tile_count();
    unique += level.unique_tile_count();
    bytes += level.bytes();
  }
  absl::StrAppend(&out, absl::StrFormat("  %4s %10d %10d %14d\n", "all", tiles, unique, bytes));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "Prints the header and metadata of a flatpyramid file, with per-level tile counts, "
      "bytes and bounds; with --allow_being_written, the progress of a build in progress.\n"
      "  pyramid_info FILE.fpyr [--json] [--allow_being_written]");
  flatpyramid::tools::ParseFlags(kTool, &argc, &argv);
  if (argc != 2) {
    return flatpyramid::tools::UsageError(kTool, "give exactly one argument: the pyramid FILE");
  }
  const std::string path = flatpyramid::tools::ResolvePath(argv[1]);
  flatpyramid::pyramid::ReaderOptions options;
  options.private_cache_bytes = 0;
  options.allow_being_written = FLAGS_allow_being_written;
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path, options);
  if (!reader.ok()) return flatpyramid::tools::Fail(kTool, reader.status());
  const std::string out = FLAGS_json ? Json(**reader, path) : Text(**reader, path);
  std::fputs(out.c_str(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
