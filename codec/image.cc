#include "codec/image.h"

#include "absl/strings/str_format.h"

namespace flatpyramid {
namespace codec {

size_t BytesPerSample(PixelType type) {
  switch (type) {
    case PixelType::kUint8:
      return 1;
    case PixelType::kUint16:
    case PixelType::kInt16:
      return 2;
    case PixelType::kFloat32:
      return 4;
  }
  return 1;
}

absl::string_view PixelTypeName(PixelType type) {
  switch (type) {
    case PixelType::kUint8:
      return "uint8";
    case PixelType::kUint16:
      return "uint16";
    case PixelType::kInt16:
      return "int16";
    case PixelType::kFloat32:
      return "float32";
  }
  return "unknown";
}

absl::Status ValidateView(const ImageView& view) {
  if (view.data == nullptr) return absl::InvalidArgumentError("image view: data is null");
  if (view.width <= 0 || view.height <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "image view: size %dx%d is empty or negative; pass a positive width and height", view.width,
        view.height));
  }
  if (view.bands < 1 || view.bands > 4) {
    return absl::InvalidArgumentError(
        absl::StrFormat("image view: %d bands; codecs take 1 to 4", view.bands));
  }
  const size_t packed = static_cast<size_t>(view.width) * view.bands * BytesPerSample(view.type);
  if (view.row_stride < packed) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "image view: row_stride %u is smaller than one row (%u bytes)", view.row_stride, packed));
  }
  return absl::OkStatus();
}

Image::Image(int width, int height, int bands, PixelType type)
    : width_(width),
      height_(height),
      bands_(bands),
      type_(type),
      row_stride_(static_cast<size_t>(width) * bands * BytesPerSample(type)),
      data_(new uint8_t[row_stride_ * static_cast<size_t>(height)]()) {}

Image::Image(int width, int height, int bands, PixelType type, NoFill)
    : width_(width),
      height_(height),
      bands_(bands),
      type_(type),
      row_stride_(static_cast<size_t>(width) * bands * BytesPerSample(type)),
      data_(new uint8_t[row_stride_ * static_cast<size_t>(height)]) {}

Image Image::Uninitialized(int width, int height, int bands, PixelType type) {
  return Image(width, height, bands, type, NoFill{});
}

ImageView Image::view() const {
  return ImageView{data_.get(), width_, height_, bands_, type_, row_stride_};
}

MutableImageView Image::mutable_view() {
  return MutableImageView{data_.get(), width_, height_, bands_, type_, row_stride_};
}

}  // namespace codec
}  // namespace flatpyramid
