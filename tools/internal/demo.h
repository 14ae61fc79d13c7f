// Internal to //tools: the demo pyramid, built the same way by build_pyramid (no --input) and
// serve_pyramid (no argument, when ./flatpyramid_demo.fpyr is missing).
#ifndef FLATPYRAMID_TOOLS_INTERNAL_DEMO_H_
#define FLATPYRAMID_TOOLS_INTERNAL_DEMO_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "pyramid/builder.h"

namespace flatpyramid {
namespace tools {

// kDemoOutput is the demo pyramid's file, in the directory the tool was run from.
inline constexpr char kDemoOutput[] = "flatpyramid_demo.fpyr";
// kDemoData is the bundled sample (a target's data: //testing/data), relative to runfiles.
inline constexpr char kDemoData[] = "testing/data/L7_ETMs.tif";

// FindDemoData finds the bundled sample in the runfiles tree of the binary `argv0`.
std::optional<std::string> FindDemoData(const char* argv0);

// DemoBuildOptions are the demo's BuildOptions (the sample's bands 3,2,1 as RGB, every other
// option at its default, creation_options recording both) writing `output`. NotFound, saying
// how to run the tool, when the sample is not in the runfiles.
absl::StatusOr<pyramid::BuildOptions> DemoBuildOptions(const char* argv0,
                                                       const std::string& output);

}  // namespace tools
}  // namespace flatpyramid

#endif  // FLATPYRAMID_TOOLS_INTERNAL_DEMO_H_
