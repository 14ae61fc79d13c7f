#include "codec/elevation.h"

#include <zlib.h>
#include <zstd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "codec/internal/test_tiles.h"
#include "gtest/gtest.h"
#include "testing/files.h"

namespace flatpyramid {
namespace codec {
namespace {

using internal::SameImage;
using internal::Samples;

template <typename T>
Image MakeImage(int width, int height, PixelType type, const std::vector<T>& values) {
  Image image(width, height, 1, type);
  std::memcpy(image.data(), values.data(), image.size_bytes());
  return image;
}

Image RoundTrip(const Image& image, ElevationPredictor predictor, int level = 6) {
  EncodeOptions options;
  options.compression_level = level;
  std::string bytes;
  absl::Status s = EncodeElevationWithPredictor(image.view(), options, predictor, &bytes);
  EXPECT_TRUE(s.ok()) << s;
  absl::StatusOr<Image> back = Decode(bytes);
  EXPECT_TRUE(back.ok()) << back.status();
  return back.ok() ? *std::move(back) : Image(0, 0, 1, image.type());
}

std::string Payload(const std::string& bytes) {
  const char* frame = bytes.data() + kElevationHeaderSize;
  const size_t frame_size = bytes.size() - kElevationHeaderSize;
  std::string raw(ZSTD_getFrameContentSize(frame, frame_size), '\0');
  EXPECT_EQ(ZSTD_decompress(raw.data(), raw.size(), frame, frame_size), raw.size());
  return raw;
}

TEST(ElevationTest, HeaderBytesAreExactlyTheDocumentedLayout) {
  Image image = MakeImage<int16_t>(3, 2, PixelType::kInt16, {10, 13, 9, -1, 0, 1});
  std::string bytes;
  EncodeOptions fast;
  fast.compression_level = 1;  // One predictor: the default, delta.
  ASSERT_TRUE(EncodeElevation(image.view(), fast, &bytes).ok());
  // int16 (1), delta predictor (1).
  const std::string expected_header("FPEL\x01\x01\x01\x00\x03\x00\x00\x00\x02\x00\x00\x00", 16);
  EXPECT_EQ(bytes.substr(0, 16), expected_header);
  EXPECT_EQ(static_cast<uint32_t>(ZSTD_MAGICNUMBER),
            static_cast<uint32_t>(static_cast<uint8_t>(bytes[16])) |
                static_cast<uint32_t>(static_cast<uint8_t>(bytes[17])) << 8 |
                static_cast<uint32_t>(static_cast<uint8_t>(bytes[18])) << 16 |
                static_cast<uint32_t>(static_cast<uint8_t>(bytes[19])) << 24);
}

TEST(ElevationTest, DeltaPredictorStoresRowDifferencesLittleEndianRestartingEachRow) {
  Image image = MakeImage<int16_t>(3, 2, PixelType::kInt16, {10, 13, 9, -1, 0, 1});
  std::string bytes;
  ASSERT_TRUE(
      EncodeElevationWithPredictor(image.view(), {}, ElevationPredictor::kDelta, &bytes).ok());
  EXPECT_EQ(bytes[6], 1);
  // Row 0: 10, +3, -4. Row 1: -1, +1, +1.
  EXPECT_EQ(Payload(bytes), std::string("\x0a\x00\x03\x00\xfc\xff\xff\xff\x01\x00\x01\x00", 12));
}

TEST(ElevationTest, BytePlanePredictorStoresAllLowBytesThenAllHighBytes) {
  Image image = MakeImage<int16_t>(3, 2, PixelType::kInt16, {10, 13, 9, -1, 0, 1});
  std::string bytes;
  ASSERT_TRUE(
      EncodeElevationWithPredictor(image.view(), {}, ElevationPredictor::kDeltaBytePlanes, &bytes)
          .ok());
  EXPECT_EQ(bytes[6], 2);
  EXPECT_EQ(Payload(bytes), std::string("\x0a\x03\xfc\xff\x01\x01\x00\x00\xff\xff\x00\x00", 12));
}

TEST(ElevationTest, PlainBytePlanePredictorShufflesTheSamplesWithoutDelta) {
  Image image = MakeImage<int16_t>(3, 2, PixelType::kInt16, {10, 13, 9, -1, 0, 1});
  std::string bytes;
  ASSERT_TRUE(
      EncodeElevationWithPredictor(image.view(), {}, ElevationPredictor::kBytePlanes, &bytes).ok());
  EXPECT_EQ(bytes[6], 3);
  EXPECT_EQ(Payload(bytes), std::string("\x0a\x0d\x09\xff\x00\x01\x00\x00\x00\xff\x00\x00", 12));
  // float32 1.0f, 1.5f: bytes 00 00 80 3F, 00 00 C0 3F, planes of each byte position.
  Image floats = MakeImage<float>(2, 1, PixelType::kFloat32, {1.0f, 1.5f});
  ASSERT_TRUE(
      EncodeElevationWithPredictor(floats.view(), {}, ElevationPredictor::kBytePlanes, &bytes)
          .ok());
  EXPECT_EQ(Payload(bytes), std::string("\x00\x00\x00\x00\x80\xc0\x3f\x3f", 8));
}

TEST(ElevationTest, DefaultPredictorIsDeltaForIntegersAndBytePlanesForFloats) {
  EXPECT_EQ(DefaultElevationPredictor(PixelType::kInt16), ElevationPredictor::kDelta);
  EXPECT_EQ(DefaultElevationPredictor(PixelType::kUint16), ElevationPredictor::kDelta);
  EXPECT_EQ(DefaultElevationPredictor(PixelType::kFloat32), ElevationPredictor::kDeltaBytePlanes);
}

// From level 3 EncodeElevation keeps the smaller of the two delta layouts; below, the
// default one. On the real tiles both layouts win somewhere (README): the test sees both.
TEST(ElevationTest, EncodeKeepsTheSmallerDeltaLayoutFromLevelThree) {
  std::set<int> chosen;
  for (int size : {256, 512}) {
    absl::StatusOr<std::vector<internal::DemTile>> tiles = internal::RealDemTiles(size);
    ASSERT_TRUE(tiles.ok()) << tiles.status();
    for (const internal::DemTile& tile : *tiles) {
      for (int level : {1, 3, 6}) {
        EncodeOptions options;
        options.compression_level = level;
        std::string ours, delta, planes;
        ASSERT_TRUE(EncodeElevation(tile.image.view(), options, &ours).ok());
        ASSERT_TRUE(EncodeElevationWithPredictor(tile.image.view(), options,
                                                 ElevationPredictor::kDelta, &delta)
                        .ok());
        ASSERT_TRUE(EncodeElevationWithPredictor(tile.image.view(), options,
                                                 ElevationPredictor::kDeltaBytePlanes, &planes)
                        .ok());
        if (level <= 2) {
          EXPECT_EQ(ours, DefaultElevationPredictor(tile.image.type()) == ElevationPredictor::kDelta
                              ? delta
                              : planes)
              << tile.name;
          continue;
        }
        EXPECT_EQ(ours.size(), std::min(delta.size(), planes.size())) << tile.name;
        EXPECT_TRUE(ours == delta || ours == planes) << tile.name;
        chosen.insert(ours[6]);
      }
    }
  }
  EXPECT_EQ(chosen, (std::set<int>{1, 2}));
}

TEST(ElevationTest, ZstdLevelsFollowTheDocumentedTable) {
  const int expected[10] = {1, 1, 1, 2, 2, 3, 3, 5, 7, 9};
  for (int level = 0; level <= 9; ++level) EXPECT_EQ(ElevationZstdLevel(level), expected[level]);
  EXPECT_EQ(ElevationZstdLevel(-3), 1);
  EXPECT_EQ(ElevationZstdLevel(42), 9);
}

TEST(ElevationTest, Float32DeltaWorksOnBitPatternsSplitIntoBytePlanes) {
  // 1.0f = 0x3F800000, 1.5f = 0x3FC00000: the delta is 0x00400000.
  Image image = MakeImage<float>(2, 1, PixelType::kFloat32, {1.0f, 1.5f});
  std::string bytes;
  ASSERT_TRUE(
      EncodeElevationWithPredictor(image.view(), {}, ElevationPredictor::kDeltaBytePlanes, &bytes)
          .ok());
  EXPECT_EQ(bytes[5], 3);
  EXPECT_EQ(Payload(bytes), std::string("\x00\x00\x00\x00\x80\x40\x3f\x00", 8));
}

TEST(ElevationTest, Float32RoundTripKeepsNaNPayloadsSignedZeroInfinitiesAndNodataBitForBit) {
  const std::vector<uint32_t> bits = {0x7FC00000u,  // Quiet NaN.
                                      0x7F800001u,  // Signalling NaN with payload 1.
                                      0xFFC12345u,  // Negative NaN with a payload.
                                      0x80000000u,  // -0.0.
                                      0x7F800000u,  // +inf.
                                      0xFF800000u,  // -inf.
                                      0x00000001u,  // Smallest denormal.
                                      0xF8DB7A2Bu,  // -1e34, etopo20's nodata (approximately).
                                      0x3F800000u, 0x00000000u, 0x12345678u, 0xDEADBEEFu};
  Image image(4, 3, 1, PixelType::kFloat32);
  std::memcpy(image.data(), bits.data(), image.size_bytes());
  for (ElevationPredictor p :
       {ElevationPredictor::kNone, ElevationPredictor::kDelta, ElevationPredictor::kDeltaBytePlanes,
        ElevationPredictor::kBytePlanes}) {
    Image back = RoundTrip(image, p);
    EXPECT_TRUE(SameImage(back, image)) << "predictor " << static_cast<int>(p);
  }
}

TEST(ElevationTest, Uint16DeltaWrapsAroundExactlyAtTheTypeLimits) {
  const std::vector<uint16_t> values = {0, 65535, 0, 65535, 1, 65534, 32768, 32767};
  Image image = MakeImage<uint16_t>(4, 2, PixelType::kUint16, values);
  for (ElevationPredictor p :
       {ElevationPredictor::kNone, ElevationPredictor::kDelta, ElevationPredictor::kDeltaBytePlanes,
        ElevationPredictor::kBytePlanes}) {
    Image back = RoundTrip(image, p);
    ASSERT_EQ(back.type(), PixelType::kUint16);
    EXPECT_EQ(std::vector<uint16_t>(Samples<uint16_t>(back).begin(), Samples<uint16_t>(back).end()),
              values);
  }
}

TEST(ElevationTest, RealInt16DemRoundTripsExactlyWithItsNodata) {
  absl::StatusOr<std::vector<internal::DemTile>> tiles = internal::RealDemTiles(256);
  ASSERT_TRUE(tiles.ok()) << tiles.status();
  const Image& elev = (*tiles)[0].image;
  ASSERT_EQ(elev.type(), PixelType::kInt16);
  size_t nodata = 0;
  for (int16_t v : Samples<int16_t>(elev)) nodata += v == -32768;
  ASSERT_GT(nodata, 1000u);  // Luxembourg's outside is nodata: the test covers it.
  for (int level : {0, 6, 9}) {
    Image back = RoundTrip(elev, ElevationPredictor::kDelta, level);
    EXPECT_TRUE(SameImage(back, elev)) << "level " << level;
  }
}

// na.tif: 10 x 10 float32 with a NaN (gdalinfo -stats: 99 % valid), no nodata value.
TEST(ElevationTest, RealNaNRasterRoundTripsBitForBit) {
  absl::StatusOr<Image> na =
      internal::ReadTile(test::DataPath("na.tif"), {1}, internal::SourceWindow{0, 0, 10, 10}, 10,
                         10, PixelType::kFloat32);
  ASSERT_TRUE(na.ok()) << na.status();
  size_t nans = 0;
  for (float v : Samples<float>(*na)) nans += std::isnan(v);
  ASSERT_EQ(nans, 1u);
  for (ElevationPredictor p :
       {ElevationPredictor::kNone, ElevationPredictor::kDelta, ElevationPredictor::kDeltaBytePlanes,
        ElevationPredictor::kBytePlanes}) {
    for (int level : {0, 6, 9}) {
      Image back = RoundTrip(*na, p, level);
      EXPECT_TRUE(SameImage(back, *na))
          << "predictor " << static_cast<int>(p) << " level " << level;
    }
  }
  std::string bytes;
  ASSERT_TRUE(EncodeElevation(na->view(), {}, &bytes).ok());
  absl::StatusOr<Image> back = Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameImage(*back, *na));
}

TEST(ElevationTest, EveryRealDemTileRoundTripsExactly) {
  for (int size : {256, 512}) {
    absl::StatusOr<std::vector<internal::DemTile>> tiles = internal::RealDemTiles(size);
    ASSERT_TRUE(tiles.ok()) << tiles.status();
    // elev and olinda resampled and padded (4), etopo20 float32 and uint16 (8 + 8 or 2 + 2).
    EXPECT_EQ(tiles->size(), size == 256 ? 20u : 8u);
    for (const internal::DemTile& tile : *tiles) {
      for (ElevationPredictor p :
           {ElevationPredictor::kNone, ElevationPredictor::kDelta,
            ElevationPredictor::kDeltaBytePlanes, ElevationPredictor::kBytePlanes}) {
        EXPECT_TRUE(SameImage(RoundTrip(tile.image, p), tile.image))
            << tile.name << " predictor " << static_cast<int>(p);
      }
    }
  }
}

// What a GeoTIFF with DEFLATE and no predictor stores: zlib level 6 over the raw samples.
size_t ZlibLevel6Size(const Image& image) {
  uLongf size = compressBound(image.size_bytes());
  std::string out(size, '\0');
  EXPECT_EQ(
      compress2(reinterpret_cast<Bytef*>(out.data()), &size, image.data(), image.size_bytes(), 6),
      Z_OK);
  return size;
}

TEST(ElevationTest, EveryRealDemTileIsSmallerThanZlibLevel6OnTheRawSamples) {
  for (int size : {256, 512}) {
    absl::StatusOr<std::vector<internal::DemTile>> tiles = internal::RealDemTiles(size);
    ASSERT_TRUE(tiles.ok()) << tiles.status();
    for (const internal::DemTile& tile : *tiles) {
      std::string ours;
      ASSERT_TRUE(EncodeElevation(tile.image.view(), {}, &ours).ok());
      EXPECT_LT(ours.size(), ZlibLevel6Size(tile.image)) << tile.name;
    }
  }
}

TEST(ElevationTest, DecodesIntoAPaddedCallerBuffer) {
  Image image = MakeImage<int16_t>(3, 2, PixelType::kInt16, {10, 13, 9, -1, 0, 1});
  std::string bytes;
  ASSERT_TRUE(EncodeElevation(image.view(), {}, &bytes).ok());
  std::vector<int16_t> padded(5 * 2, 77);  // Rows of 5 samples, 3 used.
  MutableImageView out{reinterpret_cast<uint8_t*>(padded.data()), 3, 2, 1, PixelType::kInt16, 10};
  ASSERT_TRUE(DecodeElevationInto(bytes, out).ok());
  EXPECT_EQ(padded, (std::vector<int16_t>{10, 13, 9, 77, 77, -1, 0, 1, 77, 77}));
}

TEST(ElevationTest, RefusesUint8AndMoreThanOneBand) {
  Image bytes_image(4, 4, 1, PixelType::kUint8);
  Image two_bands(4, 4, 2, PixelType::kInt16);
  std::string out;
  EXPECT_EQ(EncodeElevation(bytes_image.view(), {}, &out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeElevation(two_bands.view(), {}, &out).code(), absl::StatusCode::kInvalidArgument);
}

class ElevationHeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Image image = MakeImage<int16_t>(3, 2, PixelType::kInt16, {10, 13, 9, -1, 0, 1});
    ASSERT_TRUE(EncodeElevation(image.view(), {}, &bytes_).ok());
  }
  absl::StatusCode DecodeCode(const std::string& bytes, const DecodeLimits& limits = {}) {
    Image out(3, 2, 1, PixelType::kInt16);
    return DecodeElevationInto(bytes, out.mutable_view(), limits).code();
  }
  std::string bytes_;
};

TEST_F(ElevationHeaderTest, NewerVersionIsUnimplemented) {
  bytes_[4] = 2;
  EXPECT_EQ(DecodeCode(bytes_), absl::StatusCode::kUnimplemented);
}

TEST_F(ElevationHeaderTest, UnknownTypePredictorOrReservedByteIsInvalid) {
  for (int offset : {5, 6, 7}) {
    std::string bad = bytes_;
    bad[offset] = 9;
    EXPECT_EQ(DecodeCode(bad), absl::StatusCode::kInvalidArgument) << offset;
  }
}

TEST_F(ElevationHeaderTest, HugeDeclaredSizeIsRefusedBeforeAllocating) {
  std::string bad = bytes_;
  bad[11] = '\x7f';  // Width 0x7F000003.
  absl::StatusOr<ImageInfo> info = PeekElevationInfo(bad);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(DecodeCode(bytes_, DecodeLimits{2, 2}), absl::StatusCode::kResourceExhausted);
}

TEST_F(ElevationHeaderTest, SizeThatDisagreesWithTheFrameIsInvalid) {
  Image out(2, 3, 1, PixelType::kInt16);
  std::string bad = bytes_;
  bad[8] = 2;
  bad[12] = 3;  // 2x3 still has 6 samples: allowed, same frame size.
  EXPECT_TRUE(DecodeElevationInto(bad, out.mutable_view()).ok());
  bad[12] = 4;  // 2x4 needs 16 bytes, the frame holds 12.
  Image out4(2, 4, 1, PixelType::kInt16);
  EXPECT_EQ(DecodeElevationInto(bad, out4.mutable_view()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ElevationHeaderTest, TrailingBytesAndTruncationAreInvalid) {
  EXPECT_EQ(DecodeCode(bytes_ + "x"), absl::StatusCode::kInvalidArgument);
  for (size_t size = 0; size < bytes_.size(); ++size) {
    EXPECT_EQ(DecodeCode(bytes_.substr(0, size)), absl::StatusCode::kInvalidArgument) << size;
  }
}

}  // namespace
}  // namespace codec
}  // namespace flatpyramid
