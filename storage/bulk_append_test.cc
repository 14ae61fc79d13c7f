// Writer::AppendValuesFrom: a run of another store's value bytes copied in one call, entries
// added with AppendShared at rebased locations; range checks; and crash safety: a crash at
// every operation of a workload of bulk copies opens as the last commit or the state of the
// call in flight, never wrong bytes; ENOSPC inside a copy stops the writer at its last commit.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/store.h"
#include "storage/testing/fault_injection_env.h"
#include "testing/files.h"

namespace flatpyramid {
namespace storage {
namespace {

using ::flatpyramid::test::TempDir;
using test::FaultInjectionEnv;

using Entries = std::vector<std::pair<uint64_t, std::string>>;

std::string Value(uint64_t key, size_t size) {
  std::string value(size, '\0');
  for (size_t i = 0; i < size; ++i) value[i] = static_cast<char>(key * 29 + i * 5 + 3);
  return value;
}

// Writes a sealed source store: section "tiles" with keys 100, 101, ... and values of
// `sizes`; entry 3 shares entry 1's bytes.
void WriteSource(const std::string& path, Env* env, const std::vector<size_t>& sizes) {
  WriterOptions options;
  options.env = env;
  options.initial_value_capacity = 4096;
  std::unique_ptr<Writer> writer = Writer::Create(path, options).value();
  const uint32_t section = writer->AddSection("tiles").value();
  ValueRef second;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i == 3) {
      ASSERT_TRUE(writer->AppendShared(section, 100 + i, second).ok());
      continue;
    }
    absl::StatusOr<ValueRef> ref = writer->Append(section, 100 + i, Value(100 + i, sizes[i]));
    ASSERT_TRUE(ref.ok()) << ref.status();
    if (i == 1) second = *ref;
  }
  ASSERT_TRUE(writer->Seal().ok());
}

Entries ReadSection(const Reader& reader, uint32_t section) {
  Entries entries;
  for (uint64_t i = 0; i < reader.entry_count(section); ++i) {
    entries.push_back({reader.KeyAt(section, i), std::string(reader.ValueAt(section, i))});
  }
  return entries;
}

// CopyAll appends every entry of `source`'s section 0 to `section` of `writer` with one bulk
// copy of its whole blob and rebased AppendShared entries, keys offset by `key_offset`.
absl::Status CopyAll(const Reader& source, Writer* writer, uint32_t section, uint64_t key_offset) {
  const uint64_t count = source.entry_count(0);
  uint64_t blob = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const ValueRef ref = source.ValueRefAt(0, i);
    blob = std::max(blob, ref.offset + ref.length);
  }
  absl::StatusOr<ValueRef> copied = writer->AppendValuesFrom(section, source, 0, {0, blob});
  if (!copied.ok()) return copied.status();
  for (uint64_t i = 0; i < count; ++i) {
    const ValueRef ref = source.ValueRefAt(0, i);
    absl::Status status = writer->AppendShared(section, source.KeyAt(0, i) + key_offset,
                                               {copied->offset + ref.offset, ref.length});
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

TEST(AppendValuesFromTest, CopiesARunThatRebasedAppendSharedEntriesPointInto) {
  TempDir dir;
  WriteSource(dir.Path("source"), Env::Default(), {10, 5000, 0, 0, 70000, 3});
  std::unique_ptr<Reader> source = Reader::Open(dir.Path("source")).value();
  std::unique_ptr<Writer> writer = Writer::Create(dir.Path("out")).value();
  const uint32_t section = writer->AddSection("level").value();
  ASSERT_TRUE(writer->Append(section, 7, "head").ok());
  // Entries 1..5 of the source: [10, 10 + 5000 + 70000 + 3), entry 3 shares entry 1's bytes.
  absl::StatusOr<ValueRef> copied = writer->AppendValuesFrom(section, *source, 0, {10, 75003});
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(copied->offset, 4u);
  EXPECT_EQ(copied->length, 75003u);
  EXPECT_EQ(writer->values_length(section), 75007u);
  EXPECT_EQ(writer->entry_count(section), 1u);  // No entry added by the copy.
  for (uint64_t i = 1; i < 6; ++i) {
    const ValueRef ref = source->ValueRefAt(0, i);
    ASSERT_TRUE(writer->AppendShared(section, 100 + i, {ref.offset - 10 + 4, ref.length}).ok());
  }
  ASSERT_TRUE(writer->Append(section, 200, "tail").ok());
  ASSERT_TRUE(writer->Seal().ok());
  writer.reset();
  std::unique_ptr<Reader> out = Reader::Open(dir.Path("out")).value();
  ASSERT_TRUE(out->Verify().ok()) << out->Verify();
  const Entries want = {{7, "head"},
                        {101, Value(101, 5000)},
                        {102, ""},
                        {103, Value(101, 5000)},
                        {104, Value(104, 70000)},
                        {105, Value(105, 3)},
                        {200, "tail"}};
  EXPECT_EQ(ReadSection(*out, 0), want);
}

TEST(AppendValuesFromTest, ARangeOutsideTheSourceBlobOrSectionIsRefusedAndWritesNothing) {
  TempDir dir;
  WriteSource(dir.Path("source"), Env::Default(), {10, 20});
  std::unique_ptr<Reader> source = Reader::Open(dir.Path("source")).value();
  std::unique_ptr<Writer> writer = Writer::Create(dir.Path("out")).value();
  const uint32_t section = writer->AddSection("level").value();
  const absl::Status past_end = writer->AppendValuesFrom(section, *source, 0, {25, 6}).status();
  EXPECT_EQ(past_end.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(past_end.message(), dir.Path("source") +
                                    ": section 'tiles': value bytes [25, +6) are not inside its "
                                    "30-byte value blob");
  const absl::Status no_section = writer->AppendValuesFrom(section, *source, 1, {0, 1}).status();
  EXPECT_EQ(no_section.message(), dir.Path("source") + ": no section 1 (1 sections)");
  EXPECT_EQ(writer->values_length(section), 0u);
  // The writer is still usable: a refused range is a caller's mistake, not an I/O failure.
  absl::StatusOr<ValueRef> whole = writer->AppendValuesFrom(section, *source, 0, {0, 30});
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->length, 30u);
  EXPECT_TRUE(writer->AppendShared(section, 1, {10, 20}).ok());
  EXPECT_EQ(writer->AppendShared(section, 2, {10, 21}).code(), absl::StatusCode::kInvalidArgument);
}

// The crash workload: two sealed sources; the output takes an appended value, source a (bulk),
// a commit, source b (bulk, growing the values array several times), then a seal.
struct Progress {
  Entries committed;
  std::vector<Entries> in_flight;
  absl::Status first_error;
};

constexpr char kOut[] = "/bulk/out.fpyr";

WriterOptions SmallOptions(Env* env) {
  WriterOptions options;
  options.env = env;
  options.initial_key_capacity = 4096;
  options.initial_location_capacity = 4096;
  options.initial_value_capacity = 4096;
  options.move_chunk_size = 16 << 10;
  return options;
}

Entries Shifted(const Entries& source, uint64_t key_offset) {
  Entries out;
  for (const auto& [key, value] : source) out.push_back({key + key_offset, value});
  return out;
}

void RunWorkload(FaultInjectionEnv* env, const Entries& a, const Entries& b, Progress* progress) {
  ReaderOptions reader_options;
  reader_options.env = env;
  std::unique_ptr<Reader> source_a = Reader::Open("/bulk/a", reader_options).value();
  std::unique_ptr<Reader> source_b = Reader::Open("/bulk/b", reader_options).value();
  const auto fail = [&](const absl::Status& status) {
    progress->first_error = status;
    return !status.ok();
  };
  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(kOut, SmallOptions(env));
  if (fail(writer.status())) return;
  progress->in_flight = {{}};
  absl::StatusOr<uint32_t> section = (*writer)->AddSection("level");
  if (fail(section.status())) return;
  Entries current = {{1, "first"}};
  if (fail((*writer)->Append(*section, 1, "first").status())) return;
  if (fail(CopyAll(*source_a, writer->get(), *section, 0))) return;
  for (const auto& entry : a) current.push_back(entry);
  progress->in_flight = {current};
  if (fail((*writer)->Commit())) return;
  progress->committed = current;
  if (fail(CopyAll(*source_b, writer->get(), *section, 1000))) return;
  for (const auto& entry : Shifted(b, 1000)) current.push_back(entry);
  progress->in_flight = {current};
  if (fail((*writer)->Seal())) return;
  progress->committed = current;
  progress->in_flight.clear();
}

TEST(AppendValuesFromCrashTest, EveryCrashPointOpensAsTheLastCommitOrTheCallInFlight) {
  for (bool insert_range : {true, false}) {
    FaultInjectionEnv::Options env_options;
    env_options.supports_insert_range = insert_range;
    FaultInjectionEnv env(env_options);
    WriteSource("/bulk/a", &env, {10, 300, 0, 0, 5000, 3});
    WriteSource("/bulk/b", &env, {9000, 40000, 1, 1, 12000, 70000, 8});
    ReaderOptions reader_options;
    reader_options.env = &env;
    const Entries a = ReadSection(*Reader::Open("/bulk/a", reader_options).value(), 0);
    const Entries b = ReadSection(*Reader::Open("/bulk/b", reader_options).value(), 0);
    int64_t total = 0;
    {
      Progress clean;
      env.CrashAfter(1 << 30);
      RunWorkload(&env, a, b, &clean);
      ASSERT_TRUE(clean.first_error.ok()) << clean.first_error;
      total = env.operation_count();
      env.Crash(FaultInjectionEnv::CrashMode::kKeepUnsynced, 0);
      ASSERT_TRUE(env.RemoveFile(kOut).ok());
      ASSERT_TRUE(env.SyncDirectory("/bulk").ok());  // Else the next crash undoes the removal.
    }
    ASSERT_GT(total, 25);
    int opened = 0;
    for (int64_t n = 0; n < total; ++n) {
      for (auto mode : {FaultInjectionEnv::CrashMode::kDropUnsynced,
                        FaultInjectionEnv::CrashMode::kKeepRandomSubset}) {
        SCOPED_TRACE(absl::StrCat("insert_range ", insert_range, ", crash after operation ", n));
        Progress progress;
        env.CrashAfter(n);
        RunWorkload(&env, a, b, &progress);
        ASSERT_FALSE(progress.first_error.ok());
        env.Crash(mode, static_cast<uint64_t>(n));
        absl::StatusOr<std::unique_ptr<Reader>> out = Reader::Open(kOut, reader_options);
        if (out.ok()) {
          const Entries got = (*out)->section_count() == 1 ? ReadSection(**out, 0) : Entries{};
          bool allowed = got == progress.committed;
          for (const Entries& state : progress.in_flight) allowed = allowed || got == state;
          EXPECT_TRUE(allowed) << got.size() << " entries, committed " << progress.committed.size();
          ++opened;
        } else {
          // Only a torn create or an interrupted tail copy (which OpenForAppend finishes).
          EXPECT_TRUE(absl::IsDataLoss(out.status()) || absl::IsNotFound(out.status()) ||
                      absl::IsFailedPrecondition(out.status()))
              << out.status();
        }
        out = absl::StatusOr<std::unique_ptr<Reader>>();
        (void)env.RemoveFile(kOut);
        ASSERT_TRUE(env.SyncDirectory("/bulk").ok());
      }
    }
    EXPECT_GT(opened, total);  // Most crash points leave a file that opens.
  }
}

TEST(AppendValuesFromCrashTest, NoSpaceAtEveryOperationOfACopyStopsTheWriterAtItsLastCommit) {
  FaultInjectionEnv env;
  WriteSource("/bulk/b", &env, {9000, 40000, 1, 1, 12000, 70000, 8});
  ReaderOptions reader_options;
  reader_options.env = &env;
  int failures = 0;
  for (int64_t n = 0;; ++n) {
    SCOPED_TRACE(absl::StrCat("ENOSPC at operation ", n, " of the copy"));
    std::unique_ptr<Reader> b = Reader::Open("/bulk/b", reader_options).value();
    WriterOptions options = SmallOptions(&env);
    options.overwrite = true;
    std::unique_ptr<Writer> writer = Writer::Create(kOut, options).value();
    const uint32_t section = writer->AddSection("level").value();
    ASSERT_TRUE(writer->Append(section, 1, "first").ok());
    ASSERT_TRUE(writer->Commit().ok());
    env.FailOperation(n, absl::ResourceExhaustedError("no space left on device"));
    const absl::Status status = CopyAll(*b, writer.get(), section, 10);
    if (status.ok()) break;
    ++failures;
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_EQ(writer->Commit().code(), absl::StatusCode::kFailedPrecondition);
    writer.reset();
    std::unique_ptr<Reader> out = Reader::Open(kOut, reader_options).value();
    EXPECT_EQ(ReadSection(*out, 0), (Entries{{1, "first"}}));
  }
  EXPECT_GE(failures, 3);  // The growth's header write and sync, the copy's reads and writes.
}

}  // namespace
}  // namespace storage
}  // namespace flatpyramid
