#include "pyramid/internal/tile_pixels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

using codec::PixelType;

constexpr int kMaxBands = 4;

template <typename T>
T RoundToSample(double value) {
  if constexpr (std::is_floating_point<T>::value) {
    return static_cast<T>(value);
  } else {
    value = std::round(value);
    value = std::min<double>(std::max<double>(value, std::numeric_limits<T>::lowest()),
                             std::numeric_limits<T>::max());
    return static_cast<T>(value);
  }
}

// DownsampleQuadrant reduces one child (2s x 2s... i.e. `size` x `size`) into the
// `size/2` x `size/2` quadrant of `parent` starting at (ox, oy).
template <typename T>
void DownsampleQuadrant(const TilePixels& child, OverviewResampling resampling, bool binary_alpha,
                        int ox, int oy, TilePixels* parent) {
  const int size = child.size;
  const int half = size / 2;
  const int bands = child.bands;
  const T* src = reinterpret_cast<const T*>(child.samples.data());
  T* dst = reinterpret_cast<T*>(parent->samples.data());
  const uint8_t* src_alpha = child.alpha.data();
  uint8_t* dst_alpha = parent->alpha.data();
  for (int y = 0; y < half; ++y) {
    const int row0 = 2 * y * size;
    const int row1 = row0 + size;
    T* out = dst + (static_cast<size_t>(oy + y) * size + ox) * bands;
    uint8_t* out_alpha = dst_alpha + static_cast<size_t>(oy + y) * size + ox;
    for (int x = 0; x < half; ++x, out += bands) {
      const int index[4] = {row0 + 2 * x, row0 + 2 * x + 1, row1 + 2 * x, row1 + 2 * x + 1};
      int alpha[4];
      int alpha_sum = 0;
      for (int i = 0; i < 4; ++i) {
        alpha[i] = src_alpha[index[i]];
        alpha_sum += alpha[i];
      }
      if (alpha_sum == 0) {
        for (int b = 0; b < bands; ++b) out[b] = T(0);
        out_alpha[x] = 0;
        continue;
      }
      if constexpr (std::is_unsigned<T>::value) {
        // Opaque 2 x 2 average of unsigned samples: integer arithmetic rounds half up, as
        // std::round of the double average below does for non-negative values.
        if (resampling == OverviewResampling::kAverage && alpha_sum == 4 * 255) {
          const T* p0 = src + static_cast<size_t>(index[0]) * bands;
          const T* p2 = src + static_cast<size_t>(index[2]) * bands;
          for (int b = 0; b < bands; ++b) {
            const uint32_t sum = uint32_t{p0[b]} + p0[bands + b] + p2[b] + p2[bands + b];
            out[b] = static_cast<T>((sum + 2) >> 2);
          }
          out_alpha[x] = 255;
          continue;
        }
      }
      if (binary_alpha) {
        for (int i = 0; i < 4; ++i) alpha[i] = alpha[i] > 0 ? 1 : 0;
      }
      switch (resampling) {
        case OverviewResampling::kNearest: {
          // GDAL's 2x nearest decimation picks source pixel 2i+1; alpha follows it.
          const T* p = src + static_cast<size_t>(index[3]) * bands;
          for (int b = 0; b < bands; ++b) out[b] = p[b];
          out_alpha[x] = binary_alpha ? (alpha[3] ? 255 : 0) : src_alpha[index[3]];
          continue;
        }
        case OverviewResampling::kAverage:
        default: {  // Kernels use DownsampleKernel2x.
          int weight_sum = 0;
          for (int i = 0; i < 4; ++i) weight_sum += alpha[i];
          for (int b = 0; b < bands; ++b) {
            double sum = 0;
            for (int i = 0; i < 4; ++i) {
              if (alpha[i] != 0) {
                sum +=
                    static_cast<double>(src[static_cast<size_t>(index[i]) * bands + b]) * alpha[i];
              }
            }
            out[b] = RoundToSample<T>(sum / weight_sum);
          }
          break;
        }
        case OverviewResampling::kMode: {
          int best = -1;
          int best_count = 0;
          for (int i = 0; i < 4; ++i) {
            if (alpha[i] == 0) continue;
            const T* pi = src + static_cast<size_t>(index[i]) * bands;
            int count = 0;
            for (int j = 0; j < 4; ++j) {
              if (alpha[j] == 0) continue;
              const T* pj = src + static_cast<size_t>(index[j]) * bands;
              if (std::memcmp(pi, pj, sizeof(T) * bands) == 0) ++count;
            }
            if (count > best_count) {
              best = i;
              best_count = count;
            }
          }
          const T* p = src + static_cast<size_t>(index[best]) * bands;
          for (int b = 0; b < bands; ++b) out[b] = p[b];
          break;
        }
      }
      out_alpha[x] = binary_alpha ? 255 : static_cast<uint8_t>((alpha_sum + 2) / 4);
    }
  }
}

