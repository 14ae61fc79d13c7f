// Bad input never crashes a decoder nor makes it allocate past the tile budget: 20 000
// corrupted encodings (bit flips, truncations, byte overwrites) of every codec and setting
// decode to an error or to an image of the declared, limited shape. Run under --config=asan
// and --config=ubsan in CI (Debian's codec libraries are not instrumented: ASan checks our
// code and the mem* calls it intercepts, see codec/README.md).
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "codec/codec.h"
#include "codec/elevation.h"
#include "codec/internal/allocation_probe.h"
#include "codec/internal/test_tiles.h"
#include "codec/jpeg.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace codec {
namespace {

constexpr int kMutationsPerEncoding = 1000;
constexpr DecodeLimits kTileLimits{256, 256};
// No decode of a mutation may allocate more than the tile budget (256 x 256 pixels of the
// widest pixel, 512 KiB) plus fixed library state (allocation_test.cc has the reasoning).
constexpr size_t kMaxAllocationBytes = 256 * 256 * 8 + (64 << 10);

struct Encoding {
  std::string name;
  std::string bytes;
};

// A 64x64 crop of real data per codec and setting: small, so thousands decode in seconds
// even under AddressSanitizer. Every setting the codecs support: JPEG gray / RGB 4:2:0 and
// 4:4:4; PNG 8 and 16 bits of gray, gray+alpha, RGB, RGBA; WebP lossy and lossless, RGB and
// RGBA; elevation int16, uint16, float32 with every predictor.
std::vector<Encoding> Encodings() {
  absl::StatusOr<Image> rgb = internal::LandsatRgbTile(64);
  EXPECT_TRUE(rgb.ok()) << rgb.status();
  Image gray8(64, 64, 1, PixelType::kUint8), ga8(64, 64, 2, PixelType::kUint8),
      rgba8(64, 64, 4, PixelType::kUint8), gray16(64, 64, 1, PixelType::kUint16),
      ga16(64, 64, 2, PixelType::kUint16), rgb16(64, 64, 3, PixelType::kUint16),
      rgba16(64, 64, 4, PixelType::kUint16), dem16(64, 64, 1, PixelType::kInt16),
      demu16(64, 64, 1, PixelType::kUint16), dem32(64, 64, 1, PixelType::kFloat32);
  for (int i = 0; i < 64 * 64; ++i) {
    const uint8_t* p = rgb->data() + i * 3;
    const uint8_t alpha = static_cast<uint8_t>(i % 64 < 32 ? 255 : i % 7);
    gray8.data()[i] = p[1];
    ga8.data()[i * 2] = p[1];
    ga8.data()[i * 2 + 1] = alpha;
    std::memcpy(rgba8.data() + i * 4, p, 3);
    rgba8.data()[i * 4 + 3] = alpha;
    const uint16_t wide[4] = {static_cast<uint16_t>(p[0] * 257 + i),
                              static_cast<uint16_t>(p[1] * 3), static_cast<uint16_t>(p[2] * 251),
                              static_cast<uint16_t>(alpha * 257)};
    std::memcpy(gray16.data() + i * 2, wide, 2);
    std::memcpy(ga16.data() + i * 4, wide, 2);
    std::memcpy(ga16.data() + i * 4 + 2, wide + 3, 2);
    std::memcpy(rgb16.data() + i * 6, wide, 6);
    std::memcpy(rgba16.data() + i * 8, wide, 8);
    const int16_t h = static_cast<int16_t>(i % 64 == 0 ? -32768 : p[2] * 5 - 300);
    std::memcpy(dem16.data() + i * 2, &h, 2);
    const uint16_t u = static_cast<uint16_t>(i % 64 == 0 ? 65535 : p[2] * 9 + 1000);
    std::memcpy(demu16.data() + i * 2, &u, 2);
    const float f = i % 97 == 0 ? NAN : static_cast<float>(p[0]) * 0.37f + i * 0.001f;
    std::memcpy(dem32.data() + i * 4, &f, 4);
  }
  struct Input {
    std::string name;
    CodecId codec;
    const Image* image;
    EncodeOptions options;
    ElevationPredictor predictor = ElevationPredictor::kNone;  // Elevation only.
  };
  EncodeOptions lossless, s444, png_fast;
  lossless.lossless = true;
  s444.subsampling = ChromaSubsampling::k444;
  png_fast.compression_level = 1;
  const std::vector<Input> inputs = {
      {"jpeg_rgb_420", CodecId::kJpeg, &*rgb, {}},
      {"jpeg_rgb_444", CodecId::kJpeg, &*rgb, s444},
      {"jpeg_gray", CodecId::kJpeg, &gray8, {}},
      {"png_gray8", CodecId::kPng, &gray8, {}},
      {"png_gray_alpha8", CodecId::kPng, &ga8, png_fast},
      {"png_rgb8", CodecId::kPng, &*rgb, {}},
      {"png_rgba8", CodecId::kPng, &rgba8, {}},
      {"png_gray16", CodecId::kPng, &gray16, png_fast},
      {"png_gray_alpha16", CodecId::kPng, &ga16, {}},
      {"png_rgb16", CodecId::kPng, &rgb16, {}},
      {"png_rgba16", CodecId::kPng, &rgba16, {}},
      {"webp_lossy_rgb", CodecId::kWebp, &*rgb, {}},
      {"webp_lossy_rgba", CodecId::kWebp, &rgba8, {}},
      {"webp_lossless_rgb", CodecId::kWebp, &*rgb, lossless},
      {"webp_lossless_rgba", CodecId::kWebp, &rgba8, lossless},
      {"elevation_int16_delta", CodecId::kElevation, &dem16, {}, ElevationPredictor::kDelta},
      {"elevation_uint16_delta", CodecId::kElevation, &demu16, {}, ElevationPredictor::kDelta},
      {"elevation_float32_delta_planes",
       CodecId::kElevation,
       &dem32,
       {},
       ElevationPredictor::kDeltaBytePlanes},
      {"elevation_float32_planes",
       CodecId::kElevation,
       &dem32,
       {},
       ElevationPredictor::kBytePlanes},
      {"elevation_float32_none", CodecId::kElevation, &dem32, {}, ElevationPredictor::kNone},
  };
  std::vector<Encoding> encodings;
  for (const Input& input : inputs) {
    Encoding encoding{input.name, {}};
    absl::Status s = input.codec == CodecId::kElevation
                         ? EncodeElevationWithPredictor(input.image->view(), input.options,
                                                        input.predictor, &encoding.bytes)
                         : Encode(input.codec, input.image->view(), input.options, &encoding.bytes);
    EXPECT_TRUE(s.ok()) << input.name << ": " << s;
    encodings.push_back(std::move(encoding));
  }
  return encodings;
}

// Find returns the encoding called `name`.
const Encoding& Find(const std::vector<Encoding>& encodings, const std::string& name) {
  for (const Encoding& encoding : encodings) {
    if (encoding.name == name) return encoding;
  }
  ADD_FAILURE() << "no encoding " << name;
  return encodings.front();
}

// Decodes `bytes` both ways and checks the outcome is an error or an image within limits,
// and that no allocation on the way was larger than the tile budget.
void DecodeMustNotMisbehave(const std::string& bytes, const std::string& what) {
  internal::AllocationProbe probe;
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
  EXPECT_LE(probe.largest(), kMaxAllocationBytes) << what;
  // Into a caller's 4-band buffer too (RGB streams widen to it; the rest must refuse it).
  Image tile(info.ok() ? info->width : 64, info.ok() ? info->height : 64, 4,
             info.ok() ? info->type : PixelType::kUint8);
  probe.Reset();
  (void)DecodeInto(bytes, tile.mutable_view(), kTileLimits);
  EXPECT_LE(probe.largest(), kMaxAllocationBytes) << what;
  if (LooksJpeg(bytes)) {
    // The region decoder (libjpeg's skip and crop) on a middle part of the declared image.
    const int width = info.ok() ? info->width : 64, height = info.ok() ? info->height : 64;
    Image part(std::max(1, width / 2), std::max(1, height / 2), info.ok() ? info->bands : 3,
               PixelType::kUint8);
    probe.Reset();
    (void)DecodeJpegRegionInto(bytes, width / 4, height / 3, part.mutable_view(), kTileLimits);
    EXPECT_LE(probe.largest(), kMaxAllocationBytes) << what;
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
  EXPECT_EQ(Encodings().size(), 20u);
}

TEST(CorruptionTest, TruncationsOfALosslessTileAreErrors) {
  for (const Encoding& encoding : Encodings()) {
    if (encoding.name.rfind("elevation", 0) != 0 && encoding.name.rfind("png", 0) != 0) continue;
    // libspng returns the image once the last IDAT's data (Adler-32 included) is read, without
    // insisting on that chunk's CRC or on IEND: the pixels are complete, so the last 16 bytes
    // (4 + 12) may go.
    const size_t end =
        encoding.name.rfind("png", 0) == 0 ? encoding.bytes.size() - 16 : encoding.bytes.size();
    // Every length within the first and the last KiB (headers, chunk and frame ends), every
    // 7th in between (a 64x64 RGBA16 PNG is 30 KB: all 30 000 would take minutes under ASan).
    for (size_t size = 0; size < end; size += (size < 1024 || size + 1024 >= end) ? 1 : 7) {
      EXPECT_FALSE(Decode(encoding.bytes.substr(0, size), kTileLimits).ok())
          << encoding.name << " truncated to " << size << " of " << encoding.bytes.size();
    }
  }
}

TEST(CorruptionTest, HugeDeclaredJpegSizeIsRefusedFromTheHeader) {
  std::vector<Encoding> encodings = Encodings();
  const Encoding& jpeg = Find(encodings, "jpeg_rgb_420");
  // A failed header read first: libjpeg-turbo 2.1 leaves its decompressor mid-header after an
  // error, so a cached handle must be reset or it misreads the next JPEG.
  EXPECT_FALSE(PeekInfo(jpeg.bytes.substr(0, 200)).ok());
  std::string bytes = jpeg.bytes;
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
  std::string bytes = Find(encodings, "png_rgba8").bytes;
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
  // Lossless: VP8L at 12, signature 0x2f at 20.
  std::string bytes = Find(encodings, "webp_lossless_rgb").bytes;
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
