#include "codec/png.h"

#include <spng.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "codec/codec.h"
#include "codec/internal/test_tiles.h"
#include "gdal_priv.h"
#include "gtest/gtest.h"
#include "testing/files.h"

namespace flatpyramid {
namespace codec {
namespace {

using internal::SameImage;

// Landsat bands 3,2,1 (and band 1 again as alpha) spread over the type's range; for uint16
// the low byte differs from the high byte, so a byte-order mistake changes every value.
Image RealImage(int bands, PixelType type) {
  absl::StatusOr<Image> rgb = internal::LandsatRgbTile(128);
  EXPECT_TRUE(rgb.ok()) << rgb.status();
  Image image(128, 128, bands, type);
  for (size_t i = 0; i < 128 * 128; ++i) {
    for (int b = 0; b < bands; ++b) {
      const uint8_t v = rgb->data()[i * 3 + b % 3];
      if (type == PixelType::kUint8) {
        image.data()[i * bands + b] = v;
      } else {
        const uint16_t wide = static_cast<uint16_t>(v * 251 + b);
        std::memcpy(image.data() + (i * bands + b) * 2, &wide, 2);
      }
    }
  }
  return image;
}

std::string EncodeOrDie(const Image& image, const EncodeOptions& options = {}) {
  std::string bytes;
  absl::Status s = EncodePng(image.view(), options, &bytes);
  EXPECT_TRUE(s.ok()) << s;
  return bytes;
}

TEST(PngTest, EveryTypeAndBandCountRoundTripsExactlyAndMatchesGdalsDecoder) {
  test::TempDir dir;
  for (PixelType type : {PixelType::kUint8, PixelType::kUint16}) {
    for (int bands = 1; bands <= 4; ++bands) {
      Image image = RealImage(bands, type);
      const std::string bytes = EncodeOrDie(image);
      absl::StatusOr<Image> ours = Decode(bytes);
      ASSERT_TRUE(ours.ok()) << ours.status();
      EXPECT_TRUE(SameImage(*ours, image)) << bands << " bands of " << PixelTypeName(type);
      absl::StatusOr<Image> gdal = internal::DecodeWithGdal(bytes, dir.Path("t.png"), "PNG", type);
      ASSERT_TRUE(gdal.ok()) << gdal.status();
      EXPECT_TRUE(SameImage(*gdal, image)) << bands << " bands of " << PixelTypeName(type);
    }
  }
}

TEST(PngTest, SixteenBitSamplesAreBigEndianInTheFile) {
  Image image(1, 1, 1, PixelType::kUint16);
  const uint16_t value = 0x1234;
  std::memcpy(image.data(), &value, 2);
  const std::string bytes =
      EncodeOrDie(image, EncodeOptions{85, ChromaSubsampling::k420, false, 0});
  // Level 0 stores: the IDAT's deflate block holds filter byte 0, then 0x12 0x34.
  EXPECT_NE(bytes.find(std::string("\x00\x12\x34", 3)), std::string::npos);
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  EXPECT_EQ(bytes[24], 16);  // Bit depth.
  EXPECT_EQ(bytes[25], 0);   // Colour type gray.
}

TEST(PngTest, DecodesSixteenBitRgbaWrittenByGdal) {
  GDALAllRegister();
  Image image = RealImage(4, PixelType::kUint16);
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr source(mem->Create("", 128, 128, 4, GDT_UInt16, nullptr));
  ASSERT_EQ(source->RasterIO(GF_Write, 0, 0, 128, 128, image.data(), 128, 128, GDT_UInt16, 4,
                             nullptr, 8, 128 * 8, 2, nullptr),
            CE_None);
  test::TempDir dir;
  const std::string path = dir.Path("gdal.png");
  GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
  GDALDatasetUniquePtr written(
      png->CreateCopy(path.c_str(), source.get(), false, nullptr, nullptr, nullptr));
  ASSERT_NE(written, nullptr);
  written.reset();
  absl::StatusOr<Image> ours = Decode(test::ReadFileOrDie(path));
  ASSERT_TRUE(ours.ok()) << ours.status();
  EXPECT_TRUE(SameImage(*ours, image));
}

TEST(PngTest, PaletteImagesExpandToRgb) {
  GDALAllRegister();
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr source(mem->Create("", 4, 1, 1, GDT_Byte, nullptr));
  GDALColorTable table;
  const GDALColorEntry colours[] = {{10, 20, 30, 255}, {200, 100, 50, 255}};
  table.SetColorEntry(0, &colours[0]);
  table.SetColorEntry(1, &colours[1]);
  source->GetRasterBand(1)->SetColorTable(&table);
  uint8_t indices[4] = {0, 1, 1, 0};
  ASSERT_EQ(
      source->RasterIO(GF_Write, 0, 0, 4, 1, indices, 4, 1, GDT_Byte, 1, nullptr, 0, 0, 0, nullptr),
      CE_None);
  test::TempDir dir;
  const std::string path = dir.Path("palette.png");
  GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
  GDALDatasetUniquePtr written(
      png->CreateCopy(path.c_str(), source.get(), false, nullptr, nullptr, nullptr));
  ASSERT_NE(written, nullptr);
  written.reset();
  absl::StatusOr<Image> ours = Decode(test::ReadFileOrDie(path));
  ASSERT_TRUE(ours.ok()) << ours.status();
  ASSERT_EQ(ours->bands(), 3);
  const std::vector<uint8_t> pixels(ours->data(), ours->data() + 12);
  EXPECT_EQ(pixels, (std::vector<uint8_t>{10, 20, 30, 200, 100, 50, 200, 100, 50, 10, 20, 30}));
  // Without tRNS the palette is opaque: into four bands, alpha 255.
  Image rgba(4, 1, 4, PixelType::kUint8);
  ASSERT_TRUE(DecodeInto(test::ReadFileOrDie(path), rgba.mutable_view()).ok());
  EXPECT_EQ(std::vector<uint8_t>(rgba.data(), rgba.data() + 16),
            (std::vector<uint8_t>{10, 20, 30, 255, 200, 100, 50, 255, 200, 100, 50, 255, 10, 20, 30,
                                  255}));
}

TEST(PngTest, CompressionLevelsTradeSizeAndAllDecodeToTheSamePixels) {
  Image image = RealImage(3, PixelType::kUint8);
  std::vector<size_t> sizes;
  for (int level : {0, 1, 6, 9}) {
    EncodeOptions options;
    options.compression_level = level;
    const std::string bytes = EncodeOrDie(image, options);
    sizes.push_back(bytes.size());
    absl::StatusOr<Image> back = Decode(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(SameImage(*back, image)) << "level " << level;
  }
  EXPECT_GT(sizes[0], 128u * 128u * 3u);  // Stored: raw rows plus filter bytes.
  EXPECT_GT(sizes[0], sizes[1]);
  EXPECT_GT(sizes[1], sizes[2]);
  EXPECT_GT(sizes[1], sizes[3]);  // 6 and 9 are within bytes of each other here.
}

TEST(PngTest, DecodesIntoAPaddedCallerBuffer) {
  Image image = RealImage(2, PixelType::kUint16);
  const std::string bytes = EncodeOrDie(image);
  const size_t row = 128 * 2 * 2, stride = row + 6;
  std::vector<uint8_t> out(stride * 128, 0xEE);
  ASSERT_TRUE(
      DecodePngInto(bytes, MutableImageView{out.data(), 128, 128, 2, PixelType::kUint16, stride})
          .ok());
  for (int y = 0; y < 128; ++y) {
    ASSERT_EQ(std::memcmp(out.data() + y * stride, image.data() + y * row, row), 0) << y;
    EXPECT_EQ(out[y * stride + row], 0xEE);
  }
}

// An Adam7-interlaced PNG written by libspng's encoder (our encoder never interlaces).
std::string InterlacedPng(const Image& image) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  EXPECT_NE(ctx, nullptr);
  spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr = {};
  ihdr.width = static_cast<uint32_t>(image.width());
  ihdr.height = static_cast<uint32_t>(image.height());
  ihdr.bit_depth = image.type() == PixelType::kUint16 ? 16 : 8;
  ihdr.color_type =
      image.bands() == 3 ? SPNG_COLOR_TYPE_TRUECOLOR : SPNG_COLOR_TYPE_TRUECOLOR_ALPHA;
  ihdr.interlace_method = SPNG_INTERLACE_ADAM7;
  EXPECT_EQ(spng_set_ihdr(ctx, &ihdr), 0);
  // SPNG_FMT_RAW: samples as the file stores them, 16 bits big-endian.
  std::vector<uint8_t> raw(image.data(), image.data() + image.size_bytes());
  if (image.type() == PixelType::kUint16) {
    for (size_t i = 0; i < raw.size(); i += 2) std::swap(raw[i], raw[i + 1]);
  }
  EXPECT_EQ(spng_encode_image(ctx, raw.data(), raw.size(), SPNG_FMT_RAW, SPNG_ENCODE_FINALIZE), 0);
  size_t size = 0;
  int error = 0;
  void* buffer = spng_get_png_buffer(ctx, &size, &error);
  EXPECT_EQ(error, 0);
  std::string bytes(static_cast<const char*>(buffer), size);
  free(buffer);
  spng_ctx_free(ctx);
  return bytes;
}

TEST(PngTest, InterlacedPngDecodesRowByRowIntoAPaddedBuffer) {
  test::TempDir dir;
  for (PixelType type : {PixelType::kUint8, PixelType::kUint16}) {
    Image image = RealImage(4, type);
    const std::string bytes = InterlacedPng(image);
    ASSERT_EQ(bytes[28], 1) << "IHDR interlace method";
    // GDAL 3.6's PNG driver returns interlaced 16-bit samples byte-swapped (it does so for
    // libpng's own interlaced files too: vips pngsave --interlace, checked by hand), so GDAL
    // vouches for the 8-bit file only.
    if (type == PixelType::kUint8) {
      absl::StatusOr<Image> gdal = internal::DecodeWithGdal(bytes, dir.Path("i.png"), "PNG", type);
      ASSERT_TRUE(gdal.ok()) << gdal.status();
      ASSERT_TRUE(SameImage(*gdal, image));
    }
    absl::StatusOr<Image> packed = Decode(bytes);
    ASSERT_TRUE(packed.ok()) << packed.status();
    EXPECT_TRUE(SameImage(*packed, image));
    const size_t row = image.row_stride(), stride = row + 10;
    std::vector<uint8_t> out(stride * 128, 0x77);
    ASSERT_TRUE(DecodeInto(bytes, MutableImageView{out.data(), 128, 128, 4, type, stride}).ok());
    for (int y = 0; y < 128; ++y) {
      ASSERT_EQ(std::memcmp(out.data() + y * stride, image.data() + y * row, row), 0) << y;
      ASSERT_EQ(out[y * stride + row], 0x77) << y;
    }
  }
}

TEST(PngTest, RgbDecodesIntoFourBandsWithFullAlpha) {
  for (PixelType type : {PixelType::kUint8, PixelType::kUint16}) {
    Image rgb = RealImage(3, type);
    const std::string bytes = EncodeOrDie(rgb);
    for (size_t padding : {size_t{0}, size_t{6}}) {
      EXPECT_EQ(internal::RgbaWideningMismatch(bytes, rgb, padding), "")
          << PixelTypeName(type) << " " << padding;
    }
  }
  // Gray and gray+alpha keep their band count.
  Image gray = RealImage(1, PixelType::kUint8);
  Image four(128, 128, 4, PixelType::kUint8);
  EXPECT_EQ(DecodePngInto(EncodeOrDie(gray), four.mutable_view()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PngTest, RefusesSignedAndFloatSamplesAndBadLevels) {
  std::string out;
  Image int16(4, 4, 1, PixelType::kInt16), float32(4, 4, 1, PixelType::kFloat32),
      ok(4, 4, 1, PixelType::kUint8);
  EXPECT_EQ(EncodePng(int16.view(), {}, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodePng(float32.view(), {}, &out).code(), absl::StatusCode::kInvalidArgument);
  EncodeOptions bad;
  bad.compression_level = 10;
  EXPECT_EQ(EncodePng(ok.view(), bad, &out).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace codec
}  // namespace flatpyramid
