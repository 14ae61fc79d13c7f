// Image types shared by every tile codec: a pixel type, borrowed views over interleaved
// pixels with an explicit row stride, and an owning, tightly packed Image.
//
// Samples are interleaved (band 0, band 1, ... of pixel 0, then pixel 1, ...), in host byte
// order, rows top to bottom. A view borrows memory it does not own: the memory must outlive it.
//
// Example:
//   flatpyramid::codec::Image tile(256, 256, 3, flatpyramid::codec::PixelType::kUint8);
//   flatpyramid::codec::MutableImageView view = tile.mutable_view();
//   view.data[0] = 255;  // Red of the top-left pixel.
//   std::string jpeg;
//   absl::Status s = flatpyramid::codec::Encode(CodecId::kJpeg, tile.view(), {}, &jpeg);
#ifndef FLATPYRAMID_CODEC_IMAGE_H_
#define FLATPYRAMID_CODEC_IMAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace flatpyramid {
namespace codec {

// PixelType is the type of one sample.
enum class PixelType { kUint8, kUint16, kInt16, kFloat32 };

// BytesPerSample returns 1, 2, 2 or 4.
size_t BytesPerSample(PixelType type);

// PixelTypeName returns "uint8", "uint16", "int16" or "float32" (for messages).
absl::string_view PixelTypeName(PixelType type);

// ImageView is a read-only view of `height` rows of `width` pixels of `bands` interleaved
// samples of `type`. Row r starts at `data + r * row_stride`.
// REQUIRES (checked by every codec, which returns InvalidArgument otherwise): data != nullptr,
// width > 0, height > 0, bands in 1..4, row_stride >= width * bands * BytesPerSample(type).
struct ImageView {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int bands = 0;
  PixelType type = PixelType::kUint8;
  size_t row_stride = 0;  // In bytes.
};

// MutableImageView is ImageView over writable memory (the target of DecodeInto).
struct MutableImageView {
  uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int bands = 0;
  PixelType type = PixelType::kUint8;
  size_t row_stride = 0;  // In bytes.

  // view returns the same pixels as a read-only ImageView.
  ImageView view() const { return ImageView{data, width, height, bands, type, row_stride}; }
};

// ValidateView returns OK when `view` satisfies the ImageView requirements above, and
// InvalidArgument naming the offending field otherwise.
absl::Status ValidateView(const ImageView& view);

// Image owns a tightly packed (row_stride == width * bands * BytesPerSample(type)),
// zero-filled (unless made by Uninitialized) pixel buffer. Movable, not copyable (copies of tiles
// are never accidental).
class Image {
 public:
  // Image allocates width * height * bands samples of `type`, zero-filled.
  // REQUIRES: width >= 0, height >= 0, bands in 1..4. Decoders check sizes against their
  // DecodeLimits before constructing an Image, so untrusted input never reaches here unchecked.
  Image(int width, int height, int bands, PixelType type);
  // Uninitialized allocates like the constructor but leaves the samples indeterminate, for a
  // caller that writes every sample before any is read (a whole-image decode): it saves the
  // zero fill, about a tenth of a 256 x 256 JPEG tile's decode.
  static Image Uninitialized(int width, int height, int bands, PixelType type);
  Image(Image&&) noexcept = default;
  Image& operator=(Image&&) noexcept = default;
  Image(const Image&) = delete;
  Image& operator=(const Image&) = delete;

  ImageView view() const;
  MutableImageView mutable_view();

  int width() const { return width_; }
  int height() const { return height_; }
  int bands() const { return bands_; }
  PixelType type() const { return type_; }
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  // row_stride is width * bands * BytesPerSample(type), in bytes.
  size_t row_stride() const { return row_stride_; }
  // size_bytes is row_stride * height.
  size_t size_bytes() const { return row_stride_ * static_cast<size_t>(height_); }

 private:
  struct NoFill {};
  Image(int width, int height, int bands, PixelType type, NoFill);

  int width_;
  int height_;
  int bands_;
  PixelType type_;
  size_t row_stride_;
  std::unique_ptr<uint8_t[]> data_;
};

}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_IMAGE_H_
