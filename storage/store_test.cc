// Behaviour of Writer and Reader on real filesystems: ext4 (INSERT_RANGE), tmpfs (refused,
// real fallback) and the fallback forced on ext4.
#include "storage/store.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/internal/format.h"
#include "storage/testing/fault_injection_env.h"
#include "testing/files.h"

namespace flatpyramid {
namespace storage {
namespace {

using ::flatpyramid::test::Filesystem;
using ::flatpyramid::test::TempDir;

std::string ValueFor(uint32_t section, uint64_t key, size_t size) {
  std::string value(size, '\0');
  uint64_t state = key * 0x9E3779B97F4A7C15ull + section + 1;
  for (size_t i = 0; i < size; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    value[i] = static_cast<char>(state);
  }
  return value;
}

TEST(StoreTest, RoundTripsTwoSectionsWithSharedValueAndMetadata) {
  TempDir dir(Filesystem::kDisk);
  const std::string path = dir.Path("a.fpyr");
  {
    absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(path);
    ASSERT_TRUE(writer.ok()) << writer.status();
    absl::StatusOr<uint32_t> a = (*writer)->AddSection("a");
    absl::StatusOr<uint32_t> b = (*writer)->AddSection("b");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, 0u);
    EXPECT_EQ(*b, 1u);
    absl::StatusOr<ValueRef> first = (*writer)->Append(*a, 5, "hello");
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(first->offset, 0u);
    EXPECT_EQ(first->length, 5u);
    ASSERT_TRUE((*writer)->Append(*b, 1, "").ok());
    ASSERT_TRUE((*writer)->Append(*a, 9, "world!").ok());
    ASSERT_TRUE((*writer)->AppendShared(*a, 12, *first).ok());
    EXPECT_EQ((*writer)->LastKey(*a), 12u);
    EXPECT_EQ((*writer)->LastKey(*b), 1u);
    (*writer)->SetUserMetadata("test.Meta", "meta-bytes");
    ASSERT_TRUE((*writer)->Seal().ok());
  }
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const Reader& r = **reader;
  EXPECT_TRUE(r.sealed());
  EXPECT_TRUE(r.Verify().ok()) << r.Verify();
  ASSERT_EQ(r.section_count(), 2u);
  EXPECT_EQ(r.section_name(0), "a");
  EXPECT_EQ(r.FindSection("b"), 1u);
  EXPECT_EQ(r.FindSection("c"), std::nullopt);
  EXPECT_EQ(r.entry_count(0), 3u);
  EXPECT_EQ(r.Get(0, 5), "hello");
  EXPECT_EQ(r.Get(0, 9), "world!");
  EXPECT_EQ(r.Get(0, 12), "hello");
  EXPECT_EQ(r.ValueRefAt(0, 2).offset, r.ValueRefAt(0, 0).offset);
  EXPECT_EQ(r.Get(0, 6), std::nullopt);
  EXPECT_EQ(r.Get(1, 1), "");
  EXPECT_EQ(r.LowerBound(0, 0), 0u);
  EXPECT_EQ(r.LowerBound(0, 6), 1u);
  EXPECT_EQ(r.LowerBound(0, 13), 3u);
  EXPECT_EQ(r.user_metadata_type(), "test.Meta");
  EXPECT_EQ(r.user_metadata(), "meta-bytes");
}

uint64_t RoundUp(uint64_t n) { return (n + 4095) / 4096 * 4096; }

TEST(StoreTest, OutOfOrderAndDuplicateKeysAreRefusedAndNothingIsWritten) {
  TempDir dir(Filesystem::kDisk);
  const std::string path = dir.Path("order.fpyr");
  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const uint32_t s = *(*writer)->AddSection("s");
  ASSERT_TRUE((*writer)->Append(s, 10, "ten").ok());
  absl::StatusOr<ValueRef> duplicate = (*writer)->Append(s, 10, "again");
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(duplicate.status().message().find("repeats the last key"), std::string::npos)
      << duplicate.status();
  absl::StatusOr<ValueRef> smaller = (*writer)->Append(s, 3, "three");
  EXPECT_EQ(smaller.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(smaller.status().message().find("strictly increasing"), std::string::npos);
  EXPECT_EQ((*writer)->AppendShared(s, 11, ValueRef{2, 5}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*writer)->Append(7, 1, "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*writer)->AddSection("s").status().code(), absl::StatusCode::kAlreadyExists);
  // The writer is still usable and the refused calls left no trace.
  absl::StatusOr<ValueRef> next = (*writer)->Append(s, 11, "eleven");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->offset, 3u);
  ASSERT_TRUE((*writer)->Seal().ok());
  EXPECT_EQ((*writer)->Append(s, 12, "x").status().code(), absl::StatusCode::kFailedPrecondition);
  writer->reset();
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->entry_count(0), 2u);
  EXPECT_EQ((*reader)->Get(0, 10), "ten");
  EXPECT_EQ((*reader)->Get(0, 11), "eleven");
}

TEST(StoreTest, LocksRefuseASecondWriterAndReadersUnlessAllowedToSeeTheLastCommit) {
  TempDir dir(Filesystem::kDisk);
  const std::string path = dir.Path("locked.fpyr");
  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const uint32_t s = *(*writer)->AddSection("s");
  ASSERT_TRUE((*writer)->Append(s, 1, "committed").ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  ASSERT_TRUE((*writer)->Append(s, 2, "not yet").ok());

  EXPECT_EQ(Writer::OpenForAppend(path).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Writer::Create(path).status().code(), absl::StatusCode::kAlreadyExists);
  WriterOptions overwrite;
  overwrite.overwrite = true;
  const absl::Status second_writer = Writer::Create(path, overwrite).status();
  EXPECT_EQ(second_writer.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second_writer.message(),
            path +
                ": being written by another writer (it holds the exclusive lock); one writer "
                "per file");
  absl::StatusOr<std::unique_ptr<Reader>> refused = Reader::Open(path);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("being written by another process"), std::string::npos);
  ReaderOptions allow;
  allow.allow_being_written = true;
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path, allow);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_FALSE((*reader)->sealed());
  ASSERT_EQ((*reader)->entry_count(0), 1u);
  EXPECT_EQ((*reader)->Get(0, 1), "committed");
  EXPECT_EQ((*reader)->Get(0, 2), std::nullopt);
  reader->reset();
  writer->reset();  // Not committed: entry 2 is lost.

  writer = Writer::OpenForAppend(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  EXPECT_EQ((*writer)->LastKey(0), 1u);
  EXPECT_EQ((*writer)->entry_count(0), 1u);
  ASSERT_TRUE((*writer)->Append(0, 2, "resumed").ok());
  ASSERT_TRUE((*writer)->Seal().ok());
  writer->reset();
  EXPECT_EQ(Writer::OpenForAppend(path).status().code(), absl::StatusCode::kFailedPrecondition);
  reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->Get(0, 2), "resumed");
  // A sealed file being read cannot be overwritten under the reader's map, and the error says
  // that a reader, not a writer, holds it.
  const absl::Status under_reader = Writer::Create(path, overwrite).status();
  EXPECT_EQ(under_reader.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(under_reader.message(), path +
                                        ": in use by a reader (it holds a shared lock); close the "
                                        "programs reading it, then retry");
  reader->reset();
  writer = Writer::Create(path, overwrite);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Seal().ok());
  writer->reset();
  reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->section_count(), 0u);
}

// PeakSpaceEnv is the POSIX Env, noting the most disk space (st_blocks) any of its files used
// after each change.
class PeakSpaceEnv : public Env {
 public:
  class PeakFile : public File {
   public:
    PeakFile(std::unique_ptr<File> file, uint64_t* peak) : file_(std::move(file)), peak_(peak) {}
    const std::string& path() const override { return file_->path(); }
    absl::Status Read(uint64_t offset, size_t length, char* out) override {
      return file_->Read(offset, length, out);
    }
    absl::Status Write(uint64_t offset, absl::string_view data) override {
      return Noted(file_->Write(offset, data));
    }
    absl::Status SyncData() override { return file_->SyncData(); }
    absl::StatusOr<uint64_t> Size() override { return file_->Size(); }
    absl::Status Truncate(uint64_t size) override { return Noted(file_->Truncate(size)); }
    absl::Status InsertRange(uint64_t offset, uint64_t length) override {
      return Noted(file_->InsertRange(offset, length));
    }
    absl::Status CollapseRange(uint64_t offset, uint64_t length) override {
      return Noted(file_->CollapseRange(offset, length));
    }
    absl::Status PunchHole(uint64_t offset, uint64_t length) override {
      return Noted(file_->PunchHole(offset, length));
    }
    absl::StatusOr<uint64_t> NextData(uint64_t offset) override { return file_->NextData(offset); }
    absl::Status TryLock(LockMode mode) override { return file_->TryLock(mode); }
    absl::StatusOr<std::unique_ptr<MappedRegion>> Map(uint64_t length) override {
      return file_->Map(length);
    }
    absl::StatusOr<uint64_t> AllocatedBytes() override { return file_->AllocatedBytes(); }

