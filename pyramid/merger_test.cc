// MergePyramids against a single build: the shards of N = 1, 2, 3 and 7 (build_pyramid
// --shard=i/N) merge into a pyramid whose every level holds the single build's tiles, byte
// for byte, with the same per-level statistics (so small tiles are shared as it shares them);
// shards that do not belong together are refused.
#include "pyramid/merger.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gdal_priv.h"
#include "gtest/gtest.h"
#include "pyramid/builder.h"
#include "pyramid/reader.h"
#include "pyramid/testing/pyramid_tiles.h"
#include "testing/files.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using test::DataPath;
using test::TempDir;
using test::TileAddress;

BuildOptions Landsat() {
  BuildOptions options;
  options.inputs = {DataPath("L7_ETMs.tif")};
  options.bands = {3, 2, 1};
  options.max_zoom = 15;  // 100 base tiles in 9 units of 4 x 4 tiles at zoom 13.
  options.threads = 2;
  options.creation_options = {{"bands", "3,2,1"}, {"max_zoom", "15"}};
  return options;
}

BuildOptions Etopo() {  // float32, elevation codec, 16 units at zoom 2 over the globe.
  BuildOptions options;
  options.inputs = {DataPath("etopo20.cdf")};
  options.source_srs = "EPSG:4326";
  options.max_zoom = 4;
  options.threads = 2;
  return options;
}

// BuildShards builds shards 0..count-1 of `options` and returns their paths.
std::vector<std::string> BuildShards(BuildOptions options, uint32_t count, const TempDir& dir) {
  std::vector<std::string> paths;
  for (uint32_t i = 0; i < count; ++i) {
    options.shard = BuildShard{i, count};
    options.creation_options["shard"] = absl::StrCat(i, "/", count);
    options.output = dir.Path(absl::StrCat("shard-", i, "-of-", count, ".fpyr"));
    absl::StatusOr<BuildResult> built = BuildPyramid(options);
    EXPECT_TRUE(built.ok()) << built.status();
    paths.push_back(options.output);
  }
  return paths;
}

PyramidMetadata MetadataOf(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  return reader.ok() ? (*reader)->metadata() : PyramidMetadata();
}

void ExpectMergesToTheSingleBuild(const BuildOptions& options, uint32_t count) {
  TempDir dir;
  BuildOptions single = options;
  single.output = dir.Path("single.fpyr");
  ASSERT_TRUE(BuildPyramid(single).ok());
  MergeOptions merge;
  merge.shards = BuildShards(options, count, dir);
  std::reverse(merge.shards.begin(), merge.shards.end());  // Any order.
  merge.output = dir.Path("merged.fpyr");
  absl::StatusOr<MergeResult> merged = MergePyramids(merge);
  ASSERT_TRUE(merged.ok()) << merged.status();

  absl::StatusOr<std::map<TileAddress, std::string>> want = test::ReadPyramidTiles(single.output);
  absl::StatusOr<std::map<TileAddress, std::string>> got = test::ReadPyramidTiles(merge.output);
  ASSERT_TRUE(want.ok() && got.ok());
  EXPECT_EQ(got->size(), want->size());
  for (const auto& [tile, bytes] : *want) {
    const auto [z, x, y] = tile;
    auto it = got->find(tile);
    ASSERT_NE(it, got->end()) << z << "/" << x << "/" << y << " missing from the merge";
    EXPECT_EQ(it->second, bytes) << z << "/" << x << "/" << y << " differs";
  }
  // Level by level the same counts, unique tiles, bytes and ranges; no shard info left.
  PyramidMetadata a = MetadataOf(single.output), b = MetadataOf(merge.output);
  ASSERT_EQ(a.levels_size(), b.levels_size());
  for (int i = 0; i < a.levels_size(); ++i) {
    EXPECT_EQ(a.levels(i).DebugString(), b.levels(i).DebugString()) << "level " << i;
  }
  EXPECT_FALSE(b.has_shard());
  EXPECT_EQ(b.creation_options().count("shard"), 0u);
  EXPECT_EQ(merged->tiles_copied + merged->tiles_formed, want->size());
  if (count > 1) {
    EXPECT_GT(merged->tiles_formed, 0u);
  } else {
    EXPECT_EQ(merged->tiles_formed, 0u);
  }
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(merge.output);
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE((*reader)->Verify().ok());
}

TEST(MergerTest, OneShardMergesToTheSingleBuild) { ExpectMergesToTheSingleBuild(Landsat(), 1); }
TEST(MergerTest, TwoShardsMergeToTheSingleBuild) { ExpectMergesToTheSingleBuild(Landsat(), 2); }
TEST(MergerTest, ThreeShardsMergeToTheSingleBuild) { ExpectMergesToTheSingleBuild(Landsat(), 3); }
TEST(MergerTest, SevenShardsMergeToTheSingleBuild) { ExpectMergesToTheSingleBuild(Landsat(), 7); }
TEST(MergerTest, SevenElevationShardsOfTheGlobeMergeToTheSingleBuild) {
  ExpectMergesToTheSingleBuild(Etopo(), 7);
}

