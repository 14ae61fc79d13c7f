#include "python/internal/errors.h"

#include <string>

namespace flatpyramid {
namespace python {
namespace {

// The exception type, created by RegisterErrors and owned by the module (never freed: a
// module's types live as long as the interpreter).
PyObject* corrupt_file_error = nullptr;

[[noreturn]] void Raise(PyObject* type, const absl::Status& status) {
  PyErr_SetString(type, std::string(status.message()).c_str());
  throw pybind11::error_already_set();
}

}  // namespace

void RegisterErrors(pybind11::module_& module) {
  corrupt_file_error = PyErr_NewExceptionWithDoc(
      "flatpyramid.CorruptFileError",
      "The file is not a flatpyramid pyramid, or its bytes are damaged (a truncated file, a "
      "tile that does not decode). A subclass of OSError.",
      PyExc_OSError, nullptr);
  if (corrupt_file_error == nullptr) throw pybind11::error_already_set();
  module.add_object("CorruptFileError", pybind11::handle(corrupt_file_error));
}

void ThrowCorrupt(const absl::Status& status) { Raise(corrupt_file_error, status); }

void ThrowStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      Raise(PyExc_FileNotFoundError, status);
    case absl::StatusCode::kAlreadyExists:
      Raise(PyExc_FileExistsError, status);
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      Raise(PyExc_ValueError, status);
    case absl::StatusCode::kDataLoss:
      ThrowCorrupt(status);
    default:
      Raise(PyExc_OSError, status);
  }
}

}  // namespace python
}  // namespace flatpyramid
