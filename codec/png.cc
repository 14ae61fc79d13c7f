#include "codec/png.h"

#include <spng.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codec/internal/checks.h"

namespace flatpyramid {
namespace codec {
namespace {

constexpr char kPngSignature[8] = {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n'};

// Ancillary chunks (text, ICC profiles, Exif) are ignored, but libspng parses and keeps
// those before the image data, inflating zTXt / iCCP into buffers that double in size up to
// its chunk limits. The limits follow the DecodeLimits budget: a quarter of the largest
// image it admits, at least 64 KiB (an ICC profile is usually a few KiB) and at most 16 MiB.
constexpr size_t kMinAncillaryBytes = size_t{64} << 10;
constexpr size_t kMaxAncillaryBytes = size_t{16} << 20;

size_t AncillaryLimit(const DecodeLimits& limits) {
  return std::clamp(MaxDecodedBytes(limits) / 4, kMinAncillaryBytes, kMaxAncillaryBytes);
}

struct ContextDeleter {
  void operator()(spng_ctx* ctx) const { spng_ctx_free(ctx); }
};
using Context = std::unique_ptr<spng_ctx, ContextDeleter>;

int AppendToString(spng_ctx*, void* user, void* data, size_t length) {
  static_cast<std::string*>(user)->append(static_cast<const char*>(data), length);
  return 0;
}

uint8_t ColorType(int bands) {
  switch (bands) {
    case 1:
      return SPNG_COLOR_TYPE_GRAYSCALE;
    case 2:
      return SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
    case 3:
      return SPNG_COLOR_TYPE_TRUECOLOR;
    default:
      return SPNG_COLOR_TYPE_TRUECOLOR_ALPHA;
  }
}

absl::Status SpngError(absl::string_view what, int error) {
  if (error == SPNG_ECHUNK_LIMITS) {
    return absl::ResourceExhaustedError(
        absl::StrCat("png ", what, ": ", spng_strerror(error),
                     " (ancillary text / ICC / Exif chunks may keep a quarter of the "
                     "DecodeLimits budget; raise DecodeLimits if the input is trusted)"));
  }
  return absl::InvalidArgumentError(absl::StrCat("png ", what, ": ", spng_strerror(error)));
}

}  // namespace

bool LooksPng(absl::string_view bytes) {
  return bytes.size() >= sizeof(kPngSignature) &&
         std::memcmp(bytes.data(), kPngSignature, sizeof(kPngSignature)) == 0;
}

absl::Status EncodePng(const ImageView& image, const EncodeOptions& options, std::string* out) {
  absl::Status valid = ValidateView(image);
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat("png encode: ", valid.message()));
  if (image.type != PixelType::kUint8 && image.type != PixelType::kUint16) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "png encode: %s samples; PNG takes uint8 or uint16 (use the elevation codec for int16 "
        "and float32)",
        PixelTypeName(image.type)));
  }
  if (options.compression_level < 0 || options.compression_level > 9) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "png encode: compression_level %d is outside 0..9", options.compression_level));
  }
  Context ctx(spng_ctx_new(SPNG_CTX_ENCODER));
  if (ctx == nullptr) return absl::ResourceExhaustedError("png encode: spng_ctx_new failed");
  out->clear();
  int error = spng_set_png_stream(ctx.get(), AppendToString, out);
  const bool sixteen = image.type == PixelType::kUint16;
  spng_ihdr ihdr = {};
  ihdr.width = static_cast<uint32_t>(image.width);
  ihdr.height = static_cast<uint32_t>(image.height);
  ihdr.bit_depth = sixteen ? 16 : 8;
  ihdr.color_type = ColorType(image.bands);
  if (error == 0) error = spng_set_ihdr(ctx.get(), &ihdr);
  // Level 0 stores; level 1 takes the cheapest useful filter; above that libspng picks the
  // best of the five filters per row (its default heuristic).
  const int filter = options.compression_level == 0   ? SPNG_FILTER_CHOICE_NONE
                     : options.compression_level == 1 ? SPNG_FILTER_CHOICE_SUB
                                                      : SPNG_FILTER_CHOICE_ALL;
  if (error == 0) {
    error = spng_set_option(ctx.get(), SPNG_IMG_COMPRESSION_LEVEL, options.compression_level);
  }
  if (error == 0) error = spng_set_option(ctx.get(), SPNG_FILTER_CHOICE, filter);
  // SPNG_FMT_RAW: rows as the file stores them (16-bit big-endian); we swap below, so the
  // result never depends on libspng's host-endian conversion.
  if (error == 0) {
    error = spng_encode_image(ctx.get(), nullptr, 0, SPNG_FMT_RAW,
                              SPNG_ENCODE_PROGRESSIVE | SPNG_ENCODE_FINALIZE);
  }
  if (error != 0) {
    out->clear();
    return absl::InternalError(absl::StrCat("png encode: ", spng_strerror(error)));
  }
  const size_t row_bytes =
      static_cast<size_t>(image.width) * image.bands * BytesPerSample(image.type);
  std::vector<uint8_t> big_endian(sixteen ? row_bytes : 0);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* row = image.data + static_cast<size_t>(y) * image.row_stride;
    if (sixteen) {
      for (size_t i = 0; i < row_bytes; i += 2) {
        uint16_t sample;
        std::memcpy(&sample, row + i, 2);
        big_endian[i] = static_cast<uint8_t>(sample >> 8);
        big_endian[i + 1] = static_cast<uint8_t>(sample);
      }
      row = big_endian.data();
    }
    error = spng_encode_row(ctx.get(), row, row_bytes);
    if (error != 0 && error != SPNG_EOI) break;
  }
  if (error != SPNG_EOI) {
    out->clear();
    return absl::InternalError(absl::StrCat("png encode: row: ", spng_strerror(error)));
  }
  return absl::OkStatus();
}

