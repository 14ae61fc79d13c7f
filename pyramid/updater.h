// UpdatePyramid adds new imagery to a finished pyramid, or renders an area of it again from
// its recorded sources (build_pyramid --update), and gives, tile for tile, what a build of
// all the sources would give: the recorded ones (PyramidMetadata::sources) in their order,
// then the new ones on top.
//
// How it works: a restricted build (BuildOptions::area, build_area.h) of every source over
// the area to update (the new inputs' footprint, or BuildOptions::area) renders the tiles at
// the unit zoom and finer that touch it, exactly as a full build does; the tiles above are
// formed again from their updated children (2x2 overview resampling, then the codec); every
// other tile keeps its bytes. The restricted build is written to "<output>.update-tiles".
//
// In place (UpdatePath::kInPlace), when no reader has the file open: the pyramid's own file
// is changed (storage::Writer::OpenForUpdate). Each level gets a new index (16 bytes of
// location and 8 of key a tile), written after the old one in room opened with
// fallocate(INSERT_RANGE) (on tmpfs, btrfs, NFS: by moving the file's tail, still in place);
// kept tiles point at their bytes where they are, new tiles are appended to the level's blob.
// One header commit switches every level at once; then the old indexes' room is closed with
// COLLAPSE_RANGE (or the tail copy). The update writes the touched levels' index and the new
// tiles, not the file.
//
// As a copy (UpdatePath::kCopy), when a reader has the file open, and for a compaction:
// readers that opened the old file keep a consistent view: the update then writes a copy and
// renames it. The updated pyramid is written as "<output>.update" and renamed over the
// output only once sealed (storage/output_file.h): each level's old value blob is copied
// whole (copy_file_range: in the kernel, a reflink on XFS or Btrfs), the new tiles after it.
// The reader keeps reading the old file (the rename does not touch the file it has open); it
// sees the update once it opens `output` again.
//
// Either way, the replaced tiles' old bytes stay in the blob, unreferenced, counted in
// Level::dead_bytes, until a compaction (UpdateOptions, or by itself past
// kAutoCompactDeadFraction) copies tile by tile into a new file.
//
// Crash safety and readers: a kill at any moment leaves the old pyramid whole at `output`,
// or the new one, never a mix. BuildOptions::resume finishes a stopped update: the
// restricted build continues from its last commit point (it is a build like any other) and
// the composition runs again (in place: after finishing or undoing the move the kill
// stopped); an update whose switch was committed only has its leftover room removed.
// While an update runs in place, a reader that tries to open the file is refused
// ("being written by another process", kUnavailable): retry once the update is done; and a
// file whose in-place update stopped inside a tail copy (no INSERT_RANGE) is refused by
// readers until the update is resumed.
//
// The pyramid decides the tiles: its tile matrix set, tile size, zoom levels, codec,
// quality, resampling and overview resampling are taken from its metadata (the fields of
// `options` for them are ignored); the source fields (bands, source_srs, nodata) must be the
// build's (build_pyramid takes them from the recorded creation options), and the new inputs
// must give the pyramid's pixel type and bands (FailedPrecondition naming the field).
//
// Caveats: kernel overview resamplings (bilinear, cubic, lanczos), which read neighbouring
// tiles, and shards are refused. With a lossy codec (jpeg, webp) the tiles above the unit zoom
// in the updated area are formed from decoded children, so they differ from a full build's by
// the codec's error; lossless codecs give a full build's bytes. In place, every level's index
// is held in memory while it is replaced (24 bytes a tile, two levels at a time). As a copy,
// the disk needs room for both files until the rename, and the old file's space is free once
// its last reader closes it.
// Tiles near the new inputs' edges are rendered again too (the resampling kernel's reach);
// a tile outside that area equals a full build's only if the first build cut the same blocks,
// which every build of at least 8 blocks of 2048 pixels does.
//
// Example:
//   flatpyramid::pyramid::BuildOptions options;
//   options.inputs = {"east.tif"};
//   options.output = "mosaic.fpyr";  // Built from west.tif, with the same bands.
//   absl::StatusOr<flatpyramid::pyramid::UpdateResult> updated =
//       flatpyramid::pyramid::UpdatePyramid(options);
#ifndef FLATPYRAMID_PYRAMID_UPDATER_H_
#define FLATPYRAMID_PYRAMID_UPDATER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "pyramid/build_options.h"
#include "pyramid/metadata.pb.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {

// kAutoCompactDeadFraction: an update compacts (UpdateOptions::compact) by itself when the dead
// bytes it would leave exceed this fraction of the pyramid's tile bytes (Level::bytes summed).
inline constexpr double kAutoCompactDeadFraction = 0.25;

// UpdateOptions are what an update does besides BuildOptions.
struct UpdateOptions {
  // Copy every kept tile on its own, so that no dead byte is left (build_pyramid --compact).
  // With no inputs and no area, only compacts.
  bool compact = false;
  // Compact by itself when the dead bytes the update would leave exceed this fraction of the
  // tile bytes; 1 or more: never (a caller that compacts later, or a test of the other paths).
  double auto_compact_dead_fraction = kAutoCompactDeadFraction;
};

// UpdatePath says how an update wrote the pyramid.
enum class UpdatePath {
  kNone,     // Nothing written (already finished).
  kInPlace,  // The pyramid's file was changed (no reader had it open).
  kCopy,     // A copy was written and renamed over it (a reader had it open, or a compaction).
};

// UpdateResult is what an update did.
struct UpdateResult {
  PyramidMetadata metadata;     // Also stored in the file.
  uint64_t tiles_copied = 0;    // Old tiles kept, bytes untouched.
  uint64_t tiles_replaced = 0;  // Old tiles inside the area, replaced or gone.
  uint64_t tiles_written = 0;   // Tiles of the updated area.
  uint64_t new_bytes = 0;       // Their bytes (shared tiles counted once).
  uint64_t dead_bytes = 0;      // Left in the file (Level::dead_bytes summed).
  bool compacted = false;       // Asked, or past UpdateOptions::auto_compact_dead_fraction.
  UpdatePath path = UpdatePath::kNone;
  // What the writer of the pyramid file did (bytes_written: to the pyramid or its copy; the
  // restricted build's file not counted; insert_range_calls, tail_moves: in place).
  storage::WriterStats storage;
  // kAlreadyFinished: the pyramid already ends with these inputs, unchanged (a resumed update
  // that had renamed its result): nothing was done.
  ResumeOutcome resume_outcome = ResumeOutcome::kNotResumed;
};

// UpdatePyramid updates options.output with options.inputs on top of its recorded sources, or,
// with no inputs, renders options.area again from the recorded sources (a source rewritten
// since), or with neither and update.compact, only compacts. Errors: InvalidArgument naming the
// BuildOptions field (no inputs and no area, shard); NotFound (no pyramid at output, or a recorded
// source gone); FailedPrecondition (a pyramid without recorded sources, a recorded source changed
// since (when adding inputs), a kernel overview resampling, inputs of another pixel type or bands,
// or an interrupted update and no `resume`); Unavailable (another update of the output runs); build
// and storage errors as BuildPyramid returns them.
absl::StatusOr<UpdateResult> UpdatePyramid(const BuildOptions& options,
                                           const UpdateOptions& update = {});

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_UPDATER_H_
