#include "codec/jpeg.h"

#include <turbojpeg.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

Image Landsat256() {
  absl::StatusOr<Image> tile = internal::LandsatRgbTile(256);
  EXPECT_TRUE(tile.ok()) << tile.status();
  return tile.ok() ? *std::move(tile) : Image(1, 1, 3, PixelType::kUint8);
}

std::string EncodeOrDie(const Image& image, const EncodeOptions& options) {
  std::string bytes;
  absl::Status s = EncodeJpeg(image.view(), options, &bytes);
  EXPECT_TRUE(s.ok()) << s;
  return bytes;
}

Image DecodeOrDie(const std::string& bytes) {
  absl::StatusOr<Image> image = Decode(bytes);
  EXPECT_TRUE(image.ok()) << image.status();
  return image.ok() ? *std::move(image) : Image(1, 1, 1, PixelType::kUint8);
}

double Psnr(const Image& a, const Image& b) {
  return test::CompareSamples<uint8_t>(Samples<uint8_t>(a), Samples<uint8_t>(b)).psnr_db;
}

TEST(JpegTest, LandsatRgbRoundTripMeetsPsnrBoundsPerQualityAndSubsampling) {
  Image tile = Landsat256();
  struct Case {
    int quality;
    ChromaSubsampling subsampling;
    double min_psnr;
  };
  // Measured on this tile: q50/420 32.46 dB, q85/420 35.15, q85/444 36.08, q95/444 39.57;
  // the bounds sit 0.5 dB below, so a colour-order or quality-mapping bug fails.
  for (const Case& c :
       {Case{50, ChromaSubsampling::k420, 32.0}, Case{85, ChromaSubsampling::k420, 34.6},
        Case{85, ChromaSubsampling::k444, 35.5}, Case{95, ChromaSubsampling::k444, 39.0}}) {
    EncodeOptions options;
    options.quality = c.quality;
    options.subsampling = c.subsampling;
    Image back = DecodeOrDie(EncodeOrDie(tile, options));
    ASSERT_EQ(back.bands(), 3);
    EXPECT_GE(Psnr(back, tile), c.min_psnr) << "quality " << c.quality;
  }
}

TEST(JpegTest, HigherQualityAndFullChromaCostBytes) {
  Image tile = Landsat256();
  EncodeOptions q50, q95, s444;
  q50.quality = 50;
  q95.quality = 95;
  s444.subsampling = ChromaSubsampling::k444;
  EXPECT_LT(EncodeOrDie(tile, q50).size(), EncodeOrDie(tile, {}).size());
  EXPECT_LT(EncodeOrDie(tile, {}).size(), EncodeOrDie(tile, q95).size());
  EXPECT_LT(EncodeOrDie(tile, {}).size(), EncodeOrDie(tile, s444).size());
}

TEST(JpegTest, PureRedGreenBlueStayInTheirChannels) {
  Image image(16, 24, 3, PixelType::kUint8);
  for (int y = 0; y < 24; ++y) {
    for (int x = 0; x < 16; ++x) image.data()[(y * 16 + x) * 3 + y / 8] = 255;  // Rows of R, G, B.
  }
  EncodeOptions options;
  options.quality = 95;
  options.subsampling = ChromaSubsampling::k444;
  const std::string bytes = EncodeOrDie(image, options);
  test::TempDir dir;
  absl::StatusOr<Image> gdal =
      internal::DecodeWithGdal(bytes, dir.Path("rgb.jpg"), "JPEG", PixelType::kUint8);
  ASSERT_TRUE(gdal.ok()) << gdal.status();
  for (const Image* decoded : {&*gdal}) {
    for (int band = 0; band < 3; ++band) {
      const uint8_t* pixel = decoded->data() + ((band * 8 + 4) * 16 + 8) * 3;  // Row centre.
      for (int c = 0; c < 3; ++c) {
        if (c == band) {
          EXPECT_GE(pixel[c], 250) << "band " << band;
        } else {
          EXPECT_LE(pixel[c], 5) << "band " << band << " channel " << c;
        }
      }
    }
  }
  EXPECT_TRUE(SameImage(DecodeOrDie(bytes), *gdal));
}

