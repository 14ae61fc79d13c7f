#include "pyramid/internal/read/region_resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

// GatherRow copies kPixelBytes-byte pixels (fixed size: the copy compiles to moves).
template <size_t kPixelBytes>
void GatherRow(const uint8_t* in, size_t in_pixel, const int32_t* columns, int width,
               uint8_t* out) {
  for (int i = 0; i < width; ++i, out += kPixelBytes) {
    if (columns[i] >= 0) {
      std::memcpy(out, in + static_cast<size_t>(columns[i]) * in_pixel, kPixelBytes);
    }
  }
}

// IsZeroSample says whether the sample at `p` is 0 (+0.0 or -0.0 for
// float32, as GDAL's alpha test).
bool IsZeroSample(const uint8_t* p, codec::PixelType type) {
  switch (type) {
    case codec::PixelType::kUint8:
      return *p == 0;
    case codec::PixelType::kUint16:
    case codec::PixelType::kInt16: {
      uint16_t v;
      std::memcpy(&v, p, sizeof(v));
      return v == 0;
    }
    case codec::PixelType::kFloat32: {
      float v;
      std::memcpy(&v, p, sizeof(v));
      return v == 0.0f;
    }
  }
  return false;
}

// RoundToType rounds half up and clamps to T's range (float32: unchanged), like GDAL. Inline
// floor (truncation corrected for negatives): std::floor is a library call without SSE4.1.
template <typename T>
T RoundToType(float v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    // Bilinear blends are convex: v is within 0..255 (plus float error far below 0.5), so
    // truncation rounds and nothing needs clamping; branch-free.
    return static_cast<uint8_t>(static_cast<int32_t>(v + 0.5f));
  } else {
    const float shifted =
        std::min(std::max(v + 0.5f, static_cast<float>(std::numeric_limits<T>::min())),
                 static_cast<float>(std::numeric_limits<T>::max()));
    int32_t r = static_cast<int32_t>(shifted);
    r -= static_cast<float>(r) > shifted;
    return static_cast<T>(r);
  }
}

template <typename T>
void InterpolateBilinearT(const codec::ImageView& source, const BilinearTaps& columns,
                          const BilinearTaps& rows, const codec::MutableImageView& out) {
  const int bands = out.bands;
  // The source columns the output needs: blend only those rows' samples vertically.
  int32_t first = std::numeric_limits<int32_t>::max(), last = -1;
  for (size_t i = 0; i < columns.index0.size(); ++i) {
    first = std::min({first, columns.index0[i], columns.index1[i]});
    last = std::max({last, columns.index0[i], columns.index1[i]});
  }
  if (last < first) return;
  const size_t span = static_cast<size_t>(last - first + 1) * static_cast<size_t>(bands);
  std::vector<float> blended(span);
  std::vector<int32_t> offset0(columns.index0.size()), offset1(columns.index0.size());
  for (size_t i = 0; i < offset0.size(); ++i) {
    offset0[i] = (columns.index0[i] - first) * bands;
    offset1[i] = (columns.index1[i] - first) * bands;
  }
  for (int j = 0; j < out.height; ++j) {
    const T* r0 = reinterpret_cast<const T*>(source.data + static_cast<size_t>(rows.index0[j]) *
                                                               source.row_stride) +
                  static_cast<size_t>(first) * bands;
    const T* r1 = reinterpret_cast<const T*>(source.data + static_cast<size_t>(rows.index1[j]) *
                                                               source.row_stride) +
                  static_cast<size_t>(first) * bands;
    const float w0 = rows.weight0[j], w1 = 1.0f - w0;
    for (size_t k = 0; k < span; ++k) {
      blended[k] = static_cast<float>(r0[k]) * w0 + static_cast<float>(r1[k]) * w1;
    }
    T* o = reinterpret_cast<T*>(out.data + static_cast<size_t>(j) * out.row_stride);
    for (int i = 0; i < out.width; ++i, o += bands) {
      const float a = columns.weight0[i], b = 1.0f - a;
      const float* p0 = blended.data() + offset0[i];
      const float* p1 = blended.data() + offset1[i];
      for (int band = 0; band < bands; ++band)
        o[band] = RoundToType<T>(p0[band] * a + p1[band] * b);
    }
  }
}

}  // namespace

