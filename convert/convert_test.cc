// The library contracts of //convert that the end-to-end tests (pmtiles_js_test,
// mbtiles_gdal_test, xyz_gdal_test) do not reach: output rules, refusals with their
// messages, selection by zoom and bbox, and damaged or hostile inputs.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "codec/codec.h"
#include "convert/import.h"
#include "convert/mbtiles.h"
#include "convert/pmtiles.h"
#include "convert/pmtiles_reader.h"
#include "convert/pmtiles_writer.h"
#include "convert/xyz_dir.h"
#include "gtest/gtest.h"
#include "pyramid/reader.h"
#include "pyramid/tile_writer.h"
#include "storage/output_file.h"
#include "testing/files.h"

namespace flatpyramid {
namespace convert {
namespace {

// PngTile is a flat 256 x 256 RGB tile of `grey`.
std::string PngTile(uint8_t grey) {
  codec::Image image(256, 256, 3, codec::PixelType::kUint8);
  std::fill(image.data(), image.data() + image.size_bytes(), grey);
  std::string out;
  EXPECT_TRUE(codec::Encode(codec::CodecId::kPng, image.view(), {}, &out).ok());
  return out;
}

// WriteTestPyramid writes zoom 1 (all four tiles, two identical) and zoom 2 (tile 2/1/1).
void WriteTestPyramid(const std::string& path) {
  absl::StatusOr<std::unique_ptr<pyramid::TileWriter>> writer =
      pyramid::TileWriter::Create(path, {});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->AddTile(1, 0, 0, PngTile(10)).ok());
  ASSERT_TRUE((*writer)->AddTile(1, 1, 0, PngTile(10)).ok());
  ASSERT_TRUE((*writer)->AddTile(1, 0, 1, PngTile(30)).ok());
  ASSERT_TRUE((*writer)->AddTile(1, 1, 1, PngTile(40)).ok());
  ASSERT_TRUE((*writer)->AddTile(2, 1, 1, PngTile(50)).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
}

class ConvertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fpyr_ = dir_.Path("in.fpyr");
    WriteTestPyramid(fpyr_);
    absl::StatusOr<std::unique_ptr<pyramid::Reader>> reader = pyramid::Reader::Open(fpyr_);
    ASSERT_TRUE(reader.ok()) << reader.status();
    reader_ = *std::move(reader);
  }
  test::TempDir dir_;
  std::string fpyr_;
  std::unique_ptr<pyramid::Reader> reader_;
};

TEST_F(ConvertTest, TileWriterPyramidVerifiesWithStatisticsFromTheTiles) {
  EXPECT_TRUE(reader_->Verify().ok()) << reader_->Verify();
  EXPECT_EQ(reader_->metadata().codec(), "png");
  EXPECT_EQ(reader_->band_count(), 3);
  ASSERT_NE(reader_->FindLevel(1), nullptr);
  EXPECT_EQ(reader_->FindLevel(1)->tile_count(), 4u);
  EXPECT_EQ(reader_->FindLevel(1)->unique_tile_count(), 3u);
  EXPECT_EQ(reader_->GetTileBytes(2, 1, 1).value(), PngTile(50));
}

TEST_F(ConvertTest, TileWriterSharesATileOnlyWhenTheBytesAreEqual) {
  // Two different tiles given one fingerprint (a collision, or facts from a careless
  // caller): the second is stored on its own. Equal bytes are stored once.
  const std::string path = dir_.Path("collide.fpyr");
  absl::StatusOr<std::unique_ptr<pyramid::TileWriter>> writer =
      pyramid::TileWriter::Create(path, {});
  ASSERT_TRUE(writer.ok()) << writer.status();
  absl::StatusOr<pyramid::TileWriter::TileFacts> facts =
      pyramid::TileWriter::Inspect(1, 0, 0, PngTile(10));
  ASSERT_TRUE(facts.ok()) << facts.status();
  ASSERT_TRUE(facts->small);
  ASSERT_TRUE((*writer)->AddTile(1, 0, 0, PngTile(10), *facts).ok());
  ASSERT_TRUE((*writer)->AddTile(1, 1, 0, PngTile(20), *facts).ok());
  ASSERT_TRUE((*writer)->AddTile(1, 0, 1, PngTile(10), *facts).ok());
  ASSERT_TRUE((*writer)->AddTile(1, 1, 1, PngTile(20)).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  absl::StatusOr<std::unique_ptr<pyramid::Reader>> reader = pyramid::Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->GetTileBytes(1, 0, 0).value(), PngTile(10));
  EXPECT_EQ((*reader)->GetTileBytes(1, 1, 0).value(), PngTile(20));
  EXPECT_EQ((*reader)->GetTileBytes(1, 0, 1).value(), PngTile(10));
  EXPECT_EQ((*reader)->GetTileBytes(1, 1, 1).value(), PngTile(20));
  // 10 shared once; the 20 of the forged fingerprint is not found by its true one.
  EXPECT_EQ((*reader)->FindLevel(1)->unique_tile_count(), 3u);
  EXPECT_TRUE((*reader)->Verify().ok()) << (*reader)->Verify();
}

TEST_F(ConvertTest, TileWriterComparesBytesInTheLevelTheyAreIn) {
  // Level 1 shares 10 (its bytes are read back and compared); level 2 stores 20 first, then
  // 10 under 20's fingerprint: the same offset in another level's values is another tile.
  const std::string path = dir_.Path("levels.fpyr");
  absl::StatusOr<std::unique_ptr<pyramid::TileWriter>> writer =
      pyramid::TileWriter::Create(path, {});
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->AddTile(1, 0, 0, PngTile(10)).ok());
  ASSERT_TRUE((*writer)->AddTile(1, 1, 0, PngTile(10)).ok());
  absl::StatusOr<pyramid::TileWriter::TileFacts> twenty =
      pyramid::TileWriter::Inspect(2, 0, 0, PngTile(20));
  ASSERT_TRUE(twenty.ok()) << twenty.status();
  ASSERT_TRUE((*writer)->AddTile(2, 0, 0, PngTile(20), *twenty).ok());
  ASSERT_TRUE((*writer)->AddTile(2, 1, 0, PngTile(10), *twenty).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  absl::StatusOr<std::unique_ptr<pyramid::Reader>> reader = pyramid::Reader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->GetTileBytes(2, 0, 0).value(), PngTile(20));
  EXPECT_EQ((*reader)->GetTileBytes(2, 1, 0).value(), PngTile(10));
}

