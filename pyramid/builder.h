// BuildPyramid turns georeferenced rasters (anything GDAL opens; several inputs are
// mosaicked later-on-top as gdalbuildvrt would) into a sealed flatpyramid file in one pass
// over the source.
//
// How it works:
//  * The tile matrix is cut into "units": the subtree of one tile at zoom
//    u = max(0, max_zoom - log2(2048 / tile_size)), i.e. up to 2048 x 2048 base pixels
//    (smaller blocks when that gives fewer than 8 units). Units covering the source
//    footprint are processed in Morton order.
//  * A pool of workers (each with its own GDAL handle) renders a unit's base level with one
//    GDAL warp (exact reprojection through GDAL's transformer, gdalwarp's 0.125 pixel
//    approximation, the resampling kernel's source margin read so blocks join without
//    seams) or, for north-up geographic sources into either tile matrix set (and sources
//    already in its CRS) with nearest or bilinear resampling, with a separable fast path
//    that applies GDAL's kernel in two passes over one RasterIO window; it then forms the unit's
//    overview levels down to zoom u from the raw pixels of each tile's four children, and encodes
//    every tile. No lock is held while warping or encoding.
//  * Overviews: 2x2-local resamplings (average, mode, nearest) form each tile from its four
//    children's raw pixels; GDAL's overview kernels (bilinear, cubic, lanczos of radius r)
//    also read 2r finer pixels around them: the unit's base block is warped with a margin of
//    2r(2^depth - 1) pixels and reduced level by level with its margin.
//  * One committer appends the units' tiles in Morton order (through a bounded reorder
//    buffer), so every level's section grows at the same time with strictly increasing keys,
//    forms the levels above u from the units' raw root tiles (2x2-local: kept in memory,
//    three per level; kernels: spilled to "<output>.spill-z<u>" and reduced level by level
//    with their neighbours after the units pass), and stores identical small tiles once per
//    level (Writer::AppendShared, keyed by a 128-bit digest).
//  * Units are walked lazily in Morton order (no list of units). Memory is bounded by
//    (threads + reorder window) units, three raw tiles per level, 64 Ki digests per level and
//    GDAL's block cache, which the build sets to threads x the source blocks the next unit
//    reads again (the window's edge blocks; a strip TIFF's whole window), at least 8 MiB and
//    at most GDAL's default, unless GDAL_CACHEMAX is set.
//
// Commit points and --resume: every `commit_interval` the committer commits the store with
// a BuildState (pyramid/internal/build_state.proto) as the user metadata: the options and the
// number of units fully appended. The raw pixels of the pending overview tiles above zoom u
// (too big for the 16 KiB storage header slot) are first written and synced to the side file
// "<output>.resume-<units>". A killed build reopens the file with Writer::OpenForAppend,
// restores that state (and seals the first run's metadata: creation time and options),
// reloads the deduplication table from the committed tiles and continues with the next unit:
// its tiles, offsets, counts and metadata are a clean build's (but for created_utc, the first
// run's). The spill file of kernel overviews is synced at each commit point; the levels
// above the units are formed after the last unit and never committed half-done, so a
// resumed build forms them again. The side files are removed once the pyramid is sealed.
// The output's exclusive lock (storage::Writer) is taken before any side file is read or
// removed: a second build of the same output fails with Unavailable and leaves the running
// one alone.
// Only Seal writes the final PyramidMetadata, so an unfinished file is never a valid pyramid.
//
// Caveats: rasters of more than 4 bands must be narrowed with `bands`; sources are read
// through GDAL's block cache, so very slow remote sources (/vsicurl/) are read once per unit
// and worker; the kernel overviews' spill file holds one raw tile per unit (1/64 of the raw
// base level with 2048-pixel units) on the output's filesystem, and their passes use
// doubles (about 70 MB of scratch per worker for lanczos on 2048-pixel units).
//
// Example:
//   flatpyramid::pyramid::BuildOptions options;
//   options.inputs = {"L7_ETMs.tif"};
//   options.output = "landsat.fpyr";
//   options.bands = {3, 2, 1};
//   absl::StatusOr<flatpyramid::pyramid::BuildResult> result =
//       flatpyramid::pyramid::BuildPyramid(options);
//   if (!result.ok()) { std::cerr << result.status() << "\n"; return 1; }
#ifndef FLATPYRAMID_PYRAMID_BUILDER_H_
#define FLATPYRAMID_PYRAMID_BUILDER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
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

// BuildPyramid builds `options.output`. Errors (nothing valid is left behind):
//   NotFound / InvalidArgument: missing or unreadable input, no CRS (names --source_srs),
//     unsupported bands or pixel type for the codec, bad flag values;
//   OutOfRange: the source does not overlap the tile matrix set;
//   AlreadyExists: the output exists and neither overwrite nor resume is set;
//   FailedPrecondition: resume of a file that is sealed or was built with other options;
//   ResourceExhausted / Internal: disk full or I/O failure (the file stays unsealed;
//     --resume continues from its last commit point).
// A geographic source whose longitudes leave -180..180 (a 0..360 grid) is wrapped around its
// centre, so it covers the globe.
absl::StatusOr<BuildResult> BuildPyramid(const BuildOptions& options);

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_BUILDER_H_
