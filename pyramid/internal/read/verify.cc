#include "pyramid/internal/read/verify.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pyramid/format.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

// Faults collects fault messages, keeping the first kMaxListed.
class Faults {
 public:
  void Add(std::string message) {
    ++count_;
    if (listed_.size() < kMaxListed) listed_.push_back(std::move(message));
  }
  absl::Status ToStatus(const std::string& path) const {
    if (count_ == 0) return absl::OkStatus();
    return absl::DataLossError(absl::StrCat(path, ": ", count_,
                                            " fault(s): ", absl::StrJoin(listed_, "; "),
                                            count_ > listed_.size() ? "; ..." : ""));
  }

 private:
  static constexpr size_t kMaxListed = 10;
  std::vector<std::string> listed_;
  uint64_t count_ = 0;
};

void VerifyLevel(const TileSource& tiles, const Level& level, Faults* faults) {
  const storage::Reader& store = tiles.store();
  const int z = static_cast<int>(level.zoom());
  const uint32_t section = level.section();
  const uint64_t count = store.entry_count(section);
  LevelStats stats;
  // Shared values (AppendShared) have the same offset in the section's blob.
  absl::flat_hash_set<uint64_t> unique_values;
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t x, y;
    TileFromKey(store.KeyAt(section, i), &x, &y);
    if (x >= tiles.tms().MatrixWidth(z) || y >= tiles.tms().MatrixHeight(z)) {
      faults->Add(absl::StrCat("level ", z, ": key ", store.KeyAt(section, i), " is tile ",
                               TileName(z, x, y), ", outside the tile matrix"));
      continue;
    }
    const absl::string_view bytes = store.ValueAt(section, i);
    stats.AddTile(x, y, unique_values.insert(store.ValueRefAt(section, i).offset).second,
                  bytes.size());
    // Decoding applies the format's codec rules (tile_codec.h).
    absl::StatusOr<codec::Image> tile = tiles.DecodeTile(z, x, y, bytes);
    if (!tile.ok()) faults->Add(std::string(tile.status().message()));
  }
  for (std::string& difference : stats.Differences(level)) {
    faults->Add(absl::StrCat("level ", z, ": ", std::move(difference)));
  }
}

}  // namespace

absl::Status VerifyPyramid(const TileSource& tiles) {
  if (absl::Status s = tiles.store().Verify(); !s.ok()) return s;
  Faults faults;
  if (absl::Status s = CheckMetadata(tiles.metadata()); !s.ok()) {
    faults.Add(absl::StrCat("metadata: ", s.message()));
    return faults.ToStatus(tiles.path());
  }
  for (const Level& level : tiles.metadata().levels()) VerifyLevel(tiles, level, &faults);
  return faults.ToStatus(tiles.path());
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
