#include "codec/jpeg.h"

#include <turbojpeg.h>
// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

#include <algorithm>
#include <climits>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codec/internal/checks.h"
#include "codec/internal/jpeg_markers.h"

namespace flatpyramid {
namespace codec {
namespace {

// ThreadHandle owns one TurboJPEG decompressor per thread: creating one costs more than
// decoding a small tile, and a handle must not be shared between threads.
class ThreadHandle {
 public:
  ThreadHandle() { Create(); }
  ~ThreadHandle() { Destroy(); }
  ThreadHandle(const ThreadHandle&) = delete;
  ThreadHandle& operator=(const ThreadHandle&) = delete;
  tjhandle get() const { return handle_; }
  // Reset replaces the handle after an error: libjpeg-turbo 2.1 can leave a decompressor
  // mid-header when tjDecompressHeader3 fails, and the next call would misread its input.
  void Reset() {
    Destroy();
    Create();
  }

 private:
  void Create() { handle_ = tjInitDecompress(); }
  void Destroy() {
    if (handle_ != nullptr) tjDestroy(handle_);
    handle_ = nullptr;
  }
  tjhandle handle_ = nullptr;
};

ThreadHandle& DecompressHandle() {
  thread_local ThreadHandle handle;
  return handle;
}

const unsigned char* Bytes(absl::string_view bytes) {
  return reinterpret_cast<const unsigned char*>(bytes.data());
}

}  // namespace

bool LooksJpeg(absl::string_view bytes) {
  return bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF &&
         static_cast<uint8_t>(bytes[1]) == 0xD8 && static_cast<uint8_t>(bytes[2]) == 0xFF;
}

namespace {

// LibjpegError turns libjpeg's error_exit into a longjmp back to the call that set `jump`,
// with the message kept. Warnings (corrupt data a decoder could skip) are errors too: a
// damaged tile must not pass as a valid one. Only trivially destructible objects may live
// between setjmp and the longjmp.
struct LibjpegError {
  jpeg_error_mgr manager;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void LibjpegErrorExit(j_common_ptr cinfo) {
  LibjpegError* error = reinterpret_cast<LibjpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, error->message);
  std::longjmp(error->jump, 1);
}

void LibjpegEmitMessage(j_common_ptr cinfo, int level) {
  if (level < 0) LibjpegErrorExit(cinfo);  // A warning: corrupt or truncated data.
}

void InstallErrorHandler(LibjpegError* error) {
  jpeg_std_error(&error->manager);
  error->manager.error_exit = LibjpegErrorExit;
  error->manager.emit_message = LibjpegEmitMessage;
  error->message[0] = '\0';
}

// StringDestination is a libjpeg destination manager that writes into a std::string,
// starting with its capacity and doubling when full (a tile needs one or two growths).
struct StringDestination {
  jpeg_destination_mgr manager;
  std::string* out;
};

void StringInit(j_compress_ptr cinfo) {
  StringDestination* dest = reinterpret_cast<StringDestination*>(cinfo->dest);
  dest->out->resize(std::max<size_t>(dest->out->capacity(), 16384));
  dest->manager.next_output_byte = reinterpret_cast<JOCTET*>(dest->out->data());
  dest->manager.free_in_buffer = dest->out->size();
}

boolean StringGrow(j_compress_ptr cinfo) {
  StringDestination* dest = reinterpret_cast<StringDestination*>(cinfo->dest);
  // libjpeg calls this when the buffer is full, whatever free_in_buffer says.
  const size_t used = dest->out->size();
  dest->out->resize(used * 2);
  dest->manager.next_output_byte = reinterpret_cast<JOCTET*>(dest->out->data()) + used;
  dest->manager.free_in_buffer = dest->out->size() - used;
  return TRUE;
}

void StringTerm(j_compress_ptr cinfo) {
  StringDestination* dest = reinterpret_cast<StringDestination*>(cinfo->dest);
  dest->out->resize(dest->out->size() - dest->manager.free_in_buffer);
}

// Compressor is a libjpeg compressor kept per thread: creating one costs more than encoding a
// small tile. After an error it is aborted and reused.
class Compressor {
 public:
  Compressor() {
    InstallErrorHandler(&error_);
    cinfo_.err = &error_.manager;
    jpeg_create_compress(&cinfo_);
  }
  ~Compressor() { jpeg_destroy_compress(&cinfo_); }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  absl::Status Encode(const ImageView& image, const EncodeOptions& options, std::string* out) {
    rows_.resize(static_cast<size_t>(image.height));
    for (int y = 0; y < image.height; ++y) {
      rows_[y] = const_cast<JSAMPROW>(image.data + static_cast<size_t>(y) * image.row_stride);
    }
    StringDestination dest;
    dest.manager.init_destination = StringInit;
    dest.manager.empty_output_buffer = StringGrow;
    dest.manager.term_destination = StringTerm;
    dest.out = out;
    if (setjmp(error_.jump) != 0) {
      jpeg_abort_compress(&cinfo_);
      out->clear();
      return absl::InternalError(absl::StrCat("jpeg encode: ", error_.message));
    }
    cinfo_.dest = &dest.manager;
    cinfo_.image_width = static_cast<JDIMENSION>(image.width);
    cinfo_.image_height = static_cast<JDIMENSION>(image.height);
    cinfo_.input_components = image.bands;
    cinfo_.in_color_space = image.bands == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo_);
    jpeg_set_quality(&cinfo_, options.quality, /*force_baseline=*/TRUE);
    if (image.bands == 3) {
      // Luma at full resolution; chroma halved in both directions (4:2:0) or not (4:4:4).
      const int factor = options.subsampling == ChromaSubsampling::k444 ? 1 : 2;
      cinfo_.comp_info[0].h_samp_factor = cinfo_.comp_info[0].v_samp_factor = factor;
      for (int c = 1; c < 3; ++c) {
        cinfo_.comp_info[c].h_samp_factor = cinfo_.comp_info[c].v_samp_factor = 1;
      }
    }
    cinfo_.dct_method =
        options.accurate_dct || options.quality >= 96 ? JDCT_ISLOW : JDCT_IFAST;  // TurboJPEG's.
    cinfo_.optimize_coding = options.optimize_huffman ? TRUE : FALSE;
    // No JFIF APP0 marker (18 bytes a tile): a 3-component baseline JPEG is YCbCr to every
    // decoder without it, and GDAL's JPEG-in-TIFF tiles carry none either.
    cinfo_.write_JFIF_header = FALSE;
    jpeg_start_compress(&cinfo_, TRUE);
    while (cinfo_.next_scanline < cinfo_.image_height) {
      jpeg_write_scanlines(&cinfo_, rows_.data() + cinfo_.next_scanline,
                           cinfo_.image_height - cinfo_.next_scanline);
    }
    jpeg_finish_compress(&cinfo_);
    cinfo_.dest = nullptr;
    return absl::OkStatus();
  }

