// flatpyramid.open and the Pyramid class: reading a pyramid from Python.
//
// Threading: every method that decodes or warps (tile, read, sample) releases the GIL while
// the C++ Reader works, so threads reading one Pyramid run in parallel. The Reader is held
// by shared_ptr: close() drops the Pyramid's reference, and memoryviews from tile_bytes keep
// their own, so the file stays mapped while any of them lives.
#ifndef FLATPYRAMID_PYTHON_INTERNAL_PYRAMID_BINDING_H_
#define FLATPYRAMID_PYTHON_INTERNAL_PYRAMID_BINDING_H_

#include <pybind11/pybind11.h>

#include "pyramid/metadata.pb.h"

namespace flatpyramid {
namespace python {

// MetadataDict is `metadata` as a dict with the field names of metadata.proto, as
// `pyramid_info --json` prints it. REQUIRES: the GIL held.
pybind11::dict MetadataDict(const pyramid::PyramidMetadata& metadata);

// RegisterPyramid adds `open`, `Pyramid` and the tile_bytes buffer type to `module`.
void RegisterPyramid(pybind11::module_& module);

}  // namespace python
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYTHON_INTERNAL_PYRAMID_BINDING_H_
