// Internal to //pyramid: one sample of any pixel type read or written as a double, and a new
// image filled with a value, for the read side's mosaics and point samples.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_SAMPLES_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_SAMPLES_H_

#include <cstdint>

#include "codec/image.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// OpaqueValue is the alpha of a fully opaque pixel: 65535 for uint16, 255 otherwise.
double OpaqueValue(codec::PixelType type);

// ReadSample is the sample of `type` at `p` (unaligned, native byte order).
double ReadSample(const uint8_t* p, codec::PixelType type);

// WriteSample stores `value` as a sample of `type` at `p` (converted as static_cast does).
void WriteSample(double value, codec::PixelType type, uint8_t* p);

// FillNewImage sets the first `bands` bands of every pixel of a new (zero-filled) image to
// `value` (the rest stay 0).
void FillNewImage(codec::Image& image, int bands, double value);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_SAMPLES_H_