   private:
    absl::Status Noted(absl::Status status) {
      absl::StatusOr<uint64_t> used = file_->AllocatedBytes();
      if (used.ok()) *peak_ = std::max(*peak_, *used);
      return status;
    }
    std::unique_ptr<File> file_;
    uint64_t* peak_;
  };

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    absl::StatusOr<std::unique_ptr<File>> file = Env::Default()->Open(path, mode);
    if (!file.ok()) return file.status();
    return std::unique_ptr<File>(new PeakFile(*std::move(file), &peak));
  }
  absl::StatusOr<FileInfo> Stat(const std::string& path) override {
    return Env::Default()->Stat(path);
  }
  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    return Env::Default()->RenameFile(from, to);
  }
  absl::Status RemoveFile(const std::string& path) override {
    return Env::Default()->RemoveFile(path);
  }
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    return Env::Default()->GetChildren(dir);
  }
  absl::Status SyncDirectory(const std::string& dir) override {
    return Env::Default()->SyncDirectory(dir);
  }

  uint64_t peak = 0;
};

// On tmpfs (no COLLAPSE_RANGE) Seal moves the tail of the file down to trim each array; the
// moved bytes' old copies are freed chunk by chunk, so that sealing needs at most one move
// chunk of disk space beyond the sealed file (storage/FORMAT.md, "Fallback").
TEST(StoreTest, SealOnTmpfsNeedsAtMostOneMoveChunkBeyondTheSealedFile) {
  TempDir dir(Filesystem::kTmpfs);
  const std::string path = dir.Path("sealed.fpyr");
  PeakSpaceEnv env;
  WriterOptions options;
  options.env = &env;
  options.initial_value_capacity = 64 << 20;
  options.move_chunk_size = 1 << 20;
  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(path, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  // Section a: 4 MiB of values in 64 MiB of room; section b after it: 12 MiB. Trimming a's
  // room moves all of b down by 60 MiB.
  ASSERT_TRUE((*writer)->AddSection("a").ok());
  ASSERT_TRUE((*writer)->AddSection("b").ok());
  for (uint64_t key = 0; key < 64; ++key) {
    ASSERT_TRUE((*writer)->Append(0, key, ValueFor(0, key, 64 << 10)).ok());
  }
  for (uint64_t key = 0; key < 192; ++key) {
    ASSERT_TRUE((*writer)->Append(1, key, ValueFor(1, key, 64 << 10)).ok());
  }
  ASSERT_TRUE((*writer)->Commit().ok());
  env.peak = 0;
  ASSERT_TRUE((*writer)->Seal().ok());
  EXPECT_FALSE((*writer)->uses_insert_range());
  EXPECT_GE((*writer)->stats().tail_moves, 1u);
  writer->reset();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  const uint64_t sealed = static_cast<uint64_t>(st.st_blocks) * 512;
  EXPECT_GT(sealed, 16u << 20);
  EXPECT_LE(env.peak, sealed + options.move_chunk_size + (64 << 10))
      << "peak " << env.peak << " bytes, sealed file " << sealed;
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE((*reader)->Verify().ok()) << (*reader)->Verify();
  EXPECT_EQ((*reader)->Get(1, 191), ValueFor(1, 191, 64 << 10));
}

TEST(StoreTest, ReservedRoomIsHolesAndSealedArraysKeepLessThanOneBlockOfSlack) {
  TempDir dir(Filesystem::kDisk);
  const std::string path = dir.Path("holes.fpyr");
  WriterOptions options;
  options.initial_value_capacity = 256 << 20;  // 256 MiB reserved per section.
  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(path, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (int s = 0; s < 4; ++s) ASSERT_TRUE((*writer)->AddSection(absl::StrCat("s", s)).ok());
  const std::string value(10000, 'v');
  for (uint32_t s = 0; s < 4; ++s) ASSERT_TRUE((*writer)->Append(s, 1, value).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_GT(static_cast<uint64_t>(st.st_size), 1024ull << 20);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 1ull << 20);  // Under 1 MiB in use.
  ASSERT_TRUE((*writer)->Seal().ok());
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  // Header region + per section: one key block, one location block, 3 value blocks.
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), (32 << 10) + 4 * (4096 + 4096 + 3 * 4096));
  // All 12 arrays are trimmed; the last one by truncation, the other 11 by COLLAPSE_RANGE.
  EXPECT_EQ((*writer)->stats().collapse_range_calls, 11u);
}

