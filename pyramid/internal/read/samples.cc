#include "pyramid/internal/read/samples.h"

#include <cstring>

namespace flatpyramid {
namespace pyramid {
namespace internal {

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
