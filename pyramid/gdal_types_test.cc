#include "pyramid/gdal_types.h"

#include "gtest/gtest.h"

namespace flatpyramid {
namespace pyramid {
namespace {

TEST(ToGdalTypeTest, EveryPixelTypeHasItsGdalTypeOfTheSameSize) {
  EXPECT_EQ(ToGdalType(codec::PixelType::kUint8), GDT_Byte);
  EXPECT_EQ(ToGdalType(codec::PixelType::kUint16), GDT_UInt16);
  EXPECT_EQ(ToGdalType(codec::PixelType::kInt16), GDT_Int16);
  EXPECT_EQ(ToGdalType(codec::PixelType::kFloat32), GDT_Float32);
  for (codec::PixelType type : {codec::PixelType::kUint8, codec::PixelType::kUint16,
                                codec::PixelType::kInt16, codec::PixelType::kFloat32}) {
    EXPECT_EQ(static_cast<size_t>(GDALGetDataTypeSizeBytes(ToGdalType(type))),
              codec::BytesPerSample(type));
  }
}

TEST(ToGdalTypeTest, AValueOutsideTheEnumIsUnknown) {
  EXPECT_EQ(ToGdalType(static_cast<codec::PixelType>(99)), GDT_Unknown);
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
