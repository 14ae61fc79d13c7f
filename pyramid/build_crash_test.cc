// Crash safety of a build, tested the way storage/crash_test tests the store: a small build
// (a synthetic raster, a few units, a commit point after every unit) is stopped at EVERY
// operation on its store and side files, what reached the disk is chosen (nothing unsynced, or
// a random prefix of it), and a --resume must then give a pyramid identical, tile for tile and
// in its metadata (but for the creation time), to a clean build. The same for an --overwrite
// of an existing pyramid, which must stay whole and readable until the new one replaces it.
// The output lives in storage's fault-injection Env; the input is a real file that GDAL reads.
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pyramid/builder.h"
#include "pyramid/format.h"
#include "pyramid/resampling.h"
#include "pyramid/testing/crash_files.h"
#include "storage/store.h"
#include "storage/testing/fault_injection_env.h"
#include "testing/files.h"
#include "testing/synthetic_raster.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using storage::test::FaultInjectionEnv;

constexpr char kDir[] = "/crash";
constexpr char kOutput[] = "/crash/out.fpyr";

using SplitEnv = test::SplitEnv;
using Pyramid = test::PyramidContent;

absl::StatusOr<Pyramid> ReadPyramid(storage::Env* env, const std::string& path) {
  return test::ReadPyramidContent(env, path);
}

// WriteInput writes the test's input at `path`: 0.6 x 0.6 degrees around (0, 0), 3 bands of
// `pattern`; at zoom 10, 3 x 3 tiles around the centre of the world.
absl::Status WriteInput(const std::string& path, test::SyntheticPattern pattern) {
  test::SyntheticRasterSpec spec;
  spec.width = 192;
  spec.height = 192;
  spec.bands = 3;
  spec.geotransform = {-0.3, 0.6 / 192, 0, 0.3, 0, -0.6 / 192};
  spec.pattern = pattern;
  absl::StatusOr<GDALDatasetUniquePtr> raster = test::MakeSyntheticRaster(spec);
  if (!raster.ok()) return raster.status();
  return test::WriteRaster(**raster, path);
}

// The crash points of a build are split in kParts parts (operation n goes to part n % kParts)
// so that test shards balance; the cases that crash once run in part 0 only. Under
// CrashPointStride() > 1 a part takes every stride-th of its points.
constexpr int kParts = 4;

struct CrashCase {
  std::string overviews;  // "" for averaged overviews, else a kernel (it spills tiles).
  int part;
};

void PrintTo(const CrashCase& c, std::ostream* os) {
  *os << (c.overviews.empty() ? "average" : c.overviews) << " overviews, part " << c.part;
}

class BuildCrashTest : public ::testing::TestWithParam<CrashCase> {
 protected:
  static void SetUpTestSuite() {
    GDALAllRegister();
    dir_ = new test::TempDir();
    ASSERT_TRUE(WriteInput(dir_->Path("in.tif"), test::SyntheticPattern::kGradient).ok());
  }
  static void TearDownTestSuite() { delete dir_; }

  BuildOptions Options(storage::Env* env) const {
    BuildOptions options;
    options.inputs = {dir_->Path("in.tif")};
    options.output = kOutput;
    // Kernel overviews spill the unit zoom's tiles to a side file when levels lie above it.
    options.min_zoom = overviews().empty() ? 9 : 8;
    options.max_zoom = 10;
    options.codec = TileCodec::kPng;
    if (!overviews().empty()) options.overview_resampling = *ParseResampling(overviews());
    options.threads = 1;
    options.commit_interval = absl::ZeroDuration();  // A commit point after every unit.
    options.env = env;
    return options;
  }

  const std::string& overviews() const { return GetParam().overviews; }
  int part() const { return GetParam().part; }

  // Clean builds the pyramid without faults and returns it and the operations it took.
  void Clean(TileCodec codec, Pyramid* pyramid, int64_t* operations) const {
    FaultInjectionEnv faults;
    faults.AddDirectory(kDir);
    SplitEnv env(kDir, &faults);
    BuildOptions options = Options(&env);
    options.codec = codec;
    absl::StatusOr<BuildResult> built = BuildPyramid(options);
    ASSERT_TRUE(built.ok()) << built.status();
    ASSERT_GE(built->units, 3u);
    *operations = faults.operation_count();
    absl::StatusOr<Pyramid> read = ReadPyramid(&faults, kOutput);
    ASSERT_TRUE(read.ok()) << read.status();
    *pyramid = *std::move(read);
  }

  static test::TempDir* dir_;
};

test::TempDir* BuildCrashTest::dir_ = nullptr;

constexpr FaultInjectionEnv::CrashMode kModes[] = {FaultInjectionEnv::CrashMode::kDropUnsynced,
                                                   FaultInjectionEnv::CrashMode::kKeepRandomPrefix};