TEST(MergerTest, ShardsAreBalancedByTilesAndCoverEveryUnitOnce) {
  TempDir dir;
  const std::vector<std::string> shards = BuildShards(Landsat(), 3, dir);
  uint64_t next = 0, base_tiles = 0;
  for (const std::string& path : shards) {
    const PyramidMetadata m = MetadataOf(path);
    EXPECT_EQ(m.shard().begin_unit_key(), next);
    next = m.shard().end_unit_key();
    // 100 base tiles in units of 9, 12 or 16 (the 3 x 3 units cut 10 x 10 tiles as 3, 4,
    // 3 per side): each shard's count is within half a unit (8) of 100 / 3.
    const uint64_t tiles = m.levels(15).tile_count();
    EXPECT_GE(tiles, 26u) << path;
    EXPECT_LE(tiles, 41u) << path;
    base_tiles += tiles;
  }
  EXPECT_EQ(base_tiles, 100u);
  EXPECT_EQ(next, uint64_t{1} << 26);  // 4^13.
}

TEST(MergerTest, ShardsOfDifferentFlagsAreRefusedNamingTheFlag) {
  TempDir dir;
  std::vector<std::string> shards = BuildShards(Landsat(), 2, dir);
  BuildOptions other = Landsat();
  other.quality = 70;
  other.creation_options["quality"] = "70";
  TempDir other_dir;
  shards[1] = BuildShards(other, 2, other_dir)[1];
  MergeOptions merge{shards, dir.Path("merged.fpyr")};
  absl::StatusOr<MergeResult> merged = MergePyramids(merge);
  EXPECT_EQ(merged.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(merged.status().message(),
            absl::StrCat(shards[1], " and ", shards[0],
                         " were built with different options (creation option quality): build "
                         "every shard with the same flags"));
  EXPECT_NE(access(merge.output.c_str(), F_OK), 0);
}

TEST(MergerTest, OverlappingOrMissingShardsAreRefused) {
  TempDir dir;
  const std::vector<std::string> shards = BuildShards(Landsat(), 3, dir);
  MergeOptions twice{{shards[0], shards[1], shards[1]}, dir.Path("merged.fpyr")};
  EXPECT_EQ(
      MergePyramids(twice).status().message(),
      absl::StrCat(shards[1], " and ", shards[1], " are both shard 1/3: their ranges overlap"));
  MergeOptions missing{{shards[0], shards[2]}, dir.Path("merged.fpyr")};
  EXPECT_EQ(MergePyramids(missing).status().message(),
            absl::StrCat(shards[0], " is shard 0/3 but 2 shards were given: give all of them"));
  // Shards of another count are other ranges.
  const std::vector<std::string> halves = BuildShards(Landsat(), 2, dir);
  MergeOptions mixed{{shards[0], halves[1]}, dir.Path("merged.fpyr")};
  EXPECT_EQ(MergePyramids(mixed).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(access(dir.Path("merged.fpyr").c_str(), F_OK), 0);
}

TEST(MergerTest, RefusesAPyramidThatIsNoShardAndAnOutputThatIsAShard) {
  TempDir dir;
  BuildOptions single = Landsat();
  single.output = dir.Path("single.fpyr");
  ASSERT_TRUE(BuildPyramid(single).ok());
  MergeOptions not_shard{{single.output}, dir.Path("merged.fpyr")};
  EXPECT_EQ(MergePyramids(not_shard).status().message(),
            absl::StrCat(single.output, " is not a shard: build the shards with --shard=i/N"));
  const std::vector<std::string> shards = BuildShards(Landsat(), 1, dir);
  MergeOptions onto_input{shards, shards[0], /*overwrite=*/true};
  EXPECT_EQ(MergePyramids(onto_input).status().message(),
            absl::StrCat("the output ", shards[0], " is the shard ", shards[0],
                         ": write the merged pyramid to another file"));
  MergeOptions exists{shards, single.output};
  EXPECT_EQ(MergePyramids(exists).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(MergerTest, KernelOverviewsCannotBeSharded) {
  TempDir dir;
  BuildOptions options = Landsat();
  options.overview_resampling = Resampling::kCubic;
  options.shard = BuildShard{0, 2};
  options.output = dir.Path("shard.fpyr");
  absl::StatusOr<BuildResult> built = BuildPyramid(options);
  EXPECT_EQ(built.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
