#include "pyramid/internal/build/build_errors.h"

#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

absl::Status WriteFailed(const absl::Status& status, bool resumable) {
  return absl::Status(
      status.code(),
      absl::StrCat("cannot write the pyramid (", status.message(), "): free disk space, then ",
                   resumable ? "rerun with --resume to continue from the last commit point"
                             : "rerun with --overwrite"));
}

absl::Status BeingWritten(const std::string& output) {
  return absl::UnavailableError(
      absl::StrCat("output ", output,
                   " is being written by another build (its lock is held): wait for it to "
                   "finish, or choose another --output"));
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
