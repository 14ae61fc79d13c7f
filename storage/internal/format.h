// The fixed numbers of the file format and the header logic shared by Reader and Writer:
// slot encoding, layout validation, and how a PendingMove changes the layout.
// storage/FORMAT.md describes the same bytes in prose.
#ifndef FLATPYRAMID_STORAGE_INTERNAL_FORMAT_H_
#define FLATPYRAMID_STORAGE_INTERNAL_FORMAT_H_

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/env.h"
#include "storage/header.pb.h"

namespace flatpyramid {
namespace storage {
namespace internal {

constexpr uint64_t kBlockSize = 4096;                    // Alignment of every array and move.
constexpr uint64_t kSlotSize = 16 << 10;                 // One header slot.
constexpr int kSlotCount = 2;                            // Slot g % 2 holds generation g.
constexpr uint64_t kDataStart = kSlotSize * kSlotCount;  // First array byte.
constexpr size_t kSlotPrefixSize = 32;  // magic 8 + format 4 + length 4 + gen 8 + crc 4 + 0 4.
constexpr size_t kMaxPayloadSize = kSlotSize - kSlotPrefixSize;
constexpr char kSlotMagic[8] = {'F', 'P', 'Y', 'R', 'S', 'T', 'O', 'R'};
constexpr uint64_t kHeaderMagic = 0x524F545352595046ull;  // "FPYRSTOR" as little-endian.
constexpr uint32_t kSlotFormat = 2;                       // FORMAT.md lists the others.
constexpr uint32_t kFormatMajor = 1;
constexpr uint32_t kFormatMinor = 2;    // 1.1: PendingMove.shift_checks; 1.2: .gap.
constexpr uint64_t kKeySize = 8;        // uint64 little-endian.
constexpr uint64_t kLocationSize = 16;  // uint64 offset + uint64 length, little-endian.
constexpr uint64_t kMaxEntryCount = uint64_t{1} << 56;  // entry_count < this (no overflow).
constexpr uint64_t kShiftCheckSize = 4096;              // Longest ShiftCheck region.

inline uint64_t RoundUpToBlock(uint64_t n) {
  return (n + kBlockSize - 1) / kBlockSize * kBlockSize;
}

// AllZero is true when data[0, length) are all zero bytes.
inline bool AllZero(const char* data, size_t length) {
  return length == 0 || (data[0] == 0 && std::memcmp(data, data + 1, length - 1) == 0);
}

// EncodeSlot returns the kSlotPrefixSize + payload bytes of a slot holding `header`.
absl::StatusOr<std::string> EncodeSlot(const Header& header);

// DecodeSlot parses slot `slot_index`; kDataLoss naming what is wrong (magic, length, CRC,
// generation, proto), kFailedPrecondition for a valid slot written by a newer version.
absl::StatusOr<Header> DecodeSlot(absl::string_view slot, int slot_index);

// NewestHeader decodes both slots and returns the valid one with the highest generation;
// kFailedPrecondition when a slot written by a newer version (CRC and generation valid) has the
// highest generation. `slot_errors[i]` receives the error of slot i (OK if valid).
absl::StatusOr<Header> NewestHeader(absl::string_view slot0, absl::string_view slot1,
                                    absl::Status slot_errors[kSlotCount]);

// ArrayAt returns the extent of `array` in `section`.
ArrayExtent* MutableArray(Section* section, ArrayKind array);
const ArrayExtent& Array(const Section& section, ArrayKind array);

// UsedBytes returns how many bytes of `array` the committed entries use.
uint64_t UsedBytes(const Section& section, ArrayKind array);

// ValidateLayout checks the version, that every array is aligned, lies inside
// [kDataStart, file_size), does not overlap another, and holds its committed entries.
// Does not look at `pending`.
absl::Status ValidateLayout(const Header& header, uint64_t file_size);

// ApplyMove changes the layout as `move` says (after it happened). kDataLoss if the move does
// not fit the layout (hostile header). A gap move (PendingMove.gap) removes bytes no array
// holds and names no array.
absl::Status ApplyMove(const PendingMove& move, Header* header);

// MoveState says where a recorded move stands, judged from the file size and its progress.
enum class MoveState { kNone, kNotApplied, kApplied, kInterrupted };
absl::StatusOr<MoveState> JudgeMove(const PendingMove& move, uint64_t file_size);

// RecordShiftChecks adds to `move` (INSERT_RANGE or COLLAPSE_RANGE, not at the end of the file)
// the first and the last up to kShiftCheckSize committed bytes that it shifts, per `header`
// (the layout before the move, with its committed counts), read from `file`.
absl::Status RecordShiftChecks(const Header& header, File* file, PendingMove* move);

// CheckShift verifies that the bytes of `move`'s shift checks are where `state` (kApplied or
// kNotApplied) puts them in `file` (now `file_size` bytes). kDataLoss ("interrupted partial
// shift") otherwise: the filesystem applied the move only in part, and the file cannot be
// recovered.
absl::Status CheckShift(const PendingMove& move, MoveState state, uint64_t file_size, File* file);

}  // namespace internal
}  // namespace storage
}  // namespace flatpyramid

#endif  // FLATPYRAMID_STORAGE_INTERNAL_FORMAT_H_
