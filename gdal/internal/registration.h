// Internal to //gdal: what GDAL knows of the driver before a pyramid is opened: its name,
// metadata, creation options and Identify. Free of the pyramid code (and of its protobuf
// descriptors), so the plugin that GDAL loads into every process registers the driver
// with this alone.
#ifndef FLATPYRAMID_GDAL_INTERNAL_REGISTRATION_H_
#define FLATPYRAMID_GDAL_INTERNAL_REGISTRATION_H_

#include "gdal_priv.h"

namespace flatpyramid {
namespace gdal_driver {

inline constexpr char kDriverName[] = "FlatPyramid";

// kTypeNamePrefix starts the storage user-metadata type names of a sealed pyramid and of an
// unfinished build (pyramid/format.h; driver.cc checks both), so Identify claims both and Open
// says which it is.
inline constexpr char kTypeNamePrefix[] = "flatpyramid.pyramid.";

// kCreationOptionList is GDAL_DMD_CREATIONOPTIONLIST.
extern const char kCreationOptionList[];

using OpenFunction = GDALDataset* (*)(GDALOpenInfo* info);
using CreateCopyFunction = GDALDataset* (*)(const char* path, GDALDataset* source, int strict,
                                            char** options, GDALProgressFunc progress,
                                            void* progress_data);

// Identify returns TRUE for the storage magic "FPYRSTOR" at offset 0 and a pyramid type name
// ("flatpyramid.pyramid.") in a header slot, GDAL_IDENTIFY_UNKNOWN for the magic alone (a
// truncated or corrupt file, which Open then names the fault of), FALSE otherwise. Quiet.
int Identify(GDALOpenInfo* info);

// RegisterDriver registers the FlatPyramid driver with `open` and `create_copy`, unless a
// driver of that name is registered already.
void RegisterDriver(OpenFunction open, CreateCopyFunction create_copy);

}  // namespace gdal_driver
}  // namespace flatpyramid

#endif  // FLATPYRAMID_GDAL_INTERNAL_REGISTRATION_H_
