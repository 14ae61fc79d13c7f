#include "pyramid/internal/read/mosaic.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "pyramid/format.h"
#include "pyramid/internal/read/region_warp.h"
#include "pyramid/internal/read/samples.h"
#include "pyramid/resampling.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

using TilePtr = std::shared_ptr<const codec::Image>;

// CopyTile copies the part of `tile` (the tile at `tile_x`, `tile_y` of zoom z - shift,
// tile_size px) that covers `area` (global pixels at zoom z) into `target`, whose pixel
// (0, 0) is global pixel (`origin_x`, `origin_y`) at zoom z. With shift > 0 each tile pixel
// covers 2^shift x 2^shift target pixels (nearest-neighbour upsampling). Target bands beyond
// the tile's are set to `extra_value` (the synthetic alpha).
void CopyTile(const codec::ImageView& tile, int64_t tile_x, int64_t tile_y, int shift,
              const Window& area, int64_t origin_x, int64_t origin_y,
              const codec::MutableImageView& target, double extra_value) {
  const int tile_size = tile.width;
  const size_t sample = codec::BytesPerSample(tile.type);
  const size_t tile_pixel = sample * static_cast<size_t>(tile.bands);
  const size_t target_pixel = sample * static_cast<size_t>(target.bands);
  uint8_t extra[4];
  WriteSample(extra_value, target.type, extra);
  const int extra_bands = target.bands - tile.bands;
  for (int64_t gy = area.y0; gy < area.y1; ++gy) {
    const int64_t row_in_tile = (gy >> shift) - tile_y * tile_size;
    const uint8_t* in_row = tile.data + static_cast<size_t>(row_in_tile) * tile.row_stride;
    uint8_t* out = target.data + static_cast<size_t>(gy - origin_y) * target.row_stride +
                   static_cast<size_t>(area.x0 - origin_x) * target_pixel;
    if (shift == 0 && extra_bands == 0) {
      std::memcpy(out, in_row + static_cast<size_t>(area.x0 - tile_x * tile_size) * tile_pixel,
                  static_cast<size_t>(area.width()) * tile_pixel);
      continue;
    }
    for (int64_t gx = area.x0; gx < area.x1; ++gx, out += target_pixel) {
      const int64_t col_in_tile = (gx >> shift) - tile_x * tile_size;
      std::memcpy(out, in_row + static_cast<size_t>(col_in_tile) * tile_pixel, tile_pixel);
      for (int b = 0; b < extra_bands; ++b) {
        std::memcpy(out + tile_pixel + static_cast<size_t>(b) * sample, extra, sample);
      }
    }
  }
}

// ClearTransparentColour zeroes the colour of uint8 pixels whose alpha (the last band) is 0:
// GDAL's warper leaves such pixels as it initialised them.
void ClearTransparentColour(const codec::MutableImageView& image) {
  const int bands = image.bands;
  for (int row = 0; row < image.height; ++row) {
    uint8_t* p = image.data + static_cast<size_t>(row) * image.row_stride;
    if (bands == 4) {
      // Branch-free over whole pixels, so that the compiler vectorises it.
      constexpr uint8_t kAlphaBytes[4] = {0, 0, 0, 255};
      uint32_t alpha_mask;
      std::memcpy(&alpha_mask, kAlphaBytes, 4);
      for (int col = 0; col < image.width; ++col) {
        uint32_t pixel;
        std::memcpy(&pixel, p + 4 * col, 4);
        pixel &= 0u - static_cast<uint32_t>((pixel & alpha_mask) != 0);
        std::memcpy(p + 4 * col, &pixel, 4);
      }
      continue;
    }
    for (int col = 0; col < image.width; ++col, p += bands) {
      if (p[bands - 1] == 0) std::memset(p, 0, static_cast<size_t>(bands - 1));
    }
  }
}

// RunInParallel calls work(i) for i in 0..count-1 on up to `threads` threads (the calling
// thread is one of them); each i runs exactly once.
void RunInParallel(size_t count, int threads, const std::function<void(size_t)>& work) {
  std::atomic<size_t> next{0};
  auto drain = [&] {
    for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) work(i);
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back(drain);
    } catch (const std::system_error&) {
      break;  // No thread to be had: the threads already running do all the work.
    }
  }
  drain();
  for (std::thread& helper : helpers) helper.join();
}

