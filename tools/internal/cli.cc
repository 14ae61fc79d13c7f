#include "tools/internal/cli.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gflags/gflags.h"

DECLARE_bool(help);

namespace flatpyramid {
namespace tools {

namespace {

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

// GDAL's archive and compression handlers: what follows the prefix is a path (or {path}).
constexpr absl::string_view kArchivePrefixes[] = {"/vsizip/", "/vsigzip/", "/vsitar/", "/vsi7z/",
                                                  "/vsirar/"};

// ConnectionPrefix is the length of "DRIVER:" at the start of a GDAL connection string
// (NETCDF:f.nc:var, HDF5:"f.h5"://g, GTIFF_DIR:1:f.tif), 0 if there is none. One-letter
// prefixes are not drivers (C:\ on Windows).
size_t ConnectionPrefix(absl::string_view path) {
  size_t i = 0;
  while (i < path.size() && (absl::ascii_isalnum(path[i]) || path[i] == '_')) ++i;
  return i >= 2 && i < path.size() && path[i] == ':' ? i + 1 : 0;
}

// IsNegativeNumber is true for "-1", "-0.5", "-1e3": positional arguments, not flags.
bool IsNegativeNumber(absl::string_view arg) {
  double value = 0;
  return arg.size() >= 2 && arg[0] == '-' && absl::ascii_isdigit(arg[1]) &&
         absl::SimpleAtod(arg, &value);
}

// The prefix that hides a negative number from gflags until the flags are parsed.
constexpr char kNegativeNumberMark = '\x1f';

}  // namespace

std::string ResolvePathAgainst(const std::string& path, const std::string& dir) {
  if (path.empty() || path == "-" || path[0] == '<' || dir.empty()) return path;
  for (absl::string_view prefix : kArchivePrefixes) {
    if (!absl::StartsWith(path, prefix)) continue;
    const std::string rest = path.substr(prefix.size());
    if (absl::StartsWith(rest, "{")) {
      const size_t close = rest.find('}');
      if (close == std::string::npos) return path;
      return absl::StrCat(prefix, "{", ResolvePathAgainst(rest.substr(1, close - 1), dir),
                          rest.substr(close));
    }
    return absl::StrCat(prefix, ResolvePathAgainst(rest, dir));
  }
  if (path[0] == '/') return path;  // Absolute, or another /vsi handler (/vsicurl/, /vsimem/).
  const std::string joined = absl::StrCat(dir, "/", path);
  const size_t prefix = ConnectionPrefix(path);
  if (prefix == 0 || Exists(joined)) return joined;
  // A connection string: resolve the first field naming a file under `dir` (fields are
  // separated by ':', a field may be "quoted").
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = prefix; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '"') quoted = !quoted;
    if (c == ':' && !quoted) {
      fields.push_back(field);
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(field);
  for (std::string& f : fields) {
    const bool has_quotes = f.size() >= 2 && f.front() == '"' && f.back() == '"';
    const std::string name = has_quotes ? f.substr(1, f.size() - 2) : f;
    if (!name.empty() && name[0] == '/') break;  // The file is named already.
    if (name.empty()) continue;
    if (Exists(absl::StrCat(dir, "/", name))) {
      const std::string resolved = ResolvePathAgainst(name, dir);
      f = has_quotes ? absl::StrCat("\"", resolved, "\"") : resolved;
      break;
    }
  }
  return absl::StrCat(path.substr(0, prefix), absl::StrJoin(fields, ":"));
}

std::string ResolvePath(const std::string& path) {
  const char* base = std::getenv("BUILD_WORKING_DIRECTORY");
  if (base == nullptr || *base == '\0') return path;
  return ResolvePathAgainst(path, base);
}

std::string CommandLineError(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-' || IsNegativeNumber(arg)) continue;
    absl::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    const size_t equals = body.find('=');
    const std::string name(body.substr(0, equals));
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(name.c_str(), &info)) {
      gflags::CommandLineFlagInfo negated;
      if (equals == absl::string_view::npos && absl::StartsWith(name, "no") &&
          gflags::GetCommandLineFlagInfo(name.substr(2).c_str(), &negated) &&
          negated.type == "bool") {
        continue;
      }
      return absl::StrCat("unknown flag --", name);
    }
    std::string value;
    if (equals != absl::string_view::npos) {
      value = std::string(body.substr(equals + 1));
    } else if (info.type == "bool") {
      continue;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::StrCat("--", name, " needs a value");
    }
    // Sets the flag as the parse below will; an empty result means the value was refused.
    if (gflags::SetCommandLineOption(name.c_str(), value.c_str()).empty()) {
      return absl::StrCat("--", name, "=", value, " is not a valid ", info.type);
    }
  }
  return "";
}

void ParseFlags(absl::string_view tool, int* argc, char*** argv) {
  const std::string error = CommandLineError(*argc, *argv);
  if (!error.empty()) std::exit(UsageError(tool, error));
  // Negative numbers are positional arguments (a column, an offset), which gflags would take
  // for flags: hidden behind a mark until it is done.
  static std::deque<std::string>* marked = new std::deque<std::string>();  // Stable addresses.
  for (int i = 1; i < *argc && std::string((*argv)[i]) != "--"; ++i) {
    if (!IsNegativeNumber((*argv)[i])) continue;
    marked->push_back(std::string(1, kNegativeNumberMark) + (*argv)[i]);
    (*argv)[i] = &marked->back()[0];
  }
  gflags::ParseCommandLineNonHelpFlags(argc, argv, /*remove_flags=*/true);
  for (int i = 1; i < *argc; ++i) {
    if ((*argv)[i][0] == kNegativeNumberMark) ++(*argv)[i];
  }
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
