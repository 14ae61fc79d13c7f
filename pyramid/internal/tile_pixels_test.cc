#include "pyramid/internal/tile_pixels.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "codec/codec.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

using codec::PixelType;

template <typename T>
T& Sample(TilePixels& tile, int x, int y, int band) {
  return reinterpret_cast<T*>(tile.samples.data())[(y * tile.size + x) * tile.bands + band];
}

template <typename T>
void Fill(TilePixels& tile, T value, uint8_t alpha) {
  for (int y = 0; y < tile.size; ++y) {
    for (int x = 0; x < tile.size; ++x) {
      for (int b = 0; b < tile.bands; ++b) Sample<T>(tile, x, y, b) = value;
      tile.alpha[y * tile.size + x] = alpha;
    }
  }
}

TEST(Downsample2xTest, AverageWeighsSamplesByAlphaAndAveragesAlpha) {
  TilePixels child(PixelType::kUint8, 4, 1);
  // Top-left 2x2 of the child: values 10, 20, 30, 200 with alphas 255, 255, 255, 0.
  Sample<uint8_t>(child, 0, 0, 0) = 10;
  Sample<uint8_t>(child, 1, 0, 0) = 20;
  Sample<uint8_t>(child, 0, 1, 0) = 30;
  Sample<uint8_t>(child, 1, 1, 0) = 200;
  child.alpha[0] = 255;
  child.alpha[1] = 255;
  child.alpha[4] = 255;
  child.alpha[5] = 0;
  TilePixels parent;
  parent.Reshape(PixelType::kUint8, 4, 1);
  // Garbage in the parent must not survive: Downsample2x writes every pixel.
  std::memset(parent.samples.data(), 0xAB, parent.samples.size());
  std::memset(parent.alpha.data(), 0xCD, parent.alpha.size());
  const TilePixels* children[4] = {&child, nullptr, nullptr, nullptr};
  Downsample2x(children, OverviewResampling::kAverage, /*binary_alpha=*/false, &parent);
  EXPECT_EQ(Sample<uint8_t>(parent, 0, 0, 0), 20);  // (10 + 20 + 30) / 3: 200 is uncovered.
  EXPECT_EQ(parent.alpha[0], 191);                  // (3 * 255 + 2) / 4.
  // Absent children leave their quadrants transparent.
  EXPECT_EQ(parent.alpha[2], 0);
  EXPECT_EQ(parent.alpha[2 * 4 + 2], 0);
  EXPECT_EQ(Sample<uint8_t>(parent, 3, 3, 0), 0);
  EXPECT_EQ(Sample<uint8_t>(parent, 1, 1, 0), 0);  // Child pixels all uncovered: cleared.
  EXPECT_EQ(parent.alpha[1 * 4 + 1], 0);
}

TEST(Downsample2xTest, EachChildLandsInItsMortonQuadrant) {
  TilePixels children_pixels[4];
  const TilePixels* children[4];
  for (int i = 0; i < 4; ++i) {
    children_pixels[i].Reset(PixelType::kUint16, 4, 3);
    Fill<uint16_t>(children_pixels[i], static_cast<uint16_t>(1000 * (i + 1)), 255);
    children[i] = &children_pixels[i];
  }
  TilePixels parent(PixelType::kUint16, 4, 3);
  Downsample2x(children, OverviewResampling::kAverage, false, &parent);
  EXPECT_EQ(Sample<uint16_t>(parent, 0, 0, 2), 1000);  // NW.
  EXPECT_EQ(Sample<uint16_t>(parent, 3, 0, 0), 2000);  // NE.
  EXPECT_EQ(Sample<uint16_t>(parent, 1, 2, 1), 3000);  // SW.
  EXPECT_EQ(Sample<uint16_t>(parent, 2, 3, 0), 4000);  // SE.
  EXPECT_TRUE(parent.Opaque());
}

TEST(Downsample2xTest, ElevationAveragesValidSamplesOnlyAndStaysValid) {
  TilePixels child(PixelType::kFloat32, 2, 1);
  Sample<float>(child, 0, 0, 0) = 100.5f;
  Sample<float>(child, 1, 0, 0) = -1e34f;  // Nodata: must not leak into the mean.
  Sample<float>(child, 0, 1, 0) = 101.5f;
  Sample<float>(child, 1, 1, 0) = -1e34f;
  child.alpha = {255, 0, 7, 0};  // Any coverage counts as valid for elevation.
  TilePixels parent(PixelType::kFloat32, 2, 1);
  const TilePixels* children[4] = {nullptr, nullptr, nullptr, &child};
  Downsample2x(children, OverviewResampling::kAverage, /*binary_alpha=*/true, &parent);
  EXPECT_FLOAT_EQ(Sample<float>(parent, 1, 1, 0), 101.0f);
  EXPECT_EQ(parent.alpha[3], 255);
  EXPECT_EQ(parent.alpha[0], 0);
}

