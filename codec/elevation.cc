// Byte format (also in codec/README.md):
//   offset size field
//   0      4    magic "FPEL" (46 50 45 4C)
//   4      1    format version, 1
//   5      1    pixel type: 1 = int16, 2 = uint16, 3 = float32
//   6      1    predictor: 0 = none, 1 = horizontal delta, 2 = horizontal delta + byte planes,
//                3 = byte planes (no delta)
//   7      1    reserved, 0
//   8      4    width, uint32 little-endian
//   12     4    height, uint32 little-endian
//   16     ...  one zstd frame whose declared content size is width * height * sample bytes
// The delta works on the sample's bit pattern as an unsigned integer of its size (uint16 or
// uint32), modulo 2^bits, restarting at each row: exact for every value, NaN payloads too.
#include "codec/elevation.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codec/internal/checks.h"

namespace flatpyramid {
namespace codec {
namespace {

constexpr char kMagic[4] = {'F', 'P', 'E', 'L'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kTypeInt16 = 1;
constexpr uint8_t kTypeUint16 = 2;
constexpr uint8_t kTypeFloat32 = 3;

// A scratch buffer kept per thread, released when a large image grew it past this.
constexpr size_t kKeepScratchBytes = size_t{64} << 20;

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx(ZSTD_createCCtx());
  return ctx.get();
}

ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx(ZSTD_createDCtx());
  return ctx.get();
}

std::vector<uint8_t>& ThreadScratch() {
  thread_local std::vector<uint8_t> scratch;
  return scratch;
}

void ReleaseLargeScratch(std::vector<uint8_t>& scratch) {
  if (scratch.capacity() > kKeepScratchBytes) std::vector<uint8_t>().swap(scratch);
}

void PutLe32(uint32_t value, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(value >> (8 * i));
}

uint32_t GetLe32(const char* in) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i)
    value |= static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  return value;
}

// UsesDelta: the predictor stores differences from the previous sample of the row.
bool UsesDelta(ElevationPredictor predictor) {
  return predictor == ElevationPredictor::kDelta ||
         predictor == ElevationPredictor::kDeltaBytePlanes;
}

// UsesBytePlanes: the predictor splits the samples into byte planes spanning the image.
bool UsesBytePlanes(ElevationPredictor predictor) {
  return predictor == ElevationPredictor::kDeltaBytePlanes ||
         predictor == ElevationPredictor::kBytePlanes;
}

// Forward transform of one row of samples (unsigned bit patterns of type U).
template <typename U>
void PredictRow(const uint8_t* row, size_t width, ElevationPredictor predictor, size_t plane_size,
                uint8_t* out) {
  constexpr size_t kBytes = sizeof(U);
  const bool delta = UsesDelta(predictor);
  const bool planes = UsesBytePlanes(predictor);
  U previous = 0;
  for (size_t x = 0; x < width; ++x) {
    U sample;
    std::memcpy(&sample, row + x * kBytes, kBytes);
    const U value = delta ? static_cast<U>(sample - previous) : sample;
    previous = sample;
    if (planes) {
      for (size_t b = 0; b < kBytes; ++b)
        out[b * plane_size + x] = static_cast<uint8_t>(value >> (8 * b));
    } else {
      for (size_t b = 0; b < kBytes; ++b)
        out[x * kBytes + b] = static_cast<uint8_t>(value >> (8 * b));
    }
  }
}

