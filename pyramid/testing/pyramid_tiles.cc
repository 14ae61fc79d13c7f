#include "pyramid/testing/pyramid_tiles.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "geo/morton.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/format.h"
#include "storage/store.h"

namespace flatpyramid {
namespace test {

absl::StatusOr<std::map<TileAddress, std::string>> ReadPyramidTiles(const std::string& path) {
  absl::StatusOr<std::unique_ptr<storage::Reader>> reader = storage::Reader::Open(path);
  if (!reader.ok()) return reader.status();
  if (!(*reader)->sealed()) return absl::FailedPreconditionError(absl::StrCat(path, ": unsealed"));
  std::map<TileAddress, std::string> tiles;
  for (uint32_t section = 0; section < (*reader)->section_count(); ++section) {
    const std::optional<int> zoom = pyramid::ParseSectionName((*reader)->section_name(section));
    if (!zoom.has_value()) continue;
    for (uint64_t i = 0; i < (*reader)->entry_count(section); ++i) {
      uint32_t x, y;
      pyramid::TileFromKey((*reader)->KeyAt(section, i), &x, &y);
      tiles[TileAddress{*zoom, x, y}] = std::string((*reader)->ValueAt(section, i));
    }
  }
  return tiles;
}

absl::Status CheckTilesCoverBounds(const std::string& path) {
  absl::StatusOr<std::unique_ptr<storage::Reader>> reader = storage::Reader::Open(path);
  if (!reader.ok()) return reader.status();
  pyramid::PyramidMetadata metadata;
  if ((*reader)->user_metadata_type() != pyramid::kMetadataTypeName ||
      !metadata.ParseFromString(std::string((*reader)->user_metadata()))) {
    return absl::DataLossError(absl::StrCat(path, ": no pyramid metadata"));
  }
  absl::StatusOr<geo::TileMatrixSet> tms = geo::TileMatrixSet::FromName(
      metadata.tile_matrix_set(), static_cast<int>(metadata.tile_size()));
  if (!tms.ok()) return tms.status();
  absl::StatusOr<std::map<TileAddress, std::string>> tiles = ReadPyramidTiles(path);
  if (!tiles.ok()) return tiles.status();
  const pyramid::Bounds& b = metadata.bounds();
  const geo::Bounds bounds{b.min_x(), b.min_y(), b.max_x(), b.max_y()};
  for (int z = static_cast<int>(metadata.min_zoom()); z <= static_cast<int>(metadata.max_zoom());
       ++z) {
    geo::TileRect want, stored{UINT32_MAX, UINT32_MAX, 0, 0};
    tms->CoveringTiles(bounds, z, &want.min_x, &want.min_y, &want.max_x, &want.max_y);
    for (auto it = tiles->lower_bound(TileAddress{z, 0, 0});
         it != tiles->end() && std::get<0>(it->first) == z; ++it) {
      stored.min_x = std::min(stored.min_x, std::get<1>(it->first));
      stored.min_y = std::min(stored.min_y, std::get<2>(it->first));
      stored.max_x = std::max(stored.max_x, std::get<1>(it->first));
      stored.max_y = std::max(stored.max_y, std::get<2>(it->first));
    }
    if (!(stored == want)) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: level %d stores tiles x %u..%u, y %u..%u; its bounds (%.17g, %.17g, %.17g, %.17g) "
          "cover x %u..%u, y %u..%u",
          path, z, stored.min_x, stored.max_x, stored.min_y, stored.max_y, bounds.min_x,
          bounds.min_y, bounds.max_x, bounds.max_y, want.min_x, want.max_x, want.min_y,
          want.max_y));
    }
  }
  return absl::OkStatus();
}

}  // namespace test
}  // namespace flatpyramid
