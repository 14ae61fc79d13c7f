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

// OldPyramid reads the levels of the pyramid being updated: through a Reader's map (a copy is
// written), or through the writer that changes the file in place (it holds the file's lock, so
// no Reader can map it; a level's index is read before the level is replaced, and the bytes
// of its tiles stay where they are).
class OldPyramid {
 public:
  virtual ~OldPyramid() = default;
  // Section is level z's section, if the pyramid has one.
  virtual std::optional<uint32_t> Section(int z) const = 0;
  // Entries returns the tiles of a section, in key order.
  virtual absl::StatusOr<std::vector<storage::Entry>> Entries(uint32_t section) = 0;
  // Bytes returns the bytes of entry `index` of a section, `entries` being its Entries.
  virtual absl::StatusOr<std::string> Bytes(uint32_t section,
                                            const std::vector<storage::Entry>& entries,
                                            uint64_t index) = 0;
};

class MappedPyramid : public OldPyramid {
 public:
  explicit MappedPyramid(const storage::Reader& store) : store_(store) {}
  std::optional<uint32_t> Section(int z) const override {
    return store_.FindSection(SectionName(z));
  }
  absl::StatusOr<std::vector<storage::Entry>> Entries(uint32_t section) override {
    std::vector<storage::Entry> entries(store_.entry_count(section));
    for (uint64_t i = 0; i < entries.size(); ++i) {
      entries[i] = {store_.KeyAt(section, i), store_.ValueRefAt(section, i)};
    }
    return entries;
  }
  absl::StatusOr<std::string> Bytes(uint32_t section, const std::vector<storage::Entry>&,
                                    uint64_t index) override {
    return std::string(store_.ValueAt(section, index));
  }

 private:
  const storage::Reader& store_;
};

class PyramidInPlace : public OldPyramid {
 public:
  explicit PyramidInPlace(storage::Writer* writer) : writer_(writer) {}
  std::optional<uint32_t> Section(int z) const override {
    return writer_->FindSection(SectionName(z));
  }
  absl::StatusOr<std::vector<storage::Entry>> Entries(uint32_t section) override {
    return writer_->ReadCommittedEntries(section);
  }
  absl::StatusOr<std::string> Bytes(uint32_t section, const std::vector<storage::Entry>& entries,
                                    uint64_t index) override {
    return writer_->ReadValue(section, entries[index].value);
  }

 private:
  storage::Writer* writer_;
};

// LevelWriter appends one level's tiles to the output and counts them. The value blob of an
// origin copied whole (Bulk), or already in the output's blob (InPlace), is referred to, not
// copied again, by the tiles from it.
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
    return absl::OkStatus();
  }

  // InPlace says that the tiles of `origin` point into the output section's own blob.
  void InPlace(Origin origin) { bulk_[static_cast<int>(origin)] = 0; }

  // Add adds tile `key`: `bytes` (for kOld, only needed when its blob is neither copied whole
  // nor in place; its length is from.length) from `origin`, where they are at `from`.
  absl::Status Add(uint64_t key, absl::string_view bytes, Origin origin, storage::ValueRef from) {
    uint32_t x, y;
    TileFromKey(key, &x, &y);
    const int o = static_cast<int>(origin);
    const uint64_t size = origin == Origin::kOld ? from.length : bytes.size();
    const bool seen =
        origin != Origin::kFormed && shared_.count({o, from.offset, from.length}) != 0;
    stats_.AddTile(x, y, /*unique=*/!seen, size);
    if (seen) return out_->AppendShared(section_, key, shared_[{o, from.offset, from.length}]);
    live_bytes_ += size;
    if (origin != Origin::kOld) new_bytes_ += size;
    if (bulk_[o].has_value()) {
      const storage::ValueRef ref{*bulk_[o] + from.offset, from.length};
      shared_[{o, from.offset, from.length}] = ref;
      return out_->AppendShared(section_, key, ref);
    }
    absl::StatusOr<storage::ValueRef> ref = out_->Append(section_, key, bytes);
    if (!ref.ok()) return ref.status();
    if (origin != Origin::kFormed) shared_[{o, from.offset, from.length}] = *ref;
    return absl::OkStatus();
  }

  const LevelStats& stats() const { return stats_; }
  uint64_t new_bytes() const { return new_bytes_; }
  // dead_bytes is what the section's blob holds that no tile refers to.
  uint64_t dead_bytes() const { return out_->values_length(section_) - live_bytes_; }

 private:
  storage::Writer* out_;
  uint32_t section_;
  std::map<std::tuple<int, uint64_t, uint64_t>, storage::ValueRef> shared_;
  // Per Origin: where offset 0 of its source blob is in the output's (unset: copied by tile).
  std::optional<uint64_t> bulk_[3];
  LevelStats stats_;
  uint64_t new_bytes_ = 0;
  uint64_t live_bytes_ = 0;  // Bytes of the blob tiles refer to (each once).
};