template <typename T>
void DownsampleAll(const TilePixels* const children[4], OverviewResampling resampling,
                   bool binary_alpha, TilePixels* parent) {
  const int half = parent->size / 2;
  for (int child = 0; child < 4; ++child) {
    const int ox = (child & 1) * half;
    const int oy = (child >> 1) * half;
    if (children[child] == nullptr) {
      const size_t row_bytes = half * parent->pixel_bytes();
      for (int y = 0; y < half; ++y) {
        const size_t pixel = static_cast<size_t>(oy + y) * parent->size + ox;
        std::memset(parent->samples.data() + pixel * parent->pixel_bytes(), 0, row_bytes);
        std::memset(parent->alpha.data() + pixel, 0, half);
      }
      continue;
    }
    DownsampleQuadrant<T>(*children[child], resampling, binary_alpha, ox, oy, parent);
  }
}

template <typename T>
T MaxAlpha() {
  return std::is_same<T, uint16_t>::value ? T(65535) : T(255);
}

// StageWithAlpha copies samples plus a full-range alpha band into `scratch`.
template <typename T>
void StageWithAlpha(const TilePixels& tile, std::vector<uint8_t>* scratch) {
  const size_t pixels = static_cast<size_t>(tile.size) * tile.size;
  const int out_bands = tile.bands + 1;
  scratch->resize(pixels * out_bands * sizeof(T));
  const T* src = reinterpret_cast<const T*>(tile.samples.data());
  T* dst = reinterpret_cast<T*>(scratch->data());
  for (size_t p = 0; p < pixels; ++p) {
    for (int b = 0; b < tile.bands; ++b) dst[b] = src[b];
    // Scale 0..255 coverage to the sample range (uint16: x 257 maps 255 to 65535).
    dst[tile.bands] = static_cast<T>(tile.alpha[p] * (MaxAlpha<T>() / 255));
    src += tile.bands;
    dst += out_bands;
  }
}

// StageElevation writes nodata where a pixel is not covered.
template <typename T>
void StageElevation(const TilePixels& tile, double nodata, std::vector<uint8_t>* scratch) {
  const size_t pixels = static_cast<size_t>(tile.size) * tile.size;
  scratch->resize(pixels * sizeof(T));
  const T* src = reinterpret_cast<const T*>(tile.samples.data());
  T* dst = reinterpret_cast<T*>(scratch->data());
  const T fill = static_cast<T>(nodata);
  for (size_t p = 0; p < pixels; ++p) dst[p] = tile.alpha[p] != 0 ? src[p] : fill;
}

// UnstageWithAlpha splits decoded samples with an alpha band into `tile`.
template <typename T>
void UnstageWithAlpha(const uint8_t* data, TilePixels* tile) {
  const size_t pixels = static_cast<size_t>(tile->size) * tile->size;
  const int in_bands = tile->bands + 1;
  const T* src = reinterpret_cast<const T*>(data);
  T* dst = reinterpret_cast<T*>(tile->samples.data());
  for (size_t p = 0; p < pixels; ++p) {
    for (int b = 0; b < tile->bands; ++b) dst[b] = src[b];
    tile->alpha[p] = static_cast<uint8_t>(src[tile->bands] / (MaxAlpha<T>() / 255));
    src += in_bands;
    dst += tile->bands;
  }
}

// UnstageElevation marks the nodata values uncovered.
template <typename T>
void UnstageElevation(double nodata, TilePixels* tile) {
  const size_t pixels = static_cast<size_t>(tile->size) * tile->size;
  const T* src = reinterpret_cast<const T*>(tile->samples.data());
  const T fill = static_cast<T>(nodata);
  for (size_t p = 0; p < pixels; ++p) {
    const bool missing =
        src[p] == fill || (std::isnan(nodata) && std::isnan(static_cast<double>(src[p])));
    tile->alpha[p] = missing ? 0 : 255;
  }
}

}  // namespace

