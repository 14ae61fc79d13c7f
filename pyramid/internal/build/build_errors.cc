#include "pyramid/internal/build/build_errors.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

absl::Status WriteFailed(const absl::Status& status, bool resumable) {
  const absl::string_view rerun =
      resumable ? "rerun with BuildOptions::resume to continue from the last commit point"
                : "rerun with BuildOptions::overwrite";
  absl::string_view fix;
  switch (status.code()) {
    case absl::StatusCode::kResourceExhausted:
      fix = "free disk space, then ";
      break;
    case absl::StatusCode::kPermissionDenied:
      fix = "make the output writable, then ";
      break;
    case absl::StatusCode::kDataLoss:
      fix = "check the disk (an I/O error), then ";
      break;
    default:
      fix = "";
      break;
  }
  return absl::Status(status.code(),
                      absl::StrCat("cannot write the pyramid (", status.message(), "): ", fix,
                                   fix.empty() ? "check BuildOptions::output, or " : "", rerun));
}

absl::Status BeingWritten(const std::string& output) {
  return absl::UnavailableError(
      absl::StrCat("output ", output,
                   " is being written by another build (its lock is held): wait for it to "
                   "finish, or choose another BuildOptions::output"));
}

absl::Status InUse(const std::string& output, const absl::Status& status) {
  if (absl::StrContains(status.message(), "in use by a reader")) {
    return absl::UnavailableError(
        absl::StrCat("output ", output,
                     " is in use by a reader (a program holds it open): close it, then retry"));
  }
  return BeingWritten(output);
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
