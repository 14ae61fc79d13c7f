// Writer::Impl's moves: growth of an array (ftruncate, INSERT_RANGE, or the tail copy up), the
// removal of room and gaps by Seal (ftruncate, COLLAPSE_RANGE, or the tail copy down), and the
// recovery of a move recorded in the header. Every move is recorded before it happens;
// FORMAT.md ("Growth", "Fallback growth", "Seal", "Recovery rules") states why each step is
// crash-safe.
#include <algorithm>
#include <string>
#include <vector>

#include "storage/internal/format.h"
#include "storage/internal/writer_impl.h"
#include "storage/store.h"

namespace flatpyramid {
namespace storage {

using internal::kBlockSize;
using internal::kDataStart;
using internal::RoundUpToBlock;

namespace {

constexpr uint64_t kGrowthStepCap = 64 << 20;  // Cap of the file-size term of a growth.

}  // namespace

absl::Status Writer::Impl::ResolvePendingMove(const PendingMove& move, bool* punch_room) {
  absl::Status status;
  absl::StatusOr<internal::MoveState> state = internal::JudgeMove(move, file_size_);
  if (!state.ok()) return Annotate(state.status());
  switch (*state) {
    case internal::MoveState::kNone:
      break;
    case internal::MoveState::kNotApplied:
    case internal::MoveState::kApplied:
      // A fallocate move that the filesystem applied only in part is refused here.
      status = internal::CheckShift(move, *state, file_size_, file_.get());
      if (!status.ok()) return Annotate(status);
      if (*state == internal::MoveState::kApplied) {
        status = internal::ApplyMove(move, &layout_);
        if (!status.ok()) return Annotate(status);
      }
      break;
    case internal::MoveState::kInterrupted: {
      // Validate the pre-move layout first: the copy below trusts its numbers.
      Header before = layout_;
      before.clear_pending();
      status = internal::ValidateLayout(before, move.file_size_before());
      if (!status.ok()) return Annotate(status);
      Header after = before;
      status = internal::ApplyMove(move, &after);
      if (!status.ok()) return Annotate(status);
      layout_.clear_pending();
      status = move.kind() == PendingMove::COPY_TAIL_UP ? CopyTailUp(move) : CopyTailDown(move);
      if (!status.ok()) return status;
      layout_ = after;
      *punch_room = move.kind() == PendingMove::COPY_TAIL_UP;
      break;
    }
  }
  return absl::OkStatus();
}

absl::Status Writer::Impl::Reserve(uint32_t section, ArrayKind array, uint64_t needed) {
  const uint64_t capacity = internal::Array(layout_.sections(section), array).capacity();
  if (needed <= capacity) return absl::OkStatus();
  // At least doubling keeps each array's growth steps logarithmic. A small array in a big
  // file grows by a quarter of the file, up to 64 MiB, which skips its many small first steps
  // (each INSERT_RANGE costs a few syncs and up to ~100 ms on a large, fragmented ext4 file);
  // the cap keeps the logical file size within about twice the data plus 64 MiB per array.
  const uint64_t step =
      std::max(capacity, std::min(RoundUpToBlock(file_size_ / 4), kGrowthStepCap));
  const uint64_t target = std::max({RoundUpToBlock(needed), capacity + step, kBlockSize});
  return Grow(section, array, target - capacity);
}

absl::Status Writer::Impl::Grow(uint32_t section, ArrayKind array, uint64_t length) {
  ++stats_.growths;
  if (array != ARRAY_VALUES) ++stats_.index_growths;
  const ArrayExtent& extent = internal::Array(layout_.sections(section), array);
  PendingMove move;
  move.set_section(section);
  move.set_array(array);
  move.set_offset(extent.offset() + extent.capacity());
  move.set_file_size_before(file_size_);
  const bool at_end = move.offset() == file_size_;
  // Earlier moves durable before a header that describes their result.
  absl::Status status = SyncIfMoved();
  if (!status.ok()) return status;
  if (at_end || use_fallocate_ranges_) {
    move.set_kind(PendingMove::INSERT_RANGE);
    move.set_length(length);
    // The record (with where committed bytes of the tail must end up) durable before the
    // move itself; WriteHeader syncs.
    Header header = View(/*committed=*/true);
    if (!at_end) status = internal::RecordShiftChecks(header, file_.get(), &move);
    *header.mutable_pending() = move;
    if (status.ok()) status = WriteHeader(header);
    if (!status.ok()) return status;
    status =
        at_end ? file_->Truncate(file_size_ + length) : file_->InsertRange(move.offset(), length);
    if (status.ok()) {
      if (!at_end) ++stats_.insert_range_calls;
      // The record stays the newest header until the next header write, which syncs first.
      // Until then the writer only writes past committed bytes, so the shift checks hold.
      file_size_ += length;
      layout_moved_since_sync_ = true;
      return internal::ApplyMove(move, &layout_);
    }
    if (at_end || !absl::IsUnimplemented(status)) {
      return WhileDoing(status, "growing an array (INSERT_RANGE)");
    }
    use_fallocate_ranges_ = false;  // Refused by this filesystem: fall back from now on.
    move.clear_shift_checks();
  }
  // Fallback: copy the tail up. Bigger steps bound the number of tail copies.
  const uint64_t tail = file_size_ - move.offset();
  move.set_kind(PendingMove::COPY_TAIL_UP);
  move.set_length(std::max(length, RoundUpToBlock(tail / 16)));
  move.set_progress(file_size_);
  status = WriteHeader(WithPending(move));
  if (status.ok()) status = CopyTailUp(move);
  if (status.ok()) status = FinishGrowth(move);
  // The new room still holds stale bytes of the tail: make it a hole.
  if (status.ok()) status = PunchIfSupported(move.offset(), move.length());
  return status;
}

absl::Status Writer::Impl::FinishGrowth(const PendingMove& move) {
  absl::Status status = internal::ApplyMove(move, &layout_);
  if (status.ok()) status = WriteHeader(View(/*committed=*/true));
  return status;
}

absl::Status Writer::Impl::RemoveRoom() {
  struct Placed {
    uint64_t offset;
    uint32_t section;
    ArrayKind array;
  };
  std::vector<Placed> arrays;  // Those of capacity > 0 (the others own no bytes).
  for (int s = 0; s < layout_.sections_size(); ++s) {
    for (ArrayKind kind : kArrayKinds) {
      const ArrayExtent& extent = internal::Array(layout_.sections(s), kind);
      if (extent.capacity() > 0) {
        arrays.push_back({extent.offset(), static_cast<uint32_t>(s), kind});
      }
    }
  }
  std::sort(arrays.begin(), arrays.end(),
            [](const Placed& a, const Placed& b) { return a.offset > b.offset; });
  for (size_t i = 0; i < arrays.size(); ++i) {
    const Section& section = layout_.sections(arrays[i].section);
    const ArrayExtent& extent = internal::Array(section, arrays[i].array);
    const uint64_t keep = RoundUpToBlock(internal::UsedBytes(section, arrays[i].array));
    absl::Status status = absl::OkStatus();
    if (extent.capacity() > keep) {
      status = Shrink(arrays[i].section, arrays[i].array, extent.capacity() - keep);
    }
    uint64_t below = kDataStart;  // End of the next array down (moves above leave it).
    if (i + 1 < arrays.size()) {
      const ArrayExtent& next =
          internal::Array(layout_.sections(arrays[i + 1].section), arrays[i + 1].array);
      below = next.offset() + next.capacity();
    }
    if (status.ok() && extent.offset() > below) {
      PendingMove gap;
      gap.set_gap(true);
      gap.set_section(layout_.sections_size());  // No section: a 1.1 reader refuses it.
      gap.set_offset(below);
      gap.set_length(extent.offset() - below);
      status = Remove(gap);
    }
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status Writer::Impl::Shrink(uint32_t section, ArrayKind array, uint64_t length) {
  const ArrayExtent& extent = internal::Array(layout_.sections(section), array);
  PendingMove move;
  move.set_section(section);
  move.set_array(array);
  move.set_offset(extent.offset() + extent.capacity() - length);
  move.set_length(length);
  return Remove(move);
}

absl::Status Writer::Impl::Remove(PendingMove move) {
  const uint64_t length = move.length();
  move.set_file_size_before(file_size_);
  const bool at_end = move.offset() + length == file_size_;
  absl::Status status = SyncIfMoved();
  if (!status.ok()) return status;
  if (at_end || use_fallocate_ranges_) {
    move.set_kind(PendingMove::COLLAPSE_RANGE);
    Header header = View(/*committed=*/true);
    if (!at_end) status = internal::RecordShiftChecks(header, file_.get(), &move);
    *header.mutable_pending() = move;
    if (status.ok()) status = WriteHeader(header);
    if (!status.ok()) return status;
    status = at_end ? file_->Truncate(move.offset()) : file_->CollapseRange(move.offset(), length);
    if (status.ok()) {
      if (!at_end) ++stats_.collapse_range_calls;
      file_size_ -= length;
      status = internal::ApplyMove(move, &layout_);
      if (status.ok()) status = Sync();
      return status;
    }
    if (at_end || !absl::IsUnimplemented(status)) {
      return WhileDoing(status, "trimming an array (COLLAPSE_RANGE)");
    }
    use_fallocate_ranges_ = false;
    move.clear_shift_checks();
  }
  move.set_kind(PendingMove::COPY_TAIL_DOWN);
  move.set_progress(move.offset() + length);
  status = WriteHeader(WithPending(move));
  if (status.ok()) status = CopyTailDown(move);
  if (!status.ok()) return status;
  return internal::ApplyMove(move, &layout_);
}

Header Writer::Impl::WithPending(const PendingMove& move) const {
  Header header = View(/*committed=*/true);
  *header.mutable_pending() = move;
  return header;
}

absl::Status Writer::Impl::PunchIfSupported(uint64_t offset, uint64_t length) {
  absl::Status status = file_->PunchHole(offset, length);
  return absl::IsUnimplemented(status) ? absl::OkStatus() : status;
}

absl::Status Writer::Impl::WriteOrPunch(uint64_t at, const char* data, size_t length) {
  stats_.bytes_moved += length;
  const auto zero_block = [&](size_t i) {
    return internal::AllZero(data + i, std::min<size_t>(kBlockSize, length - i));
  };
  for (size_t run = 0; run < length;) {  // [run, end): blocks that are all zero, or not.
    const bool zero = zero_block(run);
    size_t end = run + std::min<size_t>(kBlockSize, length - run);
    while (end < length && zero_block(end) == zero) {
      end += std::min<size_t>(kBlockSize, length - end);
    }
    absl::Status status = absl::UnimplementedError("not a hole");
    if (zero) status = file_->PunchHole(at + run, end - run);
    if (absl::IsUnimplemented(status)) {
      status = WriteFile(at + run, absl::string_view(data + run, end - run));
    }
    if (!status.ok()) return status;
    run = end;
  }
  return absl::OkStatus();
}

absl::Status Writer::Impl::CopyChunk(uint64_t from, uint64_t to, size_t n, std::string* buffer) {
  absl::StatusOr<uint64_t> data = file_->NextData(from);
  if (!data.ok()) return data.status();
  if (*data >= from + n) {
    absl::Status status = file_->PunchHole(to, n);
    if (!absl::IsUnimplemented(status)) return status;
    std::fill_n(buffer->begin(), n, '\0');
    return WriteFile(to, absl::string_view(buffer->data(), n));
  }
  absl::Status status = file_->Read(from, n, &(*buffer)[0]);
  if (status.ok()) status = WriteOrPunch(to, buffer->data(), n);
  return status;
}

absl::Status Writer::Impl::RecordProgress(const Header& base, const PendingMove& move) {
  Header header = base;
  *header.mutable_pending() = move;
  ++stats_.progress_records;
  absl::Status status = Sync();
  if (status.ok()) status = WriteHeader(header);
  return status;
}

absl::Status Writer::Impl::CopyTailUp(PendingMove move) {
  ++stats_.tail_moves;
  const uint64_t begin = move.offset();
  const uint64_t length = move.length();
  const uint64_t after = move.file_size_before() + length;
  // A record after every chunk lets the old copies be freed a chunk at a time: the move
  // never needs more than one chunk of disk space beyond the larger layout.
  const uint64_t interval = std::min(length, move_chunk_);
  absl::Status status = absl::OkStatus();
  if (file_size_ != after) {
    status = file_->Truncate(after);
    if (!status.ok()) return WhileDoing(status, "moving the file's tail up");
    file_size_ = after;
  }
  std::string buffer(std::min<uint64_t>(move_chunk_, move.progress() - begin), '\0');
  uint64_t recorded = move.progress();
  uint64_t copied_down_to = recorded;
  const Header base = View(/*committed=*/true);
  while (copied_down_to > begin) {
    const uint64_t limit = recorded - begin > interval ? recorded - interval : begin;
    if (copied_down_to == limit) {
      move.set_progress(copied_down_to);
      status = RecordProgress(base, move);
      recorded = copied_down_to;
      // Old copies of [recorded, recorded + length) were copied up and no record needs them
      // any more: free their disk space now, not at the end.
      if (status.ok() && recorded < move.file_size_before()) {
        status = PunchIfSupported(recorded, length);
      }
      if (!status.ok()) return WhileDoing(status, "moving the file's tail up");
      continue;
    }
    const uint64_t from =
        std::max(limit, copied_down_to - std::min<uint64_t>(move_chunk_, copied_down_to));
    const size_t n = copied_down_to - from;
    status = CopyChunk(from, from + length, n, &buffer);
    if (!status.ok()) return WhileDoing(status, "moving the file's tail up");
    copied_down_to = from;
  }
  status = Sync();
  if (!status.ok()) return WhileDoing(status, "moving the file's tail up");
  return absl::OkStatus();
}

absl::Status Writer::Impl::CopyTailDown(PendingMove move) {
  ++stats_.tail_moves;
  const uint64_t length = move.length();
  const uint64_t end = move.file_size_before();
  // A record after every chunk lets the old copies be freed a chunk at a time: the move
  // never needs more than one chunk of disk space beyond the larger layout.
  const uint64_t interval = std::min(length, move_chunk_);
  std::string buffer(std::min<uint64_t>(move_chunk_, end - move.progress()), '\0');
  uint64_t recorded = move.progress();
  uint64_t copied_up_to = recorded;
  const Header base = View(/*committed=*/true);
  // [recorded - length, recorded): the removed room, or old copies of bytes already copied
  // down; no record needs them.
  absl::Status status = PunchIfSupported(recorded - length, length);
  while (status.ok() && copied_up_to < end) {
    const uint64_t limit = std::min(end, recorded + interval);
    if (copied_up_to == limit) {
      move.set_progress(copied_up_to);
      status = RecordProgress(base, move);
      recorded = copied_up_to;
      if (status.ok()) status = PunchIfSupported(recorded - length, length);
      continue;
    }
    const uint64_t to = std::min(limit, copied_up_to + move_chunk_);
    const size_t n = to - copied_up_to;
    status = CopyChunk(copied_up_to, copied_up_to - length, n, &buffer);
    copied_up_to = to;
  }
  if (status.ok()) {
    move.set_progress(end);
    status = RecordProgress(base, move);
  }
  if (status.ok()) status = file_->Truncate(end - length);
  if (!status.ok()) return WhileDoing(status, "moving the file's tail down");
  file_size_ = end - length;
  layout_moved_since_sync_ = true;
  return absl::OkStatus();
}

}  // namespace storage
}  // namespace flatpyramid
