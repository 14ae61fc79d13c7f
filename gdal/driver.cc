#include "gdal/driver.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gdal/internal/create_copy.h"
#include "gdal/internal/dataset.h"
#include "gdal/internal/registration.h"
#include "gdal_priv.h"
#include "pyramid/format.h"

namespace flatpyramid {
namespace gdal_driver {

namespace {

// StartsWithTypeNamePrefix is constexpr (no string_view of the array: under UBSan its null
// check is not a constant expression).
constexpr bool StartsWithTypeNamePrefix(absl::string_view name) {
  for (size_t i = 0; kTypeNamePrefix[i] != '\0'; ++i) {
    if (i >= name.size() || name[i] != kTypeNamePrefix[i]) return false;
  }
  return true;
}
static_assert(StartsWithTypeNamePrefix(pyramid::kMetadataTypeName) &&
                  StartsWithTypeNamePrefix(pyramid::kBuildStateTypeName),
              "Identify's type-name prefix must start both pyramid type names");

}  // namespace

GDALDataset* OpenPyramid(GDALOpenInfo* info) {
  if (Identify(info) == FALSE) return nullptr;
  const std::string path = info->pszFilename;
  if (info->eAccess == GA_Update) {
    CPLError(CE_Failure, CPLE_NotSupported,
             "FlatPyramid: %s: pyramids open read-only; build a new one with "
             "gdal_translate -of FlatPyramid",
             path.c_str());
    return nullptr;
  }
  if (absl::StartsWith(path, "/vsi")) {
    CPLError(CE_Failure, CPLE_NotSupported,
             "FlatPyramid: %s: pyramids are memory-mapped, so they must be local files; copy it "
             "out of the virtual file system first",
             path.c_str());
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<FlatPyramidDataset>> dataset = FlatPyramidDataset::Open(path);
  if (!dataset.ok()) {
    CPLError(CE_Failure, CPLE_OpenFailed, "FlatPyramid: %s",
             std::string(dataset.status().message()).c_str());
    return nullptr;
  }
  return dataset->release();
}

void RegisterFlatPyramidDriver() { RegisterDriver(OpenPyramid, CreateCopy); }

}  // namespace gdal_driver
}  // namespace flatpyramid

GDALDataset* FlatPyramidImplOpen(GDALOpenInfo* info) {
  return flatpyramid::gdal_driver::OpenPyramid(info);
}

GDALDataset* FlatPyramidImplCreateCopy(const char* path, GDALDataset* source, int strict,
                                       char** options, GDALProgressFunc progress,
                                       void* progress_data) {
  return flatpyramid::gdal_driver::CreateCopy(path, source, strict, options, progress,
                                              progress_data);
}