TEST_F(ConvertTest, TileWriterChecksATilesPositionBeforeItsBytes) {
  const std::string path = dir_.Path("order.fpyr");
  absl::StatusOr<std::unique_ptr<pyramid::TileWriter>> writer =
      pyramid::TileWriter::Create(path, {});
  ASSERT_TRUE(writer.ok()) << writer.status();
  absl::Status s = (*writer)->AddTile(1, 2, 0, "not an image");
  EXPECT_EQ(s, absl::InvalidArgumentError("tile 1/2/0 is outside the WebMercatorQuad tile matrix"));
}

TEST_F(ConvertTest, ExportsRefuseAnExistingOutputWithoutOverwrite) {
  const std::string out = dir_.Path("out.pmtiles");
  std::ofstream(out) << "keep";
  absl::Status s = ExportPmtiles(reader_->tile_bytes(), out, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), absl::StrCat(out, ": exists; set ExportOptions::overwrite to replace it"));
  EXPECT_EQ(test::ReadFileOrDie(out), "keep");
  ExportOptions options;
  options.overwrite = true;
  ASSERT_TRUE(ExportPmtiles(reader_->tile_bytes(), out, options).ok());
  EXPECT_EQ(test::ReadFileOrDie(out).substr(0, 7), "PMTiles");
  // No temporary file is left next to it.
  EXPECT_NE(access(storage::TemporaryPath(out).c_str(), F_OK), 0);
}