TEST(StoreTest, LowerBoundAndGetMatchStdLowerBoundOnABigSectionFromManyThreads) {
  TempDir dir(Filesystem::kDisk);
  const std::string path = dir.Path("big.fpyr");
  std::vector<uint64_t> keys;
  std::mt19937_64 random(5);
  uint64_t key = random() % 10;
  for (int i = 0; i < 50000; ++i) {  // Above the size where the fence index is used.
    keys.push_back(key);
    key += 1 + random() % 20;
  }
  {
    absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(path);
    ASSERT_TRUE(writer.ok()) << writer.status();
    const uint32_t s = *(*writer)->AddSection("big");
    for (uint64_t k : keys) ASSERT_TRUE((*writer)->Append(s, k, absl::StrCat(k)).ok());
    ASSERT_TRUE((*writer)->Seal().ok());
  }
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const Reader& r = **reader;
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < keys.size(); i += 4) {
        for (uint64_t probe : {keys[i] - 1, keys[i], keys[i] + 1}) {
          const uint64_t expected = static_cast<uint64_t>(
              std::lower_bound(keys.begin(), keys.end(), probe) - keys.begin());
          if (r.LowerBound(0, probe) != expected) ++mismatches;
        }
        if (r.Get(0, keys[i]) != absl::StrCat(keys[i])) ++mismatches;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(r.LowerBound(0, keys.back() + 1), keys.size());
  EXPECT_EQ(r.LowerBound(0, 0), 0u);
}

