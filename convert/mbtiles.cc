#include "convert/mbtiles.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "convert/internal/export_plan.h"
#include "pyramid/format.h"

namespace flatpyramid {
namespace convert {
namespace {

using internal::ContentId;
using internal::ExportPlan;
using internal::SelectedTile;
using internal::TileSource;

constexpr char kSchema[] =
    "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
    "PRAGMA cache_size=-65536; PRAGMA application_id=0x4d504258;"  // "MPBX", the spec's.
    "CREATE TABLE metadata (name TEXT, value TEXT);"
    "CREATE TABLE map (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
    " tile_id INTEGER);"
    "CREATE TABLE images (tile_id INTEGER PRIMARY KEY, tile_data BLOB);"
    "CREATE VIEW tiles AS SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column,"
    " map.tile_row AS tile_row, images.tile_data AS tile_data"
    " FROM map JOIN images ON images.tile_id = map.tile_id;"
    "BEGIN;";
constexpr char kIndexes[] =
    "CREATE UNIQUE INDEX map_index ON map (zoom_level, tile_column, tile_row);"
    "CREATE UNIQUE INDEX name ON metadata (name);"
    "COMMIT;";

absl::Status SqliteError(sqlite3* db, absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(path, ": SQLite ", what,
                                          " failed: ", db ? sqlite3_errmsg(db) : "out of memory"));
}

// Statement owns a prepared statement.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Step runs a bound INSERT and resets it.
bool Step(sqlite3_stmt* stmt) {
  const bool ok = sqlite3_step(stmt) == SQLITE_DONE;
  sqlite3_reset(stmt);
  return ok;
}

std::vector<std::pair<std::string, std::string>> MetadataRows(const ExportPlan& plan) {
  const geo::Bounds& b = plan.bounds_lonlat;
  std::vector<std::pair<std::string, std::string>> rows = {
      {"name", plan.name},
      {"format", plan.format},
      {"type", "baselayer"},
      {"version", "1.3"},
      {"description", plan.description},
      {"bounds", absl::StrFormat("%.9g,%.9g,%.9g,%.9g", b.min_x, b.min_y, b.max_x, b.max_y)},
      {"center",
       absl::StrFormat("%.9g,%.9g,%d", plan.center_lon, plan.center_lat, plan.center_zoom)},
      {"minzoom", absl::StrCat(plan.min_zoom)},
      {"maxzoom", absl::StrCat(plan.max_zoom)},
  };
  for (const auto& [key, value] : plan.attributes) rows.emplace_back(key, value);
  return rows;
}

absl::Status WriteTiles(sqlite3* db, const pyramid::TileBytesReader& reader, const ExportPlan& plan,
                        const ExportOptions& options, const std::string& path) {
  Statement map(db, "INSERT INTO map VALUES (?1, ?2, ?3, ?4)");
  Statement image(db, "INSERT INTO images VALUES (?1, ?2)");
  if (map.get() == nullptr || image.get() == nullptr) return SqliteError(db, "prepare", path);
  TileSource source(reader, plan);
  absl::flat_hash_map<ContentId, int64_t> image_ids;
  std::string scratch;
  ExportProgress progress{0, plan.tile_count, 0};
  for (const internal::SelectedLevel& level : plan.levels) {
    const uint32_t rows = reader.tile_matrix_set().MatrixHeight(level.z);
    for (uint64_t index : level.entries) {
      const SelectedTile tile = source.Tile(level, index);
      auto [it, inserted] = image_ids.try_emplace(tile.content, image_ids.size());
      if (inserted) {
        absl::StatusOr<absl::string_view> bytes = source.Bytes(tile, &scratch);
        if (!bytes.ok()) return bytes.status();
        sqlite3_bind_int64(image.get(), 1, it->second);
        sqlite3_bind_blob64(image.get(), 2, bytes->data(), bytes->size(), SQLITE_STATIC);
        if (!Step(image.get())) return SqliteError(db, "insert into images", path);
        progress.bytes_written += bytes->size();
      }
      sqlite3_bind_int(map.get(), 1, level.z);
      sqlite3_bind_int64(map.get(), 2, tile.x);
      sqlite3_bind_int64(map.get(), 3, rows - 1 - tile.y);  // TMS row.
      sqlite3_bind_int64(map.get(), 4, it->second);
      if (!Step(map.get())) return SqliteError(db, "insert into map", path);
      if (++progress.tiles_done % internal::kProgressEvery == 0 && options.progress) {
        options.progress(progress);
      }
    }
  }
  Statement meta(db, "INSERT INTO metadata VALUES (?1, ?2)");
  for (const auto& [name, value] : MetadataRows(plan)) {
    sqlite3_bind_text(meta.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    sqlite3_bind_text(meta.get(), 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    if (!Step(meta.get())) return SqliteError(db, "insert into metadata", path);
  }
  if (options.progress) options.progress(progress);
  return absl::OkStatus();
}

absl::Status WriteDatabase(const pyramid::TileBytesReader& reader, const ExportPlan& plan,
                           const ExportOptions& options, const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    absl::Status s = SqliteError(db, "open", path);
    sqlite3_close(db);
    return s;
  }
  absl::Status status;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    status = SqliteError(db, "schema", path);
  }
  if (status.ok()) status = WriteTiles(db, reader, plan, options, path);
  if (status.ok() && sqlite3_exec(db, kIndexes, nullptr, nullptr, nullptr) != SQLITE_OK) {
    status = SqliteError(db, "index and commit", path);
  }
  if (sqlite3_close(db) != SQLITE_OK && status.ok()) status = SqliteError(db, "close", path);
  if (!status.ok()) return status;
  // synchronous=OFF skipped every sync: one now, before the rename publishes the file.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && fdatasync(fd) == 0;
  if (fd >= 0) close(fd);
  return synced ? absl::OkStatus()
                : absl::DataLossError(absl::StrCat("cannot sync ", path, " (disk full?)"));
}

}  // namespace

absl::Status ExportMbtiles(const pyramid::TileBytesReader& reader, const std::string& output,
                           const ExportOptions& options) {
  return internal::RunExport(reader, output, options, "MBTiles",
                             [&](const ExportPlan& plan, const std::string& temporary) {
                               return WriteDatabase(reader, plan, options, temporary);
                             });
}

// --- Reading ---

namespace {

// Prepares reports whether `sql` compiles against the file's schema.
bool Prepares(sqlite3* db, const char* sql) { return Statement(db, sql).get() != nullptr; }

}  // namespace

MbtilesReader::Layout MbtilesReader::DetectLayout(sqlite3* db) {
  // The spec's two layouts, when their blobs are addressed by row id; anything else is read
  // through the `tiles` view one lookup per tile.
  Statement type(db, "SELECT type FROM sqlite_master WHERE name = 'tiles'");
  const bool table =
      type.get() != nullptr && sqlite3_step(type.get()) == SQLITE_ROW &&
      absl::string_view(reinterpret_cast<const char*>(sqlite3_column_text(type.get(), 0))) ==
          "table";
  if (table && Prepares(db, "SELECT rowid, tile_column, tile_row FROM tiles LIMIT 0")) {
    return Layout::kTilesTable;
  }
  const char* data_type = nullptr;
  int primary_key = 0;
  if (!table &&
      sqlite3_table_column_metadata(db, nullptr, "images", "tile_id", &data_type, nullptr, nullptr,
                                    &primary_key, nullptr) == SQLITE_OK &&
      primary_key != 0 && data_type != nullptr && absl::EqualsIgnoreCase(data_type, "INTEGER") &&
      Prepares(db, "SELECT zoom_level, tile_column, tile_row, tile_id FROM map LIMIT 0") &&
      Prepares(db, "SELECT rowid FROM images LIMIT 0")) {
    return Layout::kMapImages;
  }
  return Layout::kView;
}

// PositionTable is where a layout lists its tiles' positions: `map` rather than the view,
// whose join would read every image.
const char* MbtilesReader::PositionTable(Layout layout) {
  return layout == Layout::kMapImages ? "map" : "tiles";
}

MbtilesReader::MbtilesReader(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

MbtilesReader::~MbtilesReader() { sqlite3_close(db_); }

absl::StatusOr<std::unique_ptr<MbtilesReader>> MbtilesReader::Open(const std::string& path) {
  if (access(path.c_str(), F_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  sqlite3* db = nullptr;
  // NOMUTEX: one thread at a time uses the reader (mbtiles.h), so SQLite need not lock.
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    absl::Status s = absl::InvalidArgumentError(
        absl::StrCat(path, ": not an MBTiles file: SQLite cannot open it: ", sqlite3_errmsg(db)));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<MbtilesReader> reader(new MbtilesReader(path, db));
  // One read transaction for the reader's life: statements then take no file lock each (an
  // fcntl and a journal stat per tile otherwise); pages are read through a memory map.
  sqlite3_exec(db, "PRAGMA mmap_size=1099511627776; BEGIN;", nullptr, nullptr, nullptr);
  {
    Statement check(db, "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 0");
    if (check.get() == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          path,
          ": not an MBTiles file: no tiles table with zoom_level, tile_column, tile_row, "
          "tile_data (SQLite: ",
          sqlite3_errmsg(db), ")"));
    }
  }
  Statement meta(db, "SELECT name, value FROM metadata");
  while (meta.get() != nullptr && sqlite3_step(meta.get()) == SQLITE_ROW) {
    const unsigned char* name = sqlite3_column_text(meta.get(), 0);
    const unsigned char* value = sqlite3_column_text(meta.get(), 1);
    if (name != nullptr && value != nullptr) {
      reader->metadata_[reinterpret_cast<const char*>(name)] = reinterpret_cast<const char*>(value);
    }
  }
  reader->layout_ = DetectLayout(db);
  return reader;
}

absl::StatusOr<std::vector<int>> MbtilesReader::Zooms() const {
  const std::string sql = absl::StrCat("SELECT DISTINCT zoom_level FROM ", PositionTable(layout_),
                                       " ORDER BY zoom_level");
  Statement zooms(db_, sql.c_str());
  if (zooms.get() == nullptr) return SqliteError(db_, "listing zoom levels", path_);
  std::vector<int> out;
  int rc;
  while ((rc = sqlite3_step(zooms.get())) == SQLITE_ROW) {
    const int64_t z = sqlite3_column_int64(zooms.get(), 0);
    if (z < 0 || z > 30) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": zoom_level ", z, " is outside 0..30"));
    }
    out.push_back(static_cast<int>(z));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "listing zoom levels", path_);
  return out;
}

