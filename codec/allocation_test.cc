// No decode allocates more than the declared tile limit: the largest single heap request
// (inside libjpeg-turbo, libspng, libwebp and zstd too, see internal/allocation_probe.h)
// made while decoding hostile inputs stays within MaxDecodedBytes(limits) plus a small
// constant. Hostile inputs: PNG zTXt / iCCP decompression bombs and oversized text and Exif
// chunks, and headers declaring huge sizes (or sizes at the limit with too little data) in
// every codec.
#include <zlib.h>

#include <cstring>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "codec/internal/allocation_probe.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace codec {
namespace {

using internal::AllocationProbe;

constexpr DecodeLimits kTileLimits{256, 256};
// 256 x 256 pixels of the widest pixel (RGBA16): 512 KiB.
constexpr size_t kTileBytes = 256 * 256 * 8;
// Fixed-size library state: zlib's inflate window (32 KiB) and state, libjpeg's Huffman and
// quantisation tables, libwebp's per-row caches. (The per-thread TurboJPEG handle and zstd
// context are created before measuring: once per thread, not per decode.)
constexpr size_t kConstantBytes = 64 << 10;

Image Gradient(int width, int height, int bands, PixelType type) {
  Image image(width, height, bands, type);
  for (size_t i = 0; i < image.size_bytes(); ++i) {
    image.data()[i] = static_cast<uint8_t>((i * 7) / 5 + i / (width * 3));
  }
  if (type == PixelType::kFloat32) {
    float* samples = reinterpret_cast<float*>(image.data());
    for (int i = 0; i < width * height; ++i) samples[i] = 100.0f + 0.25f * (i % 97);
  }
  return image;
}

std::string EncodeOrDie(CodecId codec, const Image& image, const EncodeOptions& options = {}) {
  std::string bytes;
  absl::Status s = Encode(codec, image.view(), options, &bytes);
  EXPECT_TRUE(s.ok()) << s;
  return bytes;
}

void PutBe32(uint32_t value, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(value >> shift));
}

// PngChunk is one PNG chunk: length, type, data, CRC-32 of type and data.
std::string PngChunk(const std::string& type, const std::string& data) {
  std::string chunk;
  PutBe32(static_cast<uint32_t>(data.size()), &chunk);
  const std::string body = type + data;
  chunk += body;
  PutBe32(static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                      static_cast<uInt>(body.size()))),
          &chunk);
  return chunk;
}

std::string Deflate(const std::string& data) {
  uLongf size = compressBound(data.size());
  std::string out(size, '\0');
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                      reinterpret_cast<const Bytef*>(data.data()), data.size(), 9),
            Z_OK);
  out.resize(size);
  return out;
}

// WithChunkAfterIhdr inserts `chunk` between IHDR (which ends at byte 33) and the rest.
std::string WithChunkAfterIhdr(const std::string& png, const std::string& chunk) {
  return png.substr(0, 33) + chunk + png.substr(33);
}

// Decodes `bytes` as the tile reader does (PeekInfo, Decode, DecodeInto a tile buffer) and
// returns the largest allocation made; `decodes` says whether Decode succeeded.
size_t LargestAllocationOfDecoding(const std::string& bytes, bool* decodes) {
  // Warm up per-thread library handles (TurboJPEG, zstd) outside the measurement.
  Image warm(8, 8, 1, PixelType::kFloat32);
  (void)Decode(EncodeOrDie(CodecId::kElevation, warm), kTileLimits);
  (void)Decode(EncodeOrDie(CodecId::kJpeg, Gradient(8, 8, 3, PixelType::kUint8)), kTileLimits);
  Image tile(256, 256, 4, PixelType::kUint8);
  AllocationProbe probe;
  (void)PeekInfo(bytes, kTileLimits);
  absl::StatusOr<Image> image = Decode(bytes, kTileLimits);
  *decodes = image.ok();
  image = absl::UnknownError("released");
  (void)DecodeInto(bytes, tile.mutable_view(), kTileLimits);
  EXPECT_GT(probe.count(), 0u) << "the probe saw no allocation at all";
  return probe.largest();
}

TEST(AllocationTest, TheProbeSeesAllocationsInsideTheCodecLibraries) {
  // A real 256 x 256 RGBA16 PNG: Decode allocates exactly the 512 KiB image, and libspng's
  // zlib its 32 KiB window (calloc / malloc inside libz, called from libspng).
  const std::string png = EncodeOrDie(CodecId::kPng, Gradient(256, 256, 4, PixelType::kUint16));
  AllocationProbe probe;
  absl::StatusOr<Image> image = Decode(png, kTileLimits);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(probe.largest(), kTileBytes);
  probe.Reset();
  std::vector<uint8_t> big(3 << 20);
  EXPECT_EQ(probe.largest(), big.size());
}

