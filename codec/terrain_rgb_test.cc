#include "codec/terrain_rgb.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace flatpyramid {
namespace codec {
namespace {

std::vector<uint8_t> Encoded(TerrainEncoding encoding, double metres) {
  uint8_t rgb[3];
  MetresToTerrainRgb(encoding, metres, rgb);
  return {rgb[0], rgb[1], rgb[2]};
}

TEST(TerrainRgbTest, TerrariumMatchesTheFormulaMapLibreDecodes) {
  // 0 m: 32768 = 128 * 256 + 0, no fraction.
  EXPECT_EQ(Encoded(TerrainEncoding::kTerrarium, 0.0), (std::vector<uint8_t>{128, 0, 0}));
  // 1234.5 m: 34002.5 -> R 132, G 210, B 128.
  EXPECT_EQ(Encoded(TerrainEncoding::kTerrarium, 1234.5), (std::vector<uint8_t>{132, 210, 128}));
  EXPECT_EQ(TerrainRgbToMetres(TerrainEncoding::kTerrarium, 132, 210, 128), 1234.5);
  // -11034 m (Challenger Deep): 21734 = 84 * 256 + 230.
  EXPECT_EQ(Encoded(TerrainEncoding::kTerrarium, -11034), (std::vector<uint8_t>{84, 230, 0}));
}

TEST(TerrainRgbTest, MapboxMatchesTheFormulaMapLibreDecodes) {
  // 0 m: code 100000 = 1 * 65536 + 134 * 256 + 160.
  EXPECT_EQ(Encoded(TerrainEncoding::kMapbox, 0.0), (std::vector<uint8_t>{1, 134, 160}));
  EXPECT_DOUBLE_EQ(TerrainRgbToMetres(TerrainEncoding::kMapbox, 1, 134, 160), 0.0);
  // 8848.86 m rounds to 8848.9: code 188489 = 2 * 65536 + 224 * 256 + 73.
  EXPECT_EQ(Encoded(TerrainEncoding::kMapbox, 8848.86), (std::vector<uint8_t>{2, 224, 73}));
}

TEST(TerrainRgbTest, RoundsToTheNearestStepNotDown) {
  // 0.06 m is 0.6 of a mapbox step: rounds up to 0.1 m (truncation would give 0).
  uint8_t rgb[3];
  MetresToTerrainRgb(TerrainEncoding::kMapbox, 0.06, rgb);
  EXPECT_NEAR(TerrainRgbToMetres(TerrainEncoding::kMapbox, rgb[0], rgb[1], rgb[2]), 0.1, 1e-9);
  // -0.06 m rounds to -0.1 m, not to 0.
  MetresToTerrainRgb(TerrainEncoding::kMapbox, -0.06, rgb);
  EXPECT_NEAR(TerrainRgbToMetres(TerrainEncoding::kMapbox, rgb[0], rgb[1], rgb[2]), -0.1, 1e-9);
  // Every value comes back within half a step.
  for (double h = -500.0; h < 500.0; h += 0.0137) {
    MetresToTerrainRgb(TerrainEncoding::kTerrarium, h, rgb);
    ASSERT_LE(std::abs(TerrainRgbToMetres(TerrainEncoding::kTerrarium, rgb[0], rgb[1], rgb[2]) - h),
              0.5 / 256 + 1e-9)
        << h;
  }
}

TEST(TerrainRgbTest, ClampsBeyondTheRange) {
  EXPECT_EQ(Encoded(TerrainEncoding::kTerrarium, -40000), (std::vector<uint8_t>{0, 0, 0}));
  EXPECT_EQ(Encoded(TerrainEncoding::kTerrarium, 40000), (std::vector<uint8_t>{255, 255, 255}));
  EXPECT_EQ(Encoded(TerrainEncoding::kMapbox, -20000), (std::vector<uint8_t>{0, 0, 0}));
}

TEST(TerrainRgbTest, NodataAndNanEncodeAsSeaLevel) {
  const float samples[4] = {-9999.0f, std::numeric_limits<float>::quiet_NaN(), 100.0f, 0.0f};
  ImageView view{reinterpret_cast<const uint8_t*>(samples), 2, 2, 1, PixelType::kFloat32, 8};
  absl::StatusOr<Image> rgb = EncodeTerrainRgb(view, TerrainEncoding::kTerrarium, -9999.0);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  ASSERT_EQ(rgb->bands(), 3);
  const uint8_t* p = rgb->data();
  const std::vector<uint8_t> pixels(p, p + 12);
  EXPECT_EQ(pixels, (std::vector<uint8_t>{128, 0, 0, 128, 0, 0, 128, 100, 0, 128, 0, 0}));
}

TEST(TerrainRgbTest, Int16TilesEncode) {
  const int16_t samples[2] = {-5, 300};
  ImageView view{reinterpret_cast<const uint8_t*>(samples), 2, 1, 1, PixelType::kInt16, 4};
  absl::StatusOr<Image> rgb = EncodeTerrainRgb(view, TerrainEncoding::kMapbox, std::nullopt);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  const uint8_t* p = rgb->data();
  EXPECT_DOUBLE_EQ(TerrainRgbToMetres(TerrainEncoding::kMapbox, p[0], p[1], p[2]), -5.0);
  EXPECT_DOUBLE_EQ(TerrainRgbToMetres(TerrainEncoding::kMapbox, p[3], p[4], p[5]), 300.0);
}

TEST(TerrainRgbTest, RefusesMoreThanOneBandAndUnknownNames) {
  const uint8_t samples[6] = {};
  ImageView view{samples, 2, 1, 3, PixelType::kUint8, 6};
  EXPECT_EQ(EncodeTerrainRgb(view, TerrainEncoding::kMapbox, std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseTerrainEncoding("mapbox").value(), TerrainEncoding::kMapbox);
  EXPECT_EQ(ParseTerrainEncoding("terrain-rgb").status().message(),
            "unknown terrain encoding \"terrain-rgb\": use terrarium or mapbox");
}

}  // namespace
}  // namespace codec
}  // namespace flatpyramid
