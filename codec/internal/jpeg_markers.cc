#include "codec/internal/jpeg_markers.h"

#include <cstddef>
#include <cstdint>

namespace flatpyramid {
namespace codec {
namespace internal {
namespace {

// Marker codes (ITU T.81 table B.1).
constexpr uint8_t kSoi = 0xD8;
constexpr uint8_t kSof0 = 0xC0;  // Baseline.
constexpr uint8_t kSof1 = 0xC1;  // Extended sequential, Huffman.
constexpr uint8_t kSof2 = 0xC2;  // Progressive, Huffman.
constexpr uint8_t kDht = 0xC4;
constexpr uint8_t kSos = 0xDA;
constexpr uint8_t kDqt = 0xDB;
constexpr uint8_t kDri = 0xDD;
constexpr uint8_t kApp0 = 0xE0;
constexpr uint8_t kApp14 = 0xEE;
constexpr uint8_t kApp15 = 0xEF;
constexpr uint8_t kCom = 0xFE;

// libjpeg's limits: JPEG_MAX_DIMENSION, NUM_QUANT_TBLS, NUM_HUFF_TBLS, MAX_SAMP_FACTOR.
constexpr int kMaxDimension = 65500;
constexpr int kMaxTable = 3;
constexpr int kMaxSamplingFactor = 4;

uint8_t At(absl::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }
int Be16(absl::string_view s, size_t i) { return At(s, i) << 8 | At(s, i + 1); }

struct Component {
  uint8_t id = 0;
  int h = 0;  // Horizontal sampling factor.
  int v = 0;  // Vertical sampling factor.
};

// ColourMarkers: what libjpeg reads from APP0 (JFIF) and APP14 (Adobe) to choose a colour
// space. A JFIF major version other than 1, or a 3-component frame with an Adobe transform
// other than 0 (RGB) or 1 (YCbCr) and no JFIF, makes libjpeg warn, and TurboJPEG's header
// read fails on a warning.
struct ColourMarkers {
  bool jfif = false;
  bool adobe = false;
  int adobe_transform = 0;

