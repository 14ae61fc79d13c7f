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

}  // namespace
}  // namespace storage
}  // namespace flatpyramid
