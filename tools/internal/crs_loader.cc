#include "tools/internal/crs_loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace tools {
namespace {

constexpr char kPluginName[] = "libflatpyramid_crs.so";

// The entry point of crs_plugin.cc.
using TransformFunction = int (*)(const double in[4], const char* from, const char* to,
                                  double out[4], char* error, size_t error_size);

// PluginPath is kPluginName in the directory of the running executable.
std::string PluginPath() {
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return kPluginName;
  const std::string path(exe, static_cast<size_t>(n));
  return absl::StrCat(path.substr(0, path.rfind('/') + 1), kPluginName);
}

// LoadTransform loads the plugin once per process (the handle is never closed: GDAL keeps
// process-wide state).
absl::StatusOr<TransformFunction> LoadTransform() {
  static const absl::StatusOr<TransformFunction>* const loaded = [] {
    const std::string path = PluginPath();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      return new absl::StatusOr<TransformFunction>(absl::FailedPreconditionError(
          absl::StrCat("cannot load ", path, " (needed for CRS transformations): ", dlerror(),
                       "; keep it next to the tool's binary")));
    }
    void* symbol = dlsym(handle, "flatpyramid_transform_bounds");
    if (symbol == nullptr) {
      return new absl::StatusOr<TransformFunction>(absl::FailedPreconditionError(
          absl::StrCat(path, " has no flatpyramid_transform_bounds: rebuild it with the tool")));
    }
    return new absl::StatusOr<TransformFunction>(reinterpret_cast<TransformFunction>(symbol));
  }();
  return *loaded;
}

}  // namespace

absl::StatusOr<geo::Bounds> TransformBoundsLoadingGdal(const geo::Bounds& bounds,
                                                       absl::string_view from_srs,
                                                       absl::string_view to_srs) {
  absl::StatusOr<TransformFunction> transform = LoadTransform();
  if (!transform.ok()) return transform.status();
  const double in[4] = {bounds.min_x, bounds.min_y, bounds.max_x, bounds.max_y};
  double out[4];
  char error[1024] = "";
  const int code = (*transform)(in, std::string(from_srs).c_str(), std::string(to_srs).c_str(), out,
                                error, sizeof(error));
  if (code != 0) return absl::Status(static_cast<absl::StatusCode>(code), error);
  return geo::Bounds{out[0], out[1], out[2], out[3]};
}

}  // namespace tools
}  // namespace flatpyramid
