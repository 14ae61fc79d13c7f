// UpdatePyramid (build_pyramid --update) against full builds of the real Landsat sample: the
// western half updated with the eastern half equals a build of both halves tile for tile, a
// newer patch on top equals a build with it last, tiles away from the new input keep their
// bytes, in place (INSERT_RANGE on ext4, the tail copy on tmpfs) writing the new tiles and
// the index, not the file; an interrupted update leaves the old pyramid and resume finishes
// it; a reader open during the update makes it write a copy, and keeps its view.
#include "pyramid/updater.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gdal_priv.h"
#include "gdal_utils.h"
#include "gtest/gtest.h"
#include "pyramid/builder.h"
#include "pyramid/reader.h"
#include "pyramid/testing/pyramid_tiles.h"
#include "storage/env.h"
#include "testing/files.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using test::DataPath;
using test::TempDir;
using test::TileAddress;
using Tiles = std::map<TileAddress, std::string>;

class GdalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    GDALAllRegister();
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  }
};
const ::testing::Environment* const kGdal =
    ::testing::AddGlobalTestEnvironment(new GdalEnvironment);

// Translate runs gdal_translate with `args` from the Landsat sample into `output`.
void Translate(const std::vector<std::string>& args, const std::string& output) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  GDALTranslateOptions* options = GDALTranslateOptionsNew(argv.data(), nullptr);
  GDALDatasetH source = GDALOpen(DataPath("L7_ETMs.tif").c_str(), GA_ReadOnly);
  ASSERT_NE(source, nullptr);
  GDALDatasetH out = GDALTranslate(output.c_str(), source, options, nullptr);
  ASSERT_NE(out, nullptr);
  GDALClose(out);
  GDALClose(source);
  GDALTranslateOptionsFree(options);
}

// The sample is 349 x 352 pixels: a western part of 3/4 (so that its build cuts the same
// blocks as one of the whole), an eastern part that overlaps it by one column, and a newer
// patch (inverted colours) inside the eastern part.
struct Halves {
  TempDir dir;
  std::string west, east, patch;
};

const Halves& MakeHalves() {
  static const Halves* halves = [] {
    auto* h = new Halves;  // Lives as long as the test binary.
    const std::string dir = h->dir.path();
    h->west = dir + "/west.tif";
    h->east = dir + "/east.tif";
    h->patch = dir + "/patch.tif";
    Translate({"-srcwin", "0", "0", "262", "352"}, h->west);
    Translate({"-srcwin", "261", "0", "88", "352"}, h->east);
    Translate({"-srcwin", "280", "100", "40", "60", "-scale", "0", "255", "255", "0"}, h->patch);
    return h;
  }();
  return *halves;
}

BuildOptions Options(const std::vector<std::string>& inputs, const std::string& output) {
  BuildOptions options;
  options.inputs = inputs;
  options.bands = {3, 2, 1};
  options.codec = TileCodec::kPng;  // Lossless: every updated tile equals a full build's.
  options.output = output;
  options.max_zoom = 15;  // 9 units of 4 x 4 tiles at zoom 13.
  options.min_zoom = 8;
  options.threads = 2;
  return options;
}

Tiles Build(const BuildOptions& options) {
  absl::StatusOr<BuildResult> result = BuildPyramid(options);
  EXPECT_TRUE(result.ok()) << result.status();
  absl::StatusOr<Tiles> tiles = test::ReadPyramidTiles(options.output);
  EXPECT_TRUE(tiles.ok()) << tiles.status();
  return tiles.ok() ? *tiles : Tiles{};
}

Tiles ReadVerified(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (reader.ok()) {
    EXPECT_TRUE((*reader)->Verify().ok()) << (*reader)->Verify();
  }
  absl::StatusOr<Tiles> tiles = test::ReadPyramidTiles(path);
  EXPECT_TRUE(tiles.ok()) << tiles.status();
  return tiles.ok() ? *tiles : Tiles{};
}

uint64_t FileSize(const std::string& path) {
  absl::StatusOr<storage::FileInfo> info = storage::Env::Default()->Stat(path);
  EXPECT_TRUE(info.ok()) << info.status();
  return info.ok() ? info->size : 0;
}

