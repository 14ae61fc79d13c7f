// The fixed parts of the format: CRC32C values, slot encoding, and the recovery table of
// FORMAT.md section 6 (JudgeMove) and how a move shifts the layout (ApplyMove).
#include "storage/internal/format.h"

#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/header.pb.h"
#include "storage/internal/crc32c.h"

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

}  // namespace
}  // namespace internal
}  // namespace storage
}  // namespace flatpyramid