TEST(JpegTest, GdalDecodesOurRgbAndGrayJpegsToTheSamePixelsAsWeDo) {
  Image tile = Landsat256();
  Image gray(256, 256, 1, PixelType::kUint8);
  for (size_t i = 0; i < 256 * 256; ++i) gray.data()[i] = tile.data()[i * 3 + 1];
  test::TempDir dir;
  for (const Image* image : {&tile, &gray}) {
    for (ChromaSubsampling s : {ChromaSubsampling::k420, ChromaSubsampling::k444}) {
      EncodeOptions options;
      options.subsampling = s;
      const std::string bytes = EncodeOrDie(*image, options);
      Image ours = DecodeOrDie(bytes);
      ASSERT_EQ(ours.bands(), image->bands());
      absl::StatusOr<Image> gdal =
          internal::DecodeWithGdal(bytes, dir.Path("tile.jpg"), "JPEG", PixelType::kUint8);
      ASSERT_TRUE(gdal.ok()) << gdal.status();
      EXPECT_TRUE(SameImage(ours, *gdal)) << image->bands() << " bands";
    }
  }
}

TEST(JpegTest, PaddedInputRowsEncodeLikePackedOnesAndDecodeIntoPaddedOutput) {
  Image tile = Landsat256();
  const size_t stride = 256 * 3 + 13;
  std::vector<uint8_t> padded(stride * 256, 0xAB);
  for (int y = 0; y < 256; ++y) {
    std::memcpy(padded.data() + y * stride, tile.data() + y * tile.row_stride(), 256 * 3);
  }
  ImageView view{padded.data(), 256, 256, 3, PixelType::kUint8, stride};
  std::string from_padded;
  ASSERT_TRUE(EncodeJpeg(view, {}, &from_padded).ok());
  EXPECT_EQ(from_padded, EncodeOrDie(tile, {}));

  std::vector<uint8_t> out(stride * 256, 0xCD);
  MutableImageView out_view{out.data(), 256, 256, 3, PixelType::kUint8, stride};
  ASSERT_TRUE(DecodeJpegInto(from_padded, out_view).ok());
  Image packed = DecodeOrDie(from_padded);
  for (int y = 0; y < 256; ++y) {
    ASSERT_EQ(std::memcmp(out.data() + y * stride, packed.data() + y * packed.row_stride(), 768),
              0);
    EXPECT_EQ(out[y * stride + 768], 0xCD);  // Padding untouched.
  }
}

// Subsampling as the file's frame header records it (tjDecompressHeader3 reads the SOF's
// sampling factors): 4:2:0 and 4:4:4 as asked, gray for one band.
TEST(JpegTest, TheFileCarriesTheRequestedChromaSubsampling) {
  Image tile = Landsat256();
  Image gray(256, 256, 1, PixelType::kUint8);
  for (size_t i = 0; i < 256 * 256; ++i) gray.data()[i] = tile.data()[i * 3];
  struct Case {
    const Image* image;
    ChromaSubsampling subsampling;
    int expected;
  };
  tjhandle handle = tjInitDecompress();
  ASSERT_NE(handle, nullptr);
  for (const Case& c : {Case{&tile, ChromaSubsampling::k420, TJSAMP_420},
                        Case{&tile, ChromaSubsampling::k444, TJSAMP_444},
                        Case{&gray, ChromaSubsampling::k444, TJSAMP_GRAY}}) {
    EncodeOptions options;
    options.subsampling = c.subsampling;
    const std::string bytes = EncodeOrDie(*c.image, options);
    int width = 0, height = 0, subsampling = -1, colorspace = -1;
    ASSERT_EQ(tjDecompressHeader3(handle, reinterpret_cast<const unsigned char*>(bytes.data()),
                                  bytes.size(), &width, &height, &subsampling, &colorspace),
              0);
    EXPECT_EQ(subsampling, c.expected);
    EXPECT_EQ(colorspace, c.image->bands() == 1 ? TJCS_GRAY : TJCS_YCbCr);
  }
  // The default is 4:2:0.
  const std::string bytes = EncodeOrDie(tile, {});
  int width = 0, height = 0, subsampling = -1, colorspace = -1;
  ASSERT_EQ(tjDecompressHeader3(handle, reinterpret_cast<const unsigned char*>(bytes.data()),
                                bytes.size(), &width, &height, &subsampling, &colorspace),
            0);
  EXPECT_EQ(subsampling, TJSAMP_420);
  tjDestroy(handle);
}

// ReadPnm reads a binary PPM (P6) or PGM (P5) as djpeg writes it: magic, width, height,
// 255, one whitespace byte, then the samples.
Image ReadPnm(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::string magic;
  int width = 0, height = 0, max = 0;
  file >> magic >> width >> height >> max;
  file.get();
  EXPECT_TRUE((magic == "P6" || magic == "P5") && max == 255) << path << ": " << magic;
  Image image(width, height, magic == "P6" ? 3 : 1, PixelType::kUint8);
  file.read(reinterpret_cast<char*>(image.data()),
            static_cast<std::streamsize>(image.size_bytes()));
  EXPECT_TRUE(file) << path << " is short";
  return image;
}