absl::StatusOr<uint64_t> MbtilesReader::TileCount(int z) const {
  const std::string sql =
      absl::StrCat("SELECT COUNT(*) FROM ", PositionTable(layout_), " WHERE zoom_level = ?1");
  Statement count(db_, sql.c_str());
  if (count.get() == nullptr) return SqliteError(db_, "counting tiles", path_);
  sqlite3_bind_int(count.get(), 1, z);
  if (sqlite3_step(count.get()) != SQLITE_ROW) return SqliteError(db_, "counting tiles", path_);
  return static_cast<uint64_t>(sqlite3_column_int64(count.get(), 0));
}

absl::StatusOr<MbtilesReader::Position> MbtilesReader::ToPosition(int64_t z, int64_t x, int64_t row,
                                                                  int64_t blob_id) const {
  if (z < 0 || z > 30) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": zoom_level ", z, " is outside 0..30"));
  }
  const int64_t size = int64_t{1} << z;
  if (x < 0 || x >= size || row < 0 || row >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": tile ", z, "/", x, "/", row, " (TMS row) is outside the zoom's ",
                     size, " x ", size, " tiles: not a WebMercator quad tile set"));
  }
  return Position{pyramid::TileKey(static_cast<uint32_t>(x), static_cast<uint32_t>(size - 1 - row)),
                  row, blob_id};
}