// DecodeThreads is how many threads decode `tiles` tiles: one per kTilesPerThread, at most
// one per core and kMaxRegionDecodeThreads.
int DecodeThreads(size_t tiles) {
  constexpr size_t kTilesPerThread = 4;  // A thread start costs about a tenth of a decode.
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return static_cast<int>(std::min<size_t>({tiles / kTilesPerThread + 1, static_cast<size_t>(cores),
                                            static_cast<size_t>(kMaxRegionDecodeThreads)}));
}

// SubView is the part of `target` (whose pixel (0, 0) is global pixel `origin_x`, `origin_y`)
// that holds `area` (global pixels).
codec::MutableImageView SubView(const codec::MutableImageView& target, int64_t origin_x,
                                int64_t origin_y, const Window& area) {
  codec::MutableImageView view = target;
  view.data += static_cast<size_t>(area.y0 - origin_y) * view.row_stride +
               static_cast<size_t>(area.x0 - origin_x) * codec::BytesPerSample(view.type) *
                   static_cast<size_t>(view.bands);
  view.width = static_cast<int>(area.width());
  view.height = static_cast<int>(area.height());
  return view;
}

// TileArea is the part of `area` inside tile (tx, ty) (unwrapped column) of `ts` pixels.
Window TileArea(int64_t tx, uint32_t ty, int64_t ts, const Window& area) {
  return Intersect(Window{tx * ts, int64_t{ty} * ts, (tx + 1) * ts, int64_t{ty + 1} * ts}, area);
}

using TileList = std::vector<std::pair<int64_t, uint32_t>>;  // Unwrapped column, row.

// PlaceStoredTile puts stored tile (tx, ty) of the placement into its target: from the cache,
// or decoded (straight into the target when `into_target`: no cache to keep it). Sets
// `*placed` when the tile was there.
absl::Status PlaceStoredTile(const TileSource& tiles, const TilePlacement& p, int64_t tx,
                             uint32_t ty, bool into_target, bool* placed) {
  const int z = p.tiles->z;
  const int64_t ts = tiles.tile_size();
  const Window area = TileArea(tx, ty, ts, p.area);
  const uint32_t wrapped_x = WrapColumn(tx, tiles.tms().MatrixWidth(z));
  const uint64_t key = TileKey(wrapped_x, ty);
  const TileCache::Key cache_key{tiles.cache_id(), z, key};
  TilePtr tile = tiles.cache()->Lookup(cache_key);
  if (tile == nullptr) {
    std::optional<absl::string_view> bytes =
        tiles.store().Get(static_cast<uint32_t>(tiles.SectionFor(z)), key);
    if (!bytes.has_value()) return absl::OkStatus();
    if (into_target) {
      const codec::MutableImageView view = SubView(p.target, p.origin_x, p.origin_y, area);
      bool opaque = false;
      absl::Status s =
          tiles.DecodeTilePart(z, wrapped_x, ty, *bytes, static_cast<int>(area.x0 - tx * ts),
                               static_cast<int>(area.y0 - int64_t{ty} * ts), view, &opaque);
      if (!s.ok()) return s;
      *placed = true;
      if (p.clear_transparent_colour && !opaque) ClearTransparentColour(view);
      return absl::OkStatus();
    }
    absl::StatusOr<codec::Image> decoded = tiles.DecodeTile(z, wrapped_x, ty, *bytes);
    if (!decoded.ok()) return decoded.status();
    tile = tiles.cache()->Insert(cache_key, *std::move(decoded));
  }
  CopyTile(tile->view(), tx, ty, 0, area, p.origin_x, p.origin_y, p.target, p.extra_value);
  if (p.clear_transparent_colour) {
    ClearTransparentColour(SubView(p.target, p.origin_x, p.origin_y, area));
  }
  *placed = true;
  return absl::OkStatus();
}

