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
  TileCache cache(4 * 256, 4);  // 256 bytes per shard.
  std::shared_ptr<const Image> big = cache.Insert({1, 0, 0}, Image(32, 32, 1, PixelType::kUint8));
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->width(), 32);
  EXPECT_EQ(cache.Lookup({1, 0, 0}), nullptr);
  EXPECT_EQ(cache.stats().bytes, 0u);
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
  constexpr size_t kCapacity = 64 * 256;
  TileCache cache(kCapacity, 4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 5000; ++i) {
        const uint64_t k = static_cast<uint64_t>((i * 7 + t) % 200);
        const TileCache::Key key{1, 0, k};
        std::shared_ptr<const Image> tile = cache.Lookup(key);
        if (tile == nullptr) tile = cache.Insert(key, TileOf(static_cast<uint8_t>(k)));
        ASSERT_EQ(tile->data()[0], static_cast<uint8_t>(k));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const TileCacheStats stats = cache.stats();
  EXPECT_LE(stats.bytes, kCapacity);
  EXPECT_EQ(stats.bytes, stats.entries * 256);
  EXPECT_EQ(stats.hits + stats.misses, 4u * 5000u);
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
