// TileQueue hands tiles from a reading thread to a writing thread, in order, in batches: an
// import reads its source (SQLite) and inspects each tile (pyramid::TileWriter::Inspect) on
// one core while the pyramid is written on the other.
//
// The producer calls Add for each tile with its facts (its bytes are copied into the current
// batch, so they need live only for the call) and Close once; the consumer calls Drain, which hands
// every tile to its function in the order added. Memory is bounded: at most `max_batches` batches
// of about `batch_bytes` each (one tile larger than that is a batch of its own).
//
// Either side stops both: a consumer error makes the producer's next Add return Cancelled
// (Drain returns the consumer's error); a producer's Close(error) ends Drain with that error
// after the tiles added before it.
//
// Example:
//   TileQueue queue;
//   std::thread reader([&] {
//     absl::Status s = ForEachSourceTile([&](int z, uint32_t x, uint32_t y,
//                                            absl::string_view bytes) {
//       absl::StatusOr<TileWriter::TileFacts> facts = TileWriter::Inspect(z, x, y, bytes);
//       return facts.ok() ? queue.Add(z, x, y, bytes, *facts) : facts.status();
//     });
//     queue.Close(s);
//   });
//   absl::Status s = queue.Drain(write_tile);
//   reader.join();
#ifndef FLATPYRAMID_CONVERT_INTERNAL_TILE_QUEUE_H_
#define FLATPYRAMID_CONVERT_INTERNAL_TILE_QUEUE_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pyramid/tile_writer.h"

namespace flatpyramid {
namespace convert {
namespace internal {

class TileQueue {
 public:
  using TileFacts = pyramid::TileWriter::TileFacts;
  using TileFn = std::function<absl::Status(int z, uint32_t x, uint32_t y, absl::string_view,
                                            const TileFacts& facts)>;

  // REQUIRES: batch_bytes >= 1, max_batches >= 2.
  explicit TileQueue(size_t batch_bytes = size_t{1} << 20, size_t max_batches = 4);
  TileQueue(const TileQueue&) = delete;
  TileQueue& operator=(const TileQueue&) = delete;

  // Add copies a tile into the current batch, handing the batch over when full; it waits while
  // `max_batches` are in flight. Cancelled once the consumer has stopped. Producer only.
  absl::Status Add(int z, uint32_t x, uint32_t y, absl::string_view bytes, const TileFacts& facts);

  // Close hands over the last batch and ends the stream with `status`. Producer only, once.
  void Close(absl::Status status);

  // Drain calls `fn` for every tile until the producer closes; returns the first error of
  // `fn` (and stops the producer) or else the producer's Close status. Consumer only, once.
  absl::Status Drain(const TileFn& fn);

 private:
  struct Tile {
    int z;
    uint32_t x;
    uint32_t y;
    size_t offset;
    size_t size;
    TileFacts facts;
  };
  struct Batch {
    std::vector<Tile> tiles;
    std::string bytes;
  };

  absl::Status Push(std::unique_ptr<Batch> batch);
  std::unique_ptr<Batch> NewBatch();

  const size_t batch_bytes_;
  const size_t max_batches_;
  std::unique_ptr<Batch> current_;  // Producer's, being filled.

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<Batch>> full_;   // Handed over, not yet consumed.
  std::vector<std::unique_ptr<Batch>> free_;  // Consumed, for reuse.
  size_t in_flight_ = 0;                      // Batches allocated and not free.
  bool closed_ = false;
  std::atomic<bool> cancelled_{false};  // Set under mu_; Add also reads it without.
  absl::Status close_status_;
};

}  // namespace internal
}  // namespace convert
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CONVERT_INTERNAL_TILE_QUEUE_H_
