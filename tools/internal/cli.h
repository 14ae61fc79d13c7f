// Internal to //tools: what every reading tool does the same way: resolve relative paths
// against the directory `bazel run` was started from, and report a failure as one line.
#ifndef FLATPYRAMID_TOOLS_INTERNAL_CLI_H_
#define FLATPYRAMID_TOOLS_INTERNAL_CLI_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace flatpyramid {
namespace tools {

// ResolvePath makes a relative `path` absolute against BUILD_WORKING_DIRECTORY (set by
// `bazel run`, which starts tools inside the runfiles tree), else leaves it as it is (the
// working directory then resolves it). See ResolvePathAgainst for GDAL names.
std::string ResolvePath(const std::string& path);

// ResolvePathAgainst resolves `path` against the directory `dir`, including the file inside
// a GDAL name: "NETCDF:rel.nc:var" and 'HDF5:"rel.h5"://g' (the first ':'-separated field
// naming a file under `dir`), "/vsizip/rel.zip/a.tif" and "/vsizip/{rel.zip}/a.tif" (also
// /vsigzip/, /vsitar/, /vsi7z/, /vsirar/). Returned unchanged: "", "-" (stdin/stdout),
// absolute paths, inline XML ("<VRTDataset>..."), other /vsi handlers (/vsicurl/, /vsimem/).
std::string ResolvePathAgainst(const std::string& path, const std::string& dir);

// CommandLineError is why argv[1..argc) is not a valid command line for the flags defined:
// an unknown flag, a value the flag's type refuses ("--threads=x"), or a flag without its
// value; "" when valid. Arguments after "--", those not starting with '-' and negative numbers
// ("-1") are positional.
std::string CommandLineError(int argc, char** argv);

// ParseFlags parses the gflags flags out of argc/argv (leaving the positional arguments).
// A bad command line (CommandLineError) prints one line and exits 2.
// --help prints the usage message set with gflags::SetUsageMessage and every flag defined in
// tools/<tool>.cc with its default and description, then exits 0; --helpfull and --version
// behave as gflags defines them.
void ParseFlags(absl::string_view tool, int* argc, char*** argv);

// Fail prints "<tool>: <status message>" as one line on stderr and returns exit code 1.
int Fail(absl::string_view tool, const absl::Status& status);

// UsageError prints "<tool>: <message> (see <tool> --help)" on stderr and returns exit code 2.
int UsageError(absl::string_view tool, absl::string_view message);

}  // namespace tools
}  // namespace flatpyramid

#endif  // FLATPYRAMID_TOOLS_INTERNAL_CLI_H_
