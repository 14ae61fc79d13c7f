// build_pyramid: builds a flatpyramid file from any raster GDAL opens.
//
//   build_pyramid --input=a.tif[,b.tif...] --output=out.fpyr [flags]
//   build_pyramid                 # Builds the bundled Landsat sample into ./flatpyramid_demo.fpyr
//
// Relative paths resolve against the directory `bazel run` was started from
// (BUILD_WORKING_DIRECTORY). Exit code 0 only on success; errors are one line on stderr.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "pyramid/builder.h"
#include "pyramid/reader.h"
#include "pyramid/updater.h"
#include "serve/pyramid_set.h"
#include "tools/internal/cli.h"
#include "tools/internal/demo.h"
#include "tools/internal/progress.h"

DEFINE_string(input, "",
              "Input raster(s) GDAL can open, comma-separated; several are mosaicked, later "
              "ones on top (as gdalbuildvrt would). Empty: build the bundled Landsat sample "
              "(testing/data/L7_ETMs.tif, bands 3,2,1) into ./flatpyramid_demo.fpyr.");
DEFINE_string(output, "", "The pyramid file to write (FILE.fpyr). Required with --input.");
DEFINE_string(tms, "WebMercatorQuad",
              "Tile matrix set: WebMercatorQuad (EPSG:3857) or WorldCRS84Quad (lon/lat).");
DEFINE_int32(tile_size, 256, "Tile width and height in pixels: 256 or 512.");
DEFINE_int32(min_zoom, 0, "Lowest (coarsest) zoom level to store.");
DEFINE_int32(max_zoom, -1,
             "Highest (finest) zoom level, 0..30. Not given: the level matching the source "
             "resolution, chosen with --zoom_strategy.");
DEFINE_string(zoom_strategy, "nearest",
              "How --max_zoom follows the source resolution: nearest, lower (coarser, no "
              "upsampling) or upper (finer, no detail lost).");
DEFINE_string(codec, "",
              "Tile codec: jpeg (opaque tiles JPEG, partial tiles PNG with alpha), png, webp, "
              "webp_lossless, elevation (lossless, single-band int16/uint16/float32). Empty: "
              "jpeg for 8-bit 1/3-band imagery, elevation for single-band 16/32-bit data, png "
              "otherwise.");
DEFINE_int32(quality, 85, "JPEG / lossy WebP quality, 1..100.");
DEFINE_string(resampling, "bilinear",
              "Base-level resampling from the source: nearest, bilinear, cubic, cubicspline, "
              "lanczos, average, mode (classified data).");
DEFINE_string(overview_resampling, "",
              "How overview pixels are formed from the finer level: average (alpha-weighted; "
              "valid samples only for elevation), mode (classified data), nearest, or GDAL's "
              "overview kernels bilinear, cubic, lanczos (they read neighbouring tiles too, "
              "so no seams). Empty: mode after --resampling=mode, nearest after nearest, "
              "average otherwise.");
DEFINE_string(bands, "",
              "Source bands to use, 1-based and comma-separated, e.g. 3,2,1 for RGB from "
              "Landsat. Empty: all bands except an alpha band.");
DEFINE_string(source_srs, "",
              "CRS of the source when the file has none (e.g. EPSG:4326 for etopo20.cdf), or to "
              "override it. Any string GDAL accepts.");
DEFINE_string(nodata, "",
              "Source nodata value, overriding the file's (e.g. 0 or -32768 or nan); it must "
              "fit the pixel type. Pixels with it are transparent / nodata in the pyramid.");
DEFINE_string(bbox, "",
              "Build only the tiles that touch this box: min_x,min_y,max_x,max_y in "
              "--bbox_srs (longitude first in a geographic CRS, where min_x > max_x crosses "
              "the antimeridian). Tiles at the unit zoom (max_zoom - 3 for 256-pixel tiles) and "
              "finer equal a full build's; coarser ones hold the box's data only.");
DEFINE_string(bbox_srs, "EPSG:4326",
              "CRS of --bbox: an EPSG code, WKT or PROJ string (anything GDAL accepts).");
