// Internal to //pyramid: one sample of any pixel type read or written as a double, and a new
// image filled with a value, for the read side's mosaics and point samples.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_SAMPLES_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_SAMPLES_H_

#include <cstdint>
#include <cstring>

#include "codec/image.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// OpaqueValue is the alpha of a fully opaque pixel: 65535 for uint16, 255 otherwise.
inline double OpaqueValue(codec::PixelType type) {
  return type == codec::PixelType::kUint16 ? 65535.0 : 255.0;
}

// ReadSample is the sample of `type` at `p` (unaligned, native byte order). Inline, as
// WriteSample: they run once per pixel in the mosaics' loops.
inline double ReadSample(const uint8_t* p, codec::PixelType type) {
  switch (type) {
    case codec::PixelType::kUint8:
      return *p;
    case codec::PixelType::kUint16: {
      uint16_t v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
    case codec::PixelType::kInt16: {
      int16_t v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
    case codec::PixelType::kFloat32: {
      float v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
  }
  return 0;
}

// WriteSample stores `value` as a sample of `type` at `p` (converted as static_cast does).
inline void WriteSample(double value, codec::PixelType type, uint8_t* p) {
  switch (type) {
    case codec::PixelType::kUint8:
      *p = static_cast<uint8_t>(value);
      return;
    case codec::PixelType::kUint16: {
      const uint16_t v = static_cast<uint16_t>(value);
      std::memcpy(p, &v, sizeof(v));
      return;
    }
    case codec::PixelType::kInt16: {
      const int16_t v = static_cast<int16_t>(value);
      std::memcpy(p, &v, sizeof(v));
      return;
    }
    case codec::PixelType::kFloat32: {
      const float v = static_cast<float>(value);
      std::memcpy(p, &v, sizeof(v));
      return;
    }
  }
}

// FillNewImage sets the first `bands` bands of every pixel of a new (zero-filled) image to
// `value` (the rest stay 0).
void FillNewImage(codec::Image& image, int bands, double value);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_SAMPLES_H_
