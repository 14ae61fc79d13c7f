#include "convert/internal/output_file.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace convert {
namespace internal {

absl::Status CheckOutput(const std::string& output, const std::vector<std::string>& inputs,
                         bool overwrite) {
  struct stat out;
  if (stat(output.c_str(), &out) != 0) return absl::OkStatus();  // Nothing there yet.
  for (const std::string& input : inputs) {
    struct stat in;
    if (stat(input.c_str(), &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
      return absl::InvalidArgumentError(absl::StrCat("the output ", output, " is the input ", input,
                                                     ": give a different output path"));
    }
  }
  // Replacing a directory removes everything under it: never one holding an input.
  char resolved_output[PATH_MAX];
  if (S_ISDIR(out.st_mode) && realpath(output.c_str(), resolved_output) != nullptr) {
    const std::string prefix = absl::StrCat(resolved_output, "/");
    for (const std::string& input : inputs) {
      char resolved_input[PATH_MAX];
      if (realpath(input.c_str(), resolved_input) != nullptr &&
          absl::StartsWith(resolved_input, prefix)) {
        return absl::InvalidArgumentError(
            absl::StrCat("the output directory ", output, " holds the input ", input,
                         ": replacing it would delete the input; give a different output path"));
      }
    }
  }
  if (!overwrite) {
    return absl::AlreadyExistsError(
        absl::StrCat(output, " exists: give --overwrite to replace it, or another output path"));
  }
  return absl::OkStatus();
}

std::string TemporaryPath(const std::string& output) {
  std::string base = output;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return absl::StrCat(base, ".tmp.", getpid());
}

absl::Status Publish(const std::string& temporary, const std::string& output) {
  struct stat old;
  const bool old_is_dir = stat(output.c_str(), &old) == 0 && S_ISDIR(old.st_mode);
  std::string aside;
  if (old_is_dir) {
    aside = absl::StrCat(TemporaryPath(output), ".old");
    if (rename(output.c_str(), aside.c_str()) != 0) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot move the old ", output, " aside: ", std::strerror(errno)));
    }
  }
  if (rename(temporary.c_str(), output.c_str()) != 0) {
    const int error = errno;
    if (old_is_dir) rename(aside.c_str(), output.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot rename ", temporary, " to ", output, ": ", std::strerror(error)));
  }
  if (old_is_dir) RemoveTree(aside);
  return absl::OkStatus();
}

void RemoveTree(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* name, const struct stat*, int, struct FTW*) {
        remove(name);
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS);
}

}  // namespace internal
}  // namespace convert
}  // namespace flatpyramid
