// The pyramid file format's vocabulary, shared by every writer and reader of pyramids: the
// user-metadata type names, the format version and its compatibility rule, the section names,
// the tile key scheme, the pixel-type mapping, which codec a tile may be stored with, the
// per-level statistics and the checks of what the metadata promises. pyramid/FORMAT.md
// describes the same format on paper; nothing else spells these things.
//
// A pyramid is a //storage file (storage/FORMAT.md). Its user metadata is a PyramidMetadata
// (pyramid/metadata.proto) of type kMetadataTypeName once sealed, or a BuildState
// (pyramid/internal/build_state.proto) of type kBuildStateTypeName while a build is
// unfinished. Level z is the storage section SectionName(z); its keys are TileKey(x, y) of XYZ
// tiles (row 0 at the top); its values are encoded tiles.
//
// Thread safety: every function may be called concurrently; a LevelStats is a plain value.
//
// Example:
//   LevelStats stats;
//   stats.AddTile(x, y, /*unique=*/true, bytes.size());
//   Level* level = metadata.add_levels();
//   level->set_zoom(z);
//   stats.CopyTo(level);
//   absl::Status s = CheckMetadata(metadata);  // InvalidArgument naming the field.
#ifndef FLATPYRAMID_PYRAMID_FORMAT_H_
#define FLATPYRAMID_PYRAMID_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"
#include "codec/options.h"
#include "geo/morton.h"
#include "pyramid/metadata.pb.h"

namespace flatpyramid {
namespace pyramid {

// kMetadataTypeName is the storage user-metadata type of a finished (sealed) pyramid.
inline constexpr absl::string_view kMetadataTypeName = "flatpyramid.pyramid.PyramidMetadata";

// kBuildStateTypeName is the storage user-metadata type of an unfinished build's commit point
// (pyramid/internal/build_state.proto).
inline constexpr absl::string_view kBuildStateTypeName = "flatpyramid.pyramid.internal.BuildState";

// kFormatVersion is PyramidMetadata::format_version as written by this code.
inline constexpr uint32_t kFormatVersion = 1;

// CheckFormatVersion returns OK for kFormatVersion, FailedPrecondition otherwise: a newer
// version may store tiles or levels this code cannot read (use a matching release); 0 is a
// message written without the field (not a pyramid of any version).
absl::Status CheckFormatVersion(uint32_t format_version);

// SectionName is the storage section of level `zoom`: "z" followed by the decimal zoom
// ("z0", "z12").
std::string SectionName(int zoom);

// ParseSectionName is the zoom of a section named by SectionName, nullopt for any other name
// (a leading zero, a sign, or a zoom above geo::TileMatrixSet::kMaxZoom).
std::optional<int> ParseSectionName(absl::string_view name);

// kShardRootsSection is the section of a shard file (PyramidMetadata::shard) holding the raw
// pixels of its tiles whose parent straddles a shard boundary, for merge_pyramids to form
// the tiles above them. Keys are ShardRootKey(zoom, TileKey(x, y)); each value is the tile's
// samples (tile_size^2 pixels, row-major, bands interleaved, each sample a little-endian
// value of the pixel type) followed by its coverage (tile_size^2 bytes, 0..255).
inline constexpr absl::string_view kShardRootsSection = "shard_roots";

// ShardRootKey is the key of tile `key` of level `zoom` in kShardRootsSection: the zoom in
// the top 8 bits, so the section is ordered by zoom, then by tile key.
inline uint64_t ShardRootKey(int zoom, uint64_t key) {
  return (static_cast<uint64_t>(zoom) << 56) | key;
}

// ShardRootFromKey is the inverse of ShardRootKey.
inline void ShardRootFromKey(uint64_t root_key, int* zoom, uint64_t* key) {
  *zoom = static_cast<int>(root_key >> 56);
  *key = root_key & ((uint64_t{1} << 56) - 1);
}

// TileKey is the storage key of tile (x, y) of any level: geo::MortonEncode(x, y), so that
// the four children of a tile are consecutive keys and a level's keys grow in Z order.
inline uint64_t TileKey(uint32_t x, uint32_t y) { return geo::MortonEncode(x, y); }

// TileFromKey is the inverse of TileKey.
inline void TileFromKey(uint64_t key, uint32_t* x, uint32_t* y) { geo::MortonDecode(key, x, y); }

// TileName is "z/x/y", for messages.
std::string TileName(int z, uint32_t x, uint32_t y);

// ToProtoPixelType is the metadata's spelling of a pixel type.
PixelType ToProtoPixelType(codec::PixelType type);

// FromProtoPixelType is the pixel type of the metadata's `pixel_type`; InvalidArgument naming
// the field for PIXEL_TYPE_UNSPECIFIED and unknown values.
absl::StatusOr<codec::PixelType> FromProtoPixelType(PixelType type);

// TileCodec is a pyramid's codec (PyramidMetadata::codec): which codecs its tiles are stored
// with (TileCodecAllows).
enum class TileCodec {
  kJpeg,          // "jpeg": opaque tiles JPEG without alpha, partial tiles PNG or WebP.
  kPng,           // "png": every tile PNG.
  kWebp,          // "webp": every tile lossy WebP.
  kWebpLossless,  // "webp_lossless": every tile lossless WebP.
  kElevation,     // "elevation": every tile the elevation codec (one band, nodata inside).
};

// TileCodecName is the metadata's name of `codec`: "jpeg", "png", "webp", "webp_lossless" or
// "elevation".
absl::string_view TileCodecName(TileCodec codec);

// ParseTileCodec accepts the names TileCodecName returns; InvalidArgument listing them.
absl::StatusOr<TileCodec> ParseTileCodec(absl::string_view name);

// TileCodecAllows says whether a tile of a `pyramid` pyramid may be stored as `stored` (as
// codec::DetectCodec tells it from the tile's first bytes): kJpeg allows JPEG, PNG and WebP
// (partial tiles keep their alpha); the others allow only their own codec.
bool TileCodecAllows(TileCodec pyramid, codec::CodecId stored);

// StoredTileBandsValid says whether a tile stored with `stored_bands` bands is valid in a
// pyramid of `band_count` bands: all of them, or all but the alpha band when `has_alpha` (an
// opaque tile: JPEG has no alpha, WebP encoders drop an opaque one). Readers add an opaque
// alpha band (255, 65535 for uint16) to such a tile.
bool StoredTileBandsValid(int stored_bands, int band_count, bool has_alpha);

// CheckStoredTile checks a stored tile's header (codec::PeekInfo) against the metadata: its
// codec (TileCodecAllows), size, pixel type and bands. InvalidArgument saying what differs.
// REQUIRES: CheckMetadata(metadata) is OK.
absl::Status CheckStoredTile(const PyramidMetadata& metadata, const codec::ImageInfo& info);

// LevelStats accumulates a level's statistics (Level fields tile_count, unique_tile_count,
// bytes, and the inclusive tile range min_x..max_x, min_y..max_y) as tiles are stored.
// Every writer counts with it and Reader::Verify recounts with it.
class LevelStats {
 public:
  LevelStats() = default;
  // Continues from the statistics already in `level` (a resumed build).
  explicit LevelStats(const Level& level);

