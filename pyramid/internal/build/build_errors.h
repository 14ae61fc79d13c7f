// Build errors shared by the builder's parts: what to do after a failed write.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_ERRORS_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_ERRORS_H_

#include <string>

#include "absl/status/status.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// WriteFailed adds what to do to a storage write error (disk full, quota, I/O), keeping its
// code. `resumable`: a commit point exists, so --resume can continue after the fix.
absl::Status WriteFailed(const absl::Status& status, bool resumable);

// BeingWritten is the error for an output whose lock another build holds.
absl::Status BeingWritten(const std::string& output);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_BUILD_BUILD_ERRORS_H_