TEST_F(ConvertTest, ExportsNeverWriteOntoTheirInputEvenThroughALink) {
  const std::string link = dir_.Path("link.mbtiles");
  ASSERT_EQ(symlink(fpyr_.c_str(), link.c_str()), 0);
  ExportOptions options;
  options.overwrite = true;
  absl::Status s = ExportMbtiles(reader_->tile_bytes(), link, options);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), absl::StrCat(link, ": is the input ", fpyr_,
                                      " (the same file); write the output to another path"));
  EXPECT_TRUE(reader_->Verify().ok());
}

TEST_F(ConvertTest, AnXyzExportNeverReplacesTheDirectoryHoldingItsInput) {
  ExportOptions options;
  options.overwrite = true;
  absl::Status s = ExportXyzDirectory(reader_->tile_bytes(), dir_.path(), options);
  EXPECT_EQ(s.message(),
            absl::StrCat(dir_.path(), ": the directory holds the input ", fpyr_,
                         "; replacing it would delete the input: write the output to another "
                         "path"));
  EXPECT_TRUE(reader_->Verify().ok());
}

TEST_F(ConvertTest, ElevationOptionsAreRefusedForImagery) {
  ExportOptions options;
  options.terrain_encoding = codec::TerrainEncoding::kTerrarium;
  absl::Status s = ExportPmtiles(reader_->tile_bytes(), dir_.Path("t.pmtiles"), options);
  EXPECT_EQ(s.message(), absl::StrCat("ExportOptions::terrain_encoding applies to elevation "
                                      "pyramids; ",
                                      fpyr_, " holds png imagery"));
}

TEST_F(ConvertTest, ZoomAndBboxSelectTiles) {
  ExportOptions options;
  options.min_zoom = 2;
  const std::string out = dir_.Path("z2.pmtiles");
  ASSERT_TRUE(ExportPmtiles(reader_->tile_bytes(), out, options).ok());
  absl::StatusOr<std::unique_ptr<PmtilesReader>> archive = PmtilesReader::Open(out);
  ASSERT_TRUE(archive.ok()) << archive.status();
  EXPECT_EQ((*archive)->header().min_zoom, 2);
  EXPECT_EQ((*archive)->Tiles()->size(), 1u);

  // The north-east quarter of the world: tile 1/1/0 only (and nothing at zoom 2 there).
  options.min_zoom = -1;
  options.bbox = geo::Bounds{10, 10, 170, 80};
  const std::string ne = dir_.Path("ne.pmtiles");
  ASSERT_TRUE(ExportPmtiles(reader_->tile_bytes(), ne, options).ok());
  archive = PmtilesReader::Open(ne);
  ASSERT_TRUE(archive.ok());
  absl::StatusOr<std::vector<PmtilesTileRef>> tiles = (*archive)->Tiles();
  ASSERT_EQ(tiles->size(), 1u);
  EXPECT_EQ((*tiles)[0].tile.z, 1);
  EXPECT_EQ((*tiles)[0].tile.x, 1u);
  EXPECT_EQ((*tiles)[0].tile.y, 0u);

  options.bbox = geo::Bounds{10, 10, 170, 80};
  options.min_zoom = 2;
  EXPECT_EQ(ExportMbtiles(reader_->tile_bytes(), dir_.Path("none.mbtiles"), options).message(),
            absl::StrCat("no tiles of ", fpyr_,
                         " in zooms 2..2 inside the bbox: the pyramid has zooms 1..2; widen the "
                         "zoom range or the bbox"));
}

