#include "pyramid/testing/pyramid_tiles.h"

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
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

}  // namespace test
}  // namespace flatpyramid
