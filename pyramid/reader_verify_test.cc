// Reader::Open and Reader::Verify refuse files whose metadata breaks what the format promises
// (pyramid/FORMAT.md), written by hand through storage::Writer with a valid checksum, and name
// a store that never reached a commit point as an unfinished build.
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "codec/codec.h"
#include "geo/morton.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pyramid/reader.h"
#include "storage/store.h"
#include "testing/files.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using ::testing::HasSubstr;

// Tile is one stored tile: zoom, column, row, bytes.
using Tile = std::tuple<int, uint32_t, uint32_t, std::string>;

// EncodedTile is a 256 x 256 uint8 tile with `bands` bands, encoded with `id`.
std::string EncodedTile(codec::CodecId id, int bands) {
  codec::Image image(256, 256, bands, codec::PixelType::kUint8);
  for (int i = 0; i < 256 * 256 * bands; ++i) image.data()[i] = static_cast<uint8_t>(i * 7 % 251);
  if (bands == 4) {
    for (int i = 0; i < 256 * 256; ++i) image.data()[4 * i + 3] = 255;
  }
  std::string bytes;
  EXPECT_TRUE(codec::Encode(id, image.view(), {}, &bytes).ok());
  return bytes;
}

// RgbaPngMetadata is the metadata of a 4-band uint8 PNG pyramid of zooms 0..max_zoom, one
// level per zoom in section `zoom`, statistics to be filled by WriteCrafted.
PyramidMetadata RgbaPngMetadata(uint32_t max_zoom) {
  PyramidMetadata m;
  m.set_format_version(1);
  m.set_tile_matrix_set("WebMercatorQuad");
  m.set_tile_size(256);
  m.set_pixel_type(UINT8);
  m.set_band_count(4);
  m.set_has_alpha(true);
  m.set_codec("png");
  m.set_min_zoom(0);
  m.set_max_zoom(max_zoom);
  for (uint32_t z = 0; z <= max_zoom; ++z) m.add_levels()->set_zoom(z);
  return m;
}

// WriteCrafted writes a sealed store: a section "z<zoom>" per listed level, the tiles, and
// `metadata` (its levels' sections and statistics set from the tiles) as the user metadata.
void WriteCrafted(const std::string& path, PyramidMetadata metadata,
                  const std::vector<Tile>& tiles) {
  storage::WriterOptions options;
  options.overwrite = true;
  absl::StatusOr<std::unique_ptr<storage::Writer>> writer = storage::Writer::Create(path, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (Level& level : *metadata.mutable_levels()) {
    absl::StatusOr<uint32_t> section = (*writer)->AddSection(absl::StrCat("z", level.zoom()));
    ASSERT_TRUE(section.ok()) << section.status();
    level.set_section(*section);
    std::map<uint64_t, std::pair<uint32_t, const std::string*>> sorted;  // Key order.
    for (const auto& [z, x, y, bytes] : tiles) {
      if (z == static_cast<int>(level.zoom())) sorted[geo::MortonEncode(x, y)] = {x, &bytes};
    }
    for (const auto& [key, tile] : sorted) {
      ASSERT_TRUE((*writer)->Append(*section, key, *tile.second).ok());
      uint32_t x, y;
      geo::MortonDecode(key, &x, &y);
      const bool first = level.tile_count() == 0;
      level.set_min_x(first ? x : std::min(level.min_x(), x));
      level.set_min_y(first ? y : std::min(level.min_y(), y));
      level.set_max_x(first ? x : std::max(level.max_x(), x));
      level.set_max_y(first ? y : std::max(level.max_y(), y));
      level.set_tile_count(level.tile_count() + 1);
      level.set_unique_tile_count(level.unique_tile_count() + 1);
      level.set_bytes(level.bytes() + tile.second->size());
    }
  }
  (*writer)->SetUserMetadata(kMetadataTypeName, metadata.SerializeAsString());
  ASSERT_TRUE((*writer)->Seal().ok());
}

class ReaderVerifyTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
};

