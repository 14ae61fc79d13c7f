// Bad input never crashes a decoder: thousands of corrupted encodings of every codec
// (bit flips, truncations, byte overwrites) decode to an error or to an image of the
// declared, limited shape. Run under --config=asan and --config=ubsan in CI.
#include <zlib.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "codec/codec.h"
#include "codec/internal/test_tiles.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace codec {
namespace {

constexpr int kMutationsPerEncoding = 1000;
constexpr DecodeLimits kTileLimits{256, 256};

struct Encoding {
  std::string name;
  std::string bytes;
};

// A 64x64 crop of real data per codec and setting: small, so thousands decode in seconds
// even under AddressSanitizer.
std::vector<Encoding> Encodings() {
  absl::StatusOr<Image> rgb = internal::LandsatRgbTile(64);
  EXPECT_TRUE(rgb.ok()) << rgb.status();
  Image rgba(64, 64, 4, PixelType::kUint8), gray16(64, 64, 2, PixelType::kUint16),
      dem16(64, 64, 1, PixelType::kInt16), dem32(64, 64, 1, PixelType::kFloat32);
  for (int i = 0; i < 64 * 64; ++i) {
    const uint8_t* p = rgb->data() + i * 3;
    std::memcpy(rgba.data() + i * 4, p, 3);
    rgba.data()[i * 4 + 3] = static_cast<uint8_t>(i % 64 < 32 ? 255 : i % 7);
    const uint16_t g[2] = {static_cast<uint16_t>(p[1] * 257 + i), static_cast<uint16_t>(p[0] * 3)};
    std::memcpy(gray16.data() + i * 4, g, 4);
    const int16_t h = static_cast<int16_t>(i % 64 == 0 ? -32768 : p[2] * 5 - 300);
    std::memcpy(dem16.data() + i * 2, &h, 2);
    const float f = i % 97 == 0 ? NAN : static_cast<float>(p[0]) * 0.37f + i * 0.001f;
    std::memcpy(dem32.data() + i * 4, &f, 4);
  }
  struct Input {
    std::string name;
    CodecId codec;
    const Image* image;
    EncodeOptions options;
  };
  EncodeOptions lossless, s444;
  lossless.lossless = true;
  s444.subsampling = ChromaSubsampling::k444;
  Image gray(64, 64, 1, PixelType::kUint8);
  for (int i = 0; i < 64 * 64; ++i) gray.data()[i] = rgb->data()[i * 3];
  const std::vector<Input> inputs = {
      {"jpeg_rgb_420", CodecId::kJpeg, &*rgb, {}},
      {"jpeg_rgb_444", CodecId::kJpeg, &*rgb, s444},
      {"jpeg_gray", CodecId::kJpeg, &gray, {}},
      {"png_rgba8", CodecId::kPng, &rgba, {}},
      {"png_gray_alpha16", CodecId::kPng, &gray16, {}},
      {"webp_lossy_rgba", CodecId::kWebp, &rgba, {}},
      {"webp_lossless_rgb", CodecId::kWebp, &*rgb, lossless},
      {"elevation_int16", CodecId::kElevation, &dem16, {}},
      {"elevation_float32", CodecId::kElevation, &dem32, {}},
  };
  std::vector<Encoding> encodings;
  for (const Input& input : inputs) {
    Encoding encoding{input.name, {}};
    absl::Status s = Encode(input.codec, input.image->view(), input.options, &encoding.bytes);
    EXPECT_TRUE(s.ok()) << input.name << ": " << s;
    encodings.push_back(std::move(encoding));
  }
  return encodings;
}

// Decodes `bytes` both ways and checks the outcome is an error or an image within limits.
void DecodeMustNotMisbehave(const std::string& bytes, const std::string& what) {
  absl::StatusOr<ImageInfo> info = PeekInfo(bytes, kTileLimits);
  if (info.ok()) {
    ASSERT_GT(info->width, 0) << what;
    ASSERT_LE(info->width, kTileLimits.max_width) << what;
    ASSERT_GT(info->height, 0) << what;
    ASSERT_LE(info->height, kTileLimits.max_height) << what;
  }
  absl::StatusOr<Image> image = Decode(bytes, kTileLimits);
  if (image.ok()) {
    ASSERT_TRUE(info.ok()) << what << ": Decode succeeded where PeekInfo failed";
    EXPECT_EQ(image->width(), info->width) << what;
    EXPECT_EQ(image->height(), info->height) << what;
    EXPECT_EQ(image->bands(), info->bands) << what;
  } else {
    EXPECT_FALSE(image.status().message().empty()) << what;
  }
}

TEST(CorruptionTest, ThousandsOfMutationsOfEveryCodecGiveAStatusNeverACrash) {
  std::mt19937 random(20240531);
  for (const Encoding& encoding : Encodings()) {
    ASSERT_GT(encoding.bytes.size(), 32u) << encoding.name;
    int failures = 0;
    for (int m = 0; m < kMutationsPerEncoding; ++m) {
      std::string bytes = encoding.bytes;
      const size_t size = bytes.size();
      // Headers hold what decoders trust most: aim half the mutations at the first 64 bytes.
      const size_t span = m % 2 == 0 ? std::min<size_t>(size, 64) : size;
      const size_t at = random() % span;
      std::string kind;
      switch (m % 4) {
        case 0:
          bytes[at] = static_cast<char>(bytes[at] ^ (1 << (random() % 8)));
          kind = "bit flip";
          break;
        case 1:
          bytes.resize(random() % size);
          kind = "truncation";
          break;
        case 2:
          for (size_t i = at; i < size && i < at + 1 + random() % 4; ++i) {
            bytes[i] = static_cast<char>(random());
          }
          kind = "overwrite";
          break;
        default:
          // Extreme values where sizes and lengths live.
          for (size_t i = at; i < size && i < at + 2; ++i) bytes[i] = m % 8 == 3 ? '\xff' : '\0';
          kind = "extreme bytes";
          break;
      }
      const std::string what =
          absl::StrFormat("%s, mutation %d (%s at %u)", encoding.name, m, kind, at);
      DecodeMustNotMisbehave(bytes, what);
      failures += !Decode(bytes, kTileLimits).ok();
    }
    // Sanity of the harness itself: a good share of the mutations must be caught (every
    // truncation below the header, every wrong magic number, ...).
    EXPECT_GT(failures, kMutationsPerEncoding / 4) << encoding.name;
  }
}

TEST(CorruptionTest, EveryTruncationOfALosslessTileIsAnError) {
  for (const Encoding& encoding : Encodings()) {
    if (encoding.name.rfind("elevation", 0) != 0 && encoding.name.rfind("png", 0) != 0) continue;
    // libspng returns the image once the last IDAT's data (Adler-32 included) is read, without
    // insisting on that chunk's CRC or on IEND: the pixels are complete, so the last 16 bytes
    // (4 + 12) may go.
    const size_t end =
        encoding.name.rfind("png", 0) == 0 ? encoding.bytes.size() - 16 : encoding.bytes.size();
    for (size_t size = 0; size < end; ++size) {
      EXPECT_FALSE(Decode(encoding.bytes.substr(0, size), kTileLimits).ok())
          << encoding.name << " truncated to " << size << " of " << encoding.bytes.size();
    }
  }
}

TEST(CorruptionTest, HugeDeclaredJpegSizeIsRefusedFromTheHeader) {
  std::vector<Encoding> encodings = Encodings();
  // A failed header read first: libjpeg-turbo 2.1 leaves its decompressor mid-header after an
  // error, so a cached handle must be reset or it misreads the next JPEG.
  EXPECT_FALSE(PeekInfo(encodings[0].bytes.substr(0, 200)).ok());
  std::string bytes = encodings[0].bytes;
  // SOF0 (FF C0): length(2) precision(1) height(2) width(2).
  const size_t sof = bytes.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  bytes[sof + 5] = bytes[sof + 7] = '\xfd';  // 65000 x 65000 (0xFDE8).
  bytes[sof + 6] = bytes[sof + 8] = '\xe8';
  absl::StatusOr<ImageInfo> info = PeekInfo(bytes);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kResourceExhausted) << info.status();
  EXPECT_EQ(Decode(bytes).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(CorruptionTest, HugeDeclaredPngSizeWithAValidCrcIsRefusedFromTheHeader) {
  std::vector<Encoding> encodings = Encodings();
  std::string bytes = encodings[3].bytes;
  // IHDR data at 16..28: width, height big-endian. Declare 2^31-1 x 2^31-1 and fix the CRC.
  for (int i : {16, 20}) {
    bytes[i] = '\x7f';
    bytes[i + 1] = bytes[i + 2] = bytes[i + 3] = '\xff';
  }
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + 12), 17);
  for (int i = 0; i < 4; ++i) bytes[29 + i] = static_cast<char>(crc >> (24 - 8 * i));
  absl::StatusOr<ImageInfo> info = PeekInfo(bytes);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kResourceExhausted) << info.status();
  EXPECT_EQ(Decode(bytes).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(CorruptionTest, HugeDeclaredWebpSizeIsRefusedFromTheHeader) {
  std::vector<Encoding> encodings = Encodings();
  std::string bytes = encodings[6].bytes;  // Lossless: VP8L at 12, signature 0x2f at 20.
  ASSERT_EQ(bytes.substr(12, 4), "VP8L");
  ASSERT_EQ(bytes[20], '\x2f');
  // 14 bits width-1, 14 bits height-1: all ones is 16384 x 16384.
  bytes[21] = bytes[22] = bytes[23] = '\xff';
  bytes[24] = static_cast<char>(bytes[24] | 0x0f);
  absl::StatusOr<ImageInfo> info = PeekInfo(bytes, kTileLimits);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kResourceExhausted) << info.status();
  EXPECT_EQ(Decode(bytes, kTileLimits).status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace codec
}  // namespace flatpyramid
