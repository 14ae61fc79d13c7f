#include "pyramid/tile_cache.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"

namespace flatpyramid {
namespace pyramid {

namespace {

// ShardCount is `requested` shards, fewer if they would be smaller than kMinShardBytes.
size_t ShardCount(size_t capacity_bytes, int requested) {
  const size_t wanted = static_cast<size_t>(std::max(1, requested));
  return std::max<size_t>(1, std::min(wanted, capacity_bytes / TileCache::kMinShardBytes));
}

}  // namespace

TileCache::TileCache(size_t capacity_bytes, int shards)
    : capacity_bytes_(capacity_bytes),
      shard_capacity_(capacity_bytes / ShardCount(capacity_bytes, shards)) {
  const size_t count = ShardCount(capacity_bytes, shards);
  shards_.reserve(count);
  for (size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>());
}

uint64_t TileCache::NextPyramidId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

TileCache::Shard& TileCache::ShardFor(const Key& key) {
  // The high bits of absl::Hash are well mixed; the low ones also pick the map's buckets.
  const size_t hash = absl::Hash<Key>()(key);
  return *shards_[(hash >> 32) % shards_.size()];
}

std::shared_ptr<const codec::Image> TileCache::Lookup(const Key& key) {
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mutex);
  auto it = shard.index.find(key);
  if (it == shard.index.end()) {
    ++shard.misses;
    return nullptr;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  ++shard.hits;
  return it->second->image;
}

std::shared_ptr<const codec::Image> TileCache::Insert(const Key& key, codec::Image image) {
  const size_t bytes = image.size_bytes();
  auto shared = std::make_shared<const codec::Image>(std::move(image));
  if (bytes > shard_capacity_) return shared;  // Would evict everything and still not fit.
  Shard& shard = ShardFor(key);
  // Evicted tiles are released after the lock is dropped: freeing pixels is not free.
  std::list<Entry> evicted;
  {
    absl::MutexLock lock(&shard.mutex);
    auto it = shard.index.find(key);
    if (it != shard.index.end()) {
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      return it->second->image;
    }
    while (shard.bytes + bytes > shard_capacity_ && !shard.lru.empty()) {
      auto last = std::prev(shard.lru.end());
      shard.bytes -= last->bytes;
      shard.index.erase(last->key);
      evicted.splice(evicted.end(), shard.lru, last);
    }
    shard.lru.push_front(Entry{key, shared, bytes});
    shard.index.emplace(key, shard.lru.begin());
    shard.bytes += bytes;
    ++shard.insertions;
    shard.evictions += evicted.size();
  }
  return shared;
}

void TileCache::Erase(uint64_t pyramid_id) {
  for (auto& shard : shards_) {
    std::list<Entry> erased;
    absl::MutexLock lock(&shard->mutex);
    for (auto it = shard->lru.begin(); it != shard->lru.end();) {
      auto next = std::next(it);
      if (it->key.pyramid_id == pyramid_id) {
        shard->bytes -= it->bytes;
        shard->index.erase(it->key);
        erased.splice(erased.end(), shard->lru, it);
      }
      it = next;
    }
  }
}

void TileCache::Clear() {
  for (auto& shard : shards_) {
    std::list<Entry> erased;
    absl::MutexLock lock(&shard->mutex);
    erased.swap(shard->lru);
    shard->index.clear();
    shard->bytes = 0;
  }
}

TileCacheStats TileCache::stats() const {
  TileCacheStats stats;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mutex);
    stats.hits += shard->hits;
    stats.misses += shard->misses;
    stats.insertions += shard->insertions;
    stats.evictions += shard->evictions;
    stats.bytes += shard->bytes;
    stats.entries += shard->lru.size();
  }
  return stats;
}

}  // namespace pyramid
}  // namespace flatpyramid