 private:
  LibjpegError error_;
  jpeg_compress_struct cinfo_;
  std::vector<JSAMPROW> rows_;
};

}  // namespace

absl::Status EncodeJpeg(const ImageView& image, const EncodeOptions& options, std::string* out) {
  absl::Status valid = ValidateView(image);
  if (!valid.ok())
    return absl::InvalidArgumentError(absl::StrCat("jpeg encode: ", valid.message()));
  if (image.type != PixelType::kUint8 || (image.bands != 1 && image.bands != 3)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "jpeg encode: %d bands of %s; JPEG takes uint8 with 1 (gray) or 3 (RGB) bands (use PNG "
        "or WebP for alpha, elevation for DEMs)",
        image.bands, PixelTypeName(image.type)));
  }
  if (options.quality < 1 || options.quality > 100) {
    return absl::InvalidArgumentError(
        absl::StrFormat("jpeg encode: quality %d is outside 1..100", options.quality));
  }
  if (image.width > 65500 || image.height > 65500) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "jpeg encode: %dx%d exceeds JPEG's 65500 pixel limit", image.width, image.height));
  }
  // One compressor per Huffman mode: an optimising encode replaces the compressor's tables
  // with the image's own, and libjpeg-turbo's jpeg_set_defaults does not restore the standard
  // ones into tables that exist, so a standard-table encode must never follow one in the
  // same object (StandardTablesGiveTurboJpegsExactBytes checks it).
  thread_local Compressor compressors[2];
  return compressors[options.optimize_huffman ? 1 : 0].Encode(image, options, out);
}

namespace {

struct JpegHeader {
  ImageInfo info;
  int colorspace = 0;
};

absl::StatusOr<JpegHeader> ReadHeader(tjhandle handle, absl::string_view bytes,
                                      const DecodeLimits& limits) {
  if (!LooksJpeg(bytes)) {
    return absl::InvalidArgumentError("jpeg decode: missing the FF D8 FF start-of-image marker");
  }
  if (bytes.size() > ULONG_MAX) return absl::InvalidArgumentError("jpeg decode: input too big");
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle, Bytes(bytes), bytes.size(), &width, &height, &subsampling,
                          &colorspace) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("jpeg decode: bad header: ", tjGetErrorStr2(handle)));
  }
  absl::Status dims = internal::CheckDimensions(CodecId::kJpeg, width < 0 ? 0 : width,
                                                height < 0 ? 0 : height, limits);
  if (!dims.ok()) return dims;
  JpegHeader header;
  header.colorspace = colorspace;
  header.info.width = width;
  header.info.height = height;
  header.info.type = PixelType::kUint8;
  header.info.codec = CodecId::kJpeg;
  switch (colorspace) {
    case TJCS_GRAY:
      header.info.bands = 1;
      break;
    case TJCS_RGB:
    case TJCS_YCbCr:
      header.info.bands = 3;
      break;
    default:
      return absl::UnimplementedError(
          "jpeg decode: CMYK/YCCK JPEG; only gray and RGB/YCbCr JPEGs are supported");
  }
  return header;
}

}  // namespace

