#include "gdal/driver.h"

#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gdal/internal/create_copy.h"
#include "gdal/internal/dataset.h"
#include "gdal_priv.h"
#include "pyramid/reader.h"

namespace flatpyramid {
namespace gdal_driver {
namespace {

constexpr char kDriverName[] = "FlatPyramid";
constexpr char kStorageMagic[] = "FPYRSTOR";
// kHeaderBytes covers both storage header slots (storage/FORMAT.md), where the type name of
// the user metadata sits.
constexpr int kHeaderBytes = 2 * 16384;
// kTypeNamePrefix starts the type name of a sealed pyramid's metadata and of an unfinished
// build's state, so that Open can say which it is.
constexpr char kTypeNamePrefix[] = "flatpyramid.pyramid.";

// Identify returns TRUE for the magic and a pyramid type name, GDAL_IDENTIFY_UNKNOWN for the
// magic alone (Open names the fault), FALSE otherwise. Quiet.
int Identify(GDALOpenInfo* info) {
  if (info->fpL == nullptr || info->nHeaderBytes < 8 ||
      std::memcmp(info->pabyHeader, kStorageMagic, 8) != 0) {
    return FALSE;
  }
  info->TryToIngest(kHeaderBytes);
  const auto* header = reinterpret_cast<const char*>(info->pabyHeader);
  const bool named =
      absl::StrContains(absl::string_view(header, info->nHeaderBytes), kTypeNamePrefix);
  return named ? TRUE : GDAL_IDENTIFY_UNKNOWN;
}

GDALDataset* Open(GDALOpenInfo* info) {
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

}  // namespace
}  // namespace gdal_driver
}  // namespace flatpyramid

void GDALRegister_FlatPyramid() {
  namespace fp = flatpyramid::gdal_driver;
  if (!GDAL_CHECK_VERSION("FlatPyramid")) return;
  if (GDALGetDriverByName(fp::kDriverName) != nullptr) return;
  auto* driver = new GDALDriver();
  driver->SetDescription(fp::kDriverName);
  driver->SetMetadataItem(GDAL_DCAP_RASTER, "YES");
  driver->SetMetadataItem(GDAL_DMD_LONGNAME, "flatpyramid single-file tile pyramid");
  driver->SetMetadataItem(GDAL_DMD_EXTENSION, "fpyr");
  driver->SetMetadataItem(GDAL_DMD_EXTENSIONS, "fpyr");
  driver->SetMetadataItem(GDAL_DMD_HELPTOPIC, "https://github.com/flatpyramid (gdal/README.md)");
  driver->SetMetadataItem(GDAL_DMD_CREATIONDATATYPES, "Byte UInt16 Int16 Float32");
  driver->SetMetadataItem(GDAL_DMD_CREATIONOPTIONLIST, fp::kCreationOptionList);
  driver->SetMetadataItem(GDAL_DCAP_CREATECOPY, "YES");
  driver->pfnIdentify = fp::Identify;
  driver->pfnOpen = fp::Open;
  driver->pfnCreateCopy = fp::CreateCopy;
  GetGDALDriverManager()->RegisterDriver(driver);
}
