// BuildOutput: where a build writes and how its output replaces an old one.
//
// Before anything is opened for writing, the output rules (storage/output_file.h) are checked:
// an output that is, or resolves to, one of the inputs is refused, and an existing one needs
// BuildOptions::overwrite (or ::resume). A new output is built in place. An --overwrite of an
// existing output is built at TemporaryOutputName(output) (build_files.h) and renamed over the
// old file only once sealed: a failed or killed build leaves the old pyramid whole and
// readable. --resume continues the temporary if there is one, else the output itself, in
// whatever state it was left (resume.h).
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_OUTPUT_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_OUTPUT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pyramid/build_options.h"
#include "pyramid/internal/build/build_plan.h"
#include "pyramid/internal/build/resume.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// OpenedOutput is the store a build writes, new or reopened to go on with a stopped build.
struct OpenedOutput {
  storage::Env* env = nullptr;
  std::string output;      // BuildOptions::output.
  std::string build_path;  // Where the store is written: `output` or its temporary.
  std::unique_ptr<storage::Writer> writer;  // Holds build_path's lock; null when kFinished.
  ResumeOutcome outcome = ResumeOutcome::kNotResumed;
  std::optional<ResumedBuild> resumed;  // A commit point to continue from (kContinued).
  uint64_t first_unit = 0;
  PyramidMetadata final_metadata;  // kSealedOnly and kAlreadyFinished.
  std::vector<SourceFile> inputs;  // Stamps of the input files, for the commit points.
};

// OpenOutput applies the output rules and opens (or reopens, with options.resume) the store.
// For a resumed commit point it replaces plan->metadata with the first run's.
absl::StatusOr<OpenedOutput> OpenOutput(const BuildOptions& options, BuildPlan* plan);

// FinishOutput, after Seal, removes the side files and renames a temporary build over the
// output (durably). Closes the writer.
absl::Status FinishOutput(OpenedOutput* opened);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_OUTPUT_H_