absl::StatusOr<ImageInfo> PeekJpegInfo(absl::string_view bytes, const DecodeLimits& limits) {
  // The marker scan answers for the common headers; TurboJPEG for every other.
  if (std::optional<ImageInfo> info = internal::ScanJpegHeader(bytes); info.has_value()) {
    absl::Status dims =
        internal::CheckDimensions(CodecId::kJpeg, info->width, info->height, limits);
    if (!dims.ok()) return dims;
    return *info;
  }
  ThreadHandle& thread_handle = DecompressHandle();
  if (thread_handle.get() == nullptr) {
    return absl::InternalError("jpeg decode: tjInitDecompress failed");
  }
  absl::StatusOr<JpegHeader> header = ReadHeader(thread_handle.get(), bytes, limits);
  if (!header.ok()) {
    thread_handle.Reset();
    return header.status();
  }
  return header->info;
}

absl::Status DecodeJpegInto(absl::string_view bytes, const MutableImageView& out,
                            const DecodeLimits& limits) {
  ThreadHandle& thread_handle = DecompressHandle();
  tjhandle handle = thread_handle.get();
  if (handle == nullptr) return absl::InternalError("jpeg decode: tjInitDecompress failed");
  absl::StatusOr<JpegHeader> header = ReadHeader(handle, bytes, limits);
  if (!header.ok()) {
    thread_handle.Reset();
    return header.status();
  }
  absl::Status matches = internal::CheckOutputMatches(header->info, out);
  if (!matches.ok()) return matches;
  if (out.row_stride > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError("jpeg decode: output row_stride exceeds 2^31");
  }
  // TJPF_RGBA writes 0xFF into the fourth byte: the opaque alpha of a 4-band output.
  const int pixel_format = header->info.bands == 1                        ? TJPF_GRAY
                           : internal::AddsOpaqueAlpha(header->info, out) ? TJPF_RGBA
                                                                          : TJPF_RGB;
  // Warnings (corrupt entropy data, premature end) are errors: a damaged tile must not
  // pass as a valid one. LIMITSCANS refuses progressive bombs with thousands of scans.
  const int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
  if (tjDecompress2(handle, Bytes(bytes), bytes.size(), out.data, out.width,
                    static_cast<int>(out.row_stride), out.height, pixel_format, flags) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("jpeg decode: ", tjGetErrorStr2(handle)));
  }
  return absl::OkStatus();
}

namespace {

// ScanLimit refuses progressive files with an absurd number of scans, as TJFLAG_LIMITSCANS
// does for the whole-image decoder.
void ScanLimit(j_common_ptr cinfo) {
  j_decompress_ptr d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->progressive_mode && d->input_scan_number > 500) {
    std::snprintf(reinterpret_cast<LibjpegError*>(cinfo->err)->message, JMSG_LENGTH_MAX,
                  "progressive JPEG with more than 500 scans");
    std::longjmp(reinterpret_cast<LibjpegError*>(cinfo->err)->jump, 1);
  }
}

// RegionDecompressor is one libjpeg decompressor per thread (see Compressor).
class RegionDecompressor {
 public:
  RegionDecompressor() {
    InstallErrorHandler(&error_);
    cinfo_.err = &error_.manager;
    jpeg_create_decompress(&cinfo_);
    progress_.progress_monitor = ScanLimit;
    cinfo_.progress = &progress_;
  }
  ~RegionDecompressor() { jpeg_destroy_decompress(&cinfo_); }
  RegionDecompressor(const RegionDecompressor&) = delete;
  RegionDecompressor& operator=(const RegionDecompressor&) = delete;

