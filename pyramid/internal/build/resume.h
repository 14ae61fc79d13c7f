// Resume: commit points of a build and how --resume continues a build in whatever state it
// was left.
//
// Every commit point stores a BuildState (pyramid/internal/build_state.proto) as the store's
// user metadata: the options, the per-level statistics, the number of units fully appended
// and a stamp of every input file. The raw pixels of the pending overview tiles above the
// unit zoom (too big for the 16 KiB storage header slot) are first written and synced to a
// side file (PendingFileName, build_files.h), and the spill file of kernel overviews is
// synced. --resume reopens the build path with storage::Writer::OpenForAppend (taking its
// lock before any side file is read) and, by what it finds:
//   - no commit point yet (killed in its first seconds): starts from the beginning;
//   - a commit point: restores that state, reloads the deduplication table from the committed
//     tiles and continues with the next unit: its tiles, offsets, counts and metadata are a
//     clean build's (but for created_utc, the first run's);
//   - the final metadata committed but not sealed (killed while sealing): only seals;
//   - a sealed pyramid of the same build: nothing to do.
// Other inputs or options, or an input file that changed since the build started, are refused.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_RESUME_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_RESUME_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message_lite.h"
#include "pyramid/internal/build/build_plan.h"
#include "pyramid/internal/build/committer.h"
#include "pyramid/internal/build/tile_dedup.h"
#include "pyramid/internal/build_state.pb.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// DeterministicBytes serializes `message` with map entries in key order, so equal metadata
// (a resumed build's and a clean one's) are equal bytes.
std::string DeterministicBytes(const google::protobuf::MessageLite& message);

// StampInputs stamps every input that is a file (size, modification time, CRC32C of its first
// and last 64 KiB); GDAL names that are not files are skipped.
absl::StatusOr<std::vector<SourceFile>> StampInputs(storage::Env* env,
                                                    const std::vector<std::string>& inputs);

// RecordedSources is what a pyramid records of its inputs (PyramidMetadata::sources): one
// SourceFile per input in mosaic order, with the stamp `stamps` holds for a file and its path
// made absolute; a GDAL name that is not a file keeps its name and no stamp.
std::vector<SourceFile> RecordedSources(const std::vector<std::string>& inputs,
                                        const std::vector<SourceFile>& stamps);

// ResumeStart is the state --resume found the build path in.
enum class ResumeStart {
  kStartOver,  // No commit point (or a file the kill left before its first header).
  kContinue,   // A commit point: continue after state.units_done units.
  kSealOnly,   // Every tile and the final metadata committed; only Seal is left.
  kFinished,   // Sealed, by a build with the same inputs and options.
};

// ResumedBuild is the state of a stopped build, ready to go on.
struct ResumedBuild {
  ResumeStart start = ResumeStart::kStartOver;
  // Holds the build path's lock; null for kFinished, and for kStartOver when the file must be
  // created again.
  std::unique_ptr<storage::Writer> writer;
  BuildState state;                  // kContinue.
  PendingTiles pending;              // kContinue.
  std::unique_ptr<TileDedup> dedup;  // kContinue: the small tiles already committed.
  PyramidMetadata final_metadata;    // kSealOnly and kFinished: the metadata in the file.
};

// ReopenForResume finds what state the build at `build_path` (of the same build as `plan`,
// whose inputs are stamped `inputs`) was left in. For kContinue it replaces plan->metadata with
// the first run's (its creation time, options and tool version). Errors: Unavailable (another
// build or a reader holds the lock), FailedPrecondition (other inputs or options, a changed
// input, a file that is not a stopped build), DataLoss (a missing or damaged side file).
absl::StatusOr<ResumedBuild> ReopenForResume(const std::string& build_path,
                                             const storage::WriterOptions& writer_options,
                                             const std::vector<SourceFile>& inputs,
                                             BuildPlan* plan);

// CommitPoints writes the commit points of one build. Thread-compatible (the committer
// thread).
class CommitPoints {
 public:
  // `last_units_done`: the units of the commit point the build resumed from (0: none).
  CommitPoints(storage::Env* env, const std::string& build_path, storage::Writer* writer,
               uint64_t units_total, uint64_t last_units_done, std::vector<SourceFile> inputs)
      : env_(env),
        build_path_(build_path),
        writer_(writer),
        units_total_(units_total),
        last_units_done_(last_units_done),
        inputs_(std::move(inputs)) {}

  // Commit writes a commit point after `units_done` units: the side files first (so a crash
  // before the header commit leaves the previous point intact), then the store's header;
  // then the previous point's side file is removed.
  absl::Status Commit(const PyramidMetadata& metadata, uint64_t units_done,
                      const Committer& committer);

  // any is true once a commit point exists (a failed build can be resumed).
  bool any() const { return last_units_done_ > 0; }

 private:
  storage::Env* env_;
  std::string build_path_;
  storage::Writer* writer_;
  uint64_t units_total_;
  uint64_t last_units_done_;
  std::vector<SourceFile> inputs_;
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_RESUME_H_
