#include "pyramid/format.h"

#include <cmath>
#include <limits>
#include <string>

#include "codec/codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pyramid/internal/build_state.pb.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FormatTest, TypeNamesAreTheProtoMessagesFullNames) {
  EXPECT_EQ(kMetadataTypeName, PyramidMetadata::descriptor()->full_name());
  EXPECT_EQ(kBuildStateTypeName, internal::BuildState::descriptor()->full_name());
}

TEST(FormatTest, SectionNamesRoundTripAndRejectEverythingElse) {
  EXPECT_EQ(SectionName(0), "z0");
  EXPECT_EQ(SectionName(12), "z12");
  for (int z = 0; z <= 30; ++z) EXPECT_EQ(ParseSectionName(SectionName(z)), z);
  for (const char* bad : {"", "z", "z-1", "z01", "z31", "z100", "zz", "Z3", "z3 ", "x3"}) {
    EXPECT_EQ(ParseSectionName(bad), std::nullopt) << bad;
  }
}

TEST(FormatTest, TileKeysAreMortonCodesOfXyzTiles) {
  EXPECT_EQ(TileKey(5, 3), 27u);  // 0b011011.
  uint32_t x = 0, y = 0;
  TileFromKey(TileKey(1650, 2138), &x, &y);
  EXPECT_EQ(x, 1650u);
  EXPECT_EQ(y, 2138u);
  EXPECT_EQ(TileName(12, 1650, 2138), "12/1650/2138");
}

TEST(FormatTest, PixelTypesMapBothWays) {
  for (codec::PixelType type : {codec::PixelType::kUint8, codec::PixelType::kUint16,
                                codec::PixelType::kInt16, codec::PixelType::kFloat32}) {
    EXPECT_EQ(*FromProtoPixelType(ToProtoPixelType(type)), type);
  }
  absl::StatusOr<codec::PixelType> bad = FromProtoPixelType(PIXEL_TYPE_UNSPECIFIED);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("pixel_type 0"));
}

TEST(FormatTest, TileCodecNamesRoundTrip) {
  for (TileCodec c : {TileCodec::kJpeg, TileCodec::kPng, TileCodec::kWebp, TileCodec::kWebpLossless,
                      TileCodec::kElevation}) {
    EXPECT_EQ(*ParseTileCodec(TileCodecName(c)), c);
  }
  EXPECT_EQ(TileCodecName(TileCodec::kWebpLossless), "webp_lossless");
  EXPECT_EQ(ParseTileCodec("gif").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FormatTest, AJpegPyramidMixesJpegWithPngOrWebpAndOthersUseOnlyTheirCodec) {
  EXPECT_TRUE(TileCodecAllows(TileCodec::kJpeg, codec::CodecId::kJpeg));
  EXPECT_TRUE(TileCodecAllows(TileCodec::kJpeg, codec::CodecId::kPng));
  EXPECT_TRUE(TileCodecAllows(TileCodec::kJpeg, codec::CodecId::kWebp));
  EXPECT_FALSE(TileCodecAllows(TileCodec::kJpeg, codec::CodecId::kElevation));
  EXPECT_TRUE(TileCodecAllows(TileCodec::kPng, codec::CodecId::kPng));
  EXPECT_FALSE(TileCodecAllows(TileCodec::kPng, codec::CodecId::kJpeg));
  EXPECT_TRUE(TileCodecAllows(TileCodec::kWebpLossless, codec::CodecId::kWebp));
  EXPECT_FALSE(TileCodecAllows(TileCodec::kWebp, codec::CodecId::kPng));
  EXPECT_TRUE(TileCodecAllows(TileCodec::kElevation, codec::CodecId::kElevation));
  EXPECT_FALSE(TileCodecAllows(TileCodec::kElevation, codec::CodecId::kPng));
}

TEST(FormatTest, AnOpaqueTileMayOmitOnlyTheAlphaBand) {
  EXPECT_TRUE(StoredTileBandsValid(4, 4, true));
  EXPECT_TRUE(StoredTileBandsValid(3, 4, true));
  EXPECT_FALSE(StoredTileBandsValid(2, 4, true));
  EXPECT_FALSE(StoredTileBandsValid(2, 3, false));
}

PyramidMetadata ValidMetadata() {
  PyramidMetadata m;
  m.set_format_version(kFormatVersion);
  m.set_tile_matrix_set("WebMercatorQuad");
  m.set_tile_size(256);
  m.set_pixel_type(UINT8);
  m.set_band_count(4);
  m.set_has_alpha(true);
  m.set_codec("jpeg");
  m.set_min_zoom(3);
  m.set_max_zoom(5);
  for (uint32_t z = 3; z <= 5; ++z) {
    Level* level = m.add_levels();
    level->set_zoom(z);
    level->set_section(z - 3);
  }
  return m;
}

TEST(FormatTest, CheckStoredTileRefusesACodecTheMetadataDoesNotAllow) {
  PyramidMetadata m = ValidMetadata();
  codec::ImageInfo info;
  info.codec = codec::CodecId::kJpeg;
  info.width = info.height = 256;
  info.bands = 3;
  info.type = codec::PixelType::kUint8;
  EXPECT_TRUE(CheckStoredTile(m, info).ok());
  m.set_codec("png");
  absl::Status s = CheckStoredTile(m, info);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "a jpeg tile in a pyramid of codec 'png'");
  m.set_codec("jpeg");
  info.width = 512;
  EXPECT_THAT(CheckStoredTile(m, info).message(),
              HasSubstr("jpeg tile is 512x256 with 3 uint8 bands, but the pyramid declares "
                        "256x256 with 4 uint8 bands"));
}

