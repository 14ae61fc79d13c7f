#include "python/internal/arrays.h"

#include <utility>
#include <vector>

namespace flatpyramid {
namespace python {
namespace {

namespace py = pybind11;

// ImageArray views `data` as the (height, width, bands) samples of `image`, with `owner`
// (a capsule holding the pixels) as the array's base.
py::array ImageArray(const codec::Image& image, const uint8_t* data, py::capsule owner) {
  const auto sample = static_cast<py::ssize_t>(codec::BytesPerSample(image.type()));
  const std::vector<py::ssize_t> shape = {image.height(), image.width(), image.bands()};
  const std::vector<py::ssize_t> strides = {static_cast<py::ssize_t>(image.row_stride()),
                                            image.bands() * sample, sample};
  return py::array(DtypeOf(image.type()), shape, strides, data, owner);
}

}  // namespace

py::dtype DtypeOf(codec::PixelType type) {
  switch (type) {
    case codec::PixelType::kUint8:
      return py::dtype::of<uint8_t>();
    case codec::PixelType::kUint16:
      return py::dtype::of<uint16_t>();
    case codec::PixelType::kInt16:
      return py::dtype::of<int16_t>();
    case codec::PixelType::kFloat32:
      return py::dtype::of<float>();
  }
  return py::dtype::of<uint8_t>();
}

py::array SharedImageArray(std::shared_ptr<const codec::Image> image) {
  auto* holder = new std::shared_ptr<const codec::Image>(std::move(image));
  py::capsule owner(holder,
                    [](void* p) { delete static_cast<std::shared_ptr<const codec::Image>*>(p); });
  const codec::Image& pixels = **holder;
  py::array array = ImageArray(pixels, pixels.data(), std::move(owner));
  py::detail::array_proxy(array.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return array;
}

py::array OwnedImageArray(codec::Image image) {
  auto* holder = new codec::Image(std::move(image));
  py::capsule owner(holder, [](void* p) { delete static_cast<codec::Image*>(p); });
  return ImageArray(*holder, holder->data(), std::move(owner));
}

}  // namespace python
}  // namespace flatpyramid
