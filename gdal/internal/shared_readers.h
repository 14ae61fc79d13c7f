// Internal to //gdal: the pyramid::Readers of one process, shared by every GDAL dataset.
//
// GDAL's threading model is one dataset per thread: QGIS, rasterio and gdalwarp open the same
// file once per thread. Datasets of the same file (same device, inode, size and modification
// time) share its PyramidReaders (whose const methods are thread-safe) and so their memory
// maps and decoded tiles; all cached Readers share one TileCache of FLATPYRAMID_CACHE_MB
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

// PyramidReaders are two Readers of one file: `cached` decodes tiles through the shared
// TileCache (blocks, which GDAL asks for again and again); `direct` has no cache, so
// ReadRegion decodes a window's tiles straight into its output (a multi-block RasterIO,
// which a whole-raster copy makes of every tile once: caching them only costs time there).
struct PyramidReaders {
  std::shared_ptr<const pyramid::Reader> cached;
  std::shared_ptr<const pyramid::Reader> direct;
};

// OpenSharedReaders returns the Readers of `path` when a dataset still holds them for the
// same file, else opens them (pyramid::Reader::Open's errors). Thread-safe.
absl::StatusOr<PyramidReaders> OpenSharedReaders(const std::string& path);

}  // namespace gdal_driver
}  // namespace flatpyramid

#endif  // FLATPYRAMID_GDAL_INTERNAL_SHARED_READERS_H_
