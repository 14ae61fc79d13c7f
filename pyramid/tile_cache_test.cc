#include "pyramid/tile_cache.h"

#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using codec::Image;
using codec::PixelType;

// TileOf returns a 16x16 single-band tile (256 bytes) whose first sample is `marker`.
Image TileOf(uint8_t marker) {
  Image image(16, 16, 1, PixelType::kUint8);
  image.data()[0] = marker;
  return image;
}

TEST(TileCacheTest, LookupMissesThenHitsAfterInsert) {
  TileCache cache(1 << 20, 1);
  const TileCache::Key key{1, 3, 5};
  EXPECT_EQ(cache.Lookup(key), nullptr);
  std::shared_ptr<const Image> inserted = cache.Insert(key, TileOf(7));
  ASSERT_NE(inserted, nullptr);
  std::shared_ptr<const Image> found = cache.Lookup(key);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found.get(), inserted.get());
  EXPECT_EQ(found->data()[0], 7);
  const TileCacheStats stats = cache.stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.insertions, 1u);
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.bytes, 256u);
}

TEST(TileCacheTest, KeysDifferingInAnyFieldAreDistinct) {
  TileCache cache(1 << 20, 4);
  cache.Insert({1, 3, 5}, TileOf(1));
  cache.Insert({2, 3, 5}, TileOf(2));
  cache.Insert({1, 4, 5}, TileOf(3));
  cache.Insert({1, 3, 6}, TileOf(4));
  EXPECT_EQ(cache.Lookup({1, 3, 5})->data()[0], 1);
  EXPECT_EQ(cache.Lookup({2, 3, 5})->data()[0], 2);
  EXPECT_EQ(cache.Lookup({1, 4, 5})->data()[0], 3);
  EXPECT_EQ(cache.Lookup({1, 3, 6})->data()[0], 4);
}

TEST(TileCacheTest, SecondInsertOfSameKeyKeepsTheFirstCopy) {
  TileCache cache(1 << 20, 1);
  std::shared_ptr<const Image> first = cache.Insert({1, 0, 0}, TileOf(1));
  std::shared_ptr<const Image> second = cache.Insert({1, 0, 0}, TileOf(2));
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(second->data()[0], 1);
  EXPECT_EQ(cache.stats().entries, 1u);
  EXPECT_EQ(cache.stats().bytes, 256u);
}

TEST(TileCacheTest, EvictsLeastRecentlyUsedWhenFull) {
  TileCache cache(3 * 256, 1);  // Room for exactly three tiles.
  cache.Insert({1, 0, 0}, TileOf(0));
  cache.Insert({1, 0, 1}, TileOf(1));
  cache.Insert({1, 0, 2}, TileOf(2));
  ASSERT_NE(cache.Lookup({1, 0, 0}), nullptr);  // 0 is now the most recently used; 1 the least.
  cache.Insert({1, 0, 3}, TileOf(3));
  EXPECT_EQ(cache.Lookup({1, 0, 1}), nullptr);
  EXPECT_NE(cache.Lookup({1, 0, 0}), nullptr);
  EXPECT_NE(cache.Lookup({1, 0, 2}), nullptr);
  EXPECT_NE(cache.Lookup({1, 0, 3}), nullptr);
  const TileCacheStats stats = cache.stats();
  EXPECT_EQ(stats.evictions, 1u);
  EXPECT_EQ(stats.entries, 3u);
  EXPECT_EQ(stats.bytes, 3u * 256u);
}

TEST(TileCacheTest, EvictedTileStaysValidForItsHolder) {
  TileCache cache(256, 1);
  std::shared_ptr<const Image> held = cache.Insert({1, 0, 0}, TileOf(42));
  cache.Insert({1, 0, 1}, TileOf(43));
  EXPECT_EQ(cache.Lookup({1, 0, 0}), nullptr);
  EXPECT_EQ(held->data()[0], 42);
  EXPECT_EQ(held->width(), 16);
}

TEST(TileCacheTest, TileLargerThanAShardIsReturnedButNotKept) {
  TileCache cache(4 * TileCache::kMinShardBytes, 4);
  ASSERT_EQ(cache.shard_count(), 4);
  // 2048 x 1024 RGBA: 8 MiB, twice a shard.
  std::shared_ptr<const Image> big =
      cache.Insert({1, 0, 0}, Image(2048, 1024, 4, PixelType::kUint8));
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->width(), 2048);
  EXPECT_EQ(cache.Lookup({1, 0, 0}), nullptr);
  EXPECT_EQ(cache.stats().bytes, 0u);
  // 1024 x 1024 RGBA fills a shard exactly: kept.
  cache.Insert({1, 0, 1}, Image(1024, 1024, 4, PixelType::kUint8));
  EXPECT_NE(cache.Lookup({1, 0, 1}), nullptr);
  EXPECT_EQ(cache.stats().bytes, TileCache::kMinShardBytes);
}

