#include "storage/internal/format.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "storage/internal/crc32c.h"

namespace flatpyramid {
namespace storage {
namespace internal {
namespace {

uint32_t SlotCrc(absl::string_view prefix24, absl::string_view payload) {
  return Crc32cExtend(Crc32c(prefix24), payload.data(), payload.size());
}

const char* ArrayName(ArrayKind array) {
  switch (array) {
    case ARRAY_KEYS:
      return "keys";
    case ARRAY_LOCATIONS:
      return "locations";
    default:
      return "values";
  }
}

}  // namespace

absl::StatusOr<std::string> EncodeSlot(const Header& header) {
  std::string payload;
  if (!header.SerializeToString(&payload)) {
    return absl::InternalError("header: protobuf serialization failed");
  }
  if (payload.size() > kMaxPayloadSize) {
    return absl::ResourceExhaustedError(
        absl::StrCat("header of ", payload.size(), " bytes exceeds the ", kMaxPayloadSize,
                     "-byte header slot: use fewer sections or smaller user metadata"));
  }
  std::string slot(kSlotPrefixSize, '\0');
  std::memcpy(&slot[0], kSlotMagic, 8);
  absl::little_endian::Store32(&slot[8], kSlotFormat);
  absl::little_endian::Store32(&slot[12], static_cast<uint32_t>(payload.size()));
  absl::little_endian::Store64(&slot[16], header.generation());
  absl::little_endian::Store32(&slot[24], SlotCrc(absl::string_view(slot.data(), 24), payload));
  slot += payload;
  return slot;
}

namespace {

// One decoded slot. `newer_version` is set for a slot whose CRC and generation check but which a
// newer version wrote (slot format or format_major above ours); `generation` is then valid too.
struct DecodedSlot {
  absl::Status status;
  Header header;
  bool newer_version = false;
  uint64_t generation = 0;
};

DecodedSlot Decode(absl::string_view slot, int slot_index) {
  DecodedSlot out;
  const std::string where = absl::StrCat("header slot ", slot_index, ": ");
  if (slot.size() < kSlotPrefixSize) {
    out.status = absl::DataLossError(where + "truncated");
    return out;
  }
  if (std::memcmp(slot.data(), kSlotMagic, 8) != 0) {
    out.status = absl::DataLossError(where + "bad magic (not a flatpyramid store, or corrupt)");
    return out;
  }
  // Bytes 0-31 mean the same in every slot format (FORMAT.md section 2), so the CRC and the
  // generation of a slot written by a newer version can be checked before its format.
  const uint32_t length = absl::little_endian::Load32(slot.data() + 12);
  if (length > kMaxPayloadSize || kSlotPrefixSize + length > slot.size()) {
    out.status =
        absl::DataLossError(absl::StrCat(where, "payload length ", length, " out of range"));
    return out;
  }
  const uint64_t generation = absl::little_endian::Load64(slot.data() + 16);
  const uint32_t stored_crc = absl::little_endian::Load32(slot.data() + 24);
  const absl::string_view payload = slot.substr(kSlotPrefixSize, length);
  if (SlotCrc(slot.substr(0, 24), payload) != stored_crc) {
    out.status =
        absl::DataLossError(where + "CRC32C mismatch (torn write during a crash, or corruption)");
    return out;
  }
  if (generation % kSlotCount != static_cast<uint64_t>(slot_index)) {
    out.status =
        absl::DataLossError(absl::StrCat(where, "generation ", generation, " in the wrong slot"));
    return out;
  }
  out.generation = generation;
  const uint32_t format = absl::little_endian::Load32(slot.data() + 8);
  if (format < kSlotFormat) {
    out.status = absl::FailedPreconditionError(absl::StrCat(
        where, "slot format ", format, " (64 KiB header slots) is older than this reader's ",
        kSlotFormat, ": rebuild the file with this version"));
    return out;
  }
  if (format != kSlotFormat) {
    out.newer_version = true;
    out.status = absl::FailedPreconditionError(
        absl::StrCat(where, "slot format ", format, " is not ", kSlotFormat,
                     ": written by a newer flatpyramid; upgrade the reader"));
    return out;
  }
  if (absl::little_endian::Load32(slot.data() + 28) != 0) {
    out.status = absl::DataLossError(where + "reserved bytes 28..31 are not zero (corrupt)");
    return out;
  }
  if (!out.header.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    out.status = absl::DataLossError(where + "header protobuf does not parse");
    return out;
  }
  if (out.header.magic() != kHeaderMagic) {
    out.status = absl::DataLossError(where + "bad header magic");
    return out;
  }
  if (out.header.generation() != generation) {
    out.status = absl::DataLossError(where + "generation differs from the slot's");
    return out;
  }
  if (out.header.format_major() > kFormatMajor) {
    out.newer_version = true;
    out.status = absl::FailedPreconditionError(absl::StrCat(
        where, "format version ", out.header.format_major(), ".", out.header.format_minor(),
        " is newer than this reader's ", kFormatMajor, ".", kFormatMinor, ": upgrade flatpyramid"));
  }
  return out;
}

}  // namespace

absl::StatusOr<Header> DecodeSlot(absl::string_view slot, int slot_index) {
  DecodedSlot decoded = Decode(slot, slot_index);
  if (!decoded.status.ok()) return decoded.status;
  return std::move(decoded.header);
}

absl::StatusOr<Header> NewestHeader(absl::string_view slot0, absl::string_view slot1,
                                    absl::Status slot_errors[kSlotCount]) {
  DecodedSlot decoded[kSlotCount] = {Decode(slot0, 0), Decode(slot1, 1)};
  int best = -1;
  int newer = -1;  // The newest slot written by a newer version.
  for (int i = 0; i < kSlotCount; ++i) {
    slot_errors[i] = decoded[i].status;
    if (decoded[i].newer_version) {
      if (newer < 0 || decoded[i].generation > decoded[newer].generation) newer = i;
    } else if (decoded[i].status.ok()) {
      if (best < 0 || decoded[i].generation > decoded[best].generation) best = i;
    }
  }
  // A newer version's commit is newer than ours: reading our older slot would silently show an
  // older state, so refuse.
  if (newer >= 0 && (best < 0 || decoded[newer].generation > decoded[best].generation)) {
    return decoded[newer].status;
  }
  if (best < 0) {
    return absl::DataLossError(absl::StrCat(
        "no valid header slot (not a flatpyramid store, never committed, or corrupt): ",
        slot_errors[0].message(), "; ", slot_errors[1].message()));
  }
  return std::move(decoded[best].header);
}

ArrayExtent* MutableArray(Section* section, ArrayKind array) {
  switch (array) {
    case ARRAY_KEYS:
      return section->mutable_keys();
    case ARRAY_LOCATIONS:
      return section->mutable_locations();
    default:
      return section->mutable_values();
  }
}

const ArrayExtent& Array(const Section& section, ArrayKind array) {
  switch (array) {
    case ARRAY_KEYS:
      return section.keys();
    case ARRAY_LOCATIONS:
      return section.locations();
    default:
      return section.values();
  }
}

uint64_t UsedBytes(const Section& section, ArrayKind array) {
  switch (array) {
    case ARRAY_KEYS:
      return section.entry_count() * kKeySize;
    case ARRAY_LOCATIONS:
      return section.entry_count() * kLocationSize;
    default:
      return section.values_length();
  }
}

absl::Status ValidateLayout(const Header& header, uint64_t file_size) {
  if (header.format_major() != kFormatMajor) {
    return absl::FailedPreconditionError(absl::StrCat("format version ", header.format_major(),
                                                      " is not supported (this reader reads ",
                                                      kFormatMajor, ".x)"));
  }
  struct Span {
    uint64_t begin, end;
    int section;
    ArrayKind array;
  };
  std::vector<Span> spans;
  const ArrayKind kinds[] = {ARRAY_KEYS, ARRAY_LOCATIONS, ARRAY_VALUES};
  for (int s = 0; s < header.sections_size(); ++s) {
    const Section& section = header.sections(s);
    // Guard the multiplications below against overflow.
    if (section.entry_count() >= kMaxEntryCount) {
      return absl::DataLossError(absl::StrCat("section ", s, " '", section.name(),
                                              "': entry count ", section.entry_count(),
                                              " is impossible"));
    }
    for (ArrayKind kind : kinds) {
      const ArrayExtent& extent = Array(section, kind);
      const std::string where =
          absl::StrCat("section ", s, " '", section.name(), "' ", ArrayName(kind), " array");
      if (extent.offset() % kBlockSize != 0 || extent.capacity() % kBlockSize != 0) {
        return absl::DataLossError(where + ": offset or capacity not 4096-aligned");
      }
      if (extent.offset() < kDataStart || extent.offset() > file_size ||
          extent.capacity() > file_size - extent.offset()) {
        return absl::DataLossError(absl::StrCat(where, ": [", extent.offset(), ", +",
                                                extent.capacity(), ") is outside the ", file_size,
                                                "-byte file (truncated?)"));
      }
      if (UsedBytes(section, kind) > extent.capacity()) {
        return absl::DataLossError(absl::StrCat(where, ": ", UsedBytes(section, kind),
                                                " used bytes exceed its capacity ",
                                                extent.capacity()));
      }
      if (extent.capacity() > 0) {
        spans.push_back({extent.offset(), extent.offset() + extent.capacity(), s, kind});
      }
    }
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].begin < spans[i - 1].end) {
      return absl::DataLossError(absl::StrCat(
          "section ", spans[i].section, " ", ArrayName(spans[i].array), " array overlaps section ",
          spans[i - 1].section, " ", ArrayName(spans[i - 1].array), " array"));
    }
  }
  return absl::OkStatus();
}

namespace {

// ApplyGapMove removes [move.offset, +length), which no array of non-zero capacity may
// overlap: the arrays above move down; an empty array inside the range moves to its start.
absl::Status ApplyGapMove(const PendingMove& move, Header* header) {
  if (move.kind() != PendingMove::COLLAPSE_RANGE && move.kind() != PendingMove::COPY_TAIL_DOWN) {
    return absl::DataLossError("pending gap move is not a trim");
  }
  const uint64_t end = move.offset() + move.length();
  const ArrayKind kinds[] = {ARRAY_KEYS, ARRAY_LOCATIONS, ARRAY_VALUES};
  for (Section& section : *header->mutable_sections()) {
    for (ArrayKind kind : kinds) {
      ArrayExtent* extent = MutableArray(&section, kind);
      const uint64_t begin = extent->offset();
      if (extent->capacity() > 0 && begin < end && begin + extent->capacity() > move.offset()) {
        return absl::DataLossError("pending gap move removes bytes of an array");
      }
      if (begin >= end) {
        extent->set_offset(begin - move.length());
      } else if (begin >= move.offset()) {
        extent->set_offset(move.offset());
      }
    }
  }
  header->clear_pending();
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyMove(const PendingMove& move, Header* header) {
  if (move.length() % kBlockSize != 0 || move.offset() % kBlockSize != 0) {
    return absl::DataLossError("pending move is not 4096-aligned");
  }
  if (move.gap()) return ApplyGapMove(move, header);
  if (move.section() >= static_cast<uint32_t>(header->sections_size())) {
    return absl::DataLossError("pending move names a section that does not exist");
  }
  const bool grow =
      move.kind() == PendingMove::INSERT_RANGE || move.kind() == PendingMove::COPY_TAIL_UP;
  ArrayExtent* target = MutableArray(header->mutable_sections(move.section()), move.array());
  if (grow) {
    if (target->offset() + target->capacity() != move.offset()) {
      return absl::DataLossError("pending insert is not at the end of its array");
    }
  } else {
    if (move.length() > target->capacity() ||
        target->offset() + target->capacity() - move.length() != move.offset()) {
      return absl::DataLossError("pending trim is not at the end of its array");
    }
  }
  const ArrayKind kinds[] = {ARRAY_KEYS, ARRAY_LOCATIONS, ARRAY_VALUES};
  for (Section& section : *header->mutable_sections()) {
    for (ArrayKind kind : kinds) {
      ArrayExtent* extent = MutableArray(&section, kind);
      if (extent == target || extent->offset() < move.offset()) continue;
      if (extent->offset() == move.offset() && extent->capacity() == 0 && !grow) continue;
      if (grow) {
        extent->set_offset(extent->offset() + move.length());
      } else {
        if (extent->offset() < move.offset() + move.length()) {
          return absl::DataLossError("pending trim removes bytes of another array");
        }
        extent->set_offset(extent->offset() - move.length());
      }
    }
  }
  target->set_capacity(grow ? target->capacity() + move.length()
                            : target->capacity() - move.length());
  header->clear_pending();
  return absl::OkStatus();
}

absl::StatusOr<MoveState> JudgeMove(const PendingMove& move, uint64_t file_size) {
  if (move.kind() == PendingMove::KIND_NONE) return MoveState::kNone;
  const uint64_t before = move.file_size_before();
  const bool grow =
      move.kind() == PendingMove::INSERT_RANGE || move.kind() == PendingMove::COPY_TAIL_UP;
  if (move.length() == 0 || move.offset() > before || (grow && before + move.length() < before) ||
      (!grow && move.length() > before - move.offset())) {
    return absl::DataLossError("pending move is out of range");
  }
  const uint64_t after = grow ? before + move.length() : before - move.length();
  const std::string sizes = absl::StrCat("file size ", file_size, " is neither ", before, " nor ",
                                         after, " around a recorded move");
  switch (move.kind()) {
    case PendingMove::INSERT_RANGE:
    case PendingMove::COLLAPSE_RANGE:
      if (file_size == before) return MoveState::kNotApplied;
      if (file_size == after) return MoveState::kApplied;
      return absl::DataLossError(sizes);
    case PendingMove::COPY_TAIL_UP:
      // progress == before: nothing below the old end was overwritten yet.
      if (file_size != before && file_size != after) return absl::DataLossError(sizes);
      if (move.progress() == before) return MoveState::kNotApplied;
      if (move.progress() < move.offset() || move.progress() > before) {
        return absl::DataLossError("pending move progress out of range");
      }
      if (file_size != after) return absl::DataLossError(sizes);
      return move.progress() == move.offset() ? MoveState::kApplied : MoveState::kInterrupted;
    case PendingMove::COPY_TAIL_DOWN:
      if (file_size != before && file_size != after) return absl::DataLossError(sizes);
      if (file_size == after) return MoveState::kApplied;
      if (move.progress() == move.offset() + move.length()) return MoveState::kNotApplied;
      if (move.progress() < move.offset() + move.length() || move.progress() > before) {
        return absl::DataLossError("pending move progress out of range");
      }
      return move.progress() == before ? MoveState::kApplied : MoveState::kInterrupted;
    default:
      return absl::DataLossError(absl::StrCat("unknown pending move kind ", move.kind()));
  }
}

namespace {

bool IsFallocateMove(const PendingMove& move) {
  return move.kind() == PendingMove::INSERT_RANGE || move.kind() == PendingMove::COLLAPSE_RANGE;
}

// The first byte a move shifts: everything in [tail_begin, file_size_before) moves.
uint64_t TailBegin(const PendingMove& move) {
  return move.kind() == PendingMove::INSERT_RANGE || move.kind() == PendingMove::COPY_TAIL_UP
             ? move.offset()
             : move.offset() + move.length();
}

absl::Status PartialShift(const PendingMove& move, absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("interrupted partial shift: the recorded fallocate(",
                   move.kind() == PendingMove::INSERT_RANGE ? "INSERT_RANGE" : "COLLAPSE_RANGE",
                   ") of ", move.length(), " bytes at ", move.offset(),
                   " was applied only in part (the system stopped inside it): ", what,
                   "; the file cannot be recovered (rebuild it)"));
}

}  // namespace

absl::Status RecordShiftChecks(const Header& header, File* file, PendingMove* move) {
  if (!move->gap() && move->section() >= static_cast<uint32_t>(header.sections_size())) {
    return absl::InternalError("RecordShiftChecks: no such section");
  }
  const uint64_t tail_begin = TailBegin(*move);
  const ArrayExtent* target =
      move->gap() ? nullptr : &Array(header.sections(move->section()), move->array());
  struct Region {
    uint64_t begin, end;
  };
  std::optional<Region> first, last;  // Lowest and highest committed bytes of the tail.
  const ArrayKind kinds[] = {ARRAY_KEYS, ARRAY_LOCATIONS, ARRAY_VALUES};
  for (const Section& section : header.sections()) {
    for (ArrayKind kind : kinds) {
      const ArrayExtent& extent = Array(section, kind);
      const uint64_t used = UsedBytes(section, kind);
      if (&extent == target || used == 0 || extent.offset() < tail_begin) continue;
      const Region region{extent.offset(), extent.offset() + used};
      if (!first.has_value() || region.begin < first->begin) first = region;
      if (!last.has_value() || region.end > last->end) last = region;
    }
  }
  if (!first.has_value()) return absl::OkStatus();  // No committed byte moves.
  const Region checks[] = {
      {first->begin, first->begin + std::min(kShiftCheckSize, first->end - first->begin)},
      {last->end - std::min(kShiftCheckSize, last->end - last->begin), last->end}};
  std::string buffer;
  for (int i = 0; i < 2; ++i) {
    if (i == 1 && checks[1].begin == checks[0].begin) break;  // One region covers both.
    buffer.resize(checks[i].end - checks[i].begin);
    absl::Status status = file->Read(checks[i].begin, buffer.size(), &buffer[0]);
    if (!status.ok()) return status;
    ShiftCheck* check = move->add_shift_checks();
    check->set_offset(checks[i].begin);
    check->set_length(buffer.size());
    check->set_crc32c(Crc32c(buffer));
  }
  return absl::OkStatus();
}

absl::Status CheckShift(const PendingMove& move, MoveState state, uint64_t file_size, File* file) {
  if (!IsFallocateMove(move)) return absl::OkStatus();
  if (state != MoveState::kApplied && state != MoveState::kNotApplied) return absl::OkStatus();
  const bool grow = move.kind() == PendingMove::INSERT_RANGE;
  const bool applied = state == MoveState::kApplied;
  const uint64_t before = move.file_size_before();
  const uint64_t tail_begin = TailBegin(move);
  std::string buffer;
  for (const ShiftCheck& check : move.shift_checks()) {
    if (check.length() == 0 || check.length() > kShiftCheckSize || check.offset() < tail_begin ||
        check.offset() > before || check.length() > before - check.offset()) {
      return absl::DataLossError("pending move has a shift check outside the moved bytes");
    }
    // Collapse: offset >= tail_begin = move.offset() + length, so this does not wrap.
    const uint64_t at = !applied ? check.offset()
                        : grow   ? check.offset() + move.length()
                                 : check.offset() - move.length();
    if (at > file_size || check.length() > file_size - at) {
      return PartialShift(move, absl::StrCat("recorded bytes at ", at, " are past the end"));
    }
    buffer.resize(check.length());
    absl::Status status = file->Read(at, buffer.size(), &buffer[0]);
    if (!status.ok()) return status;
    if (Crc32c(buffer) != check.crc32c()) {
      return PartialShift(
          move, absl::StrCat("the committed bytes recorded at ", check.offset(), " are not at ", at,
                             applied ? " (moved)" : " (not moved)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace storage
}  // namespace flatpyramid