TEST(AllocationTest, PngDecompressionBombsInTextAndIccChunksStayWithinTheTileBudget) {
  const std::string png = EncodeOrDie(CodecId::kPng, Gradient(64, 64, 4, PixelType::kUint8));
  // 64 MiB of text / profile deflated to about 64 KiB: libspng would inflate it into a buffer
  // doubling up to its chunk limits, which codec/png.cc sets from the tile budget.
  const std::string bomb = Deflate(std::string(size_t{64} << 20, 'a'));
  const std::string ztxt = PngChunk("zTXt", std::string("Comment\0\0", 9) + bomb);
  const std::string iccp = PngChunk("iCCP", std::string("profile\0\0", 9) + bomb);
  const std::string itxt =
      PngChunk("iTXt", std::string("Comment\0\x01\0\0\0", 12) + bomb);  // Compressed iTXt.
  // Plain chunks larger than the budget: libspng copies text and Exif out of the file.
  const std::string text =
      PngChunk("tEXt", "Comment" + std::string(1, '\0') + std::string(size_t{2} << 20, 'b'));
  const std::string exif =
      PngChunk("eXIf", "MM" + std::string(1, '\0') + "*" + std::string(size_t{2} << 20, '\0'));
  struct Case {
    const char* name;
    std::string bytes;
  };
  const Case cases[] = {{"zTXt bomb", WithChunkAfterIhdr(png, ztxt)},
                        {"iCCP bomb", WithChunkAfterIhdr(png, iccp)},
                        {"iTXt bomb", WithChunkAfterIhdr(png, itxt)},
                        {"2 MiB tEXt", WithChunkAfterIhdr(png, text)},
                        {"2 MiB eXIf", WithChunkAfterIhdr(png, exif)},
                        {"4 zTXt bombs", WithChunkAfterIhdr(png, ztxt + ztxt + ztxt + ztxt)}};
  for (const Case& c : cases) {
    bool decodes = false;
    const size_t largest = LargestAllocationOfDecoding(c.bytes, &decodes);
    EXPECT_LE(largest, kTileBytes + kConstantBytes) << c.name;
    // Over the budget is an error naming the limit, not a silent success.
    absl::StatusOr<Image> image = Decode(c.bytes, kTileLimits);
    EXPECT_EQ(image.status().code(), absl::StatusCode::kResourceExhausted)
        << c.name << ": " << image.status();
  }
  // A small profile is under the limit and decodes.
  const std::string small_iccp =
      PngChunk("iCCP", std::string("profile\0\0", 9) + Deflate(std::string(3000, 'p')));
  EXPECT_TRUE(Decode(WithChunkAfterIhdr(png, small_iccp), kTileLimits).ok());
}

// Sets the IHDR size of a PNG and fixes the chunk's CRC.
std::string PngWithSize(std::string png, uint32_t width, uint32_t height) {
  std::string size;
  PutBe32(width, &size);
  PutBe32(height, &size);
  png.replace(16, 8, size);
  std::string crc;
  PutBe32(static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17)),
          &crc);
  png.replace(29, 4, crc);
  return png;
}

// Sets the SOF0 size of a baseline JPEG.
std::string JpegWithSize(std::string jpeg, uint16_t width, uint16_t height) {
  const size_t sof = jpeg.find("\xff\xc0");
  EXPECT_NE(sof, std::string::npos);
  jpeg[sof + 5] = static_cast<char>(height >> 8);
  jpeg[sof + 6] = static_cast<char>(height);
  jpeg[sof + 7] = static_cast<char>(width >> 8);
  jpeg[sof + 8] = static_cast<char>(width);
  return jpeg;
}

// Sets the size of a simple lossless WebP (VP8L at 12, signature 0x2f at 20, then 14 bits
// of width - 1 and 14 bits of height - 1, little-endian).
std::string WebpLosslessWithSize(std::string webp, uint32_t width, uint32_t height) {
  EXPECT_EQ(webp.substr(12, 4), "VP8L");
  const uint32_t bits = (width - 1) | ((height - 1) << 14);
  const uint8_t keep = static_cast<uint8_t>(webp[24]) & 0xf0;
  webp[21] = static_cast<char>(bits);
  webp[22] = static_cast<char>(bits >> 8);
  webp[23] = static_cast<char>(bits >> 16);
  webp[24] = static_cast<char>(keep | ((bits >> 24) & 0x0f));
  return webp;
}

// Sets the size of a simple lossy WebP (VP8 at 12; frame tag 3 bytes and start code
// 9d 01 2a at 20, then 14-bit width and height, little-endian).
std::string WebpLossyWithSize(std::string webp, uint16_t width, uint16_t height) {
  EXPECT_EQ(webp.substr(12, 4), "VP8 ");
  EXPECT_EQ(webp.substr(23, 3), "\x9d\x01\x2a");
  webp[26] = static_cast<char>(width);
  webp[27] = static_cast<char>(width >> 8);
  webp[28] = static_cast<char>(height);
  webp[29] = static_cast<char>(height >> 8);
  return webp;
}

std::string ElevationWithSize(std::string bytes, uint32_t width, uint32_t height) {
  for (int i = 0; i < 4; ++i) {
    bytes[8 + i] = static_cast<char>(width >> (8 * i));
    bytes[12 + i] = static_cast<char>(height >> (8 * i));
  }
  return bytes;
}

