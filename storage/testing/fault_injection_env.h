// FaultInjectionEnv: an in-memory Env for crash and error testing (testonly).
//
// Every file has a durable image (what survives a crash) and a log of the operations done
// since its last SyncData. Operations that change a file (Write, Truncate, InsertRange,
// CollapseRange, PunchHole, SyncData) are numbered from 0; a test can make the N-th one and
// every later one fail as if the process had died (CrashAfter), or make only the N-th fail with
// a chosen error such as ENOSPC (FailOperation; a failing write leaves its first half written,
// like a short write). Crash() then decides what reached the disk: nothing unsynced,
// everything, an ordered prefix of the unsynced operations with the next write torn at any
// byte, or a random subset of the unsynced writes.
//
// InsertRange and CollapseRange are atomic unless Options::partial_range_shifts: then they run
// in steps, as XFS and ext4 do them (each step its own journal transaction, so a crash can keep
// any prefix of them). INSERT_RANGE: the size grows first, then the tail moves up from its end
// backwards in up to 4 steps. COLLAPSE_RANGE: the range is freed, the tail moves down from its
// front in up to 4 steps, then the size shrinks. Every step is one operation (a crash point).
//
// Names: RenameFile and RemoveFile are operations too (crash points); they take effect at once
// but, as on a real filesystem, survive a crash only after SyncDirectory of the directory
// (also an operation): Crash() undoes the unsynced ones (kDropUnsynced), keeps them
// (kKeepUnsynced) or keeps a random prefix of them (the other modes: a journal orders them).
// A new file's name is durable at once. Every file is regular; Stat reports device 1 and an
// inode unique to the file, and a modification stamp that grows with every change.
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
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
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
    bool partial_range_shifts = false;  // INSERT_RANGE/COLLAPSE_RANGE in crashable steps.
  };

  enum class CrashMode {
    kDropUnsynced,      // Only what SyncData made durable survives.
    kKeepUnsynced,      // Everything done survives.
    kKeepRandomPrefix,  // The first k unsynced operations (k random), the next write torn.
    // Each unsynced write independently kept, dropped or torn at a random byte (disks reorder
    // data writes);
    // a dropped size or layout change drops everything after it too (later writes went
    // through the new block map, so they cannot land without it).
    kKeepRandomSubset,
  };

  FaultInjectionEnv() : FaultInjectionEnv(Options()) {}
  explicit FaultInjectionEnv(const Options& options);
  ~FaultInjectionEnv() override;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::StatusOr<FileInfo> Stat(const std::string& path) override;
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override;
  absl::Status SyncDirectory(const std::string& dir) override;

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

  // AddDirectory makes Stat report `dir` as a directory even while no file is in it.
  void AddDirectory(const std::string& dir);

  // SetReadHook makes every File::Read of this Env first call `hook` (not from within itself),
  // so that a test can change a file between two reads of a Reader. Empty: no hook.
  void SetReadHook(std::function<void()> hook);

  // Implementation detail shared with the File objects.
  struct Operation {
    // kShift moves [offset, offset + length) to `to`, leaving zeros where it was (one step of
    // a partial INSERT_RANGE/COLLAPSE_RANGE).
    enum Kind { kWrite, kTruncate, kInsert, kCollapse, kPunch, kShift } kind;
    uint64_t offset;
    uint64_t length;
    std::string data;
    uint64_t to = 0;
  };
  struct FileState {
    std::string durable;
    std::string current;
    std::vector<Operation> unsynced;
    int shared_locks = 0;
    bool exclusive_lock = false;
    uint64_t inode = 0;
    int64_t modified = 0;  // Stamp of the last change (Stat's modified_ns).
  };
  // Snapshot is every file's state; TakeSnapshot and Restore let a test try several crash
  // modes on one run. REQUIRES (both): no File of this Env is open.
  // A rename or removal not yet made durable by SyncDirectory, and how to undo it.
  struct NameChange {
    std::string from;                   // Empty for a removal.
    std::string to;                     // The renamed-to or removed path.
    std::optional<FileState> replaced;  // What was at `to` before.
  };
  struct Snapshot {
    std::map<std::string, FileState> files;
    std::vector<NameChange> unsynced_names;
  };
  Snapshot TakeSnapshot() const;
  void Restore(Snapshot snapshot);

  absl::Status Apply(const std::string& path, Operation operation);
  // NewFile returns the state of a new, empty file (with its own inode).
  FileState NewFile() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::Status Sync(const std::string& path);
  // Counts one operation; returns the injected fault, if any (`injected` tells a FailOperation
  // error from a crash).
  absl::Status Count(bool* injected = nullptr);
  void RunReadHook();
  absl::Mutex mutex_;
  std::map<std::string, FileState> files_ ABSL_GUARDED_BY(mutex_);
  const Options options_;

 private:
  void UndoNameChange(const NameChange& change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  std::vector<NameChange> unsynced_names_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_inode_ ABSL_GUARDED_BY(mutex_) = 1;
  std::set<std::string> directories_ ABSL_GUARDED_BY(mutex_);
  int64_t count_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t crash_at_ ABSL_GUARDED_BY(mutex_) = -1;
  int64_t fail_at_ ABSL_GUARDED_BY(mutex_) = -1;
  absl::Status fail_error_ ABSL_GUARDED_BY(mutex_);
  int open_files_ ABSL_GUARDED_BY(mutex_) = 0;
  std::function<void()> read_hook_ ABSL_GUARDED_BY(mutex_);
  bool in_read_hook_ ABSL_GUARDED_BY(mutex_) = false;
  friend class FaultInjectionFile;
};

// CrashPointStride is the distance between the crash points a long crash test tries: 1 (every
// operation) unless the environment variable FLATPYRAMID_CRASH_POINT_STRIDE holds a larger
// number. .bazelrc's sanitize configuration sets one: its instrumented build is several times
// slower, and the plain run already tries every point.
int64_t CrashPointStride();

}  // namespace test
}  // namespace storage
}  // namespace flatpyramid

#endif  // FLATPYRAMID_STORAGE_TESTING_FAULT_INJECTION_ENV_H_
