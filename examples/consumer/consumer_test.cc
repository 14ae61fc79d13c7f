// Uses @flatpyramid//codec from outside the flatpyramid workspace: a lossless round trip
// through two codecs, recognised from the bytes alone.
#include <cstdint>
#include <cstring>
#include <string>

#include "codec/codec.h"
#include "gtest/gtest.h"

namespace {

using flatpyramid::codec::CodecId;
using flatpyramid::codec::Image;
using flatpyramid::codec::PixelType;

TEST(ConsumerTest, PngRoundTripIsExactAndDetectedFromBytes) {
  Image image(64, 32, 3, PixelType::kUint8);
  for (int y = 0; y < image.height(); ++y) {
    uint8_t* row = image.data() + y * image.row_stride();
    for (int x = 0; x < image.width() * 3; ++x) row[x] = static_cast<uint8_t>(x * 7 + y * 13);
  }
  std::string bytes;
  ASSERT_TRUE(flatpyramid::codec::Encode(CodecId::kPng, image.view(), {}, &bytes).ok());
  auto codec = flatpyramid::codec::DetectCodec(bytes);
  ASSERT_TRUE(codec.ok()) << codec.status();
  EXPECT_EQ(*codec, CodecId::kPng);
  auto decoded = flatpyramid::codec::Decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->width(), 64);
  ASSERT_EQ(decoded->height(), 32);
  ASSERT_EQ(decoded->bands(), 3);
  for (int y = 0; y < 32; ++y) {
    EXPECT_EQ(std::memcmp(decoded->data() + y * decoded->row_stride(),
                          image.data() + y * image.row_stride(), 64 * 3),
              0)
        << "row " << y;
  }
}

TEST(ConsumerTest, ElevationRoundTripKeepsEveryFloatBit) {
  Image dem(16, 16, 1, PixelType::kFloat32);
  float* samples = reinterpret_cast<float*>(dem.data());
  for (int i = 0; i < 256; ++i) samples[i] = 100.0f + 0.25f * static_cast<float>(i);
  std::string bytes;
  ASSERT_TRUE(flatpyramid::codec::Encode(CodecId::kElevation, dem.view(), {}, &bytes).ok());
  auto decoded = flatpyramid::codec::Decode(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::memcmp(decoded->data(), dem.data(), 256 * sizeof(float)), 0);
}

TEST(ConsumerTest, GarbageIsAnErrorNotACrash) {
  EXPECT_FALSE(flatpyramid::codec::Decode("not an image at all").ok());
}

}  // namespace