TilePixels::TilePixels(PixelType type, int size, int bands) { Reset(type, size, bands); }

void TilePixels::Reset(PixelType new_type, int new_size, int new_bands) {
  type = new_type;
  size = new_size;
  bands = new_bands;
  const size_t pixels = static_cast<size_t>(size) * size;
  samples.assign(pixels * pixel_bytes(), 0);
  alpha.assign(pixels, 0);
}

void TilePixels::Reshape(PixelType new_type, int new_size, int new_bands) {
  type = new_type;
  size = new_size;
  bands = new_bands;
  const size_t pixels = static_cast<size_t>(size) * size;
  samples.resize(pixels * pixel_bytes());
  alpha.resize(pixels);
}

bool TilePixels::Empty() const {
  return std::all_of(alpha.begin(), alpha.end(), [](uint8_t a) { return a == 0; });
}

bool TilePixels::Opaque() const {
  return std::all_of(alpha.begin(), alpha.end(), [](uint8_t a) { return a == 255; });
}

int OverviewKernelRadius(OverviewResampling resampling) {
  switch (resampling) {
    case OverviewResampling::kBilinear:
      return 1;
    case OverviewResampling::kCubic:
      return 2;
    case OverviewResampling::kLanczos:
      return 3;
    default:
      return 0;
  }
}

namespace {

// KernelWeight is GDAL's filter function (GWKBilinear, GWKCubic, GWKLanczosSinc).
double KernelWeight(OverviewResampling resampling, double x) {
  const double ax = std::fabs(x);
  switch (resampling) {
    case OverviewResampling::kBilinear:
      return ax < 1 ? 1 - ax : 0;
    case OverviewResampling::kCubic:
      if (ax < 1) return (1.5 * ax - 2.5) * ax * ax + 1;
      if (ax < 2) return ((-0.5 * ax + 2.5) * ax - 4) * ax + 2;
      return 0;
    case OverviewResampling::kLanczos: {
      if (x == 0) return 1;
      if (ax >= 3) return 0;
      const double pix = M_PI * x;
      return 3 * std::sin(pix) * std::sin(pix / 3) / (pix * pix);
    }
    default:
      return 0;
  }
}

template <typename T>
void DownsampleKernelT(int bands, const std::vector<double>& w, bool binary_alpha, int dst_size,
                       const T* src, const uint8_t* src_alpha, T* dst, uint8_t* dst_alpha,
                       std::vector<double>* scratch) {
  const int taps = static_cast<int>(w.size());
  const int src_size = 2 * dst_size + taps;
  // Horizontal pass: per src row and dst column, sum(w * a * v) per band then sum(w * a).
  const int values = bands + 1;
  const size_t row_values = static_cast<size_t>(dst_size) * values;
  scratch->resize(static_cast<size_t>(src_size) * row_values);
  std::vector<double> coverage(src_size);
  for (int r = 0; r < src_size; ++r) {
    const T* row = src + static_cast<size_t>(r) * src_size * bands;
    const uint8_t* arow = src_alpha + static_cast<size_t>(r) * src_size;
    for (int c = 0; c < src_size; ++c) {
      coverage[c] = binary_alpha ? (arow[c] != 0 ? 1.0 : 0.0) : arow[c] / 255.0;
    }
    double* out = scratch->data() + r * row_values;
    for (int i = 0; i < dst_size; ++i, out += values) {
      const int first = 2 * i + 1;
      for (int v = 0; v < values; ++v) out[v] = 0;
      for (int t = 0; t < taps; ++t) {
        const double a = coverage[first + t];
        if (a == 0) continue;
        const double wa = w[t] * a;
        const T* p = row + static_cast<size_t>(first + t) * bands;
        for (int b = 0; b < bands; ++b) out[b] += wa * static_cast<double>(p[b]);
        out[bands] += wa;
      }
    }
  }
  // Vertical pass, a whole row at a time.
  std::vector<double> acc(row_values);
  for (int j = 0; j < dst_size; ++j) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const int first = 2 * j + 1;
    for (int t = 0; t < taps; ++t) {
      const double* in = scratch->data() + static_cast<size_t>(first + t) * row_values;
      for (size_t e = 0; e < row_values; ++e) acc[e] += w[t] * in[e];
    }
    T* out = dst + static_cast<size_t>(j) * dst_size * bands;
    uint8_t* out_alpha = dst_alpha + static_cast<size_t>(j) * dst_size;
    for (int i = 0; i < dst_size; ++i) {
      const double* a = &acc[static_cast<size_t>(i) * values];
      const double weight = a[bands];
      uint8_t alpha = 0;
      if (binary_alpha) {
        alpha = weight > 1e-9 ? 255 : 0;
      } else {
        alpha = static_cast<uint8_t>(std::min(255.0, std::max(0.0, std::round(255.0 * weight))));
      }
      out_alpha[i] = alpha;
      for (int b = 0; b < bands; ++b) {
        out[i * bands + b] = alpha != 0 ? RoundToSample<T>(a[b] / weight) : T(0);
      }
    }
  }
}

}  // namespace

