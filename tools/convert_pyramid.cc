// convert_pyramid IN OUT [flags]: copies tiles between a flatpyramid file and PMTiles,
// MBTiles or an XYZ tile directory, byte for byte (convert/README.md).

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "codec/terrain_rgb.h"
#include "convert/import.h"
#include "convert/mbtiles.h"
#include "convert/pmtiles_writer.h"
#include "convert/xyz_dir.h"
#include "gflags/gflags.h"
#include "pyramid/tile_bytes_reader.h"
#include "tools/internal/cli.h"
#include "tools/internal/crs_loader.h"
#include "tools/internal/progress.h"

DEFINE_string(from, "", "Format of IN: fpyr, pmtiles or mbtiles. Default: from IN's extension.");
DEFINE_string(to, "",
              "Format of OUT: fpyr, pmtiles, mbtiles or xyz (a directory {z}/{x}/{y}.ext). "
              "Default: from OUT's extension (no extension: xyz).");
DEFINE_int32(min_zoom, -1, "Export only zooms >= this (-1: the pyramid's lowest).");
DEFINE_int32(max_zoom, -1, "Export only zooms <= this (-1: the pyramid's highest).");
DEFINE_string(bbox, "",
              "Export only tiles meeting min_x,min_y,max_x,max_y (in --bbox_srs; default "
              "longitude,latitude).");
DEFINE_string(bbox_srs, "EPSG:4326", "CRS of --bbox: anything GDAL accepts (EPSG:3857, WKT, ...).");
DEFINE_string(terrain_encoding, "",
              "Elevation pyramids only (required for them): terrarium or mapbox terrain-RGB PNG "
              "tiles, what MapLibre raster-dem sources read. Nodata becomes 0 m.");
DEFINE_string(name, "", "Tileset name written into OUT's metadata (default: OUT's file stem).");
DEFINE_bool(overwrite, false, "Replace OUT if it exists (never when it is IN).");
DEFINE_bool(quiet, false, "No progress output on stderr.");

