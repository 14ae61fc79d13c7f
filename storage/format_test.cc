// The fixed parts of the format: CRC32C values, slot encoding, and the recovery table of
// FORMAT.md section 6 (JudgeMove) and how a move shifts the layout (ApplyMove).
#include "storage/internal/format.h"

#include <random>
#include <string>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/header.pb.h"
#include "storage/internal/crc32c.h"
#include "storage/testing/fault_injection_env.h"

namespace flatpyramid {
namespace storage {
namespace internal {
namespace {

TEST(Crc32cTest, MatchesPublishedCheckValues) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4.
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(Crc32cPortable(0, "123456789", 9), 0xE3069283u);
}

TEST(Crc32cTest, HardwareAndTablePathsAgreeOnEveryLengthAndAlignment) {
  std::mt19937_64 random(3);
  std::string data(4096 + 16, '\0');
  for (char& c : data) c = static_cast<char>(random());
  for (size_t offset = 0; offset < 9; ++offset) {
    for (size_t length : {0, 1, 7, 8, 9, 15, 16, 63, 64, 65, 1000, 4096}) {
      ASSERT_EQ(Crc32cExtend(0, data.data() + offset, length),
                Crc32cPortable(0, data.data() + offset, length))
          << offset << " " << length;
    }
  }
  // Extending is the same as one pass.
  EXPECT_EQ(Crc32cExtend(Crc32cExtend(0, data.data(), 100), data.data() + 100, 900),
            Crc32cExtend(0, data.data(), 1000));
}

Header TwoSections() {
  Header header;
  header.set_magic(kHeaderMagic);
  header.set_format_major(kFormatMajor);
  header.set_generation(6);
  uint64_t offset = kDataStart;
  for (int s = 0; s < 2; ++s) {
    Section* section = header.add_sections();
    section->set_name(absl::StrCat("s", s));
    for (ArrayExtent* extent :
         {section->mutable_keys(), section->mutable_locations(), section->mutable_values()}) {
      extent->set_offset(offset);
      extent->set_capacity(8192);
      offset += 8192;
    }
  }
  return header;  // File end: kDataStart + 6 * 8192.
}

TEST(FormatTest, SlotRoundTripsAndRejectsEveryDamagedByte) {
  const Header header = TwoSections();
  absl::StatusOr<std::string> slot = EncodeSlot(header);
  ASSERT_TRUE(slot.ok()) << slot.status();
  EXPECT_EQ(slot->substr(0, 8), "FPYRSTOR");
  absl::StatusOr<Header> decoded = DecodeSlot(*slot, 0);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->SerializeAsString(), header.SerializeAsString());
  for (size_t i = 0; i < slot->size(); ++i) {
    if (i >= 28 && i < 32) continue;  // Reserved bytes.
    std::string damaged = *slot;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x10);
    EXPECT_FALSE(DecodeSlot(damaged, 0).ok()) << "byte " << i;
  }
}

TEST(FormatTest, NewestValidSlotWinsAndATornNewerSlotFallsBackToTheOlder) {
  Header older = TwoSections();
  older.set_generation(6);
  Header newer = older;
  newer.set_generation(7);
  newer.mutable_sections(0)->set_entry_count(3);
  const std::string slot0 = *EncodeSlot(older);
  std::string slot1 = *EncodeSlot(newer);
  absl::Status errors[kSlotCount];
  EXPECT_EQ(NewestHeader(slot0, slot1, errors)->generation(), 7u);
  slot1[40] ^= 1;  // Torn.
  EXPECT_EQ(NewestHeader(slot0, slot1, errors)->generation(), 6u);
  EXPECT_TRUE(errors[0].ok());
  EXPECT_NE(errors[1].message().find("torn write"), std::string::npos) << errors[1];
  // A generation in the wrong slot is not trusted.
  EXPECT_FALSE(NewestHeader(*EncodeSlot(newer), "", errors).ok());
}

TEST(FormatTest, ANewerMajorVersionWithTheHigherGenerationIsRefusedNotSkipped) {
  Header ours = TwoSections();
  ours.set_generation(6);
  Header theirs = ours;
  theirs.set_generation(7);
  theirs.set_format_major(kFormatMajor + 1);
  theirs.set_format_minor(3);
  absl::Status errors[kSlotCount];
  // Newer version, newer generation: its commit is the file's latest state, so refuse.
  absl::StatusOr<Header> newest = NewestHeader(*EncodeSlot(ours), *EncodeSlot(theirs), errors);
  ASSERT_FALSE(newest.ok());
  EXPECT_EQ(newest.status().code(), absl::StatusCode::kFailedPrecondition) << newest.status();
  EXPECT_NE(newest.status().message().find("format version 2.3 is newer"), std::string::npos)
      << newest.status();
  // Newer version, older generation: our slot is the latest state.
  theirs.set_generation(5);
  newest = NewestHeader(*EncodeSlot(ours), *EncodeSlot(theirs), errors);
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(newest->generation(), 6u);
  EXPECT_EQ(errors[1].code(), absl::StatusCode::kFailedPrecondition);
  // A torn newer-version slot is just a torn slot: the older valid one wins.
  theirs.set_generation(7);
  std::string torn = *EncodeSlot(theirs);
  torn[40] ^= 1;
  newest = NewestHeader(*EncodeSlot(ours), torn, errors);
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(newest->generation(), 6u);
  // A newer slot format (bytes 8-11) with a valid CRC and the higher generation: refused too.
  Header next = ours;
  next.set_generation(7);
  std::string slot1 = *EncodeSlot(next);
  slot1[8] = static_cast<char>(kSlotFormat + 1);
  const std::string prefix = slot1.substr(0, 24);
  const uint32_t length = absl::little_endian::Load32(slot1.data() + 12);
  absl::little_endian::Store32(
      &slot1[24], Crc32cExtend(Crc32c(prefix), slot1.data() + kSlotPrefixSize, length));
  newest = NewestHeader(*EncodeSlot(ours), slot1, errors);
  ASSERT_FALSE(newest.ok());
  EXPECT_EQ(newest.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(newest.status().message().find(absl::StrCat("slot format ", kSlotFormat + 1)),
            std::string::npos)
      << newest.status();
  // An older slot format (1: 64 KiB slots) is refused with the fix, not misread.
  std::string old_slot = *EncodeSlot(ours);
  old_slot[8] = 1;
  absl::little_endian::Store32(
      &old_slot[24], Crc32cExtend(Crc32c(old_slot.substr(0, 24)), old_slot.data() + kSlotPrefixSize,
                                  absl::little_endian::Load32(old_slot.data() + 12)));
  absl::StatusOr<Header> old = DecodeSlot(old_slot, 0);
  EXPECT_EQ(old.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(old.status().message().find("rebuild the file"), std::string::npos) << old.status();
  // Only newer-version slots: refused, naming the version.
  newest = NewestHeader("", *EncodeSlot(theirs), errors);
  EXPECT_EQ(newest.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FormatTest, JudgeMoveFollowsTheRecoveryTable) {
  PendingMove move;
  move.set_offset(kDataStart + 8192);
  move.set_length(4096);
  move.set_file_size_before(1 << 20);
  const uint64_t before = 1 << 20;
  move.set_kind(PendingMove::INSERT_RANGE);
  EXPECT_EQ(*JudgeMove(move, before), MoveState::kNotApplied);
  EXPECT_EQ(*JudgeMove(move, before + 4096), MoveState::kApplied);
  EXPECT_FALSE(JudgeMove(move, before + 8192).ok());
  move.set_kind(PendingMove::COLLAPSE_RANGE);
  EXPECT_EQ(*JudgeMove(move, before), MoveState::kNotApplied);
  EXPECT_EQ(*JudgeMove(move, before - 4096), MoveState::kApplied);
  EXPECT_FALSE(JudgeMove(move, before + 4096).ok());

  move.set_kind(PendingMove::COPY_TAIL_UP);
  move.set_progress(before);
  EXPECT_EQ(*JudgeMove(move, before), MoveState::kNotApplied);
  EXPECT_EQ(*JudgeMove(move, before + 4096), MoveState::kNotApplied);
  move.set_progress(before - 65536);
  EXPECT_EQ(*JudgeMove(move, before + 4096), MoveState::kInterrupted);
  move.set_progress(move.offset());
  EXPECT_EQ(*JudgeMove(move, before + 4096), MoveState::kApplied);
  move.set_progress(move.offset() - 4096);  // Below the insert point: hostile.
  EXPECT_FALSE(JudgeMove(move, before + 4096).ok());

  move.set_kind(PendingMove::COPY_TAIL_DOWN);
  move.set_progress(move.offset() + 4096);
  EXPECT_EQ(*JudgeMove(move, before), MoveState::kNotApplied);
  move.set_progress(before - 65536);
  EXPECT_EQ(*JudgeMove(move, before), MoveState::kInterrupted);
  move.set_progress(before);
  EXPECT_EQ(*JudgeMove(move, before), MoveState::kApplied);
  EXPECT_EQ(*JudgeMove(move, before - 4096), MoveState::kApplied);

  move.set_kind(PendingMove::INSERT_RANGE);
  move.set_length(~uint64_t{0} - 100);  // Overflows the file size.
  EXPECT_FALSE(JudgeMove(move, before).ok());
}

TEST(FormatTest, ApplyMoveShiftsEveryLaterArrayAndResizesTheNamedOne) {
  Header header = TwoSections();
  PendingMove grow;
  grow.set_kind(PendingMove::INSERT_RANGE);
  grow.set_section(0);
  grow.set_array(ARRAY_LOCATIONS);
  grow.set_offset(kDataStart + 2 * 8192);  // End of section 0's locations.
  grow.set_length(16384);
  ASSERT_TRUE(ApplyMove(grow, &header).ok());
  EXPECT_EQ(header.sections(0).keys().offset(), kDataStart);
  EXPECT_EQ(header.sections(0).locations().capacity(), 8192u + 16384u);
  EXPECT_EQ(header.sections(0).values().offset(), kDataStart + 2 * 8192 + 16384);
  EXPECT_EQ(header.sections(1).values().offset(), kDataStart + 5 * 8192 + 16384);
  EXPECT_TRUE(ValidateLayout(header, kDataStart + 6 * 8192 + 16384).ok());

  PendingMove trim;
  trim.set_kind(PendingMove::COLLAPSE_RANGE);
  trim.set_section(0);
  trim.set_array(ARRAY_LOCATIONS);
  trim.set_offset(kDataStart + 8192 + 4096);  // Keep one block.
  trim.set_length(8192 + 16384 - 4096);
  ASSERT_TRUE(ApplyMove(trim, &header).ok());
  EXPECT_EQ(header.sections(0).locations().capacity(), 4096u);
  EXPECT_EQ(header.sections(0).values().offset(), kDataStart + 8192 + 4096);
  EXPECT_TRUE(ValidateLayout(header, kDataStart + 5 * 8192 + 4096).ok());

  PendingMove wrong = grow;
  wrong.set_offset(kDataStart + 4096);  // Not the end of the array: corrupt.
  EXPECT_FALSE(ApplyMove(wrong, &header).ok());
  wrong.set_section(9);
  EXPECT_FALSE(ApplyMove(wrong, &header).ok());
}

// A file of TwoSections' layout whose used bytes are distinct, in a FaultInjectionEnv.
struct ShiftFixture {
  test::FaultInjectionEnv env;
  std::unique_ptr<File> file;
  Header header = TwoSections();
  std::string bytes;

  ShiftFixture() {
    // 5 entries per section, 10000 value bytes in section 1 (more than one check region).
    for (int s = 0; s < 2; ++s) header.mutable_sections(s)->set_entry_count(5);
    header.mutable_sections(0)->set_values_length(100);
    header.mutable_sections(1)->set_values_length(8000);
    bytes.assign(kDataStart + 6 * 8192, '\0');
    std::mt19937_64 random(9);
    for (size_t i = kDataStart; i < bytes.size(); ++i) bytes[i] = static_cast<char>(random());
    env.SetContents("/f", bytes);
    file = *env.Open("/f", OpenMode::kReadWrite);
  }
  PendingMove InsertAfterSection0Keys() const {
    PendingMove move;
    move.set_kind(PendingMove::INSERT_RANGE);
    move.set_section(0);
    move.set_array(ARRAY_KEYS);
    move.set_offset(kDataStart + 8192);
    move.set_length(8192);
    move.set_file_size_before(bytes.size());
    return move;
  }
};

TEST(ShiftCheckTest, RecordsTheFirstAndLastCommittedBytesOfTheTail) {
  ShiftFixture f;
  PendingMove move = f.InsertAfterSection0Keys();
  ASSERT_TRUE(RecordShiftChecks(f.header, f.file.get(), &move).ok());
  ASSERT_EQ(move.shift_checks_size(), 2);
  // First: section 0's 80 location bytes; last: the end of section 1's 8000 value bytes.
  EXPECT_EQ(move.shift_checks(0).offset(), kDataStart + 8192);
  EXPECT_EQ(move.shift_checks(0).length(), 80u);
  EXPECT_EQ(move.shift_checks(0).crc32c(), Crc32c(f.bytes.substr(kDataStart + 8192, 80)));
  EXPECT_EQ(move.shift_checks(1).offset(), kDataStart + 5 * 8192 + 8000 - 4096);
  EXPECT_EQ(move.shift_checks(1).length(), 4096u);
  EXPECT_EQ(move.shift_checks(1).crc32c(),
            Crc32c(f.bytes.substr(kDataStart + 5 * 8192 + 8000 - 4096, 4096)));
}

TEST(ShiftCheckTest, AnInsertAppliedInPartIsRefusedAndAWholeOneIsAccepted) {
  ShiftFixture f;
  PendingMove move = f.InsertAfterSection0Keys();
  ASSERT_TRUE(RecordShiftChecks(f.header, f.file.get(), &move).ok());
  const uint64_t before = f.bytes.size();
  EXPECT_TRUE(CheckShift(move, MoveState::kNotApplied, before, f.file.get()).ok());

  std::string whole = f.bytes;
  whole.insert(move.offset(), move.length(), '\0');
  f.env.SetContents("/f", whole);
  EXPECT_TRUE(CheckShift(move, MoveState::kApplied, before + 8192, f.file.get()).ok());

  // The size grew and the last 3 blocks of the tail moved, the rest did not (a crash inside
  // xfs_insert_file_space): the first committed bytes are not at their new place.
  std::string partial = f.bytes;
  partial.resize(before + 8192);
  const uint64_t split = before - 3 * 4096;
  partial.replace(split + 8192, before - split, f.bytes.substr(split));
  std::fill_n(partial.begin() + split, 8192, '\0');
  f.env.SetContents("/f", partial);
  absl::Status status = CheckShift(move, MoveState::kApplied, before + 8192, f.file.get());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(status.message().find("interrupted partial shift"), std::string::npos) << status;

  // The writer may append into the new room before its next header: not a partial shift.
  std::string appended = whole;
  appended.replace(move.offset(), 100, std::string(100, 'x'));
  f.env.SetContents("/f", appended);
  EXPECT_TRUE(CheckShift(move, MoveState::kApplied, before + 8192, f.file.get()).ok());

  // The size did not change but the tail's end moved already: refused as "not applied" too.
  std::string end_moved = f.bytes;
  end_moved.replace(before - 4096, 4096, std::string(4096, '\0'));
  f.env.SetContents("/f", end_moved);
  EXPECT_EQ(CheckShift(move, MoveState::kNotApplied, before, f.file.get()).code(),
            absl::StatusCode::kDataLoss);

  // A hostile check outside the moved bytes is corrupt, not a read out of range.
  move.mutable_shift_checks(0)->set_offset(before);
  EXPECT_EQ(CheckShift(move, MoveState::kNotApplied, before, f.file.get()).code(),
            absl::StatusCode::kDataLoss);
}

TEST(ShiftCheckTest, ACollapseIsCheckedAtTheLowerPlace) {
  ShiftFixture f;
  PendingMove move;
  move.set_kind(PendingMove::COLLAPSE_RANGE);
  move.set_section(0);
  move.set_array(ARRAY_VALUES);  // Keep one of its two blocks.
  move.set_offset(kDataStart + 2 * 8192 + 4096);
  move.set_length(4096);
  move.set_file_size_before(f.bytes.size());
  ASSERT_TRUE(RecordShiftChecks(f.header, f.file.get(), &move).ok());
  ASSERT_EQ(move.shift_checks_size(), 2);
  EXPECT_EQ(move.shift_checks(0).offset(), kDataStart + 3 * 8192);  // Section 1's keys.
  std::string collapsed = f.bytes;
  collapsed.erase(move.offset(), move.length());
  f.env.SetContents("/f", collapsed);
  EXPECT_TRUE(CheckShift(move, MoveState::kApplied, collapsed.size(), f.file.get()).ok());
  // The front moved down, the size did not change yet (xfs_collapse_file_space stopped).
  std::string partial = f.bytes;
  const uint64_t tail = move.offset() + move.length();
  partial.replace(move.offset(), 4096, f.bytes.substr(tail, 4096));
  std::fill_n(partial.begin() + tail, 4096, '\0');
  f.env.SetContents("/f", partial);
  EXPECT_EQ(CheckShift(move, MoveState::kNotApplied, f.bytes.size(), f.file.get()).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace internal
}  // namespace storage
}  // namespace flatpyramid