TEST_F(ConvertTest, ABboxInAnotherCrsGoesThroughBboxTransformOrIsRefused) {
  ExportOptions options;
  options.bbox = geo::Bounds{500000, 1000000, 600000, 2000000};
  options.bbox_srs = "EPSG:32633";
  EXPECT_EQ(ExportPmtiles(reader_->tile_bytes(), dir_.Path("utm.pmtiles"), options).message(),
            "ExportOptions::bbox_srs EPSG:32633 needs a CRS transformation and "
            "ExportOptions::bbox_transform is not set: give the bbox in EPSG:4326 or EPSG:3857, or "
            "set bbox_transform (geo::TransformBounds)");
  // The hook's answer (the south-west quarter of the world in metres) selects the tiles.
  std::string asked;
  options.bbox_transform = [&asked](const geo::Bounds& bbox, absl::string_view from,
                                    absl::string_view to) -> absl::StatusOr<geo::Bounds> {
    asked = absl::StrCat(bbox.min_x, ",", bbox.max_y, " ", from, " -> ", to);
    return geo::Bounds{-2e7, -2e7, -1e6, -1e6};
  };
  const std::string out = dir_.Path("sw.pmtiles");
  ASSERT_TRUE(ExportPmtiles(reader_->tile_bytes(), out, options).ok());
  EXPECT_EQ(asked, "500000,2e+06 EPSG:32633 -> EPSG:3857");  // absl::StrCat of doubles.
  absl::StatusOr<std::unique_ptr<PmtilesReader>> archive = PmtilesReader::Open(out);
  ASSERT_TRUE(archive.ok());
  absl::StatusOr<std::vector<PmtilesTileRef>> tiles = (*archive)->Tiles();
  ASSERT_EQ(tiles->size(), 1u);
  EXPECT_EQ((*tiles)[0].tile.z, 1);
  EXPECT_EQ((*tiles)[0].tile.x, 0u);
  EXPECT_EQ((*tiles)[0].tile.y, 1u);
  // Its errors are reported naming the fields.
  options.bbox_transform = [](const geo::Bounds&, absl::string_view,
                              absl::string_view) -> absl::StatusOr<geo::Bounds> {
    return absl::InvalidArgumentError("PROJ found no transformation");
  };
  EXPECT_EQ(ExportPmtiles(reader_->tile_bytes(), dir_.Path("x.pmtiles"), options).message(),
            "ExportOptions::bbox in ExportOptions::bbox_srs EPSG:32633: PROJ found no "
            "transformation");
}

TEST_F(ConvertTest, PmtilesDeduplicatesIntoOneOffsetAndARun) {
  const std::string out = dir_.Path("d.pmtiles");
  ASSERT_TRUE(ExportPmtiles(reader_->tile_bytes(), out, {}).ok());
  absl::StatusOr<std::unique_ptr<PmtilesReader>> archive = PmtilesReader::Open(out);
  ASSERT_TRUE(archive.ok());
  const PmtilesHeader& h = (*archive)->header();
  EXPECT_EQ(h.addressed_tiles, 5u);
  EXPECT_EQ(h.tile_contents, 4u);
  // 1/0/0 (ID 1) is followed on the curve by 1/0/1 (ID 2), then 1/1/1 (3) and 1/1/0 (4):
  // the two identical tiles are not neighbours, so 5 entries.
  EXPECT_EQ(h.tile_entries, 5u);
  EXPECT_EQ(h.data_length, 4 * PngTile(10).size() - (PngTile(10).size() - PngTile(50).size()) -
                               (PngTile(10).size() - PngTile(30).size()) -
                               (PngTile(10).size() - PngTile(40).size()));
  EXPECT_EQ(h.tile_type, PmtilesTileType::kPng);
  absl::StatusOr<std::vector<PmtilesTileRef>> tiles = (*archive)->Tiles();
  ASSERT_TRUE(tiles.ok()) << tiles.status();
  for (const PmtilesTileRef& ref : *tiles) {
    EXPECT_EQ((*archive)->TileBytes(ref),
              reader_->GetTileBytes(ref.tile.z, ref.tile.x, ref.tile.y).value());
  }
}