void DownsampleKernel2x(codec::PixelType type, int bands, OverviewResampling resampling,
                        bool binary_alpha, int dst_size, const uint8_t* src_samples,
                        const uint8_t* src_alpha, uint8_t* dst_samples, uint8_t* dst_alpha,
                        std::vector<double>* scratch) {
  // GDAL's 2x taps: finer pixel 2x + 1 - 2r + t at filter position (t - 2r + 0.5) / 2.
  const int radius = OverviewKernelRadius(resampling);
  std::vector<double> w(4 * radius);
  double sum = 0;
  for (int t = 0; t < 4 * radius; ++t) {
    w[t] = KernelWeight(resampling, 0.5 * (t - 2 * radius + 0.5));
    sum += w[t];
  }
  for (double& v : w) v /= sum;
  switch (type) {
    case PixelType::kUint8:
      return DownsampleKernelT<uint8_t>(bands, w, binary_alpha, dst_size, src_samples, src_alpha,
                                        dst_samples, dst_alpha, scratch);
    case PixelType::kUint16:
      return DownsampleKernelT<uint16_t>(
          bands, w, binary_alpha, dst_size, reinterpret_cast<const uint16_t*>(src_samples),
          src_alpha, reinterpret_cast<uint16_t*>(dst_samples), dst_alpha, scratch);
    case PixelType::kInt16:
      return DownsampleKernelT<int16_t>(
          bands, w, binary_alpha, dst_size, reinterpret_cast<const int16_t*>(src_samples),
          src_alpha, reinterpret_cast<int16_t*>(dst_samples), dst_alpha, scratch);
    case PixelType::kFloat32:
      return DownsampleKernelT<float>(bands, w, binary_alpha, dst_size,
                                      reinterpret_cast<const float*>(src_samples), src_alpha,
                                      reinterpret_cast<float*>(dst_samples), dst_alpha, scratch);
  }
}

void Downsample2x(const TilePixels* const children[4], OverviewResampling resampling,
                  bool binary_alpha, TilePixels* parent) {
  switch (parent->type) {
    case PixelType::kUint8:
      return DownsampleAll<uint8_t>(children, resampling, binary_alpha, parent);
    case PixelType::kUint16:
      return DownsampleAll<uint16_t>(children, resampling, binary_alpha, parent);
    case PixelType::kInt16:
      return DownsampleAll<int16_t>(children, resampling, binary_alpha, parent);
    case PixelType::kFloat32:
      return DownsampleAll<float>(children, resampling, binary_alpha, parent);
  }
}

absl::Status CheckEncodingSupports(TileCodec tile_codec, PixelType type, int bands) {
  const std::string what = absl::StrCat(bands, "-band ", codec::PixelTypeName(type));
  switch (tile_codec) {
    case TileCodec::kJpeg:
      if (type != PixelType::kUint8 || (bands != 1 && bands != 3)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "BuildOptions::codec=jpeg needs 1 or 3 uint8 bands but the source gives ", what,
            ": select bands with BuildOptions::bands=3,2,1 or use BuildOptions::codec=png (or "
            "elevation)"));
      }
      return absl::OkStatus();
    case TileCodec::kPng:
      if ((type != PixelType::kUint8 && type != PixelType::kUint16) || (bands != 1 && bands != 3)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "BuildOptions::codec=png needs 1 or 3 uint8/uint16 bands (alpha is added) but the "
            "source gives ",
            what,
            ": select bands with BuildOptions::bands or use BuildOptions::codec=elevation for "
            "single-band data"));
      }
      return absl::OkStatus();
    case TileCodec::kWebp:
    case TileCodec::kWebpLossless:
      if (type != PixelType::kUint8 || bands != 3) {
        return absl::InvalidArgumentError(absl::StrCat(
            "BuildOptions::codec=", TileCodecName(tile_codec),
            " needs 3 uint8 bands but the source gives ", what,
            ": select bands with BuildOptions::bands=3,2,1 or use BuildOptions::codec=png"));
      }
      return absl::OkStatus();
    case TileCodec::kElevation:
      if (type == PixelType::kUint8 || bands != 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "BuildOptions::codec=elevation needs one int16, uint16 or float32 band but the source "
            "gives ",
            what,
            ": select one band with BuildOptions::bands=N, or use BuildOptions::codec=png for "
            "8-bit data"));
      }
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("BuildOptions::codec is not a TileCodec");
}

