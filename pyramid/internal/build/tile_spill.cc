#include "pyramid/internal/build/tile_spill.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

absl::StatusOr<std::unique_ptr<TileSpill>> TileSpill::Open(storage::Env* env,
                                                           const std::string& path, bool truncate,
                                                           uint32_t x0, uint32_t y0, uint32_t x1,
                                                           uint32_t y1, size_t samples_bytes,
                                                           size_t alpha_bytes) {
  absl::StatusOr<std::unique_ptr<storage::File>> file =
      env->Open(path, truncate ? storage::OpenMode::kCreateOrOpen : storage::OpenMode::kReadWrite);
  if (file.ok() && truncate) {
    if (absl::Status status = (*file)->Truncate(0); !status.ok()) return status;
  }
  if (!file.ok()) {
    return truncate ? absl::Status(file.status().code(), absl::StrCat("cannot create ", path, ": ",
                                                                      file.status().message()))
                    : absl::DataLossError(absl::StrCat(
                          "BuildOptions::resume: the side file ", path,
                          " is missing: rerun with BuildOptions::overwrite to start again"));
  }
  auto spill = std::unique_ptr<TileSpill>(new TileSpill());
  spill->path_ = path;
  spill->file_ = *std::move(file);
  spill->x0_ = x0;
  spill->y0_ = y0;
  spill->x1_ = x1;
  spill->y1_ = y1;
  spill->samples_bytes_ = samples_bytes;
  spill->alpha_bytes_ = alpha_bytes;
  return spill;
}

absl::Status TileSpill::Write(uint32_t x, uint32_t y, const TilePixels& tile) {
  const uint64_t offset = Slot(x, y);
  absl::Status status = file_->Write(
      offset,
      absl::string_view(reinterpret_cast<const char*>(tile.samples.data()), samples_bytes_));
  if (status.ok()) {
    status = file_->Write(
        offset + samples_bytes_,
        absl::string_view(reinterpret_cast<const char*>(tile.alpha.data()), alpha_bytes_));
  }
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("writing ", path_, " failed: ", status.message(),
                                     " (disk full?): free space and BuildOptions::resume"));
  }
  return absl::OkStatus();
}

absl::Status TileSpill::Read(int64_t x, int64_t y, TilePixels* tile) const {
  if (x < x0_ || y < y0_ || x > x1_ || y > y1_) {
    std::fill(tile->samples.begin(), tile->samples.end(), 0);
    std::fill(tile->alpha.begin(), tile->alpha.end(), 0);
    return absl::OkStatus();
  }
  const uint64_t offset = Slot(static_cast<uint32_t>(x), static_cast<uint32_t>(y));
  absl::Status status = ReadOrZero(offset, samples_bytes_, tile->samples.data());
  if (status.ok()) status = ReadOrZero(offset + samples_bytes_, alpha_bytes_, tile->alpha.data());
  return status;
}

absl::Status TileSpill::Sync() {
  absl::Status status = file_->SyncData();
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("syncing ", path_, " failed: ", status.message()));
  }
  return absl::OkStatus();
}

uint64_t TileSpill::Slot(uint32_t x, uint32_t y) const {
  const uint64_t columns = uint64_t{x1_} - x0_ + 1;
  return ((uint64_t{y} - y0_) * columns + (x - x0_)) * (samples_bytes_ + alpha_bytes_);
}

absl::Status TileSpill::ReadOrZero(uint64_t offset, size_t n, uint8_t* data) const {
  absl::StatusOr<uint64_t> size = file_->Size();
  if (!size.ok()) return size.status();
  const size_t present =
      offset >= *size ? 0 : static_cast<size_t>(std::min<uint64_t>(n, *size - offset));
  std::memset(data + present, 0, n - present);
  if (present == 0) return absl::OkStatus();
  absl::Status status = file_->Read(offset, present, reinterpret_cast<char*>(data));
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat("reading ", path_, " failed: ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
