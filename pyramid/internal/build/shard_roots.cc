#include "pyramid/internal/build/shard_roots.h"

#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "pyramid/format.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

absl::Status WriteShardRoots(const ShardRootMap& roots, storage::Writer* writer) {
  absl::StatusOr<uint32_t> section = writer->AddSection(kShardRootsSection);
  if (!section.ok()) return section.status();
  std::string value;
  for (const auto& [zoom_key, tile] : roots) {
    value.assign(reinterpret_cast<const char*>(tile->samples.data()), tile->samples.size());
    value.append(reinterpret_cast<const char*>(tile->alpha.data()), tile->alpha.size());
    absl::StatusOr<storage::ValueRef> ref =
        writer->Append(*section, ShardRootKey(zoom_key.first, zoom_key.second), value);
    if (!ref.ok()) return ref.status();
  }
  return absl::OkStatus();
}

absl::Status ReadShardRoots(const storage::Reader& reader, const std::string& path,
                            codec::PixelType type, int size, int bands, ShardRootMap* roots) {
  const std::optional<uint32_t> section = reader.FindSection(kShardRootsSection);
  if (!section.has_value()) return absl::OkStatus();
  for (uint64_t i = 0; i < reader.entry_count(*section); ++i) {
    auto tile = std::make_unique<TilePixels>(type, size, bands);
    const absl::string_view value = reader.ValueAt(*section, i);
    int zoom;
    uint64_t key;
    ShardRootFromKey(reader.KeyAt(*section, i), &zoom, &key);
    if (value.size() != tile->samples.size() + tile->alpha.size()) {
      return absl::DataLossError(absl::StrCat(path, ": ", kShardRootsSection, " tile ", zoom, "/",
                                              key, " holds ", value.size(), " bytes, not ",
                                              tile->samples.size() + tile->alpha.size()));
    }
    std::memcpy(tile->samples.data(), value.data(), tile->samples.size());
    std::memcpy(tile->alpha.data(), value.data() + tile->samples.size(), tile->alpha.size());
    (*roots)[{zoom, key}] = std::move(tile);
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