// A writer in a FaultInjectionEnv with two committed sections of 10 entries each.
struct LiveWriter {
  storage::test::FaultInjectionEnv env;
  std::unique_ptr<Writer> writer;
  uint64_t next_key = 1;

  LiveWriter() {
    WriterOptions options;
    options.env = &env;
    options.initial_key_capacity = 4096;
    options.initial_location_capacity = 4096;
    options.initial_value_capacity = 4096;
    writer = *Writer::Create("/live.fpyr", options);
    EXPECT_TRUE(writer->AddSection("a").ok());
    EXPECT_TRUE(writer->AddSection("b").ok());
    AppendAndCommit(10, 100);
  }
  // Appends `count` values of `size` bytes to both sections, then commits.
  void AppendAndCommit(int count, size_t size) {
    for (int i = 0; i < count; ++i, ++next_key) {
      for (uint32_t s = 0; s < 2; ++s) {
        EXPECT_TRUE(writer->Append(s, next_key, ValueFor(s, next_key, size)).ok());
      }
    }
    EXPECT_TRUE(writer->Commit().ok());
  }
  absl::StatusOr<std::unique_ptr<Reader>> OpenReader() {
    ReaderOptions options;
    options.env = &env;
    options.allow_being_written = true;
    return Reader::Open("/live.fpyr", options);
  }
};

