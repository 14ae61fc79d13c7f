#include "codec/jpeg.h"

#include <turbojpeg.h>

#include <climits>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "codec/internal/checks.h"

namespace flatpyramid {
namespace codec {
namespace {

// ThreadHandle owns one TurboJPEG handle per thread: creating one costs more than encoding
// a small tile, and a handle must not be shared between threads.
class ThreadHandle {
 public:
  explicit ThreadHandle(bool compress) : compress_(compress) { Create(); }
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
  void Create() { handle_ = compress_ ? tjInitCompress() : tjInitDecompress(); }
  void Destroy() {
    if (handle_ != nullptr) tjDestroy(handle_);
    handle_ = nullptr;
  }
  bool compress_;
  tjhandle handle_ = nullptr;
};

ThreadHandle& CompressHandle() {
  thread_local ThreadHandle handle(/*compress=*/true);
  return handle;
}

ThreadHandle& DecompressHandle() {
  thread_local ThreadHandle handle(/*compress=*/false);
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
  if (image.width > 65500 || image.height > 65500 ||
      image.row_stride > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "jpeg encode: %dx%d exceeds JPEG's 65500 pixel limit", image.width, image.height));
  }
  ThreadHandle& thread_handle = CompressHandle();
  tjhandle handle = thread_handle.get();
  if (handle == nullptr) return absl::InternalError("jpeg encode: tjInitCompress failed");
  const int subsampling = image.bands == 1                                 ? TJSAMP_GRAY
                          : options.subsampling == ChromaSubsampling::k444 ? TJSAMP_444
                                                                           : TJSAMP_420;
  const int pixel_format = image.bands == 1 ? TJPF_GRAY : TJPF_RGB;
  const unsigned long bound = tjBufSize(image.width, image.height, subsampling);
  if (bound == static_cast<unsigned long>(-1)) {
    return absl::InternalError(absl::StrCat("jpeg encode: tjBufSize: ", tjGetErrorStr2(handle)));
  }
  // Compress straight into the caller's string: tjBufSize is a guaranteed upper bound, so
  // TJFLAG_NOREALLOC never needs to grow it.
  out->resize(bound);
  unsigned char* buffer = reinterpret_cast<unsigned char*>(out->data());
  unsigned long size = bound;
  int flags = TJFLAG_NOREALLOC;
  if (options.fast_dct) flags |= TJFLAG_FASTDCT;
  if (tjCompress2(handle, image.data, image.width, static_cast<int>(image.row_stride), image.height,
                  pixel_format, &buffer, &size, subsampling, options.quality, flags) != 0) {
    out->clear();
    absl::Status error = absl::InternalError(absl::StrCat("jpeg encode: ", tjGetErrorStr2(handle)));
    thread_handle.Reset();
    return error;
  }
  out->resize(size);
  return absl::OkStatus();
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

}  // namespace codec
}  // namespace flatpyramid
