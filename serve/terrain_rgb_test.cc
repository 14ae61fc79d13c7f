#include "serve/terrain_rgb.h"

#include <cmath>
#include <cstring>

#include "codec/codec.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace serve {
namespace {

double DecodeTerrarium(const uint8_t rgb[3]) {
  return rgb[0] * 256.0 + rgb[1] + rgb[2] / 256.0 - 32768.0;
}

double DecodeMapbox(const uint8_t rgb[3]) {
  return -10000.0 + (rgb[0] * 65536.0 + rgb[1] * 256.0 + rgb[2]) * 0.1;
}

TEST(EncodeTerrainRgb, TerrariumKnownValues) {
  uint8_t rgb[3];
  EncodeTerrainRgb(0.0, TerrainEncoding::kTerrarium, rgb);
  EXPECT_EQ(rgb[0], 128);
  EXPECT_EQ(rgb[1], 0);
  EXPECT_EQ(rgb[2], 0);
  EncodeTerrainRgb(8848.86, TerrainEncoding::kTerrarium, rgb);
  // 41616.86 * 256 = 10653916.16 -> 10653916 = 0xA2 0x90 0xDC.
  EXPECT_EQ(rgb[0], 0xA2);
  EXPECT_EQ(rgb[1], 0x90);
  EXPECT_EQ(rgb[2], 0xDC);
}

TEST(EncodeTerrainRgb, MapboxKnownValues) {
  uint8_t rgb[3];
  EncodeTerrainRgb(0.0, TerrainEncoding::kMapbox, rgb);
  // 100000 = 0x01 0x86 0xA0.
  EXPECT_EQ(rgb[0], 0x01);
  EXPECT_EQ(rgb[1], 0x86);
  EXPECT_EQ(rgb[2], 0xA0);
}

TEST(EncodeTerrainRgb, RoundsToTheNearestStepNotDown) {
  uint8_t rgb[3];
  // 0.07 m is 0.7 of a mapbox step: rounds up to 0.1, truncation would give 0.
  EncodeTerrainRgb(0.07, TerrainEncoding::kMapbox, rgb);
  EXPECT_NEAR(DecodeMapbox(rgb), 0.1, 1e-9);
  EncodeTerrainRgb(-0.07, TerrainEncoding::kMapbox, rgb);
  EXPECT_NEAR(DecodeMapbox(rgb), -0.1, 1e-9);
  for (double h = -500.0; h < 9000.0; h += 37.123) {
    EncodeTerrainRgb(h, TerrainEncoding::kTerrarium, rgb);
    EXPECT_LE(std::fabs(DecodeTerrarium(rgb) - h), 0.5 / 256 + 1e-9) << h;
    EncodeTerrainRgb(h, TerrainEncoding::kMapbox, rgb);
    EXPECT_LE(std::fabs(DecodeMapbox(rgb) - h), 0.05 + 1e-9) << h;
  }
}

TEST(EncodeTerrainRgb, ClampsOutOfRangeHeights) {
  uint8_t rgb[3];
  EncodeTerrainRgb(-20000.0, TerrainEncoding::kMapbox, rgb);
  EXPECT_EQ(DecodeMapbox(rgb), -10000.0);
  EncodeTerrainRgb(1e9, TerrainEncoding::kTerrarium, rgb);
  EXPECT_EQ(rgb[0], 255);
  EXPECT_EQ(rgb[1], 255);
  EXPECT_EQ(rgb[2], 255);
}

TEST(TerrainRgbPng, NodataAndNanBecomeSeaLevel) {
  codec::Image tile(3, 1, 1, codec::PixelType::kFloat32);
  const float heights[3] = {-9999.0f, std::nanf(""), 1234.5f};
  std::memcpy(tile.data(), heights, sizeof(heights));
  absl::StatusOr<std::string> png =
      TerrainRgbPng(tile.view(), -9999.0, TerrainEncoding::kTerrarium);
  ASSERT_TRUE(png.ok()) << png.status();
  absl::StatusOr<codec::Image> rgb = codec::Decode(*png);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  ASSERT_EQ(rgb->bands(), 3);
  EXPECT_EQ(DecodeTerrarium(rgb->data() + 0), 0.0);
  EXPECT_EQ(DecodeTerrarium(rgb->data() + 3), 0.0);
  EXPECT_EQ(DecodeTerrarium(rgb->data() + 6), 1234.5);
}

TEST(TerrainRgbPng, RefusesImagery) {
  codec::Image rgb(2, 2, 3, codec::PixelType::kUint8);
  EXPECT_TRUE(absl::IsInvalidArgument(
      TerrainRgbPng(rgb.view(), std::nullopt, TerrainEncoding::kMapbox).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseTerrainEncoding("lerc").status()));
}

}  // namespace
}  // namespace serve
}  // namespace flatpyramid
