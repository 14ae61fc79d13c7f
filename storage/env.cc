#include "storage/env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace storage {
namespace {

absl::Status ErrnoStatus(int error, absl::string_view what, const std::string& path) {
  const std::string message = absl::StrCat(path, ": ", what, ": ", std::strerror(error));
  switch (error) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case ENOMEM:
      return absl::ResourceExhaustedError(message);
    case EIO:
      return absl::DataLossError(message);
    case EWOULDBLOCK:
      return absl::UnavailableError(message);
    case EOPNOTSUPP:
    case EINVAL:
      return absl::UnimplementedError(message);
    case EISDIR:
    case ENOTDIR:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

class PosixMappedRegion : public MappedRegion {
 public:
  PosixMappedRegion(void* base, size_t length) : base_(base), length_(length) {}
  ~PosixMappedRegion() override { ::munmap(base_, length_); }
  absl::string_view data() const override {
    return absl::string_view(static_cast<const char*>(base_), length_);
  }
  void Advise(uint64_t offset, uint64_t length, AccessPattern pattern) const override {
    // madvise wants a page-aligned start; round the range out to whole pages.
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    if (offset >= length_ || length == 0) return;
    const uint64_t end = std::min<uint64_t>(length_, offset + length);
    const uint64_t begin = offset / page * page;
    ::madvise(static_cast<char*>(base_) + begin, end - begin,
              pattern == AccessPattern::kRandom ? MADV_RANDOM : MADV_SEQUENTIAL);
  }

 private:
  void* base_;
  size_t length_;
};

class PosixFile : public File {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }

  const std::string& path() const override { return path_; }

  absl::Status Read(uint64_t offset, size_t length, char* out) override {
    while (length > 0) {
      const ssize_t n = ::pread(fd_, out, length, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, absl::StrCat("pread at ", offset), path_);
      }
      if (n == 0) {
        return absl::OutOfRangeError(
            absl::StrCat(path_, ": read past the end of the file at offset ", offset));
      }
      out += n;
      offset += static_cast<uint64_t>(n);
      length -= static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  absl::Status Write(uint64_t offset, absl::string_view data) override {
    const char* p = data.data();
    size_t length = data.size();
    while (length > 0) {
      const ssize_t n = ::pwrite(fd_, p, length, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, absl::StrCat("pwrite at ", offset), path_);
      }
      p += n;
      offset += static_cast<uint64_t>(n);
      length -= static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  absl::Status SyncData() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus(errno, "fdatasync", path_);
    return absl::OkStatus();
  }

  void StartWriteback() override { (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE); }

  absl::StatusOr<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus(errno, "fstat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

  absl::Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return ErrnoStatus(errno, absl::StrCat("ftruncate to ", size), path_);
    }
    return absl::OkStatus();
  }

  absl::Status InsertRange(uint64_t offset, uint64_t length) override {
    return Fallocate(FALLOC_FL_INSERT_RANGE, offset, length, "fallocate(INSERT_RANGE)");
  }

  absl::Status CollapseRange(uint64_t offset, uint64_t length) override {
    return Fallocate(FALLOC_FL_COLLAPSE_RANGE, offset, length, "fallocate(COLLAPSE_RANGE)");
  }

  absl::Status PunchHole(uint64_t offset, uint64_t length) override {
    return Fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length,
                     "fallocate(PUNCH_HOLE)");
  }

  absl::StatusOr<uint64_t> NextData(uint64_t offset) override {
    const off_t next = ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
    if (next >= 0) return static_cast<uint64_t>(next);
    if (errno == ENXIO) return Size();   // Only a hole after `offset`.
    if (errno == EINVAL) return offset;  // No SEEK_DATA here: everything may be data.
    return ErrnoStatus(errno, absl::StrCat("lseek(SEEK_DATA) at ", offset), path_);
  }

