// BuildOptions, BuildProgress and BuildResult: the parameters and results of BuildPyramid
// (pyramid/builder.h). Typed: enums for the tile matrix set, zoom strategy, codec and
// resampling; std::optional where "unset" means "chosen automatically". Errors about a field
// name it ("BuildOptions::quality=0 is out of range: use 1..100"); tools map the field to
// their flag.
#ifndef FLATPYRAMID_PYRAMID_BUILD_OPTIONS_H_
#define FLATPYRAMID_PYRAMID_BUILD_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/format.h"
#include "pyramid/metadata.pb.h"
#include "pyramid/resampling.h"
#include "storage/env.h"

namespace flatpyramid {
namespace pyramid {

// kBuilderVersion is recorded as PyramidMetadata::tool_version by default.
inline constexpr char kBuilderVersion[] = "flatpyramid build_pyramid 1.0";

// TileMatrixSetId names the OGC tile matrix sets a pyramid can use (geo::TileMatrixSet).
enum class TileMatrixSetId {
  kWebMercatorQuad,  // EPSG:3857, the web map tiling.
  kWorldCRS84Quad,   // Longitude/latitude, two tiles at zoom 0.
};

// TileMatrixSetIdName is the set's OGC identifier ("WebMercatorQuad", "WorldCRS84Quad").
absl::string_view TileMatrixSetIdName(TileMatrixSetId id);

// ParseTileMatrixSetId accepts the identifiers TileMatrixSetIdName returns.
absl::StatusOr<TileMatrixSetId> ParseTileMatrixSetId(absl::string_view name);

// MaxBuildThreads is the most worker threads a build starts: 4 per core (a worker waits on
// I/O part of the time); BuildOptions::threads above it is lowered to it.
int MaxBuildThreads();

// BuildProgress is reported to BuildOptions::progress from the committer thread.
struct BuildProgress {
  uint64_t units_done = 0;  // Units (blocks of up to 2048 x 2048 base pixels) committed.
  uint64_t units_total = 0;
  uint64_t tiles_written = 0;  // Tiles appended so far, all levels.
  uint64_t bytes_written = 0;  // Encoded bytes appended (shared tiles counted once).
  absl::Duration elapsed;
  bool finished = false;
};

// BuildArea is a box in any CRS (the tool's --bbox and --bbox_srs); see BuildOptions::area.
struct BuildArea {
  double min_x = 0, min_y = 0, max_x = 0, max_y = 0;
  // Anything OGRSpatialReference::SetFromUserInput accepts. In a geographic CRS x is the
  // longitude and wraps: min_x > max_x crosses the antimeridian.
  std::string srs = "EPSG:4326";
};

// BuildShard is one of `count` parts of a sharded build (the tool's --shard=index/count);
// see BuildOptions::shard.
struct BuildShard {
  uint32_t index = 0;
  uint32_t count = 1;
};

// BuildOptions: every field has the default the tool documents. ValidateBuildOptions states
// each field's range.
struct BuildOptions {
  std::vector<std::string> inputs;  // GDAL paths (required); several are mosaicked.
  std::string output;               // The .fpyr file to create (required).
  TileMatrixSetId tile_matrix_set = TileMatrixSetId::kWebMercatorQuad;
  int tile_size = 256;  // 256 or 512.
  int min_zoom = 0;
  // Unset: the zoom matching the source resolution, chosen with `zoom_strategy`.
  std::optional<int> max_zoom;
  geo::ZoomStrategy zoom_strategy = geo::ZoomStrategy::kNearest;
  // Unset: kJpeg (opaque tiles JPEG, partial ones PNG) for 1 or 3 uint8 bands, kElevation for
  // one int16/uint16/float32 band, kPng otherwise.
  std::optional<TileCodec> codec;
  int quality = 85;  // JPEG and lossy WebP, 1..100; recorded only for those codecs.
  // Base-level resampling from the source (GDAL's warper kernels).
  Resampling resampling = Resampling::kBilinear;
  // Overviews from the finer level: kAverage, kMode, kNearest (2x2-local), or GDAL's overview
  // kernels kBilinear, kCubic, kLanczos (neighbouring tiles' pixels read too; not
  // kCubicSpline). Unset: DefaultOverviewResampling(resampling).
  std::optional<Resampling> overview_resampling;
  std::vector<int> bands;        // 1-based source bands; empty = all except alpha.
  std::string source_srs;        // CRS for sources without one (or to override it).
  std::optional<double> nodata;  // Overrides the source nodata; must fit the pixel type.
  // Worker threads, >= 1. Unset: one per core. Above MaxBuildThreads(): lowered to it.
  std::optional<int> threads;
  // Reprojection error allowed to GDAL's approximate transformer, in target pixels
  // (gdalwarp -et; 0 = every pixel transformed exactly).
  double max_error_pixels = 0.125;
  // area, when set, builds only the tiles that touch it: at the unit zoom and finer they are
  // the full build's tiles, coarser ones hold the area's data only
  // (pyramid/internal/build/build_area.h).
  std::optional<BuildArea> area;
  // shard, when set, builds the index-th of count contiguous ranges of units (Morton order,
  // balanced by base tiles) into a shard file that merge_pyramids joins with the others
  // (pyramid/internal/build/shard_plan.h). Not with kernel overview resamplings.
  std::optional<BuildShard> shard;
  // Continue a stopped build of `output` with the same options, whatever its state: from the
  // beginning if it had no commit point yet, only sealing if it stopped while sealing; a
  // finished pyramid of the same build is left as it is. Other inputs or options, or an input
  // file changed since the build started, are refused.
  bool resume = false;
  // Replace an existing `output`: the build is written beside it and renamed over it only
  // once sealed, so the old file stays whole and readable until then.
  bool overwrite = false;
  // A build whose finest level is more than kMaxUpsampleLevels finer than the source, or
  // that writes more than kLargeBuildTiles tiles, is refused unless this is set.
  bool allow_large_build = false;
  // Set GDAL's block cache (GDALSetCacheMax64, a process-wide setting) to what the build's
  // workers need for the build's duration, then restore it; never when GDAL_CACHEMAX is set.
  // Turn off when other threads of the process use GDAL meanwhile.
  bool set_gdal_cache = true;
  bool force_fallback = false;  // Storage: never use FALLOC_FL_INSERT_RANGE (tests).
  absl::Duration commit_interval = absl::Seconds(3);  // >= 0.
  // creation_options are recorded in the metadata verbatim (the tool passes its flags).
  std::map<std::string, std::string> creation_options;
  std::string tool_version = kBuilderVersion;
  // progress, when set, is called after every committed unit and at the end.
  std::function<void(const BuildProgress&)> progress;
  // cancelled, when set, is asked after `progress` on the same thread; returning true stops
  // the build at a commit point (written then) with Cancelled: `resume` continues it.
  std::function<bool()> cancelled;
  // commit_after_units (tests): also write a commit point right after this many units,
  // whatever the interval. 0 = never.
  uint64_t commit_after_units = 0;
  // env is the I/O seam of every file the build writes (the store and its side files);
  // nullptr = storage::Env::Default(). Inputs are read by GDAL.
  storage::Env* env = nullptr;
};

// ResumeOutcome says what BuildOptions::resume found.
enum class ResumeOutcome {
  kNotResumed,       // A new build (no --resume, or no output yet).
  kStartedOver,      // The output had no commit point yet: built from the beginning.
  kContinued,        // Continued from the last commit point.
  kSealedOnly,       // Every tile was written: only sealed.
  kAlreadyFinished,  // A finished pyramid of the same build: nothing was done.
};

// kMaxUpsampleLevels: how many levels finer than the source resolution a build may go
// without BuildOptions::allow_large_build.
inline constexpr int kMaxUpsampleLevels = 3;
// kLargeBuildTiles: how many tiles (at most, all levels) a build may plan without
// BuildOptions::allow_large_build.
inline constexpr uint64_t kLargeBuildTiles = 20'000'000;

// ValidateBuildOptions checks every field that can be checked without opening the inputs;
// InvalidArgument naming the field and its allowed values ("BuildOptions::tile_size=300 is
// not supported: use 256 or 512"). BuildPyramid calls it first.
absl::Status ValidateBuildOptions(const BuildOptions& options);

// BuildResult is what was written.
struct BuildResult {
  PyramidMetadata metadata;  // Also stored in the file.
  uint64_t tiles_written = 0;
  uint64_t unique_tiles = 0;
  uint64_t units = 0;
  int unit_zoom = 0;  // The zoom of the units: each is the subtree of one of its tiles.
  int threads = 0;    // Worker threads used.
  ResumeOutcome resume_outcome = ResumeOutcome::kNotResumed;
};

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_BUILD_OPTIONS_H_
