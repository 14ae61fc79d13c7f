// numpy arrays over codec::Image pixels without copying them.
//
// Lifetimes: an array made here owns (a reference to) its pixels through its `base`
// object, so it outlives the Pyramid it came from and the tile cache evicting the tile.
#ifndef FLATPYRAMID_PYTHON_INTERNAL_ARRAYS_H_
#define FLATPYRAMID_PYTHON_INTERNAL_ARRAYS_H_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>

#include "codec/image.h"

namespace flatpyramid {
namespace python {

// DtypeOf is the numpy dtype of `type` (uint8, uint16, int16, float32).
pybind11::dtype DtypeOf(codec::PixelType type);

// SharedImageArray is a read-only (height, width, bands) view of `image`, keeping it alive:
// tiles are shared with the tile cache and other callers, so they must not be written to.
// REQUIRES: the GIL held.
pybind11::array SharedImageArray(std::shared_ptr<const codec::Image> image);

// OwnedImageArray is a writeable (height, width, bands) array that takes `image` over.
// REQUIRES: the GIL held.
pybind11::array OwnedImageArray(codec::Image image);

}  // namespace python
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYTHON_INTERNAL_ARRAYS_H_