  absl::Status TryLock(LockMode mode) override {
    const int operation = (mode == LockMode::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB;
    while (::flock(fd_, operation) != 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "flock", path_);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<MappedRegion>> Map(uint64_t length) override {
    if (length == 0) return absl::InvalidArgumentError(path_ + ": cannot map 0 bytes");
    void* base = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd_, 0);
    if (base == MAP_FAILED) return ErrnoStatus(errno, "mmap", path_);
    return std::unique_ptr<MappedRegion>(new PosixMappedRegion(base, length));
  }

  absl::StatusOr<uint64_t> AllocatedBytes() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus(errno, "fstat", path_);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

  absl::Status CopyFrom(File* source, uint64_t source_offset, uint64_t offset,
                        uint64_t length) override {
    const auto* posix_source = dynamic_cast<const PosixFile*>(source);
    if (posix_source == nullptr) {
      return CopyThroughBuffer(source, source_offset, this, offset, length);
    }
    loff_t in = static_cast<loff_t>(source_offset);
    loff_t out = static_cast<loff_t>(offset);
    while (length > 0) {
      const ssize_t n = ::copy_file_range(posix_source->fd_, &in, fd_, &out, length, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        // Refused for these two files (another filesystem, or no kernel support): the rest
        // through a buffer.
        if (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) {
          return CopyThroughBuffer(source, static_cast<uint64_t>(in), this,
                                   static_cast<uint64_t>(out), length);
        }
        return ErrnoStatus(
            errno,
            absl::StrCat("copy_file_range from ", source->path(), " at ", in, " to offset ", out),
            path_);
      }
      if (n == 0) {
        return absl::OutOfRangeError(absl::StrCat(source->path(), ": ends before offset ", in,
                                                  " + ", length, " (copying to ", path_, ")"));
      }
      length -= static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Fallocate(int mode, uint64_t offset, uint64_t length, absl::string_view what) {
    while (::fallocate(fd_, mode, static_cast<off_t>(offset), static_cast<off_t>(length)) != 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat(what, " at ", offset, " length ", length), path_);
    }
    return absl::OkStatus();
  }

  std::string path_;
  int fd_;
};

// KindName says what a non-regular file is, for error messages.
const char* KindName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

FileInfo ToFileInfo(const struct stat& st) {
  FileInfo info;
  info.size = static_cast<uint64_t>(st.st_size);
  info.regular = S_ISREG(st.st_mode);
  info.directory = S_ISDIR(st.st_mode);
  info.device = static_cast<uint64_t>(st.st_dev);
  info.inode = static_cast<uint64_t>(st.st_ino);
  info.modified_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return info;
}

class PosixEnv : public Env {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    // O_NONBLOCK so that a FIFO opens at once (and is refused below) instead of waiting for a
    // writer; it changes nothing for a regular file.
    int flags = O_CLOEXEC | O_NONBLOCK;
    switch (mode) {
      case OpenMode::kReadOnly:
        flags |= O_RDONLY;
        break;
      case OpenMode::kReadWrite:
        flags |= O_RDWR;
        break;
      case OpenMode::kCreateExclusive:
        flags |= O_RDWR | O_CREAT | O_EXCL;
        break;
      case OpenMode::kCreateOrOpen:
        flags |= O_RDWR | O_CREAT;
        break;
    }
    int fd;
    do {
      fd = ::open(path.c_str(), flags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno == EISDIR) {
      return absl::InvalidArgumentError(path + ": is a directory, not a file");
    }
    if (fd < 0) return ErrnoStatus(errno, "open", path);
    auto file = std::make_unique<PosixFile>(path, fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "fstat", path);
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": is ", KindName(st.st_mode), ", not a regular file"));
    }
    if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
      return ErrnoStatus(errno, "fcntl", path);
    }
    return std::unique_ptr<File>(std::move(file));
  }

  absl::StatusOr<FileInfo> Stat(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", path);
    return ToFileInfo(st);
  }

  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoStatus(errno, absl::StrCat("rename to ", to), from);
    }
    return absl::OkStatus();
  }

  absl::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, "unlink", path);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoStatus(errno, "opendir", dir);
    std::vector<std::string> names;
    while (const struct dirent* entry = ::readdir(d)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    return names;
  }

  absl::Status SyncDirectory(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open directory", dir);
    const int result = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (result != 0) return ErrnoStatus(error, "fsync directory", dir);
    return absl::OkStatus();
  }
};

}  // namespace

absl::Status File::CopyFrom(File* source, uint64_t source_offset, uint64_t offset,
                            uint64_t length) {
  return CopyThroughBuffer(source, source_offset, this, offset, length);
}

absl::Status CopyThroughBuffer(File* source, uint64_t source_offset, File* destination,
                               uint64_t offset, uint64_t length) {
  constexpr uint64_t kBufferSize = 1 << 20;
  std::string buffer(std::min(length, kBufferSize), '\0');
  while (length > 0) {
    const size_t n = std::min(length, kBufferSize);
    absl::Status status = source->Read(source_offset, n, &buffer[0]);
    if (status.ok()) status = destination->Write(offset, absl::string_view(buffer.data(), n));
    if (!status.ok()) return status;
    source_offset += n;
    offset += n;
    length -= n;
  }
  return absl::OkStatus();
}

Env* Env::Default() {
  static Env* const env = new PosixEnv();
  return env;
}

std::string ParentDirectory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace storage
}  // namespace flatpyramid