absl::Status MbtilesReader::ListMap() const {
  // One pass over the table in storage order: a query per zoom would look each row of the
  // index up in the table for its tile_id.
  Statement scan(db_, "SELECT zoom_level, tile_column, tile_row, tile_id FROM map");
  if (scan.get() == nullptr) return SqliteError(db_, "listing tiles", path_);
  int rc;
  while ((rc = sqlite3_step(scan.get())) == SQLITE_ROW) {
    const int64_t z = sqlite3_column_int64(scan.get(), 0);
    absl::StatusOr<Position> position =
        ToPosition(z, sqlite3_column_int64(scan.get(), 1), sqlite3_column_int64(scan.get(), 2),
                   sqlite3_column_int64(scan.get(), 3));
    if (!position.ok()) return position.status();
    map_positions_[static_cast<int>(z)].push_back(*position);
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "listing tiles", path_);
  map_listed_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MbtilesReader::Position>> MbtilesReader::ListTiles(int z) const {
  std::vector<Position> tiles;
  if (layout_ == Layout::kMapImages) {
    if (!map_listed_) {
      if (absl::Status s = ListMap(); !s.ok()) return s;
    }
    auto listed = map_positions_.find(z);
    if (listed != map_positions_.end()) tiles = listed->second;
  } else {
    // The blob's row id: the tiles table's rowid (none for a view).
    Statement list(db_, layout_ == Layout::kTilesTable
                            ? "SELECT tile_column, tile_row, rowid FROM tiles WHERE zoom_level = ?1"
                            : "SELECT tile_column, tile_row, 0 FROM tiles WHERE zoom_level = ?1");
    if (list.get() == nullptr) return SqliteError(db_, "listing tiles", path_);
    sqlite3_bind_int(list.get(), 1, z);
    int rc;
    while ((rc = sqlite3_step(list.get())) == SQLITE_ROW) {
      absl::StatusOr<Position> position =
          ToPosition(z, sqlite3_column_int64(list.get(), 0), sqlite3_column_int64(list.get(), 1),
                     sqlite3_column_int64(list.get(), 2));
      if (!position.ok()) return position.status();
      tiles.push_back(*position);
    }
    if (rc != SQLITE_DONE) return SqliteError(db_, "listing tiles", path_);
  }
  std::sort(tiles.begin(), tiles.end(),
            [](const Position& a, const Position& b) { return a.key < b.key; });
  for (size_t i = 1; i < tiles.size(); ++i) {
    if (tiles[i].key == tiles[i - 1].key) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": zoom ", z, " lists one tile twice: the file is damaged"));
    }
  }
  return tiles;
}

