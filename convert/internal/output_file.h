// Internal to //convert: the output rules every converter follows. An output is written under
// a temporary name next to it and renamed over the final name only when complete; an
// existing output is replaced only with `overwrite`; an output that is one of the inputs
// (the same file through a link, `..` or a hard link) is refused.
#ifndef FLATPYRAMID_CONVERT_INTERNAL_OUTPUT_FILE_H_
#define FLATPYRAMID_CONVERT_INTERNAL_OUTPUT_FILE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace flatpyramid {
namespace convert {
namespace internal {

// CheckOutput returns AlreadyExists when `output` exists and !overwrite, and InvalidArgument
// when it is the same file as one of `inputs`, or an existing directory holding one.
absl::Status CheckOutput(const std::string& output, const std::vector<std::string>& inputs,
                         bool overwrite);

// TemporaryPath is the name a converter writes `output` under: "<output>.tmp.<pid>", in the
// same directory, so the final rename stays on one filesystem.
std::string TemporaryPath(const std::string& output);

// Publish renames the finished `temporary` (file or directory) to `output`, replacing what
// is there: a file atomically; a directory by moving the old one aside first and removing it
// after the new one is in place.
absl::Status Publish(const std::string& temporary, const std::string& output);

// RemoveTree deletes a file or a directory with everything under it (a failed conversion's
// temporary output). Errors are ignored: it is cleanup.
void RemoveTree(const std::string& path);

}  // namespace internal
}  // namespace convert
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CONVERT_INTERNAL_OUTPUT_FILE_H_
