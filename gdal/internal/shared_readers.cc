#include "gdal/internal/shared_readers.h"

#include <sys/stat.h>

#include <cstdlib>
#include <iterator>
#include <map>
#include <tuple>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "cpl_conv.h"
#include "pyramid/tile_cache.h"

namespace flatpyramid {
namespace gdal_driver {
namespace {

constexpr size_t kDefaultCacheMiB = 128;

// FileIdentity tells two opens of the same unchanged file apart from a replaced one (the
// builder replaces a pyramid by renaming a new file over it).
using FileIdentity = std::tuple<dev_t, ino_t, off_t, int64_t, int64_t>;

struct WeakReaders {
  std::weak_ptr<const pyramid::Reader> cached;
  std::weak_ptr<const pyramid::Reader> direct;
};

struct Registry {
  absl::Mutex mutex;
  std::shared_ptr<pyramid::TileCache> cache ABSL_GUARDED_BY(mutex);
  // no_cache is the direct Readers' cache: capacity 0.
  std::shared_ptr<pyramid::TileCache> no_cache ABSL_GUARDED_BY(mutex);
  std::map<FileIdentity, WeakReaders> readers ABSL_GUARDED_BY(mutex);
};

Registry& TheRegistry() {
  static Registry* registry = new Registry;  // Never destroyed: datasets may outlive statics.
  return *registry;
}

size_t CacheBytes() {
  const char* value = CPLGetConfigOption(kCacheOption, nullptr);
  size_t mib = kDefaultCacheMiB;
  if (value != nullptr && !absl::SimpleAtoi(value, &mib)) {
    CPLError(CE_Warning, CPLE_IllegalArg,
             "FlatPyramid: %s=%s is not a whole number of MiB; using %zu", kCacheOption, value,
             kDefaultCacheMiB);
    mib = kDefaultCacheMiB;
  }
  return mib << 20;
}

}  // namespace

absl::StatusOr<PyramidReaders> OpenSharedReaders(const std::string& path) {
  Registry& registry = TheRegistry();
  struct stat info {};
  const bool identified = ::stat(path.c_str(), &info) == 0;
  const FileIdentity identity{info.st_dev, info.st_ino, info.st_size, info.st_mtim.tv_sec,
                              info.st_mtim.tv_nsec};
  pyramid::ReaderOptions cached_options, direct_options;
  {
    absl::MutexLock lock(&registry.mutex);
    if (identified) {
      auto it = registry.readers.find(identity);
      if (it != registry.readers.end()) {
        PyramidReaders readers{it->second.cached.lock(), it->second.direct.lock()};
        if (readers.cached != nullptr && readers.direct != nullptr) return readers;
      }
    }
    if (registry.cache == nullptr) {
      registry.cache = std::make_shared<pyramid::TileCache>(CacheBytes());
      registry.no_cache = std::make_shared<pyramid::TileCache>(0);
    }
    cached_options.cache = registry.cache;
    direct_options.cache = registry.no_cache;
  }
  // Opened outside the lock: other files open meanwhile. Two threads opening the same file at
  // once both open it; the second one's Readers are then the ones remembered.
  absl::StatusOr<std::unique_ptr<pyramid::Reader>> cached =
      pyramid::Reader::Open(path, cached_options);
  if (!cached.ok()) return cached.status();
  absl::StatusOr<std::unique_ptr<pyramid::Reader>> direct =
      pyramid::Reader::Open(path, direct_options);
  if (!direct.ok()) return direct.status();
  PyramidReaders readers{std::move(*cached), std::move(*direct)};
  if (identified) {
    absl::MutexLock lock(&registry.mutex);
    for (auto it = registry.readers.begin(); it != registry.readers.end();) {
      it = it->second.cached.expired() ? registry.readers.erase(it) : std::next(it);
    }
    registry.readers[identity] = WeakReaders{readers.cached, readers.direct};
  }
  return readers;
}

}  // namespace gdal_driver
}  // namespace flatpyramid
