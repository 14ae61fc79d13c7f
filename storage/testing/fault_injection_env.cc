#include "storage/testing/fault_injection_env.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <random>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace storage {
namespace test {
namespace {

constexpr uint64_t kShiftSteps = 4;  // Steps of a partial INSERT_RANGE/COLLAPSE_RANGE shift.

// Step length that moves `tail` bytes in at most kShiftSteps block-aligned steps.
uint64_t ShiftStep(uint64_t tail) {
  const uint64_t step = (tail + kShiftSteps - 1) / kShiftSteps;
  return std::max<uint64_t>(4096, (step + 4095) / 4096 * 4096);
}

// Tears `op` (a write) at a random byte.
FaultInjectionEnv::Operation Torn(FaultInjectionEnv::Operation op, std::mt19937_64& random) {
  op.data.resize(random() % (op.data.size() + 1));
  return op;
}

absl::Status ApplyTo(const FaultInjectionEnv::Operation& op, std::string* bytes) {
  using Op = FaultInjectionEnv::Operation;
  switch (op.kind) {
    case Op::kWrite:
      if (bytes->size() < op.offset + op.data.size()) bytes->resize(op.offset + op.data.size());
      bytes->replace(op.offset, op.data.size(), op.data);
      return absl::OkStatus();
    case Op::kTruncate:
      bytes->resize(op.offset);
      return absl::OkStatus();
    case Op::kInsert:
      if (op.offset >= bytes->size()) return absl::UnimplementedError("insert at or past EOF");
      bytes->insert(op.offset, op.length, '\0');
      return absl::OkStatus();
    case Op::kCollapse:
      if (op.offset + op.length >= bytes->size()) {
        return absl::UnimplementedError("collapse reaching EOF");
      }
      bytes->erase(op.offset, op.length);
      return absl::OkStatus();
    case Op::kPunch:
      if (op.offset < bytes->size()) {
        std::fill_n(bytes->begin() + op.offset,
                    std::min<uint64_t>(op.length, bytes->size() - op.offset), '\0');
      }
      return absl::OkStatus();
    case Op::kShift: {
      if (op.offset + op.length > bytes->size() || op.to + op.length > bytes->size()) {
        return absl::InternalError("shift step outside the file");
      }
      const std::string moved = bytes->substr(op.offset, op.length);
      std::fill_n(bytes->begin() + op.offset, op.length, '\0');
      bytes->replace(op.to, op.length, moved);
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown operation");
}

class MemoryRegion : public MappedRegion {
 public:
  explicit MemoryRegion(std::string bytes) : bytes_(std::move(bytes)) {}
  absl::string_view data() const override { return bytes_; }

 private:
  std::string bytes_;
};

}  // namespace

class FaultInjectionFile : public File {
 public:
  FaultInjectionFile(FaultInjectionEnv* env, std::string path, bool writable)
      : env_(env), path_(std::move(path)), writable_(writable) {}

  ~FaultInjectionFile() override {
    absl::MutexLock lock(&env_->mutex_);
    FaultInjectionEnv::FileState& state = env_->files_[path_];
    if (lock_ == LockMode::kShared) --state.shared_locks;
    if (lock_ == LockMode::kExclusive) state.exclusive_lock = false;
    --env_->open_files_;
  }

  const std::string& path() const override { return path_; }

  absl::Status Read(uint64_t offset, size_t length, char* out) override {
    env_->RunReadHook();
    absl::MutexLock lock(&env_->mutex_);
    const std::string& bytes = env_->files_[path_].current;
    if (offset > bytes.size() || length > bytes.size() - offset) {
      return absl::OutOfRangeError(absl::StrCat(path_, ": read past the end at ", offset));
    }
    std::copy_n(bytes.data() + offset, length, out);
    return absl::OkStatus();
  }

  absl::Status Write(uint64_t offset, absl::string_view data) override {
    return Mutate({FaultInjectionEnv::Operation::kWrite, offset, data.size(), std::string(data)});
  }
  absl::Status SyncData() override {
    if (!writable_) return absl::OkStatus();
    absl::Status status = env_->Count();
    if (!status.ok()) return status;
    return env_->Sync(path_);
  }
  absl::StatusOr<uint64_t> Size() override {
    absl::MutexLock lock(&env_->mutex_);
    return env_->files_[path_].current.size();
  }
  absl::Status Truncate(uint64_t size) override {
    return Mutate({FaultInjectionEnv::Operation::kTruncate, size, 0, ""});
  }
  absl::Status InsertRange(uint64_t offset, uint64_t length) override {
    using Op = FaultInjectionEnv::Operation;
    if (!env_->options_.supports_insert_range) {
      return absl::UnimplementedError(path_ + ": INSERT_RANGE not supported (simulated)");
    }
    if (!env_->options_.partial_range_shifts) return Mutate({Op::kInsert, offset, length, ""});
    const uint64_t size = CurrentSize();
    if (offset >= size) return absl::UnimplementedError(path_ + ": insert at or past EOF");
    // The size first, then the tail from its end backwards (xfs_insert_file_space,
    // ext4_insert_range).
    absl::Status status = Mutate({Op::kTruncate, size + length, 0, ""});
    const uint64_t step = ShiftStep(size - offset);
    for (uint64_t end = size; status.ok() && end > offset;) {
      const uint64_t begin = end - std::min(step, end - offset);
      status = Mutate({Op::kShift, begin, end - begin, "", begin + length});
      end = begin;
    }
    return status;
  }
  absl::Status CollapseRange(uint64_t offset, uint64_t length) override {
    using Op = FaultInjectionEnv::Operation;
    if (!env_->options_.supports_insert_range) {
      return absl::UnimplementedError(path_ + ": COLLAPSE_RANGE not supported (simulated)");
    }
    if (!env_->options_.partial_range_shifts) return Mutate({Op::kCollapse, offset, length, ""});
    const uint64_t size = CurrentSize();
    if (offset + length >= size) return absl::UnimplementedError(path_ + ": collapse to EOF");
    // The range freed, the tail from its front, then the size (xfs_collapse_file_space).
    absl::Status status = Mutate({Op::kPunch, offset, length, ""});
    const uint64_t step = ShiftStep(size - offset - length);
    for (uint64_t begin = offset + length; status.ok() && begin < size;) {
      const uint64_t end = std::min(size, begin + step);
      status = Mutate({Op::kShift, begin, end - begin, "", begin - length});
      begin = end;
    }
    if (status.ok()) status = Mutate({Op::kTruncate, size - length, 0, ""});
    return status;
  }
  absl::Status PunchHole(uint64_t offset, uint64_t length) override {
    if (!env_->options_.supports_punch_hole) {
      return absl::UnimplementedError(path_ + ": PUNCH_HOLE not supported (simulated)");
    }
    return Mutate({FaultInjectionEnv::Operation::kPunch, offset, length, ""});
  }
  absl::StatusOr<uint64_t> NextData(uint64_t offset) override {
    return offset;  // No hole tracking: everything may be data.
  }
  absl::Status TryLock(LockMode mode) override {
    absl::MutexLock lock(&env_->mutex_);
    FaultInjectionEnv::FileState& state = env_->files_[path_];
    if (state.exclusive_lock || (mode == LockMode::kExclusive && state.shared_locks > 0)) {
      return absl::UnavailableError(path_ + ": locked (simulated)");
    }
    if (mode == LockMode::kShared) {
      ++state.shared_locks;
    } else {
      state.exclusive_lock = true;
    }
    lock_ = mode;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<MappedRegion>> Map(uint64_t length) override {
    absl::MutexLock lock(&env_->mutex_);
    const std::string& bytes = env_->files_[path_].current;
    if (length == 0 || length > bytes.size()) {
      return absl::InvalidArgumentError(path_ + ": bad map length");
    }
    return std::unique_ptr<MappedRegion>(new MemoryRegion(bytes.substr(0, length)));
  }
  absl::StatusOr<uint64_t> AllocatedBytes() override {
    absl::MutexLock lock(&env_->mutex_);
    const std::string& bytes = env_->files_[path_].current;
    return static_cast<uint64_t>(bytes.size() -
                                 static_cast<size_t>(std::count(bytes.begin(), bytes.end(), '\0')));
  }

 private:
  uint64_t CurrentSize() {
    absl::MutexLock lock(&env_->mutex_);
    return env_->files_[path_].current.size();
  }

  absl::Status Mutate(FaultInjectionEnv::Operation operation) {
    if (!writable_) return absl::PermissionDeniedError(path_ + ": opened read-only");
    bool injected = false;
    absl::Status status = env_->Count(&injected);
    if (!status.ok()) {
      // An injected ENOSPC/EIO in a write: like a short write followed by the error.
      if (injected && operation.kind == FaultInjectionEnv::Operation::kWrite) {
        operation.data.resize(operation.data.size() / 2);
        operation.length = operation.data.size();
        if (!operation.data.empty()) (void)env_->Apply(path_, std::move(operation));
      }
      return status;
    }
    return env_->Apply(path_, std::move(operation));
  }

  FaultInjectionEnv* env_;
  std::string path_;
  bool writable_;
  std::optional<LockMode> lock_;
};

FaultInjectionEnv::FaultInjectionEnv(const Options& options) : options_(options) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

absl::StatusOr<std::unique_ptr<File>> FaultInjectionEnv::Open(const std::string& path,
                                                              OpenMode mode) {
  absl::MutexLock lock(&mutex_);
  const bool exists = files_.count(path) > 0;
  if (!exists && (mode == OpenMode::kReadOnly || mode == OpenMode::kReadWrite)) {
    return absl::NotFoundError(path + ": no such file (simulated)");
  }
  if (exists && mode == OpenMode::kCreateExclusive) {
    return absl::AlreadyExistsError(path + ": exists (simulated)");
  }
  if (!exists) files_[path] = NewFile();  // Creation is durable at once.
  ++open_files_;
  return std::unique_ptr<File>(new FaultInjectionFile(this, path, mode != OpenMode::kReadOnly));
}

FaultInjectionEnv::FileState FaultInjectionEnv::NewFile() {
  FileState state;
  state.inode = next_inode_++;
  state.modified = count_;
  return state;
}

absl::StatusOr<FileInfo> FaultInjectionEnv::Stat(const std::string& path) {
  absl::MutexLock lock(&mutex_);
  FileInfo info;
  info.device = 1;
  auto it = files_.find(path);
  if (it != files_.end()) {
    info.size = it->second.current.size();
    info.regular = true;
    info.inode = it->second.inode;
    info.modified_ns = it->second.modified;
    return info;
  }
  if (directories_.count(path) > 0) {
    info.directory = true;
    return info;
  }
  for (const auto& [name, state] : files_) {
    if (name.size() > path.size() && name.compare(0, path.size(), path) == 0 &&
        name[path.size()] == '/') {
      info.directory = true;
      return info;
    }
  }
  return absl::NotFoundError(path + ": no such file (simulated)");
}

absl::Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  absl::Status status = Count();
  if (!status.ok()) return status;
  absl::MutexLock lock(&mutex_);
  auto it = files_.find(from);
  if (it == files_.end()) return absl::NotFoundError(from + ": no such file (simulated)");
  if (from == to) return absl::OkStatus();
  NameChange change{from, to, std::nullopt};
  if (auto old = files_.find(to); old != files_.end()) change.replaced = old->second;
  FileState moved = std::move(it->second);
  files_.erase(it);
  files_[to] = std::move(moved);
  unsynced_names_.push_back(std::move(change));
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  absl::Status status = Count();
  if (!status.ok()) return status;
  absl::MutexLock lock(&mutex_);
  auto it = files_.find(path);
  if (it == files_.end()) return absl::NotFoundError(path + ": no such file (simulated)");
  unsynced_names_.push_back({"", path, std::move(it->second)});
  files_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FaultInjectionEnv::GetChildren(const std::string& dir) {
  absl::MutexLock lock(&mutex_);
  std::vector<std::string> names;
  for (const auto& [path, state] : files_) {
    if (ParentDirectory(path) == dir) names.push_back(path.substr(path.find_last_of('/') + 1));
  }
  return names;
}

absl::Status FaultInjectionEnv::SyncDirectory(const std::string& dir) {
  absl::Status status = Count();
  if (!status.ok()) return status;
  absl::MutexLock lock(&mutex_);
  std::vector<NameChange> kept;
  for (NameChange& change : unsynced_names_) {
    if (ParentDirectory(change.to) != dir) kept.push_back(std::move(change));
  }
  unsynced_names_ = std::move(kept);
  return absl::OkStatus();
}

void FaultInjectionEnv::AddDirectory(const std::string& dir) {
  absl::MutexLock lock(&mutex_);
  directories_.insert(dir);
}

void FaultInjectionEnv::UndoNameChange(const NameChange& change) {
  auto it = files_.find(change.to);
  if (!change.from.empty() && it != files_.end()) {
    files_[change.from] = std::move(it->second);
    files_.erase(change.to);
  }
  if (change.replaced.has_value()) files_[change.to] = *change.replaced;
}

void FaultInjectionEnv::CrashAfter(int64_t operations) {
  absl::MutexLock lock(&mutex_);
  count_ = 0;
  crash_at_ = operations;
}

void FaultInjectionEnv::FailOperation(int64_t operation, absl::Status error) {
  absl::MutexLock lock(&mutex_);
  count_ = 0;
  fail_at_ = operation;
  fail_error_ = std::move(error);
}

int64_t FaultInjectionEnv::operation_count() const {
  absl::MutexLock lock(&const_cast<FaultInjectionEnv*>(this)->mutex_);
  return count_;
}

absl::Status FaultInjectionEnv::Count(bool* injected) {
  absl::MutexLock lock(&mutex_);
  const int64_t index = count_++;
  if (crash_at_ >= 0 && index >= crash_at_) {
    return absl::AbortedError(absl::StrCat("simulated crash at operation ", index));
  }
  if (index == fail_at_) {
    if (injected != nullptr) *injected = true;
    return fail_error_;
  }
  return absl::OkStatus();
}

void FaultInjectionEnv::SetReadHook(std::function<void()> hook) {
  absl::MutexLock lock(&mutex_);
  read_hook_ = std::move(hook);
}

void FaultInjectionEnv::RunReadHook() {
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mutex_);
    if (!read_hook_ || in_read_hook_) return;
    hook = read_hook_;
    in_read_hook_ = true;
  }
  hook();
  absl::MutexLock lock(&mutex_);
  in_read_hook_ = false;
}

FaultInjectionEnv::Snapshot FaultInjectionEnv::TakeSnapshot() const {
  absl::MutexLock lock(&const_cast<FaultInjectionEnv*>(this)->mutex_);
  return Snapshot{files_, unsynced_names_};
}

void FaultInjectionEnv::Restore(Snapshot snapshot) {
  absl::MutexLock lock(&mutex_);
  files_ = std::move(snapshot.files);
  unsynced_names_ = std::move(snapshot.unsynced_names);
}

absl::Status FaultInjectionEnv::Apply(const std::string& path, Operation operation) {
  absl::MutexLock lock(&mutex_);
  FileState& state = files_[path];
  absl::Status status = ApplyTo(operation, &state.current);
  if (!status.ok()) return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  state.modified = count_;
  state.unsynced.push_back(std::move(operation));
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::Sync(const std::string& path) {
  absl::MutexLock lock(&mutex_);
  FileState& state = files_[path];
  // Replaying the log is cheaper than copying the file, and gives the same bytes.
  for (const Operation& op : state.unsynced) (void)ApplyTo(op, &state.durable);
  state.unsynced.clear();
  return absl::OkStatus();
}

void FaultInjectionEnv::Crash(CrashMode mode, uint64_t seed) {
  absl::MutexLock lock(&mutex_);
  std::mt19937_64 random(seed);
  size_t keep_names = unsynced_names_.size();
  if (mode == CrashMode::kDropUnsynced) keep_names = 0;
  if (mode == CrashMode::kKeepRandomPrefix || mode == CrashMode::kKeepRandomSubset) {
    keep_names = random() % (unsynced_names_.size() + 1);
  }
  while (unsynced_names_.size() > keep_names) {
    UndoNameChange(unsynced_names_.back());
    unsynced_names_.pop_back();
  }
  unsynced_names_.clear();
  for (auto& [path, state] : files_) {
    switch (mode) {
      case CrashMode::kDropUnsynced:
        break;
      case CrashMode::kKeepUnsynced:
        state.durable = state.current;
        break;
      case CrashMode::kKeepRandomPrefix: {
        const size_t keep = state.unsynced.empty() ? 0 : random() % (state.unsynced.size() + 1);
        for (size_t i = 0; i < keep; ++i) (void)ApplyTo(state.unsynced[i], &state.durable);
        if (keep < state.unsynced.size() && state.unsynced[keep].kind == Operation::kWrite) {
          (void)ApplyTo(Torn(state.unsynced[keep], random), &state.durable);
        }
        break;
      }
      case CrashMode::kKeepRandomSubset:
        for (const Operation& op : state.unsynced) {
          const uint64_t dice = random() % 4;
          if (op.kind != Operation::kWrite) {
            if (dice < 2) break;
            (void)ApplyTo(op, &state.durable);
            continue;
          }
          if (dice == 0) continue;
          (void)ApplyTo(dice == 1 ? Torn(op, random) : op, &state.durable);
        }
        break;
    }
    state.current = state.durable;
    state.unsynced.clear();
    state.shared_locks = 0;
    state.exclusive_lock = false;
  }
  count_ = 0;
  crash_at_ = -1;
  fail_at_ = -1;
}

std::string FaultInjectionEnv::Contents(const std::string& path) const {
  absl::MutexLock lock(&const_cast<FaultInjectionEnv*>(this)->mutex_);
  auto it = files_.find(path);
  return it == files_.end() ? std::string() : it->second.current;
}

void FaultInjectionEnv::SetContents(const std::string& path, std::string bytes) {
  absl::MutexLock lock(&mutex_);
  if (files_.count(path) == 0) files_[path] = NewFile();
  FileState& state = files_[path];
  state.modified = count_;
  state.durable = bytes;
  state.current = std::move(bytes);
  state.unsynced.clear();
}

int64_t CrashPointStride() {
  const char* value = std::getenv("FLATPYRAMID_CRASH_POINT_STRIDE");
  int64_t stride = 1;
  if (value == nullptr || !absl::SimpleAtoi(value, &stride) || stride < 1) return 1;
  return stride;
}

}  // namespace test
}  // namespace storage
}  // namespace flatpyramid
