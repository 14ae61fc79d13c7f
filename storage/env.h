// The I/O seam of //storage: every file operation the Writer and Reader make goes through an
// Env, so that tests can stop a writer after any operation, drop what was not synced, and
// check that the file still opens as its last committed state (the role of LevelDB's Env).
//
// Env::Default() is the real POSIX implementation (pread/pwrite, fdatasync, fallocate,
// flock, mmap). A fault-injecting in-memory Env for tests is in //storage:fault_injection_env.
//
// Example:
//   Env* env = Env::Default();
//   absl::StatusOr<std::unique_ptr<File>> file = env->Open(path, OpenMode::kReadOnly);
//   if (!file.ok()) return file.status();
//   std::string buffer(16, '\0');
//   absl::Status status = (*file)->Read(0, buffer.size(), buffer.data());
//
// Threading: an Env is thread-safe. A File is thread-compatible (one thread at a time), except
// Read, which may be called concurrently.
#ifndef FLATPYRAMID_STORAGE_ENV_H_
#define FLATPYRAMID_STORAGE_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flatpyramid {
namespace storage {

// AccessPattern tells the kernel how a mapped range will be read (madvise).
enum class AccessPattern {
  kRandom,      // Single lookups: no readahead beyond the pages touched.
  kSequential,  // One pass from start to end (checksums): aggressive readahead.
};

// MappedRegion is a read-only view of the first bytes of a file; it stays valid until
// destroyed, independently of the File it came from.
class MappedRegion {
 public:
  virtual ~MappedRegion() = default;
  // data returns the mapped bytes.
  virtual absl::string_view data() const = 0;
  // Advise says how bytes [offset, offset + length) of data() will be read. It is a hint:
  // it changes speed, never results, and the default does nothing.
  virtual void Advise(uint64_t offset, uint64_t length, AccessPattern pattern) const {
    (void)offset;
    (void)length;
    (void)pattern;
  }
};

// OpenMode says how Env::Open opens a file.
enum class OpenMode {
  kReadOnly,         // Existing file, reads only.
  kReadWrite,        // Existing file.
  kCreateExclusive,  // New file; fails with kAlreadyExists if the path exists.
  kCreateOrOpen,     // New or existing file (contents kept: truncate after taking the lock).
};

// LockMode is an advisory whole-file lock (flock), released when the File is destroyed.
enum class LockMode { kShared, kExclusive };

// File is one open file.
class File {
 public:
  virtual ~File() = default;

  // path returns the path the file was opened with (for error messages).
  virtual const std::string& path() const = 0;

  // Read reads exactly `length` bytes at `offset` into `out`; reading past the end of the file
  // is an kOutOfRange error.
  virtual absl::Status Read(uint64_t offset, size_t length, char* out) = 0;

  // Write writes all of `data` at `offset`, extending the file if needed.
  // kResourceExhausted on ENOSPC, kDataLoss on EIO.
  virtual absl::Status Write(uint64_t offset, absl::string_view data) = 0;

  // SyncData makes every earlier Write, Truncate, InsertRange, CollapseRange and PunchHole
  // durable (fdatasync).
  virtual absl::Status SyncData() = 0;

  // StartWriteback asks the kernel to start writing the file's dirty pages now, without
  // waiting (sync_file_range SYNC_FILE_RANGE_WRITE), so that a later SyncData has less to
  // wait for. A hint: it makes nothing durable, and errors are left to SyncData.
  virtual void StartWriteback() {}

  // Size returns the file size in bytes.
  virtual absl::StatusOr<uint64_t> Size() = 0;

  // Truncate sets the file size; growing adds a hole.
  virtual absl::Status Truncate(uint64_t size) = 0;

  // InsertRange inserts a hole of `length` bytes at `offset`, shifting the bytes after it up
  // (fallocate FALLOC_FL_INSERT_RANGE). kUnimplemented where the filesystem refuses it
  // (EOPNOTSUPP or EINVAL: tmpfs, btrfs, NFS, unaligned ranges).
  // REQUIRES: offset < Size().
  virtual absl::Status InsertRange(uint64_t offset, uint64_t length) = 0;

  // CollapseRange removes [offset, offset + length), shifting the bytes after it down
  // (fallocate FALLOC_FL_COLLAPSE_RANGE). kUnimplemented where refused.
  // REQUIRES: offset + length < Size().
  virtual absl::Status CollapseRange(uint64_t offset, uint64_t length) = 0;

