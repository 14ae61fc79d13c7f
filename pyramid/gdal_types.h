// GDAL's names for the library's pixel types, for every layer that hands pixels to GDAL (the
// region warper, serve's region GeoTIFFs, the GDAL driver's bands).
//
//   GDALDataType type = flatpyramid::pyramid::ToGdalType(reader.pixel_type());
#ifndef FLATPYRAMID_PYRAMID_GDAL_TYPES_H_
#define FLATPYRAMID_PYRAMID_GDAL_TYPES_H_

#include "codec/image.h"
#include "gdal.h"

namespace flatpyramid {
namespace pyramid {

// ToGdalType maps a pixel type to GDAL's: kUint8 GDT_Byte, kUint16 GDT_UInt16, kInt16
// GDT_Int16, kFloat32 GDT_Float32 (a value outside the enum: GDT_Unknown).
GDALDataType ToGdalType(codec::PixelType type);

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_GDAL_TYPES_H_