// djpeg (libjpeg-turbo-progs) is a decoder outside our code: it reads our files as any JPEG
// reader does, and with the same defaults as ours (accurate DCT, fancy upsampling) it must
// give exactly our pixels, in R, G, B order.
TEST(JpegTest, DjpegDecodesOurFilesToExactlyOurPixelsInRgbOrder) {
  test::TempDir dir;
  Image primaries(16, 24, 3, PixelType::kUint8);
  for (int y = 0; y < 24; ++y) {
    for (int x = 0; x < 16; ++x) primaries.data()[(y * 16 + x) * 3 + y / 8] = 255;  // R, G, B rows.
  }
  Image tile = Landsat256();
  Image gray(256, 256, 1, PixelType::kUint8);
  for (size_t i = 0; i < 256 * 256; ++i) gray.data()[i] = tile.data()[i * 3 + 2];
  int file_number = 0;
  for (const Image* image : {&primaries, &tile, &gray}) {
    for (ChromaSubsampling s : {ChromaSubsampling::k420, ChromaSubsampling::k444}) {
      EncodeOptions options;
      options.quality = 95;
      options.subsampling = s;
      const std::string bytes = EncodeOrDie(*image, options);
      const std::string jpeg = dir.Path(absl::StrCat("in", file_number, ".jpg"));
      const std::string pnm = dir.Path(absl::StrCat("out", file_number++, ".pnm"));
      {
        std::ofstream file(jpeg, std::ios::binary);
        file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      }
      const std::string command = absl::StrCat("djpeg -pnm -outfile '", pnm, "' '", jpeg, "'");
      ASSERT_EQ(std::system(command.c_str()), 0)
          << command << " failed (djpeg comes with libjpeg-turbo-progs)";
      Image theirs = ReadPnm(pnm);
      EXPECT_TRUE(SameImage(theirs, DecodeOrDie(bytes))) << image->width() << " " << image->bands();
      if (image == &primaries) {
        for (int band = 0; band < 3; ++band) {
          const uint8_t* pixel = theirs.data() + ((band * 8 + 4) * 16 + 8) * 3;  // Row centre.
          for (int c = 0; c < 3; ++c) {
            if (c == band) {
              EXPECT_GE(pixel[c], 250) << "band " << band;
            } else {
              EXPECT_LE(pixel[c], 5) << "band " << band << " channel " << c;
            }
          }
        }
      }
    }
  }
}

TEST(JpegTest, ColourJpegDecodesIntoFourBandsWithOpaqueAlpha) {
  Image tile = Landsat256();
  for (ChromaSubsampling s : {ChromaSubsampling::k420, ChromaSubsampling::k444}) {
    EncodeOptions options;
    options.subsampling = s;
    const std::string bytes = EncodeOrDie(tile, options);
    Image rgb = DecodeOrDie(bytes);
    for (size_t padding : {size_t{0}, size_t{7}}) {
      EXPECT_EQ(internal::RgbaWideningMismatch(bytes, rgb, padding), "") << padding;
    }
  }
  // Gray does not widen to RGBA, nor RGB to two bands.
  Image gray(64, 64, 1, PixelType::kUint8);
  Image four(64, 64, 4, PixelType::kUint8), two(64, 64, 2, PixelType::kUint8);
  EXPECT_EQ(DecodeJpegInto(EncodeOrDie(gray, {}), four.mutable_view()).code(),
            absl::StatusCode::kInvalidArgument);
  Image small_rgb(64, 64, 3, PixelType::kUint8);
  EXPECT_EQ(DecodeJpegInto(EncodeOrDie(small_rgb, {}), two.mutable_view()).code(),
            absl::StatusCode::kInvalidArgument);
}