// Inverse of PredictRow. For the sample-interleaved predictors `in` may be `row` (in place).
template <typename U>
void ReconstructRow(const uint8_t* in, size_t width, ElevationPredictor predictor,
                    size_t plane_size, uint8_t* row) {
  constexpr size_t kBytes = sizeof(U);
  const bool delta = UsesDelta(predictor);
  const bool planes = UsesBytePlanes(predictor);
  U previous = 0;
  for (size_t x = 0; x < width; ++x) {
    U value = 0;
    if (planes) {
      for (size_t b = 0; b < kBytes; ++b)
        value |= static_cast<U>(static_cast<U>(in[b * plane_size + x]) << (8 * b));
    } else {
      for (size_t b = 0; b < kBytes; ++b)
        value |= static_cast<U>(static_cast<U>(in[x * kBytes + b]) << (8 * b));
    }
    const U sample = delta ? static_cast<U>(value + previous) : value;
    previous = sample;
    std::memcpy(row + x * kBytes, &sample, kBytes);
  }
}

struct ElevationHeader {
  ImageInfo info;
  ElevationPredictor predictor = ElevationPredictor::kNone;
};

absl::StatusOr<ElevationHeader> ParseHeader(absl::string_view bytes, const DecodeLimits& limits) {
  if (bytes.size() < kElevationHeaderSize) {
    if (!LooksElevation(bytes)) {
      return absl::InvalidArgumentError("elevation decode: missing the \"FPEL\" magic number");
    }
    return absl::InvalidArgumentError(
        absl::StrFormat("elevation decode: truncated: %u bytes, the header alone is %u",
                        bytes.size(), kElevationHeaderSize));
  }
  if (!LooksElevation(bytes)) {
    return absl::InvalidArgumentError("elevation decode: missing the \"FPEL\" magic number");
  }
  const uint8_t version = static_cast<uint8_t>(bytes[4]);
  if (version != kVersion) {
    return absl::UnimplementedError(absl::StrFormat(
        "elevation decode: format version %d; this reader knows version %d", version, kVersion));
  }
  ElevationHeader header;
  switch (static_cast<uint8_t>(bytes[5])) {
    case kTypeInt16:
      header.info.type = PixelType::kInt16;
      break;
    case kTypeUint16:
      header.info.type = PixelType::kUint16;
      break;
    case kTypeFloat32:
      header.info.type = PixelType::kFloat32;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "elevation decode: unknown pixel type code %d", static_cast<uint8_t>(bytes[5])));
  }
  const uint8_t predictor = static_cast<uint8_t>(bytes[6]);
  if (predictor > static_cast<uint8_t>(ElevationPredictor::kBytePlanes)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("elevation decode: unknown predictor code %d", predictor));
  }
  header.predictor = static_cast<ElevationPredictor>(predictor);
  if (bytes[7] != 0) {
    return absl::InvalidArgumentError("elevation decode: reserved header byte 7 is not zero");
  }
  const uint32_t width = GetLe32(bytes.data() + 8);
  const uint32_t height = GetLe32(bytes.data() + 12);
  absl::Status dims = internal::CheckDimensions(CodecId::kElevation, width, height, limits);
  if (!dims.ok()) return dims;
  header.info.width = static_cast<int>(width);
  header.info.height = static_cast<int>(height);
  header.info.bands = 1;
  header.info.codec = CodecId::kElevation;
  return header;
}

}  // namespace

int ElevationZstdLevel(int compression_level) {
  // zlib-like 0..9 onto zstd: the default 6 is zstd 3 (zstd's own default), which already
  // beats zlib 6 on size and speed. The top stops at zstd 9: zstd 19 is far too slow for
  // tiling for a few percent smaller output (testing/bench/RESULTS.md, build flags).
  static constexpr int kLevels[10] = {1, 1, 1, 2, 2, 3, 3, 5, 7, 9};
  return kLevels[std::clamp(compression_level, 0, 9)];
}

ElevationPredictor DefaultElevationPredictor(PixelType type) {
  // The better layout on most tiles of each type (codec/README.md): float32 deltas split into
  // byte planes, 16-bit deltas interleaved (on upsampled tiles; native ones prefer planes).
  return type == PixelType::kFloat32 ? ElevationPredictor::kDeltaBytePlanes
                                     : ElevationPredictor::kDelta;
}

