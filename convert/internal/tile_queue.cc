#include "convert/internal/tile_queue.h"

#include <utility>

namespace flatpyramid {
namespace convert {
namespace internal {

TileQueue::TileQueue(size_t batch_bytes, size_t max_batches)
    : batch_bytes_(batch_bytes), max_batches_(max_batches) {}

std::unique_ptr<TileQueue::Batch> TileQueue::NewBatch() {
  std::unique_lock<std::mutex> lock(mu_);
  // Batches in flight: the producer's, those handed over and the one being consumed.
  changed_.wait(lock, [this] { return cancelled_ || in_flight_ < max_batches_; });
  if (cancelled_) return nullptr;
  std::unique_ptr<Batch> batch;
  if (!free_.empty()) {
    batch = std::move(free_.back());
    free_.pop_back();
    batch->tiles.clear();
    batch->bytes.clear();
  } else {
    batch = std::make_unique<Batch>();
    batch->bytes.reserve(batch_bytes_);
  }
  ++in_flight_;
  return batch;
}

absl::Status TileQueue::Push(std::unique_ptr<Batch> batch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return absl::CancelledError("the tile writer stopped");
  full_.push_back(std::move(batch));
  changed_.notify_all();
  return absl::OkStatus();
}

absl::Status TileQueue::Add(int z, uint32_t x, uint32_t y, absl::string_view bytes,
                            const TileFacts& facts) {
  if (cancelled_.load(std::memory_order_relaxed)) {
    return absl::CancelledError("the tile writer stopped");
  }
  if (current_ != nullptr && !current_->tiles.empty() &&
      current_->bytes.size() + bytes.size() > batch_bytes_) {
    if (absl::Status s = Push(std::move(current_)); !s.ok()) return s;
  }
  if (current_ == nullptr) {
    current_ = NewBatch();
    if (current_ == nullptr) return absl::CancelledError("the tile writer stopped");
  }
  current_->tiles.push_back(Tile{z, x, y, current_->bytes.size(), bytes.size(), facts});
  current_->bytes.append(bytes.data(), bytes.size());
  return absl::OkStatus();
}

void TileQueue::Close(absl::Status status) {
  if (current_ != nullptr && !current_->tiles.empty()) (void)Push(std::move(current_));
  current_.reset();
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  close_status_ = std::move(status);
  changed_.notify_all();
}

absl::Status TileQueue::Drain(const TileFn& fn) {
  for (;;) {
    std::unique_ptr<Batch> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [this] { return closed_ || !full_.empty(); });
      if (full_.empty()) return close_status_;
      batch = std::move(full_.front());
      full_.pop_front();
    }
    for (const Tile& t : batch->tiles) {
      absl::Status s =
          fn(t.z, t.x, t.y, absl::string_view(batch->bytes).substr(t.offset, t.size), t.facts);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        cancelled_ = true;
        changed_.notify_all();
        return s;
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(batch));
    --in_flight_;
    changed_.notify_all();
  }
}

}  // namespace internal
}  // namespace convert
}  // namespace flatpyramid
