// TileCache: a thread-safe, size-bounded LRU cache of decoded tiles, shared by every thread
// (and every pyramid::Reader) that reads through it.
//
// Entries are keyed by (pyramid id, zoom, Morton key) so one cache can serve several open
// pyramids; each Reader takes a fresh id from NextPyramidId(). Values are
// std::shared_ptr<const codec::Image>: a tile handed out stays valid for as long as the caller
// holds it, even after the cache evicts it. The capacity counts decoded pixel bytes.
//
// The cache is split into shards, each an LRU list under its own absl::Mutex, chosen by a hash
// of the key, so concurrent readers rarely wait on each other. Each shard holds at most
// capacity / shard_count() bytes and evicts its own least recently used tiles (as LevelDB's
// ShardedLRUCache does): the order is LRU per shard, only approximately over the whole cache.
// So that a shard holds many tiles, no shard is smaller than kMinShardBytes: a smaller cache
// gets fewer shards (one below 2 * kMinShardBytes). A tile larger than a shard's capacity
// (with one shard: the whole capacity) is returned to the caller but not kept.
//
// Caveats: two threads that miss on the same tile at the same time both decode it (the
// second Insert keeps the first copy); there is no per-key lock, because a tile decodes in
// well under a millisecond and a per-key wait would cost more than the rare duplicate work.
//
// Example:
//   auto cache = std::make_shared<flatpyramid::pyramid::TileCache>(512 << 20);
//   TileCache::Key key{cache->NextPyramidId(), 12, geo::MortonEncode(x, y)};
//   std::shared_ptr<const codec::Image> tile = cache->Lookup(key);
//   if (tile == nullptr) tile = cache->Insert(key, std::move(decoded));
#ifndef FLATPYRAMID_PYRAMID_TILE_CACHE_H_
#define FLATPYRAMID_PYRAMID_TILE_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "codec/image.h"

namespace flatpyramid {
namespace pyramid {

// TileCacheStats counts what a cache did since it was created.
struct TileCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t insertions = 0;
  uint64_t evictions = 0;
  size_t bytes = 0;    // Decoded bytes held now.
  size_t entries = 0;  // Tiles held now.
};

class TileCache {
 public:
  // Key names one tile of one pyramid.
  struct Key {
    uint64_t pyramid_id = 0;
    int zoom = 0;
    uint64_t morton = 0;

    friend bool operator==(const Key& a, const Key& b) {
      return a.pyramid_id == b.pyramid_id && a.zoom == b.zoom && a.morton == b.morton;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& key) {
      return H::combine(std::move(h), key.pyramid_id, key.zoom, key.morton);
    }
  };

  // kDefaultShards is the shard count when none is given: enough that a handful of threads
  // rarely meet on one mutex.
  static constexpr int kDefaultShards = 16;

  // kMinShardBytes is the smallest shard of a cache with more than one: 16 decoded RGBA
  // tiles of 256 x 256 px (4 of 512 x 512).
  static constexpr size_t kMinShardBytes = size_t{4} << 20;

  // TileCache holds at most `capacity_bytes` of decoded pixels across `shards` shards, fewer
  // when capacity_bytes / shards < kMinShardBytes (at least one).
  // A capacity of 0 disables caching (every Lookup misses, Insert keeps nothing).
  explicit TileCache(size_t capacity_bytes, int shards = kDefaultShards);
  TileCache(const TileCache&) = delete;
  TileCache& operator=(const TileCache&) = delete;

  // NextPyramidId returns an id never returned before by this process, for Key::pyramid_id.
  static uint64_t NextPyramidId();

  // Lookup returns the cached tile and marks it most recently used, or nullptr on a miss.
  std::shared_ptr<const codec::Image> Lookup(const Key& key);

  // Insert caches `image` under `key` (evicting least recently used tiles of the shard to make
  // room) and returns the cached tile. If `key` is already cached, the cached copy is kept and
  // returned and `image` is dropped.
  std::shared_ptr<const codec::Image> Insert(const Key& key, codec::Image image);

  // Erase drops every tile of `pyramid_id` (a Reader calls this when it closes).
  void Erase(uint64_t pyramid_id);

  // Clear drops every tile.
  void Clear();

  size_t capacity_bytes() const { return capacity_bytes_; }
  int shard_count() const { return static_cast<int>(shards_.size()); }
  TileCacheStats stats() const;

 private:
  struct Entry {
    Key key;
    std::shared_ptr<const codec::Image> image;
    size_t bytes;
  };
  // Shards are cache-line aligned and count their own hits, so threads working on
  // different shards never write to the same cache line.
  struct alignas(64) Shard {
    mutable absl::Mutex mutex;
    std::list<Entry> lru ABSL_GUARDED_BY(mutex);  // Front: most recently used.
    absl::flat_hash_map<Key, std::list<Entry>::iterator> index ABSL_GUARDED_BY(mutex);
    size_t bytes ABSL_GUARDED_BY(mutex) = 0;
    uint64_t hits ABSL_GUARDED_BY(mutex) = 0;
    uint64_t misses ABSL_GUARDED_BY(mutex) = 0;
    uint64_t insertions ABSL_GUARDED_BY(mutex) = 0;
    uint64_t evictions ABSL_GUARDED_BY(mutex) = 0;
  };

  Shard& ShardFor(const Key& key);

  const size_t capacity_bytes_;
  const size_t shard_capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_TILE_CACHE_H_