// TurboJpegBytes is tjCompress2's encoding of `image`: the reference our libjpeg encoder
// must reproduce byte for byte when it keeps the standard Huffman tables.
std::string TurboJpegBytes(const Image& image, int quality, int subsampling) {
  tjhandle handle = tjInitCompress();
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int format = image.bands() == 1 ? TJPF_GRAY : TJPF_RGB;
  const int result =
      tjCompress2(handle, image.data(), image.width(), 0, image.height(), format, &buffer, &size,
                  image.bands() == 1 ? TJSAMP_GRAY : subsampling, quality, 0);
  std::string bytes = result == 0 ? std::string(reinterpret_cast<char*>(buffer), size) : "";
  // Without its 18-byte JFIF APP0 segment (FF E0 00 10 'JFIF' ...), which we do not write.
  if (bytes.size() > 22 && static_cast<uint8_t>(bytes[3]) == 0xE0 && bytes.substr(6, 4) == "JFIF") {
    bytes.erase(2, 18);
  }
  tjFree(buffer);
  tjDestroy(handle);
  return bytes;
}

// Difference describes where two encodings first differ ("" when equal), not their bytes.
std::string Difference(const std::string& a, const std::string& b) {
  if (a == b) return "";
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return absl::StrCat(a.size(), " vs ", b.size(), " bytes, first difference at ", i);
}

TEST(JpegTest, StandardTablesGiveTurboJpegsExactBytes) {
  Image tile = Landsat256();
  // An optimised encode of another image first, in the same thread: its tables must not
  // leak into the standard-table encodes below.
  Image blank(64, 64, 1, PixelType::kUint8);
  EncodeOrDie(blank, {});
  Image gray(256, 256, 1, PixelType::kUint8);
  for (size_t i = 0; i < 256 * 256; ++i) gray.data()[i] = tile.data()[i * 3 + 1];
  for (int quality : {50, 85, 95}) {
    for (ChromaSubsampling s : {ChromaSubsampling::k420, ChromaSubsampling::k444}) {
      EncodeOptions options;
      options.quality = quality;
      options.subsampling = s;
      options.optimize_huffman = false;
      options.accurate_dct = false;  // TurboJPEG's default below quality 96.
      const int tj = s == ChromaSubsampling::k444 ? TJSAMP_444 : TJSAMP_420;
      EXPECT_EQ(Difference(EncodeOrDie(tile, options), TurboJpegBytes(tile, quality, tj)), "")
          << quality;
      EXPECT_EQ(Difference(EncodeOrDie(gray, options), TurboJpegBytes(gray, quality, tj)), "")
          << quality;
    }
  }
}

TEST(JpegTest, OptimizedHuffmanTablesKeepThePixelsInFewerBytes) {
  Image tile = Landsat256();
  // Measured on this tile (cjpeg -optimize agrees byte for byte in size): q50 7595 -> 6833
  // bytes, q85 15768 -> 15285; smoother tiles gain more (codec/README.md).
  for (const auto& [quality, ratio] : {std::pair<int, double>{50, 0.92}, {85, 0.98}}) {
    EncodeOptions standard;
    standard.quality = quality;
    standard.optimize_huffman = false;
    EncodeOptions optimized = standard;
    optimized.optimize_huffman = true;  // The default.
    const std::string plain = EncodeOrDie(tile, standard);
    const std::string small = EncodeOrDie(tile, optimized);
    EXPECT_TRUE(SameImage(DecodeOrDie(plain), DecodeOrDie(small))) << quality;
    EXPECT_LT(small.size(), plain.size() * ratio)
        << quality << ": " << small.size() << " vs " << plain.size();
  }
  EXPECT_TRUE(EncodeOptions{}.optimize_huffman);
}

TEST(JpegTest, RegionDecodeEqualsTheSameRectangleOfAWholeDecode) {
  Image tile = Landsat256();
  Image gray(256, 256, 1, PixelType::kUint8);
  for (size_t i = 0; i < 256 * 256; ++i) gray.data()[i] = tile.data()[i * 3];
  struct Rect {
    int x, y, width, height;
  };
  const Rect rects[] = {{0, 0, 256, 256},   {0, 0, 1, 1},      {255, 255, 1, 1}, {17, 3, 100, 61},
                        {128, 0, 128, 256}, {0, 200, 256, 56}, {33, 97, 190, 1}, {16, 16, 16, 16},
                        {7, 250, 249, 6},   {240, 1, 15, 254}};
  for (const Image* image : {&tile, &gray}) {
    for (ChromaSubsampling s : {ChromaSubsampling::k420, ChromaSubsampling::k444}) {
      EncodeOptions options;
      options.subsampling = s;
      const std::string bytes = EncodeOrDie(*image, options);
      const Image whole = DecodeOrDie(bytes);
      const int bands = image->bands();
      for (const Rect& r : rects) {
        for (int out_bands : {bands, bands == 3 ? 4 : bands}) {
          const size_t padding = 5;
          const size_t stride = static_cast<size_t>(r.width) * out_bands + padding;
          std::vector<uint8_t> buffer(stride * r.height, 0xAB);
          MutableImageView out{buffer.data(), r.width,           r.height,
                               out_bands,     PixelType::kUint8, stride};
          ASSERT_TRUE(DecodeJpegRegionInto(bytes, r.x, r.y, out).ok())
              << r.x << "," << r.y << " " << r.width << "x" << r.height;
          int wrong = 0;
          for (int y = 0; y < r.height; ++y) {
            for (int x = 0; x < r.width; ++x) {
              const uint8_t* mine = buffer.data() + y * stride + x * out_bands;
              const uint8_t* theirs =
                  whole.data() + ((r.y + y) * 256 + (r.x + x)) * static_cast<size_t>(bands);
              wrong += std::memcmp(mine, theirs, bands) != 0;
              if (out_bands == 4) wrong += mine[3] != 255;
            }
            wrong += buffer[y * stride + stride - 1] != 0xAB;  // Padding untouched.
          }
          EXPECT_EQ(wrong, 0) << "bands " << bands << "->" << out_bands << " at " << r.x << ","
                              << r.y << " " << r.width << "x" << r.height;
        }
      }
    }
  }
}

