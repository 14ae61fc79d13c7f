// flatpyramid.build: pyramid::BuildPyramid with keyword arguments, a progress callable and
// KeyboardInterrupt.
//
// The build runs without the GIL. After every committed block the build's calling thread
// takes the GIL to call progress(fraction, message) and to run Python's signal handlers
// (PyErr_CheckSignals); a KeyboardInterrupt there, or an exception from progress, stops the
// build at a commit point (BuildOptions::cancelled), and build() re-raises it. The output is
// then an unfinished build that resume=True continues.
#ifndef FLATPYRAMID_PYTHON_INTERNAL_BUILD_BINDING_H_
#define FLATPYRAMID_PYTHON_INTERNAL_BUILD_BINDING_H_

#include <pybind11/pybind11.h>

namespace flatpyramid {
namespace python {

// RegisterBuild adds `build` to `module`.
void RegisterBuild(pybind11::module_& module);

}  // namespace python
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYTHON_INTERNAL_BUILD_BINDING_H_
