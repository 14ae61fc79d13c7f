// Writer::OpenForUpdate + ReplaceEntries on real filesystems: ext4 (INSERT_RANGE and
// COLLAPSE_RANGE) and tmpfs (refused: the tail copies). A sealed store's section gets a new
// index in place; the file keeps its inode, the old index's room is removed, and only what
// changed is written.
#include <sys/stat.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/internal/format.h"
#include "storage/store.h"
#include "testing/files.h"

namespace flatpyramid {
namespace storage {
namespace {

using ::flatpyramid::test::Filesystem;
using ::flatpyramid::test::TempDir;

constexpr const char* kNames[] = {"a", "b", "c"};
constexpr uint64_t kEntries = 3000;  // 24 KiB of keys, 48 KiB of locations per section.

std::string Value(uint64_t key, int version) {
  return std::string(60 + key % 80, static_cast<char>('a' + (key * 7 + version) % 26));
}

using Content = std::map<uint64_t, std::string>;

// WriteSealed writes three sections of kEntries keys 0, 3, 6, ... (a few values shared).
std::vector<Content> WriteSealed(const std::string& path) {
  std::vector<Content> model(3);
  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(path);
  EXPECT_TRUE(writer.ok()) << writer.status();
  for (uint32_t s = 0; s < 3; ++s) {
    EXPECT_TRUE((*writer)->AddSection(kNames[s]).ok());
    ValueRef shared;
    for (uint64_t i = 0; i < kEntries; ++i) {
      const uint64_t key = 3 * i;
      if (i % 10 == 9) {
        EXPECT_TRUE((*writer)->AppendShared(s, key, shared).ok());
        model[s][key] = model[s][3 * (i - 1)];
        continue;
      }
      absl::StatusOr<ValueRef> ref = (*writer)->Append(s, key, Value(key, s));
      EXPECT_TRUE(ref.ok());
      shared = *ref;
      model[s][key] = Value(key, s);
    }
  }
  (*writer)->SetUserMetadata("test.Meta", "old");
  EXPECT_TRUE((*writer)->Seal().ok());
  return model;
}

// ExpectContent checks every section of the file, its checksums and its metadata.
void ExpectContent(const std::string& path, const std::vector<Content>& model,
                   absl::string_view metadata) {
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE((*reader)->sealed());
  ASSERT_TRUE((*reader)->Verify().ok()) << (*reader)->Verify();
  EXPECT_EQ((*reader)->user_metadata(), metadata);
  ASSERT_EQ((*reader)->section_count(), model.size());
  for (uint32_t s = 0; s < model.size(); ++s) {
    ASSERT_EQ((*reader)->entry_count(s), model[s].size()) << kNames[s];
    uint64_t i = 0;
    for (const auto& [key, value] : model[s]) {
      ASSERT_EQ((*reader)->KeyAt(s, i), key);
      ASSERT_EQ((*reader)->ValueAt(s, i), value) << kNames[s] << " key " << key;
      ++i;
    }
  }
}

uint64_t Inode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  return st.st_ino;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  return static_cast<uint64_t>(st.st_size);
}

// Replacement is what ReplaceSection did to a section.
struct Replacement {
  uint64_t new_value_bytes = 0;
  uint64_t entries = 0;
};

// ReplaceSection gives section `s` a new index: keys 3i + 1 (new) for i % 4 == 0, the old
// entries kept for i % 4 == 1 or 2 (their bytes shared), none for i % 4 == 3 (removed), and
// `extra` new keys past the old ones.
Replacement ReplaceSection(Writer* writer, uint32_t s, uint64_t extra, Content* model) {
  Replacement replacement;
  absl::StatusOr<std::vector<Entry>> old = writer->ReadCommittedEntries(s);
  EXPECT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(writer->ReplaceEntries(s).ok());
  Content next;
  for (uint64_t i = 0; i < old->size(); ++i) {
    const Entry& entry = (*old)[i];
    if (i % 4 == 0) {
      const uint64_t key = entry.key + 1;
      EXPECT_TRUE(writer->Append(s, key, Value(key, 9)).ok());
      next[key] = Value(key, 9);
      replacement.new_value_bytes += next[key].size();
    } else if (i % 4 != 3) {
      EXPECT_TRUE(writer->AppendShared(s, entry.key, entry.value).ok());
      next[entry.key] = (*model)[entry.key];
    }
  }
  for (uint64_t i = 0; i < extra; ++i) {
    const uint64_t key = 100000 + i;
    EXPECT_TRUE(writer->Append(s, key, Value(key, 5)).ok());
    next[key] = Value(key, 5);
    replacement.new_value_bytes += next[key].size();
  }
  replacement.entries = next.size();
  *model = std::move(next);
  return replacement;
}

// SealedSize is the size of a sealed file holding `model` after updates that appended
// `appended[s]` value bytes to section s: no room anywhere, every array ends in its last used
// block, no gaps; the value blobs keep every old byte, dead or not.
uint64_t SealedSize(const std::vector<Content>& model, const std::vector<uint64_t>& appended) {
  uint64_t old_values = 0;
  for (uint64_t i = 0; i < kEntries; ++i) {
    if (i % 10 != 9) old_values += Value(3 * i, 0).size();
  }
  uint64_t size = internal::kDataStart;
  for (size_t s = 0; s < model.size(); ++s) {
    size += internal::RoundUpToBlock(model[s].size() * 8) +
            internal::RoundUpToBlock(model[s].size() * 16) +
            internal::RoundUpToBlock(old_values + appended[s]);
  }
  return size;
}

class UpdateTest : public ::testing::TestWithParam<Filesystem> {};

TEST_P(UpdateTest, ReplacesTwoIndexesInPlaceWritingOnlyThemAndTheNewValues) {
  TempDir dir(GetParam());
  const std::string path = dir.Path("s.fpyr");
  std::vector<Content> model = WriteSealed(path);
  const uint64_t inode = Inode(path);
  const uint64_t size_before = FileSize(path);
  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::OpenForUpdate(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  // The middle section grows (its arrays move the last one), the first shrinks.
  const Replacement b = ReplaceSection(writer->get(), 1, 2000, &model[1]);
  const Replacement a = ReplaceSection(writer->get(), 0, 0, &model[0]);
  (*writer)->SetUserMetadata("test.Meta", "new");
  ASSERT_TRUE((*writer)->Seal().ok());
  const WriterStats stats = (*writer)->stats();
  writer->reset();

  ExpectContent(path, model, "new");
  EXPECT_EQ(Inode(path), inode);
  EXPECT_EQ(FileSize(path), SealedSize(model, {a.new_value_bytes, b.new_value_bytes, 0}));
  EXPECT_GT(FileSize(path), size_before);
  if (GetParam() == Filesystem::kDisk) {
    EXPECT_GT(stats.insert_range_calls, 0u);
    EXPECT_GT(stats.collapse_range_calls, 0u);
    EXPECT_EQ(stats.tail_moves, 0u);
    // The new values, both new indexes and the header slots; not the file.
    const uint64_t index = (a.entries + b.entries) * 24;
    EXPECT_GE(stats.bytes_written, a.new_value_bytes + b.new_value_bytes + index);
    EXPECT_LE(stats.bytes_written,
              a.new_value_bytes + b.new_value_bytes + index + stats.header_writes * 512);
    EXPECT_LT(stats.bytes_written, FileSize(path) / 2);
  } else {
    EXPECT_EQ(stats.insert_range_calls, 0u);
    EXPECT_EQ(stats.collapse_range_calls, 0u);
    EXPECT_GT(stats.tail_moves, 0u);
  }
}

TEST_P(UpdateTest, ACommitShowsTheNewIndexAtOnceAndSealLaterRemovesTheOldOnesRoom) {
  TempDir dir(GetParam());
  const std::string path = dir.Path("s.fpyr");
  std::vector<Content> model = WriteSealed(path);
  const uint64_t size_before = FileSize(path);
  Replacement replacement;
  {
    absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::OpenForUpdate(path);
    ASSERT_TRUE(writer.ok()) << writer.status();
    replacement = ReplaceSection(writer->get(), 2, 10, &model[2]);
    // Appended, not committed: the file still reads as it was.
    absl::StatusOr<std::vector<Entry>> committed = (*writer)->ReadCommittedEntries(2);
    ASSERT_TRUE(committed.ok());
    EXPECT_EQ(committed->size(), kEntries);
    ASSERT_TRUE((*writer)->Commit().ok());
    committed = (*writer)->ReadCommittedEntries(2);
    ASSERT_TRUE(committed.ok());
    EXPECT_EQ(committed->size(), model[2].size());
    EXPECT_EQ(committed->back().key, 100009u);
  }
  // Committed, not sealed again: the old index is a gap, which readers skip.
  ExpectContent(path, model, "old");
  EXPECT_GT(FileSize(path), size_before);
  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::OpenForUpdate(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Seal().ok());
  writer->reset();
  ExpectContent(path, model, "old");
  EXPECT_EQ(FileSize(path), SealedSize(model, {0, 0, replacement.new_value_bytes}));
}

INSTANTIATE_TEST_SUITE_P(Filesystems, UpdateTest,
                         ::testing::Values(Filesystem::kDisk, Filesystem::kTmpfs),
                         [](const ::testing::TestParamInfo<Filesystem>& info) {
                           return info.param == Filesystem::kDisk ? "Ext4" : "Tmpfs";
                         });

TEST(UpdateRulesTest, EntriesReplacedBeforeTheSealAreChecksummedAsTheyEndUp) {
  // A new writer's checksums follow its appends; replacing a section's entries must make
  // Seal checksum the bytes the section ends with, not everything ever appended.
  TempDir dir;
  const std::string path = dir.Path("replaced.fpyr");
  {
    std::unique_ptr<Writer> writer = Writer::Create(path).value();
    const uint32_t s = writer->AddSection("a").value();
    for (uint64_t key = 0; key < 5; ++key) ASSERT_TRUE(writer->Append(s, key, Value(key, 0)).ok());
    ASSERT_TRUE(writer->Commit().ok());
    ASSERT_TRUE(writer->ReplaceEntries(s).ok());
    for (uint64_t key = 10; key < 13; ++key) {
      ASSERT_TRUE(writer->Append(s, key, Value(key, 1)).ok());
    }
    ASSERT_TRUE(writer->Seal().ok());
  }
  std::unique_ptr<Reader> reader = Reader::Open(path).value();
  EXPECT_TRUE(reader->Verify().ok()) << reader->Verify();
  ASSERT_EQ(reader->entry_count(0), 3u);
  EXPECT_EQ(reader->KeyAt(0, 0), 10u);
  EXPECT_EQ(reader->ValueAt(0, 2), Value(12, 1));
}

TEST(UpdateRulesTest, OnlySealedFilesWithoutReadersAndOneReplacementPerCommit) {
  TempDir dir;
  const std::string path = dir.Path("s.fpyr");
  std::vector<Content> model = WriteSealed(path);
  {
    absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
    ASSERT_TRUE(reader.ok());
    const absl::Status refused = Writer::OpenForUpdate(path).status();
    EXPECT_TRUE(absl::IsUnavailable(refused)) << refused;
    EXPECT_NE(refused.message().find("in use by a reader"), std::string::npos) << refused;
  }
  const absl::Status append = Writer::OpenForAppend(path).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(append)) << append;
  EXPECT_NE(append.message().find("OpenForUpdate"), std::string::npos) << append;

  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::OpenForUpdate(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append(0, 1000000, "tail").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition((*writer)->ReplaceEntries(0)));  // Uncommitted append.
  ASSERT_TRUE((*writer)->ReplaceEntries(1).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition((*writer)->ReplaceEntries(1)));
  // Keys restart: any first key, then strictly increasing.
  ASSERT_TRUE((*writer)->Append(1, 0, "zero").ok());
  EXPECT_TRUE(absl::IsInvalidArgument((*writer)->Append(1, 0, "again").status()));
  absl::StatusOr<ValueRef> fresh = (*writer)->Append(1, 5, "fresh bytes");
  ASSERT_TRUE(fresh.ok());
  absl::StatusOr<std::string> read = (*writer)->ReadValue(1, *fresh);  // Still buffered.
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "fresh bytes");
  EXPECT_TRUE(absl::IsInvalidArgument(
      (*writer)->ReadValue(1, ValueRef{fresh->offset, fresh->length + 1}).status()));
  ASSERT_TRUE((*writer)->Seal().ok());
  writer->reset();
  model[0][1000000] = "tail";
  model[1] = {{0, "zero"}, {5, "fresh bytes"}};
  ExpectContent(path, model, "old");

  // An unsealed file is continued with OpenForAppend, not updated.
  const std::string open_path = dir.Path("open.fpyr");
  absl::StatusOr<std::unique_ptr<Writer>> open = Writer::Create(open_path);
  ASSERT_TRUE(open.ok());
  ASSERT_TRUE((*open)->AddSection("x").ok());
  ASSERT_TRUE((*open)->Commit().ok());
  open->reset();
  const absl::Status unsealed = Writer::OpenForUpdate(open_path).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(unsealed)) << unsealed;
}

}  // namespace
}  // namespace storage
}  // namespace flatpyramid