std::vector<int32_t> NearestSourceIndices(double first_centre, double step, int count,
                                          int source_size) {
  std::vector<int32_t> indices(static_cast<size_t>(std::max(count, 0)));
  for (int i = 0; i < count; ++i) {
    const double x = first_centre + i * step + kGdalNearestEpsilon;
    indices[i] = x >= 0 && x < source_size ? static_cast<int32_t>(x) : -1;
  }
  return indices;
}

BilinearTaps BilinearSourceTaps(double first_centre, double step, int count, int source_size) {
  BilinearTaps taps;
  taps.index0.resize(static_cast<size_t>(std::max(count, 0)));
  taps.index1.resize(taps.index0.size());
  taps.weight0.resize(taps.index0.size());
  for (int i = 0; i < count; ++i) {
    // Pixel centres are at half-integers: blend the two whose centres bracket x.
    const double x = first_centre + i * step - 0.5;
    const double left = std::floor(x);
    int32_t i0 = static_cast<int32_t>(left);
    int32_t i1 = i0 + 1;
    float w0 = static_cast<float>(1.0 - (x - left));
    if (i0 < 0) {
      i0 = i1 = 0;
      w0 = 1;
    } else if (i1 >= source_size) {
      i0 = i1 = source_size - 1;
      w0 = 1;
    }
    taps.index0[i] = i0;
    taps.index1[i] = i1;
    taps.weight0[i] = w0;
  }
  return taps;
}

void GatherNearest(const codec::ImageView& source, const std::vector<int32_t>& columns,
                   const std::vector<int32_t>& rows, int valid_band,
                   const codec::MutableImageView& out) {
  const size_t sample = codec::BytesPerSample(source.type);
  const size_t in_pixel = sample * static_cast<size_t>(source.bands);
  const size_t out_pixel = sample * static_cast<size_t>(out.bands);
  for (int j = 0; j < out.height; ++j) {
    if (rows[j] < 0) continue;
    const uint8_t* in = source.data + static_cast<size_t>(rows[j]) * source.row_stride;
    uint8_t* o = out.data + static_cast<size_t>(j) * out.row_stride;
    if (valid_band >= 0) {
      const size_t valid_offset = sample * static_cast<size_t>(valid_band);
      for (int i = 0; i < out.width; ++i, o += out_pixel) {
        if (columns[i] < 0) continue;
        const uint8_t* p = in + static_cast<size_t>(columns[i]) * in_pixel;
        if (IsZeroSample(p + valid_offset, source.type)) continue;
        std::memcpy(o, p, out_pixel);
      }
      continue;
    }
    switch (out_pixel) {
      case 1:
        GatherRow<1>(in, in_pixel, columns.data(), out.width, o);
        break;
      case 2:
        GatherRow<2>(in, in_pixel, columns.data(), out.width, o);
        break;
      case 3:
        GatherRow<3>(in, in_pixel, columns.data(), out.width, o);
        break;
      case 4:
        GatherRow<4>(in, in_pixel, columns.data(), out.width, o);
        break;
      case 8:
        GatherRow<8>(in, in_pixel, columns.data(), out.width, o);
        break;
      default:
        for (int i = 0; i < out.width; ++i, o += out_pixel) {
          if (columns[i] >= 0) {
            std::memcpy(o, in + static_cast<size_t>(columns[i]) * in_pixel, out_pixel);
          }
        }
    }
  }
}

void InterpolateBilinear(const codec::ImageView& source, const BilinearTaps& columns,
                         const BilinearTaps& rows, const codec::MutableImageView& out) {
  switch (source.type) {
    case codec::PixelType::kUint8:
      return InterpolateBilinearT<uint8_t>(source, columns, rows, out);
    case codec::PixelType::kUint16:
      return InterpolateBilinearT<uint16_t>(source, columns, rows, out);
    case codec::PixelType::kInt16:
      return InterpolateBilinearT<int16_t>(source, columns, rows, out);
    case codec::PixelType::kFloat32:
      return InterpolateBilinearT<float>(source, columns, rows, out);
  }
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
