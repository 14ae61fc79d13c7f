// Uses @flatpyramid//codec, //geo:morton and //storage from outside the flatpyramid workspace:
// lossless round trips through two codecs, and a one-level tile store keyed by Morton codes.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "geo/morton.h"
#include "gtest/gtest.h"
#include "storage/store.h"

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

TEST(ConsumerTest, StoreKeyedByMortonCodesReadsBackEveryTile) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  ASSERT_NE(tmp, nullptr);
  const std::string path = std::string(tmp) + "/consumer.fpyr";
  auto writer = flatpyramid::storage::Writer::Create(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  auto level = (*writer)->AddSection("z2");
  ASSERT_TRUE(level.ok()) << level.status();
  // Morton order is the order of keys, so appending in key order walks the Z curve.
  std::vector<std::pair<uint64_t, std::string>> tiles;
  for (uint32_t y = 0; y < 4; ++y) {
    for (uint32_t x = 0; x < 4; ++x) {
      tiles.emplace_back(flatpyramid::geo::MortonEncode(x, y),
                         "tile " + std::to_string(x) + "," + std::to_string(y));
    }
  }
  std::sort(tiles.begin(), tiles.end());
  for (const auto& [key, bytes] : tiles) {
    ASSERT_TRUE((*writer)->Append(*level, key, bytes).ok());
  }
  ASSERT_TRUE((*writer)->Seal().ok());
  writer->reset();  // Releases the writer's exclusive lock.

  auto reader = flatpyramid::storage::Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto section = (*reader)->FindSection("z2");
  ASSERT_TRUE(section.has_value());
  EXPECT_EQ((*reader)->entry_count(*section), 16u);
  auto tile = (*reader)->Get(*section, flatpyramid::geo::MortonEncode(3, 1));
  ASSERT_TRUE(tile.has_value());
  EXPECT_EQ(*tile, "tile 3,1");
  EXPECT_FALSE((*reader)->Get(*section, flatpyramid::geo::MortonEncode(4, 4)).has_value());
}

}  // namespace
