#include "tools/internal/cli.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gflags/gflags.h"

DECLARE_bool(help);

namespace flatpyramid {
namespace tools {

std::string ResolvePath(const std::string& path) {
  if (path.empty() || path == "-" || path[0] == '/' || absl::StartsWith(path, "/vsi")) {
    return path;
  }
  const char* base = std::getenv("BUILD_WORKING_DIRECTORY");
  if (base == nullptr || *base == '\0') return path;
  return absl::StrCat(base, "/", path);
}

void ParseFlags(absl::string_view tool, int* argc, char*** argv) {
  gflags::ParseCommandLineNonHelpFlags(argc, argv, /*remove_flags=*/true);
  if (FLAGS_help) {
    std::string text = absl::StrCat(gflags::ProgramUsage(), "\n\nFlags:\n");
    std::vector<gflags::CommandLineFlagInfo> flags;
    gflags::GetAllFlags(&flags);
    const std::string file = absl::StrCat("tools/", tool, ".cc");
    for (const gflags::CommandLineFlagInfo& flag : flags) {
      if (!absl::EndsWith(flag.filename, file)) continue;
      absl::StrAppend(&text, "  --", flag.name, " (", flag.type, ", default \"", flag.default_value,
                      "\")\n      ", flag.description, "\n");
    }
    std::fputs(text.c_str(), stdout);
    std::exit(0);
  }
  gflags::HandleCommandLineHelpFlags();
}

int Fail(absl::string_view tool, const absl::Status& status) {
  std::string line = absl::StrCat(tool, ": ", status.message(), "\n");
  std::fputs(line.c_str(), stderr);
  return 1;
}

int UsageError(absl::string_view tool, absl::string_view message) {
  std::string line = absl::StrCat(tool, ": ", message, " (see ", tool, " --help)\n");
  std::fputs(line.c_str(), stderr);
  return 2;
}

}  // namespace tools
}  // namespace flatpyramid
