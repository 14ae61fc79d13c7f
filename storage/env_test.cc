// The Env seam: the POSIX Env refuses what is not a regular file without blocking, and the
// name operations (Stat, RenameFile, RemoveFile, GetChildren, SyncDirectory) behave as POSIX
// says; the fault-injection Env makes renames and removals crash points that a crash undoes
// unless the directory was synced.
#include "storage/env.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/testing/fault_injection_env.h"
#include "testing/files.h"

namespace flatpyramid {
namespace storage {
namespace {

using ::flatpyramid::test::Filesystem;
using ::flatpyramid::test::ReadFileOrDie;
using ::flatpyramid::test::TempDir;
using test::FaultInjectionEnv;

absl::Status WriteFile(Env* env, const std::string& path, absl::string_view bytes) {
  absl::StatusOr<std::unique_ptr<File>> file = env->Open(path, OpenMode::kCreateOrOpen);
  if (!file.ok()) return file.status();
  absl::Status status = (*file)->Write(0, bytes);
  if (status.ok()) status = (*file)->SyncData();
  return status;
}

TEST(PosixEnvTest, AFifoIsRefusedAtOnceNamingItInEveryOpenMode) {
  TempDir dir(Filesystem::kDisk);
  const std::string fifo = dir.Path("pipe.fpyr");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  for (OpenMode mode : {OpenMode::kReadOnly, OpenMode::kReadWrite, OpenMode::kCreateOrOpen}) {
    const absl::Status status = Env::Default()->Open(fifo, mode).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), fifo + ": is a FIFO (named pipe), not a regular file");
  }
  EXPECT_EQ(Env::Default()->Open("/dev/null", OpenMode::kReadOnly).status().message(),
            "/dev/null: is a character device, not a regular file");
}

TEST(PosixEnvTest, ADirectoryIsRefusedNamingIt) {
  TempDir dir(Filesystem::kDisk);
  const absl::Status read = Env::Default()->Open(dir.path(), OpenMode::kReadOnly).status();
  EXPECT_EQ(read.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(read.message(), dir.path() + ": is a directory, not a regular file");
  const absl::Status write = Env::Default()->Open(dir.path(), OpenMode::kCreateOrOpen).status();
  EXPECT_EQ(write.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(write.message(), dir.path() + ": is a directory, not a file");
}

TEST(PosixEnvTest, StatIdentifiesOneFileThroughSymbolicAndHardLinksAndDotDot) {
  TempDir dir(Filesystem::kDisk);
  Env* env = Env::Default();
  const std::string path = dir.Path("a.tif");
  ASSERT_TRUE(WriteFile(env, path, "12345").ok());
  ASSERT_EQ(::symlink(path.c_str(), dir.Path("link.tif").c_str()), 0);
  ASSERT_EQ(::link(path.c_str(), dir.Path("hard.tif").c_str()), 0);
  ASSERT_EQ(::mkdir(dir.Path("sub").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(env, dir.Path("other.tif"), "12345").ok());
  const absl::StatusOr<FileInfo> info = env->Stat(path);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->regular);
  EXPECT_EQ(info->size, 5u);
  for (const std::string& alias :
       {dir.Path("link.tif"), dir.Path("hard.tif"), dir.Path("sub/../a.tif")}) {
    const absl::StatusOr<FileInfo> same = env->Stat(alias);
    ASSERT_TRUE(same.ok()) << alias << ": " << same.status();
    EXPECT_EQ(same->device, info->device) << alias;
    EXPECT_EQ(same->inode, info->inode) << alias;
  }
  EXPECT_NE(env->Stat(dir.Path("other.tif"))->inode, info->inode);
  EXPECT_TRUE(env->Stat(dir.Path("sub"))->directory);
  EXPECT_EQ(env->Stat(dir.Path("none")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(env->FileExists(dir.Path("none")));
}

TEST(PosixEnvTest, RenameReplacesRemoveDeletesAndGetChildrenListsNames) {
  TempDir dir(Filesystem::kTmpfs);
  Env* env = Env::Default();
  ASSERT_TRUE(WriteFile(env, dir.Path("new"), "new bytes").ok());
  ASSERT_TRUE(WriteFile(env, dir.Path("old"), "old").ok());
  ASSERT_TRUE(env->RenameFile(dir.Path("new"), dir.Path("old")).ok());
  ASSERT_TRUE(env->SyncDirectory(dir.path()).ok());
  EXPECT_FALSE(env->FileExists(dir.Path("new")));
  EXPECT_EQ(env->Stat(dir.Path("old"))->size, 9u);
  absl::StatusOr<std::vector<std::string>> children = env->GetChildren(dir.path());
  ASSERT_TRUE(children.ok()) << children.status();
  EXPECT_EQ(*children, std::vector<std::string>{"old"});
  ASSERT_TRUE(env->RemoveFile(dir.Path("old")).ok());
  EXPECT_EQ(env->RemoveFile(dir.Path("old")).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(env->GetChildren(dir.path())->empty());
  EXPECT_EQ(env->GetChildren(dir.Path("none")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ParentDirectory("/a/b/c.fpyr"), "/a/b");
  EXPECT_EQ(ParentDirectory("c.fpyr"), ".");
  EXPECT_EQ(ParentDirectory("/c.fpyr"), "/");
}

TEST(FaultInjectionEnvTest, AnUnsyncedRenameIsUndoneByACrashAndASyncedOneIsKept) {
  FaultInjectionEnv env;
  ASSERT_TRUE(WriteFile(&env, "/d/old", "old").ok());
  ASSERT_TRUE(WriteFile(&env, "/d/tmp", "new").ok());
  const uint64_t new_inode = env.Stat("/d/tmp")->inode;
  ASSERT_TRUE(env.RenameFile("/d/tmp", "/d/old").ok());
  EXPECT_EQ(env.Contents("/d/old"), "new");
  EXPECT_EQ(env.Stat("/d/old")->inode, new_inode);
  const FaultInjectionEnv::Snapshot renamed = env.TakeSnapshot();
  env.Crash(FaultInjectionEnv::CrashMode::kDropUnsynced, 0);
  EXPECT_EQ(env.Contents("/d/old"), "old");
  EXPECT_EQ(env.Contents("/d/tmp"), "new");
  env.Restore(renamed);
  env.Crash(FaultInjectionEnv::CrashMode::kKeepUnsynced, 0);
  EXPECT_EQ(env.Contents("/d/old"), "new");
  EXPECT_FALSE(env.FileExists("/d/tmp"));

  ASSERT_TRUE(env.RemoveFile("/d/old").ok());
  ASSERT_TRUE(env.SyncDirectory("/d").ok());
  env.Crash(FaultInjectionEnv::CrashMode::kDropUnsynced, 0);
  EXPECT_FALSE(env.FileExists("/d/old"));
}

TEST(FaultInjectionEnvTest, RenameRemoveAndSyncDirectoryAreCrashPoints) {
  FaultInjectionEnv env;
  ASSERT_TRUE(WriteFile(&env, "/d/a", "a").ok());
  ASSERT_TRUE(WriteFile(&env, "/d/b", "b").ok());
  env.CrashAfter(0);
  EXPECT_EQ(env.RenameFile("/d/a", "/d/c").code(), absl::StatusCode::kAborted);
  EXPECT_EQ(env.RemoveFile("/d/b").code(), absl::StatusCode::kAborted);
  EXPECT_EQ(env.SyncDirectory("/d").code(), absl::StatusCode::kAborted);
  env.Crash(FaultInjectionEnv::CrashMode::kKeepUnsynced, 0);
  absl::StatusOr<std::vector<std::string>> children = env.GetChildren("/d");
  ASSERT_TRUE(children.ok());
  std::sort(children->begin(), children->end());
  EXPECT_EQ(*children, (std::vector<std::string>{"a", "b"}));
  env.FailOperation(1, absl::ResourceExhaustedError("ENOSPC (simulated)"));
  EXPECT_TRUE(env.RenameFile("/d/a", "/d/c").ok());
  EXPECT_EQ(env.RemoveFile("/d/b").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(env.Contents("/d/c"), "a");
}

// Patterned bytes, so that a copy from a wrong offset cannot compare equal.
std::string Pattern(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131) ^ (i >> 11));
  return bytes;
}

// Copies [5000, 5000 + 2.5 MiB) of a 3 MiB file of `source_env` at `source_dir` to offset 123
// of a new POSIX file and returns the new file's bytes.
std::string CopyRange(Env* source_env, const std::string& source_path,
                      const std::string& destination_path) {
  const std::string bytes = Pattern(3 << 20);
  EXPECT_TRUE(WriteFile(source_env, source_path, bytes).ok());
  absl::StatusOr<std::unique_ptr<File>> source = source_env->Open(source_path, OpenMode::kReadOnly);
  absl::StatusOr<std::unique_ptr<File>> destination =
      Env::Default()->Open(destination_path, OpenMode::kCreateExclusive);
  EXPECT_TRUE(source.ok() && destination.ok());
  const absl::Status status = (*destination)->CopyFrom(source->get(), 5000, 123, (5 << 19));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ((*destination)->Size().value(), 123u + (5 << 19));
  return ReadFileOrDie(destination_path);
}

std::string Expected() { return std::string(123, '\0') + Pattern(3 << 20).substr(5000, 5 << 19); }

TEST(CopyFromTest, CopiesBetweenTwoPosixFilesInTheKernelAtUnalignedOffsets) {
  TempDir dir(Filesystem::kDisk);
  EXPECT_EQ(CopyRange(Env::Default(), dir.Path("a"), dir.Path("b")), Expected());
}

TEST(CopyFromTest, CopiesFromAnotherFilesystemWhereTheKernelRefusesOrNot) {
  // tmpfs to ext4: copy_file_range fails with EXDEV on kernels since 5.19 (and 5.2 and
  // older), and the buffered fallback copies instead; the bytes are the same either way.
  TempDir shm(Filesystem::kTmpfs);
  TempDir disk(Filesystem::kDisk);
  EXPECT_EQ(CopyRange(Env::Default(), shm.Path("a"), disk.Path("b")), Expected());
}

TEST(CopyFromTest, AFileOfAnotherEnvIsCopiedThroughABuffer) {
  FaultInjectionEnv memory;
  TempDir dir(Filesystem::kDisk);
  EXPECT_EQ(CopyRange(&memory, "/memory/a", dir.Path("b")), Expected());
}

TEST(CopyFromTest, ASourceThatEndsEarlyIsOutOfRangeInBothPaths) {
  TempDir dir(Filesystem::kDisk);
  FaultInjectionEnv memory;
  ASSERT_TRUE(WriteFile(Env::Default(), dir.Path("short"), "0123456789").ok());
  ASSERT_TRUE(WriteFile(&memory, "/memory/short", "0123456789").ok());
  for (auto [env, path] : {std::make_pair<Env*, std::string>(Env::Default(), dir.Path("short")),
                           std::make_pair<Env*, std::string>(&memory, "/memory/short")}) {
    absl::StatusOr<std::unique_ptr<File>> source = env->Open(path, OpenMode::kReadOnly);
    ASSERT_TRUE(source.ok());
    absl::StatusOr<std::unique_ptr<File>> destination =
        Env::Default()->Open(dir.Path("out"), OpenMode::kCreateOrOpen);
    ASSERT_TRUE(destination.ok());
    const absl::Status status = (*destination)->CopyFrom(source->get(), 4, 0, 20);
    EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange) << path << ": " << status;
  }
}

TEST(CopyFromTest, CopyThroughBufferCopiesMoreThanOneBufferBetweenMemoryFiles) {
  FaultInjectionEnv memory;
  const std::string bytes = Pattern((1 << 20) * 2 + 77);
  ASSERT_TRUE(WriteFile(&memory, "/memory/a", bytes).ok());
  absl::StatusOr<std::unique_ptr<File>> source = memory.Open("/memory/a", OpenMode::kReadOnly);
  absl::StatusOr<std::unique_ptr<File>> destination =
      memory.Open("/memory/b", OpenMode::kCreateExclusive);
  ASSERT_TRUE(source.ok() && destination.ok());
  ASSERT_TRUE(CopyThroughBuffer(source->get(), 1, destination->get(), 0, bytes.size() - 1).ok());
  destination->reset();
  EXPECT_EQ(memory.Contents("/memory/b"), bytes.substr(1));
}

}  // namespace
}  // namespace storage
}  // namespace flatpyramid
