// Internal to //gdal: the pyramid::Readers of one process, shared by every GDAL dataset.
//
// GDAL's threading model is one dataset per thread: QGIS, rasterio and gdalwarp open the same
// file once per thread. Datasets of the same file (same device, inode, size and modification
// time) share one pyramid::Reader (whose const methods are thread-safe) and so one memory map
// and one set of decoded tiles; all Readers share one TileCache of FLATPYRAMID_CACHE_MB
// (GDAL configuration option, default 128) megabytes.
#ifndef FLATPYRAMID_GDAL_INTERNAL_SHARED_READERS_H_
#define FLATPYRAMID_GDAL_INTERNAL_SHARED_READERS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pyramid/reader.h"

namespace flatpyramid {
namespace gdal_driver {

// kCacheOption names the GDAL configuration option giving the shared cache's size in MiB,
// read when the first pyramid is opened.
inline constexpr char kCacheOption[] = "FLATPYRAMID_CACHE_MB";

// OpenSharedReader returns the open Reader of `path` when a dataset still holds one for the
// same file, else opens it (pyramid::Reader::Open's errors). Thread-safe.
absl::StatusOr<std::shared_ptr<const pyramid::Reader>> OpenSharedReader(const std::string& path);

}  // namespace gdal_driver
}  // namespace flatpyramid

#endif  // FLATPYRAMID_GDAL_INTERNAL_SHARED_READERS_H_