  // AddTile counts tile (x, y). `unique`: its bytes were stored (not a reference to an
  // earlier identical tile of the level), `bytes` long.
  void AddTile(uint32_t x, uint32_t y, bool unique, uint64_t bytes);

  // CopyTo sets the statistics fields of `level` (the range is 0..0 x 0..0 with no tiles);
  // zoom and section are left alone.
  void CopyTo(Level* level) const;

  // Differences lists, one message each, where `level`'s statistics differ from these
  // ("metadata lists 5 tiles, the section holds 4"); empty when they agree.
  std::vector<std::string> Differences(const Level& level) const;

  uint64_t tile_count() const { return tile_count_; }
  uint64_t unique_tile_count() const { return unique_tile_count_; }
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t tile_count_ = 0;
  uint64_t unique_tile_count_ = 0;
  uint64_t bytes_ = 0;  // Of the unique tiles.
  // The range is meaningful only when tile_count_ > 0.
  uint32_t min_x_ = 0, min_y_ = 0, max_x_ = 0, max_y_ = 0;
};

// CheckMetadata checks what the format promises of a PyramidMetadata on its own (without the
// storage file): format_version, a known tile_matrix_set and tile_size, pixel_type,
// band_count 1..4 with matching color_interpretation and has_alpha, a known codec that can
// store that pixel type and those bands, finite bounds and bounds_lonlat (min <= max),
// min_zoom <= max_zoom <= geo::TileMatrixSet::kMaxZoom, and exactly one level per zoom from
// min_zoom to max_zoom, each with consistent statistics and a tile range inside the tile
// matrix. Returns FailedPrecondition for another format_version, InvalidArgument naming the
// field otherwise ("levels: zoom 5 is missing (min_zoom 3, max_zoom 7)").
absl::Status CheckMetadata(const PyramidMetadata& metadata);

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_FORMAT_H_