namespace {

// BlobCursor reads blobs by row id from a statement "SELECT id, blob ... WHERE id >= ?1 ORDER
// BY id": a row id at or shortly after the cursor's is reached by stepping forward (the next
// rows of the same B-tree pages), any other by a fresh seek. Tiles requested in the order they
// are stored are thus read sequentially; others cost one B-tree descent each.
class BlobCursor {
 public:
  BlobCursor(sqlite3* db, const char* sql) : stmt_(db, sql) {}
  bool ok() const { return stmt_.get() != nullptr; }

  // Seek positions the cursor on row `id`: false when no row has that id. The blob stays
  // valid until the next Seek.
  bool Seek(int64_t id) {
    if (!positioned_ || id < current_ || id - current_ > kMaxStepsForward) {
      sqlite3_reset(stmt_.get());
      sqlite3_bind_int64(stmt_.get(), 1, id);
      positioned_ = Step();
    }
    while (positioned_ && current_ < id) positioned_ = Step();
    return positioned_ && current_ == id;
  }
  absl::string_view blob() const {
    const void* data = sqlite3_column_blob(stmt_.get(), 1);
    return absl::string_view(static_cast<const char*>(data),
                             static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), 1)));
  }

 private:
  // Rows a forward step may skip before a seek is cheaper (both read the pages in between
  // at most once; a seek descends the tree from its root).
  static constexpr int64_t kMaxStepsForward = 64;

  bool Step() {
    if (sqlite3_step(stmt_.get()) != SQLITE_ROW) return false;
    current_ = sqlite3_column_int64(stmt_.get(), 0);
    return true;
  }

  Statement stmt_;
  bool positioned_ = false;
  int64_t current_ = 0;
};

}  // namespace

absl::Status MbtilesReader::ForEachTileInMortonOrder(int z, const TileFn& fn) const {
  absl::StatusOr<std::vector<Position>> tiles = ListTiles(z);
  if (!tiles.ok()) return tiles.status();
  if (layout_ == Layout::kView) return ForEachTileByLookup(z, *tiles, fn);
  BlobCursor cursor(db_, layout_ == Layout::kTilesTable
                             ? "SELECT rowid, tile_data FROM tiles WHERE rowid >= ?1 ORDER BY rowid"
                             : "SELECT tile_id, tile_data FROM images WHERE tile_id >= ?1 "
                               "ORDER BY tile_id");
  if (!cursor.ok()) return SqliteError(db_, "reading tiles", path_);
  for (const Position& tile : *tiles) {
    uint32_t x, y;
    pyramid::TileFromKey(tile.key, &x, &y);
    if (!cursor.Seek(tile.blob_id)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": tile ", z, "/", x, "/", tile.tms_row, " (TMS row) refers to ",
                       layout_ == Layout::kMapImages ? "images.tile_id " : "rowid ", tile.blob_id,
                       ", which the file does not hold: the file is damaged"));
    }
    if (absl::Status s = fn(x, y, cursor.blob()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status MbtilesReader::ForEachTileByLookup(int z, const std::vector<Position>& tiles,
                                                const TileFn& fn) const {
  Statement get(db_,
                "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND "
                "tile_row = ?3");
  if (get.get() == nullptr) return SqliteError(db_, "reading tiles", path_);
  for (const Position& tile : tiles) {
    uint32_t x, y;
    pyramid::TileFromKey(tile.key, &x, &y);
    sqlite3_bind_int(get.get(), 1, z);
    sqlite3_bind_int64(get.get(), 2, x);
    sqlite3_bind_int64(get.get(), 3, tile.tms_row);
    if (sqlite3_step(get.get()) != SQLITE_ROW) return SqliteError(db_, "reading a tile", path_);
    const void* data = sqlite3_column_blob(get.get(), 0);
    const int length = sqlite3_column_bytes(get.get(), 0);
    absl::Status s =
        fn(x, y, absl::string_view(static_cast<const char*>(data), static_cast<size_t>(length)));
    sqlite3_reset(get.get());
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace convert
}  // namespace flatpyramid