TEST(BeingWrittenTest, AGrowthAndCommitDuringOpenAreSeenAndTheOpenRetried) {
  LiveWriter live;
  int hooks = 0;
  // The writer grows section a's values (INSERT_RANGE: section b follows) and commits between
  // the reader's first size check and its header read.
  live.env.SetReadHook([&] {
    if (hooks++ == 0) live.AppendAndCommit(20, 3000);
  });
  absl::StatusOr<std::unique_ptr<Reader>> reader = live.OpenReader();
  ASSERT_TRUE(reader.ok()) << reader.status();
  // Two loads, each reading both slots twice (before the map and after): the first was retried.
  EXPECT_EQ(hooks, 2 * 2 * 2);
  EXPECT_GT(live.writer->stats().insert_range_calls, 0u);
  ASSERT_EQ((*reader)->entry_count(0), 30u);
  for (uint64_t i = 0; i < 30; ++i) {
    const uint64_t key = i + 1;
    ASSERT_EQ((*reader)->KeyAt(0, i), key);
    ASSERT_EQ((*reader)->ValueAt(0, i), ValueFor(0, key, i < 10 ? 100 : 3000));
    ASSERT_EQ((*reader)->Get(1, key), ValueFor(1, key, i < 10 ? 100 : 3000));
  }
}

TEST(BeingWrittenTest, AWriterThatKeepsCommittingMakesOpenGiveUpWithUnavailable) {
  LiveWriter live;
  live.env.SetReadHook([&] { live.AppendAndCommit(1, 10); });
  absl::StatusOr<std::unique_ptr<Reader>> reader = live.OpenReader();
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kUnavailable) << reader.status();
  EXPECT_NE(reader.status().message().find("kept changing"), std::string::npos) << reader.status();
}

TEST(BeingWrittenTest, AMoveInProgressIsRefusedUntilTheWriterIsGone) {
  LiveWriter live;
  // Growing section a's values: header write (operation 0), its sync (1), INSERT_RANGE (2),
  // which fails: the header recording the move stays the newest, the writer keeps its lock.
  live.env.FailOperation(2, absl::DataLossError("EIO (simulated)"));
  EXPECT_EQ(live.writer->Append(0, 1000, std::string(5000, 'x')).status().code(),
            absl::StatusCode::kDataLoss);
  absl::StatusOr<std::unique_ptr<Reader>> reader = live.OpenReader();
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kUnavailable) << reader.status();
  EXPECT_NE(reader.status().message().find("moving data"), std::string::npos) << reader.status();
  live.writer.reset();  // The lock is free: the move is resolved (it never happened).
  reader = live.OpenReader();
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->entry_count(0), 10u);
  EXPECT_EQ((*reader)->Get(0, 10), ValueFor(0, 10, 100));
}

struct PropertyCase {
  Filesystem filesystem;
  bool force_fallback;
  const char* name;
};

class PropertyTest : public ::testing::TestWithParam<std::tuple<PropertyCase, int>> {};

