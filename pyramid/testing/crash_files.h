// Crash-test helpers over pyramid files: an Env that keeps one directory in storage's
// fault-injection Env and the rest on the real filesystem (inputs GDAL reads), and a
// comparable snapshot of a sealed pyramid (every section's entries, the metadata).
#ifndef FLATPYRAMID_PYRAMID_TESTING_CRASH_FILES_H_
#define FLATPYRAMID_PYRAMID_TESTING_CRASH_FILES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/env.h"
#include "storage/testing/fault_injection_env.h"

namespace flatpyramid {
namespace test {

// SplitEnv sends the paths under `dir` to `faults` and every other path to the real Env.
class SplitEnv : public storage::Env {
 public:
  SplitEnv(std::string dir, storage::test::FaultInjectionEnv* faults)
      : dir_(std::move(dir)), faults_(faults) {}
  absl::StatusOr<std::unique_ptr<storage::File>> Open(const std::string& path,
                                                      storage::OpenMode mode) override;
  absl::StatusOr<storage::FileInfo> Stat(const std::string& path) override;
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override;
  absl::Status SyncDirectory(const std::string& dir) override;

 private:
  storage::Env* For(const std::string& path);
  std::string dir_;
  storage::test::FaultInjectionEnv* faults_;
};

// PyramidContent is what a sealed pyramid holds: every section's entries and its metadata
// without the creation time.
struct PyramidContent {
  std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> sections;
  std::string metadata;
  bool operator==(const PyramidContent& other) const {
    return sections == other.sections && metadata == other.metadata;
  }
};

// ReadPyramidContent reads and verifies the sealed pyramid at `path` through `env`. A torn
// second copy of the sealed header (which leaves the first, same content) is accepted, as
// storage/FORMAT.md allows; any other verification failure is returned.
absl::StatusOr<PyramidContent> ReadPyramidContent(storage::Env* env, const std::string& path);

}  // namespace test
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_TESTING_CRASH_FILES_H_
