#include "pyramid/internal/read/tile_source.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pyramid/format.h"
#include "pyramid/internal/read/tile_codec.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

TileSource::TileSource(std::string path, const storage::Reader* store,
                       const PyramidMetadata* metadata, const geo::TileMatrixSet* tms,
                       std::string tms_srs_wkt, std::shared_ptr<TileCache> cache)
    : path_(std::move(path)),
      store_(store),
      metadata_(metadata),
      tms_(tms),
      tms_srs_wkt_(std::move(tms_srs_wkt)),
      cache_(std::move(cache)),
      cache_id_(TileCache::NextPyramidId()),
      sections_(geo::TileMatrixSet::kMaxZoom + 1, -1),
      levels_(geo::TileMatrixSet::kMaxZoom + 1, nullptr) {
  pixel_type_ = FromProtoPixelType(metadata_->pixel_type()).value_or(codec::PixelType::kUint8);
  for (const Level& level : metadata_->levels()) {
    sections_[level.zoom()] = level.section();
    levels_[level.zoom()] = &level;
  }
}

TileSource::~TileSource() { cache_->Erase(cache_id_); }

const Level* TileSource::FindLevel(int zoom) const {
  if (zoom < 0 || zoom > geo::TileMatrixSet::kMaxZoom) return nullptr;
  return levels_[zoom];
}

int64_t TileSource::SectionFor(int z) const {
  if (z < 0 || z > geo::TileMatrixSet::kMaxZoom) return -1;
  return sections_[z];
}

absl::StatusOr<codec::Image> TileSource::DecodeTile(int z, uint32_t x, uint32_t y,
                                                    absl::string_view bytes) const {
  // A successful DecodeTilePart writes every sample of the whole tile.
  codec::Image tile =
      codec::Image::Uninitialized(tile_size(), tile_size(), band_count(), pixel_type_);
  if (absl::Status s = DecodeTilePart(z, x, y, bytes, 0, 0, tile.mutable_view(), nullptr);
      !s.ok()) {
    return s;
  }
  return tile;
}

absl::Status TileSource::DecodeTilePart(int z, uint32_t x, uint32_t y, absl::string_view bytes,
                                        int col0, int row0, const codec::MutableImageView& out,
                                        bool* opaque) const {
  absl::Status s = DecodeStoredTile(bytes, *metadata_, col0, row0, out, opaque);
  if (s.ok()) return s;
  return absl::Status(s.code(),
                      absl::StrCat(path_, ": tile ", TileName(z, x, y), ": ", s.message()));
}

absl::StatusOr<std::shared_ptr<const codec::Image>> TileSource::FindTile(int z, uint32_t x,
                                                                         uint32_t y) const {
  const int64_t section = SectionFor(z);
  if (section < 0 || x >= tms_->MatrixWidth(z) || y >= tms_->MatrixHeight(z)) return nullptr;
  const uint64_t key = TileKey(x, y);
  const TileCache::Key cache_key{cache_id_, z, key};
  if (std::shared_ptr<const codec::Image> cached = cache_->Lookup(cache_key)) return cached;
  std::optional<absl::string_view> bytes = store_->Get(static_cast<uint32_t>(section), key);
  if (!bytes.has_value()) return nullptr;
  absl::StatusOr<codec::Image> decoded = DecodeTile(z, x, y, *bytes);
  if (!decoded.ok()) return decoded.status();
  return cache_->Insert(cache_key, *std::move(decoded));
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
