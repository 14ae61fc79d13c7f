// Resume: commit points of a build and how a killed build continues from its last one.
//
// Every commit point stores a BuildState (pyramid/internal/build_state.proto) as the store's
// user metadata: the options, the per-level statistics and the number of units fully
// appended. The raw pixels of the pending overview tiles above the unit zoom (too big for the
// 16 KiB storage header slot) are first written and synced to the side file
// "<output>.resume-<units_done>", and the spill file of kernel overviews is synced. A killed
// build reopens the file with storage::Writer::OpenForAppend (taking its lock before any side
// file is read), restores that state, reloads the deduplication table from the committed tiles
// and continues with the next unit: its tiles, offsets, counts and metadata are a clean
// build's (but for created_utc, the first run's). The side files are removed once the
// pyramid is sealed.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_RESUME_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_RESUME_H_

#include <cstdint>
#include <memory>
#include <string>

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

// PendingFileName is the side file holding the pending overview tiles of a commit point.
std::string PendingFileName(const std::string& output, uint64_t units_done);

// RemoveSideFiles deletes every "<output>.resume-*" and "<output>.spill-*" side file.
// REQUIRES: the caller holds the output's lock.
void RemoveSideFiles(const std::string& output);

// ResumedBuild is the state of a killed build, ready to continue.
struct ResumedBuild {
  std::unique_ptr<storage::Writer> writer;  // Holds the output's lock.
  BuildState state;
  PendingTiles pending;
  std::unique_ptr<TileDedup> dedup;  // The small tiles already committed.
};

// ReopenForResume reopens the unfinished `output` of the same build as `plan` and replaces
// plan->metadata with the first run's (its creation time, options and tool version).
// Errors: Unavailable (another build holds the lock), FailedPrecondition (sealed, unreadable,
// no commit point, or other inputs or options), DataLoss (a missing or damaged side file).
absl::StatusOr<ResumedBuild> ReopenForResume(const std::string& output,
                                             const storage::WriterOptions& writer_options,
                                             BuildPlan* plan);

// CommitPoints writes the commit points of one build. Thread-compatible (the committer
// thread).
class CommitPoints {
 public:
  // `last_units_done`: the units of the commit point the build resumed from (0: none).
  CommitPoints(const std::string& output, storage::Writer* writer, uint64_t units_total,
               uint64_t last_units_done)
      : output_(output),
        writer_(writer),
        units_total_(units_total),
        last_units_done_(last_units_done) {}

  // Commit writes a commit point after `units_done` units: the side files first (so a crash
  // before the header commit leaves the previous point intact), then the store's header;
  // then the previous point's side file is removed.
  absl::Status Commit(const PyramidMetadata& metadata, uint64_t units_done,
                      const Committer& committer);

  // any is true once a commit point exists (a failed build can be resumed).
  bool any() const { return last_units_done_ > 0; }

 private:
  std::string output_;
  storage::Writer* writer_;
  uint64_t units_total_;
  uint64_t last_units_done_;
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_RESUME_H_
