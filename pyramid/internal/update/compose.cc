#include "pyramid/internal/update/compose.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "pyramid/format.h"
#include "pyramid/internal/tile_pixels.h"
#include "pyramid/internal/tile_shape.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

bool InRects(const std::vector<geo::TileRect>& rects, uint32_t x, uint32_t y) {
  for (const geo::TileRect& r : rects) {
    if (x >= r.min_x && x <= r.max_x && y >= r.min_y && y <= r.max_y) return true;
  }
  return false;
}

// KeysIn lists the keys of the tiles in `rects`, sorted, each once.
std::vector<uint64_t> KeysIn(const std::vector<geo::TileRect>& rects) {
  std::vector<uint64_t> keys;
  for (const geo::TileRect& r : rects) {
    for (uint32_t y = r.min_y; y <= r.max_y; ++y) {
      for (uint32_t x = r.min_x; x <= r.max_x; ++x) keys.push_back(TileKey(x, y));
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// Origin says where the bytes of a tile being written come from, so that a value shared in
// its source stays shared.
enum class Origin { kOld, kArea, kFormed };

// NewTile is a tile of the updated area.
struct NewTile {
  uint64_t key = 0;
  Origin origin = Origin::kArea;
  storage::ValueRef ref;  // kArea: where its bytes are in the area store.
  absl::string_view bytes;
  std::string formed;  // kFormed: the bytes (`bytes` points here).
};

// BlobExtent is the part of a section's value blob its entries refer to.
storage::ValueRef BlobExtent(const storage::Reader& store, uint32_t section) {
  uint64_t begin = ~uint64_t{0}, end = 0;
  for (uint64_t i = 0; i < store.entry_count(section); ++i) {
    const storage::ValueRef ref = store.ValueRefAt(section, i);
    begin = std::min(begin, ref.offset);
    end = std::max(end, ref.offset + ref.length);
  }
  return end == 0 ? storage::ValueRef{0, 0} : storage::ValueRef{begin, end - begin};
}

// LevelWriter appends one level's tiles to the output and counts them. The value blob of an
// origin copied whole (Bulk) is referred to, not copied again, by the tiles from it.
class LevelWriter {
 public:
  LevelWriter(storage::Writer* out, uint32_t section) : out_(out), section_(section) {}

  // Bulk copies the part of `store`'s blob of `section` that its entries refer to.
  absl::Status Bulk(Origin origin, const storage::Reader& store, uint32_t section) {
    const storage::ValueRef extent = BlobExtent(store, section);
    if (extent.length == 0) return absl::OkStatus();
    absl::StatusOr<storage::ValueRef> copy =
        out_->AppendValuesFrom(section_, store, section, extent);
    if (!copy.ok()) return copy.status();
    bulk_[static_cast<int>(origin)] = copy->offset - extent.offset;
    copied_ += extent.length;
    return absl::OkStatus();
  }

  absl::Status Add(uint64_t key, absl::string_view bytes, Origin origin, storage::ValueRef from) {
    uint32_t x, y;
    TileFromKey(key, &x, &y);
    const int o = static_cast<int>(origin);
    const bool seen =
        origin != Origin::kFormed && shared_.count({o, from.offset, from.length}) != 0;
    stats_.AddTile(x, y, /*unique=*/!seen, bytes.size());
    if (origin != Origin::kOld && !seen) new_bytes_ += bytes.size();
    if (seen) return out_->AppendShared(section_, key, shared_[{o, from.offset, from.length}]);
    if (bulk_[o].has_value()) {
      const storage::ValueRef ref{*bulk_[o] + from.offset, from.length};
      shared_[{o, from.offset, from.length}] = ref;
      live_copied_ += from.length;
      return out_->AppendShared(section_, key, ref);
    }
    absl::StatusOr<storage::ValueRef> ref = out_->Append(section_, key, bytes);
    if (!ref.ok()) return ref.status();
    if (origin != Origin::kFormed) shared_[{o, from.offset, from.length}] = *ref;
    return absl::OkStatus();
  }

  const LevelStats& stats() const { return stats_; }
  uint64_t new_bytes() const { return new_bytes_; }
  // dead_bytes is what the bulk copies hold that no tile refers to.
  uint64_t dead_bytes() const { return copied_ - live_copied_; }

 private:
  storage::Writer* out_;
  uint32_t section_;
  std::map<std::tuple<int, uint64_t, uint64_t>, storage::ValueRef> shared_;
  // Per Origin: where a bulk copy put offset 0 of its source blob (unset: not copied whole).
  std::optional<uint64_t> bulk_[3];
  LevelStats stats_;
  uint64_t new_bytes_ = 0;
  uint64_t copied_ = 0;
  uint64_t live_copied_ = 0;
};

// Composer holds what the levels share: the sources, the tile shape and the formed pixels of
// the level below the one being formed.
class Composer {
 public:
  Composer(const UpdateSources& sources, const TileShape& shape, storage::Writer* out)
      : sources_(sources), shape_(shape), out_(out) {}

  absl::Status Level(int z, uint32_t out_section, UpdateCounts* counts, LevelStats* stats,
                     uint64_t* dead_bytes) {
    const std::optional<uint32_t> old_section = sources_.old_store->FindSection(SectionName(z));
    std::vector<NewTile> tiles;
    absl::Status status = z >= sources_.unit_zoom ? AreaTiles(z, &tiles) : FormTiles(z, &tiles);
    if (!status.ok()) return status;
    LevelWriter writer(out_, out_section);
    if (!sources_.compact && old_section.has_value()) {
      status = writer.Bulk(Origin::kOld, *sources_.old_store, *old_section);
      if (!status.ok()) return status;
    }
    const std::optional<uint32_t> area_section = sources_.area_store->FindSection(SectionName(z));
    if (!sources_.compact && z >= sources_.unit_zoom && area_section.has_value()) {
      status = writer.Bulk(Origin::kArea, *sources_.area_store, *area_section);
      if (!status.ok()) return status;
    }
    const uint64_t old_count =
        old_section.has_value() ? sources_.old_store->entry_count(*old_section) : 0;
    size_t next = 0;
    for (uint64_t i = 0; i <= old_count; ++i) {
      const bool done = i == old_count;
      const uint64_t key = done ? 0 : sources_.old_store->KeyAt(*old_section, i);
      for (; next < tiles.size() && (done || tiles[next].key < key); ++next) {
        status =
            writer.Add(tiles[next].key, tiles[next].bytes, tiles[next].origin, tiles[next].ref);
        if (!status.ok()) return status;
        ++counts->tiles_written;
      }
      if (done) break;
      uint32_t x, y;
      TileFromKey(key, &x, &y);
      if (InRects(sources_.replaced[z], x, y)) {
        ++counts->tiles_replaced;
        continue;
      }
      status = writer.Add(key, sources_.old_store->ValueAt(*old_section, i), Origin::kOld,
                          sources_.old_store->ValueRefAt(*old_section, i));
      if (!status.ok()) return status;
      ++counts->tiles_copied;
    }
    counts->new_bytes += writer.new_bytes();
    counts->dead_bytes += writer.dead_bytes();
    *stats = writer.stats();
    *dead_bytes = writer.dead_bytes();
    return absl::OkStatus();
  }

 private:
  // AreaTiles lists the area store's tiles of level z (>= the unit zoom).
  absl::Status AreaTiles(int z, std::vector<NewTile>* tiles) {
    const std::optional<uint32_t> section = sources_.area_store->FindSection(SectionName(z));
    if (!section.has_value()) return absl::OkStatus();
    for (uint64_t i = 0; i < sources_.area_store->entry_count(*section); ++i) {
      NewTile tile;
      tile.key = sources_.area_store->KeyAt(*section, i);
      uint32_t x, y;
      TileFromKey(tile.key, &x, &y);
      if (!InRects(sources_.replaced[z], x, y)) continue;
      tile.origin = Origin::kArea;
      tile.ref = sources_.area_store->ValueRefAt(*section, i);
      tile.bytes = sources_.area_store->ValueAt(*section, i);
      tiles->push_back(std::move(tile));
    }
    return absl::OkStatus();
  }

  // FormTiles forms the replaced tiles of level z (< the unit zoom) from their children.
  absl::Status FormTiles(int z, std::vector<NewTile>* tiles) {
    absl::flat_hash_map<uint64_t, std::unique_ptr<TilePixels>> formed;
    for (uint64_t key : KeysIn(sources_.replaced[z])) {
      std::unique_ptr<TilePixels> children[4];
      const TilePixels* views[4];
      for (int c = 0; c < 4; ++c) {
        absl::StatusOr<std::unique_ptr<TilePixels>> child = Child(z + 1, 4 * key + c);
        if (!child.ok()) return child.status();
        children[c] = *std::move(child);
        views[c] = children[c].get();
      }
      auto parent = std::make_unique<TilePixels>(shape_.type, shape_.size, shape_.bands);
      Downsample2x(views, shape_.overview, shape_.binary_alpha, parent.get());
      if (parent->Empty()) continue;
      NewTile tile;
      tile.key = key;
      tile.origin = Origin::kFormed;
      absl::Status status = EncodeTile(*parent, shape_.encoding, &scratch_, &tile.formed);
      if (!status.ok()) return status;
      formed[key] = std::move(parent);
      tiles->push_back(std::move(tile));
    }
    for (NewTile& tile : *tiles) tile.bytes = tile.formed;
    formed_below_ = std::move(formed);
    return absl::OkStatus();
  }

  // Child is the pixels of tile `key` of level z of the updated pyramid (null: no data).
  absl::StatusOr<std::unique_ptr<TilePixels>> Child(int z, uint64_t key) {
    uint32_t x, y;
    TileFromKey(key, &x, &y);
    const bool replaced = InRects(sources_.replaced[z], x, y);
    if (replaced && z < sources_.unit_zoom) {
      auto it = formed_below_.find(key);
      if (it == formed_below_.end()) return nullptr;
      return std::make_unique<TilePixels>(*it->second);
    }
    const storage::Reader* store = replaced ? sources_.area_store : sources_.old_store;
    const std::optional<uint32_t> section = store->FindSection(SectionName(z));
    if (!section.has_value()) return nullptr;
    const std::optional<absl::string_view> bytes = store->Get(*section, key);
    if (!bytes.has_value()) return nullptr;
    auto pixels = std::make_unique<TilePixels>(shape_.type, shape_.size, shape_.bands);
    absl::Status status = DecodeTile(*bytes, shape_.encoding, pixels.get());
    if (!status.ok()) {
      return absl::DataLossError(absl::StrCat("tile ", z, "/", x, "/", y, " of the ",
                                              replaced ? "updated area" : "pyramid", ": ",
                                              status.message()));
    }
    return pixels;
  }

  const UpdateSources& sources_;
  const TileShape shape_;
  storage::Writer* out_;
  std::vector<uint8_t> scratch_;
  // The tiles formed at the level below the one being formed (keyed by TileKey).
  absl::flat_hash_map<uint64_t, std::unique_ptr<TilePixels>> formed_below_;
};

}  // namespace

absl::StatusOr<UpdateCounts> ComposeUpdate(const UpdateSources& sources, storage::Writer* out,
                                           PyramidMetadata* metadata) {
  absl::StatusOr<TileShape> shape = ShapeOf(sources.old_metadata);
  if (!shape.ok()) return shape.status();
  const int min_zoom = static_cast<int>(metadata->min_zoom());
  const int max_zoom = static_cast<int>(metadata->max_zoom());
  std::vector<uint32_t> sections(max_zoom + 1, 0);
  for (int z = min_zoom; z <= max_zoom; ++z) {
    absl::StatusOr<uint32_t> section = out->AddSection(SectionName(z));
    if (!section.ok()) return section.status();
    sections[z] = *section;
  }
  Composer composer(sources, *shape, out);
  UpdateCounts counts;
  std::vector<LevelStats> stats(max_zoom + 1);
  std::vector<uint64_t> dead(max_zoom + 1, 0);
  for (int z = max_zoom; z >= min_zoom; --z) {
    absl::Status status = composer.Level(z, sections[z], &counts, &stats[z], &dead[z]);
    if (!status.ok()) return status;
  }
  metadata->clear_levels();
  for (int z = min_zoom; z <= max_zoom; ++z) {
    Level* level = metadata->add_levels();
    level->set_zoom(z);
    level->set_section(sections[z]);
    stats[z].CopyTo(level);
    level->set_dead_bytes(dead[z]);
  }
  return counts;
}

uint64_t DeadBytesAfter(const UpdateSources& sources) {
  uint64_t dead = 0;
  for (int z = 0; z < static_cast<int>(sources.replaced.size()); ++z) {
    const std::optional<uint32_t> section = sources.old_store->FindSection(SectionName(z));
    if (!section.has_value()) continue;
    std::set<std::pair<uint64_t, uint64_t>> live;
    for (uint64_t i = 0; i < sources.old_store->entry_count(*section); ++i) {
      uint32_t x, y;
      TileFromKey(sources.old_store->KeyAt(*section, i), &x, &y);
      if (InRects(sources.replaced[z], x, y)) continue;
      const storage::ValueRef ref = sources.old_store->ValueRefAt(*section, i);
      live.insert({ref.offset, ref.length});
    }
    uint64_t live_bytes = 0;
    for (const auto& [offset, length] : live) live_bytes += length;
    dead += BlobExtent(*sources.old_store, *section).length - live_bytes;
  }
  return dead;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