// ExpectSame compares two pyramids' tiles, naming the first differences.
void ExpectSame(const Tiles& got, const Tiles& want) {
  int differences = 0;
  for (const auto& [tile, bytes] : want) {
    auto it = got.find(tile);
    if (it == got.end() || it->second != bytes) {
      if (++differences <= 80) {
        ADD_FAILURE() << "tile " << std::get<0>(tile) << "/" << std::get<1>(tile) << "/"
                      << std::get<2>(tile) << (it == got.end() ? " missing" : " differs");
      }
    }
  }
  for (const auto& entry : got) {
    if (want.count(entry.first) == 0 && ++differences <= 80) {
      ADD_FAILURE() << "tile " << std::get<0>(entry.first) << "/" << std::get<1>(entry.first) << "/"
                    << std::get<2>(entry.first) << " is extra";
    }
  }
  EXPECT_EQ(differences, 0);
  EXPECT_EQ(got.size(), want.size());
}

// WestOfColumn keeps the tiles of zoom >= 13 whose column is left of `column` at zoom 15.
Tiles WestOfColumn(const Tiles& tiles, uint32_t column) {
  Tiles kept;
  for (const auto& [tile, bytes] : tiles) {
    const int z = std::get<0>(tile);
    if (z >= 13 && (std::get<1>(tile) + 1) << (15 - z) <= column) kept[tile] = bytes;
  }
  return kept;
}

uint64_t Inode(const std::string& path) {
  absl::StatusOr<storage::FileInfo> info = storage::Env::Default()->Stat(path);
  EXPECT_TRUE(info.ok()) << info.status();
  return info.ok() ? info->inode : 0;
}

// ExpectTheOldView checks that `reader`, opened before an update, still reads every tile of
// `before` and nothing else.
void ExpectTheOldView(const Reader& reader, const Tiles& before, const Tiles& after) {
  for (const auto& [tile, bytes] : before) {
    absl::StatusOr<absl::string_view> got =
        reader.GetTileBytes(std::get<0>(tile), std::get<1>(tile), std::get<2>(tile));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, bytes);
  }
  EXPECT_TRUE(reader.Verify().ok());
  int only_new = 0;  // Tiles of the eastern half: not in the old reader's view.
  for (const auto& [tile, bytes] : after) {
    if (before.count(tile) != 0) continue;
    ++only_new;
    absl::StatusOr<absl::string_view> got =
        reader.GetTileBytes(std::get<0>(tile), std::get<1>(tile), std::get<2>(tile));
    EXPECT_TRUE(!got.ok() || got->empty());
  }
  EXPECT_GT(only_new, 0);
}

// ExpectUpdateEqualsFullBuild updates a pyramid of the western part with the eastern one on
// `filesystem`: in place, or with `reader_open` (a Reader holds the file) as a copy, which the
// reader does not see. Either way the result equals a full build, tile for tile.
void ExpectUpdateEqualsFullBuild(test::Filesystem filesystem, bool reader_open) {
  const Halves& h = MakeHalves();
  TempDir tmp(filesystem);
  const std::string dir = tmp.path();
  const Tiles full = Build(Options({h.west, h.east}, dir + "/full.fpyr"));
  BuildOptions west = Options({h.west}, dir + "/mosaic.fpyr");
  const Tiles before = Build(west);
  ASSERT_GT(before.size(), 0u);
  const uint64_t inode = Inode(west.output);
  std::unique_ptr<Reader> old_reader;
  if (reader_open) {
    absl::StatusOr<std::unique_ptr<Reader>> opened = Reader::Open(west.output);
    ASSERT_TRUE(opened.ok()) << opened.status();
    old_reader = *std::move(opened);
  }

  BuildOptions update = Options({h.east}, west.output);
  // A quarter of this small pyramid's tile bytes are replaced: it would compact by itself.
  UpdateOptions no_compaction;
  no_compaction.auto_compact_dead_fraction = 1.0;
  absl::StatusOr<UpdateResult> result = UpdatePyramid(update, no_compaction);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->compacted);
  const storage::WriterStats& stats = result->storage;
  if (reader_open) {
    EXPECT_EQ(result->path, UpdatePath::kCopy);
    EXPECT_NE(Inode(west.output), inode);
    EXPECT_EQ(stats.insert_range_calls + stats.tail_moves, 0u);
  } else {
    EXPECT_EQ(result->path, UpdatePath::kInPlace);
    EXPECT_EQ(Inode(west.output), inode);
    if (filesystem == test::Filesystem::kDisk) {
      EXPECT_GT(stats.insert_range_calls, 0u);
      EXPECT_GT(stats.collapse_range_calls, 0u);
      EXPECT_EQ(stats.tail_moves, 0u);
    } else {  // tmpfs refuses INSERT_RANGE: the tail is moved, still in the same file.
      EXPECT_EQ(stats.insert_range_calls, 0u);
      EXPECT_GT(stats.tail_moves, 0u);
    }
  }
  EXPECT_GT(result->tiles_copied, 0u);
  EXPECT_GT(result->tiles_written, 0u);
  ASSERT_EQ(result->metadata.sources_size(), 2);
  EXPECT_EQ(result->metadata.sources(0).path(), h.west);
  EXPECT_EQ(result->metadata.sources(1).path(), h.east);
  EXPECT_EQ(result->metadata.update_count(), 1u);
  const Tiles after = ReadVerified(west.output);
  ExpectSame(after, full);

  // The eastern part starts at pixel 261 of 349: the tiles west of the middle column are far
  // from it.
  uint32_t min_x = ~0u, max_x = 0;
  for (const auto& entry : full) {
    if (std::get<0>(entry.first) != 15) continue;
    min_x = std::min(min_x, std::get<1>(entry.first));
    max_x = std::max(max_x, std::get<1>(entry.first));
  }
  const Tiles kept_before = WestOfColumn(before, (min_x + max_x) / 2);
  ASSERT_GT(kept_before.size(), 10u);
  for (const auto& [tile, bytes] : kept_before) EXPECT_EQ(after.at(tile), bytes);
  EXPECT_FALSE(storage::Env::Default()->FileExists(west.output + ".update-tiles"));
  EXPECT_FALSE(storage::Env::Default()->FileExists(west.output + ".update"));
  if (old_reader != nullptr) ExpectTheOldView(*old_reader, before, after);
}

