#include "convert/internal/output_file.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

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