// PlaceStoredTiles places `stored` in parallel: they cover disjoint parts of the target.
absl::Status PlaceStoredTiles(const TileSource& tiles, const TilePlacement& p,
                              const TileList& stored, Region* region, bool* any_data) {
  const bool into_target =
      tiles.cache()->capacity_bytes() == 0 && p.target.bands == tiles.band_count();
  std::vector<absl::Status> statuses(stored.size());
  std::vector<char> placed(stored.size(), 0);
  RunInParallel(stored.size(), DecodeThreads(stored.size()), [&](size_t i) {
    bool done = false;
    statuses[i] = PlaceStoredTile(tiles, p, stored[i].first, stored[i].second, into_target, &done);
    placed[i] = done;
  });
  for (size_t i = 0; i < stored.size(); ++i) {
    if (!statuses[i].ok()) return statuses[i];
    if (placed[i]) {
      ++region->tiles_decoded;
      *any_data = true;
    }
  }
  return absl::OkStatus();
}

// AncestorTiles looks up tiles of the levels above a placement's, by (shift, unwrapped
// column, row), remembering each (nullptr: absent).
class AncestorTiles {
 public:
  AncestorTiles(const TileSource& tiles, int z) : tiles_(tiles), z_(z) {}

  absl::StatusOr<TilePtr> Find(int shift, int64_t ax, uint32_t ay) {
    const uint32_t wrapped_x = WrapColumn(ax, tiles_.tms().MatrixWidth(z_ - shift));
    const std::pair<int, uint64_t> key{shift, TileKey(wrapped_x, ay)};
    auto it = found_.find(key);
    if (it == found_.end()) {
      absl::StatusOr<TilePtr> tile = tiles_.FindTile(z_ - shift, wrapped_x, ay);
      if (!tile.ok()) return tile.status();
      it = found_.emplace(key, *std::move(tile)).first;
    }
    return it->second;
  }

 private:
  const TileSource& tiles_;
  const int z_;
  absl::flat_hash_map<std::pair<int, uint64_t>, TilePtr> found_;
};

// UpsampleAncestor fills `area` (inside one missing tile of the placement's zoom) from level
// z - shift, upsampled by GDAL's warper with the placement's fill_resampling.
absl::Status UpsampleAncestor(const TileSource& tiles, const TilePlacement& p, const Window& area,
                              int shift, AncestorTiles& ancestors) {
  const int z = p.tiles->z;
  const int za = z - shift;
  const int64_t ts = tiles.tile_size();
  const geo::TileMatrixSet& tms = tiles.tms();
  const int bands = tiles.band_count();
  // The ancestor's pixels under `area`, plus the kernel's reach at the ancestor's scale;
  // unwrapped in x, as the placement.
  const int64_t reach = KernelRadius(p.fill_resampling) + 1;
  const Window source_area =
      Intersect(Window{(area.x0 >> shift) - reach, (area.y0 >> shift) - reach,
                       ((area.x1 - 1) >> shift) + 1 + reach, ((area.y1 - 1) >> shift) + 1 + reach},
                Window{std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max(),
                       int64_t{tms.MatrixHeight(za)} * ts});
  const bool has_alpha = tiles.has_alpha();
  const std::optional<double> nodata = tiles.nodata();
  // Without alpha or nodata, a synthetic alpha band says where ancestor tiles were.
  const bool synthetic_alpha = !has_alpha && !nodata.has_value();
  codec::Image source(static_cast<int>(source_area.width()), static_cast<int>(source_area.height()),
                      bands + (synthetic_alpha ? 1 : 0), tiles.pixel_type());
  if (nodata.has_value()) FillNewImage(source, bands, *nodata);
  for (int64_t ay = source_area.y0 / ts; ay <= (source_area.y1 - 1) / ts; ++ay) {
    for (int64_t ax = FloorDiv(source_area.x0, ts); ax <= FloorDiv(source_area.x1 - 1, ts); ++ax) {
      absl::StatusOr<TilePtr> tile = ancestors.Find(shift, ax, static_cast<uint32_t>(ay));
      if (!tile.ok()) return tile.status();
      if (*tile == nullptr) continue;
      CopyTile((*tile)->view(), ax, ay, 0, TileArea(ax, static_cast<uint32_t>(ay), ts, source_area),
               source_area.x0, source_area.y0, source.mutable_view(),
               OpaqueValue(tiles.pixel_type()));
    }
  }
  GeoGrid source_grid, destination_grid;
  double x, y;
  tms.PixelToCrs(static_cast<double>(source_area.x0), static_cast<double>(source_area.y0), za, &x,
                 &y);
  source_grid.geotransform = {x, tms.Resolution(za), 0, y, 0, -tms.Resolution(za)};
  source_grid.srs_wkt = tiles.tms_srs_wkt();
  tms.PixelToCrs(static_cast<double>(area.x0), static_cast<double>(area.y0), z, &x, &y);
  destination_grid.geotransform = {x, tms.Resolution(z), 0, y, 0, -tms.Resolution(z)};
  destination_grid.srs_wkt = tiles.tms_srs_wkt();
  WarpSpec spec;
  spec.resampling = ToGdalResampleAlg(p.fill_resampling);
  spec.color_bands = has_alpha ? bands - 1 : bands;
  spec.source_alpha_band = has_alpha ? bands - 1 : synthetic_alpha ? bands : -1;
  spec.destination_alpha_band = has_alpha ? bands - 1 : p.target.bands > bands ? bands : -1;
  spec.nodata = nodata;
  if (absl::Status s =
          WarpRegion(source.view(), source_grid, SubView(p.target, p.origin_x, p.origin_y, area),
                     destination_grid, spec);
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(tiles.path(), ": filling tiles of zoom ", z,
                                               " from zoom ", za, ": ", s.message()));
  }
  return absl::OkStatus();
}