DEFINE_string(shard, "",
              "i/N: build only the i-th (0-based) of N parts of the pyramid (contiguous ranges "
              "of 2048-pixel blocks in Morton order, balanced by tile count) into --output, for "
              "merge_pyramids to join with the other N-1 into what one build gives. Every shard "
              "takes the same other flags. Not with kernel --overview_resampling.");
DEFINE_int32(threads, 0,
             "Worker threads. 0: one per core. More than 4 per core are lowered to 4 per core.");
DEFINE_bool(resume, false,
            "Continue a stopped build of --output with the same flags, in whatever state it "
            "was left: from its last commit point, from the beginning if it had none yet, "
            "only sealing if it stopped while sealing; a finished pyramid of the same build is "
            "nothing to do (exit 0). The result equals a clean build. Other flags, or an input "
            "changed since the build started, are refused.");
DEFINE_bool(overwrite, false,
            "Replace --output if it exists. The new pyramid is built beside it (OUTPUT.partial) "
            "and replaces it only when complete: a failed build leaves the old one intact.");
DEFINE_bool(update, false,
            "Update the finished pyramid --output: add --input on top of the sources it "
            "records (as a build of all of them in that order would), or, with --bbox and no "
            "--input, render that area again from the recorded sources. The tiling and "
            "encoding flags are the pyramid's (a conflicting one is refused). The file is "
            "changed in place (the touched levels' index and the new tiles are written); if a "
            "reader has it open, the update is written beside it (OUTPUT.update) and renamed "
            "over it when complete, so the reader keeps its view. --resume finishes an "
            "interrupted update.");
DEFINE_bool(compact, false,
            "With --update: copy every kept tile on its own, so that the bytes of replaced "
            "tiles (which an update leaves in the file, counted as dead bytes) are dropped; "
            "alone (--update --compact --output=P.fpyr) it only compacts. An update compacts "
            "by itself when dead bytes would pass a quarter of the tile bytes.");
DEFINE_bool(quiet, false, "No progress output on stderr.");
DEFINE_double(commit_seconds, 3,
              "Seconds of work between commit points (what --resume restarts from). 0: after "
              "every block of tiles.");

DEFINE_bool(allow_large_build, false,
            "Build even when the finest level is more than 3 levels finer than the source or "
            "the pyramid would hold more than 20 million tiles (the refusal says how many).");
DEFINE_bool(gdal_cache, true,
            "Size GDAL's block cache (process-wide) to what the workers need during the build; "
            "never when GDAL_CACHEMAX is set.");

namespace {

using flatpyramid::pyramid::BuildOptions;
using flatpyramid::pyramid::BuildResult;

constexpr char kTool[] = "build_pyramid";
using flatpyramid::tools::kDemoData;
using flatpyramid::tools::kDemoOutput;
using flatpyramid::tools::ProgressPrinter;

// kFieldFlags maps the BuildOptions fields that library errors name to this tool's flags.
constexpr std::pair<absl::string_view, absl::string_view> kFieldFlags[] = {
    {"BuildOptions::inputs", "--input"},
    {"BuildOptions::output", "--output"},
    {"BuildOptions::tile_matrix_set", "--tms"},
    {"BuildOptions::tile_size", "--tile_size"},
    {"BuildOptions::min_zoom", "--min_zoom"},
    {"BuildOptions::max_zoom", "--max_zoom"},
    {"BuildOptions::zoom_strategy", "--zoom_strategy"},
    {"BuildOptions::codec", "--codec"},
    {"BuildOptions::quality", "--quality"},
    {"BuildOptions::resampling", "--resampling"},
    {"BuildOptions::overview_resampling", "--overview_resampling"},
    {"BuildOptions::bands", "--bands"},
    {"BuildOptions::source_srs", "--source_srs"},
    {"BuildOptions::nodata", "--nodata"},
    {"BuildOptions::threads", "--threads"},
    {"BuildOptions::resume", "--resume"},
    {"BuildOptions::overwrite", "--overwrite"},
    {"BuildOptions::allow_large_build", "--allow_large_build"},
    {"BuildOptions::set_gdal_cache", "--gdal_cache"},
    {"BuildOptions::commit_interval", "--commit_seconds"},
    {"BuildOptions::area", "--bbox"},
    {"BuildOptions::shard", "--shard"},
};

// FlagMessage is a library message with every BuildOptions field replaced by its flag.
std::string FlagMessage(absl::string_view message) {
  std::vector<std::pair<absl::string_view, absl::string_view>> table(std::begin(kFieldFlags),
                                                                     std::end(kFieldFlags));
  return absl::StrReplaceAll(message, table);
}

bool Given(const char* flag) { return !gflags::GetCommandLineFlagInfoOrDie(flag).is_default; }

// SplitList splits a comma-separated flag value, refusing empty items ("3,,1").
absl::StatusOr<std::vector<std::string>> SplitList(absl::string_view flag,
                                                   absl::string_view value) {
  std::vector<std::string> items = absl::StrSplit(value, ',');
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", value, ": item ", i + 1,
                                                     " is empty (remove the extra comma)"));
    }
  }
  return items;
}

