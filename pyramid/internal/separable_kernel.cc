#include "pyramid/internal/separable_kernel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

namespace flatpyramid {
namespace pyramid {
namespace internal {

double KernelScale(double edge0, double edge1, int target_size) {
  const double lo = std::floor(std::min(edge0, edge1) + 1e-8);
  const double hi = std::ceil(std::max(edge0, edge1) - 1e-8);
  if (hi <= lo) return 1.0;
  double scale = target_size / (hi - lo);
  if (scale < 1.0) {
    const double reciprocal = 1.0 / scale;
    const int rounded = static_cast<int>(reciprocal + 0.5);
    if (std::fabs(reciprocal - rounded) < 0.05) scale = 1.0 / rounded;
  }
  return scale;
}

void BuildTaps(const std::vector<double>& centres, int source_size, bool nearest, double scale,
               AxisTaps* taps) {
  const size_t n = centres.size();
  const double radius = nearest ? 0.5 : 1.0 / scale;
  taps->stride = nearest ? 1 : 2 * static_cast<int>(std::ceil(radius)) + 1;
  taps->first.assign(n, 0);
  taps->count.assign(n, 0);
  taps->weights.assign(n * taps->stride, 0.0f);
  taps->lo = INT_MAX;
  taps->hi = INT_MIN;
  for (size_t i = 0; i < n; ++i) {
    const double c = centres[i];
    if (!(c >= 0.0 && c < source_size)) continue;
    int first, last;
    float* w = &taps->weights[i * taps->stride];
    if (nearest) {
      first = last = static_cast<int>(c);
      w[0] = 1.0f;
    } else {
      const double p = c - 0.5;  // In pixel-centre coordinates.
      first = std::max(0, static_cast<int>(std::floor(p - radius)) + 1);
      last = std::min(source_size - 1, static_cast<int>(std::ceil(p + radius)) - 1);
      double sum = 0;
      double raw[64];
      const int count = std::min(last - first + 1, std::min(taps->stride, 64));
      last = first + count - 1;
      for (int k = 0; k < count; ++k) {
        raw[k] = std::max(0.0, 1.0 - std::fabs(first + k - p) * scale);
        sum += raw[k];
      }
      if (!(sum > 0)) continue;
      for (int k = 0; k < count; ++k) w[k] = static_cast<float>(raw[k] / sum);
    }
    taps->first[i] = first;
    taps->count[i] = last - first + 1;
    taps->lo = std::min(taps->lo, first);
    taps->hi = std::max(taps->hi, last);
  }
}

namespace {

// ToSample rounds and clamps like GDAL's warper (GWKClampValueT).
template <typename T>
T ToSample(double value) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(value);
  } else {
    if (value < std::numeric_limits<T>::min()) return std::numeric_limits<T>::min();
    if (value > std::numeric_limits<T>::max()) return std::numeric_limits<T>::max();
    if constexpr (std::numeric_limits<T>::is_signed) {
      return static_cast<T>(std::floor(value + 0.5));
    } else {
      return static_cast<T>(value + 0.5);
    }
  }
}

// HorizontalRow resamples one source row (first pixel x0) along x into `out` (one value per
// target pixel and band; 0 where uncovered). kBands > 0 fixes the band count at compile time.
template <typename T, typename Acc, int kBands>
void HorizontalRow(const T* source_row, int x0, const AxisTaps& xt, int runtime_bands, Acc* out) {
  const int bands = kBands > 0 ? kBands : runtime_bands;
  const int width = static_cast<int>(xt.first.size());
  for (int i = 0; i < width; ++i, out += bands) {
    const int count = xt.count[i];
    const float* w = &xt.weights[static_cast<size_t>(i) * xt.stride];
    const T* s = source_row + static_cast<size_t>(xt.first[i] - x0) * bands;
    Acc acc[kBands > 0 ? kBands : 4] = {};
    if (kBands > 0) {
      for (int k = 0; k < count; ++k, s += kBands) {
        for (int b = 0; b < kBands; ++b) acc[b] += w[k] * static_cast<Acc>(s[b]);
      }
      for (int b = 0; b < kBands; ++b) out[b] = acc[b];
    } else {
      for (int b = 0; b < bands; ++b) {
        Acc sum = 0;
        for (int k = 0; k < count; ++k) sum += w[k] * static_cast<Acc>(s[k * bands + b]);
        out[b] = sum;
      }
    }
  }
}

// ResampleSeparable resamples the source `window` (interleaved `bands`, top-left source
// pixel (x0, y0), `window_width` wide) into xt.first.size() x yt.first.size() target pixels
// whose rows are `stride` pixels apart: a horizontal pass into `rows`, then a vertical pass.
// Without nodata the weights are separable; with nodata (one band) each pixel renormalises
// over its valid taps as GDAL does, and stays uncovered if none is valid. Integer data is
// accumulated in float, float data in double.
template <typename T, typename Acc>
void ResampleSeparableT(const T* window, int window_width, int x0, int y0, int bands,
                        const AxisTaps& xt, const AxisTaps& yt, std::optional<double> nodata,
                        size_t stride, std::vector<Acc>* rows, T* samples, uint8_t* alpha) {
  const int width = static_cast<int>(xt.first.size());
  const int height = static_cast<int>(yt.first.size());
  if (nodata.has_value()) {
    // One band. GDAL renormalises over the valid taps: sum(w v) / sum(w) over valid samples
    // (not nodata, not NaN), and leaves the pixel uncovered when sum(w) < 1e-5. Both sums are
    // separable, so they go through the same two passes.
    const double nodata_value = *nodata;
    const int window_rows = yt.hi - yt.lo + 1;
    const size_t row_values = static_cast<size_t>(width) * 2;  // (sum w v, sum w) per pixel.
    rows->resize(static_cast<size_t>(window_rows) * row_values);
    for (int r = 0; r < window_rows; ++r) {
      const T* source_row = window + static_cast<size_t>(yt.lo + r - y0) * window_width;
      Acc* out = rows->data() + r * row_values;
      for (int i = 0; i < width; ++i) {
        const float* w = &xt.weights[static_cast<size_t>(i) * xt.stride];
        const T* s = source_row + (xt.first[i] - x0);
        Acc sum = 0, weight = 0;
        for (int k = 0; k < xt.count[i]; ++k) {
          const double v = static_cast<double>(s[k]);
          if (std::isnan(v) || v == nodata_value) continue;
          sum += w[k] * static_cast<Acc>(s[k]);
          weight += w[k];
        }
        out[2 * i] = sum;
        out[2 * i + 1] = weight;
      }
    }
    std::vector<Acc> acc(row_values);
    for (int j = 0; j < height; ++j) {
      const int count = yt.count[j];
      if (count == 0) continue;
      const float* w = &yt.weights[static_cast<size_t>(j) * yt.stride];
      std::fill(acc.begin(), acc.end(), Acc{0});
      for (int k = 0; k < count; ++k) {
        const Acc* in = rows->data() + static_cast<size_t>(yt.first[j] + k - yt.lo) * row_values;
        const Acc weight = w[k];
        for (size_t e = 0; e < row_values; ++e) acc[e] += weight * in[e];
      }
      for (int i = 0; i < width; ++i) {
        if (xt.count[i] == 0 || !(acc[2 * i + 1] >= 1e-5)) continue;
        samples[j * stride + i] =
            ToSample<T>(static_cast<double>(acc[2 * i]) / static_cast<double>(acc[2 * i + 1]));
        alpha[j * stride + i] = 255;
      }
    }
    return;
  }
  // Horizontal pass over every window row any target row reads.
  const int window_rows = yt.hi - yt.lo + 1;
  const size_t row_values = static_cast<size_t>(width) * bands;
  rows->resize(static_cast<size_t>(window_rows) * row_values);
  for (int r = 0; r < window_rows; ++r) {
    const T* source_row = window + static_cast<size_t>(yt.lo + r - y0) * window_width * bands;
    Acc* out = rows->data() + r * row_values;
    switch (bands) {
      case 1:
        HorizontalRow<T, Acc, 1>(source_row, x0, xt, 1, out);
        break;
      case 3:
        HorizontalRow<T, Acc, 3>(source_row, x0, xt, 3, out);
        break;
      default:
        HorizontalRow<T, Acc, 0>(source_row, x0, xt, bands, out);
        break;
    }
  }
  // Vertical pass, a whole row at a time (vectorises).
  std::vector<Acc> acc(row_values);
  for (int j = 0; j < height; ++j) {
    const int count = yt.count[j];
    if (count == 0) continue;
    const float* w = &yt.weights[static_cast<size_t>(j) * yt.stride];
    std::fill(acc.begin(), acc.end(), Acc{0});
    for (int k = 0; k < count; ++k) {
      const Acc* in = rows->data() + static_cast<size_t>(yt.first[j] + k - yt.lo) * row_values;
      const Acc weight = w[k];
      for (size_t e = 0; e < row_values; ++e) acc[e] += weight * in[e];
    }
    T* out = samples + j * stride * bands;
    uint8_t* out_alpha = alpha + j * stride;
    for (int i = 0; i < width; ++i) {
      if (xt.count[i] == 0) continue;
      for (int b = 0; b < bands; ++b) out[i * bands + b] = ToSample<T>(acc[i * bands + b]);
      out_alpha[i] = 255;
    }
  }
}

}  // namespace

void ResampleSeparable(const uint8_t* window, int window_width, int x0, int y0, int bands,
                       const AxisTaps& xt, const AxisTaps& yt, std::optional<double> nodata,
                       size_t stride, std::vector<float>* rows, uint8_t* samples, uint8_t* alpha) {
  ResampleSeparableT(window, window_width, x0, y0, bands, xt, yt, nodata, stride, rows, samples,
                     alpha);
}
void ResampleSeparable(const uint16_t* window, int window_width, int x0, int y0, int bands,
                       const AxisTaps& xt, const AxisTaps& yt, std::optional<double> nodata,
                       size_t stride, std::vector<float>* rows, uint16_t* samples, uint8_t* alpha) {
  ResampleSeparableT(window, window_width, x0, y0, bands, xt, yt, nodata, stride, rows, samples,
                     alpha);
}
void ResampleSeparable(const int16_t* window, int window_width, int x0, int y0, int bands,
                       const AxisTaps& xt, const AxisTaps& yt, std::optional<double> nodata,
                       size_t stride, std::vector<float>* rows, int16_t* samples, uint8_t* alpha) {
  ResampleSeparableT(window, window_width, x0, y0, bands, xt, yt, nodata, stride, rows, samples,
                     alpha);
}
void ResampleSeparable(const float* window, int window_width, int x0, int y0, int bands,
                       const AxisTaps& xt, const AxisTaps& yt, std::optional<double> nodata,
                       size_t stride, std::vector<double>* rows, float* samples, uint8_t* alpha) {
  ResampleSeparableT(window, window_width, x0, y0, bands, xt, yt, nodata, stride, rows, samples,
                     alpha);
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