namespace {

constexpr char kTool[] = "convert_pyramid";

using flatpyramid::tools::ProgressPrinter;
using flatpyramid::tools::UsageError;

// Fail reports a library error naming this tool's flags instead of the library's fields.
int Fail(absl::string_view tool, const absl::Status& status) {
  return flatpyramid::tools::Fail(
      tool,
      absl::Status(status.code(),
                   absl::StrReplaceAll(status.message(),
                                       {{"ExportOptions::terrain_encoding", "--terrain_encoding"},
                                        {"ExportOptions::bbox_srs", "--bbox_srs"},
                                        {"ExportOptions::bbox", "--bbox"},
                                        {"ExportOptions::overwrite", "--overwrite"},
                                        {"BuildOptions::tile_matrix_set = kWebMercatorQuad",
                                         "build_pyramid --tms=WebMercatorQuad"},
                                        {"ImportOptions::overwrite", "--overwrite"}})));
}

std::string FormatOf(const std::string& path, const std::string& flag) {
  if (!flag.empty()) return flag;
  for (const char* ext : {"fpyr", "pmtiles", "mbtiles"}) {
    if (absl::EndsWith(path, absl::StrCat(".", ext))) return ext;
  }
  const std::string base = path.substr(path.find_last_of('/') + 1);
  return base.find('.') == std::string::npos || absl::EndsWith(path, "/") ? "xyz" : "";
}

// PrintCopyProgress prints tiles and megabytes copied so far.
void PrintCopyProgress(uint64_t done, uint64_t total, uint64_t bytes, ProgressPrinter* printer) {
  const double now = printer->SecondsSinceStart();
  if (!printer->Due(now, done == total)) return;
  printer->Print(
      absl::StrFormat("%llu/%llu tiles (%.1f%%), %.1f MB, %.1f MB/s",
                      static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                      total == 0 ? 100.0 : 100.0 * done / total, bytes / 1e6,
                      now > 0 ? bytes / 1e6 / now : 0.0),
      done == total);
}

// ExportOptionsFromFlags fills everything but the progress callback; false after reporting
// a usage error into *code.
bool ExportOptionsFromFlags(flatpyramid::convert::ExportOptions* options, int* code) {
  options->min_zoom = FLAGS_min_zoom;
  options->max_zoom = FLAGS_max_zoom;
  options->bbox_srs = FLAGS_bbox_srs;
  options->bbox_transform = flatpyramid::tools::TransformBoundsLoadingGdal;
  options->name = FLAGS_name;
  options->overwrite = FLAGS_overwrite;
  if (!FLAGS_bbox.empty()) {
    std::vector<std::string> parts = absl::StrSplit(FLAGS_bbox, ',');
    double v[4];
    if (parts.size() != 4 || !absl::SimpleAtod(parts[0], &v[0]) ||
        !absl::SimpleAtod(parts[1], &v[1]) || !absl::SimpleAtod(parts[2], &v[2]) ||
        !absl::SimpleAtod(parts[3], &v[3])) {
      *code = UsageError(kTool, absl::StrCat("--bbox=", FLAGS_bbox,
                                             " is not four numbers min_x,min_y,max_x,max_y"));
      return false;
    }
    options->bbox = flatpyramid::geo::Bounds{v[0], v[1], v[2], v[3]};
  }
  if (!FLAGS_terrain_encoding.empty()) {
    absl::StatusOr<flatpyramid::codec::TerrainEncoding> encoding =
        flatpyramid::codec::ParseTerrainEncoding(FLAGS_terrain_encoding);
    if (!encoding.ok()) {
      *code = UsageError(kTool, absl::StrCat("--terrain_encoding: ", encoding.status().message()));
      return false;
    }
    options->terrain_encoding = *encoding;
  }
  return true;
}

int Export(const std::string& in, const std::string& out, const std::string& to) {
  flatpyramid::convert::ExportOptions options;
  int code = 0;
  if (!ExportOptionsFromFlags(&options, &code)) return code;
  ProgressPrinter printer;
  if (!FLAGS_quiet) {
    options.progress = [&printer](const flatpyramid::convert::ExportProgress& p) {
      PrintCopyProgress(p.tiles_done, p.tiles_total, p.bytes_written, &printer);
    };
  }
  absl::StatusOr<std::unique_ptr<flatpyramid::pyramid::TileBytesReader>> reader =
      flatpyramid::pyramid::TileBytesReader::Open(in);
  if (!reader.ok()) return Fail(kTool, reader.status());
  absl::Status status;
  if (to == "pmtiles") {
    status = flatpyramid::convert::ExportPmtiles(**reader, out, options);
  } else if (to == "mbtiles") {
    status = flatpyramid::convert::ExportMbtiles(**reader, out, options);
  } else {
    status = flatpyramid::convert::ExportXyzDirectory(**reader, out, options);
  }
  return status.ok() ? 0 : Fail(kTool, status);
}

int Import(const std::string& in, const std::string& out, const std::string& from) {
  if (FLAGS_min_zoom != -1 || FLAGS_max_zoom != -1 || !FLAGS_bbox.empty() ||
      !FLAGS_terrain_encoding.empty()) {
    return UsageError(kTool,
                      "--min_zoom, --max_zoom, --bbox and --terrain_encoding apply to exports "
                      "from .fpyr; an import copies every tile");
  }
  flatpyramid::convert::ImportOptions options;
  options.overwrite = FLAGS_overwrite;
  options.name = FLAGS_name;
  ProgressPrinter printer;
  if (!FLAGS_quiet) {
    options.progress = [&printer](const flatpyramid::convert::ImportProgress& p) {
      PrintCopyProgress(p.tiles_done, p.tiles_total, p.bytes_copied, &printer);
    };
  }
  const absl::Status status = from == "pmtiles"
                                  ? flatpyramid::convert::ImportPmtiles(in, out, options)
                                  : flatpyramid::convert::ImportMbtiles(in, out, options);
  return status.ok() ? 0 : Fail(kTool, status);
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "Copies tiles between a flatpyramid file and PMTiles, MBTiles or an XYZ directory, byte "
      "for byte.\n"
      "  convert_pyramid IN.fpyr OUT.pmtiles|OUT.mbtiles|OUT_DIR [--min_zoom --max_zoom "
      "--bbox --terrain_encoding]\n"
      "  convert_pyramid IN.mbtiles|IN.pmtiles OUT.fpyr\n"
      "Formats come from the names (.fpyr, .pmtiles, .mbtiles; no extension: an XYZ "
      "directory) or from --from/--to. Exports need a WebMercatorQuad pyramid.");
  flatpyramid::tools::ParseFlags(kTool, &argc, &argv);
  if (argc != 3) return UsageError(kTool, "give two arguments: IN OUT");
  const std::string in = flatpyramid::tools::ResolvePath(argv[1]);
  const std::string out = flatpyramid::tools::ResolvePath(argv[2]);
  const std::string from = FormatOf(in, FLAGS_from);
  const std::string to = FormatOf(out, FLAGS_to);
  if (from != "fpyr" && from != "pmtiles" && from != "mbtiles") {
    return UsageError(kTool, absl::StrCat("cannot tell the format of ", in,
                                          ": name it .fpyr, .pmtiles or .mbtiles, or give --from"));
  }
  if (to != "fpyr" && to != "pmtiles" && to != "mbtiles" && to != "xyz") {
    return UsageError(kTool, absl::StrCat("cannot tell the format of ", out,
                                          ": name it .fpyr, .pmtiles, .mbtiles or a directory, "
                                          "or give --to"));
  }
  if ((from == "fpyr") == (to == "fpyr")) {
    return UsageError(kTool, absl::StrCat("converting ", from, " to ", to,
                                          " is not supported: one side must be .fpyr"));
  }
  if (to == "xyz" && from != "fpyr") return UsageError(kTool, "xyz is an export format only");
  return from == "fpyr" ? Export(in, out, to) : Import(in, out, from);
}