TEST_F(ReaderVerifyTest, VerifyRefusesATileWhoseCodecTheMetadataDoesNotAllow) {
  const std::string jpeg = EncodedTile(codec::CodecId::kJpeg, 3);
  // Control: in a "jpeg" pyramid an opaque JPEG tile without alpha is what the format says.
  PyramidMetadata mixed = RgbaPngMetadata(0);
  mixed.set_codec("jpeg");
  const std::string good = dir_.Path("good.fpyr");
  WriteCrafted(good, mixed, {{0, 0, 0, jpeg}});
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(good);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE((*reader)->Verify().ok()) << (*reader)->Verify();

  // The same tile in a pyramid that declares "png": every tile must be PNG.
  const std::string path = dir_.Path("png_with_jpeg.fpyr");
  WriteCrafted(path, RgbaPngMetadata(0), {{0, 0, 0, jpeg}});
  reader = Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const absl::Status s = (*reader)->Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat(path, ": 1 fault(s): ", path,
                                                  ": tile 0/0/0: a jpeg tile in a pyramid of "
                                                  "codec 'png'")));
  EXPECT_EQ((*reader)->GetTile(0, 0, 0).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(ReaderVerifyTest, OpenRefusesBoundsThatAreNotFinite) {
  const std::string png = EncodedTile(codec::CodecId::kPng, 4);
  PyramidMetadata finite = RgbaPngMetadata(0);
  finite.mutable_bounds()->set_min_x(-1000);
  finite.mutable_bounds()->set_max_x(1000);
  const std::string good = dir_.Path("finite.fpyr");
  WriteCrafted(good, finite, {{0, 0, 0, png}});
  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(good);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE((*reader)->Verify().ok()) << (*reader)->Verify();

  PyramidMetadata nan_bounds = finite;
  nan_bounds.mutable_bounds()->set_max_y(std::nan(""));
  PyramidMetadata inf_lonlat = finite;
  inf_lonlat.mutable_bounds_lonlat()->set_min_x(-std::numeric_limits<double>::infinity());
  for (const auto& [name, metadata, message] :
       {std::tuple{"nan", nan_bounds, "bounds (-1000, 0, 1000, nan) is not finite"},
        std::tuple{"inf", inf_lonlat, "bounds_lonlat (-inf, 0, 0, 0) is not finite"}}) {
    const std::string path = dir_.Path(absl::StrCat(name, ".fpyr"));
    WriteCrafted(path, metadata, {{0, 0, 0, png}});
    const absl::Status s = Reader::Open(path).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << name << ": " << s;
    EXPECT_THAT(s.message(),
                HasSubstr(absl::StrCat(path, ": pyramid metadata is inconsistent: ", message)))
        << name;
  }
}

TEST_F(ReaderVerifyTest, OpenRefusesAPyramidThatLacksAMiddleLevel) {
  const std::string png = EncodedTile(codec::CodecId::kPng, 4);
  PyramidMetadata m = RgbaPngMetadata(2);
  m.mutable_levels()->DeleteSubrange(1, 1);  // Zooms 0 and 2 of 0..2.
  const std::string path = dir_.Path("no_z1.fpyr");
  WriteCrafted(path, m, {{0, 0, 0, png}, {2, 1, 1, png}});
  const absl::Status s = Reader::Open(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(),
              HasSubstr("levels: zoom 1 is missing (min_zoom 0, max_zoom 2); the file was not "
                        "written by a compatible build_pyramid (rebuild it)"));
}

TEST_F(ReaderVerifyTest, AStoreWithoutACommitPointIsAnUnfinishedBuild) {
  const std::string path = dir_.Path("stopped.fpyr");
  {
    absl::StatusOr<std::unique_ptr<storage::Writer>> writer = storage::Writer::Create(path);
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE((*writer)->AddSection("z0").ok());
    // While its writer runs, the file is being written, with nothing committed yet.
    ReaderOptions allow;
    allow.allow_being_written = true;
    const absl::Status running = Reader::Open(path, allow).status();
    EXPECT_EQ(running.code(), absl::StatusCode::kUnavailable) << running;
    EXPECT_EQ(running.message(),
              absl::StrCat(path,
                           ": a build is writing it and has not reached its first commit "
                           "point yet; wait for it"));
  }  // The writer stops (as a killed build would) before any commit point.
  for (bool allow_being_written : {false, true}) {
    ReaderOptions options;
    options.allow_being_written = allow_being_written;
    const absl::Status s = Reader::Open(path, options).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_EQ(s.message(),
              absl::StrCat(path,
                           ": unfinished build, stopped before its first commit point "
                           "(nothing to read): rerun build_pyramid with --resume, which "
                           "starts it from the beginning"));
  }
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
