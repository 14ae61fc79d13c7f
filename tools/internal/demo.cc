#include "tools/internal/demo.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace tools {

std::optional<std::string> FindDemoData(const char* argv0) {
  std::vector<std::string> candidates;
  if (const char* runfiles = std::getenv("RUNFILES_DIR")) {
    candidates.push_back(absl::StrCat(runfiles, "/flatpyramid/", kDemoData));
  }
  candidates.push_back(absl::StrCat(argv0, ".runfiles/flatpyramid/", kDemoData));
  candidates.push_back(kDemoData);  // bazel run starts in the runfiles tree.
  for (const std::string& candidate : candidates) {
    if (access(candidate.c_str(), F_OK) == 0) {
      char resolved[PATH_MAX];
      if (realpath(candidate.c_str(), resolved) != nullptr) return std::string(resolved);
      return candidate;
    }
  }
  return std::nullopt;
}

absl::StatusOr<pyramid::BuildOptions> DemoBuildOptions(const char* argv0,
                                                       const std::string& output) {
  std::optional<std::string> sample = FindDemoData(argv0);
  if (!sample.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        "the bundled sample ", kDemoData,
        " is not in the runfiles: run through `./bazelw run //tools:...`, or name a pyramid"));
  }
  pyramid::BuildOptions options;
  options.inputs = {*sample};
  options.bands = {3, 2, 1};
  options.output = output;
  options.creation_options["input"] = *sample;
  options.creation_options["bands"] = "3,2,1";
  return options;
}

}  // namespace tools
}  // namespace flatpyramid
