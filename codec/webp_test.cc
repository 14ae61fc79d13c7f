#include "codec/webp.h"

#include <cstring>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "codec/internal/test_tiles.h"
#include "gtest/gtest.h"
#include "testing/files.h"
#include "testing/image_compare.h"

namespace flatpyramid {
namespace codec {
namespace {

using internal::SameImage;
using internal::Samples;

Image Landsat(int bands) {
  absl::StatusOr<Image> rgb = internal::LandsatRgbTile(256);
  EXPECT_TRUE(rgb.ok()) << rgb.status();
  Image image(256, 256, bands, PixelType::kUint8);
  for (size_t i = 0; i < 256 * 256; ++i) {
    for (int b = 0; b < 3; ++b) image.data()[i * bands + b] = rgb->data()[i * 3 + b];
    // Alpha: an opaque left half, a transparent right quarter, a ramp in between.
    const int x = static_cast<int>(i % 256);
    if (bands == 4) image.data()[i * 4 + 3] = x < 128 ? 255 : x >= 192 ? 0 : (192 - x) * 4;
  }
  return image;
}

std::string EncodeOrDie(const Image& image, const EncodeOptions& options) {
  std::string bytes;
  absl::Status s = EncodeWebp(image.view(), options, &bytes);
  EXPECT_TRUE(s.ok()) << s;
  return bytes;
}

TEST(WebpTest, LosslessRoundTripIsExactForRgbAndRgbaIncludingColourUnderTransparency) {
  test::TempDir dir;
  EncodeOptions options;
  options.lossless = true;
  for (int bands : {3, 4}) {
    Image image = Landsat(bands);
    const std::string bytes = EncodeOrDie(image, options);
    absl::StatusOr<Image> ours = Decode(bytes);
    ASSERT_TRUE(ours.ok()) << ours.status();
    EXPECT_TRUE(SameImage(*ours, image)) << bands;
    absl::StatusOr<Image> gdal =
        internal::DecodeWithGdal(bytes, dir.Path("t.webp"), "WEBP", PixelType::kUint8);
    ASSERT_TRUE(gdal.ok()) << gdal.status();
    EXPECT_TRUE(SameImage(*gdal, image)) << bands;
  }
}

TEST(WebpTest, LossyMeetsPsnrBoundsAndGdalDecodesTheSamePixels) {
  test::TempDir dir;
  Image image = Landsat(3);
  std::size_t previous_size = 0;
  // Measured on this tile: q50 32.26 dB, q85 36.07, q95 39.98 (libwebp 1.2.4, method 4); bounds 0.5
  // dB below.
  for (auto [quality, min_psnr] : {std::pair{50, 31.7}, std::pair{85, 35.5}, std::pair{95, 39.4}}) {
    EncodeOptions options;
    options.quality = quality;
    const std::string bytes = EncodeOrDie(image, options);
    EXPECT_GT(bytes.size(), previous_size);
    previous_size = bytes.size();
    absl::StatusOr<Image> ours = Decode(bytes);
    ASSERT_TRUE(ours.ok()) << ours.status();
    ASSERT_EQ(ours->bands(), 3);
    EXPECT_GE(
        test::CompareSamples<uint8_t>(Samples<uint8_t>(*ours), Samples<uint8_t>(image)).psnr_db,
        min_psnr)
        << quality;
    absl::StatusOr<Image> gdal =
        internal::DecodeWithGdal(bytes, dir.Path("t.webp"), "WEBP", PixelType::kUint8);
    ASSERT_TRUE(gdal.ok()) << gdal.status();
    EXPECT_TRUE(SameImage(*gdal, *ours)) << quality;
  }
}

TEST(WebpTest, LossyKeepsAlphaAsAFourthBand) {
  Image image = Landsat(4);
  const std::string bytes = EncodeOrDie(image, {});
  absl::StatusOr<ImageInfo> info = PeekWebpInfo(bytes);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->bands, 4);
  absl::StatusOr<Image> back = Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  // Lossy WebP stores alpha losslessly by default.
  for (size_t i = 0; i < 256 * 256; ++i) {
    ASSERT_EQ(back->data()[i * 4 + 3], image.data()[i * 4 + 3]) << i;
  }
}

TEST(WebpTest, DecodesIntoAPaddedCallerBufferLeavingThePaddingAlone) {
  Image image = Landsat(3);
  EncodeOptions options;
  options.lossless = true;
  const std::string bytes = EncodeOrDie(image, options);
  const size_t row = 256 * 3, stride = row + 5;
  std::vector<uint8_t> out(stride * 256, 0x5A);
  ASSERT_TRUE(
      DecodeWebpInto(bytes, MutableImageView{out.data(), 256, 256, 3, PixelType::kUint8, stride})
          .ok());
  for (int y = 0; y < 256; ++y) {
    ASSERT_EQ(std::memcmp(out.data() + y * stride, image.data() + y * row, row), 0) << y;
    EXPECT_EQ(out[y * stride + row], 0x5A);
  }
}

TEST(WebpTest, FullyOpaqueRgbaComesBackAsFourBandsThroughAnRgbaBuffer) {
  Image rgba = Landsat(4);
  for (size_t i = 0; i < 256 * 256; ++i) rgba.data()[i * 4 + 3] = 255;
  Image rgb = Landsat(3);
  EncodeOptions lossless;
  lossless.lossless = true;
  for (const EncodeOptions& options : {EncodeOptions{}, lossless}) {
    const std::string bytes = EncodeOrDie(rgba, options);
    // libwebp leaves out an alpha channel that is 255 everywhere: the stream says 3 bands.
    absl::StatusOr<ImageInfo> info = PeekInfo(bytes);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->bands, 3) << options.lossless;
    absl::StatusOr<Image> three = Decode(bytes);
    ASSERT_TRUE(three.ok()) << three.status();
    // Into a 4-band buffer: the RGB of the 3-band decode, alpha 255, padding kept.
    for (size_t padding : {size_t{0}, size_t{3}}) {
      EXPECT_EQ(internal::RgbaWideningMismatch(bytes, *three, padding), "") << padding;
    }
    if (options.lossless) {
      Image back(256, 256, 4, PixelType::kUint8);
      ASSERT_TRUE(DecodeWebpInto(bytes, back.mutable_view()).ok());
      EXPECT_TRUE(SameImage(back, rgba));
      EXPECT_TRUE(SameImage(*three, rgb));
    }
  }
  // Still only 3 -> 4: no 3 -> 2 or 4 -> 3.
  const std::string bytes = EncodeOrDie(rgba, {});
  Image two(256, 256, 2, PixelType::kUint8);
  EXPECT_EQ(DecodeInto(bytes, two.mutable_view()).code(), absl::StatusCode::kInvalidArgument);
  const std::string with_alpha = EncodeOrDie(Landsat(4), {});
  Image three(256, 256, 3, PixelType::kUint8);
  EXPECT_EQ(DecodeInto(with_alpha, three.mutable_view()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WebpTest, RefusesGrayTwoBandsAndSixteenBits) {
  std::string out;
  Image gray(8, 8, 1, PixelType::kUint8), two(8, 8, 2, PixelType::kUint8),
      wide(8, 8, 3, PixelType::kUint16);
  EXPECT_EQ(EncodeWebp(gray.view(), {}, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeWebp(two.view(), {}, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeWebp(wide.view(), {}, &out).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace codec
}  // namespace flatpyramid