  // PunchHole turns [offset, offset + length) into a hole (zeros, no disk blocks), keeping the
  // size. kUnimplemented where refused.
  virtual absl::Status PunchHole(uint64_t offset, uint64_t length) = 0;

  // NextData returns the first offset >= `offset` that may hold data (lseek SEEK_DATA), or
  // Size() if only holes follow. Reporting data where there is a hole is allowed (a filesystem
  // without hole tracking reports everything as data); the reverse is not.
  virtual absl::StatusOr<uint64_t> NextData(uint64_t offset) = 0;

  // TryLock takes an advisory lock without waiting; kUnavailable when another open file
  // description holds a conflicting one.
  virtual absl::Status TryLock(LockMode mode) = 0;

  // Map maps the first `length` bytes read-only. REQUIRES: 0 < length <= Size().
  virtual absl::StatusOr<std::unique_ptr<MappedRegion>> Map(uint64_t length) = 0;

  // AllocatedBytes returns the disk space in use (st_blocks x 512): holes do not count.
  virtual absl::StatusOr<uint64_t> AllocatedBytes() = 0;

  // CopyFrom copies bytes [source_offset, source_offset + length) of `source` to `offset` of
  // this file, extending it if needed, as Write would. The POSIX Env copies in the kernel with
  // copy_file_range(2) (no pass through user space; XFS and btrfs share the blocks by reflink
  // when both offsets and the length are block aligned) and falls back to CopyThroughBuffer
  // where the kernel refuses (another filesystem, a kernel without it) or when `source` is of
  // another Env; the default is CopyThroughBuffer. kOutOfRange if `source` ends early: the
  // bytes copied before stay written. REQUIRES: source != this.
  virtual absl::Status CopyFrom(File* source, uint64_t source_offset, uint64_t offset,
                                uint64_t length);
};

// CopyThroughBuffer copies bytes [source_offset, source_offset + length) of `source` to
// `offset` of `destination` with Read and Write, 1 MiB at a time: the fallback of
// File::CopyFrom, which any two Files support.
absl::Status CopyThroughBuffer(File* source, uint64_t source_offset, File* destination,
                               uint64_t offset, uint64_t length);

// FileInfo is what Env::Stat reports about a path (following symbolic links).
struct FileInfo {
  uint64_t size = 0;
  bool regular = false;    // A regular file (not a directory, FIFO, device or socket).
  bool directory = false;  // A directory.
  // device and inode identify the file: two paths name the same file (through symbolic or hard
  // links, or "..") exactly when both are equal.
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t modified_ns = 0;  // Modification time, nanoseconds since the Unix epoch.
};

// Env opens, renames and removes files. Like LevelDB's, a rename or removal is durable only
// after SyncDirectory of the directory holding the name (a crash before may undo it); a new
// file's name is durable once the file is synced.
class Env {
 public:
  virtual ~Env() = default;

  // Open opens `path` as `mode` says. Only regular files open: a directory, FIFO, device or
  // socket is refused with kInvalidArgument naming the path and what it is (opening a FIFO
  // never waits for a writer).
  virtual absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;

  // Stat describes `path`, following symbolic links. kNotFound if nothing is there.
  virtual absl::StatusOr<FileInfo> Stat(const std::string& path) = 0;

  // FileExists is true when Stat(path) succeeds.
  bool FileExists(const std::string& path) { return Stat(path).ok(); }

  // RenameFile renames `from` to `to`, atomically replacing a file at `to` (rename(2)).
  // REQUIRES: no File of this Env is open on `from` (an open File keeps its old name).
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;

  // RemoveFile removes the file `path`. kNotFound if it does not exist.
  virtual absl::Status RemoveFile(const std::string& path) = 0;

  // GetChildren returns the names (not paths) of the entries of the directory `dir`, without
  // "." and "..", in no particular order.
  virtual absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) = 0;

  // SyncDirectory makes the creations, renames and removals of names in `dir` durable
  // (fsync of the directory).
  virtual absl::Status SyncDirectory(const std::string& dir) = 0;

  // Default returns the process-wide POSIX Env. Never null; never destroyed.
  static Env* Default();
};

// ParentDirectory returns the directory part of `path` ("." for a bare name, "/" for "/x").
std::string ParentDirectory(const std::string& path);

}  // namespace storage
}  // namespace flatpyramid

#endif  // FLATPYRAMID_STORAGE_ENV_H_
