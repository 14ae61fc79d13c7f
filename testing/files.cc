#include "testing/files.h"

#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace test {
namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

}  // namespace

std::string DataPath(absl::string_view name) {
  // Inside Bazel the data is at $TEST_SRCDIR/<workspace>/testing/data; a consumer workspace
  // sees our files under the external repository name, which is also "flatpyramid".
  const std::string srcdir = EnvOr("TEST_SRCDIR", ".");
  const std::string workspace = EnvOr("TEST_WORKSPACE", "flatpyramid");
  std::string path = absl::StrCat(srcdir, "/", workspace, "/testing/data/", name);
  if (::access(path.c_str(), R_OK) == 0) return path;
  return absl::StrCat(srcdir, "/flatpyramid/testing/data/", name);
}

TempDir::TempDir(Filesystem filesystem) {
  const std::string root =
      filesystem == Filesystem::kTmpfs ? "/dev/shm" : EnvOr("TEST_TMPDIR", "/tmp");
  std::string pattern = root + "/flatpyramid_test_XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror(("mkdtemp " + pattern).c_str());
    std::abort();
  }
  path_ = pattern;
}

TempDir::~TempDir() { ::nftw(path_.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS); }

std::string TempDir::Path(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::perror(("open " + path).c_str());
    std::abort();
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace test
}  // namespace flatpyramid
