#include "pyramid/internal/build/build_errors.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

std::string Directory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

absl::Status CheckOutputPath(const std::string& output) {
  struct stat info;
  if (stat(output.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output ", output, " is a directory: give a file path in BuildOptions::output"));
    }
    if (!S_ISREG(info.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("output ", output,
                       " is not a regular file (a device, FIFO or socket): give a file path in "
                       "BuildOptions::output"));
    }
  }
  const std::string dir = Directory(output);
  if (stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return absl::NotFoundError(
        absl::StrCat("the output's directory ", dir,
                     " does not exist: create it, or choose another BuildOptions::output"));
  }
  if (access(dir.c_str(), W_OK) != 0) {
    const int error = errno;
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create files in the output's directory ", dir, " (",
                     std::strerror(error), "): choose another BuildOptions::output"));
  }
  return absl::OkStatus();
}

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
