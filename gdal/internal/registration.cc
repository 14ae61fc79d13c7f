#include "gdal/internal/registration.h"

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace flatpyramid {
namespace gdal_driver {
namespace {

constexpr char kStorageMagic[] = "FPYRSTOR";
// kHeaderBytes covers both storage header slots (storage/FORMAT.md), where the type name of
// the user metadata sits.
constexpr int kHeaderBytes = 2 * 16384;
}  // namespace

const char kCreationOptionList[] = R"(<CreationOptionList>
  <Option name='TILE_MATRIX_SET' type='string-select' default='WebMercatorQuad' description='OGC tile matrix set (GoogleMapsCompatible = WebMercatorQuad)'>
    <Value>WebMercatorQuad</Value>
    <Value>WorldCRS84Quad</Value>
    <Value>GoogleMapsCompatible</Value>
  </Option>
  <Option name='BLOCKSIZE' type='int' default='256' description='Tile width and height in pixels: 256 or 512'/>
  <Option name='MIN_ZOOM' type='int' default='0' description='Coarsest zoom level to store'/>
  <Option name='MAX_ZOOM' type='int' description='Finest zoom level (default: the one matching the source resolution)'/>
  <Option name='ZOOM_LEVEL_STRATEGY' type='string-select' default='AUTO' description='How MAX_ZOOM is chosen from the source resolution, as the COG driver'>
    <Value>AUTO</Value>
    <Value>LOWER</Value>
    <Value>UPPER</Value>
  </Option>
  <Option name='CODEC' type='string-select' description='Tile codec (default: jpeg for 1 or 3 Byte bands, png for other Byte or UInt16, elevation for one Int16, UInt16 or Float32 band)'>
    <Value>jpeg</Value>
    <Value>png</Value>
    <Value>webp</Value>
    <Value>webp_lossless</Value>
    <Value>elevation</Value>
  </Option>
  <Option name='QUALITY' type='int' min='1' max='100' default='85' description='JPEG and lossy WebP quality'/>
  <Option name='RESAMPLING' type='string-select' default='bilinear' description='Resampling of the source to the finest level'>
    <Value>nearest</Value>
    <Value>bilinear</Value>
    <Value>cubic</Value>
    <Value>lanczos</Value>
    <Value>average</Value>
    <Value>mode</Value>
  </Option>
  <Option name='OVERVIEW_RESAMPLING' type='string-select' description='Resampling of the coarser levels (default: mode after mode, nearest after nearest, else average)'>
    <Value>average</Value>
    <Value>mode</Value>
    <Value>nearest</Value>
    <Value>bilinear</Value>
    <Value>cubic</Value>
    <Value>lanczos</Value>
  </Option>
  <Option name='BANDS' type='string' description='Source bands to store, 1-based, comma-separated (default: all but alpha)'/>
  <Option name='SOURCE_SRS' type='string' description='CRS of a source without one, or overriding its own'/>
  <Option name='NODATA' type='float' description='Nodata value overriding the source one'/>
  <Option name='ALLOW_LARGE_BUILD' type='boolean' default='NO' description='Allow a finest level more than 3 levels finer than the source, or more than 20 million tiles'/>
  <Option name='NUM_THREADS' type='string' default='ALL_CPUS' description='Worker threads: a number or ALL_CPUS'/>
  <Option name='MAX_ERROR' type='float' default='0.125' description='Reprojection error allowed, in pixels (gdalwarp -et)'/>
</CreationOptionList>
)";

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

void RegisterDriver(OpenFunction open, CreateCopyFunction create_copy) {
  if (!GDAL_CHECK_VERSION(kDriverName)) return;
  if (GDALGetDriverByName(kDriverName) != nullptr) return;
  auto* driver = new GDALDriver();
  driver->SetDescription(kDriverName);
  driver->SetMetadataItem(GDAL_DCAP_RASTER, "YES");
  driver->SetMetadataItem(GDAL_DMD_LONGNAME, "flatpyramid single-file tile pyramid");
  driver->SetMetadataItem(GDAL_DMD_EXTENSION, "fpyr");
  driver->SetMetadataItem(GDAL_DMD_EXTENSIONS, "fpyr");
  driver->SetMetadataItem(GDAL_DMD_HELPTOPIC, "gdal/README.md of flatpyramid");
  driver->SetMetadataItem(GDAL_DMD_CREATIONDATATYPES, "Byte UInt16 Int16 Float32");
  driver->SetMetadataItem(GDAL_DMD_CREATIONOPTIONLIST, kCreationOptionList);
  driver->SetMetadataItem(GDAL_DCAP_CREATECOPY, "YES");
  driver->pfnIdentify = Identify;
  driver->pfnOpen = open;
  driver->pfnCreateCopy = create_copy;
  GetGDALDriverManager()->RegisterDriver(driver);
}

}  // namespace gdal_driver
}  // namespace flatpyramid
