#include "pyramid/internal/read/tile_codec.h"

#include <cstring>
#include <vector>

#include "codec/codec.h"
#include "codec/jpeg.h"
#include "pyramid/format.h"
#include "pyramid/internal/read/samples.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

absl::Status DataLoss(const absl::Status& status) { return absl::DataLossError(status.message()); }

// DecodeThroughScratch decodes the whole tile (`decoded_bands` bands) into this thread's
// scratch buffer (reused: no allocation or zero fill per tile), then copies the part into
// `out`, adding an opaque alpha band when `out` has one band more.
absl::Status DecodeThroughScratch(absl::string_view bytes, const codec::DecodeLimits& limits,
                                  int decoded_bands, int col0, int row0,
                                  const codec::MutableImageView& out) {
  thread_local std::vector<uint8_t> scratch;
  const int size = limits.max_width;
  const size_t sample = codec::BytesPerSample(out.type);
  const size_t in_pixel = sample * static_cast<size_t>(decoded_bands);
  const size_t in_stride = in_pixel * static_cast<size_t>(size);
  if (scratch.size() < in_stride * static_cast<size_t>(size)) {
    scratch.resize(in_stride * static_cast<size_t>(size));
  }
  codec::MutableImageView decoded{scratch.data(), size, size, decoded_bands, out.type, in_stride};
  if (absl::Status s = codec::DecodeInto(bytes, decoded, limits); !s.ok()) return DataLoss(s);
  const size_t out_pixel = sample * static_cast<size_t>(out.bands);
  uint8_t opaque_alpha[4];
  WriteSample(OpaqueValue(out.type), out.type, opaque_alpha);
  for (int row = 0; row < out.height; ++row) {
    const uint8_t* in = scratch.data() + static_cast<size_t>(row0 + row) * in_stride +
                        static_cast<size_t>(col0) * in_pixel;
    uint8_t* line = out.data + static_cast<size_t>(row) * out.row_stride;
    if (decoded_bands == out.bands) {
      std::memcpy(line, in, static_cast<size_t>(out.width) * out_pixel);
      continue;
    }
    for (int i = 0; i < out.width; ++i, in += in_pixel, line += out_pixel) {
      std::memcpy(line, in, in_pixel);
      std::memcpy(line + in_pixel, opaque_alpha, sample);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeStoredTile(absl::string_view bytes, const PyramidMetadata& metadata, int col0,
                              int row0, const codec::MutableImageView& out, bool* opaque) {
  const int size = static_cast<int>(metadata.tile_size());
  codec::DecodeLimits limits;
  limits.max_width = limits.max_height = size;
  absl::StatusOr<codec::ImageInfo> info = codec::PeekInfo(bytes, limits);
  if (!info.ok()) return DataLoss(info.status());
  if (absl::Status s = CheckStoredTile(metadata, *info); !s.ok()) return DataLoss(s);
  const int bands = static_cast<int>(metadata.band_count());
  const bool missing_alpha = info->bands != bands;  // CheckStoredTile: only the alpha band.
  if (opaque != nullptr) *opaque = missing_alpha;
  const bool whole = col0 == 0 && row0 == 0 && out.width == size && out.height == size;
  // codec::DecodeInto decodes a 3-band colour tile into 4 bands with an opaque alpha band
  // itself (TurboJPEG writes RGBA): only a gray tile needs its alpha added here.
  const int decoded_bands = !missing_alpha || info->bands == 3 ? bands : info->bands;
  if (whole && decoded_bands == bands) {
    if (absl::Status s = codec::DecodeInto(bytes, out, limits); !s.ok()) return DataLoss(s);
    return absl::OkStatus();
  }
  // A JPEG part decodes alone: rows above it are only entropy-decoded, rows below and
  // columns beside it (to the nearest block) not at all, same pixels.
  if (info->codec == codec::CodecId::kJpeg && decoded_bands == bands) {
    absl::Status s = codec::DecodeJpegRegionInto(bytes, col0, row0, out, limits);
    return s.ok() ? s : DataLoss(s);
  }
  return DecodeThroughScratch(bytes, limits, decoded_bands, col0, row0, out);
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
