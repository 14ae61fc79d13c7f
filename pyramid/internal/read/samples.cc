#include "pyramid/internal/read/samples.h"

#include <cstring>

namespace flatpyramid {
namespace pyramid {
namespace internal {

double OpaqueValue(codec::PixelType type) {
  return type == codec::PixelType::kUint16 ? 65535.0 : 255.0;
}

double ReadSample(const uint8_t* p, codec::PixelType type) {
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

void WriteSample(double value, codec::PixelType type, uint8_t* p) {
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

void FillNewImage(codec::Image& image, int bands, double value) {
  const size_t sample = codec::BytesPerSample(image.type());
  const size_t pixel = sample * static_cast<size_t>(image.bands());
  uint8_t encoded[4];
  WriteSample(value, image.type(), encoded);
  bool all_zero = true;
  for (size_t i = 0; i < sample; ++i) all_zero = all_zero && encoded[i] == 0;
  if (all_zero) return;
  for (int row = 0; row < image.height(); ++row) {
    uint8_t* p = image.data() + static_cast<size_t>(row) * image.row_stride();
    for (int col = 0; col < image.width(); ++col, p += pixel) {
      for (int band = 0; band < bands; ++band) std::memcpy(p + band * sample, encoded, sample);
    }
  }
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