namespace {

struct PngHeader {
  ImageInfo info;
  int format = 0;  // spng output format.
  int flags = 0;   // spng decode flags.
};

absl::StatusOr<PngHeader> ReadHeader(spng_ctx* ctx, absl::string_view bytes,
                                     const DecodeLimits& limits) {
  if (!LooksPng(bytes)) return absl::InvalidArgumentError("png decode: missing the PNG signature");
  const uint32_t max_width = limits.max_width > 0 ? static_cast<uint32_t>(limits.max_width) : 1;
  const uint32_t max_height = limits.max_height > 0 ? static_cast<uint32_t>(limits.max_height) : 1;
  int error = spng_set_image_limits(ctx, max_width, max_height);
  const size_t ancillary = AncillaryLimit(limits);
  if (error == 0) error = spng_set_chunk_limits(ctx, ancillary, ancillary);
  if (error == 0) error = spng_set_png_buffer(ctx, bytes.data(), bytes.size());
  if (error != 0) return SpngError("decode", error);
  spng_ihdr ihdr = {};
  error = spng_get_ihdr(ctx, &ihdr);
  if (error == SPNG_EUSER_WIDTH || error == SPNG_EUSER_HEIGHT) {
    // libspng refused the size before reading further; say so with the real numbers.
    uint32_t be_width, be_height;
    if (bytes.size() >= 24) {
      std::memcpy(&be_width, bytes.data() + 16, 4);
      std::memcpy(&be_height, bytes.data() + 20, 4);
      return internal::CheckDimensions(CodecId::kPng, __builtin_bswap32(be_width),
                                       __builtin_bswap32(be_height), limits);
    }
  }
  if (error != 0) return SpngError("decode: header", error);
  absl::Status dims = internal::CheckDimensions(CodecId::kPng, ihdr.width, ihdr.height, limits);
  if (!dims.ok()) return dims;
  PngHeader header;
  header.info.width = static_cast<int>(ihdr.width);
  header.info.height = static_cast<int>(ihdr.height);
  header.info.codec = CodecId::kPng;
  const bool sixteen = ihdr.bit_depth == 16;
  header.info.type = sixteen ? PixelType::kUint16 : PixelType::kUint8;
  switch (ihdr.color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
      header.info.bands = 1;
      // Gray below 8 bits expands to 8; SPNG_FMT_PNG keeps the layout, 16 bits host-endian.
      header.format = ihdr.bit_depth < 8 ? SPNG_FMT_G8 : SPNG_FMT_PNG;
      break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
      header.info.bands = 2;
      // (libspng's GA8/GA16 formats add alpha to gray; a gray+alpha PNG decodes as is.)
      header.format = SPNG_FMT_PNG;
      break;
    case SPNG_COLOR_TYPE_TRUECOLOR:
      header.info.bands = 3;
      header.format = SPNG_FMT_PNG;
      break;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA:
      header.info.bands = 4;
      header.format = SPNG_FMT_PNG;
      break;
    case SPNG_COLOR_TYPE_INDEXED: {
      header.info.type = PixelType::kUint8;
      spng_trns trns;
      const bool has_alpha = spng_get_trns(ctx, &trns) == 0;
      header.info.bands = has_alpha ? 4 : 3;
      header.format = has_alpha ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
      header.flags = has_alpha ? SPNG_DECODE_TRNS : 0;
      break;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrFormat("png decode: unknown colour type %d", ihdr.color_type));
  }
  return header;
}

}  // namespace