// WithFlag names `flag` in a parser's error ("--codec=x: unknown codec ...").
absl::Status WithFlag(absl::string_view flag, absl::string_view value, const absl::Status& s) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", value, ": ", s.message()));
}

// ParseEnums sets the typed fields from their string flags.
absl::Status ParseEnums(BuildOptions* options) {
  namespace fp = flatpyramid::pyramid;
  absl::StatusOr<fp::TileMatrixSetId> tms = fp::ParseTileMatrixSetId(FLAGS_tms);
  if (!tms.ok()) return WithFlag("tms", FLAGS_tms, tms.status());
  options->tile_matrix_set = *tms;
  absl::StatusOr<flatpyramid::geo::ZoomStrategy> strategy =
      flatpyramid::geo::ParseZoomStrategy(FLAGS_zoom_strategy);
  if (!strategy.ok()) return WithFlag("zoom_strategy", FLAGS_zoom_strategy, strategy.status());
  options->zoom_strategy = *strategy;
  if (!FLAGS_codec.empty()) {
    absl::StatusOr<fp::TileCodec> codec = fp::ParseTileCodec(FLAGS_codec);
    if (!codec.ok()) return WithFlag("codec", FLAGS_codec, codec.status());
    options->codec = *codec;
  }
  absl::StatusOr<fp::Resampling> resampling = fp::ParseResampling(FLAGS_resampling);
  if (!resampling.ok()) return WithFlag("resampling", FLAGS_resampling, resampling.status());
  options->resampling = *resampling;
  if (!FLAGS_overview_resampling.empty()) {
    absl::StatusOr<fp::Resampling> overview = fp::ParseResampling(FLAGS_overview_resampling);
    if (!overview.ok()) {
      return WithFlag("overview_resampling", FLAGS_overview_resampling, overview.status());
    }
    options->overview_resampling = *overview;
  }
  return absl::OkStatus();
}

// ParseBandsAndNodata sets the bands and nodata.
absl::Status ParseBandsAndNodata(BuildOptions* options) {
  if (!FLAGS_bands.empty()) {
    absl::StatusOr<std::vector<std::string>> bands = SplitList("bands", FLAGS_bands);
    if (!bands.ok()) return bands.status();
    for (const std::string& band : *bands) {
      int value = 0;
      if (!absl::SimpleAtoi(band, &value)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--bands=", FLAGS_bands, ": \"", band, "\" is not a band number (e.g. --bands=3,2,1)"));
      }
      options->bands.push_back(value);
    }
  }
  if (!FLAGS_nodata.empty()) {
    double value = 0;
    if (!absl::SimpleAtod(FLAGS_nodata, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--nodata=", FLAGS_nodata, " is not a number (e.g. --nodata=0)"));
    }
    options->nodata = value;
  }
  return absl::OkStatus();
}

// ParseLists sets the inputs, bands and nodata.
absl::Status ParseLists(BuildOptions* options) {
  absl::StatusOr<std::vector<std::string>> inputs = SplitList("input", FLAGS_input);
  if (!inputs.ok()) return inputs.status();
  for (const std::string& input : *inputs) {
    options->inputs.push_back(flatpyramid::tools::ResolvePath(input));
  }
  return ParseBandsAndNodata(options);
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const int s = static_cast<int>(seconds + 0.5);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

// PrintBuildProgress draws a bar on a terminal and "progress:" lines otherwise.
void PrintBuildProgress(const flatpyramid::pyramid::BuildProgress& p, ProgressPrinter* printer) {
  const double elapsed = absl::ToDoubleSeconds(p.elapsed);
  if (!printer->Due(elapsed, p.finished)) return;
  const double fraction =
      p.units_total == 0 ? 1.0 : static_cast<double>(p.units_done) / p.units_total;
  const double rate = elapsed > 0 ? p.tiles_written / elapsed : 0;
  const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : -1;
  if (printer->terminal()) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    printer->Print(absl::StrFormat("[%s%s] %5.1f%% %llu tiles, %.0f tiles/s, %s left",
                                   std::string(filled, '#'), std::string(kWidth - filled, ' '),
                                   100 * fraction, static_cast<unsigned long long>(p.tiles_written),
                                   rate, FormatDuration(eta)),
                   p.finished);
  } else {
    printer->Print(absl::StrFormat(
                       "progress: %llu/%llu blocks (%.1f%%), %llu tiles, %.0f tiles/s, %s left",
                       static_cast<unsigned long long>(p.units_done),
                       static_cast<unsigned long long>(p.units_total), 100 * fraction,
                       static_cast<unsigned long long>(p.tiles_written), rate, FormatDuration(eta)),
                   p.finished);
  }
}

// RecordCreationOptions records the flags that shape the tiles, as given. Flags about how
// this run goes (resume, overwrite, quiet, threads, commit_seconds, gdal_cache,
// allow_large_build) and where it writes (output) are left out, so a resumed or re-run build
// records what a clean one does.
void RecordCreationOptions(BuildOptions* options) {
  const std::set<std::string> kNotRecorded = {"resume",         "overwrite",        "quiet",
                                              "threads",        "output",           "gdal_cache",
                                              "commit_seconds", "allow_large_build"};
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const gflags::CommandLineFlagInfo& flag : flags) {
    if (flag.filename.find("build_pyramid") == std::string::npos) continue;
    if (flag.is_default || kNotRecorded.count(flag.name) != 0) continue;
    options->creation_options[flag.name] = flag.current_value;
  }
}

// ParseAreaAndShard reads --bbox, --bbox_srs and --shard.
absl::Status ParseAreaAndShard(BuildOptions* options) {
  if (!FLAGS_bbox.empty()) {
    std::vector<double> values;
    for (absl::string_view part : absl::StrSplit(FLAGS_bbox, ',')) {
      double value = 0;
      if (!absl::SimpleAtod(part, &value)) break;
      values.push_back(value);
    }
    if (values.size() != 4 || std::count(FLAGS_bbox.begin(), FLAGS_bbox.end(), ',') != 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("--bbox=\"", FLAGS_bbox,
                       "\" is not four numbers min_x,min_y,max_x,max_y (e.g. "
                       "--bbox=-34.9,-8.0,-34.85,-7.95)"));
    }
    options->area =
        flatpyramid::pyramid::BuildArea{values[0], values[1], values[2], values[3], FLAGS_bbox_srs};
  } else if (Given("bbox_srs")) {
    return absl::InvalidArgumentError("--bbox_srs needs --bbox");
  }
  if (!FLAGS_shard.empty()) {
    std::vector<std::string> parts = absl::StrSplit(FLAGS_shard, '/');
    uint32_t index = 0, count = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &index) ||
        !absl::SimpleAtoi(parts[1], &count) || count == 0 || index >= count) {
      return absl::InvalidArgumentError(
          absl::StrCat("--shard=", FLAGS_shard,
                       " is not i/N with 0 <= i < N (e.g. --shard=0/4 .. --shard=3/4)"));
    }
    options->shard = flatpyramid::pyramid::BuildShard{index, count};
  }
  return absl::OkStatus();
}

