// Python exceptions for absl::Status errors of the flatpyramid library.
//
// The mapping (every binding raises through ThrowStatus, so Python users see one scheme):
//   NotFound                                   -> FileNotFoundError
//   AlreadyExists                              -> FileExistsError
//   InvalidArgument, OutOfRange                -> ValueError
//   DataLoss                                   -> flatpyramid.CorruptFileError (an OSError)
//   everything else (Unavailable, Internal...) -> OSError
// The message is the library's, which names the file, tile or field and what to do.
#ifndef FLATPYRAMID_PYTHON_INTERNAL_ERRORS_H_
#define FLATPYRAMID_PYTHON_INTERNAL_ERRORS_H_

#include <pybind11/pybind11.h>

#include "absl/status/status.h"

namespace flatpyramid {
namespace python {

// RegisterErrors adds CorruptFileError to `module`. Call once, before ThrowStatus.
void RegisterErrors(pybind11::module_& module);

// ThrowStatus raises the Python exception for `status` (see the file comment), as
// pybind11::error_already_set. REQUIRES: !status.ok() and the GIL held.
[[noreturn]] void ThrowStatus(const absl::Status& status);

// ThrowCorrupt raises flatpyramid.CorruptFileError with the message of `status`.
[[noreturn]] void ThrowCorrupt(const absl::Status& status);

}  // namespace python
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYTHON_INTERNAL_ERRORS_H_