TEST_F(ConvertTest, XyzDirectoryHoldsTilesTileJsonAndIndex) {
  const std::string out = dir_.Path("xyz");
  ASSERT_TRUE(ExportXyzDirectory(reader_->tile_bytes(), out, {}).ok());
  EXPECT_EQ(test::ReadFileOrDie(out + "/2/1/1.png"), PngTile(50));
  EXPECT_EQ(test::ReadFileOrDie(out + "/1/1/0.png"), PngTile(10));
  struct stat a, b;
  ASSERT_EQ(stat((out + "/1/0/0.png").c_str(), &a), 0);
  ASSERT_EQ(stat((out + "/1/1/0.png").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);  // The deduplicated tile is one file, hard-linked.
  EXPECT_NE(test::ReadFileOrDie(out + "/tilejson.json").find("\"{z}/{x}/{y}.png\""),
            std::string::npos);
  EXPECT_NE(test::ReadFileOrDie(out + "/index.html").find("L.tileLayer('{z}/{x}/{y}.png'"),
            std::string::npos);
  // --overwrite replaces the directory.
  ExportOptions options;
  options.overwrite = true;
  options.max_zoom = 1;
  ASSERT_TRUE(ExportXyzDirectory(reader_->tile_bytes(), out, options).ok());
  EXPECT_NE(access((out + "/2").c_str(), F_OK), 0);
}

TEST_F(ConvertTest, MbtilesImportRefusesVectorTilesAndOtherCrs) {
  const std::string mbtiles = dir_.Path("v.mbtiles");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(mbtiles.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE metadata (name TEXT, value TEXT);"
                         "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER,"
                         " tile_row INTEGER, tile_data BLOB);"
                         "INSERT INTO metadata VALUES ('format', 'pbf');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  absl::Status s = ImportMbtiles(mbtiles, dir_.Path("v.fpyr"), {});
  EXPECT_EQ(s.message(), absl::StrCat(mbtiles,
                                      " holds vector tiles (format pbf); a pyramid holds raster "
                                      "tiles: render them to images first"));
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE metadata SET value = 'png';"
                         "INSERT INTO metadata VALUES ('srs', 'EPSG:4326');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  s = ImportMbtiles(mbtiles, dir_.Path("v.fpyr"), {});
  EXPECT_EQ(s.message(), absl::StrCat(mbtiles,
                                      ": metadata srs is EPSG:4326; only WebMercator (EPSG:3857) "
                                      "tile sets import: warp it with gdalwarp first"));
  EXPECT_NE(access(dir_.Path("v.fpyr").c_str(), F_OK), 0);
}

TEST_F(ConvertTest, MbtilesImportNamesATileThatIsNotAnImage) {
  const std::string mbtiles = dir_.Path("bad.mbtiles");
  ASSERT_TRUE(ExportMbtiles(reader_->tile_bytes(), mbtiles, {}).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(mbtiles.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "INSERT INTO images VALUES (99, x'00010203');"
                         "INSERT INTO map VALUES (2, 0, 0, 99);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  absl::Status s = ImportMbtiles(mbtiles, dir_.Path("bad.fpyr"), {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StartsWith(s.message(), absl::StrCat(mbtiles,
                                                 ": tile 2/0/3 (4 bytes) is not a JPEG, PNG or "
                                                 "WebP image of at most 512 x 512 pixels: ")))
      << s;
  EXPECT_NE(access(dir_.Path("bad.fpyr").c_str(), F_OK), 0);  // Nothing published.
}

// ExpectSameTiles checks that `path` holds the test pyramid's five tiles, byte for byte.
void ExpectSameTiles(const pyramid::Reader& expected, const std::string& path) {
  absl::StatusOr<std::unique_ptr<pyramid::Reader>> got = pyramid::Reader::Open(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE((*got)->Verify().ok()) << (*got)->Verify();
  EXPECT_EQ((*got)->FindLevel(1)->tile_count(), 4u);
  EXPECT_EQ((*got)->FindLevel(2)->tile_count(), 1u);
  for (auto [z, x, y] :
       {std::tuple<int, uint32_t, uint32_t>{1, 0, 0}, {1, 1, 0}, {1, 0, 1}, {1, 1, 1}, {2, 1, 1}}) {
    EXPECT_EQ((*got)->GetTileBytes(z, x, y).value(), expected.GetTileBytes(z, x, y).value())
        << z << "/" << x << "/" << y;
  }
}

// Exec runs `sql` on a new database at `path` with our export `source` attached as s.
void Exec(const std::string& path, const std::string& source, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const std::string all = absl::StrCat("ATTACH '", source, "' AS s;", sql);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, all.c_str(), nullptr, nullptr, &error), SQLITE_OK) << error;
  sqlite3_free(error);
  sqlite3_close(db);
}