absl::StatusOr<ImageInfo> PeekPngInfo(absl::string_view bytes, const DecodeLimits& limits) {
  Context ctx(spng_ctx_new(0));
  if (ctx == nullptr) return absl::ResourceExhaustedError("png decode: spng_ctx_new failed");
  absl::StatusOr<PngHeader> header = ReadHeader(ctx.get(), bytes, limits);
  if (!header.ok()) return header.status();
  return header->info;
}

absl::Status DecodePngInto(absl::string_view bytes, const MutableImageView& out,
                           const DecodeLimits& limits) {
  Context ctx(spng_ctx_new(0));
  if (ctx == nullptr) return absl::ResourceExhaustedError("png decode: spng_ctx_new failed");
  absl::StatusOr<PngHeader> header = ReadHeader(ctx.get(), bytes, limits);
  if (!header.ok()) return header.status();
  absl::Status matches = internal::CheckOutputMatches(header->info, out);
  if (!matches.ok()) return matches;
  int format = header->format;
  int flags = header->flags;
  if (internal::AddsOpaqueAlpha(header->info, out)) {
    // libspng adds alpha at full value (255 / 65535, host-endian) when asked for RGBA; no
    // tRNS: a 3-band image is opaque by definition here.
    format = out.type == PixelType::kUint16 ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8;
    flags = 0;
  }
  const size_t row_bytes = static_cast<size_t>(out.width) * out.bands * BytesPerSample(out.type);
  const size_t image_bytes = row_bytes * static_cast<size_t>(out.height);
  size_t decoded_size = 0;
  int error = spng_decoded_image_size(ctx.get(), format, &decoded_size);
  if (error != 0) return SpngError("decode", error);
  if (decoded_size != image_bytes) {
    return absl::InternalError(absl::StrFormat(
        "png decode: libspng reports %u bytes for a %u-byte image", decoded_size, image_bytes));
  }
  if (out.row_stride == row_bytes) {
    error = spng_decode_image(ctx.get(), out.data, image_bytes, format, flags);
    if (error != 0) return SpngError("decode", error);
    return absl::OkStatus();
  }
  // Padded rows: decode row by row straight into the caller's rows. For interlaced images
  // libspng visits rows once per pass and fills in that pass's pixels.
  error = spng_decode_image(ctx.get(), nullptr, 0, format, flags | SPNG_DECODE_PROGRESSIVE);
  if (error != 0) return SpngError("decode", error);
  for (;;) {
    spng_row_info row = {};
    error = spng_get_row_info(ctx.get(), &row);
    if (error != 0) break;
    if (row.row_num >= static_cast<uint32_t>(out.height)) {
      return absl::InternalError("png decode: libspng reports a row past the image");
    }
    error = spng_decode_row(ctx.get(), out.data + static_cast<size_t>(row.row_num) * out.row_stride,
                            row_bytes);
    if (error != 0) break;
  }
  if (error != SPNG_EOI) return SpngError("decode", error);
  return absl::OkStatus();
}

}  // namespace codec
}  // namespace flatpyramid