// FillFromCoarserLevels fills each of `missing` from the nearest coarser level that has it.
absl::Status FillFromCoarserLevels(const TileSource& tiles, const TilePlacement& p,
                                   const TileList& missing, Region* region, bool* any_data) {
  const int z = p.tiles->z;
  const int64_t ts = tiles.tile_size();
  // Nearest, average and mode upsample by replication anyway.
  const bool replicate = p.fill_resampling == Resampling::kNearest ||
                         p.fill_resampling == Resampling::kAverage ||
                         p.fill_resampling == Resampling::kMode;
  AncestorTiles ancestors(tiles, z);
  for (const auto& [tx, ty] : missing) {
    const Window area = TileArea(tx, ty, ts, p.area);
    for (int shift = 1; z - shift >= tiles.min_zoom(); ++shift) {
      if (tiles.SectionFor(z - shift) < 0) continue;
      const int64_t px = tx >> shift;  // Arithmetic: rounds down, unwrapped.
      const uint32_t py = ty >> shift;
      absl::StatusOr<TilePtr> parent = ancestors.Find(shift, px, py);
      if (!parent.ok()) return parent.status();
      if (*parent == nullptr) continue;
      if (replicate) {
        CopyTile((*parent)->view(), px, py, shift, area, p.origin_x, p.origin_y, p.target,
                 p.extra_value);
      } else if (absl::Status s = UpsampleAncestor(tiles, p, area, shift, ancestors); !s.ok()) {
        return s;
      }
      if (p.clear_transparent_colour) {
        ClearTransparentColour(SubView(p.target, p.origin_x, p.origin_y, area));
      }
      ++region->tiles_from_coarser_levels;
      *any_data = true;
      break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PlaceTiles(const TileSource& tiles, const TilePlacement& p, Region* region,
                        bool* any_data) {
  const LevelTiles& level = *p.tiles;
  const int64_t ts = tiles.tile_size();
  TileList stored, missing;
  for (uint32_t ty = static_cast<uint32_t>(p.area.y0 / ts);
       ty <= static_cast<uint32_t>((p.area.y1 - 1) / ts); ++ty) {
    for (int64_t tx = FloorDiv(p.area.x0, ts); tx <= FloorDiv(p.area.x1 - 1, ts); ++tx) {
      const bool present = level.present[static_cast<size_t>(ty - level.ty0) * level.tiles_across +
                                         static_cast<size_t>(tx - level.tx0)] != 0;
      (present ? stored : missing).push_back({tx, ty});
    }
  }
  if (absl::Status s = PlaceStoredTiles(tiles, p, stored, region, any_data); !s.ok()) return s;
  return FillFromCoarserLevels(tiles, p, missing, region, any_data);
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
