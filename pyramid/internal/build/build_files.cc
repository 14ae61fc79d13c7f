#include "pyramid/internal/build/build_files.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/output_file.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

constexpr absl::string_view kPendingInfix = ".resume-";
constexpr absl::string_view kSpillInfix = ".spill-z";

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string TemporaryOutputName(const std::string& output) {
  return storage::TemporaryPath(output);
}

std::string UpdateOutputName(const std::string& output) { return output + ".update"; }

std::string UpdateTilesName(const std::string& output) { return output + ".update-tiles"; }

std::string PendingFileName(const std::string& build_path, uint64_t units_done) {
  return absl::StrCat(build_path, kPendingInfix, units_done);
}

std::string SpillFileName(const std::string& build_path, int zoom) {
  return absl::StrCat(build_path, kSpillInfix, zoom);
}

bool IsSideFile(const std::string& build_path, absl::string_view name) {
  const std::string base = BaseName(build_path);
  return absl::StartsWith(name, absl::StrCat(base, kPendingInfix)) ||
         absl::StartsWith(name, absl::StrCat(base, kSpillInfix));
}

absl::Status RemoveSideFiles(storage::Env* env, const std::string& build_path) {
  const std::string dir = storage::ParentDirectory(build_path);
  absl::StatusOr<std::vector<std::string>> children = env->GetChildren(dir);
  if (!children.ok()) return children.status();
  bool removed = false;
  for (const std::string& name : *children) {
    if (!IsSideFile(build_path, name)) continue;
    absl::Status status = env->RemoveFile(absl::StrCat(dir, "/", name));
    if (!status.ok() && !absl::IsNotFound(status)) return status;
    removed = true;
  }
  return removed ? env->SyncDirectory(dir) : absl::OkStatus();
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