TEST(UpdatePyramidTest, WesternHalfUpdatedInPlaceWithEasternHalfEqualsBuildOfBoth) {
  ExpectUpdateEqualsFullBuild(test::Filesystem::kDisk, /*reader_open=*/false);
}

TEST(UpdatePyramidTest, SameOnTmpfsWhereStorageMovesTheTailInPlace) {
  ExpectUpdateEqualsFullBuild(test::Filesystem::kTmpfs, /*reader_open=*/false);
}

TEST(UpdatePyramidTest, ReaderOpenDuringUpdateGetsACopyKeepsItsViewAndTheCopyEqualsBuildOfBoth) {
  ExpectUpdateEqualsFullBuild(test::Filesystem::kDisk, /*reader_open=*/true);
}

TEST(UpdatePyramidTest, NewerPatchOnTopEqualsBuildWithItLast) {
  const Halves& h = MakeHalves();
  TempDir tmp;
  const std::string dir = tmp.path();
  const Tiles full = Build(Options({h.west, h.east, h.patch}, dir + "/full.fpyr"));
  const BuildOptions both = Options({h.west, h.east}, dir + "/mosaic.fpyr");
  const Tiles before = Build(both);
  const uint64_t size_before = FileSize(both.output);
  absl::StatusOr<UpdateResult> result = UpdatePyramid(Options({h.patch}, both.output));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->tiles_replaced, 0u);
  const Tiles after = ReadVerified(both.output);
  ExpectSame(after, full);
  // In place: the old blobs stay and the new tiles are appended: the file grows by the new
  // tiles (and at most a block per array, 3 per level), the replaced ones stay as dead bytes.
  // Written: the new tiles and every level's new index (24 bytes a tile), and the header
  // slots (a few hundred bytes each); not the file.
  ASSERT_FALSE(result->compacted);
  ASSERT_EQ(result->path, UpdatePath::kInPlace);
  // (The restricted build's blob is appended whole: its tiles outside the replaced ones
  // count as dead bytes, and in the file's growth.)
  const uint64_t index = 24 * after.size();
  const uint64_t growth = FileSize(both.output) - size_before;
  EXPECT_GE(result->storage.bytes_written, result->new_bytes + index);
  EXPECT_LE(result->storage.bytes_written,
            growth + index + 3 * 8 * 4096 + 1024 * result->storage.header_writes);
  EXPECT_LT(result->storage.bytes_written, size_before / 4);
  EXPECT_GT(result->dead_bytes, 0u);
  uint64_t dead = 0;
  for (const Level& level : result->metadata.levels()) dead += level.dead_bytes();
  EXPECT_EQ(dead, result->dead_bytes);
  EXPECT_LE(FileSize(both.output), size_before + result->new_bytes + 3 * 8 * 4096);
  EXPECT_GE(FileSize(both.output), size_before + result->new_bytes - 3 * 8 * 4096);
  const uint64_t size_updated = FileSize(both.output);
  int changed = 0;
  for (const auto& [tile, bytes] : before) changed += after.at(tile) != bytes;
  EXPECT_GT(changed, 0);
  EXPECT_LE(static_cast<uint64_t>(changed), result->tiles_replaced);

  // The same update again changes nothing.
  result = UpdatePyramid(Options({h.patch}, both.output));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->resume_outcome, ResumeOutcome::kAlreadyFinished);
  ExpectSame(ReadVerified(both.output), full);

  // A compaction drops the dead bytes and keeps every tile.
  UpdateOptions compact;
  compact.compact = true;
  result = UpdatePyramid(Options({}, both.output), compact);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->compacted);
  EXPECT_EQ(result->path, UpdatePath::kCopy);
  EXPECT_EQ(result->dead_bytes, 0u);
  EXPECT_EQ(result->tiles_written, 0u);
  EXPECT_LE(FileSize(both.output), size_updated - dead + 3 * 8 * 4096);
  ExpectSame(ReadVerified(both.output), full);
}