  // Read returns false for a JFIF segment of another major version.
  bool Read(uint8_t marker, absl::string_view body) {
    if (marker == kApp0 && body.size() >= 14 &&
        body.substr(0, 5) == absl::string_view("JFIF\0", 5)) {
      jfif = true;
      return At(body, 5) == 1;
    }
    if (marker == kApp14 && body.size() >= 12 && body.substr(0, 5) == "Adobe") {
      adobe = true;
      adobe_transform = At(body, 11);
    }
    return true;
  }
  bool Accepted(int components) const {
    return components != 3 || jfif || !adobe || adobe_transform <= 1;
  }
};

struct Frame {
  int width = 0;
  int height = 0;
  int count = 0;  // Components: 1 or 3.
  Component components[3];
};

// TurboJpegSubsampling: a 3-component frame whose chroma is sampled once and luma in one of
// TurboJPEG's named subsamplings (tjMCUWidth / 8, tjMCUHeight / 8 of 4:4:4, 4:2:2, 4:2:0,
// 4:4:0 and 4:1:1). TurboJPEG's header read refuses the others.
bool TurboJpegSubsampling(const Frame& f) {
  for (int i = 1; i < 3; ++i) {
    if (f.components[i].h != 1 || f.components[i].v != 1) return false;
  }
  const int h = f.components[0].h, v = f.components[0].v;
  return (h == 1 && v == 1) || (h == 2 && v == 1) || (h == 2 && v == 2) || (h == 1 && v == 2) ||
         (h == 4 && v == 1);
}

// ParseSof reads a frame header's body (after its length): 8-bit samples, a size libjpeg
// takes, 1 or 3 components with distinct ids, sampling factors 1..4, table selectors 0..3.
std::optional<Frame> ParseSof(absl::string_view body) {
  if (body.size() < 6 || At(body, 0) != 8) return std::nullopt;
  Frame f;
  f.height = Be16(body, 1);
  f.width = Be16(body, 3);
  f.count = At(body, 5);
  if (f.width < 1 || f.height < 1 || f.width > kMaxDimension || f.height > kMaxDimension ||
      (f.count != 1 && f.count != 3) || body.size() != 6 + 3 * static_cast<size_t>(f.count)) {
    return std::nullopt;
  }
  for (int i = 0; i < f.count; ++i) {
    const size_t p = 6 + 3 * static_cast<size_t>(i);
    const Component c{At(body, p), At(body, p + 1) >> 4, At(body, p + 1) & 15};
    if (c.h < 1 || c.h > kMaxSamplingFactor || c.v < 1 || c.v > kMaxSamplingFactor ||
        At(body, p + 2) > kMaxTable) {
      return std::nullopt;
    }
    for (int j = 0; j < i; ++j) {
      if (f.components[j].id == c.id) return std::nullopt;
    }
    f.components[i] = c;
  }
  if (f.count == 3 && !TurboJpegSubsampling(f)) return std::nullopt;
  return f;
}

// ValidDqt: one or more quantisation tables of 8- or 16-bit values, ids 0..3, filling the
// segment exactly.
bool ValidDqt(absl::string_view body) {
  if (body.empty()) return false;
  for (size_t p = 0; p < body.size();) {
    const int precision = At(body, p) >> 4, id = At(body, p) & 15;
    if (precision > 1 || id > kMaxTable) return false;
    const size_t size = 1 + 64 * static_cast<size_t>(precision + 1);
    if (body.size() - p < size) return false;
    p += size;
  }
  return true;
}

// ValidDht: one or more Huffman tables (class 0 or 1, id 0..3, at most 256 symbols) filling
// the segment exactly.
bool ValidDht(absl::string_view body) {
  if (body.empty()) return false;
  for (size_t p = 0; p < body.size();) {
    if (body.size() - p < 17) return false;
    const int table_class = At(body, p) >> 4, id = At(body, p) & 15;
    if (table_class > 1 || id > kMaxTable) return false;
    size_t symbols = 0;
    for (size_t i = 1; i <= 16; ++i) symbols += At(body, p + i);
    if (symbols > 256 || body.size() - p - 17 < symbols) return false;
    p += 17 + symbols;
  }
  return true;
}

// ValidSos: 1..count components of the frame, each once, table selectors 0..3.
bool ValidSos(absl::string_view body, const Frame& f) {
  if (body.empty()) return false;
  const int n = At(body, 0);
  if (n < 1 || n > f.count || body.size() != 4 + 2 * static_cast<size_t>(n)) return false;
  bool used[3] = {false, false, false};
  for (int i = 0; i < n; ++i) {
    const uint8_t id = At(body, 1 + 2 * i), tables = At(body, 2 + 2 * i);
    if ((tables >> 4) > kMaxTable || (tables & 15) > kMaxTable) return false;
    int k = 0;
    while (k < f.count && f.components[k].id != id) ++k;
    if (k == f.count || used[k]) return false;
    used[k] = true;
  }
  return true;
}

}  // namespace

std::optional<ImageInfo> ScanJpegHeader(absl::string_view bytes) {
  if (bytes.size() < 4 || At(bytes, 0) != 0xFF || At(bytes, 1) != kSoi) return std::nullopt;
  std::optional<Frame> frame;
  ColourMarkers colour;
  size_t p = 2;
  for (;;) {
    // A marker: 0xFF, any 0xFF fill bytes, its code, then a big-endian length that counts
    // itself. Every segment the subset allows has a length.
    if (p >= bytes.size() || At(bytes, p) != 0xFF) return std::nullopt;
    while (p < bytes.size() && At(bytes, p) == 0xFF) ++p;
    if (bytes.size() - p < 3) return std::nullopt;
    const uint8_t marker = At(bytes, p);
    const size_t length = static_cast<size_t>(Be16(bytes, p + 1));
    if (length < 2 || bytes.size() - p - 1 < length) return std::nullopt;
    const absl::string_view body = bytes.substr(p + 3, length - 2);
    p += 1 + length;
    if (marker == kSof0 || marker == kSof1 || marker == kSof2) {
      if (frame.has_value()) return std::nullopt;
      frame = ParseSof(body);
      if (!frame.has_value()) return std::nullopt;
    } else if (marker == kSos) {
      if (!frame.has_value() || !ValidSos(body, *frame) || !colour.Accepted(frame->count)) {
        return std::nullopt;
      }
      ImageInfo info;
      info.width = frame->width;
      info.height = frame->height;
      info.bands = frame->count;
      info.type = PixelType::kUint8;
      info.codec = CodecId::kJpeg;
      return info;
    } else if ((marker == kDqt && !ValidDqt(body)) || (marker == kDht && !ValidDht(body)) ||
               (marker == kDri && body.size() != 2)) {
      return std::nullopt;
    } else if (marker >= kApp0 && marker <= kApp15) {
      if (!colour.Read(marker, body)) return std::nullopt;
    } else if (marker != kDqt && marker != kDht && marker != kDri && marker != kCom) {
      return std::nullopt;
    }
  }
}

}  // namespace internal
}  // namespace codec
}  // namespace flatpyramid
