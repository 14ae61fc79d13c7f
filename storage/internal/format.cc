#include "storage/internal/format.h"

#include <algorithm>
#include <cstring>
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

absl::StatusOr<Header> DecodeSlot(absl::string_view slot, int slot_index) {
  const std::string where = absl::StrCat("header slot ", slot_index, ": ");
  if (slot.size() < kSlotPrefixSize) return absl::DataLossError(where + "truncated");
  if (std::memcmp(slot.data(), kSlotMagic, 8) != 0) {
    return absl::DataLossError(where + "bad magic (not a flatpyramid store, or corrupt)");
  }
  const uint32_t format = absl::little_endian::Load32(slot.data() + 8);
  if (format != kSlotFormat) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, "slot format ", format, " is not ", kSlotFormat,
                     ": written by a newer flatpyramid; upgrade the reader"));
  }
  const uint32_t length = absl::little_endian::Load32(slot.data() + 12);
  if (length > kMaxPayloadSize || kSlotPrefixSize + length > slot.size()) {
    return absl::DataLossError(absl::StrCat(where, "payload length ", length, " out of range"));
  }
  const uint64_t generation = absl::little_endian::Load64(slot.data() + 16);
  const uint32_t stored_crc = absl::little_endian::Load32(slot.data() + 24);
  const absl::string_view payload = slot.substr(kSlotPrefixSize, length);
  if (SlotCrc(slot.substr(0, 24), payload) != stored_crc) {
    return absl::DataLossError(where +
                               "CRC32C mismatch (torn write during a crash, or corruption)");
  }
  Header header;
  if (!header.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::DataLossError(where + "header protobuf does not parse");
  }
  if (header.magic() != kHeaderMagic) return absl::DataLossError(where + "bad header magic");
  if (header.generation() != generation) {
    return absl::DataLossError(where + "generation differs from the slot's");
  }
  if (header.format_major() > kFormatMajor) {
    return absl::FailedPreconditionError(absl::StrCat(
        where, "format version ", header.format_major(), ".", header.format_minor(),
        " is newer than this reader's ", kFormatMajor, ".", kFormatMinor, ": upgrade flatpyramid"));
  }
  return header;
}

absl::StatusOr<Header> NewestHeader(absl::string_view slot0, absl::string_view slot1,
                                    absl::Status slot_errors[kSlotCount]) {
  absl::StatusOr<Header> decoded[kSlotCount] = {DecodeSlot(slot0, 0), DecodeSlot(slot1, 1)};
  int best = -1;
  for (int i = 0; i < kSlotCount; ++i) {
    slot_errors[i] = decoded[i].status();
    if (!decoded[i].ok()) continue;
    if (decoded[i]->generation() % kSlotCount != static_cast<uint64_t>(i)) {
      slot_errors[i] = absl::DataLossError(absl::StrCat(
          "header slot ", i, ": generation ", decoded[i]->generation(), " in the wrong slot"));
      continue;
    }
    if (best < 0 || decoded[i]->generation() > decoded[best]->generation()) best = i;
  }
  if (best < 0) {
    for (int i = 0; i < kSlotCount; ++i) {
      if (absl::IsFailedPrecondition(slot_errors[i])) return slot_errors[i];
    }
    return absl::DataLossError(absl::StrCat(
        "no valid header slot (not a flatpyramid store, never committed, or corrupt): ",
        slot_errors[0].message(), "; ", slot_errors[1].message()));
  }
  return std::move(*decoded[best]);
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
    if (section.entry_count() > (uint64_t{1} << 56)) {
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

absl::Status ApplyMove(const PendingMove& move, Header* header) {
  if (move.section() >= static_cast<uint32_t>(header->sections_size())) {
    return absl::DataLossError("pending move names a section that does not exist");
  }
  if (move.length() % kBlockSize != 0 || move.offset() % kBlockSize != 0) {
    return absl::DataLossError("pending move is not 4096-aligned");
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

}  // namespace internal
}  // namespace storage
}  // namespace flatpyramid
