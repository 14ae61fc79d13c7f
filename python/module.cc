// The flatpyramid._flatpyramid extension module (imported by the flatpyramid package).
#include <pybind11/pybind11.h>

#include "python/internal/build_binding.h"
#include "python/internal/errors.h"
#include "python/internal/pyramid_binding.h"

PYBIND11_MODULE(_flatpyramid, module) {
  module.doc() =
      "flatpyramid: single-file tile pyramids as numpy arrays (the C++ extension; import "
      "flatpyramid instead).";
  flatpyramid::python::RegisterErrors(module);
  flatpyramid::python::RegisterPyramid(module);
  flatpyramid::python::RegisterBuild(module);
}