TEST(TileCacheTest, SmallCachesHaveFewerShardsSoThatTilesFitInOne) {
  // 3 MiB in 16 requested shards would be 192 KiB each, too small for a 256 KiB RGBA tile:
  // one shard of 3 MiB keeps twelve.
  TileCache small(size_t{3} << 20);
  EXPECT_EQ(small.shard_count(), 1);
  for (uint64_t k = 0; k < 12; ++k) small.Insert({1, 0, k}, Image(256, 256, 4, PixelType::kUint8));
  EXPECT_EQ(small.stats().entries, 12u);
  for (uint64_t k = 0; k < 12; ++k) EXPECT_NE(small.Lookup({1, 0, k}), nullptr) << k;
  // A thirteenth evicts the least recently used (tile 0).
  small.Insert({1, 0, 12}, Image(256, 256, 4, PixelType::kUint8));
  EXPECT_EQ(small.Lookup({1, 0, 0}), nullptr);
  EXPECT_EQ(small.stats().entries, 12u);
  EXPECT_EQ(TileCache(size_t{40} << 20).shard_count(), 10);
  EXPECT_EQ(TileCache(size_t{128} << 20).shard_count(), TileCache::kDefaultShards);
  EXPECT_EQ(TileCache(0).shard_count(), 1);
}

TEST(TileCacheTest, ZeroCapacityCachesNothing) {
  TileCache cache(0);
  EXPECT_NE(cache.Insert({1, 0, 0}, TileOf(1)), nullptr);
  EXPECT_EQ(cache.Lookup({1, 0, 0}), nullptr);
  EXPECT_EQ(cache.stats().entries, 0u);
}

TEST(TileCacheTest, EraseDropsOnlyThatPyramid) {
  TileCache cache(1 << 20, 4);
  for (uint64_t k = 0; k < 10; ++k) {
    cache.Insert({1, 2, k}, TileOf(1));
    cache.Insert({2, 2, k}, TileOf(2));
  }
  cache.Erase(1);
  for (uint64_t k = 0; k < 10; ++k) {
    EXPECT_EQ(cache.Lookup({1, 2, k}), nullptr);
    EXPECT_NE(cache.Lookup({2, 2, k}), nullptr);
  }
  EXPECT_EQ(cache.stats().entries, 10u);
  EXPECT_EQ(cache.stats().bytes, 10u * 256u);
  cache.Clear();
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ(cache.stats().bytes, 0u);
}

TEST(TileCacheTest, NextPyramidIdNeverRepeats) {
  const uint64_t a = TileCache::NextPyramidId();
  const uint64_t b = TileCache::NextPyramidId();
  EXPECT_NE(a, b);
  EXPECT_NE(a, 0u);
}

TEST(TileCacheTest, ConcurrentReadersNeverExceedCapacityAndSeeTheirOwnTiles) {
  // Two shards of 64 tiles of 64 KiB; 200 keys, so tiles are evicted all the time.
  constexpr size_t kCapacity = 2 * TileCache::kMinShardBytes;
  constexpr size_t kTileBytes = 256 * 256;
  TileCache cache(kCapacity, 4);
  ASSERT_EQ(cache.shard_count(), 2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 5000; ++i) {
        const uint64_t k = static_cast<uint64_t>((i * 7 + t) % 200);
        const TileCache::Key key{1, 0, k};
        std::shared_ptr<const Image> tile = cache.Lookup(key);
        if (tile == nullptr) {
          Image image(256, 256, 1, PixelType::kUint8);
          image.data()[0] = static_cast<uint8_t>(k);
          tile = cache.Insert(key, std::move(image));
        }
        ASSERT_EQ(tile->data()[0], static_cast<uint8_t>(k));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const TileCacheStats stats = cache.stats();
  EXPECT_LE(stats.bytes, kCapacity);
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_EQ(stats.bytes, stats.entries * kTileBytes);
  EXPECT_EQ(stats.hits + stats.misses, 4u * 5000u);
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
