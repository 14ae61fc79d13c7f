#include "pyramid/merger.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "pyramid/format.h"
#include "pyramid/internal/build/build_errors.h"
#include "pyramid/internal/build/resume.h"
#include "pyramid/internal/build/tile_dedup.h"
#include "pyramid/internal/merge/boundary_tiles.h"
#include "pyramid/internal/merge/shard_set.h"
#include "pyramid/internal/tile_hash.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using internal::FormedTile;
using internal::OpenedShard;
using internal::ShardSet;

// SameFile is whether a and b name one file (links and ".." included).
bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// LevelWriter appends one level's tiles in key order, sharing small repeated tiles and
// counting the level's statistics as a build's committer does.
class LevelWriter {
 public:
  LevelWriter(storage::Writer* writer, int max_zoom) : writer_(writer), dedup_(max_zoom) {}

  absl::Status Append(int zoom, uint32_t section, uint64_t key, absl::string_view bytes,
                      LevelStats* stats) {
    uint32_t x, y;
    TileFromKey(key, &x, &y);
    const bool small = bytes.size() <= internal::kMaxSharedTileBytes;
    internal::TileDigest digest;
    if (small) {
      digest = internal::DigestTile(bytes);
      if (std::optional<storage::ValueRef> stored = dedup_.Find(zoom, digest)) {
        absl::Status s = writer_->AppendShared(section, key, *stored);
        if (!s.ok()) return internal::WriteFailed(s, false);
        stats->AddTile(x, y, /*unique=*/false, 0);
        return absl::OkStatus();
      }
    }
    absl::StatusOr<storage::ValueRef> ref = writer_->Append(section, key, bytes);
    if (!ref.ok()) return internal::WriteFailed(ref.status(), false);
    if (small) dedup_.Remember(zoom, digest, *ref);
    stats->AddTile(x, y, /*unique=*/true, bytes.size());
    return absl::OkStatus();
  }

 private:
  storage::Writer* writer_;
  internal::TileDedup dedup_;
};

// MergeLevel writes level `zoom`: each shard's tiles in shard order, the boundary tiles
// between them (a boundary tile's keys at the unit zoom start before the next shard's).
absl::Status MergeLevel(const ShardSet& set, int zoom, uint32_t section,
                        const std::vector<FormedTile>& formed, LevelWriter* out, LevelStats* stats,
                        MergeResult* result) {
  const int shift = zoom < set.unit_zoom ? 2 * (set.unit_zoom - zoom) : 0;
  size_t next_formed = 0;
  for (size_t i = 0; i < set.shards.size(); ++i) {
    const OpenedShard& shard = set.shards[i];
    const uint64_t begin = shard.metadata.shard().begin_unit_key();
    for (; next_formed < formed.size() && (formed[next_formed].key << shift) < begin;
         ++next_formed) {
      absl::Status s =
          out->Append(zoom, section, formed[next_formed].key, formed[next_formed].bytes, stats);
      if (!s.ok()) return s;
      ++result->tiles_formed;
    }
    const std::optional<uint32_t> from = shard.reader->FindSection(SectionName(zoom));
    if (!from.has_value()) continue;
    const uint64_t count = shard.reader->entry_count(*from);
    for (uint64_t e = 0; e < count; ++e) {
      const absl::string_view bytes = shard.reader->ValueAt(*from, e);
      absl::Status s = out->Append(zoom, section, shard.reader->KeyAt(*from, e), bytes, stats);
      if (!s.ok()) return s;
      result->bytes_read += bytes.size();
      ++result->tiles_copied;
    }
  }
  for (; next_formed < formed.size(); ++next_formed) {
    absl::Status s =
        out->Append(zoom, section, formed[next_formed].key, formed[next_formed].bytes, stats);
    if (!s.ok()) return s;
    ++result->tiles_formed;
  }
  return absl::OkStatus();
}

// WriteMerged writes every level of `set` and the final metadata into `writer`, and seals it.
absl::Status WriteMerged(const ShardSet& set, storage::Writer* writer, MergeResult* result) {
  absl::StatusOr<std::vector<std::vector<FormedTile>>> formed = internal::FormBoundaryTiles(set);
  if (!formed.ok()) return formed.status();
  const int min_zoom = static_cast<int>(set.metadata.min_zoom());
  const int max_zoom = static_cast<int>(set.metadata.max_zoom());
  result->metadata = set.metadata;
  result->metadata.set_created_utc(
      absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()));
  LevelWriter out(writer, max_zoom);
  for (int z = min_zoom; z <= max_zoom; ++z) {
    absl::StatusOr<uint32_t> section = writer->AddSection(SectionName(z));
    if (!section.ok()) return internal::WriteFailed(section.status(), false);
    LevelStats stats;
    static const std::vector<FormedTile> kNone;
    absl::Status s =
        MergeLevel(set, z, *section, z < static_cast<int>(formed->size()) ? (*formed)[z] : kNone,
                   &out, &stats, result);
    if (!s.ok()) return s;
    Level* level = result->metadata.add_levels();
    level->set_zoom(z);
    level->set_section(*section);
    stats.CopyTo(level);
  }
  writer->SetUserMetadata(kMetadataTypeName, internal::DeterministicBytes(result->metadata));
  absl::Status sealed = writer->Seal();
  if (!sealed.ok()) return internal::WriteFailed(sealed, false);
  return absl::OkStatus();
}

// PresizedOptions reserves for every section the largest merged level's arrays, so the
// output never grows an array (each growth is a synced move); the seal trims the rest.
storage::WriterOptions PresizedOptions(const ShardSet& set) {
  uint64_t max_entries = 0, max_bytes = 0;
  for (int z = static_cast<int>(set.metadata.min_zoom());
       z <= static_cast<int>(set.metadata.max_zoom()); ++z) {
    uint64_t entries = 0, bytes = 0;
    for (const OpenedShard& shard : set.shards) {
      const std::optional<uint32_t> section = shard.reader->FindSection(SectionName(z));
      if (!section.has_value()) continue;
      const uint64_t count = shard.reader->entry_count(*section);
      entries += count;
      for (uint64_t e = 0; e < count; ++e) bytes += shard.reader->ValueRefAt(*section, e).length;
    }
    max_entries = std::max(max_entries, entries);
    max_bytes = std::max(max_bytes, bytes);
  }
  storage::WriterOptions options;
  // Room for the boundary tiles too: at most one per shard boundary and level.
  max_entries += set.shards.size();
  options.initial_key_capacity = std::max(options.initial_key_capacity, 8 * max_entries);
  options.initial_location_capacity = std::max(options.initial_location_capacity, 16 * max_entries);
  options.initial_value_capacity = std::max(options.initial_value_capacity, max_bytes + (1 << 20));
  return options;
}

}  // namespace

absl::StatusOr<MergeResult> MergePyramids(const MergeOptions& options) {
  if (options.output.empty()) return absl::InvalidArgumentError("no output: give --output");
  for (const std::string& shard : options.shards) {
    if (SameFile(shard, options.output)) {
      return absl::InvalidArgumentError(absl::StrCat("the output ", options.output,
                                                     " is the shard ", shard,
                                                     ": write the merged pyramid to another file"));
    }
  }
  if (!options.overwrite && access(options.output.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("output ", options.output, " already exists: use --overwrite to replace it"));
  }
  absl::StatusOr<ShardSet> set = internal::OpenShardSet(options.shards);
  if (!set.ok()) return set.status();
  const std::string temporary = options.output + ".merge-tmp";
  storage::WriterOptions writer_options = PresizedOptions(*set);
  writer_options.overwrite = true;  // A killed merge's leftover.
  absl::StatusOr<std::unique_ptr<storage::Writer>> writer =
      storage::Writer::Create(temporary, writer_options);
  if (!writer.ok()) return internal::WriteFailed(writer.status(), false);
  MergeResult result;
  absl::Status status = WriteMerged(*set, writer->get(), &result);
  writer->reset();
  if (status.ok() && rename(temporary.c_str(), options.output.c_str()) != 0) {
    status = absl::InternalError(
        absl::StrCat("cannot rename ", temporary, " to ", options.output, ": check the directory"));
  }
  if (!status.ok()) {
    unlink(temporary.c_str());
    return status;
  }
  return result;
}

}  // namespace pyramid
}  // namespace flatpyramid