TEST(JpegTest, RegionDecodeRefusesRegionsOutsideTheImageAndBadBytes) {
  Image tile = Landsat256();
  const std::string bytes = EncodeOrDie(tile, {});
  std::vector<uint8_t> buffer(64 * 64 * 3);
  MutableImageView out{buffer.data(), 64, 64, 3, PixelType::kUint8, 64 * 3};
  EXPECT_EQ(DecodeJpegRegionInto(bytes, 200, 0, out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeJpegRegionInto(bytes, 0, -1, out).code(), absl::StatusCode::kInvalidArgument);
  MutableImageView two{buffer.data(), 64, 32, 2, PixelType::kUint8, 64 * 2};
  EXPECT_EQ(DecodeJpegRegionInto(bytes, 0, 0, two).code(), absl::StatusCode::kInvalidArgument);
  DecodeLimits small;
  small.max_width = small.max_height = 128;
  EXPECT_EQ(DecodeJpegRegionInto(bytes, 0, 0, out, small).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(DecodeJpegRegionInto("not a jpeg", 0, 0, out).code(),
            absl::StatusCode::kInvalidArgument);
  // Truncated inside the region's rows: an error, and the thread's decoder still works.
  EXPECT_FALSE(DecodeJpegRegionInto(bytes.substr(0, bytes.size() / 3), 0, 192, out).ok());
  EXPECT_TRUE(DecodeJpegRegionInto(bytes, 0, 192, out).ok());
}

TEST(JpegTest, EncodeReplacesTheOutputString) {
  Image tile = Landsat256();
  std::string bytes = "previous contents";
  ASSERT_TRUE(EncodeJpeg(tile.view(), {}, &bytes).ok());
  EXPECT_EQ(bytes, EncodeOrDie(tile, {}));
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 0xFF);
  EXPECT_EQ(static_cast<uint8_t>(bytes.back()), 0xD9);  // EOI marker.
}

TEST(JpegTest, PeekReportsSizeBandsAndType) {
  Image tile(40, 30, 3, PixelType::kUint8);
  absl::StatusOr<ImageInfo> info = PeekJpegInfo(EncodeOrDie(tile, {}));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->width, 40);
  EXPECT_EQ(info->height, 30);
  EXPECT_EQ(info->bands, 3);
  EXPECT_EQ(info->type, PixelType::kUint8);
  EXPECT_EQ(info->codec, CodecId::kJpeg);
}

TEST(JpegTest, RefusesUnsupportedBandsTypesAndQualities) {
  std::string out;
  Image two(8, 8, 2, PixelType::kUint8), four(8, 8, 4, PixelType::kUint8),
      wide(8, 8, 3, PixelType::kUint16), ok(8, 8, 3, PixelType::kUint8);
  EXPECT_EQ(EncodeJpeg(two.view(), {}, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeJpeg(four.view(), {}, &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeJpeg(wide.view(), {}, &out).code(), absl::StatusCode::kInvalidArgument);
  EncodeOptions bad;
  bad.quality = 0;
  EXPECT_EQ(EncodeJpeg(ok.view(), bad, &out).code(), absl::StatusCode::kInvalidArgument);
  bad.quality = 101;
  EXPECT_EQ(EncodeJpeg(ok.view(), bad, &out).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace codec
}  // namespace flatpyramid
