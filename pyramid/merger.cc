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
#include "pyramid/internal/merge/boundary_tiles.h"
#include "pyramid/internal/merge/level_copier.h"
#include "pyramid/internal/merge/shard_set.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using internal::FormedTile;
using internal::LevelCopier;
using internal::OpenedShard;
using internal::ShardSet;

// SameFile is whether a and b name one file (links and ".." included).
bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// PlanLevel plans level `zoom`: each shard's tiles in shard order, the boundary tiles between
// them (a boundary tile's keys at the unit zoom start before the next shard's).
void PlanLevel(const ShardSet& set, int zoom, const std::vector<FormedTile>& formed,
               LevelCopier* out, LevelStats* stats, MergeResult* result) {
  const int shift = zoom < set.unit_zoom ? 2 * (set.unit_zoom - zoom) : 0;
  size_t next_formed = 0;
  for (size_t i = 0; i < set.shards.size(); ++i) {
    const OpenedShard& shard = set.shards[i];
    const uint64_t begin = shard.metadata.shard().begin_unit_key();
    for (; next_formed < formed.size() && (formed[next_formed].key << shift) < begin;
         ++next_formed) {
      out->AddTile(zoom, formed[next_formed].key, formed[next_formed].bytes, stats);
      ++result->tiles_formed;
    }
    const std::optional<uint32_t> from = shard.reader->FindSection(SectionName(zoom));
    if (!from.has_value()) continue;
    internal::CopiedCounts copied;
    out->AddShardLevel(zoom, *shard.reader, *from, stats, &copied);
    result->bytes_read += copied.bytes;
    result->tiles_copied += copied.tiles;
  }
  for (; next_formed < formed.size(); ++next_formed) {
    out->AddTile(zoom, formed[next_formed].key, formed[next_formed].bytes, stats);
    ++result->tiles_formed;
  }
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
  LevelCopier out(max_zoom);
  for (int z = min_zoom; z <= max_zoom; ++z) {
    LevelStats stats;
    static const std::vector<FormedTile> kNone;
    PlanLevel(set, z, z < static_cast<int>(formed->size()) ? (*formed)[z] : kNone, &out, &stats,
              result);
    // Reserved exactly: the level is never grown, and Seal trims nothing.
    absl::StatusOr<uint32_t> section = writer->AddSection(SectionName(z), out.section_capacity());
    if (!section.ok()) return internal::WriteFailed(section.status(), false);
    absl::Status s = out.Write(writer, *section);
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
  storage::WriterOptions writer_options;
  writer_options.overwrite = true;  // A killed merge's leftover.
  // The temporary file is renamed into place only once sealed; a killed merge is run again
  // from the start, never resumed: syncing every step would buy nothing.
  writer_options.sync_each_step = false;
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