TEST(FormatTest, LevelStatsCountsTilesUniqueBytesAndTheRange) {
  LevelStats stats;
  Level level;
  stats.CopyTo(&level);
  EXPECT_EQ(level.tile_count(), 0u);
  EXPECT_EQ(level.max_x(), 0u);
  stats.AddTile(7, 4, true, 100);
  stats.AddTile(5, 9, false, 100);
  stats.AddTile(6, 2, true, 30);
  stats.CopyTo(&level);
  EXPECT_EQ(level.tile_count(), 3u);
  EXPECT_EQ(level.unique_tile_count(), 2u);
  EXPECT_EQ(level.bytes(), 130u);
  EXPECT_EQ(level.min_x(), 5u);
  EXPECT_EQ(level.max_x(), 7u);
  EXPECT_EQ(level.min_y(), 2u);
  EXPECT_EQ(level.max_y(), 9u);
  EXPECT_TRUE(stats.Differences(level).empty());

  LevelStats resumed(level);  // Continues from the counts so far.
  resumed.AddTile(8, 8, true, 10);
  EXPECT_EQ(resumed.tile_count(), 4u);
  EXPECT_EQ(resumed.bytes(), 140u);
  EXPECT_THAT(resumed.Differences(level),
              ElementsAre("metadata lists 3 tiles, the section holds 4",
                          "metadata lists 2 unique tiles, the section holds 3",
                          "metadata lists 130 bytes of tiles, the unique tiles hold 140",
                          "metadata tile range x 5..7, y 2..9 differs from the stored tiles' x "
                          "5..8, y 2..9"));
}

TEST(FormatTest, CheckMetadataAcceptsAValidMetadata) {
  EXPECT_TRUE(CheckMetadata(ValidMetadata()).ok()) << CheckMetadata(ValidMetadata());
}

