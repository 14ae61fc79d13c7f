#include "pyramid/internal/merge/level_copier.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pyramid/internal/build/build_errors.h"
#include "pyramid/internal/tile_hash.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

void AddStats(uint64_t key, bool unique, uint64_t bytes, LevelStats* stats) {
  uint32_t x, y;
  TileFromKey(key, &x, &y);
  stats->AddTile(x, y, unique, bytes);
}

}  // namespace

void LevelCopier::AddTile(int zoom, uint64_t key, absl::string_view bytes, LevelStats* stats) {
  ++entries_;
  Step step;
  step.key = key;
  const bool small = bytes.size() <= kMaxSharedTileBytes;
  TileDigest digest;
  if (small) {
    digest = DigestTile(bytes);
    if (std::optional<storage::ValueRef> stored = dedup_.Find(zoom, digest)) {
      step.ref = *stored;
      (has_run_ ? waiting_ : steps_).push_back(std::move(step));
      AddStats(key, /*unique=*/false, 0, stats);
      return;
    }
  }
  CloseRun();  // Its bytes come first in the blob.
  step.append_bytes = true;
  step.bytes = std::string(bytes);
  step.ref = {blob_length_, bytes.size()};
  blob_length_ += bytes.size();
  if (small) dedup_.Remember(zoom, digest, step.ref);
  steps_.push_back(std::move(step));
  AddStats(key, /*unique=*/true, bytes.size(), stats);
}

storage::ValueRef LevelCopier::PlanStored(const storage::Reader& shard, uint32_t from,
                                          storage::ValueRef ref) {
  if (has_run_ && (run_.shard != &shard || run_.from != from || run_.end != ref.offset)) {
    CloseRun();
  }
  if (!has_run_) {
    has_run_ = true;
    run_ = Step();
    run_.shard = &shard;
    run_.from = from;
    run_.begin = run_.end = ref.offset;
    run_out_begin_ = blob_length_;
  }
  run_.end += ref.length;
  blob_length_ += ref.length;
  return storage::ValueRef{run_out_begin_ + (ref.offset - run_.begin), ref.length};
}

void LevelCopier::CloseRun() {
  if (!has_run_) return;
  has_run_ = false;
  steps_.push_back(std::move(run_));
  for (Step& step : waiting_) steps_.push_back(std::move(step));
  waiting_.clear();
}

void LevelCopier::AddShardLevel(int zoom, const storage::Reader& shard, uint32_t from,
                                LevelStats* stats, CopiedCounts* counts) {
  const uint64_t count = shard.entry_count(from);
  uint64_t next_stored = 0;  // Where the shard's build appended the next first-seen tile.
  for (uint64_t e = 0; e < count; ++e) {
    const uint64_t key = shard.KeyAt(from, e);
    const storage::ValueRef ref = shard.ValueRefAt(from, e);
    const bool stored_here = ref.offset == next_stored;  // Else it points back: a repeat.
    if (stored_here) next_stored += ref.length;
    ++counts->tiles;
    counts->bytes += ref.length;
    const bool small = ref.length <= kMaxSharedTileBytes;
    TileDigest digest;
    if (small) {
      digest = DigestTile(shard.ValueAt(from, e));
      if (std::optional<storage::ValueRef> stored = dedup_.Find(zoom, digest)) {
        // Shared as a single build shares it; a first-seen copy here is skipped (the run
        // breaks at it, as the next stored tile no longer follows the run).
        ++entries_;
        Step step;
        step.key = key;
        step.ref = *stored;
        (has_run_ ? waiting_ : steps_).push_back(std::move(step));
        AddStats(key, /*unique=*/false, 0, stats);
        continue;
      }
    }
    if (!stored_here) {
      // A repeat the level's TileDedup does not know (it was full): a single build stores it.
      AddTile(zoom, key, shard.ValueAt(from, e), stats);
      continue;
    }
    ++entries_;
    Step step;
    step.key = key;
    step.ref = PlanStored(shard, from, ref);
    if (small) dedup_.Remember(zoom, digest, step.ref);
    waiting_.push_back(std::move(step));
    AddStats(key, /*unique=*/true, ref.length, stats);
  }
}

storage::SectionCapacity LevelCopier::section_capacity() const {
  return {8 * entries_, 16 * entries_, blob_length_};
}

absl::Status LevelCopier::Write(storage::Writer* writer, uint32_t section) {
  CloseRun();
  absl::Status status = absl::OkStatus();
  if (writer->entry_count(section) != 0 || writer->values_length(section) != 0) {
    // The planned locations start at the blob's offset 0.
    status = absl::FailedPreconditionError(
        absl::StrCat("LevelCopier::Write: section ", section, " is not empty"));
  }
  for (const Step& step : steps_) {
    if (!status.ok()) break;
    if (step.shard != nullptr) {
      absl::StatusOr<storage::ValueRef> copied = writer->AppendValuesFrom(
          section, *step.shard, step.from, {step.begin, step.end - step.begin});
      if (absl::IsInvalidArgument(copied.status())) {
        // Locations outside the shard's blob: the shard, not the output, is at fault.
        status = absl::DataLossError(
            absl::StrCat(copied.status().message(), ": the shard is corrupt; build it again"));
      } else if (!copied.ok()) {
        status = WriteFailed(copied.status(), false);
      }
    } else if (step.append_bytes) {
      absl::StatusOr<storage::ValueRef> ref = writer->Append(section, step.key, step.bytes);
      if (!ref.ok()) status = WriteFailed(ref.status(), false);
    } else {
      absl::Status s = writer->AppendShared(section, step.key, step.ref);
      if (!s.ok()) status = WriteFailed(s, false);
    }
  }
  steps_.clear();
  entries_ = 0;
  blob_length_ = 0;
  return status;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
