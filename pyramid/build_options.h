// BuildOptions, BuildProgress and BuildResult: the parameters and results of
// BuildPyramid (pyramid/builder.h).
#ifndef FLATPYRAMID_PYRAMID_BUILD_OPTIONS_H_
#define FLATPYRAMID_PYRAMID_BUILD_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "pyramid/metadata.pb.h"

namespace flatpyramid {
namespace pyramid {

// BuildProgress is reported to BuildOptions::progress from the committer thread.
struct BuildProgress {
  uint64_t units_done = 0;  // Units (blocks of up to 2048 x 2048 base pixels) committed.
  uint64_t units_total = 0;
  uint64_t tiles_written = 0;  // Tiles appended so far, all levels.
  uint64_t bytes_written = 0;  // Encoded bytes appended (shared tiles counted once).
  absl::Duration elapsed;
  bool finished = false;
};

// BuildOptions: every field has the default the tool documents.
struct BuildOptions {
  std::vector<std::string> inputs;                  // GDAL paths (required).
  std::string output;                               // The .fpyr file to create (required).
  std::string tile_matrix_set = "WebMercatorQuad";  // Or "WorldCRS84Quad".
  int tile_size = 256;                              // 256 or 512.
  int min_zoom = 0;
  int max_zoom = -1;                      // -1: from the source resolution with `zoom_strategy`.
  std::string zoom_strategy = "nearest";  // "nearest", "lower" or "upper".
  // "" picks "jpeg" (mixed JPEG/PNG) for 1 or 3 uint8 bands, "png" for other uint8/uint16,
  // "elevation" for single-band int16/uint16/float32.
  std::string codec;
  int quality = 85;  // JPEG / lossy WebP.
  // Base-level resampling from the source: nearest, bilinear ("" = bilinear), cubic, lanczos,
  // average, mode (classified data).
  std::string resampling;
  // Overviews from the finer level: "average", "mode", "nearest" (2x2-local), or GDAL's
  // overview kernels "bilinear", "cubic", "lanczos" (neighbouring tiles' pixels read too).
  // "" = "mode" after resampling "mode", "nearest" after "nearest", else "average".
  std::string overview_resampling;
  std::vector<int> bands;        // 1-based source bands; empty = all except alpha.
  std::string source_srs;        // CRS for sources without one (or to override it).
  std::optional<double> nodata;  // Overrides the source nodata.
  int threads = 0;               // 0 = all cores.
  // Reprojection error allowed to GDAL's approximate transformer, in target pixels
  // (gdalwarp -et; 0 = every pixel transformed exactly).
  double max_error_pixels = 0.125;
  bool resume = false;          // Continue a killed build of `output` with the same options.
  bool overwrite = false;       // Replace an existing `output`.
  bool force_fallback = false;  // Storage: never use FALLOC_FL_INSERT_RANGE (tests).
  absl::Duration commit_interval = absl::Seconds(3);
  // creation_options are recorded in the metadata verbatim (the tool passes its flags).
  std::map<std::string, std::string> creation_options;
  std::string tool_version = "flatpyramid build_pyramid 1";
  // progress, when set, is called after every committed unit and at the end.
  std::function<void(const BuildProgress&)> progress;
  // cancelled, when set, is asked after `progress` on the same thread; returning true stops
  // the build at a commit point (written then) with Cancelled: `resume` continues it.
  std::function<bool()> cancelled;
  // commit_after_units (tests): also write a commit point right after this many units,
  // whatever the interval. 0 = never.
  uint64_t commit_after_units = 0;
};

// BuildResult is what was written.
struct BuildResult {
  PyramidMetadata metadata;  // Also stored in the file.
  uint64_t tiles_written = 0;
  uint64_t unique_tiles = 0;
  uint64_t units = 0;
};

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_BUILD_OPTIONS_H_