absl::Status EncodeTile(const TilePixels& tile, const TileEncoding& encoding,
                        std::vector<uint8_t>* scratch, std::string* out) {
  const size_t bps = codec::BytesPerSample(tile.type);
  codec::ImageView view;
  view.width = tile.size;
  view.height = tile.size;
  view.type = tile.type;
  codec::EncodeOptions options = encoding.options;
  codec::CodecId id = codec::CodecId::kPng;
  if (encoding.codec == TileCodec::kElevation) {
    switch (tile.type) {
      case PixelType::kUint16:
        StageElevation<uint16_t>(tile, encoding.nodata, scratch);
        break;
      case PixelType::kInt16:
        StageElevation<int16_t>(tile, encoding.nodata, scratch);
        break;
      case PixelType::kFloat32:
        StageElevation<float>(tile, encoding.nodata, scratch);
        break;
      case PixelType::kUint8:
        return absl::InvalidArgumentError("elevation codec: uint8 is not supported");
    }
    view.data = scratch->data();
    view.bands = 1;
    view.row_stride = tile.size * bps;
    return codec::Encode(codec::CodecId::kElevation, view, options, out);
  }
  if (encoding.codec == TileCodec::kJpeg && tile.Opaque()) {
    view.data = tile.samples.data();
    view.bands = tile.bands;
    view.row_stride = tile.size * tile.pixel_bytes();
    return codec::Encode(codec::CodecId::kJpeg, view, options, out);
  }
  if (tile.type == PixelType::kUint16) {
    StageWithAlpha<uint16_t>(tile, scratch);
  } else {
    StageWithAlpha<uint8_t>(tile, scratch);
  }
  view.data = scratch->data();
  view.bands = tile.bands + 1;
  view.row_stride = tile.size * view.bands * bps;
  switch (encoding.codec) {
    case TileCodec::kWebp:
      id = codec::CodecId::kWebp;
      options.lossless = false;
      break;
    case TileCodec::kWebpLossless:
      id = codec::CodecId::kWebp;
      options.lossless = true;
      break;
    default:
      id = codec::CodecId::kPng;
      break;
  }
  return codec::Encode(id, view, options, out);
}

absl::Status DecodeTile(absl::string_view bytes, const TileEncoding& encoding, TilePixels* tile) {
  absl::StatusOr<codec::Image> image = codec::Decode(bytes);
  if (!image.ok()) return absl::DataLossError(image.status().message());
  const bool elevation = encoding.codec == TileCodec::kElevation;
  if (image->width() != tile->size || image->height() != tile->size ||
      image->type() != tile->type ||
      (image->bands() != tile->bands && (elevation || image->bands() != tile->bands + 1))) {
    return absl::DataLossError(absl::StrCat(
        "decodes to ", image->width(), "x", image->height(), " pixels of ", image->bands(), " ",
        codec::PixelTypeName(image->type()), " bands, not ", tile->size, "x", tile->size, " of ",
        tile->bands, " ", codec::PixelTypeName(tile->type), " bands (with or without alpha)"));
  }
  if (image->bands() == tile->bands) {
    std::memcpy(tile->samples.data(), image->data(), tile->samples.size());
    if (!elevation) {
      std::fill(tile->alpha.begin(), tile->alpha.end(), 255);
    } else if (tile->type == PixelType::kUint16) {
      UnstageElevation<uint16_t>(encoding.nodata, tile);
    } else if (tile->type == PixelType::kInt16) {
      UnstageElevation<int16_t>(encoding.nodata, tile);
    } else {
      UnstageElevation<float>(encoding.nodata, tile);
    }
  } else if (tile->type == PixelType::kUint16) {
    UnstageWithAlpha<uint16_t>(image->data(), tile);
  } else {
    UnstageWithAlpha<uint8_t>(image->data(), tile);
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
