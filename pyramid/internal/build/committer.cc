#include "pyramid/internal/build/committer.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "geo/morton.h"
#include "pyramid/internal/build/build_errors.h"
#include "pyramid/internal/build/build_files.h"
#include "pyramid/internal/build/shard_plan.h"
#include "pyramid/internal/tile_hash.h"
#include "pyramid/internal/unit_walker.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

std::string Compress(const std::vector<uint8_t>& bytes) {
  std::string out(ZSTD_compressBound(bytes.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(), 1);
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

bool Decompress(const std::string& in, std::vector<uint8_t>* out) {
  const size_t n = ZSTD_decompress(out->data(), out->size(), in.data(), in.size());
  return !ZSTD_isError(n) && n == out->size();
}

// KernelBlock assembles the finer block a kernel reduces to parent tile (x, y): its four
// children (2x .. 2x + 1) plus 2r pixels of their neighbours, read from `below`.
// `side` = 2 * size + 4r. Sets `*any` when a child pixel is covered.
absl::Status KernelBlock(const TileSpill& below, uint32_t x, uint32_t y, int r, int side,
                         size_t pixel_bytes, TilePixels* child, uint8_t* block_samples,
                         uint8_t* block_alpha, bool* any) {
  const int size = child->size;
  *any = false;
  for (int ty = -1; ty <= 2; ++ty) {
    for (int tx = -1; tx <= 2; ++tx) {
      const int64_t cx = int64_t{2} * x + tx, cy = int64_t{2} * y + ty;
      absl::Status s = below.Read(cx, cy, child);
      if (!s.ok()) return s;
      // Child pixel (px, py) lands at block (tx * size + px + 2r, ty * size + py + 2r).
      const int ox = tx * size + 2 * r, oy = ty * size + 2 * r;
      const int px0 = std::max(0, -ox), px1 = std::min(size, side - ox);
      const int py0 = std::max(0, -oy), py1 = std::min(size, side - oy);
      if (px0 >= px1 || py0 >= py1) continue;
      for (int py = py0; py < py1; ++py) {
        const size_t b = static_cast<size_t>(oy + py) * side + ox + px0;
        const size_t c = static_cast<size_t>(py) * size + px0;
        std::memcpy(block_samples + b * pixel_bytes, child->samples.data() + c * pixel_bytes,
                    (px1 - px0) * pixel_bytes);
        std::memcpy(block_alpha + b, child->alpha.data() + c, px1 - px0);
        if (tx >= 0 && tx <= 1 && ty >= 0 && ty <= 1 && !*any) {
          *any = std::any_of(child->alpha.data() + c, child->alpha.data() + c + (px1 - px0),
                             [](uint8_t a) { return a != 0; });
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

Committer::Committer(const BuildPlan& plan, storage::Writer* writer, std::vector<uint32_t> sections)
    : plan_(plan), writer_(writer), sections_(std::move(sections)), dedup_(plan.max_zoom) {
  pending_.resize(plan.max_zoom + 1);
  for (int z = plan.min_zoom; z <= plan.max_zoom; ++z) {
    Level* level = metadata_levels_.Add();
    level->set_zoom(z);
    level->set_section(sections_[z]);
  }
  stats_.resize(metadata_levels_.size());
}

absl::Status Committer::AppendUnit(uint64_t unit_key, UnitResult* result) {
  for (const EncodedTile& tile : result->tiles) {
    absl::Status s = AppendTile(tile.zoom, tile.key,
                                absl::string_view(result->arena).substr(tile.offset, tile.length));
    if (!s.ok()) return s;
  }
  if (result->root == nullptr) return absl::OkStatus();
  if (spill_ != nullptr) {
    uint32_t x, y;
    geo::MortonDecode(unit_key, &x, &y);
    return spill_->Write(x, y, *result->root);
  }
  return AddAbove(plan_.unit_zoom, unit_key, std::move(result->root));
}

absl::Status Committer::Finish(storage::Env* env, const std::string& build_path) {
  if (spill_ != nullptr) return FinishFromSpill(env, build_path);
  for (int z = plan_.unit_zoom - 1; z >= plan_.min_zoom; --z) {
    if (pending_[z].active) {
      absl::Status s = Flush(z);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

void Committer::FillLevels(PyramidMetadata* metadata) const {
  *metadata->mutable_levels() = metadata_levels_;
  for (int i = 0; i < metadata_levels_.size(); ++i) stats_[i].CopyTo(metadata->mutable_levels(i));
}

uint64_t Committer::unique_tiles() const {
  uint64_t n = 0;
  for (const LevelStats& stats : stats_) n += stats.unique_tile_count();
  return n;
}

void Committer::SaveState(BuildState* state, PendingTiles* pending) const {
  FillLevels(state->mutable_metadata());
  state->set_tiles_written(tiles_written_);
  pending->clear_tiles();
  for (int z = 0; z < static_cast<int>(pending_.size()); ++z) {
    const Pending& p = pending_[z];
    if (!p.active) continue;
    for (int c = 0; c < 4; ++c) {
      if (p.children[c] == nullptr) continue;
      PendingTile* tile = pending->add_tiles();
      tile->set_zoom(z + 1);
      tile->set_key(4 * p.key + c);
      tile->set_samples(Compress(p.children[c]->samples));
      tile->set_alpha(Compress(p.children[c]->alpha));
    }
  }
  for (const auto& [zoom_key, pixels] : boundary_roots_) {
    PendingTile* tile = pending->add_tiles();
    tile->set_zoom(zoom_key.first);
    tile->set_key(zoom_key.second);
    tile->set_samples(Compress(pixels->samples));
    tile->set_alpha(Compress(pixels->alpha));
    tile->set_boundary_root(true);
  }
}

absl::Status Committer::RestoreState(const BuildState& state, const PendingTiles& pending) {
  metadata_levels_ = state.metadata().levels();
  if (metadata_levels_.size() != plan_.max_zoom - plan_.min_zoom + 1) {
    return absl::FailedPreconditionError("the partial build's level list does not match");
  }
  for (int i = 0; i < metadata_levels_.size(); ++i) stats_[i] = LevelStats(metadata_levels_[i]);
  tiles_written_ = state.tiles_written();
  for (const PendingTile& tile : pending.tiles()) {
    auto pixels =
        std::make_unique<TilePixels>(plan_.pixel_type(), plan_.tile_size(), plan_.bands());
    if (tile.zoom() == 0 || static_cast<int>(tile.zoom()) > plan_.unit_zoom ||
        !Decompress(tile.samples(), &pixels->samples) ||
        !Decompress(tile.alpha(), &pixels->alpha)) {
      return absl::DataLossError("the partial build's pending overview tiles are corrupt");
    }
    if (tile.boundary_root()) {
      boundary_roots_[{static_cast<int>(tile.zoom()), tile.key()}] = std::move(pixels);
      continue;
    }
    Pending& p = pending_[tile.zoom() - 1];
    p.active = true;
    p.key = tile.key() >> 2;
    p.children[tile.key() & 3] = std::move(pixels);
  }
  return absl::OkStatus();
}

// FinishFromSpill forms each level above the units from the spilled level below it: every
// parent tile reads its children and 2r pixels of their neighbours.
absl::Status Committer::FinishFromSpill(storage::Env* env, const std::string& build_path) {
  const int size = plan_.tile_size();
  const codec::PixelType type = plan_.pixel_type();
  const int bands = plan_.bands();
  const size_t pixel_bytes = bands * codec::BytesPerSample(type);
  const int r = plan_.kernel_radius;
  const int side = 2 * size + 4 * r;
  std::vector<uint8_t> block_samples(static_cast<size_t>(side) * side * pixel_bytes);
  std::vector<uint8_t> block_alpha(static_cast<size_t>(side) * side);
  std::vector<double> scratch;
  TilePixels child(type, size, bands);
  TilePixels parent(type, size, bands);
  std::unique_ptr<TileSpill> below = std::move(spill_);
  for (int z = plan_.unit_zoom - 1; z >= plan_.min_zoom; --z) {
    const int shift = plan_.unit_zoom - z;
    std::unique_ptr<TileSpill> level;
    if (z > plan_.min_zoom) {
      absl::StatusOr<std::unique_ptr<TileSpill>> opened = TileSpill::Open(
          env, SpillFileName(build_path, z), /*truncate=*/true, plan_.unit_min_x >> shift,
          plan_.unit_min_y >> shift, plan_.unit_max_x >> shift, plan_.unit_max_y >> shift,
          parent.samples.size(), parent.alpha.size());
      if (!opened.ok()) return opened.status();
      level = std::move(*opened);
    }
    std::vector<geo::TileRect> rects;
    for (const geo::TileRect& u : plan_.unit_rects) {
      rects.push_back(
          geo::TileRect{u.min_x >> shift, u.min_y >> shift, u.max_x >> shift, u.max_y >> shift});
    }
    UnitWalker tiles(std::move(rects));
    uint64_t key;
    while (tiles.Next(&key)) {
      uint32_t x, y;
      geo::MortonDecode(key, &x, &y);
      bool any = false;
      absl::Status s = KernelBlock(*below, x, y, r, side, pixel_bytes, &child, block_samples.data(),
                                   block_alpha.data(), &any);
      if (!s.ok()) return s;
      if (!any) continue;
      DownsampleKernel2x(type, bands, plan_.overview_resampling, plan_.binary_alpha, size,
                         block_samples.data(), block_alpha.data(), parent.samples.data(),
                         parent.alpha.data(), &scratch);
      if (parent.Empty()) continue;
      s = EncodeTile(parent, plan_.encoding, &scratch_, &encoded_);
      if (s.ok()) s = AppendTile(z, key, encoded_);
      if (s.ok() && level != nullptr) s = level->Write(x, y, parent);
      if (!s.ok()) return s;
    }
    below = std::move(level);
  }
  return absl::OkStatus();
}

absl::Status Committer::AppendTile(int zoom, uint64_t key, absl::string_view bytes) {
  const uint32_t section = sections_[zoom];
  const bool small = bytes.size() <= kMaxSharedTileBytes;
  TileDigest digest;
  if (small) {
    digest = DigestTile(bytes);
    if (std::optional<storage::ValueRef> stored = dedup_.Find(zoom, digest)) {
      absl::Status s = writer_->AppendShared(section, key, *stored);
      if (!s.ok()) return WriteFailed(s, true);
      AddTileStats(zoom, key, /*unique=*/false, 0);
      return absl::OkStatus();
    }
  }
  absl::StatusOr<storage::ValueRef> ref = writer_->Append(section, key, bytes);
  if (!ref.ok()) return WriteFailed(ref.status(), true);
  if (small) dedup_.Remember(zoom, digest, *ref);
  bytes_written_ += bytes.size();
  AddTileStats(zoom, key, /*unique=*/true, bytes.size());
  return absl::OkStatus();
}

void Committer::AddTileStats(int zoom, uint64_t key, bool unique, uint64_t bytes) {
  uint32_t x, y;
  TileFromKey(key, &x, &y);
  stats_[zoom - plan_.min_zoom].AddTile(x, y, unique, bytes);
  ++tiles_written_;
}

// AddAbove hands the raw tile (zoom, key) to its parent's pending slot, forming pending
// parents of earlier keys first.
absl::Status Committer::AddAbove(int zoom, uint64_t key, std::unique_ptr<TilePixels> tile) {
  const int parent_zoom = zoom - 1;
  if (parent_zoom < plan_.min_zoom) return absl::OkStatus();
  Pending& p = pending_[parent_zoom];
  if (p.active && p.key != (key >> 2)) {
    absl::Status s = Flush(parent_zoom);
    if (!s.ok()) return s;
  }
  p.active = true;
  p.key = key >> 2;
  p.children[key & 3] = std::move(tile);
  return absl::OkStatus();
}

// Flush forms the pending parent of level `zoom`, appends it and hands it further up.
absl::Status Committer::Flush(int zoom) {
  Pending& p = pending_[zoom];
  if (!OwnsTile(plan_.unit_zoom, plan_.shard_begin_key, plan_.shard_end_key, zoom, p.key)) {
    // A parent straddling a shard boundary: merge_pyramids forms it from these.
    for (int c = 0; c < 4; ++c) {
      if (p.children[c] != nullptr) {
        boundary_roots_[{zoom + 1, 4 * p.key + c}] = std::move(p.children[c]);
      }
    }
    p.active = false;
    return absl::OkStatus();
  }
  const TilePixels* children[4];
  for (int c = 0; c < 4; ++c) children[c] = p.children[c].get();
  auto parent = std::make_unique<TilePixels>(plan_.pixel_type(), plan_.tile_size(), plan_.bands());
  Downsample2x(children, plan_.overview_resampling, plan_.binary_alpha, parent.get());
  for (auto& child : p.children) child.reset();
  p.active = false;
  if (parent->Empty()) return absl::OkStatus();
  absl::Status s = EncodeTile(*parent, plan_.encoding, &scratch_, &encoded_);
  if (!s.ok()) return s;
  s = AppendTile(zoom, p.key, encoded_);
  if (!s.ok()) return s;
  return AddAbove(zoom, p.key, std::move(parent));
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