  absl::Status Decode(absl::string_view bytes, int x, int y, const MutableImageView& out,
                      const DecodeLimits& limits) {
    if (!LooksJpeg(bytes)) {
      return absl::InvalidArgumentError("jpeg decode: missing the FF D8 FF start-of-image marker");
    }
    if (bytes.size() > ULONG_MAX) return absl::InvalidArgumentError("jpeg decode: input too big");
    absl::Status status;  // Set before a longjmp-free return only (see LibjpegError).
    if (setjmp(error_.jump) != 0) {
      jpeg_abort_decompress(&cinfo_);
      return absl::InvalidArgumentError(absl::StrCat("jpeg decode: ", error_.message));
    }
    jpeg_mem_src(&cinfo_, Bytes(bytes), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&cinfo_, TRUE);
    status = CheckRegion(x, y, out, limits);
    if (!status.ok()) {
      jpeg_abort_decompress(&cinfo_);
      return status;
    }
    // One iMCU (16 px at most) of margin on each side: the fancy upsampler blends chroma
    // across block edges, so the region's own pixels then equal a whole decode's.
    const int margin = 16;
    const int left = std::max(0, x - margin);
    const int right = std::min(static_cast<int>(cinfo_.image_width), x + out.width + margin);
    JDIMENSION crop_x = static_cast<JDIMENSION>(left);
    JDIMENSION crop_width = static_cast<JDIMENSION>(right - left);
    jpeg_start_decompress(&cinfo_);
    if (crop_width != cinfo_.output_width) jpeg_crop_scanline(&cinfo_, &crop_x, &crop_width);
    if (y > 0) jpeg_skip_scanlines(&cinfo_, static_cast<JDIMENSION>(y));
    // Known only once decompression started (and the crop set output_width).
    const int components = cinfo_.out_color_components;
    row_.resize(static_cast<size_t>(cinfo_.output_width) * components);
    JSAMPROW row = row_.data();
    const size_t skip = static_cast<size_t>(x - static_cast<int>(crop_x)) * components;
    const size_t length = static_cast<size_t>(out.width) * components;
    for (int r = 0; r < out.height; ++r) {
      if (jpeg_read_scanlines(&cinfo_, &row, 1) != 1) {
        jpeg_abort_decompress(&cinfo_);
        return absl::InvalidArgumentError("jpeg decode: no scanline returned");
      }
      std::memcpy(out.data + static_cast<size_t>(r) * out.row_stride, row_.data() + skip, length);
    }
    jpeg_abort_decompress(&cinfo_);  // The rows below the region are not needed.
    return absl::OkStatus();
  }

 private:
  // CheckRegion validates the header against `limits` and the region, and sets the output
  // colour space; no longjmp can happen in it.
  absl::Status CheckRegion(int x, int y, const MutableImageView& out, const DecodeLimits& limits) {
    const int width = static_cast<int>(std::min<JDIMENSION>(cinfo_.image_width, INT_MAX));
    const int height = static_cast<int>(std::min<JDIMENSION>(cinfo_.image_height, INT_MAX));
    absl::Status dims = internal::CheckDimensions(CodecId::kJpeg, width, height, limits);
    if (!dims.ok()) return dims;
    ImageInfo info;
    info.width = out.width;
    info.height = out.height;
    info.type = PixelType::kUint8;
    info.codec = CodecId::kJpeg;
    if (cinfo_.jpeg_color_space == JCS_GRAYSCALE) {
      info.bands = 1;
    } else if (cinfo_.jpeg_color_space == JCS_YCbCr || cinfo_.jpeg_color_space == JCS_RGB) {
      info.bands = 3;
    } else {
      return absl::UnimplementedError(
          "jpeg decode: CMYK/YCCK JPEG; only gray and RGB/YCbCr JPEGs are supported");
    }
    if (x < 0 || y < 0 || out.width < 1 || out.height < 1 || x > width - out.width ||
        y > height - out.height) {
      return absl::InvalidArgumentError(
          absl::StrFormat("jpeg decode: region %dx%d at (%d, %d) leaves the %dx%d image", out.width,
                          out.height, x, y, width, height));
    }
    absl::Status matches = internal::CheckOutputMatches(info, out);
    if (!matches.ok()) return matches;
    cinfo_.out_color_space = info.bands == 1                        ? JCS_GRAYSCALE
                             : internal::AddsOpaqueAlpha(info, out) ? JCS_EXT_RGBA
                                                                    : JCS_EXT_RGB;
    cinfo_.dct_method = JDCT_ISLOW;  // What tjDecompress2 uses: the same pixels.
    cinfo_.do_fancy_upsampling = TRUE;
    return absl::OkStatus();
  }

  LibjpegError error_;
  jpeg_decompress_struct cinfo_;
  jpeg_progress_mgr progress_;
  std::vector<JSAMPLE> row_;
};

}  // namespace

absl::Status DecodeJpegRegionInto(absl::string_view bytes, int x, int y,
                                  const MutableImageView& out, const DecodeLimits& limits) {
  thread_local RegionDecompressor decompressor;
  return decompressor.Decode(bytes, x, y, out, limits);
}

}  // namespace codec
}  // namespace flatpyramid
