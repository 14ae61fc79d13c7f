// Crash safety of an update (UpdatePyramid, build_pyramid --update), tested as
// build_crash_test tests a build: a small update (a synthetic raster updated with a patch on
// top) is stopped at EVERY operation on its files in storage's fault-injection Env, what was
// not synced is dropped, and then the pyramid at the output must be the old one or the
// updated one (never a mix), and a resumed update must give exactly a clean update's file,
// leaving no work file behind. The update runs in place (nobody reads the file), on a
// filesystem with INSERT_RANGE/COLLAPSE_RANGE (every operation) and on one without: there
// the tail copies make the update ~8 times as many operations (each a crash point that costs
// a whole update), so one in 24 is tried (storage's crash test tries every operation of the
// fallback), and a crash inside a tail copy leaves a file that readers refuse until the
// update is resumed.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pyramid/builder.h"
#include "pyramid/testing/crash_files.h"
#include "pyramid/updater.h"
#include "storage/testing/fault_injection_env.h"
#include "testing/files.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using storage::test::FaultInjectionEnv;
using test::PyramidContent;
using test::SplitEnv;

constexpr char kDir[] = "/crash";
constexpr char kOutput[] = "/crash/out.fpyr";

// WriteInput writes 3 bands of `pattern` over `degrees` square, west-north corner at
// (west, north), 320 pixels per degree.
absl::Status WriteInput(const std::string& path, test::SyntheticPattern pattern, double west,
                        double north, double degrees) {
  test::SyntheticRasterSpec spec;
  spec.width = spec.height = static_cast<int>(degrees * 320);
  spec.bands = 3;
  spec.geotransform = {west, 1.0 / 320, 0, north, 0, -1.0 / 320};
  spec.pattern = pattern;
  absl::StatusOr<GDALDatasetUniquePtr> raster = test::MakeSyntheticRaster(spec);
  if (!raster.ok()) return raster.status();
  return test::WriteRaster(**raster, path);
}

// A shard of the crash points: on `fallback` (no INSERT_RANGE) or not, operations n with
// n % stride == part.
struct CrashPart {
  bool fallback;
  int part;
  int stride;
};

class UpdateCrashTest : public ::testing::TestWithParam<CrashPart> {
 protected:
  static void SetUpTestSuite() {
    GDALAllRegister();
    dir_ = new test::TempDir();
    // At zoom 10, 3 x 3 tiles around the centre of the world; the patch touches one unit.
    ASSERT_TRUE(
        WriteInput(dir_->Path("base.tif"), test::SyntheticPattern::kGradient, -0.3, 0.3, 0.6).ok());
    ASSERT_TRUE(
        WriteInput(dir_->Path("patch.tif"), test::SyntheticPattern::kCheckerboard, 0.1, 0.25, 0.1)
            .ok());
  }
  static void TearDownTestSuite() { delete dir_; }

  static BuildOptions Options(storage::Env* env, const std::string& input) {
    BuildOptions options;
    options.inputs = {dir_->Path(input)};
    options.output = kOutput;
    options.min_zoom = 8;
    options.max_zoom = 10;
    options.codec = TileCodec::kPng;
    options.threads = 1;
    options.commit_interval = absl::ZeroDuration();  // A commit point after every unit.
    options.env = env;
    return options;
  }

  static test::TempDir* dir_;
};

test::TempDir* UpdateCrashTest::dir_ = nullptr;

void ExpectOnlyTheOutput(FaultInjectionEnv* faults) {
  absl::StatusOr<std::vector<std::string>> children = faults->GetChildren(kDir);
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(*children, std::vector<std::string>{"out.fpyr"});
}

// InPlace updates without compacting by itself (a quarter of this small pyramid's tile bytes
// are replaced, past kAutoCompactDeadFraction): the path under test is the one in place.
absl::StatusOr<UpdateResult> InPlace(const BuildOptions& options) {
  UpdateOptions update;
  update.auto_compact_dead_fraction = 1.0;
  return UpdatePyramid(options, update);
}

FaultInjectionEnv::Options Filesystem(bool fallback) {
  FaultInjectionEnv::Options options;
  options.supports_insert_range = !fallback;
  return options;
}

