#include "codec/codec.h"

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace codec {
namespace {

struct Case {
  CodecId codec;
  int bands;
  PixelType type;
};

// One supported combination per codec, small enough to be instant.
const Case kCases[] = {
    {CodecId::kJpeg, 3, PixelType::kUint8},
    {CodecId::kPng, 2, PixelType::kUint16},
    {CodecId::kWebp, 4, PixelType::kUint8},
    {CodecId::kElevation, 1, PixelType::kFloat32},
};

Image Pattern(int width, int height, int bands, PixelType type) {
  Image image(width, height, bands, type);
  for (size_t i = 0; i < image.size_bytes(); ++i) image.data()[i] = static_cast<uint8_t>(i * 7 / 5);
  if (type == PixelType::kFloat32) {
    float* samples = reinterpret_cast<float*>(image.data());
    for (int i = 0; i < width * height; ++i)
      samples[i] = 100.0f + 0.25f * static_cast<float>(i % 97);
  }
  return image;
}

std::string EncodeOrDie(const Case& c, int width = 24, int height = 16) {
  Image image = Pattern(width, height, c.bands, c.type);
  std::string bytes;
  absl::Status s = Encode(c.codec, image.view(), {}, &bytes);
  EXPECT_TRUE(s.ok()) << CodecName(c.codec) << ": " << s;
  return bytes;
}

TEST(ImageTest, IsZeroFilledAndTightlyPacked) {
  Image image(5, 3, 3, PixelType::kUint16);
  EXPECT_EQ(image.row_stride(), 30u);
  EXPECT_EQ(image.size_bytes(), 90u);
  EXPECT_EQ(std::vector<uint8_t>(image.data(), image.data() + 90), std::vector<uint8_t>(90, 0));
  const ImageView view = image.view();
  EXPECT_EQ(view.data, image.data());
  EXPECT_EQ(view.width, 5);
  EXPECT_EQ(view.height, 3);
  EXPECT_EQ(view.bands, 3);
  EXPECT_EQ(view.row_stride, 30u);
}

TEST(ImageTest, BytesPerSampleMatchesEachType) {
  EXPECT_EQ(BytesPerSample(PixelType::kUint8), 1u);
  EXPECT_EQ(BytesPerSample(PixelType::kUint16), 2u);
  EXPECT_EQ(BytesPerSample(PixelType::kInt16), 2u);
  EXPECT_EQ(BytesPerSample(PixelType::kFloat32), 4u);
}

TEST(CodecTest, DetectsEachCodecFromItsOwnOutput) {
  for (const Case& c : kCases) {
    absl::StatusOr<CodecId> detected = DetectCodec(EncodeOrDie(c));
    ASSERT_TRUE(detected.ok()) << detected.status();
    EXPECT_EQ(*detected, c.codec) << CodecName(c.codec);
  }
}

TEST(CodecTest, UnknownMagicIsInvalidArgumentShowingTheFirstBytes) {
  absl::StatusOr<CodecId> detected = DetectCodec(std::string("GIF89a\x01\x02", 8));
  EXPECT_EQ(detected.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(detected.status().message().find("4749463839610102"), absl::string_view::npos)
      << detected.status();
  EXPECT_EQ(DetectCodec("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decode("\xFF\xD8").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CodecTest, PeekAndDecodeReportTheEncodedShape) {
  for (const Case& c : kCases) {
    const std::string bytes = EncodeOrDie(c, 24, 16);
    absl::StatusOr<ImageInfo> info = PeekInfo(bytes);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->width, 24);
    EXPECT_EQ(info->height, 16);
    EXPECT_EQ(info->bands, c.bands);
    EXPECT_EQ(info->type, c.type);
    EXPECT_EQ(info->codec, c.codec);
    absl::StatusOr<Image> image = Decode(bytes);
    ASSERT_TRUE(image.ok()) << image.status();
    EXPECT_EQ(image->width(), 24);
    EXPECT_EQ(image->height(), 16);
    EXPECT_EQ(image->bands(), c.bands);
    EXPECT_EQ(image->type(), c.type);
  }
}

TEST(CodecTest, LosslessCodecsRoundTripThroughTheDispatcherExactly) {
  for (const Case& c : kCases) {
    if (c.codec == CodecId::kJpeg || c.codec == CodecId::kWebp) continue;
    Image image = Pattern(24, 16, c.bands, c.type);
    std::string bytes;
    ASSERT_TRUE(Encode(c.codec, image.view(), {}, &bytes).ok());
    absl::StatusOr<Image> back = Decode(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(std::memcmp(back->data(), image.data(), image.size_bytes()), 0) << CodecName(c.codec);
  }
}

// Decode allocates without a zero fill (Image::Uninitialized), so every successful decode
// must write every sample: decoding into a buffer of 0x00 and one of 0xFF gives the same
// bytes, and those of Decode. Covers each codec and the 3-band -> 4-band alpha expansion.
TEST(CodecTest, DecodeWritesEverySample) {
  struct Into {
    Case c;
    int out_bands;
  };
  const Into kInto[] = {
      {{CodecId::kJpeg, 3, PixelType::kUint8}, 3},
      {{CodecId::kJpeg, 3, PixelType::kUint8}, 4},
      {{CodecId::kJpeg, 1, PixelType::kUint8}, 1},
      {{CodecId::kPng, 2, PixelType::kUint16}, 2},
      {{CodecId::kPng, 3, PixelType::kUint8}, 4},
      {{CodecId::kPng, 1, PixelType::kUint8}, 1},
      {{CodecId::kWebp, 4, PixelType::kUint8}, 4},
      {{CodecId::kWebp, 3, PixelType::kUint8}, 4},
      {{CodecId::kElevation, 1, PixelType::kFloat32}, 1},
      {{CodecId::kElevation, 1, PixelType::kInt16}, 1},
  };
  for (const Into& into : kInto) {
    SCOPED_TRACE(
        absl::StrCat(CodecName(into.c.codec), " ", into.c.bands, " -> ", into.out_bands, " bands"));
    const std::string bytes = EncodeOrDie(into.c, 40, 24);
    const size_t stride = 40 * into.out_bands * BytesPerSample(into.c.type);
    std::vector<uint8_t> zeros(stride * 24, 0x00), ones(stride * 24, 0xFF);
    for (std::vector<uint8_t>* buffer : {&zeros, &ones}) {
      const MutableImageView out{buffer->data(), 40, 24, into.out_bands, into.c.type, stride};
      ASSERT_TRUE(DecodeInto(bytes, out).ok());
    }
    EXPECT_EQ(zeros, ones);
    if (into.out_bands != into.c.bands) continue;
    absl::StatusOr<Image> decoded = Decode(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(std::vector<uint8_t>(decoded->data(), decoded->data() + decoded->size_bytes()),
              zeros);
  }
}

TEST(CodecTest, SizesOverTheLimitsAreResourceExhaustedForEveryCodec) {
  for (const Case& c : kCases) {
    const std::string bytes = EncodeOrDie(c, 24, 16);
    EXPECT_EQ(PeekInfo(bytes, DecodeLimits{23, 16}).status().code(),
              absl::StatusCode::kResourceExhausted)
        << CodecName(c.codec);
    EXPECT_EQ(Decode(bytes, DecodeLimits{24, 15}).status().code(),
              absl::StatusCode::kResourceExhausted)
        << CodecName(c.codec);
    EXPECT_TRUE(Decode(bytes, DecodeLimits{24, 16}).ok()) << CodecName(c.codec);
  }
}

TEST(CodecTest, DecodeIntoAMismatchedViewIsInvalidArgumentAndWritesNothing) {
  for (const Case& c : kCases) {
    const std::string bytes = EncodeOrDie(c, 24, 16);
    Image wrong_size(16, 24, c.bands, c.type);
    Image wrong_bands(24, 16, c.bands == 1 ? 2 : 1, c.type);
    Image wrong_type(24, 16, c.bands,
                     c.type == PixelType::kUint8 ? PixelType::kUint16 : PixelType::kUint8);
    for (Image* out : {&wrong_size, &wrong_bands, &wrong_type}) {
      EXPECT_EQ(DecodeInto(bytes, out->mutable_view()).code(), absl::StatusCode::kInvalidArgument)
          << CodecName(c.codec);
      EXPECT_EQ(std::vector<uint8_t>(out->data(), out->data() + out->size_bytes()),
                std::vector<uint8_t>(out->size_bytes(), 0));
    }
  }
}

TEST(CodecTest, EncodingAnInvalidViewIsInvalidArgumentForEveryCodec) {
  for (const Case& c : kCases) {
    Image image = Pattern(8, 8, c.bands, c.type);
    ImageView null_data = image.view();
    null_data.data = nullptr;
    ImageView short_stride = image.view();
    short_stride.row_stride -= 1;
    ImageView empty = image.view();
    empty.width = 0;
    ImageView five_bands = image.view();
    five_bands.bands = 5;
    five_bands.row_stride *= 2;
    std::string out;
    for (const ImageView& view : {null_data, short_stride, empty, five_bands}) {
      EXPECT_EQ(Encode(c.codec, view, {}, &out).code(), absl::StatusCode::kInvalidArgument)
          << CodecName(c.codec);
    }
  }
}

TEST(CodecTest, ConcurrentThreadsEncodeAndDecodeTheSameBytesAsOneThread) {
  std::vector<std::string> expected;
  std::vector<Image> images;
  for (const Case& c : kCases) {
    images.push_back(Pattern(40, 24, c.bands, c.type));
    expected.push_back(EncodeOrDie(c, 40, 24));
  }
  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string bytes;
      for (int round = 0; round < 25; ++round) {
        for (size_t i = 0; i < images.size(); ++i) {
          if (!Encode(kCases[i].codec, images[i].view(), {}, &bytes).ok() || bytes != expected[i]) {
            ++mismatches[t];
          }
          // Every other round, a corrupt input first: per-thread handles must recover.
          if (round % 2 == 1) (void)Decode(bytes.substr(0, bytes.size() / 2));
          absl::StatusOr<Image> back = Decode(bytes);
          if (!back.ok() || back->width() != 40 || back->bands() != kCases[i].bands)
            ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(kThreads, 0));
}

}  // namespace
}  // namespace codec
}  // namespace flatpyramid
