#include "convert/internal/tile_queue.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace flatpyramid {
namespace convert {
namespace internal {
namespace {

struct Seen {
  int z;
  uint32_t x;
  uint32_t y;
  std::string bytes;
  TileQueue::TileFacts facts;
};

// TileBytes: tile i's bytes, of sizes from 0 to 3,000 so that batches of 1,000 bytes hold
// several tiles, one tile, or one tile larger than a batch.
// Facts: distinct facts per tile, to check that each arrives with its tile.
TileQueue::TileFacts Facts(int i) {
  TileQueue::TileFacts facts;
  facts.info.width = i;
  facts.small = i % 2 == 0;
  facts.digest.h1 = static_cast<uint64_t>(i) * 3;
  return facts;
}

std::string TileBytes(int i) {
  return std::string(static_cast<size_t>(i * 37 % 3001), 'a' + i % 26);
}

TEST(TileQueueTest, HandsEveryTileOverInOrderWithItsBytes) {
  constexpr int kTiles = 2000;
  TileQueue queue(/*batch_bytes=*/1000, /*max_batches=*/2);
  std::thread producer([&] {
    absl::Status s;
    for (int i = 0; i < kTiles && s.ok(); ++i)
      s = queue.Add(i / 500, i, i * 2, TileBytes(i), Facts(i));
    queue.Close(s);
  });
  std::vector<Seen> seen;
  absl::Status s = queue.Drain([&](int z, uint32_t x, uint32_t y, absl::string_view bytes,
                                   const TileQueue::TileFacts& facts) {
    seen.push_back({z, x, y, std::string(bytes), facts});
    return absl::OkStatus();
  });
  producer.join();
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(seen.size(), static_cast<size_t>(kTiles));
  for (int i = 0; i < kTiles; ++i) {
    EXPECT_EQ(seen[i].z, i / 500);
    EXPECT_EQ(seen[i].x, static_cast<uint32_t>(i));
    EXPECT_EQ(seen[i].y, static_cast<uint32_t>(i * 2));
    EXPECT_EQ(seen[i].bytes, TileBytes(i)) << "tile " << i;
    EXPECT_EQ(seen[i].facts.info.width, i);
    EXPECT_EQ(seen[i].facts.small, i % 2 == 0);
    EXPECT_EQ(seen[i].facts.digest.h1, static_cast<uint64_t>(i) * 3);
  }
}

TEST(TileQueueTest, AConsumerErrorStopsTheProducer) {
  TileQueue queue(/*batch_bytes=*/100, /*max_batches=*/2);
  std::atomic<int> added{0};
  absl::Status producer_status;
  std::thread producer([&] {
    absl::Status s;
    // Unbounded only while the consumer runs: the consumer's error must end it.
    for (int i = 0; s.ok(); ++i) {
      s = queue.Add(0, i, 0, std::string(60, 'x'), {});
      if (s.ok()) ++added;
      if (i > 1000000) break;
    }
    producer_status = s;
    queue.Close(s);
  });
  int consumed = 0;
  absl::Status s =
      queue.Drain([&](int, uint32_t x, uint32_t, absl::string_view, const TileQueue::TileFacts&) {
        if (++consumed == 10)
          return absl::InvalidArgumentError(absl::StrCat("tile ", x, " is bad"));
        return absl::OkStatus();
      });
  producer.join();
  EXPECT_EQ(s, absl::InvalidArgumentError("tile 9 is bad"));
  EXPECT_TRUE(absl::IsCancelled(producer_status)) << producer_status;
  // Bounded: at most the batches in flight were read ahead (2 batches of one 60-byte tile
  // each hold 1 tile; a batch takes a second tile only when it fits in 100 bytes).
  EXPECT_LE(added.load(), 10 + 2);
}

// Counter is a consumer that counts the tiles it is handed.
TileQueue::TileFn Counter(int* consumed) {
  return [consumed](int, uint32_t, uint32_t, absl::string_view, const TileQueue::TileFacts&) {
    ++*consumed;
    return absl::OkStatus();
  };
}

TEST(TileQueueTest, AProducerErrorEndsTheDrainAfterTheTilesBeforeIt) {
  TileQueue queue(/*batch_bytes=*/1000, /*max_batches=*/3);
  std::thread producer([&] {
    for (int i = 0; i < 25; ++i) (void)queue.Add(3, i, 0, "tile", {});
    queue.Close(absl::DataLossError("rowid 26 is missing"));
  });
  int consumed = 0;
  absl::Status s = queue.Drain(Counter(&consumed));
  producer.join();
  EXPECT_EQ(s, absl::DataLossError("rowid 26 is missing"));
  EXPECT_EQ(consumed, 25);
}

TEST(TileQueueTest, AnEmptyStreamDrainsToTheCloseStatus) {
  TileQueue queue;
  std::thread producer([&] { queue.Close(absl::OkStatus()); });
  int consumed = 0;
  absl::Status s = queue.Drain(Counter(&consumed));
  producer.join();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(consumed, 0);
}

}  // namespace
}  // namespace internal
}  // namespace convert
}  // namespace flatpyramid