TEST_F(ConvertTest, MbtilesReaderWalksAZoomAsOftenAsAsked) {
  const std::string ours = dir_.Path("ours.mbtiles");
  ASSERT_TRUE(ExportMbtiles(reader_->tile_bytes(), ours, {}).ok());
  absl::StatusOr<std::unique_ptr<MbtilesReader>> mbtiles = MbtilesReader::Open(ours);
  ASSERT_TRUE(mbtiles.ok()) << mbtiles.status();
  for (int walk = 0; walk < 2; ++walk) {
    for (int z : {2, 1}) {
      int tiles = 0;
      ASSERT_TRUE((*mbtiles)
                      ->ForEachTileInMortonOrder(z,
                                                 [&](uint32_t x, uint32_t y, absl::string_view b) {
                                                   EXPECT_EQ(
                                                       b, reader_->GetTileBytes(z, x, y).value());
                                                   ++tiles;
                                                   return absl::OkStatus();
                                                 })
                      .ok());
      EXPECT_EQ(tiles, z == 1 ? 4 : 1) << "walk " << walk << " of zoom " << z;
    }
  }
}

TEST_F(ConvertTest, MbtilesImportReadsEveryLayoutTileForTile) {
  const std::string ours = dir_.Path("ours.mbtiles");
  ASSERT_TRUE(ExportMbtiles(reader_->tile_bytes(), ours, {}).ok());
  ASSERT_TRUE(ImportMbtiles(ours, dir_.Path("ours.fpyr"), {}).ok());
  ExpectSameTiles(*reader_, dir_.Path("ours.fpyr"));
  // A plain tiles table (GDAL's layout), its rows stored against the Morton order.
  const std::string table = dir_.Path("table.mbtiles");
  Exec(table, ours,
       "CREATE TABLE metadata AS SELECT * FROM s.metadata;"
       "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
       " tile_data BLOB);"
       "INSERT INTO tiles SELECT * FROM s.tiles ORDER BY zoom_level DESC, tile_column DESC,"
       " tile_row;");
  ASSERT_TRUE(ImportMbtiles(table, dir_.Path("table.fpyr"), {}).ok());
  ExpectSameTiles(*reader_, dir_.Path("table.fpyr"));
  // map/images with text tile ids (mbutil's layout): read through the view.
  const std::string text_ids = dir_.Path("text_ids.mbtiles");
  Exec(text_ids, ours,
       "CREATE TABLE metadata AS SELECT * FROM s.metadata;"
       "CREATE TABLE map (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
       " tile_id TEXT);"
       "CREATE TABLE images (tile_data BLOB, tile_id TEXT);"
       "INSERT INTO map SELECT zoom_level, tile_column, tile_row, 'id' || tile_id FROM s.map;"
       "INSERT INTO images SELECT tile_data, 'id' || tile_id FROM s.images;"
       "CREATE VIEW tiles AS SELECT map.zoom_level AS zoom_level, map.tile_column AS"
       " tile_column, map.tile_row AS tile_row, images.tile_data AS tile_data FROM map JOIN"
       " images ON images.tile_id = map.tile_id;");
  ASSERT_TRUE(ImportMbtiles(text_ids, dir_.Path("text_ids.fpyr"), {}).ok());
  ExpectSameTiles(*reader_, dir_.Path("text_ids.fpyr"));
}