// ParseScalars sets the numeric and boolean fields a build and an update share.
absl::Status ParseScalars(BuildOptions* options) {
  options->tile_size = FLAGS_tile_size;
  options->min_zoom = FLAGS_min_zoom;
  if (Given("max_zoom")) options->max_zoom = FLAGS_max_zoom;
  options->quality = FLAGS_quality;
  options->source_srs = FLAGS_source_srs;
  if (FLAGS_threads != 0) options->threads = FLAGS_threads;
  options->resume = FLAGS_resume;
  options->allow_large_build = FLAGS_allow_large_build;
  options->set_gdal_cache = FLAGS_gdal_cache;
  if (!(FLAGS_commit_seconds >= 0) || std::isinf(FLAGS_commit_seconds)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--commit_seconds=", FLAGS_commit_seconds, " is invalid: use 0 or more"));
  }
  options->commit_interval = absl::Seconds(FLAGS_commit_seconds);
  return absl::OkStatus();
}

// OptionsFromFlags turns the flags into BuildOptions; errors are command-line errors.
absl::StatusOr<BuildOptions> OptionsFromFlags(const char* argv0, bool demo) {
  BuildOptions options;
  if (demo) {
    absl::StatusOr<BuildOptions> demo_options = flatpyramid::tools::DemoBuildOptions(argv0, "");
    if (!demo_options.ok()) return demo_options.status();
    options = *std::move(demo_options);
  } else if (FLAGS_output.empty()) {
    return absl::InvalidArgumentError("no output: give --output=FILE.fpyr");
  }
  absl::Status status = demo ? absl::OkStatus() : ParseLists(&options);
  if (demo && !FLAGS_bands.empty()) {
    options.inputs.clear();
    options.bands.clear();
    FLAGS_input = *flatpyramid::tools::FindDemoData(argv0);
    status = ParseLists(&options);
  }
  if (status.ok()) status = ParseEnums(&options);
  if (status.ok()) status = ParseAreaAndShard(&options);
  if (!status.ok()) return status;
  options.output =
      flatpyramid::tools::ResolvePath(FLAGS_output.empty() ? kDemoOutput : FLAGS_output);
  options.overwrite = FLAGS_overwrite || (demo && FLAGS_output.empty());  // The demo file is ours.
  status = ParseScalars(&options);
  if (!status.ok()) return status;
  RecordCreationOptions(&options);  // The demo's input and bands: DemoBuildOptions.
  return options;
}

// ReportResume says what --resume found, when it was not a commit point to continue from.
void ReportResume(const BuildOptions& options, const BuildResult& result) {
  using flatpyramid::pyramid::ResumeOutcome;
  const char* output = options.output.c_str();
  switch (result.resume_outcome) {
    case ResumeOutcome::kAlreadyFinished:
      std::fprintf(stderr, "nothing to do: %s is already finished by the same build\n", output);
      break;
    case ResumeOutcome::kStartedOver:
      std::fprintf(stderr,
                   "--resume: %s had no commit point yet: it was built from the beginning\n",
                   output);
      break;
    case ResumeOutcome::kSealedOnly:
      std::fprintf(stderr, "--resume: every tile of %s was written: it was sealed\n", output);
      break;
    default:
      break;
  }
}

// ReportBuilt prints the summary line (and, for the demo, what to do next).
void ReportBuilt(const BuildOptions& options, const BuildResult& result, double seconds,
                 bool demo) {
  const flatpyramid::pyramid::PyramidMetadata& m = result.metadata;
  std::fprintf(stderr, "built %s: %s, zoom %u..%u, %llu tiles (%llu unique), codec %s, %.1f s\n",
               options.output.c_str(), m.tile_matrix_set().c_str(), m.min_zoom(), m.max_zoom(),
               static_cast<unsigned long long>(result.tiles_written),
               static_cast<unsigned long long>(result.unique_tiles), m.codec().c_str(), seconds);
  if (!demo) return;
  std::fprintf(stderr,
               "This is the bundled Landsat 7 sample (%s, bands 3,2,1 as RGB) as a tile "
               "pyramid.\nLook at it:\n"
               "  ./bazelw run //tools:pyramid_info -- %s\n"
               "  ./bazelw run //tools:extract_tile -- %s %u <x> <y> --output=tile.jpg\n"
               "  ./bazelw run //tools:read_region -- %s --bbox=%.6f,%.6f,%.6f,%.6f "
               "--size=512,512 --output=landsat.png\n",
               kDemoData, options.output.c_str(), options.output.c_str(), m.max_zoom(),
               options.output.c_str(), m.bounds_lonlat().min_x(), m.bounds_lonlat().min_y(),
               m.bounds_lonlat().max_x(), m.bounds_lonlat().max_y());
  std::fprintf(stderr,
               "Serve it on a map: ./bazelw run //tools:serve_pyramid -- %s, then open "
               "http://127.0.0.1:8080/%s/\n",
               options.output.c_str(),
               flatpyramid::serve::PyramidSet::NameForPath(options.output).c_str());
  for (const auto& level : m.levels()) {
    if (level.zoom() == m.max_zoom() && level.tile_count() > 0) {
      std::fprintf(stderr, "  (tiles at zoom %u: x %u..%u, y %u..%u)\n", level.zoom(),
                   level.min_x(), level.max_x(), level.min_y(), level.max_y());
    }
  }
}

