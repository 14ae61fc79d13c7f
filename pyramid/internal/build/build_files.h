// BuildFiles: every file a build of a pyramid touches, named in one place (as LevelDB's
// db/filename.h), and touched only through storage::Env.
//
// A build writes the store at its build path: the output itself, or, when an overwrite
// replaces an existing file, "<output>.partial" (storage::TemporaryPath) beside it, renamed
// over the output only once sealed, so that the old pyramid stays whole until then. Beside the
// build path live the side files of its commit points:
//   "<build path>.resume-<units done>"      pending overview tiles of a commit point
//   "<build path>.resume-<units done>.tmp"  the same, while being written
//   "<build path>.spill-z<zoom>"             raw tiles of a level, for overview kernels
// An update of a pyramid (pyramid/updater.h) builds "<output>.update-tiles" and writes
// "<output>.update", renamed over the output.
// They are removed once the pyramid is sealed, or when a new build of the path starts.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_FILES_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_FILES_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "storage/env.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// TemporaryOutputName is where an overwriting build of `output` is built.
std::string TemporaryOutputName(const std::string& output);

// UpdateOutputName is where an update of `output` writes the updated pyramid
// ("<output>.update"), renamed over `output` once sealed (pyramid/updater.h).
std::string UpdateOutputName(const std::string& output);

// UpdateTilesName is the restricted build of an update of `output` ("<output>.update-tiles"):
// its existence says that an update was started and not finished.
std::string UpdateTilesName(const std::string& output);

// PendingFileName is the side file of the commit point after `units_done` units.
std::string PendingFileName(const std::string& build_path, uint64_t units_done);

// SpillFileName is the side file holding the raw tiles of level `zoom`.
std::string SpillFileName(const std::string& build_path, int zoom);

// IsSideFile is true when `name` (a file name in the build path's directory) is a side file
// of `build_path`.
bool IsSideFile(const std::string& build_path, absl::string_view name);

// RemoveSideFiles removes every side file of `build_path`, durably. REQUIRES: the caller holds
// the build path's lock (a running build's side files would be removed under it).
absl::Status RemoveSideFiles(storage::Env* env, const std::string& build_path);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_FILES_H_