// Composer holds what the levels share: the sources, the tile shape and the formed pixels of
// the level below the one being formed.
class Composer {
 public:
  Composer(const UpdateSources& sources, const TileShape& shape, OldPyramid* old,
           storage::Writer* out, bool in_place)
      : sources_(sources), shape_(shape), old_(old), out_(out), in_place_(in_place) {}

  absl::Status Level(int z, uint32_t out_section, UpdateCounts* counts, LevelStats* stats,
                     uint64_t* dead_bytes) {
    const std::optional<uint32_t> old_section = old_->Section(z);
    absl::StatusOr<std::vector<storage::Entry>> old =
        old_section.has_value() ? old_->Entries(*old_section) : std::vector<storage::Entry>();
    if (!old.ok()) return old.status();
    std::vector<NewTile> tiles;
    absl::Status status = z >= sources_.unit_zoom ? AreaTiles(z, &tiles) : FormTiles(z, &tiles);
    if (!status.ok()) return status;
    LevelWriter writer(out_, out_section);
    if (in_place_) {
      status = out_->ReplaceEntries(out_section);
      writer.InPlace(Origin::kOld);
    } else if (!sources_.compact && old_section.has_value()) {
      status = writer.Bulk(Origin::kOld, *sources_.old_store, *old_section);
    }
    if (!status.ok()) return status;
    const std::optional<uint32_t> area_section = sources_.area_store->FindSection(SectionName(z));
    if (!sources_.compact && z >= sources_.unit_zoom && area_section.has_value()) {
      status = writer.Bulk(Origin::kArea, *sources_.area_store, *area_section);
      if (!status.ok()) return status;
    }
    size_t next = 0;
    for (uint64_t i = 0; i <= old->size(); ++i) {
      const bool done = i == old->size();
      const uint64_t key = done ? 0 : (*old)[i].key;
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
      std::string bytes;  // Only when the tile is copied on its own (a compaction).
      if (sources_.compact) {
        absl::StatusOr<std::string> read = old_->Bytes(*old_section, *old, i);
        if (!read.ok()) return read.status();
        bytes = *std::move(read);
      }
      status = writer.Add(key, bytes, Origin::kOld, (*old)[i].value);
      if (!status.ok()) return status;
      ++counts->tiles_copied;
    }
    counts->new_bytes += writer.new_bytes();
    counts->dead_bytes += writer.dead_bytes();
    *stats = writer.stats();
    *dead_bytes = writer.dead_bytes();
    below_section_ = old_section;
    below_ = *std::move(old);
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

  // OldChildBytes finds tile `key` among the old tiles of the level below (null: none).
  absl::StatusOr<std::optional<std::string>> OldChildBytes(uint64_t key) {
    const auto it =
        std::lower_bound(below_.begin(), below_.end(), key,
                         [](const storage::Entry& entry, uint64_t k) { return entry.key < k; });
    if (!below_section_.has_value() || it == below_.end() || it->key != key) return std::nullopt;
    absl::StatusOr<std::string> bytes = old_->Bytes(*below_section_, below_, it - below_.begin());
    if (!bytes.ok()) return bytes.status();
    return std::optional<std::string>(*std::move(bytes));
  }

  // Child is the pixels of tile `key` of level z (the level Level() did last) of the updated
  // pyramid (null: no data).
  absl::StatusOr<std::unique_ptr<TilePixels>> Child(int z, uint64_t key) {
    uint32_t x, y;
    TileFromKey(key, &x, &y);
    const bool replaced = InRects(sources_.replaced[z], x, y);
    if (replaced && z < sources_.unit_zoom) {
      auto it = formed_below_.find(key);
      if (it == formed_below_.end()) return nullptr;
      return std::make_unique<TilePixels>(*it->second);
    }
    std::optional<std::string> bytes;
    if (replaced) {
      const std::optional<uint32_t> section = sources_.area_store->FindSection(SectionName(z));
      if (!section.has_value()) return nullptr;
      const std::optional<absl::string_view> found = sources_.area_store->Get(*section, key);
      if (found.has_value()) bytes = std::string(*found);
    } else {
      absl::StatusOr<std::optional<std::string>> old = OldChildBytes(key);
      if (!old.ok()) return old.status();
      bytes = *std::move(old);
    }
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
  OldPyramid* old_;
  storage::Writer* out_;
  const bool in_place_;  // out_ is the old pyramid's own file: levels replace their entries.
  std::vector<uint8_t> scratch_;
  // The tiles formed at the level below the one being formed (keyed by TileKey).
  absl::flat_hash_map<uint64_t, std::unique_ptr<TilePixels>> formed_below_;
  // The old tiles of the level below the one being formed, and its section in the old pyramid.
  std::vector<storage::Entry> below_;
  std::optional<uint32_t> below_section_;
};

// ComposeLevels writes every level, from the finest, and fills metadata->levels;
// `sections[z]` is level z's section in `out`.
absl::StatusOr<UpdateCounts> ComposeLevels(const UpdateSources& sources, OldPyramid* old,
                                           storage::Writer* out, bool in_place,
                                           const std::vector<uint32_t>& sections,
                                           PyramidMetadata* metadata) {
  absl::StatusOr<TileShape> shape = ShapeOf(sources.old_metadata);
  if (!shape.ok()) return shape.status();
  const int min_zoom = static_cast<int>(metadata->min_zoom());
  const int max_zoom = static_cast<int>(metadata->max_zoom());
  Composer composer(sources, *shape, old, out, in_place);
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

}  // namespace

absl::StatusOr<UpdateCounts> ComposeUpdate(const UpdateSources& sources, storage::Writer* out,
                                           PyramidMetadata* metadata) {
  std::vector<uint32_t> sections(metadata->max_zoom() + 1, 0);
  for (int z = static_cast<int>(metadata->min_zoom()); z < static_cast<int>(sections.size()); ++z) {
    absl::StatusOr<uint32_t> section = out->AddSection(SectionName(z));
    if (!section.ok()) return section.status();
    sections[z] = *section;
  }
  MappedPyramid old(*sources.old_store);
  return ComposeLevels(sources, &old, out, /*in_place=*/false, sections, metadata);
}

absl::StatusOr<UpdateCounts> ComposeInPlace(const UpdateSources& sources, storage::Writer* pyramid,
                                            PyramidMetadata* metadata) {
  if (sources.compact) {
    return absl::InternalError("ComposeInPlace: a compaction writes a new file");
  }
  std::vector<uint32_t> sections(metadata->max_zoom() + 1, 0);
  for (int z = static_cast<int>(metadata->min_zoom()); z < static_cast<int>(sections.size()); ++z) {
    std::optional<uint32_t> section = pyramid->FindSection(SectionName(z));
    if (!section.has_value()) {
      absl::StatusOr<uint32_t> added = pyramid->AddSection(SectionName(z));
      if (!added.ok()) return added.status();
      section = *added;
    }
    sections[z] = *section;
  }
  PyramidInPlace old(pyramid);
  return ComposeLevels(sources, &old, pyramid, /*in_place=*/true, sections, metadata);
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