// kPyramidFlags are the flags that shape a pyramid's tiles: an update takes them from the
// pyramid's recorded creation options (the tiling and encoding ones are checked against its
// metadata by the library too).
constexpr const char* kPyramidFlags[] = {"tms",      "tile_size",     "min_zoom",
                                         "max_zoom", "zoom_strategy", "codec",
                                         "quality",  "resampling",    "overview_resampling",
                                         "bands",    "source_srs",    "nodata"};

// TakePyramidFlags sets every pyramid flag not given to the value `pyramid` was built with,
// and refuses one given with another value.
absl::Status TakePyramidFlags(const flatpyramid::pyramid::PyramidMetadata& pyramid) {
  for (const char* flag : kPyramidFlags) {
    const auto recorded = pyramid.creation_options().find(flag);
    gflags::CommandLineFlagInfo info = gflags::GetCommandLineFlagInfoOrDie(flag);
    const std::string value =
        recorded != pyramid.creation_options().end() ? recorded->second : info.default_value;
    if (!info.is_default && info.current_value != value) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, "=", info.current_value, " conflicts with the pyramid, built with --", flag,
          "=", value, ": an update keeps the pyramid's flags (leave --", flag, " out)"));
    }
    gflags::SetCommandLineOption(flag, value.c_str());
  }
  return absl::OkStatus();
}

