#include "convert/pmtiles.h"

#include <vector>

#include "gtest/gtest.h"

namespace flatpyramid {
namespace convert {
namespace {

TEST(PmtilesTest, TileIdsFollowTheSpecsHilbertCurves) {
  EXPECT_EQ(ZxyToTileId(0, 0, 0), 0u);
  EXPECT_EQ(ZxyToTileId(1, 0, 0), 1u);
  EXPECT_EQ(ZxyToTileId(1, 0, 1), 2u);
  EXPECT_EQ(ZxyToTileId(1, 1, 1), 3u);
  EXPECT_EQ(ZxyToTileId(1, 1, 0), 4u);
  EXPECT_EQ(ZxyToTileId(2, 0, 0), 5u);
  EXPECT_EQ(ZxyToTileId(3, 0, 0), 21u);
  EXPECT_EQ(ZxyToTileId(3, 7, 0), 84u);
  // The last tile of zoom 20 is one before the first of zoom 21.
  EXPECT_EQ(ZxyToTileId(20, (1u << 20) - 1, 0) + 1, ZxyToTileId(21, 0, 0));
}

TEST(PmtilesTest, TileIdToZxyInvertsEveryTileOfZoomsZeroToFive) {
  for (int z = 0; z <= 5; ++z) {
    for (uint32_t x = 0; x < (1u << z); ++x) {
      for (uint32_t y = 0; y < (1u << z); ++y) {
        absl::StatusOr<PmtilesTile> t = TileIdToZxy(ZxyToTileId(z, x, y));
        ASSERT_TRUE(t.ok());
        ASSERT_EQ(t->z, z);
        ASSERT_EQ(t->x, x);
        ASSERT_EQ(t->y, y);
      }
    }
  }
}

TEST(PmtilesTest, HeaderIs127BytesAndRoundTrips) {
  PmtilesHeader h;
  h.root_offset = 127;
  h.root_length = 25;
  h.data_offset = 1000;
  h.tile_contents = 7;
  h.clustered = true;
  h.tile_type = PmtilesTileType::kJpeg;
  h.min_lon_e7 = -1800000000;
  h.max_lat_e7 = 850511287;
  h.center_zoom = 3;
  const std::string bytes = h.Encode();
  ASSERT_EQ(bytes.size(), 127u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("PMTiles\x03", 8));
  EXPECT_EQ(bytes[96], 1);  // Clustered.
  EXPECT_EQ(bytes[97], 2);  // Gzip directories.
  EXPECT_EQ(bytes[98], 1);  // Tiles uncompressed.
  EXPECT_EQ(bytes[99], 3);  // JPEG.
  EXPECT_EQ(static_cast<uint8_t>(bytes[8]), 127);
  absl::StatusOr<PmtilesHeader> back = PmtilesHeader::Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->root_length, 25u);
  EXPECT_EQ(back->data_offset, 1000u);
  EXPECT_EQ(back->min_lon_e7, -1800000000);
  EXPECT_EQ(back->max_lat_e7, 850511287);
  EXPECT_EQ(back->tile_type, PmtilesTileType::kJpeg);
}

TEST(PmtilesTest, HeaderDecodeNamesTheFault) {
  EXPECT_EQ(PmtilesHeader::Decode("PMTiles").status().message(),
            "PMTiles header: 7 bytes, the header needs 127: not a PMTiles archive, or truncated");
  std::string v2 = PmtilesHeader().Encode();
  v2[7] = 2;
  EXPECT_EQ(PmtilesHeader::Decode(v2).status().message(),
            "PMTiles header: spec version 2, only version 3 is read (convert older archives "
            "with `pmtiles convert`)");
}

TEST(PmtilesTest, DirectoryBytesAreTheSpecsColumnsOfVarints) {
  // Two contiguous tiles, then a run of 3 pointing back at the first tile.
  const std::vector<PmtilesEntry> entries = {{1, 0, 100, 1}, {2, 100, 300, 1}, {5, 0, 100, 3}};
  const std::string bytes = SerializeDirectory(entries);
  const std::string expected = {
      3,  // Entry count.
      1,   1,
      3,  // Tile ID deltas.
      1,   1,
      3,  // Run lengths.
      100, static_cast<char>(0xac),
      2,   100,  // Lengths (300 = 0xac 0x02).
      1,   0,
      1,  // Offsets: 0+1, contiguous, 0+1.
  };
  EXPECT_EQ(bytes, expected);
  absl::StatusOr<std::vector<PmtilesEntry>> back = DeserializeDirectory(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[1].offset, 100u);
  EXPECT_EQ((*back)[2].tile_id, 5u);
  EXPECT_EQ((*back)[2].run_length, 3u);
  EXPECT_EQ((*back)[2].offset, 0u);
}

TEST(PmtilesTest, CorruptDirectoriesAreRefusedNotOverRead) {
  EXPECT_EQ(DeserializeDirectory("").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DeserializeDirectory(std::string(1, '\0')).status().code(),
            absl::StatusCode::kDataLoss);
  const std::string full = SerializeDirectory({{1, 0, 100, 1}, {2, 100, 300, 1}});
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_EQ(DeserializeDirectory(full.substr(0, n)).status().code(), absl::StatusCode::kDataLoss)
        << n;
  }
  // A claimed count of 2^40 entries in a few bytes.
  EXPECT_EQ(DeserializeDirectory("\x80\x80\x80\x80\x80\x20\x01").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(PmtilesTest, GzipRoundTripsAndBoundsTheOutput) {
  const std::string text(100000, 'a');
  const std::string gz = GzipCompress(text);
  EXPECT_EQ(gz.substr(0, 2), "\x1f\x8b");  // The gzip magic.
  EXPECT_EQ(GzipDecompress(gz, 1 << 20).value(), text);
  EXPECT_EQ(GzipDecompress(gz, 1000).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GzipDecompress(gz.substr(0, gz.size() / 2), 1 << 20).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace convert
}  // namespace flatpyramid
