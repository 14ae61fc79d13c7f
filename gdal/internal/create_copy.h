// Internal to //gdal: GDALDriver::CreateCopy of the FlatPyramid driver (gdal_translate -of
// FlatPyramid), building through pyramid::BuildPyramid.
//
// The source is handed to the builder by name: a dataset on disk (or any GDAL connection
// string) by its description; a VRT (gdal_translate -a_srs, -b, -projwin make one) as its
// XML; anything else (MEM) is first copied to a tiled GeoTIFF next to the output, removed
// afterwards.
#ifndef FLATPYRAMID_GDAL_INTERNAL_CREATE_COPY_H_
#define FLATPYRAMID_GDAL_INTERNAL_CREATE_COPY_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "gdal_priv.h"
#include "pyramid/builder.h"

namespace flatpyramid {
namespace gdal_driver {

// ParseCreationOptions turns -co NAME=VALUE items into BuildOptions (inputs, output and
// progress left unset). InvalidArgument naming the -co item when a value does not parse.
absl::StatusOr<pyramid::BuildOptions> ParseCreationOptions(CSLConstList options);

// FlagsToCreationOptions rewrites the builder's flag and field names in `message`
// ("--quality", "BuildOptions::quality") as the -co names gdal_translate users gave.
std::string FlagsToCreationOptions(std::string message);

// CreateCopy builds `path` from `source` (GDALDriver::pfnCreateCopy). Errors are CPLErrors.
GDALDataset* CreateCopy(const char* path, GDALDataset* source, int strict, char** options,
                        GDALProgressFunc progress, void* progress_data);

}  // namespace gdal_driver
}  // namespace flatpyramid

#endif  // FLATPYRAMID_GDAL_INTERNAL_CREATE_COPY_H_