bool LooksElevation(absl::string_view bytes) {
  return bytes.size() >= sizeof(kMagic) && std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) == 0;
}

absl::Status EncodeElevationWithPredictor(const ImageView& image, const EncodeOptions& options,
                                          ElevationPredictor predictor, std::string* out) {
  absl::Status valid = ValidateView(image);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("elevation encode: ", valid.message()));
  }
  if (image.bands != 1 || image.type == PixelType::kUint8) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "elevation encode: %d bands of %s; the elevation codec takes one band of int16, uint16 "
        "or float32 (use PNG for uint8)",
        image.bands, PixelTypeName(image.type)));
  }
  if (static_cast<uint8_t>(predictor) > static_cast<uint8_t>(ElevationPredictor::kBytePlanes)) {
    return absl::InvalidArgumentError("elevation encode: unknown predictor");
  }
  ZSTD_CCtx* cctx = ThreadCCtx();
  if (cctx == nullptr) return absl::ResourceExhaustedError("elevation encode: ZSTD_createCCtx");
  const size_t width = static_cast<size_t>(image.width);
  const size_t pixels = width * static_cast<size_t>(image.height);
  const size_t sample_bytes = BytesPerSample(image.type);
  const size_t raw_bytes = pixels * sample_bytes;
  std::vector<uint8_t>& predicted = ThreadScratch();
  predicted.resize(raw_bytes);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* row = image.data + static_cast<size_t>(y) * image.row_stride;
    const size_t first = static_cast<size_t>(y) * width;
    // Byte planes span the whole image: plane b starts at b * pixels.
    uint8_t* target = UsesBytePlanes(predictor) ? predicted.data() + first
                                                : predicted.data() + first * sample_bytes;
    if (sample_bytes == 2) {
      PredictRow<uint16_t>(row, width, predictor, pixels, target);
    } else {
      PredictRow<uint32_t>(row, width, predictor, pixels, target);
    }
  }
  const size_t bound = ZSTD_compressBound(raw_bytes);
  out->resize(kElevationHeaderSize + bound);
  char* header = out->data();
  std::memcpy(header, kMagic, sizeof(kMagic));
  header[4] = static_cast<char>(kVersion);
  header[5] = static_cast<char>(image.type == PixelType::kInt16    ? kTypeInt16
                                : image.type == PixelType::kUint16 ? kTypeUint16
                                                                   : kTypeFloat32);
  header[6] = static_cast<char>(predictor);
  header[7] = 0;
  PutLe32(static_cast<uint32_t>(image.width), header + 8);
  PutLe32(static_cast<uint32_t>(image.height), header + 12);
  const size_t compressed =
      ZSTD_compressCCtx(cctx, out->data() + kElevationHeaderSize, bound, predicted.data(),
                        raw_bytes, ElevationZstdLevel(options.compression_level));
  ReleaseLargeScratch(predicted);
  if (ZSTD_isError(compressed)) {
    out->clear();
    return absl::InternalError(
        absl::StrCat("elevation encode: zstd: ", ZSTD_getErrorName(compressed)));
  }
  out->resize(kElevationHeaderSize + compressed);
  return absl::OkStatus();
}

absl::Status EncodeElevation(const ImageView& image, const EncodeOptions& options,
                             std::string* out) {
  const ElevationPredictor first = DefaultElevationPredictor(image.type);
  absl::Status status = EncodeElevationWithPredictor(image, options, first, out);
  if (!status.ok() || options.compression_level <= 2) return status;
  // The other delta layout; the smaller of the two wins.
  thread_local std::string other;
  status = EncodeElevationWithPredictor(image, options,
                                        first == ElevationPredictor::kDelta
                                            ? ElevationPredictor::kDeltaBytePlanes
                                            : ElevationPredictor::kDelta,
                                        &other);
  if (!status.ok()) return status;
  if (other.size() < out->size()) out->swap(other);
  if (other.capacity() > kKeepScratchBytes) std::string().swap(other);
  return absl::OkStatus();
}