TEST_P(UpdateCrashTest, ACrashAtEveryOperationLeavesOldOrNewAndResumeGivesTheCleanUpdate) {
  const CrashPart& param = GetParam();
  FaultInjectionEnv::Snapshot built;
  PyramidContent old, clean;
  int64_t total = 0;
  {
    FaultInjectionEnv faults(Filesystem(param.fallback));
    faults.AddDirectory(kDir);
    SplitEnv env(kDir, &faults);
    ASSERT_TRUE(BuildPyramid(Options(&env, "base.tif")).ok());
    built = faults.TakeSnapshot();
    absl::StatusOr<PyramidContent> read = test::ReadPyramidContent(&faults, kOutput);
    ASSERT_TRUE(read.ok()) << read.status();
    old = *read;
    const int64_t before = faults.operation_count();
    absl::StatusOr<UpdateResult> updated = InPlace(Options(&env, "patch.tif"));
    ASSERT_TRUE(updated.ok()) << updated.status();
    ASSERT_GT(updated->tiles_written, 0u);
    ASSERT_EQ(updated->path, UpdatePath::kInPlace);
    ASSERT_GT(param.fallback ? updated->storage.tail_moves : updated->storage.insert_range_calls,
              0u);
    total = faults.operation_count() - before;
    read = test::ReadPyramidContent(&faults, kOutput);
    ASSERT_TRUE(read.ok()) << read.status();
    clean = *read;
    ASSERT_FALSE(clean == old);
  }
  std::cout << total << " operations in a clean update" << (param.fallback ? " (fallback)" : "")
            << "; this part crashes at every " << param.stride << "th from " << param.part << "\n"
            << std::flush;
  int old_seen = 0, refused = 0, points = 0;
  for (int64_t n = param.part; n < total;
       n += param.stride * storage::test::CrashPointStride(), ++points) {
    SCOPED_TRACE(absl::StrCat("crash at operation ", n, " of ", total));
    FaultInjectionEnv faults(Filesystem(param.fallback));
    faults.AddDirectory(kDir);
    faults.Restore(built);
    SplitEnv env(kDir, &faults);
    faults.CrashAfter(n);
    (void)InPlace(Options(&env, "patch.tif"));
    faults.Crash(FaultInjectionEnv::CrashMode::kDropUnsynced, static_cast<uint64_t>(n));
    absl::StatusOr<PyramidContent> after_crash = test::ReadPyramidContent(&faults, kOutput);
    if (param.fallback && absl::IsFailedPrecondition(after_crash.status())) {
      ++refused;  // Stopped inside a tail copy; the resume below finishes it.
    } else {
      ASSERT_TRUE(after_crash.ok()) << after_crash.status();
      ASSERT_TRUE(*after_crash == old || *after_crash == clean);
      old_seen += *after_crash == old;
    }
    BuildOptions resume = Options(&env, "patch.tif");
    resume.resume = true;
    absl::StatusOr<UpdateResult> resumed = InPlace(resume);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    absl::StatusOr<PyramidContent> read = test::ReadPyramidContent(&faults, kOutput);
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_TRUE(*read == clean);
    ExpectOnlyTheOutput(&faults);
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::cout << "old pyramid after " << old_seen << ", refused until resumed (inside a tail copy) "
            << refused << "\n";
  if (param.fallback) {
    EXPECT_GT(old_seen, 0);
    EXPECT_GT(refused, 0);
  } else {  // Most crash points come before the commit that switches the levels.
    EXPECT_GT(old_seen, points / 2);
  }
}

// 12 parts with INSERT_RANGE; 4 with the fallback, one operation in 24 (stride 96).
std::vector<CrashPart> CrashParts() {
  std::vector<CrashPart> parts;
  for (int part = 0; part < 12; ++part) parts.push_back({false, part, 12});
  for (int part = 0; part < 96; part += 24) parts.push_back({true, part + 5, 96});
  return parts;
}

INSTANTIATE_TEST_SUITE_P(Parts, UpdateCrashTest, ::testing::ValuesIn(CrashParts()),
                         [](const ::testing::TestParamInfo<CrashPart>& info) {
                           return absl::StrCat(info.param.fallback ? "Fallback" : "InsertRange",
                                               info.param.part);
                         });

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
