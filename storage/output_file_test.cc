#include "storage/output_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
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

TEST(OutputFileTest, AnExistingOutputIsRefusedUnlessOverwriteAndThenReplacedWhole) {
  TempDir dir(Filesystem::kDisk);
  const std::string output = dir.Path("tile.png");
  OutputOptions options;
  ASSERT_TRUE(WriteOutputFile(output, "first", options).ok());
  const absl::Status refused = WriteOutputFile(output, "second", options);
  EXPECT_EQ(refused.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(refused.message(), output + ": exists; set OutputOptions::overwrite to replace it");
  EXPECT_EQ(ReadFileOrDie(output), "first");
  options.overwrite = true;
  ASSERT_TRUE(WriteOutputFile(output, "second", options).ok());
  EXPECT_EQ(ReadFileOrDie(output), "second");
  EXPECT_FALSE(Env::Default()->FileExists(TemporaryPath(output)));
}

TEST(OutputFileTest, AnOutputThatIsAnInputThroughLinksOrDotDotIsRefusedAndTheInputKept) {
  TempDir dir(Filesystem::kDisk);
  const std::string input = dir.Path("p.fpyr");
  OutputOptions options;
  ASSERT_TRUE(WriteOutputFile(input, "pyramid", options).ok());
  ASSERT_EQ(::symlink(input.c_str(), dir.Path("link.fpyr").c_str()), 0);
  ASSERT_EQ(::link(input.c_str(), dir.Path("hard.fpyr").c_str()), 0);
  ASSERT_EQ(::mkdir(dir.Path("sub").c_str(), 0755), 0);
  options.overwrite = true;
  options.inputs = {input};
  for (const std::string& output :
       {input, dir.Path("link.fpyr"), dir.Path("hard.fpyr"), dir.Path("sub/../p.fpyr")}) {
    const absl::Status status = WriteOutputFile(output, "tile", options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << output;
    EXPECT_EQ(status.message(), absl::StrCat(output, ": is the input ", input,
                                             " (the same file); write the output to another path"));
  }
  // The input named through a link is recognised the same way.
  options.inputs = {dir.Path("link.fpyr")};
  EXPECT_EQ(CheckOutput(input, options).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadFileOrDie(input), "pyramid");
}

TEST(OutputFileTest, DirectoriesDevicesAndMissingDirectoriesAreNamedAsSuch) {
  TempDir dir(Filesystem::kDisk);
  OutputOptions options;
  options.overwrite = true;
  EXPECT_EQ(CheckOutput(dir.path(), options).message(),
            dir.path() + ": is a directory; give a file path (inside it, for example)");
  EXPECT_EQ(CheckOutput("/dev/null", options).message(),
            "/dev/null: is not a regular file (a device, FIFO or socket); give a file path");
  const std::string missing = dir.Path("no/such/dir/out.tif");
  EXPECT_EQ(
      CheckOutput(missing, options).message(),
      missing + ": the directory " + dir.Path("no/such/dir") + " does not exist; create it first");
  EXPECT_TRUE(CheckOutput(dir.Path("new.tif"), options).ok());
}

// A crash at any operation of a replacement leaves the old file or the new one, whole.
TEST(OutputFileTest, AnOutputDirectoryIsReplacedWholeButNeverOneHoldingAnInput) {
  TempDir dir(Filesystem::kDisk);
  const std::string output = dir.Path("tiles");
  OutputOptions options;
  options.directory = true;
  options.inputs = {dir.Path("in.fpyr")};
  ASSERT_TRUE(WriteOutputFile(dir.Path("in.fpyr"), "pyramid", {}).ok());
  // A first tree, then a second one replacing it whole (its old file gone).
  for (const char* name : {"old.png", "new.png"}) {
    ASSERT_TRUE(CheckOutput(output, options).ok()) << CheckOutput(output, options);
    const std::string temporary = TemporaryPath(output);
    ASSERT_EQ(::mkdir(temporary.c_str(), 0755), 0);
    ASSERT_TRUE(WriteOutputFile(absl::StrCat(temporary, "/", name), name, {}).ok());
    ASSERT_TRUE(CommitOutput(temporary, output).ok());
    options.overwrite = true;
  }
  EXPECT_EQ(ReadFileOrDie(dir.Path("tiles/new.png")), "new.png");
  EXPECT_FALSE(Env::Default()->FileExists(dir.Path("tiles/old.png")));
  EXPECT_FALSE(Env::Default()->FileExists(TemporaryPath(output)));
  EXPECT_FALSE(Env::Default()->FileExists(TemporaryPath(TemporaryPath(output))));
  // Without overwrite, over a file, and over the directory holding the input: refused.
  options.overwrite = false;
  EXPECT_EQ(CheckOutput(output, options).code(), absl::StatusCode::kAlreadyExists);
  options.overwrite = true;
  EXPECT_EQ(CheckOutput(dir.Path("in.fpyr"), options).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckOutput(dir.path(), options).message(),
            absl::StrCat(dir.path(), ": the directory holds the input ", dir.Path("in.fpyr"),
                         "; replacing it would delete the input: write the output to another "
                         "path"));
  // RemoveOutput removes a whole tree.
  RemoveOutput(output);
  EXPECT_FALSE(Env::Default()->FileExists(output));
  EXPECT_EQ(ReadFileOrDie(dir.Path("in.fpyr")), "pyramid");
}

TEST(OutputFileTest, ACrashAtEveryOperationLeavesTheOldOrTheNewFileNeverAPart) {
  OutputOptions options;
  options.overwrite = true;
  int64_t total = 0;
  {
    FaultInjectionEnv env;
    env.SetContents("/d/out", "old contents");
    options.env = &env;
    ASSERT_TRUE(WriteOutputFile("/d/out", "new contents, longer", options).ok());
    total = env.operation_count();
  }
  ASSERT_GE(total, 5);  // Truncate, write, sync, rename, directory sync.
  int old_seen = 0, new_seen = 0;
  for (int64_t n = 0; n <= total; ++n) {
    for (auto mode : {FaultInjectionEnv::CrashMode::kDropUnsynced,
                      FaultInjectionEnv::CrashMode::kKeepRandomSubset}) {
      FaultInjectionEnv env;
      env.SetContents("/d/out", "old contents");
      options.env = &env;
      env.CrashAfter(n);
      (void)WriteOutputFile("/d/out", "new contents, longer", options);
      env.Crash(mode, static_cast<uint64_t>(n));
      const std::string contents = env.Contents("/d/out");
      ASSERT_TRUE(contents == "old contents" || contents == "new contents, longer")
          << "crash after operation " << n << ": \"" << contents << "\"";
      ++(contents == "old contents" ? old_seen : new_seen);
    }
  }
  EXPECT_GT(old_seen, 0);
  EXPECT_GT(new_seen, 0);
}

}  // namespace
}  // namespace storage
}  // namespace flatpyramid