// ExpectOnlyTheOutput checks that no side file or temporary is left beside the output.
void ExpectOnlyTheOutput(FaultInjectionEnv* faults) {
  absl::StatusOr<std::vector<std::string>> children = faults->GetChildren(kDir);
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(*children, std::vector<std::string>{"out.fpyr"});
}

// StopAt stops a build after `n` operations; what reached the disk is not chosen yet.
void StopAt(const BuildOptions& options, FaultInjectionEnv* faults, int64_t n) {
  faults->CrashAfter(n);
  ASSERT_FALSE(BuildPyramid(options).ok()) << "the build did not stop at operation " << n;
}

// Resume keeps what reached the disk in crash mode `m` and returns how --resume went on.
absl::StatusOr<ResumeOutcome> Resume(BuildOptions options, FaultInjectionEnv* faults, int64_t n,
                                     int m) {
  faults->Crash(kModes[m], static_cast<uint64_t>(n * 2 + m));
  options.resume = true;
  absl::StatusOr<BuildResult> resumed = BuildPyramid(options);
  if (!resumed.ok()) return resumed.status();
  return resumed->resume_outcome;
}

TEST_P(BuildCrashTest, ACrashAtEveryOperationThenResumeGivesTheCleanBuild) {
  Pyramid clean;
  int64_t total = 0;
  Clean(TileCodec::kPng, &clean, &total);
  ASSERT_GT(total, 30);
  std::cout << overviews() << ": " << total << " operations in a clean build; part " << part()
            << " of " << kParts << "\n"
            << std::flush;
  for (int64_t n = part(); n < total; n += kParts * storage::test::CrashPointStride()) {
    FaultInjectionEnv faults;
    faults.AddDirectory(kDir);
    SplitEnv env(kDir, &faults);
    StopAt(Options(&env), &faults, n);
    const FaultInjectionEnv::Snapshot at_crash = faults.TakeSnapshot();
    for (int m = 0; m < 2; ++m) {
      SCOPED_TRACE(absl::StrCat("crash at operation ", n, " of ", total, ", mode ", m));
      faults.Restore(at_crash);
      absl::StatusOr<ResumeOutcome> resumed = Resume(Options(&env), &faults, n, m);
      ASSERT_TRUE(resumed.ok()) << resumed.status();
      absl::StatusOr<Pyramid> read = ReadPyramid(&faults, kOutput);
      ASSERT_TRUE(read.ok()) << read.status();
      ASSERT_TRUE(*read == clean);
      ExpectOnlyTheOutput(&faults);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// The cases that crash once or not at all: one per overview kind, part 0.
class BuildOnceTest : public BuildCrashTest {};

// Every state a stopped build can be in is reached by some crash point: before the first commit
// point (started over), while sealing (sealed only), after the last operation that matters
// (already finished) and between commit points (continued).
TEST_P(BuildOnceTest, EveryStateOfAStoppedBuildIsReached) {
  Pyramid clean;
  int64_t total = 0;
  Clean(TileCodec::kPng, &clean, &total);
  std::map<ResumeOutcome, int> outcomes;
  const auto crash_at = [&](int64_t n) {
    FaultInjectionEnv faults;
    faults.AddDirectory(kDir);
    SplitEnv env(kDir, &faults);
    StopAt(Options(&env), &faults, n);
    absl::StatusOr<ResumeOutcome> resumed = Resume(Options(&env), &faults, n, 0);
    ASSERT_TRUE(resumed.ok()) << "crash at operation " << n << ": " << resumed.status();
    ++outcomes[*resumed];
  };
  crash_at(0);
  // From the end backwards: finished, then sealing, then the first point between commits.
  for (int64_t n = total - 1; n > 0 && outcomes[ResumeOutcome::kContinued] == 0; --n) {
    crash_at(n);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(outcomes[ResumeOutcome::kStartedOver], 0);
  EXPECT_GT(outcomes[ResumeOutcome::kContinued], 0);
  EXPECT_GT(outcomes[ResumeOutcome::kSealedOnly], 0);
  EXPECT_GT(outcomes[ResumeOutcome::kAlreadyFinished], 0);
}

// An --overwrite of an existing pyramid stopped at any operation leaves the old pyramid whole
// (or the new one, once renamed); --resume then finishes the new one from its temporary.
TEST_P(BuildCrashTest, AnOverwriteStoppedAnywhereKeepsTheOldPyramidAndResumeReplacesIt) {
  Pyramid clean, old;
  int64_t total = 0, old_operations = 0;
  Clean(TileCodec::kPng, &clean, &total);
  Clean(TileCodec::kWebpLossless, &old, &old_operations);
  FaultInjectionEnv::Snapshot old_only;
  {
    FaultInjectionEnv faults;
    faults.AddDirectory(kDir);
    SplitEnv env(kDir, &faults);
    BuildOptions first = Options(&env);
    first.codec = TileCodec::kWebpLossless;  // Another pyramid of the same place.
    ASSERT_TRUE(BuildPyramid(first).ok());
    old_only = faults.TakeSnapshot();
  }
  int old_seen = 0, points = 0;
  for (int64_t n = part(); n < total + 8;
       n += kParts * storage::test::CrashPointStride(), ++points) {
    SCOPED_TRACE(absl::StrCat("crash at operation ", n));
    FaultInjectionEnv faults;
    faults.AddDirectory(kDir);
    faults.Restore(old_only);
    SplitEnv env(kDir, &faults);
    BuildOptions overwrite = Options(&env);
    overwrite.overwrite = true;
    faults.CrashAfter(n);
    (void)BuildPyramid(overwrite);
    faults.Crash(FaultInjectionEnv::CrashMode::kDropUnsynced, static_cast<uint64_t>(n));
    absl::StatusOr<Pyramid> after_crash = ReadPyramid(&faults, kOutput);
    ASSERT_TRUE(after_crash.ok()) << after_crash.status();
    ASSERT_TRUE(*after_crash == old || *after_crash == clean);
    old_seen += *after_crash == old;
    overwrite.resume = true;
    absl::StatusOr<BuildResult> resumed = BuildPyramid(overwrite);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    absl::StatusOr<Pyramid> read = ReadPyramid(&faults, kOutput);
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_TRUE(*read == clean);
    ExpectOnlyTheOutput(&faults);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(old_seen, points / 2);  // Most crash points come before the rename.
}

// An input rewritten in place between a stop and --resume (same name, other pixels) would give
// half old, half new tiles: the resume is refused, naming the input.
TEST_P(BuildOnceTest, AResumeAfterAnInputWasRewrittenIsRefusedNamingIt) {
  const std::string input = dir_->Path(absl::StrCat("rewritten", overviews(), ".tif"));
  ASSERT_TRUE(WriteInput(input, test::SyntheticPattern::kGradient).ok());
  FaultInjectionEnv faults;
  faults.AddDirectory(kDir);
  SplitEnv env(kDir, &faults);
  BuildOptions options = Options(&env);
  options.inputs = {input};
  faults.CrashAfter(60);  // After the first commit points, before the end.
  ASSERT_FALSE(BuildPyramid(options).ok());
  faults.Crash(FaultInjectionEnv::CrashMode::kDropUnsynced, 0);
  // The same size, other pixels: a checkerboard instead of the gradient.
  ASSERT_TRUE(WriteInput(input, test::SyntheticPattern::kCheckerboard).ok());
  options.resume = true;
  const absl::Status refused = BuildPyramid(options).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_EQ(refused.message(),
            absl::StrCat("BuildOptions::resume: the input ", input,
                         " changed since the build started (size, modification time or "
                         "content): continuing would mix old and new pixels; rerun with "
                         "BuildOptions::overwrite to start again"));
}

// On a real filesystem: --overwrite of a pyramid that a reader holds open replaces it (the new
// file is renamed over the old name) while the reader goes on reading the old one.
TEST_P(BuildOnceTest, AnOverwriteReplacesAPyramidWhileAReaderKeepsTheOldOne) {
  test::TempDir dir;
  BuildOptions options = Options(nullptr);
  options.output = dir.Path(absl::StrCat("read", overviews(), ".fpyr"));
  options.codec = TileCodec::kWebpLossless;
  ASSERT_TRUE(BuildPyramid(options).ok());
  absl::StatusOr<Pyramid> old = ReadPyramid(storage::Env::Default(), options.output);
  ASSERT_TRUE(old.ok()) << old.status();
  absl::StatusOr<std::unique_ptr<storage::Reader>> reader = storage::Reader::Open(options.output);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const std::string old_tile((*reader)->ValueAt(*(*reader)->FindSection(SectionName(10)), 0));
  options.codec = TileCodec::kPng;
  options.overwrite = true;
  absl::StatusOr<BuildResult> replaced = BuildPyramid(options);
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_EQ((*reader)->ValueAt(*(*reader)->FindSection(SectionName(10)), 0), old_tile);
  absl::StatusOr<Pyramid> now = ReadPyramid(storage::Env::Default(), options.output);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_FALSE(*now == *old);
  EXPECT_FALSE(storage::Env::Default()->FileExists(options.output + ".partial"));
}

std::string CaseName(const ::testing::TestParamInfo<CrashCase>& info) {
  return absl::StrCat(info.param.overviews.empty() ? "Average" : "CubicKernel", "Part",
                      info.param.part);
}

std::vector<CrashCase> Cases(int parts) {
  std::vector<CrashCase> cases;
  for (const char* overviews : {"", "cubic"}) {
    for (int part = 0; part < parts; ++part) cases.push_back({overviews, part});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Overviews, BuildCrashTest, ::testing::ValuesIn(Cases(kParts)), CaseName);
INSTANTIATE_TEST_SUITE_P(Overviews, BuildOnceTest, ::testing::ValuesIn(Cases(1)), CaseName);

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