// Random keys and value sizes (0 B to 4 MiB) appended to 8 sections in interleaved order,
// with small initial capacities so every array grows many times, checked against std::map.
// Section 0 starts at key 0; every section ends with a key near UINT64_MAX (section 0 with
// UINT64_MAX itself).
TEST_P(PropertyTest, MatchesStdMapAfterInterleavedGrowthOfEightSections) {
  const PropertyCase& param = std::get<0>(GetParam());
  const int seed = std::get<1>(GetParam());
  TempDir dir(param.filesystem);
  const std::string path = dir.Path("p.fpyr");
  WriterOptions options;
  options.force_fallback = param.force_fallback;
  options.initial_key_capacity = 4096;
  options.initial_location_capacity = 4096;
  options.initial_value_capacity = 4096;
  constexpr int kSections = 8;
  std::vector<std::map<uint64_t, std::string>> expected(kSections);
  std::mt19937_64 random(seed);
  WriterStats stats;
  std::vector<uint64_t> blob_bytes(kSections, 0);
  size_t largest = 0;
  {
    absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(path, options);
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (int s = 0; s < kSections; ++s) {
      ASSERT_TRUE((*writer)->AddSection(absl::StrCat("section", s)).ok());
    }
    std::vector<std::optional<uint64_t>> last_key(kSections);
    std::vector<std::vector<std::pair<uint64_t, ValueRef>>> refs(kSections);
    for (int i = 0; i < 1600; ++i) {
      const uint32_t s = static_cast<uint32_t>(random() % kSections);
      const uint64_t key = last_key[s].has_value() ? *last_key[s] + 1 + random() % 1000
                           : s == 0                ? 0
                                                   : random() % 1000;
      last_key[s] = key;
      if (!refs[s].empty() && random() % 8 == 0) {
        const auto& [old_key, ref] = refs[s][random() % refs[s].size()];
        ASSERT_TRUE((*writer)->AppendShared(s, key, ref).ok());
        expected[s][key] = expected[s][old_key];
        continue;
      }
      const uint64_t bucket = random() % 100;
      const size_t size = bucket < 5    ? 0
                          : bucket < 97 ? random() % 20000
                          : bucket < 99 ? random() % (1 << 20)
                                        : random() % (4 << 20);
      std::string value = ValueFor(s, key, size);
      absl::StatusOr<ValueRef> ref = (*writer)->Append(s, key, value);
      ASSERT_TRUE(ref.ok()) << ref.status();
      refs[s].push_back({key, *ref});
      expected[s][key] = std::move(value);
      blob_bytes[s] += size;
      largest = std::max(largest, size);
      if (random() % 500 == 0) {
        ASSERT_TRUE((*writer)->Commit().ok());
      }
    }
    for (uint32_t s = 0; s < kSections; ++s) {
      const uint64_t key = ~uint64_t{0} - s;
      std::string value = ValueFor(s, key, 100 + s);
      ASSERT_TRUE((*writer)->Append(s, key, value).ok());
      blob_bytes[s] += value.size();
      expected[s][key] = std::move(value);
    }
    ASSERT_TRUE((*writer)->Seal().ok());
    stats = (*writer)->stats();
    EXPECT_GT(largest, 2u << 20);  // Values of megabytes were among them.
    EXPECT_EQ((*writer)->uses_insert_range(),
              param.filesystem == Filesystem::kDisk && !param.force_fallback);
  }
  if (param.filesystem == Filesystem::kDisk && !param.force_fallback) {
    EXPECT_GT(stats.insert_range_calls, 0u);
    EXPECT_EQ(stats.tail_moves, 0u);
  } else {
    EXPECT_EQ(stats.insert_range_calls, 0u);
    EXPECT_GT(stats.tail_moves, 0u);
  }
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE((*reader)->Verify().ok()) << (*reader)->Verify();
  ASSERT_EQ((*reader)->section_count(), static_cast<uint32_t>(kSections));
  uint64_t sealed_size = internal::kDataStart;
  for (uint32_t s = 0; s < kSections; ++s) {
    ASSERT_EQ((*reader)->entry_count(s), expected[s].size());
    uint64_t index = 0;
    for (const auto& [key, value] : expected[s]) {
      ASSERT_EQ((*reader)->KeyAt(s, index), key);
      ASSERT_EQ((*reader)->ValueAt(s, index), value) << "section " << s << " key " << key;
      ASSERT_EQ((*reader)->Get(s, key), value);
      if (expected[s].count(key + 1) == 0) {
        ASSERT_EQ((*reader)->Get(s, key + 1), std::nullopt);
      }
      ASSERT_EQ((*reader)->LowerBound(s, key), index);
      ++index;
    }
    const uint64_t n = (*reader)->entry_count(s);
    sealed_size += RoundUp(8 * n) + RoundUp(16 * n) + RoundUp(blob_bytes[s]);
  }
  // Sealed: every array trimmed to whole 4 KiB blocks, right after the 32 KiB header region.
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), sealed_size);
}

INSTANTIATE_TEST_SUITE_P(
    Filesystems, PropertyTest,
    ::testing::Combine(::testing::Values(PropertyCase{Filesystem::kDisk, false, "Ext4InsertRange"},
                                         PropertyCase{Filesystem::kTmpfs, false, "TmpfsFallback"},
                                         PropertyCase{Filesystem::kDisk, true,
                                                      "Ext4ForcedFallback"}),
                       ::testing::Values(1, 2, 3)),
    [](const ::testing::TestParamInfo<std::tuple<PropertyCase, int>>& info) {
      return absl::StrCat(std::get<0>(info.param).name, "Seed", std::get<1>(info.param));
    });

}  // namespace
}  // namespace storage
}  // namespace flatpyramid