TEST(AllocationTest, HugeDeclaredSizesInEveryCodecStayWithinTheTileBudget) {
  const Image rgb = Gradient(64, 64, 3, PixelType::kUint8);
  const Image rgba16 = Gradient(64, 64, 4, PixelType::kUint16);
  const Image dem = Gradient(64, 64, 1, PixelType::kFloat32);
  const Image dem256 = Gradient(256, 256, 1, PixelType::kFloat32);
  EncodeOptions lossless;
  lossless.lossless = true;
  const std::string jpeg = EncodeOrDie(CodecId::kJpeg, rgb);
  const std::string png = EncodeOrDie(CodecId::kPng, rgba16);
  const std::string webp_lossless = EncodeOrDie(CodecId::kWebp, rgb, lossless);
  const std::string webp_lossy = EncodeOrDie(CodecId::kWebp, rgb);
  const std::string elevation = EncodeOrDie(CodecId::kElevation, dem);
  // A valid 256 x 256 frame with its middle overwritten: decompression fails after the
  // scratch buffer exists.
  std::string elevation256 = EncodeOrDie(CodecId::kElevation, dem256);
  for (size_t i = elevation256.size() / 2; i < elevation256.size() / 2 + 64; ++i) {
    elevation256[i] = '\x55';
  }
  struct Case {
    const char* name;
    std::string bytes;
  };
  const Case cases[] = {
      {"jpeg 65500x65500", JpegWithSize(jpeg, 65500, 65500)},
      {"jpeg 256x256 with 64x64 data", JpegWithSize(jpeg, 256, 256)},
      {"png 2^31-1 squared", PngWithSize(png, 0x7fffffff, 0x7fffffff)},
      {"png 65536x65536", PngWithSize(png, 65536, 65536)},
      {"png 256x256 rgba16 with 64x64 data", PngWithSize(png, 256, 256)},
      {"webp lossless 16384x16384", WebpLosslessWithSize(webp_lossless, 16384, 16384)},
      {"webp lossless 256x256 with 64x64 data", WebpLosslessWithSize(webp_lossless, 256, 256)},
      {"webp lossy 16383x16383", WebpLossyWithSize(webp_lossy, 16383, 16383)},
      {"webp lossy 256x256 with 64x64 data", WebpLossyWithSize(webp_lossy, 256, 256)},
      {"elevation 2^32-1 squared", ElevationWithSize(elevation, 0xffffffff, 0xffffffff)},
      {"elevation 256x256 with 64x64 data", ElevationWithSize(elevation, 256, 256)},
      {"elevation 256x256 corrupt frame", elevation256},
  };
  for (const Case& c : cases) {
    bool decodes = false;
    const size_t largest = LargestAllocationOfDecoding(c.bytes, &decodes);
    EXPECT_LE(largest, kTileBytes + kConstantBytes) << c.name;
    EXPECT_FALSE(decodes) << c.name;
  }
}

TEST(AllocationTest, DecodeIntoACallerBufferMakesNoImageSizedCopy) {
  const Image rgba = Gradient(256, 256, 4, PixelType::kUint8);
  const Image dem = Gradient(256, 256, 1, PixelType::kInt16);
  const std::string png = EncodeOrDie(CodecId::kPng, rgba);
  const std::string elevation = EncodeOrDie(CodecId::kElevation, dem);
  // PNG into padded rows: row by row, not through a packed copy of the image.
  const size_t stride = 256 * 4 + 16;
  std::vector<uint8_t> padded(stride * 256);
  const MutableImageView padded_view{padded.data(), 256, 256, 4, PixelType::kUint8, stride};
  // Elevation with the delta predictor into a packed buffer: decompressed in place.
  Image dem_out(256, 256, 1, PixelType::kInt16);
  ASSERT_TRUE(DecodeInto(elevation, dem_out.mutable_view()).ok());  // Creates the zstd context.
  {
    AllocationProbe probe;
    ASSERT_TRUE(DecodeInto(png, padded_view).ok());
    EXPECT_LT(probe.largest(), rgba.size_bytes() / 4);
  }
  {
    AllocationProbe probe;
    ASSERT_TRUE(DecodeInto(elevation, dem_out.mutable_view()).ok());
    EXPECT_LT(probe.largest(), dem.size_bytes() / 4);
  }
  EXPECT_EQ(std::memcmp(dem_out.data(), dem.data(), dem.size_bytes()), 0);
  for (int y = 0; y < 256; ++y) {
    ASSERT_EQ(std::memcmp(padded.data() + y * stride, rgba.data() + y * 1024, 1024), 0) << y;
  }
}

TEST(AllocationTest, TheDefaultLimitIs4096Squared) {
  const DecodeLimits defaults;
  EXPECT_EQ(defaults.max_width, 4096);
  EXPECT_EQ(defaults.max_height, 4096);
  EXPECT_EQ(MaxDecodedBytes(defaults), size_t{128} << 20);
  EXPECT_EQ(MaxDecodedBytes(kTileLimits), kTileBytes);
  EXPECT_EQ(MaxDecodedBytes(DecodeLimits{0, 256}), 0u);
}

}  // namespace
}  // namespace codec
}  // namespace flatpyramid
