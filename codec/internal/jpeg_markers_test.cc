// ScanJpegHeader against TurboJPEG's header read, the client whose answer it must never
// contradict: every header the scan accepts, TurboJPEG accepts with the same size and bands,
// across JPEGs TurboJPEG writes in every subsampling and mode and every one-byte change and
// truncation of their headers.
#include "codec/internal/jpeg_markers.h"

#include <turbojpeg.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace codec {
namespace {

using internal::ScanJpegHeader;

struct Sample {
  std::string name;
  std::string bytes;
};

// Compress writes a width x height JPEG with TurboJPEG; `env` names TurboJPEG's own switches
// (TJ_RESTART, TJ_ARITHMETIC) set only for this call.
std::string Compress(int width, int height, int subsampling, int flags, const char* env = nullptr) {
  const int bands = subsampling == TJSAMP_GRAY ? 1 : 3;
  std::vector<unsigned char> pixels(static_cast<size_t>(width) * height * bands);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>(i * 7 % 251);
  if (env != nullptr) setenv(env, env == std::string("TJ_RESTART") ? "2" : "1", 1);
  tjhandle handle = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const int rc =
      tjCompress2(handle, pixels.data(), width, 0, height, bands == 1 ? TJPF_GRAY : TJPF_RGB, &out,
                  &size, subsampling, 85, flags);
  if (env != nullptr) unsetenv(env);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(handle);
  std::string bytes(reinterpret_cast<const char*>(out), size);
  tjFree(out);
  tjDestroy(handle);
  return bytes;
}

// WithSegments inserts a comment and an Adobe APP14 segment (transform 1, YCbCr) after SOI;
// without_jfif also drops TurboJPEG's JFIF APP0 segment, so that the Adobe transform decides
// the colour space.
std::string WithSegments(const std::string& jpeg, bool without_jfif = false) {
  const std::string com("\xFF\xFE\x00\x07tiles", 9);
  const std::string adobe(
      "\xFF\xEE\x00\x0E"
      "Adobe\x00\x64\x00\x00\x00\x00\x01",
      16);
  const size_t app0 = 2 + 2 + (static_cast<uint8_t>(jpeg[4]) << 8 | static_cast<uint8_t>(jpeg[5]));
  return jpeg.substr(0, 2) + com + adobe + jpeg.substr(without_jfif ? app0 : 2);
}

std::vector<Sample> Samples() {
  std::vector<Sample> s = {
      {"444", Compress(256, 256, TJSAMP_444, 0)},
      {"422", Compress(256, 256, TJSAMP_422, 0)},
      {"420", Compress(256, 256, TJSAMP_420, 0)},
      {"440", Compress(64, 48, TJSAMP_440, 0)},
      {"411", Compress(64, 48, TJSAMP_411, 0)},
      {"gray", Compress(512, 512, TJSAMP_GRAY, 0)},
      {"progressive", Compress(256, 256, TJSAMP_420, TJFLAG_PROGRESSIVE)},
      {"restart intervals", Compress(256, 256, TJSAMP_420, 0, "TJ_RESTART")},
  };
  s.push_back({"comment and Adobe", WithSegments(s[0].bytes)});
  s.push_back({"Adobe without JFIF", WithSegments(s[0].bytes, /*without_jfif=*/true)});
  return s;
}

// TurboJpegInfo is tjDecompressHeader3's answer: false when it refuses the header.
bool TurboJpegInfo(const std::string& bytes, ImageInfo* info) {
  tjhandle handle = tjInitDecompress();
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  const bool ok =
      tjDecompressHeader3(handle, reinterpret_cast<const unsigned char*>(bytes.data()),
                          bytes.size(), &width, &height, &subsampling, &colorspace) == 0;
  tjDestroy(handle);
  info->width = width;
  info->height = height;
  info->bands = colorspace == TJCS_GRAY                              ? 1
                : colorspace == TJCS_RGB || colorspace == TJCS_YCbCr ? 3
                                                                     : 0;
  return ok;
}

// Scan runs the scan on an exact-size copy, so that a read past the end is a sanitizer error.
std::optional<ImageInfo> Scan(const std::string& bytes) {
  std::unique_ptr<char[]> exact(new char[bytes.size() + (bytes.empty() ? 1 : 0)]);
  std::copy(bytes.begin(), bytes.end(), exact.get());
  return ScanJpegHeader(absl::string_view(exact.get(), bytes.size()));
}

// HeaderEnd is the offset just past the first SOS segment.
size_t HeaderEnd(const std::string& jpeg) {
  size_t p = 2;
  while (p + 4 <= jpeg.size()) {
    const size_t length =
        static_cast<uint8_t>(jpeg[p + 2]) << 8 | static_cast<uint8_t>(jpeg[p + 3]);
    if (static_cast<uint8_t>(jpeg[p + 1]) == 0xDA) return p + 2 + length;
    p += 2 + length;
  }
  return jpeg.size();
}

// ExpectAgrees checks the one rule: an accepted header is one TurboJPEG accepts, same info.
// Returns whether the scan accepted it.
bool ExpectAgrees(const std::string& bytes, const std::string& what) {
  const std::optional<ImageInfo> scanned = Scan(bytes);
  if (!scanned.has_value()) return false;
  ImageInfo expected;
  EXPECT_TRUE(TurboJpegInfo(bytes, &expected)) << what << ": the scan accepts, TurboJPEG refuses";
  EXPECT_EQ(scanned->width, expected.width) << what;
  EXPECT_EQ(scanned->height, expected.height) << what;
  EXPECT_EQ(scanned->bands, expected.bands) << what;
  EXPECT_EQ(scanned->type, PixelType::kUint8) << what;
  EXPECT_EQ(scanned->codec, CodecId::kJpeg) << what;
  return true;
}

TEST(ScanJpegHeaderTest, ReadsTheSizeAndBandsTurboJpegReadsFromEveryCommonHeader) {
  for (const Sample& sample : Samples()) {
    EXPECT_TRUE(ExpectAgrees(sample.bytes, sample.name))
        << sample.name << ": the scan leaves a common header to TurboJPEG";
  }
}

TEST(ScanJpegHeaderTest, LeavesOtherHeadersToTurboJpeg) {
  // Arithmetic coding (SOF9), which TurboJPEG reads and the scan does not.
  const std::string arithmetic = Compress(64, 64, TJSAMP_420, 0, "TJ_ARITHMETIC");
  ImageInfo info;
  ASSERT_TRUE(TurboJpegInfo(arithmetic, &info));
  EXPECT_FALSE(Scan(arithmetic).has_value());
  // Garbage between two markers, which libjpeg skips with a warning.
  std::string garbage = Samples()[0].bytes;
  garbage.insert(2, "xy");
  EXPECT_FALSE(Scan(garbage).has_value());
  EXPECT_FALSE(Scan("").has_value());
  EXPECT_FALSE(Scan("\xFF\xD8\xFF").has_value());
  EXPECT_FALSE(Scan("\x89PNG\r\n\x1a\n").has_value());
}

TEST(ScanJpegHeaderTest, NeverAcceptsAChangedOrTruncatedHeaderTurboJpegRefuses) {
  int accepted = 0, refused = 0;
  for (const Sample& sample : Samples()) {
    const size_t end = std::min(HeaderEnd(sample.bytes) + 4, sample.bytes.size());
    for (size_t length = 0; length < end; ++length) {
      const std::string prefix = sample.bytes.substr(0, length);
      (ExpectAgrees(prefix, absl::StrCat(sample.name, " cut to ", length)) ? accepted : refused)++;
    }
    for (size_t i = 0; i < end; ++i) {
      const uint8_t b = static_cast<uint8_t>(sample.bytes[i]);
      for (const uint8_t value : {uint8_t{0x00}, uint8_t{0xFF}, uint8_t(b ^ 0x01),
                                  uint8_t(b ^ 0x10), uint8_t(b ^ 0x80), uint8_t(b + 3)}) {
        if (value == b) continue;
        std::string changed = sample.bytes;
        changed[i] = static_cast<char>(value);
        (ExpectAgrees(changed, absl::StrCat(sample.name, " byte ", i, " = ", value)) ? accepted
                                                                                     : refused)++;
      }
    }
  }
  // Both outcomes occur: changes inside tables keep a header valid, changes to lengths and
  // markers do not.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace codec
}  // namespace flatpyramid