TEST_F(ConvertTest, MbtilesImportNamesAMapRowWithoutItsImage) {
  const std::string mbtiles = dir_.Path("orphan.mbtiles");
  ASSERT_TRUE(ExportMbtiles(reader_->tile_bytes(), mbtiles, {}).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(mbtiles.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO map VALUES (2, 3, 0, 77);", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(ImportMbtiles(mbtiles, dir_.Path("orphan.fpyr"), {}).message(),
            absl::StrCat(mbtiles,
                         ": tile 2/3/0 (TMS row) refers to images.tile_id 77, which the file "
                         "does not hold: the file is damaged"));
  EXPECT_NE(access(dir_.Path("orphan.fpyr").c_str(), F_OK), 0);
}

TEST_F(ConvertTest, DamagedPmtilesAreReportedNotCopied) {
  const std::string good = dir_.Path("good.pmtiles");
  ASSERT_TRUE(ExportPmtiles(reader_->tile_bytes(), good, {}).ok());
  std::string bytes = test::ReadFileOrDie(good);
  // Truncated inside the tile data.
  const std::string cut = dir_.Path("cut.pmtiles");
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  EXPECT_EQ(ImportPmtiles(cut, dir_.Path("cut.fpyr"), {}).message(),
            absl::StrCat(cut, ": a section of the PMTiles header lies beyond the file's ",
                         bytes.size() - 10, " bytes: the archive is truncated or damaged"));
  // A damaged root directory (its gzip stream corrupted).
  absl::StatusOr<PmtilesHeader> h = PmtilesHeader::Decode(bytes);
  ASSERT_TRUE(h.ok());
  std::string damaged = bytes;
  for (uint64_t i = h->root_offset + 10; i < h->root_offset + h->root_length; ++i)
    damaged[i] ^= 0x5a;
  const std::string bad = dir_.Path("bad.pmtiles");
  std::ofstream(bad, std::ios::binary) << damaged;
  absl::Status s = ImportPmtiles(bad, dir_.Path("bad.fpyr"), {});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(access(dir_.Path("bad.fpyr").c_str(), F_OK), 0);
  // Not an archive at all.
  EXPECT_EQ(ImportPmtiles(fpyr_, dir_.Path("x.fpyr"), {}).message(),
            absl::StrCat(fpyr_,
                         ": PMTiles header: the file does not start with \"PMTiles\": not a "
                         "PMTiles archive"));
}

TEST_F(ConvertTest, ImportRoundTripKeepsEveryTileAndTheDeduplication) {
  const std::string pmtiles = dir_.Path("r.pmtiles");
  const std::string back = dir_.Path("r.fpyr");
  ASSERT_TRUE(ExportPmtiles(reader_->tile_bytes(), pmtiles, {}).ok());
  ASSERT_TRUE(ImportPmtiles(pmtiles, back, {}).ok());
  absl::StatusOr<std::unique_ptr<pyramid::Reader>> again = pyramid::Reader::Open(back);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE((*again)->Verify().ok());
  EXPECT_EQ((*again)->FindLevel(1)->unique_tile_count(), 3u);
  for (auto [z, x, y] :
       {std::tuple<int, uint32_t, uint32_t>{1, 0, 0}, {1, 1, 0}, {1, 0, 1}, {1, 1, 1}, {2, 1, 1}}) {
    EXPECT_EQ((*again)->GetTileBytes(z, x, y).value(), reader_->GetTileBytes(z, x, y).value());
  }
  EXPECT_EQ(ImportPmtiles(pmtiles, back, {}).code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace convert
}  // namespace flatpyramid
