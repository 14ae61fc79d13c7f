// Test helpers for files: paths to the real test data, and temporary directories on a
// chosen filesystem (ext4 with INSERT_RANGE, or tmpfs without it).
//
// Example:
//   flatpyramid::test::TempDir dir(flatpyramid::test::Filesystem::kTmpfs);
//   std::string path = dir.Path("out.fpyr");
//   std::string landsat = flatpyramid::test::DataPath("L7_ETMs.tif");
#ifndef FLATPYRAMID_TESTING_FILES_H_
#define FLATPYRAMID_TESTING_FILES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace flatpyramid {
namespace test {

// DataPath returns the path of `name` in //testing/data as the test sees it (runfiles).
std::string DataPath(absl::string_view name);

// Where a TempDir lives.
enum class Filesystem {
  kDisk,   // Under $TEST_TMPDIR (Bazel's output base, a real disk: ext4 here).
  kTmpfs,  // Under /dev/shm: tmpfs, where fallocate(FALLOC_FL_INSERT_RANGE) is refused.
};

// TempDir is a fresh, empty directory, removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(Filesystem filesystem = Filesystem::kDisk);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Path returns `path()/name`.
  std::string Path(absl::string_view name) const;

 private:
  std::string path_;
};

// ReadFileOrDie returns the whole file; the test fails (aborts) when it cannot be read.
std::string ReadFileOrDie(const std::string& path);

}  // namespace test
}  // namespace flatpyramid

#endif  // FLATPYRAMID_TESTING_FILES_H_
