// The plugin GDAL loads (gdal_FlatPyramid.so): registers the driver and, when a pyramid is
// first opened or created, loads the driver itself from libflatpyramid_gdal_impl.so next to
// it. GDAL loads every plugin into every process that calls GDALAllRegister, flatpyramid's
// own tools included, whose statically linked pyramid code has registered the pyramid
// format's protobuf descriptors in Debian's shared libprotobuf already; registering them a
// second time aborts the process. This file links no pyramid code, so loading it is always
// safe, and the implementation is loaded only where its descriptors are not there yet.
#include <dlfcn.h>

#include <mutex>
#include <string>

#include "gdal/driver.h"
#include "gdal/internal/registration.h"
#include "google/protobuf/descriptor.h"

namespace flatpyramid {
namespace gdal_driver {
namespace {

constexpr char kImplementationFile[] = "libflatpyramid_gdal_impl.so";
// kFormatProtoFile is registered by any copy of the pyramid code in the process.
constexpr char kFormatProtoFile[] = "pyramid/metadata.proto";

struct Implementation {
  OpenFunction open = nullptr;
  CreateCopyFunction create_copy = nullptr;
  std::string error;  // Why it could not be loaded; empty when loaded.
};

// LoadImplementation finds the implementation next to this plugin and loads it once.
Implementation LoadOnce() {
  Implementation impl;
  if (google::protobuf::DescriptorPool::generated_pool()->FindFileByName(kFormatProtoFile) !=
      nullptr) {
    impl.error =
        "this process already links flatpyramid's pyramid library (a flatpyramid tool or "
        "Python module), and one process cannot hold two copies of it: read the pyramid "
        "through that library, or from another process";
    return impl;
  }
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&GDALRegister_FlatPyramid), &self) == 0 ||
      self.dli_fname == nullptr) {
    impl.error = "cannot find the directory the plugin was loaded from";
    return impl;
  }
  std::string path = self.dli_fname;
  path = path.substr(0, path.rfind('/') + 1) + kImplementationFile;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    impl.error = std::string("cannot load the driver: ") + dlerror() +
                 " (install both files with bazel run //gdal:install)";
    return impl;
  }
  impl.open = reinterpret_cast<OpenFunction>(dlsym(handle, "FlatPyramidImplOpen"));
  impl.create_copy =
      reinterpret_cast<CreateCopyFunction>(dlsym(handle, "FlatPyramidImplCreateCopy"));
  if (impl.open == nullptr || impl.create_copy == nullptr) {
    impl.error = path + " does not export FlatPyramidImplOpen and FlatPyramidImplCreateCopy";
  }
  return impl;
}

const Implementation* Load() {
  static std::once_flag once;
  static Implementation* impl = nullptr;
  std::call_once(once, [] { impl = new Implementation(LoadOnce()); });
  if (!impl->error.empty()) {
    CPLError(CE_Failure, CPLE_AppDefined, "FlatPyramid: %s", impl->error.c_str());
    return nullptr;
  }
  return impl;
}

GDALDataset* LazyOpen(GDALOpenInfo* info) {
  if (Identify(info) == FALSE) return nullptr;
  const Implementation* impl = Load();
  return impl == nullptr ? nullptr : impl->open(info);
}

GDALDataset* LazyCreateCopy(const char* path, GDALDataset* source, int strict, char** options,
                            GDALProgressFunc progress, void* progress_data) {
  const Implementation* impl = Load();
  return impl == nullptr
             ? nullptr
             : impl->create_copy(path, source, strict, options, progress, progress_data);
}

}  // namespace
}  // namespace gdal_driver
}  // namespace flatpyramid

void GDALRegister_FlatPyramid() {
  flatpyramid::gdal_driver::RegisterDriver(flatpyramid::gdal_driver::LazyOpen,
                                           flatpyramid::gdal_driver::LazyCreateCopy);
}