TEST(UpdatePyramidTest, InterruptedUpdateLeavesOldPyramidAndResumeFinishesIt) {
  const Halves& h = MakeHalves();
  TempDir tmp;
  const std::string dir = tmp.path();
  const Tiles full = Build(Options({h.west, h.east}, dir + "/full.fpyr"));
  BuildOptions west = Options({h.west}, dir + "/mosaic.fpyr");
  const Tiles before = Build(west);

  BuildOptions update = Options({h.east}, west.output);
  update.cancelled = [] { return true; };  // Stops after the first block of tiles.
  absl::StatusOr<UpdateResult> result = UpdatePyramid(update);
  ASSERT_TRUE(absl::IsCancelled(result.status())) << result.status();
  ExpectSame(ReadVerified(west.output), before);

  update.cancelled = nullptr;
  result = UpdatePyramid(update);
  EXPECT_TRUE(absl::IsFailedPrecondition(result.status())) << result.status();
  EXPECT_NE(result.status().message().find("resume"), std::string::npos);

  // A composition a kill left behind is started again.
  ASSERT_TRUE(storage::Env::Default()
                  ->RenameFile(full.empty() ? "" : dir + "/full.fpyr", west.output + ".update")
                  .ok());
  update.resume = true;
  result = UpdatePyramid(update);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->resume_outcome, ResumeOutcome::kContinued);
  ExpectSame(ReadVerified(west.output), full);
  EXPECT_FALSE(storage::Env::Default()->FileExists(west.output + ".update-tiles"));
}

TEST(UpdatePyramidTest, RefusesWhatItCannotUpdate) {
  const Halves& h = MakeHalves();
  TempDir tmp;
  const std::string dir = tmp.path();
  BuildOptions no_inputs = Options({}, dir + "/missing.fpyr");
  EXPECT_TRUE(absl::IsInvalidArgument(UpdatePyramid(no_inputs).status()));
  EXPECT_TRUE(absl::IsNotFound(UpdatePyramid(Options({h.east}, no_inputs.output)).status()));
  BuildOptions kernel = Options({h.west}, dir + "/kernel.fpyr");
  kernel.overview_resampling = Resampling::kCubic;
  Build(kernel);
  absl::StatusOr<UpdateResult> result = UpdatePyramid(Options({h.east}, kernel.output));
  EXPECT_TRUE(absl::IsFailedPrecondition(result.status())) << result.status();
  EXPECT_NE(result.status().message().find("cubic"), std::string::npos) << result.status();
  BuildOptions grey = Options({h.east}, dir + "/kernel.fpyr");
  grey.bands = {1};  // Grey tiles for an RGB pyramid.
  BuildOptions west = Options({h.west}, dir + "/mosaic.fpyr");
  Build(west);
  grey.output = west.output;
  result = UpdatePyramid(grey);
  EXPECT_TRUE(absl::IsFailedPrecondition(result.status())) << result.status();
  EXPECT_NE(result.status().message().find("band count"), std::string::npos) << result.status();
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
