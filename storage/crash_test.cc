// Crash safety: a workload that grows the keys, locations and values arrays of three sections
// at once (the last one's values at the end of the file, by ftruncate), with tail copies of
// many 16 KiB chunks and several progress records each, is stopped after EVERY operation index
// N. What reached the disk is chosen four ways (nothing unsynced, everything, an ordered prefix
// with the next write torn at any byte, a random subset of the unsynced writes), and the file
// must open as exactly the last committed state (or the state of the call in flight), or be
// refused: with kFailedPrecondition for an interrupted tail copy, which OpenForAppend repairs,
// or, where the filesystem applied an INSERT_RANGE/COLLAPSE_RANGE only in part, with kDataLoss
// "interrupted partial shift". Never wrong bytes. Three filesystems: atomic INSERT_RANGE,
// INSERT_RANGE in crashable steps (as XFS and ext4 run it), and none (the fallback).
//
// Also: ENOSPC and EIO at every operation return that error, stop the writer for good, and
// leave the file at its last commit.
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/store.h"
#include "storage/testing/fault_injection_env.h"

namespace flatpyramid {
namespace storage {
namespace {

using test::FaultInjectionEnv;

constexpr char kPath[] = "/crash/store.fpyr";
constexpr uint64_t kMoveChunk = 16 << 10;  // Tail copies of this workload take many chunks.
constexpr int kSections = 3;
constexpr const char* kNames[kSections + 1] = {"a", "b", "c", "(none)"};
constexpr int kAppends = 1700;  // > 512 per section: every keys array outgrows its 4 KiB.

enum class Filesystem { kInsertRange, kPartialShifts, kNoInsertRange };

const char* Name(Filesystem filesystem) {
  switch (filesystem) {
    case Filesystem::kInsertRange:
      return "InsertRange";
    case Filesystem::kPartialShifts:
      return "PartialShifts";
    default:
      return "Fallback";
  }
}

FaultInjectionEnv::Options EnvOptions(Filesystem filesystem) {
  FaultInjectionEnv::Options options;
  options.supports_insert_range = filesystem != Filesystem::kNoInsertRange;
  options.partial_range_shifts = filesystem == Filesystem::kPartialShifts;
  return options;
}

// The visible content of a store: section names, entries, user metadata.
struct Model {
  std::vector<std::string> names;
  std::vector<std::vector<std::pair<uint64_t, std::string>>> entries;
  std::string metadata;
};

std::string Describe(const Model& model) {
  std::string out;
  for (size_t s = 0; s < model.names.size(); ++s) {
    absl::StrAppend(&out, model.names[s], ":", model.entries[s].size(), " ");
  }
  return absl::StrCat(out, "meta=", model.metadata);
}

std::string Value(uint64_t key, size_t size) {
  std::string value(size, '\0');
  for (size_t i = 0; i < size; ++i) value[i] = static_cast<char>(key * 31 + i * 7 + 1);
  return value;
}

WriterOptions Options(Env* env) {
  WriterOptions options;
  options.env = env;
  options.initial_key_capacity = 4096;
  options.initial_location_capacity = 4096;
  options.initial_value_capacity = 4096;
  options.move_chunk_size = kMoveChunk;
  return options;
}

// What the workload knows at the moment it stops.
struct Progress {
  bool created = false;
  Model committed;               // After the last call that returned OK and made state durable.
  std::vector<Model> in_flight;  // States the call that failed may have made durable.
  absl::Status first_error;      // The call that failed.
  absl::Status next_call;        // What the writer said to one more call after that.
  WriterStats stats;
};

// Runs the workload until the first error. Values are mostly empty or tiny (the index arrays
// grow) and sometimes a few KiB (the value arrays grow several times); one value in 25 shares
// the bytes of an earlier one; a commit every 150 appends.
void RunWorkload(Env* env, Progress* progress) {
  absl::StatusOr<std::unique_ptr<Writer>> created = Writer::Create(kPath, Options(env));
  if (!created.ok()) {
    progress->first_error = created.status();
    return;
  }
  Writer& writer = **created;
  progress->created = true;
  const auto failed = [&](const absl::Status& status) {
    if (status.ok()) return false;
    progress->first_error = status;
    progress->next_call = writer.Commit();
    progress->stats = writer.stats();
    return true;
  };
  Model current;
  for (int s = 0; s < kSections; ++s) {
    const char* name = kNames[s];
    Model with = progress->committed;
    with.names.push_back(name);
    with.entries.emplace_back();
    progress->in_flight = {with};
    if (failed(writer.AddSection(name).status())) return;
    progress->committed = with;
    current = with;
  }
  std::mt19937_64 random(17);
  std::vector<uint64_t> next_key = {0, 1, 1000};  // Section a starts at key 0.
  std::vector<std::vector<std::pair<uint64_t, ValueRef>>> shareable(kSections);
  for (int i = 0; i < kAppends; ++i) {
    progress->in_flight.clear();
    const uint32_t section = static_cast<uint32_t>(random() % kSections);
    const uint64_t key = next_key[section];
    next_key[section] += 1 + random() % 1000;
    const uint64_t dice = random() % 100;
    if (dice < 4 && !shareable[section].empty()) {
      const auto& [old_key, ref] = shareable[section][random() % shareable[section].size()];
      std::string value;
      for (const auto& [k, v] : current.entries[section]) {
        if (k == old_key) value = v;
      }
      if (failed(writer.AppendShared(section, key, ref))) return;
      current.entries[section].push_back({key, value});
    } else {
      const size_t size = dice < 65 ? 0 : dice < 97 ? 1 + random() % 40 : 1500 + random() % 3000;
      const std::string value = Value(key, size);
      absl::StatusOr<ValueRef> ref = writer.Append(section, key, value);
      if (failed(ref.status())) return;
      if (size > 0) shareable[section].push_back({key, *ref});
      current.entries[section].push_back({key, value});
    }
    if (i % 200 == 199) {
      current.metadata = absl::StrCat("meta", i);
      writer.SetUserMetadata("test.Meta", current.metadata);
    }
    if (i % 150 == 149) {
      progress->in_flight = {current};
      if (failed(writer.Commit())) return;
      progress->committed = current;
    }
  }
  progress->in_flight = {current};
  if (failed(writer.Seal())) return;
  progress->committed = current;
  progress->in_flight.clear();
  progress->stats = writer.stats();
}

Model ReadModel(const Reader& reader) {
  Model model;
  for (uint32_t s = 0; s < reader.section_count(); ++s) {
    model.names.push_back(std::string(reader.section_name(s)));
    model.entries.emplace_back();
    for (uint64_t i = 0; i < reader.entry_count(s); ++i) {
      model.entries.back().push_back({reader.KeyAt(s, i), std::string(reader.ValueAt(s, i))});
    }
  }
  model.metadata = std::string(reader.user_metadata());
  return model;
}

// Matches is ReadModel(reader) == model, without copying every value.
bool Matches(const Reader& reader, const Model& model) {
  if (reader.section_count() != model.names.size() || reader.user_metadata() != model.metadata) {
    return false;
  }
  for (uint32_t s = 0; s < reader.section_count(); ++s) {
    if (reader.section_name(s) != model.names[s] ||
        reader.entry_count(s) != model.entries[s].size()) {
      return false;
    }
    for (uint64_t i = 0; i < reader.entry_count(s); ++i) {
      if (reader.KeyAt(s, i) != model.entries[s][i].first ||
          reader.ValueAt(s, i) != model.entries[s][i].second) {
        return false;
      }
    }
  }
  return true;
}

// MatchingState returns the state of `progress` that `reader` shows, or null if none.
const Model* MatchingState(const Reader& reader, const Progress& progress) {
  if (Matches(reader, progress.committed)) return &progress.committed;
  for (const Model& model : progress.in_flight) {
    if (Matches(reader, model)) return &model;
  }
  return nullptr;
}

bool IsPartialShift(const absl::Status& status) {
  return absl::IsDataLoss(status) &&
         status.message().find("interrupted partial shift") != std::string::npos;
}

// How the crash points ended, so the test proves it reached every recovery path.
struct Outcomes {
  int refused_interrupted_move = 0;  // Reader refused; OpenForAppend finished the tail copy.
  int refused_partial_shift = 0;     // The filesystem applied a move in part: refused for good.
  int opened_in_flight_state = 0;    // The call that crashed had made its state durable.
  int opened_committed_state = 0;
  int sealed = 0;
  int torn_sealed_copy = 0;
};

// How far CheckRecovery goes after the file opened.
enum class Resume { kNo, kCommit, kSeal };

// Checks the file after a crash, then reopens it for writing, appends and commits or seals (as
// `resume` says), and checks it again.
void CheckRecovery(FaultInjectionEnv* env, const Progress& progress, bool partial_shifts,
                   Resume resume, Outcomes* outcomes) {
  ReaderOptions reader_options;
  reader_options.env = env;
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(kPath, reader_options);
  bool sealed = false;
  const Model* opened = nullptr;  // The state the file opened with.
  if (!reader.ok()) {
    if (!progress.created) return;  // Crashed inside Create: refusing is right.
    if (partial_shifts && IsPartialShift(reader.status())) {
      ++outcomes->refused_partial_shift;
      const absl::Status writer = Writer::OpenForAppend(kPath, Options(env)).status();
      ASSERT_TRUE(IsPartialShift(writer)) << writer;
      return;
    }
    ASSERT_TRUE(absl::IsFailedPrecondition(reader.status())) << reader.status();
    ++outcomes->refused_interrupted_move;
  } else {
    const absl::Status verified = (*reader)->Verify();
    if (!verified.ok()) {
      // Only allowed: a crash tore the second copy of the sealed header; the first one is
      // intact and the content is checked below, but Verify must say so.
      ASSERT_TRUE((*reader)->sealed()) << verified;
      ASSERT_NE(verified.message().find("torn write"), std::string::npos) << verified;
      ++outcomes->torn_sealed_copy;
    }
    opened = MatchingState(**reader, progress);
    ASSERT_NE(opened, nullptr) << "got " << Describe(ReadModel(**reader)) << ", committed "
                               << Describe(progress.committed);
    sealed = (*reader)->sealed();
    ++(opened == &progress.committed ? outcomes->opened_committed_state
                                     : outcomes->opened_in_flight_state);
    outcomes->sealed += sealed;
    reader->reset();
  }
  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::OpenForAppend(kPath, Options(env));
  if (sealed) {
    ASSERT_TRUE(absl::IsFailedPrecondition(writer.status())) << writer.status();
    return;
  }
  if (!progress.created && !writer.ok()) return;
  ASSERT_TRUE(writer.ok()) << writer.status();
  if (resume == Resume::kNo) return;
  // Resume: one more entry in every section, after its last committed key. The file must then
  // hold the state it opened with (any allowed one if the reader was refused) plus these.
  std::vector<std::pair<uint64_t, std::string>> added;
  for (uint32_t s = 0; (*writer)->FindSection(kNames[s]).has_value(); ++s) {
    const uint64_t key = (*writer)->LastKey(s).value_or(0) + 1;
    ASSERT_TRUE((*writer)->Append(s, key, Value(key, 5000)).ok());
    added.push_back({key, Value(key, 5000)});
  }
  ASSERT_TRUE((resume == Resume::kSeal ? (*writer)->Seal() : (*writer)->Commit()).ok());
  writer->reset();
  reader = Reader::Open(kPath, reader_options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE((*reader)->Verify().ok()) << (*reader)->Verify();
  std::vector<const Model*> candidates = {opened};
  if (opened == nullptr) {
    candidates = {&progress.committed};
    for (const Model& model : progress.in_flight) candidates.push_back(&model);
  }
  bool matched = false;
  for (const Model* candidate : candidates) {
    if (candidate->names.size() != added.size()) continue;
    Model resumed = *candidate;
    for (size_t s = 0; s < added.size(); ++s) resumed.entries[s].push_back(added[s]);
    matched = matched || Matches(**reader, resumed);
  }
  ASSERT_TRUE(matched) << "after resuming: " << Describe(ReadModel(**reader));
}

// One shard of the crash points of one filesystem: N = part, part + parts, ...
struct CrashCase {
  Filesystem filesystem;
  int part;
  int parts;
};

class CrashTest : public ::testing::TestWithParam<CrashCase> {};

int64_t OperationCount(Filesystem filesystem) {
  FaultInjectionEnv env(EnvOptions(filesystem));
  Progress progress;
  RunWorkload(&env, &progress);
  EXPECT_TRUE(progress.first_error.ok()) << progress.first_error;
  return env.operation_count();
}

TEST_P(CrashTest, EveryCrashPointOpensAsLastCommitOrIsRefusedNeverWrongBytes) {
  const CrashCase& param = GetParam();
  const int64_t total = OperationCount(param.filesystem);
  // Small values reach the file in gathered writes, so a few hundred operations; the outcome
  // checks at the end show that crashes hit every phase (growth, commit, seal).
  ASSERT_GT(total, 200);
  const FaultInjectionEnv::CrashMode modes[] = {FaultInjectionEnv::CrashMode::kDropUnsynced,
                                                FaultInjectionEnv::CrashMode::kKeepUnsynced,
                                                FaultInjectionEnv::CrashMode::kKeepRandomPrefix,
                                                FaultInjectionEnv::CrashMode::kKeepRandomSubset};
  const bool partial_shifts = param.filesystem == Filesystem::kPartialShifts;
  Outcomes outcomes;
  // With a stride, every point of the last 64 operations (the seal's) is still tried.
  const int64_t stride = test::CrashPointStride();
  for (int64_t n = param.part; n <= total; n += param.parts) {
    if ((n - param.part) / param.parts % stride != 0 && n < total - 64) continue;
    FaultInjectionEnv env(EnvOptions(param.filesystem));
    env.CrashAfter(n);
    Progress progress;
    RunWorkload(&env, &progress);
    const FaultInjectionEnv::Snapshot at_crash = env.TakeSnapshot();
    for (int m = 0; m < 4; ++m) {
      SCOPED_TRACE(absl::StrCat("crash after operation ", n, " mode ", m));
      if (m > 0) env.Restore(at_crash);
      env.Crash(modes[m], static_cast<uint64_t>(n * 4 + m));
      // Sealing after every resume would double the run time; every 8th is enough to cover
      // trims of recovered files.
      CheckRecovery(&env, progress, partial_shifts,
                    (n / param.parts) % 8 == 0 ? Resume::kSeal : Resume::kCommit, &outcomes);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  std::cout << Name(param.filesystem) << " part " << param.part << "/" << param.parts
            << ": operations " << total << ", refused then repaired "
            << outcomes.refused_interrupted_move << ", refused (partial shift) "
            << outcomes.refused_partial_shift << ", in-flight state "
            << outcomes.opened_in_flight_state << ", committed state "
            << outcomes.opened_committed_state << ", sealed " << outcomes.sealed
            << " (second header copy torn " << outcomes.torn_sealed_copy << ")\n";
  EXPECT_GT(outcomes.opened_in_flight_state, 0);
  EXPECT_GT(outcomes.opened_committed_state, 0);
  EXPECT_GT(outcomes.sealed, 0);
  EXPECT_EQ(outcomes.refused_interrupted_move > 0, param.filesystem == Filesystem::kNoInsertRange);
  EXPECT_EQ(outcomes.refused_partial_shift > 0, partial_shifts);
}

std::vector<CrashCase> CrashCases() {
  std::vector<CrashCase> cases;
  for (auto [filesystem, parts] :
       {std::pair{Filesystem::kInsertRange, 2}, std::pair{Filesystem::kPartialShifts, 2},
        std::pair{Filesystem::kNoInsertRange, 4}}) {
    for (int part = 0; part < parts; ++part) cases.push_back({filesystem, part, parts});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Filesystems, CrashTest, ::testing::ValuesIn(CrashCases()),
                         [](const ::testing::TestParamInfo<CrashCase>& info) {
                           return absl::StrCat(Name(info.param.filesystem), "Part",
                                               info.param.part);
                         });

// Sealing is resumable like every other step: a crash at any operation of Seal (its commit,
// every trim, the checksums, both sealed header copies) leaves a file that opens as the last
// commit or sealed, and one that is not yet sealed is sealed by OpenForAppend + Seal, with the
// committed content and valid checksums.
TEST(SealCrashTest, ACrashAtEveryOperationOfSealIsFinishedByReopeningAndSealingAgain) {
  for (Filesystem filesystem :
       {Filesystem::kInsertRange, Filesystem::kPartialShifts, Filesystem::kNoInsertRange}) {
    SCOPED_TRACE(Name(filesystem));
    // Three sections whose arrays all have spare room, committed; then Seal alone, to count
    // its operations.
    int64_t seal_operations = 0;
    FaultInjectionEnv::Snapshot unsealed;
    {
      FaultInjectionEnv counting(EnvOptions(filesystem));
      absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::Create(kPath, Options(&counting));
      ASSERT_TRUE(writer.ok());
      for (uint32_t s = 0; s < kSections; ++s) {
        ASSERT_TRUE((*writer)->AddSection(kNames[s]).ok());
        for (int i = 0; i < 600; ++i) {
          const uint64_t key = static_cast<uint64_t>(i) * 3 + s;
          ASSERT_TRUE((*writer)->Append(s, key, Value(key, i % 7 == 0 ? 2000 : 9)).ok());
        }
      }
      (*writer)->SetUserMetadata("test.Meta", "before seal");
      ASSERT_TRUE((*writer)->Commit().ok());
      writer->reset();
      unsealed = counting.TakeSnapshot();
      absl::StatusOr<std::unique_ptr<Writer>> reopened =
          Writer::OpenForAppend(kPath, Options(&counting));
      ASSERT_TRUE(reopened.ok()) << reopened.status();
      counting.CrashAfter(-1);
      const int64_t before = counting.operation_count();
      ASSERT_TRUE((*reopened)->Seal().ok());
      seal_operations = counting.operation_count() - before;
    }
    ASSERT_GT(seal_operations, 20);
    ReaderOptions reader_options;
    int resealed = 0, already_sealed = 0, partial_shifts = 0;
    for (int64_t n = 0; n < seal_operations + 8; ++n) {
      for (auto mode : {FaultInjectionEnv::CrashMode::kDropUnsynced,
                        FaultInjectionEnv::CrashMode::kKeepRandomPrefix}) {
        SCOPED_TRACE(absl::StrCat("crash at operation ", n, " of the reopen and seal"));
        FaultInjectionEnv crashing(EnvOptions(filesystem));
        crashing.Restore(unsealed);
        reader_options.env = &crashing;
        {
          absl::StatusOr<std::unique_ptr<Writer>> writer =
              Writer::OpenForAppend(kPath, Options(&crashing));
          ASSERT_TRUE(writer.ok()) << writer.status();
          crashing.CrashAfter(n);
          (void)(*writer)->Seal();
        }
        crashing.Crash(mode, static_cast<uint64_t>(n));
        absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(kPath, reader_options);
        if (reader.ok() && (*reader)->sealed()) {
          ++already_sealed;
        } else {
          if (reader.ok()) reader->reset();
          absl::StatusOr<std::unique_ptr<Writer>> writer =
              Writer::OpenForAppend(kPath, Options(&crashing));
          // Where the filesystem applies a COLLAPSE_RANGE in steps, a crash inside one is
          // refused for good (as in the crash test above); nothing else may be.
          if (filesystem == Filesystem::kPartialShifts && IsPartialShift(writer.status())) {
            ++partial_shifts;
            continue;
          }
          ASSERT_TRUE(writer.ok()) << writer.status();
          ASSERT_TRUE((*writer)->Seal().ok());
          ++resealed;
        }
        reader = Reader::Open(kPath, reader_options);
        ASSERT_TRUE(reader.ok()) << reader.status();
        ASSERT_TRUE((*reader)->sealed());
        const absl::Status verified = (*reader)->Verify();
        ASSERT_TRUE(verified.ok() || verified.message().find("torn write") != std::string::npos)
            << verified;
        EXPECT_EQ((*reader)->user_metadata(), "before seal");
        for (uint32_t s = 0; s < kSections; ++s) {
          ASSERT_EQ((*reader)->entry_count(s), 600u);
          EXPECT_EQ((*reader)->ValueAt(s, 599), Value(599 * 3 + s, 9));
          EXPECT_EQ((*reader)->ValueAt(s, 595), Value(595 * 3 + s, 2000));
        }
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
    std::cout << Name(filesystem) << ": " << seal_operations << " seal operations, resealed "
              << resealed << ", already sealed " << already_sealed << ", refused (partial shift) "
              << partial_shifts << "\n";
    EXPECT_GT(resealed, seal_operations);
    EXPECT_EQ(partial_shifts > 0, filesystem == Filesystem::kPartialShifts);
    EXPECT_GT(already_sealed, 0);
  }
}

// The crash points above only prove something if the workload does what the header comment
// says: this checks it on a run without faults.
TEST(CrashWorkloadTest, GrowsEveryArrayOfThreeSectionsAndCopiesTailsInManySteps) {
  for (Filesystem filesystem : {Filesystem::kInsertRange, Filesystem::kNoInsertRange}) {
    SCOPED_TRACE(Name(filesystem));
    FaultInjectionEnv env(EnvOptions(filesystem));
    Progress progress;
    RunWorkload(&env, &progress);
    ASSERT_TRUE(progress.first_error.ok()) << progress.first_error;
    for (int s = 0; s < kSections; ++s) {
      // 4096-byte initial arrays: more than 512 keys, 256 locations, 4096 value bytes grew all.
      EXPECT_GT(progress.committed.entries[s].size(), 512u);
      uint64_t value_bytes = 0;
      for (const auto& entry : progress.committed.entries[s]) value_bytes += entry.second.size();
      EXPECT_GT(value_bytes, 3 * 4096u);
    }
    const WriterStats& stats = progress.stats;
    if (filesystem == Filesystem::kInsertRange) {
      // Every growth but those of the last array is an INSERT_RANGE; that one is an ftruncate.
      EXPECT_GE(stats.insert_range_calls, 8u);
      EXPECT_GT(stats.growths, stats.insert_range_calls);
      EXPECT_EQ(stats.tail_moves, 0u);
    } else {
      EXPECT_EQ(stats.insert_range_calls, 0u);
      EXPECT_GE(stats.tail_moves, 8u);
      // On average a tail copy spans several chunks and records its progress several times.
      EXPECT_GT(stats.bytes_moved, 3 * kMoveChunk * stats.tail_moves);
      EXPECT_GT(stats.progress_records, 2 * stats.tail_moves);
    }
  }
}

// An in-place update of a sealed store (Writer::OpenForUpdate): sections a and b get new
// indexes (ReplaceEntries: some old values kept, some new, some entries gone, b's index grows
// past its room, a's shrinks), c gets appends, the metadata changes, then Seal removes the old
// indexes' room. A crash at every operation of it, in every crash mode, leaves the old store
// or the new one, sealed and verified (or a move that OpenForUpdate finishes, or on a
// filesystem that shifts in steps an "interrupted partial shift"); OpenForUpdate + Seal then
// gives the same content in a file without room (the size of a clean run's, or the old one).
struct UpdateRun {
  Model before, after;
  uint64_t operations = 0;  // Of the update alone (OpenForUpdate to Seal).
  uint64_t size_before = 0, size_after = 0;
  FaultInjectionEnv::Snapshot sealed;
  WriterStats stats;  // Of the update without a crash.
};

// NewValue is the new value of the i-th old entry (sizes no old value has).
std::string NewValue(uint64_t key, size_t i) { return Value(key + 5, 100 + i % 50); }

Model Updated(const Model& before) {
  Model after = before;
  after.metadata = "updated";
  for (int s = 0; s < 2; ++s) {
    std::vector<std::pair<uint64_t, std::string>> entries;
    const auto& old = before.entries[s];
    for (size_t i = 0; i < old.size(); ++i) {
      if (i % 3 == 0) entries.push_back({old[i].first, NewValue(old[i].first, i)});
      if (i % 3 == 1) entries.push_back(old[i]);  // i % 3 == 2: gone.
    }
    const uint64_t extra = s == 1 ? 900 : 0;
    for (uint64_t k = 0; k < extra; ++k) entries.push_back({1 << 30 | k, Value(k, 9)});
    after.entries[s] = std::move(entries);
  }
  after.entries[2].push_back({1 << 30, Value(7, 3000)});
  return after;
}

// RunUpdate makes `before` into Updated(before) in place; false at the first error.
bool RunUpdate(Env* env, const Model& before, WriterStats* stats = nullptr) {
  absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::OpenForUpdate(kPath, Options(env));
  if (!writer.ok()) return false;
  const Model after = Updated(before);
  for (uint32_t s = 0; s < 2; ++s) {
    absl::StatusOr<std::vector<Entry>> old = (*writer)->ReadCommittedEntries(s);
    if (!old.ok() || !(*writer)->ReplaceEntries(s).ok()) return false;
    // The same choices as Updated, by index of the old entries.
    for (size_t i = 0; i < old->size(); ++i) {
      const Entry& entry = (*old)[i];
      absl::Status status = absl::OkStatus();
      if (i % 3 == 0) status = (*writer)->Append(s, entry.key, NewValue(entry.key, i)).status();
      if (i % 3 == 1) status = (*writer)->AppendShared(s, entry.key, entry.value);
      if (!status.ok()) return false;
    }
    for (uint64_t k = 0; k < (s == 1 ? 900 : 0); ++k) {
      if (!(*writer)->Append(s, 1 << 30 | k, Value(k, 9)).ok()) return false;
    }
  }
  if (!(*writer)->Append(2, 1 << 30, Value(7, 3000)).ok()) return false;
  (*writer)->SetUserMetadata("test.Meta", after.metadata);
  const bool sealed = (*writer)->Seal().ok();
  if (stats != nullptr) *stats = (*writer)->stats();
  return sealed;
}

uint64_t SizeOf(Env* env) {
  absl::StatusOr<std::unique_ptr<File>> file = env->Open(kPath, OpenMode::kReadOnly);
  if (!file.ok()) return 0;
  absl::StatusOr<uint64_t> size = (*file)->Size();
  return size.ok() ? *size : 0;
}

UpdateRun PrepareUpdate(Filesystem filesystem) {
  UpdateRun run;
  FaultInjectionEnv env(EnvOptions(filesystem));
  Progress progress;
  RunWorkload(&env, &progress);
  EXPECT_TRUE(progress.first_error.ok()) << progress.first_error;
  run.before = progress.committed;
  run.after = Updated(run.before);
  run.sealed = env.TakeSnapshot();
  run.size_before = SizeOf(&env);
  const int64_t start = env.operation_count();
  EXPECT_TRUE(RunUpdate(&env, run.before, &run.stats));
  run.operations = env.operation_count() - start;
  run.size_after = SizeOf(&env);
  return run;
}

class UpdateCrashTest : public ::testing::TestWithParam<CrashCase> {};

TEST_P(UpdateCrashTest, EveryCrashPointOfAnInPlaceUpdateOpensAsTheOldOrTheNewStore) {
  const CrashCase& param = GetParam();
  const UpdateRun run = PrepareUpdate(param.filesystem);
  ASSERT_GT(run.operations, 60u);
  const bool partial_shifts = param.filesystem == Filesystem::kPartialShifts;
  const FaultInjectionEnv::CrashMode modes[] = {FaultInjectionEnv::CrashMode::kDropUnsynced,
                                                FaultInjectionEnv::CrashMode::kKeepUnsynced,
                                                FaultInjectionEnv::CrashMode::kKeepRandomPrefix,
                                                FaultInjectionEnv::CrashMode::kKeepRandomSubset};
  int old_store = 0, new_store = 0, refused_then_finished = 0, partial = 0;
  // Under sanitizers (FLATPYRAMID_CRASH_POINT_STRIDE) every few of those points.
  const int64_t stride = param.parts * test::CrashPointStride();
  for (int64_t n = param.part; n <= static_cast<int64_t>(run.operations); n += stride) {
    for (int m = 0; m < 4; ++m) {
      SCOPED_TRACE(absl::StrCat("crash after operation ", n, " of the update, mode ", m));
      FaultInjectionEnv env(EnvOptions(param.filesystem));
      env.Restore(run.sealed);
      env.CrashAfter(n);
      EXPECT_FALSE(RunUpdate(&env, run.before) && n < static_cast<int64_t>(run.operations));
      env.Crash(modes[m], static_cast<uint64_t>(n * 4 + m));
      ReaderOptions reader_options;
      reader_options.env = &env;
      const Model* opened = nullptr;
      absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(kPath, reader_options);
      if (reader.ok()) {
        ASSERT_TRUE((*reader)->sealed());
        const absl::Status verified = (*reader)->Verify();
        ASSERT_TRUE(verified.ok() || verified.message().find("torn write") != std::string::npos)
            << verified;
        opened = Matches(**reader, run.before)  ? &run.before
                 : Matches(**reader, run.after) ? &run.after
                                                : nullptr;
        ASSERT_NE(opened, nullptr) << "got " << Describe(ReadModel(**reader));
        ++(opened == &run.before ? old_store : new_store);
        reader->reset();
      } else if (partial_shifts && IsPartialShift(reader.status())) {
        ++partial;
        EXPECT_TRUE(IsPartialShift(Writer::OpenForUpdate(kPath, Options(&env)).status()));
        continue;
      } else {
        ASSERT_TRUE(absl::IsFailedPrecondition(reader.status())) << reader.status();
        ++refused_then_finished;
      }
      // Resume: reopen and seal, which finishes a move and removes any room left.
      absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::OpenForUpdate(kPath, Options(&env));
      ASSERT_TRUE(writer.ok()) << writer.status();
      ASSERT_TRUE((*writer)->Seal().ok());
      writer->reset();
      reader = Reader::Open(kPath, reader_options);
      ASSERT_TRUE(reader.ok()) << reader.status();
      ASSERT_TRUE((*reader)->Verify().ok()) << (*reader)->Verify();
      const bool is_new = Matches(**reader, run.after);
      ASSERT_TRUE(is_new || Matches(**reader, run.before)) << Describe(ReadModel(**reader));
      if (opened != nullptr) {
        ASSERT_EQ(is_new, opened == &run.after);
      }
      EXPECT_EQ(SizeOf(&env), is_new ? run.size_after : run.size_before);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  std::cout << Name(param.filesystem) << " part " << param.part << "/" << param.parts << ": "
            << run.operations << " update operations; old store " << old_store << ", new "
            << new_store << ", refused then finished " << refused_then_finished
            << ", refused (partial shift) " << partial << "\n";
  EXPECT_GT(old_store, 0);
  EXPECT_GT(new_store, 0);
  EXPECT_EQ(refused_then_finished > 0, param.filesystem == Filesystem::kNoInsertRange);
  EXPECT_EQ(partial > 0, partial_shifts);
}

INSTANTIATE_TEST_SUITE_P(Filesystems, UpdateCrashTest, ::testing::ValuesIn(CrashCases()),
                         [](const ::testing::TestParamInfo<CrashCase>& info) {
                           return absl::StrCat(Name(info.param.filesystem), "Part",
                                               info.param.part);
                         });

// The update's crash points prove something only if it moves what the comment above says.
TEST(UpdateWorkloadTest, InsertsAndCollapsesRangesOrCopiesTailsInManySteps) {
  for (Filesystem filesystem : {Filesystem::kInsertRange, Filesystem::kNoInsertRange}) {
    SCOPED_TRACE(Name(filesystem));
    const UpdateRun run = PrepareUpdate(filesystem);
    const WriterStats& stats = run.stats;
    EXPECT_GE(stats.index_growths, 2u);  // b's keys and locations outgrow their room.
    if (filesystem == Filesystem::kInsertRange) {
      EXPECT_GE(stats.insert_range_calls, 2u);
      EXPECT_GE(stats.collapse_range_calls, 4u);  // The old indexes of a and b.
      EXPECT_EQ(stats.tail_moves, 0u);
    } else {
      EXPECT_EQ(stats.insert_range_calls + stats.collapse_range_calls, 0u);
      EXPECT_GE(stats.tail_moves, 6u);
      EXPECT_GT(stats.progress_records, 2 * stats.tail_moves);
    }
  }
}

class FaultTest : public ::testing::TestWithParam<CrashCase> {};

// Every operation index fails once, with ENOSPC at even indices and EIO at odd ones (the writer
// handles both alike; each kind still hits every kind of call).
TEST_P(FaultTest, NoSpaceAndIoErrorsAtEveryOperationStopTheWriterAtItsLastCommit) {
  const CrashCase& param = GetParam();
  const int64_t total = OperationCount(param.filesystem);
  int tail_copy_failures = 0;
  for (int64_t n = param.part; n < total; n += param.parts * test::CrashPointStride()) {
    const absl::Status error = n % 2 == 0 ? absl::ResourceExhaustedError("ENOSPC (simulated)")
                                          : absl::DataLossError("EIO (simulated)");
    SCOPED_TRACE(absl::StrCat(error.message(), " at operation ", n));
    FaultInjectionEnv env(EnvOptions(param.filesystem));
    env.FailOperation(n, error);
    Progress progress;
    RunWorkload(&env, &progress);
    // The failing call returns the error with its code; the writer refuses what follows.
    ASSERT_EQ(progress.first_error.code(), error.code()) << progress.first_error;
    ASSERT_NE(progress.first_error.message().find(error.message()), std::string::npos);
    if (progress.created) {
      ASSERT_TRUE(absl::IsFailedPrecondition(progress.next_call)) << progress.next_call;
      ASSERT_NE(progress.next_call.message().find(error.message()), std::string::npos)
          << progress.next_call;
    }
    tail_copy_failures +=
        progress.first_error.message().find("moving the file's tail") != std::string::npos;
    // The process lives on: nothing is dropped, the file must be at a consistent state.
    env.Crash(FaultInjectionEnv::CrashMode::kKeepUnsynced, 0);
    Outcomes outcomes;
    // Resuming after every failure point would be slow; the crash test covers resuming.
    const int64_t i = n / param.parts;
    CheckRecovery(&env, progress, /*partial_shifts=*/false,
                  i % 16 == 0   ? Resume::kSeal
                  : i % 16 == 8 ? Resume::kCommit
                                : Resume::kNo,
                  &outcomes);
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::cout << Name(param.filesystem) << " part " << param.part << "/" << param.parts << ": "
            << total << " operations, " << tail_copy_failures << " failed inside a tail copy\n";
  if (param.filesystem == Filesystem::kNoInsertRange) {
    EXPECT_GT(tail_copy_failures, 100);
  } else {
    EXPECT_EQ(tail_copy_failures, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Filesystems, FaultTest,
                         ::testing::ValuesIn(std::vector<CrashCase>{
                             {Filesystem::kInsertRange, 0, 2},
                             {Filesystem::kInsertRange, 1, 2},
                             {Filesystem::kNoInsertRange, 0, 3},
                             {Filesystem::kNoInsertRange, 1, 3},
                             {Filesystem::kNoInsertRange, 2, 3}}),
                         [](const ::testing::TestParamInfo<CrashCase>& info) {
                           return absl::StrCat(Name(info.param.filesystem), "Part",
                                               info.param.part);
                         });

TEST(FaultTest, FallbackWorksWhereHolesCannotBePunched) {
  FaultInjectionEnv::Options env_options;
  env_options.supports_insert_range = false;
  env_options.supports_punch_hole = false;
  FaultInjectionEnv env(env_options);
  Progress progress;
  RunWorkload(&env, &progress);
  ASSERT_TRUE(progress.first_error.ok()) << progress.first_error;
  ReaderOptions options;
  options.env = &env;
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(kPath, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE((*reader)->sealed());
  EXPECT_TRUE((*reader)->Verify().ok()) << (*reader)->Verify();
  EXPECT_TRUE(Matches(**reader, progress.committed));
}

}  // namespace
}  // namespace storage
}  // namespace flatpyramid
