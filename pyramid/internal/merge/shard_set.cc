#include "pyramid/internal/merge/shard_set.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "geo/tile_matrix_set.h"
#include "google/protobuf/descriptor.h"
#include "pyramid/format.h"
#include "pyramid/internal/build/resume.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

absl::StatusOr<OpenedShard> OpenShard(const std::string& path) {
  OpenedShard shard;
  shard.path = path;
  absl::StatusOr<std::unique_ptr<storage::Reader>> reader = storage::Reader::Open(path);
  if (!reader.ok()) return reader.status();
  shard.reader = std::move(*reader);
  if (!shard.reader->sealed() || shard.reader->user_metadata_type() != kMetadataTypeName ||
      !shard.metadata.ParseFromString(std::string(shard.reader->user_metadata()))) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a finished pyramid: finish its build (--resume) first"));
  }
  if (!shard.metadata.has_shard()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a shard: build the shards with --shard=i/N"));
  }
  return shard;
}

// Comparable is what every shard of one build has in common.
PyramidMetadata Comparable(const PyramidMetadata& metadata) {
  PyramidMetadata m = metadata;
  m.clear_levels();
  m.clear_created_utc();
  m.clear_shard();
  m.mutable_creation_options()->erase("shard");
  return m;
}

// FirstDifference names the first field (or creation option) in which a and b differ.
std::string FirstDifference(const PyramidMetadata& a, const PyramidMetadata& b) {
  for (const auto& [key, value] : a.creation_options()) {
    auto it = b.creation_options().find(key);
    if (it == b.creation_options().end() || it->second != value) {
      return absl::StrCat("creation option ", key);
    }
  }
  for (const auto& entry : b.creation_options()) {
    if (a.creation_options().count(entry.first) == 0) {
      return absl::StrCat("creation option ", entry.first);
    }
  }
  // Field by field: both messages with every other field cleared.
  const google::protobuf::Descriptor* descriptor = a.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    PyramidMetadata only_a = a, only_b = b;
    for (int j = 0; j < descriptor->field_count(); ++j) {
      if (j == i) continue;
      only_a.GetReflection()->ClearField(&only_a, descriptor->field(j));
      only_b.GetReflection()->ClearField(&only_b, descriptor->field(j));
    }
    if (DeterministicBytes(only_a) != DeterministicBytes(only_b)) {
      return descriptor->field(i)->name();
    }
  }
  return "metadata";
}

// CheckRanges checks that the sorted shards' unit ranges tile every unit key, [0, KeyEnd) of
// the unit zoom.
absl::Status CheckRanges(const ShardSet& set) {
  absl::StatusOr<geo::TileMatrixSet> tms =
      geo::TileMatrixSet::FromName(set.metadata.tile_matrix_set());
  if (!tms.ok()) return tms.status();
  const uint64_t end = tms->KeyEnd(set.unit_zoom);
  uint64_t next = 0;
  for (const OpenedShard& shard : set.shards) {
    const ShardInfo& info = shard.metadata.shard();
    if (info.unit_zoom() != static_cast<uint32_t>(set.unit_zoom) || info.begin_unit_key() != next ||
        info.end_unit_key() < info.begin_unit_key() || info.end_unit_key() > end) {
      return absl::InvalidArgumentError(
          absl::StrCat(shard.path, " (shard ", info.index(), "/", info.count(), ") covers units [",
                       info.begin_unit_key(), ", ", info.end_unit_key(), ") at zoom ",
                       info.unit_zoom(), ", not from ", next,
                       ": the shards overlap or leave a gap; build them with the same "
                       "flags and N"));
    }
    next = info.end_unit_key();
  }
  if (next != end) {
    return absl::InvalidArgumentError(absl::StrCat(set.shards.back().path, " ends at unit ", next,
                                                   ", not at ", end, ": the shards leave a gap"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ShardSet> OpenShardSet(const std::vector<std::string>& paths) {
  if (paths.empty()) return absl::InvalidArgumentError("no shards to merge");
  ShardSet set;
  for (const std::string& path : paths) {
    absl::StatusOr<OpenedShard> shard = OpenShard(path);
    if (!shard.ok()) return shard.status();
    set.shards.push_back(std::move(*shard));
  }
  std::sort(set.shards.begin(), set.shards.end(), [](const OpenedShard& a, const OpenedShard& b) {
    return a.metadata.shard().index() < b.metadata.shard().index();
  });
  const OpenedShard& first = set.shards[0];
  set.metadata = Comparable(first.metadata);
  set.unit_zoom = static_cast<int>(first.metadata.shard().unit_zoom());
  for (size_t i = 0; i < set.shards.size(); ++i) {
    const OpenedShard& shard = set.shards[i];
    const ShardInfo& info = shard.metadata.shard();
    if (info.count() != paths.size()) {
      return absl::InvalidArgumentError(absl::StrCat(shard.path, " is shard ", info.index(), "/",
                                                     info.count(), " but ", paths.size(),
                                                     " shards were given: give all of them"));
    }
    if (info.index() != i) {
      const std::string& other = set.shards[i - 1].path;
      return absl::InvalidArgumentError(absl::StrCat(other, " and ", shard.path, " are both shard ",
                                                     info.index(), "/", info.count(),
                                                     ": their ranges overlap"));
    }
    const PyramidMetadata comparable = Comparable(shard.metadata);
    if (DeterministicBytes(comparable) != DeterministicBytes(set.metadata)) {
      return absl::InvalidArgumentError(absl::StrCat(
          shard.path, " and ", first.path, " were built with different options (",
          FirstDifference(comparable, set.metadata), "): build every shard with the same flags"));
    }
    if (i > 0) set.boundaries.push_back(info.begin_unit_key());
  }
  absl::Status ranges = CheckRanges(set);
  if (!ranges.ok()) return ranges;
  return set;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
