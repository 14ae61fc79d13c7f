// FaultInjectionEnv: an in-memory Env for crash and error testing (testonly).
//
// Every file has a durable image (what survives a crash) and a log of the operations done
// since its last SyncData. Operations that change a file (Write, Truncate, InsertRange,
// CollapseRange, PunchHole, SyncData) are numbered from 0; a test can make the N-th one and
// every later one fail as if the process had died (CrashAfter), or make only the N-th fail with
// a chosen error such as ENOSPC (FailOperation). Crash() then decides what reached the disk:
// nothing unsynced, everything, an ordered prefix of the unsynced operations with the next
// write torn at a 512-byte sector boundary, or a random subset of the unsynced writes.
//
// Example:
//   FaultInjectionEnv env;
//   env.CrashAfter(17);
//   RunWorkload(&env);                       // Stops at the first error.
//   env.Crash(FaultInjectionEnv::CrashMode::kDropUnsynced, /*seed=*/0);
//   CheckFile(&env);                         // Reopen and compare with the last commit.
#ifndef FLATPYRAMID_STORAGE_TESTING_FAULT_INJECTION_ENV_H_
#define FLATPYRAMID_STORAGE_TESTING_FAULT_INJECTION_ENV_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/env.h"

namespace flatpyramid {
namespace storage {
namespace test {

class FaultInjectionEnv : public Env {
 public:
  struct Options {
    bool supports_insert_range = true;  // false models tmpfs (kUnimplemented, as EOPNOTSUPP).
    bool supports_punch_hole = true;
  };

  enum class CrashMode {
    kDropUnsynced,      // Only what SyncData made durable survives.
    kKeepUnsynced,      // Everything done survives.
    kKeepRandomPrefix,  // The first k unsynced operations (k random), the next write torn.
    // Each unsynced write independently kept, dropped or torn (disks reorder data writes);
    // a dropped size or layout change drops everything after it too (later writes went
    // through the new block map, so they cannot land without it).
    kKeepRandomSubset,
  };

  FaultInjectionEnv() : FaultInjectionEnv(Options()) {}
  explicit FaultInjectionEnv(const Options& options);
  ~FaultInjectionEnv() override;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;

  // CrashAfter makes operation number `operations` (counted from now) and every later one fail
  // with kAborted, without effect, until Crash().
  void CrashAfter(int64_t operations);
  // FailOperation makes only operation number `operation` (counted from now) fail with `error`.
  void FailOperation(int64_t operation, absl::Status error);
  // operation_count returns how many operations were counted since the last
  // CrashAfter/FailOperation/Crash (or construction).
  int64_t operation_count() const;

  // Crash chooses what survives (see CrashMode) for every file, then clears the faults.
  // REQUIRES: no File of this Env is open.
  void Crash(CrashMode mode, uint64_t seed);

  // Contents returns the current bytes of `path` (empty if absent); SetContents replaces them
  // (durably). For corruption tests.
  std::string Contents(const std::string& path) const;
  void SetContents(const std::string& path, std::string bytes);

  // Implementation detail shared with the File objects.
  struct Operation {
    enum Kind { kWrite, kTruncate, kInsert, kCollapse, kPunch } kind;
    uint64_t offset;
    uint64_t length;
    std::string data;
  };
  struct FileState {
    std::string durable;
    std::string current;
    std::vector<Operation> unsynced;
    int shared_locks = 0;
    bool exclusive_lock = false;
  };
  absl::Status Apply(const std::string& path, Operation operation);
  absl::Status Sync(const std::string& path);
  absl::Status Count();  // Counts one operation; returns the injected fault, if any.
  absl::Mutex mutex_;
  std::map<std::string, FileState> files_ ABSL_GUARDED_BY(mutex_);
  const Options options_;

 private:
  int64_t count_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t crash_at_ ABSL_GUARDED_BY(mutex_) = -1;
  int64_t fail_at_ ABSL_GUARDED_BY(mutex_) = -1;
  absl::Status fail_error_ ABSL_GUARDED_BY(mutex_);
  int open_files_ ABSL_GUARDED_BY(mutex_) = 0;
  friend class FaultInjectionFile;
};

}  // namespace test
}  // namespace storage
}  // namespace flatpyramid

#endif  // FLATPYRAMID_STORAGE_TESTING_FAULT_INJECTION_ENV_H_