TEST(Downsample2xTest, ModePicksTheMostFrequentCoveredPixel) {
  TilePixels child(PixelType::kUint8, 2, 3);
  const uint8_t pixels[4][3] = {{1, 2, 3}, {9, 9, 9}, {9, 9, 9}, {1, 2, 3}};
  for (int i = 0; i < 4; ++i) std::memcpy(child.samples.data() + 3 * i, pixels[i], 3);
  child.alpha = {255, 255, 255, 0};  // The second {1,2,3} is uncovered: {9,9,9} wins 2 to 1.
  TilePixels parent(PixelType::kUint8, 2, 3);
  const TilePixels* children[4] = {&child, nullptr, nullptr, nullptr};
  Downsample2x(children, OverviewResampling::kMode, false, &parent);
  EXPECT_EQ(Sample<uint8_t>(parent, 0, 0, 0), 9);
  EXPECT_EQ(Sample<uint8_t>(parent, 0, 0, 2), 9);
}

TEST(Downsample2xTest, NearestTakesTheBottomRightSampleAndItsAlpha) {
  TilePixels child(PixelType::kInt16, 2, 1);
  reinterpret_cast<int16_t*>(child.samples.data())[3] = -7;
  child.alpha = {255, 255, 255, 128};
  TilePixels parent(PixelType::kInt16, 2, 1);
  const TilePixels* children[4] = {nullptr, &child, nullptr, nullptr};
  Downsample2x(children, OverviewResampling::kNearest, false, &parent);
  EXPECT_EQ(Sample<int16_t>(parent, 1, 0, 0), -7);
  EXPECT_EQ(parent.alpha[1], 128);
}

TEST(EncodeTileTest, MixedJpegUsesJpegForOpaqueAndPngWithAlphaForPartialTiles) {
  TileEncoding encoding;
  encoding.codec = TileCodec::kJpeg;
  TilePixels tile(PixelType::kUint8, 16, 3);
  Fill<uint8_t>(tile, 77, 255);
  std::vector<uint8_t> scratch;
  std::string bytes;
  ASSERT_TRUE(EncodeTile(tile, encoding, &scratch, &bytes).ok());
  EXPECT_EQ(*codec::DetectCodec(bytes), codec::CodecId::kJpeg);
  tile.alpha[5] = 0;
  ASSERT_TRUE(EncodeTile(tile, encoding, &scratch, &bytes).ok());
  EXPECT_EQ(*codec::DetectCodec(bytes), codec::CodecId::kPng);
  absl::StatusOr<codec::Image> decoded = codec::Decode(bytes);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->bands(), 4);
  EXPECT_EQ(decoded->data()[4 * 5 + 3], 0);    // Uncovered pixel: alpha 0.
  EXPECT_EQ(decoded->data()[4 * 6 + 3], 255);  // Covered pixel: opaque.
  EXPECT_EQ(decoded->data()[4 * 6 + 0], 77);
}

TEST(EncodeTileTest, ElevationWritesNodataWhereUncoveredAndRoundTripsExactly) {
  TileEncoding encoding;
  encoding.codec = TileCodec::kElevation;
  encoding.nodata = -32768;
  TilePixels tile(PixelType::kInt16, 8, 1);
  Fill<int16_t>(tile, 1234, 255);
  tile.alpha[9] = 0;
  std::vector<uint8_t> scratch;
  std::string bytes;
  ASSERT_TRUE(EncodeTile(tile, encoding, &scratch, &bytes).ok());
  absl::StatusOr<codec::Image> decoded = codec::Decode(bytes);
  ASSERT_TRUE(decoded.ok());
  const int16_t* values = reinterpret_cast<const int16_t*>(decoded->data());
  EXPECT_EQ(values[9], -32768);
  EXPECT_EQ(values[10], 1234);
}

TEST(EncodeTileTest, Uint16PngCarriesFullRangeAlpha) {
  TileEncoding encoding;
  encoding.codec = TileCodec::kPng;
  TilePixels tile(PixelType::kUint16, 4, 1);
  Fill<uint16_t>(tile, 40000, 255);
  tile.alpha[0] = 0;
  std::vector<uint8_t> scratch;
  std::string bytes;
  ASSERT_TRUE(EncodeTile(tile, encoding, &scratch, &bytes).ok());
  absl::StatusOr<codec::Image> decoded = codec::Decode(bytes);
  ASSERT_TRUE(decoded.ok());
  const uint16_t* values = reinterpret_cast<const uint16_t*>(decoded->data());
  EXPECT_EQ(values[0 * 2 + 1], 0);
  EXPECT_EQ(values[1 * 2 + 0], 40000);
  EXPECT_EQ(values[1 * 2 + 1], 65535);
}

TEST(CheckEncodingSupportsTest, RefusesCombinationsTheCodecsCannotCarryNamingTheField) {
  EXPECT_TRUE(CheckEncodingSupports(TileCodec::kJpeg, PixelType::kUint8, 3).ok());
  absl::Status status = CheckEncodingSupports(TileCodec::kJpeg, PixelType::kUint8, 6);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("BuildOptions::bands"), absl::string_view::npos);
  EXPECT_FALSE(CheckEncodingSupports(TileCodec::kElevation, PixelType::kUint8, 1).ok());
  EXPECT_FALSE(CheckEncodingSupports(TileCodec::kWebp, PixelType::kUint16, 3).ok());
  EXPECT_TRUE(CheckEncodingSupports(TileCodec::kElevation, PixelType::kFloat32, 1).ok());
}

}  // namespace
}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