TEST(FormatTest, CheckMetadataNamesTheFieldThatBreaksThePromise) {
  struct Case {
    const char* name;
    void (*mutate)(PyramidMetadata*);
    absl::StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {"version", [](PyramidMetadata* m) { m->set_format_version(2); },
       absl::StatusCode::kFailedPrecondition, "format_version 2 is not supported"},
      {"no version", [](PyramidMetadata* m) { m->set_format_version(0); },
       absl::StatusCode::kFailedPrecondition, "format_version is missing"},
      {"tms", [](PyramidMetadata* m) { m->set_tile_matrix_set("Mars"); },
       absl::StatusCode::kInvalidArgument, "Mars"},
      {"pixel type", [](PyramidMetadata* m) { m->set_pixel_type(PIXEL_TYPE_UNSPECIFIED); },
       absl::StatusCode::kInvalidArgument, "pixel_type 0"},
      {"bands", [](PyramidMetadata* m) { m->set_band_count(5); },
       absl::StatusCode::kInvalidArgument, "band_count 5 is not 1..4"},
      {"codec name", [](PyramidMetadata* m) { m->set_codec("gif"); },
       absl::StatusCode::kInvalidArgument, "codec 'gif' is not one of"},
      {"codec for the pixel type", [](PyramidMetadata* m) { m->set_pixel_type(UINT16); },
       absl::StatusCode::kInvalidArgument, "codec 'jpeg' cannot store 4 uint16 bands"},
      {"elevation with alpha", [](PyramidMetadata* m) { m->set_codec("elevation"); },
       absl::StatusCode::kInvalidArgument, "codec 'elevation' cannot store 4 uint8 bands"},
      {"nan bounds", [](PyramidMetadata* m) { m->mutable_bounds()->set_min_x(std::nan("")); },
       absl::StatusCode::kInvalidArgument, "bounds (nan, 0, 0, 0) is not finite"},
      {"inf lonlat",
       [](PyramidMetadata* m) {
         m->mutable_bounds_lonlat()->set_max_y(std::numeric_limits<double>::infinity());
       },
       absl::StatusCode::kInvalidArgument, "bounds_lonlat (0, 0, 0, inf) is not finite"},
      {"inverted bounds", [](PyramidMetadata* m) { m->mutable_bounds()->set_min_x(1); },
       absl::StatusCode::kInvalidArgument, "bounds min_x 1 > max_x 0"},
      {"missing middle level",
       [](PyramidMetadata* m) { m->mutable_levels()->DeleteSubrange(1, 1); },
       absl::StatusCode::kInvalidArgument, "levels: zoom 4 is missing (min_zoom 3, max_zoom 5)"},
      {"level twice", [](PyramidMetadata* m) { m->mutable_levels(1)->set_zoom(3); },
       absl::StatusCode::kInvalidArgument, "level 3 is listed twice"},
      {"level outside", [](PyramidMetadata* m) { m->mutable_levels(1)->set_zoom(6); },
       absl::StatusCode::kInvalidArgument, "level 6 is outside the zoom range 3..5"},
      {"shared section", [](PyramidMetadata* m) { m->mutable_levels(1)->set_section(0); },
       absl::StatusCode::kInvalidArgument, "level 4 names storage section 0 of another level"},
      {"unique > tiles", [](PyramidMetadata* m) { m->mutable_levels(0)->set_unique_tile_count(1); },
       absl::StatusCode::kInvalidArgument, "level 3: unique_tile_count 1 > tile_count 0"},
      {"range outside",
       [](PyramidMetadata* m) {
         m->mutable_levels(0)->set_tile_count(1);
         m->mutable_levels(0)->set_max_x(8);
       },
       absl::StatusCode::kInvalidArgument, "level 3 tile range 0..8 x 0..0 is outside"},
      {"zoom range", [](PyramidMetadata* m) { m->set_max_zoom(31); },
       absl::StatusCode::kInvalidArgument, "zoom range 3..31"},
  };
  for (const Case& c : cases) {
    PyramidMetadata m = ValidMetadata();
    c.mutate(&m);
    absl::Status s = CheckMetadata(m);
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr(c.message)) << c.name;
  }
}

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid
