// QuietGdalErrors: keeps GDAL's and PROJ's error messages off stderr while a library call
// runs, so that they reach the caller in an absl::Status instead.
//
// Example:
//   flatpyramid::geo::QuietGdalErrors quiet;
//   GDALDataset* dataset = GDALDataset::Open(path.c_str(), GDAL_OF_RASTER);
//   if (dataset == nullptr) {
//     return absl::NotFoundError(absl::StrCat(path, ": ", quiet.LastMessage("cannot open")));
//   }
#ifndef FLATPYRAMID_GEO_GDAL_ERRORS_H_
#define FLATPYRAMID_GEO_GDAL_ERRORS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "cpl_error.h"

namespace flatpyramid {
namespace geo {

// QuietGdalErrors installs CPLQuietErrorHandler for this thread (GDAL's error handlers are
// per thread) and clears the last error; the destructor restores the previous handler.
class QuietGdalErrors {
 public:
  QuietGdalErrors() {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
  }
  ~QuietGdalErrors() { CPLPopErrorHandler(); }
  QuietGdalErrors(const QuietGdalErrors&) = delete;
  QuietGdalErrors& operator=(const QuietGdalErrors&) = delete;

  // LastMessage returns this thread's last GDAL error message, or `fallback` when there is none.
  static std::string LastMessage(absl::string_view fallback = "GDAL gave no reason") {
    const char* message = CPLGetLastErrorMsg();
    if (message == nullptr || message[0] == '\0') return std::string(fallback);
    return message;
  }
};

}  // namespace geo
}  // namespace flatpyramid

#endif  // FLATPYRAMID_GEO_GDAL_ERRORS_H_