absl::StatusOr<ImageInfo> PeekElevationInfo(absl::string_view bytes, const DecodeLimits& limits) {
  absl::StatusOr<ElevationHeader> header = ParseHeader(bytes, limits);
  if (!header.ok()) return header.status();
  return header->info;
}

absl::Status DecodeElevationInto(absl::string_view bytes, const MutableImageView& out,
                                 const DecodeLimits& limits) {
  absl::StatusOr<ElevationHeader> header = ParseHeader(bytes, limits);
  if (!header.ok()) return header.status();
  absl::Status matches = internal::CheckOutputMatches(header->info, out);
  if (!matches.ok()) return matches;
  const size_t width = static_cast<size_t>(out.width);
  const size_t pixels = width * static_cast<size_t>(out.height);
  const size_t sample_bytes = BytesPerSample(out.type);
  const size_t raw_bytes = pixels * sample_bytes;
  const char* frame = bytes.data() + kElevationHeaderSize;
  const size_t frame_size = bytes.size() - kElevationHeaderSize;
  // The frame must declare exactly the image's size and span exactly the rest of the input:
  // checked before decompressing, so corrupt bytes cannot ask for more memory.
  const unsigned long long content = ZSTD_getFrameContentSize(frame, frame_size);
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN) {
    return absl::InvalidArgumentError(
        "elevation decode: the zstd frame header is corrupt or truncated");
  }
  if (content != raw_bytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("elevation decode: zstd frame holds %u bytes but a %dx%d %s image needs %u",
                        content, out.width, out.height, PixelTypeName(out.type), raw_bytes));
  }
  const size_t frame_bytes = ZSTD_findFrameCompressedSize(frame, frame_size);
  if (ZSTD_isError(frame_bytes) || frame_bytes != frame_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "elevation decode: %u bytes after the header but the zstd frame %s", frame_size,
        ZSTD_isError(frame_bytes) ? "is truncated or corrupt"
                                  : absl::StrCat("ends after ", frame_bytes)));
  }
  ZSTD_DCtx* dctx = ThreadDCtx();
  if (dctx == nullptr) return absl::ResourceExhaustedError("elevation decode: ZSTD_createDCtx");
  const ElevationPredictor predictor = header->predictor;
  // Sample-interleaved predictors undo in place: into a packed output the frame decompresses
  // straight, with no scratch copy. Byte planes span the image, so they need the scratch.
  const bool in_place = !UsesBytePlanes(predictor) && out.row_stride == width * sample_bytes;
  std::vector<uint8_t>& scratch = ThreadScratch();
  uint8_t* predicted = out.data;
  if (!in_place) {
    scratch.resize(raw_bytes);
    predicted = scratch.data();
  }
  const size_t decompressed = ZSTD_decompressDCtx(dctx, predicted, raw_bytes, frame, frame_size);
  if (ZSTD_isError(decompressed) || decompressed != raw_bytes) {
    ReleaseLargeScratch(scratch);
    return absl::InvalidArgumentError(
        absl::StrCat("elevation decode: zstd: ",
                     ZSTD_isError(decompressed) ? ZSTD_getErrorName(decompressed) : "short frame"));
  }
  for (int y = 0; y < out.height; ++y) {
    uint8_t* row = out.data + static_cast<size_t>(y) * out.row_stride;
    const size_t first = static_cast<size_t>(y) * width;
    const uint8_t* source =
        UsesBytePlanes(predictor) ? predicted + first : predicted + first * sample_bytes;
    if (sample_bytes == 2) {
      ReconstructRow<uint16_t>(source, width, predictor, pixels, row);
    } else {
      ReconstructRow<uint32_t>(source, width, predictor, pixels, row);
    }
  }
  ReleaseLargeScratch(scratch);
  return absl::OkStatus();
}

}  // namespace codec
}  // namespace flatpyramid
