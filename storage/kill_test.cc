// Real processes: a child writer is killed with SIGKILL at random moments, again and again; after
// each kill the file must open (or be repaired by OpenForAppend) with every committed entry
// intact, and the next child resumes after the last committed key. On ext4 (INSERT_RANGE) and on
// /dev/shm (tmpfs: the tail-moving fallback).
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/store.h"
#include "testing/files.h"

namespace flatpyramid {
namespace storage {
namespace {

using ::flatpyramid::test::Filesystem;
using ::flatpyramid::test::TempDir;

constexpr uint32_t kSections = 4;

size_t SizeFor(uint32_t section, uint64_t key) { return (key * 7919 + section * 131) % 20000; }

std::string ValueFor(uint32_t section, uint64_t key) {
  std::string value(SizeFor(section, key), '\0');
  for (size_t i = 0; i < value.size(); ++i) {
    value[i] = static_cast<char>(key * 131 + section * 17 + i);
  }
  return value;
}

WriterOptions Options() {
  WriterOptions options;
  options.initial_key_capacity = 4096;
  options.initial_location_capacity = 4096;
  options.initial_value_capacity = 4096;
  return options;
}

// The child: create or resume, then append key = last + 1 to every section in turn, committing
// every 16 appends (and writing a byte to `commits` after each), until killed. Exit code 2 on
// any error.
[[noreturn]] void ChildWriter(const std::string& path, int commits) {
  absl::StatusOr<std::unique_ptr<Writer>> writer = ::access(path.c_str(), F_OK) == 0
                                                       ? Writer::OpenForAppend(path, Options())
                                                       : Writer::Create(path, Options());
  if (absl::IsDataLoss(writer.status()) &&
      writer.status().message().find("not a flatpyramid store") != std::string::npos) {
    // The previous child was killed inside Create, before its first header: start over.
    WriterOptions overwrite = Options();
    overwrite.overwrite = true;
    writer = Writer::Create(path, overwrite);
  }
  if (!writer.ok()) _exit(2);
  for (uint32_t s = 0; s < kSections; ++s) {
    if (!(*writer)->FindSection(absl::StrCat("s", s)).has_value() &&
        !(*writer)->AddSection(absl::StrCat("s", s)).ok()) {
      _exit(2);
    }
  }
  for (uint64_t i = 0;; ++i) {
    const uint32_t s = static_cast<uint32_t>(i % kSections);
    const uint64_t key = (*writer)->LastKey(s).value_or(0) + 1;
    if (!(*writer)->Append(s, key, ValueFor(s, key)).ok()) _exit(2);
    if (i % 16 == 15) {
      if (!(*writer)->Commit().ok()) _exit(2);
      const char byte = 1;
      if (::write(commits, &byte, 1) != 1) _exit(2);
    }
  }
}

// Checks every entry; returns the total committed entries.
uint64_t CheckFile(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
  if (absl::IsFailedPrecondition(reader.status())) {
    // Killed in the middle of a fallback tail move: a writer finishes it.
    absl::StatusOr<std::unique_ptr<Writer>> writer = Writer::OpenForAppend(path, Options());
    EXPECT_TRUE(writer.ok()) << writer.status();
    writer->reset();
    reader = Reader::Open(path);
  }
  if (absl::IsDataLoss(reader.status()) &&
      reader.status().message().find("not a flatpyramid store") != std::string::npos) {
    return 0;  // Killed inside Create, before the first header was written.
  }
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return 0;
  EXPECT_TRUE((*reader)->Verify().ok()) << (*reader)->Verify();
  uint64_t total = 0;
  for (uint32_t s = 0; s < (*reader)->section_count(); ++s) {
    EXPECT_EQ((*reader)->section_name(s), absl::StrCat("s", s));
    for (uint64_t i = 0; i < (*reader)->entry_count(s); ++i) {
      EXPECT_EQ((*reader)->KeyAt(s, i), i + 1);
      if ((*reader)->ValueAt(s, i) != ValueFor(s, i + 1)) {
        ADD_FAILURE() << "section " << s << " entry " << i << " has wrong bytes";
        return total;
      }
    }
    total += (*reader)->entry_count(s);
  }
  return total;
}

class KillTest : public ::testing::TestWithParam<Filesystem> {};

TEST_P(KillTest, KilledWritersLeaveEveryCommittedEntryAndResume) {
  TempDir dir(GetParam());
  const std::string path = dir.Path("killed.fpyr");
  std::mt19937_64 random(GetParam() == Filesystem::kDisk ? 1 : 2);
  uint64_t committed = 0;
  for (int round = 0; round < 20; ++round) {
    int commits[2];
    ASSERT_EQ(::pipe(commits), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(commits[0]);
      ChildWriter(path, commits[1]);
    }
    ::close(commits[1]);
    // Odd rounds kill at any moment (inside Create, recovery, AddSection too); even rounds
    // first wait for one commit, so that the file grows however slow the machine is.
    if (round % 2 == 0) {
      char byte;
      ASSERT_EQ(::read(commits[0], &byte, 1), 1) << "the child writer failed in round " << round;
    }
    ::usleep(static_cast<useconds_t>(2000 + random() % 60000));
    if (round == 0) {
      // While the child lives, readers are refused.
      absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
      if (!absl::IsNotFound(reader.status())) {
        EXPECT_TRUE(absl::IsUnavailable(reader.status())) << reader.status();
        EXPECT_NE(reader.status().message().find("being written by another process"),
                  std::string::npos);
      }
    }
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
    ::close(commits[0]);
    ASSERT_TRUE(WIFSIGNALED(wstatus))
        << "the child writer failed (exit " << WEXITSTATUS(wstatus) << ") in round " << round;
    const uint64_t total = CheckFile(path);
    if (::testing::Test::HasFailure()) return;
    EXPECT_GE(total, committed) << "round " << round << " lost committed entries";
    committed = total;
  }
  EXPECT_GT(committed, 100u);
}

INSTANTIATE_TEST_SUITE_P(Filesystems, KillTest,
                         ::testing::Values(Filesystem::kDisk, Filesystem::kTmpfs),
                         [](const ::testing::TestParamInfo<Filesystem>& info) {
                           return info.param == Filesystem::kDisk ? "Ext4" : "Tmpfs";
                         });

}  // namespace
}  // namespace storage
}  // namespace flatpyramid
