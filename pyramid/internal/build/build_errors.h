// Errors about the output shared by the builder's parts: what is wrong with the path, and
// what to do after a failed write.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_ERRORS_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_ERRORS_H_

#include <string>

#include "absl/status/status.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// CheckOutputPath refuses an output that cannot be a pyramid file before anything is
// written: a directory, a device or FIFO, a missing directory, a directory this process cannot
// create files in (read-only file system, permissions). The error names the cause.
absl::Status CheckOutputPath(const std::string& output);

// WriteFailed adds what to do to a storage write error (disk full, quota, I/O), keeping its
// code. `resumable`: a commit point exists, so --resume can continue after the fix.
absl::Status WriteFailed(const absl::Status& status, bool resumable);

// BeingWritten is the error for an output whose lock another build holds.
absl::Status BeingWritten(const std::string& output);

// InUse is the error for an output whose lock storage refused (`status`, kUnavailable): held
// by a reader or by another build, as storage says.
absl::Status InUse(const std::string& output, const absl::Status& status);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_ERRORS_H_
