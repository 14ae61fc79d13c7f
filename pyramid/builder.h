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

#include "absl/status/statusor.h"
#include "pyramid/build_options.h"

namespace flatpyramid {
namespace pyramid {

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
