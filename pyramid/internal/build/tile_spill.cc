#include "pyramid/internal/build/tile_spill.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

std::string SpillFileName(const std::string& output, int zoom) {
  return absl::StrCat(output, ".spill-z", zoom);
}

absl::StatusOr<std::unique_ptr<TileSpill>> TileSpill::Open(const std::string& path, bool truncate,
                                                           uint32_t x0, uint32_t y0, uint32_t x1,
                                                           uint32_t y1, size_t samples_bytes,
                                                           size_t alpha_bytes) {
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | (truncate ? O_CREAT | O_TRUNC : 0), 0644);
  if (fd < 0) {
    return truncate ? absl::ResourceExhaustedError(
                          absl::StrCat("cannot create ", path, ": ", std::strerror(errno)))
                    : absl::DataLossError(absl::StrCat(
                          "BuildOptions::resume: the side file ", path,
                          " is missing: rerun with BuildOptions::overwrite to start again"));
  }
  auto spill = std::unique_ptr<TileSpill>(new TileSpill());
  spill->path_ = path;
  spill->fd_ = fd;
  spill->x0_ = x0;
  spill->y0_ = y0;
  spill->x1_ = x1;
  spill->y1_ = y1;
  spill->samples_bytes_ = samples_bytes;
  spill->alpha_bytes_ = alpha_bytes;
  return spill;
}

TileSpill::~TileSpill() {
  if (fd_ >= 0) close(fd_);
}

absl::Status TileSpill::Write(uint32_t x, uint32_t y, const TilePixels& tile) {
  const off_t offset = Slot(x, y);
  if (!WriteAll(tile.samples.data(), samples_bytes_, offset) ||
      !WriteAll(tile.alpha.data(), alpha_bytes_, offset + samples_bytes_)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("writing ", path_, " failed: ", std::strerror(errno),
                     " (disk full?): free space and rerun with BuildOptions::resume"));
  }
  return absl::OkStatus();
}

absl::Status TileSpill::Read(int64_t x, int64_t y, TilePixels* tile) const {
  if (x < x0_ || y < y0_ || x > x1_ || y > y1_) {
    std::fill(tile->samples.begin(), tile->samples.end(), 0);
    std::fill(tile->alpha.begin(), tile->alpha.end(), 0);
    return absl::OkStatus();
  }
  const off_t offset = Slot(static_cast<uint32_t>(x), static_cast<uint32_t>(y));
  if (!ReadAll(tile->samples.data(), samples_bytes_, offset) ||
      !ReadAll(tile->alpha.data(), alpha_bytes_, offset + samples_bytes_)) {
    return absl::DataLossError(absl::StrCat("reading ", path_, " failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status TileSpill::Sync() {
  if (fdatasync(fd_) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("syncing ", path_, " failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

off_t TileSpill::Slot(uint32_t x, uint32_t y) const {
  const uint64_t columns = uint64_t{x1_} - x0_ + 1;
  return static_cast<off_t>(((uint64_t{y} - y0_) * columns + (x - x0_)) *
                            (samples_bytes_ + alpha_bytes_));
}

bool TileSpill::WriteAll(const uint8_t* data, size_t n, off_t offset) {
  while (n > 0) {
    const ssize_t done = pwrite(fd_, data, n, offset);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) return false;
    data += done;
    n -= static_cast<size_t>(done);
    offset += done;
  }
  return true;
}

bool TileSpill::ReadAll(uint8_t* data, size_t n, off_t offset) const {
  while (n > 0) {
    const ssize_t done = pread(fd_, data, n, offset);
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) return false;
    if (done == 0) {  // Past the end: a slot never written.
      std::memset(data, 0, n);
      return true;
    }
    data += done;
    n -= static_cast<size_t>(done);
    offset += done;
  }
  return true;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
