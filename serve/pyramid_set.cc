#include "serve/pyramid_set.h"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace flatpyramid {
namespace serve {
namespace {

// FileIdentity tells one file version from another: a rename puts a new inode at the path,
// an in-place rewrite changes size or mtime.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity& o) const {
    return device == o.device && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
  }
};

bool StatIdentity(const std::string& path, FileIdentity* id) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  id->device = st.st_dev;
  id->inode = st.st_ino;
  id->size = st.st_size;
  id->mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

// NextVersion numbers every Reader any PyramidSet opens.
uint64_t NextVersion() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::Status CheckName(absl::string_view name, absl::string_view path) {
  bool bad = name.empty() || name[0] == '_' || name[0] == '.';
  for (char c : name) bad |= static_cast<unsigned char>(c) < 0x20 || c == '/' || c == '\\';
  if (bad) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": the file name \"", name,
        "\" cannot name a pyramid in URLs (empty, or starts with '_' or '.'): rename the file"));
  }
  return absl::OkStatus();
}

}  // namespace

struct PyramidSet::Entry {
  std::string path;
  // next_check_ns is when the next caller of Get stats the file (steady clock); the caller
  // that moves it forward does the check, the others do not wait.
  std::atomic<int64_t> next_check_ns{0};
  mutable absl::Mutex mu;
  std::shared_ptr<const pyramid::Reader> reader ABSL_GUARDED_BY(mu);
  uint64_t version ABSL_GUARDED_BY(mu) = 0;
  FileIdentity identity ABSL_GUARDED_BY(mu);
};

PyramidSet::~PyramidSet() = default;

std::string PyramidSet::NameForPath(absl::string_view path) {
  const size_t slash = path.rfind('/');
  absl::string_view file = slash == absl::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = file.rfind('.');
  return std::string(dot == absl::string_view::npos || dot == 0 ? file : file.substr(0, dot));
}

absl::StatusOr<std::unique_ptr<PyramidSet>> PyramidSet::Open(const std::vector<std::string>& paths,
                                                             const PyramidSetOptions& options) {
  std::unique_ptr<PyramidSet> set(new PyramidSet());
  set->options_ = options;
  if (set->options_.cache == nullptr) {
    set->options_.cache = std::make_shared<pyramid::TileCache>(options.cache_bytes);
  }
  for (const std::string& path : paths) {
    const std::string name = NameForPath(path);
    if (absl::Status s = CheckName(name, path); !s.ok()) return s;
    for (const std::string& other : set->names_) {
      if (other == name) {
        return absl::InvalidArgumentError(absl::StrCat("two pyramids are named \"", name, "\" (",
                                                       path, "): rename one of the files"));
      }
    }
    auto entry = std::make_unique<Entry>();
    entry->path = path;
    FileIdentity identity;
    StatIdentity(path, &identity);
    pyramid::ReaderOptions reader_options;
    reader_options.cache = set->options_.cache;
    absl::StatusOr<std::unique_ptr<pyramid::Reader>> reader =
        pyramid::Reader::Open(path, reader_options);
    if (!reader.ok()) return reader.status();
    {
      absl::MutexLock lock(&entry->mu);
      entry->reader = std::move(*reader);
      entry->identity = identity;
      entry->version = NextVersion();
    }
    entry->next_check_ns = NowNanos() + absl::ToInt64Nanoseconds(options.recheck_interval);
    set->names_.push_back(name);
    set->entries_.push_back(std::move(entry));
  }
  return set;
}

std::shared_ptr<const pyramid::Reader> PyramidSet::Get(absl::string_view name,
                                                       uint64_t* version) const {
  Entry* entry = nullptr;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) entry = entries_[i].get();
  }
  if (entry == nullptr) return nullptr;
  const int64_t now = NowNanos();
  int64_t due = entry->next_check_ns.load(std::memory_order_relaxed);
  const int64_t next = now + absl::ToInt64Nanoseconds(options_.recheck_interval);
  if (now >= due && entry->next_check_ns.compare_exchange_strong(due, next)) {
    FileIdentity identity;
    bool changed = false;
    if (StatIdentity(entry->path, &identity)) {
      absl::ReaderMutexLock lock(&entry->mu);
      changed = !(identity == entry->identity);
    }
    if (changed) {
      pyramid::ReaderOptions reader_options;
      reader_options.cache = options_.cache;
      absl::StatusOr<std::unique_ptr<pyramid::Reader>> reader =
          pyramid::Reader::Open(entry->path, reader_options);
      if (reader.ok()) {
        std::shared_ptr<const pyramid::Reader> fresh = std::move(*reader);
        absl::MutexLock lock(&entry->mu);
        entry->reader.swap(fresh);
        entry->identity = identity;
        entry->version = NextVersion();
        // `fresh` now holds the old Reader; requests still using it keep it alive.
      }
    }
  }
  absl::ReaderMutexLock lock(&entry->mu);
  if (version != nullptr) *version = entry->version;
  return entry->reader;
}

}  // namespace serve
}  // namespace flatpyramid
