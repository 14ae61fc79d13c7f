#include "pyramid/gdal_types.h"

namespace flatpyramid {
namespace pyramid {

GDALDataType ToGdalType(codec::PixelType type) {
  switch (type) {
    case codec::PixelType::kUint8:
      return GDT_Byte;
    case codec::PixelType::kUint16:
      return GDT_UInt16;
    case codec::PixelType::kInt16:
      return GDT_Int16;
    case codec::PixelType::kFloat32:
      return GDT_Float32;
  }
  return GDT_Unknown;
}

}  // namespace pyramid
}  // namespace flatpyramid
