// Internal to //pyramid: an open pyramid's tiles as the read side's modules see them: levels
// by zoom, stored bytes by tile, and decoded, normalised tiles through the shared TileCache.
// pyramid::Reader owns one; the region, sample and verify code take it by reference.
//
// Thread safety: every const method may be called concurrently (the cache locks itself).
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_TILE_SOURCE_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_TILE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/metadata.pb.h"
#include "pyramid/tile_cache.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

class TileSource {
 public:
  // REQUIRES: `metadata` passed CheckMetadata and matches `store`'s sections; all four
  // outlive this TileSource. Its tiles are cached under a new TileCache pyramid id.
  // `tms_srs_wkt` is the set's CRS as WKT, for GDAL.
  TileSource(std::string path, const storage::Reader* store, const PyramidMetadata* metadata,
             const geo::TileMatrixSet* tms, std::string tms_srs_wkt,
             std::shared_ptr<TileCache> cache);
  // Erases this pyramid's tiles from the cache.
  ~TileSource();
  TileSource(const TileSource&) = delete;
  TileSource& operator=(const TileSource&) = delete;

  const std::string& path() const { return path_; }
  const PyramidMetadata& metadata() const { return *metadata_; }
  const geo::TileMatrixSet& tms() const { return *tms_; }
  const std::string& tms_srs_wkt() const { return tms_srs_wkt_; }
  const storage::Reader& store() const { return *store_; }
  const std::shared_ptr<TileCache>& cache() const { return cache_; }
  uint64_t cache_id() const { return cache_id_; }
  codec::PixelType pixel_type() const { return pixel_type_; }
  int band_count() const { return static_cast<int>(metadata_->band_count()); }
  int tile_size() const { return static_cast<int>(metadata_->tile_size()); }
  int min_zoom() const { return static_cast<int>(metadata_->min_zoom()); }
  int max_zoom() const { return static_cast<int>(metadata_->max_zoom()); }
  bool has_alpha() const { return metadata_->has_alpha(); }
  std::optional<double> nodata() const {
    return metadata_->has_nodata() ? std::optional<double>(metadata_->nodata()) : std::nullopt;
  }

  // FindLevel is the metadata of level `zoom`, or nullptr.
  const Level* FindLevel(int zoom) const;
  // SectionFor is the storage section of level z, or -1.
  int64_t SectionFor(int z) const;

  // DecodeTile decodes and normalises the stored bytes of tile z/x/y (a new image).
  absl::StatusOr<codec::Image> DecodeTile(int z, uint32_t x, uint32_t y,
                                          absl::string_view bytes) const;
  // DecodeTilePart is DecodeStoredTile (tile_codec.h) with errors naming the file and tile.
  absl::Status DecodeTilePart(int z, uint32_t x, uint32_t y, absl::string_view bytes, int col0,
                              int row0, const codec::MutableImageView& out, bool* opaque) const;
  // FindTile returns tile z/x/y decoded (from the cache, or decoded and cached), or nullptr
  // when it is not stored or outside the matrix (not an error).
  absl::StatusOr<std::shared_ptr<const codec::Image>> FindTile(int z, uint32_t x, uint32_t y) const;

 private:
  std::string path_;
  const storage::Reader* store_;
  const PyramidMetadata* metadata_;
  const geo::TileMatrixSet* tms_;
  std::string tms_srs_wkt_;
  std::shared_ptr<TileCache> cache_;
  uint64_t cache_id_;
  codec::PixelType pixel_type_ = codec::PixelType::kUint8;
  // sections_[z] is the storage section of level z, or -1; levels_[z] its metadata.
  std::vector<int64_t> sections_;
  std::vector<const Level*> levels_;
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_TILE_SOURCE_H_