// RunUpdate is build_pyramid --update.
int RunUpdate() {
  if (FLAGS_output.empty()) {
    return flatpyramid::tools::UsageError(kTool, "--update needs --output=EXISTING.fpyr");
  }
  if (FLAGS_input.empty() && FLAGS_bbox.empty() && !FLAGS_compact) {
    return flatpyramid::tools::UsageError(
        kTool,
        "--update needs --input=NEW.tif (added on top), --bbox to render an area again, or "
        "--compact");
  }
  if (!FLAGS_shard.empty() || FLAGS_overwrite) {
    return flatpyramid::tools::UsageError(
        kTool, absl::StrCat("--update takes no --", FLAGS_overwrite ? "overwrite" : "shard"));
  }
  const std::string output = flatpyramid::tools::ResolvePath(FLAGS_output);
  absl::StatusOr<std::unique_ptr<flatpyramid::pyramid::Reader>> pyramid =
      flatpyramid::pyramid::Reader::Open(output);
  if (!pyramid.ok()) return flatpyramid::tools::Fail(kTool, pyramid.status());
  absl::Status status = TakePyramidFlags((*pyramid)->metadata());
  pyramid->reset();
  if (!status.ok()) return flatpyramid::tools::UsageError(kTool, status.message());
  BuildOptions options;
  status = FLAGS_input.empty() ? ParseBandsAndNodata(&options) : ParseLists(&options);
  if (status.ok()) status = ParseEnums(&options);
  if (status.ok()) status = ParseAreaAndShard(&options);
  if (!status.ok()) return flatpyramid::tools::UsageError(kTool, status.message());
  options.output = output;
  status = ParseScalars(&options);
  if (!status.ok()) return flatpyramid::tools::UsageError(kTool, status.message());
  ProgressPrinter printer;
  if (!FLAGS_quiet)
    options.progress = [&printer](const auto& p) { PrintBuildProgress(p, &printer); };
  const absl::Time start = absl::Now();
  flatpyramid::pyramid::UpdateOptions update;
  update.compact = FLAGS_compact;
  absl::StatusOr<flatpyramid::pyramid::UpdateResult> result =
      flatpyramid::pyramid::UpdatePyramid(options, update);
  if (!result.ok()) {
    return flatpyramid::tools::Fail(
        kTool, absl::Status(result.status().code(), FlagMessage(result.status().message())));
  }
  if (result->resume_outcome == flatpyramid::pyramid::ResumeOutcome::kAlreadyFinished) {
    std::fprintf(stderr, "nothing to do: %s already has these inputs on top, unchanged\n",
                 output.c_str());
    return 0;
  }
  if (!FLAGS_quiet) {
    const char* how = result->path == flatpyramid::pyramid::UpdatePath::kInPlace ? "in place"
                      : result->compacted ? "as a compacted copy"
                                          : "as a copy (a reader had it open)";
    std::fprintf(
        stderr,
        "updated %s %s: %llu bytes written; %llu tiles written (%llu bytes), %llu "
        "replaced or gone, %llu kept, %llu dead bytes%s, %.1f s\n",
        output.c_str(), how, static_cast<unsigned long long>(result->storage.bytes_written),
        static_cast<unsigned long long>(result->tiles_written),
        static_cast<unsigned long long>(result->new_bytes),
        static_cast<unsigned long long>(result->tiles_replaced),
        static_cast<unsigned long long>(result->tiles_copied),
        static_cast<unsigned long long>(result->dead_bytes),
        result->compacted ? " (compacted)" : "", absl::ToDoubleSeconds(absl::Now() - start));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "Builds a flatpyramid tile pyramid from rasters GDAL can open.\n"
      "  build_pyramid --input=a.tif[,b.tif] --output=out.fpyr [flags]\n"
      "  build_pyramid --update --input=new.tif --output=out.fpyr   (adds new.tif on top)\n"
      "  build_pyramid   (no --input: builds the bundled Landsat sample into "
      "./flatpyramid_demo.fpyr)");
  gflags::SetVersionString(flatpyramid::pyramid::kBuilderVersion);
  flatpyramid::tools::ParseFlags(kTool, &argc, &argv);
  if (argc > 1) {
    return flatpyramid::tools::UsageError(
        kTool, absl::StrCat("unexpected argument \"", argv[1], "\": every option is a --flag"));
  }
  if (FLAGS_update) return RunUpdate();
  if (FLAGS_compact) return flatpyramid::tools::UsageError(kTool, "--compact needs --update");
  const bool demo = FLAGS_input.empty();
  absl::StatusOr<BuildOptions> options = OptionsFromFlags(argv[0], demo);
  if (!options.ok()) {
    if (absl::IsNotFound(options.status()))
      return flatpyramid::tools::Fail(kTool, options.status());
    return flatpyramid::tools::UsageError(kTool, options.status().message());
  }
  absl::Status valid = flatpyramid::pyramid::ValidateBuildOptions(*options);
  if (!valid.ok()) return flatpyramid::tools::UsageError(kTool, FlagMessage(valid.message()));
  if (options->threads.has_value() && *options->threads > flatpyramid::pyramid::MaxBuildThreads()) {
    std::fprintf(stderr, "%s: --threads=%d is more than 4 per core: using %d\n", kTool,
                 *options->threads, flatpyramid::pyramid::MaxBuildThreads());
  }
  ProgressPrinter printer;
  if (!FLAGS_quiet) {
    options->progress = [&printer](const auto& p) { PrintBuildProgress(p, &printer); };
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<BuildResult> result = flatpyramid::pyramid::BuildPyramid(*options);
  if (!result.ok()) {
    return flatpyramid::tools::Fail(
        kTool, absl::Status(result.status().code(), FlagMessage(result.status().message())));
  }
  ReportResume(*options, *result);
  if (result->resume_outcome == flatpyramid::pyramid::ResumeOutcome::kAlreadyFinished) return 0;
  if (!FLAGS_quiet || demo) {
    ReportBuilt(*options, *result, absl::ToDoubleSeconds(absl::Now() - start), demo);
  }
  return 0;
}
