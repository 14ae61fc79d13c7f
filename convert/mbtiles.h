// MBTiles 1.3 (https://github.com/mapbox/mbtiles-spec/blob/master/1.3/spec.md): tiles in an
// SQLite database, what GDAL's MBTiles driver, QGIS, TileServer GL and mbutil read.
//
// ExportMbtiles writes a pyramid's tiles, their bytes unchanged, into the deduplicating
// layout: table `map` (zoom_level, tile_column, tile_row, tile_id) and table `images`
// (tile_id INTEGER PRIMARY KEY, tile_data), joined by the view `tiles` that readers query.
// Rows are TMS (tile_row 0 at the bottom: row = 2^z - 1 - y). Tiles the pyramid
// deduplicated are stored once. Table `metadata` holds name, format (jpg, png, webp),
// bounds, center, minzoom, maxzoom, type, description, and the pyramid's provenance under
// "flatpyramid:..." names. Written in one transaction with journal_mode=OFF and
// synchronous=OFF (nothing to roll back into: the file is a temporary one until complete),
// indexes built after the rows, then the file is synced and renamed over `output`.
//
// MbtilesReader reads any MBTiles file for the import: metadata, and the tiles of one zoom.
//
// Caveats: a "jpeg" pyramid with alpha holds PNG/WebP tiles at the data's edges; they are
// copied as they are under format "jpg" (GDAL and browsers recognise each tile's bytes).
//
// Example:
//   absl::Status s = convert::ExportMbtiles(**reader, "out.mbtiles", {});
//   absl::StatusOr<std::unique_ptr<MbtilesReader>> in = MbtilesReader::Open("out.mbtiles");
#ifndef FLATPYRAMID_CONVERT_MBTILES_H_
#define FLATPYRAMID_CONVERT_MBTILES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "convert/export_options.h"
#include "pyramid/tile_bytes_reader.h"

struct sqlite3;

namespace flatpyramid {
namespace convert {

// ExportMbtiles writes `reader`'s tiles selected by `options` to `output` (see the file
// comment). Errors as ExportPmtiles, plus Internal naming SQLite's message.
absl::Status ExportMbtiles(const pyramid::TileBytesReader& reader, const std::string& output,
                           const ExportOptions& options);

// MbtilesReader reads an MBTiles file (read-only, immutable). Not thread-safe, const methods
// included: one thread at a time (it may move between threads).
class MbtilesReader {
 public:
  // Open opens `path` read-only. NotFound, or InvalidArgument when it is not an SQLite
  // database with a `tiles` table or view of the spec's columns.
  static absl::StatusOr<std::unique_ptr<MbtilesReader>> Open(const std::string& path);
  ~MbtilesReader();
  MbtilesReader(const MbtilesReader&) = delete;
  MbtilesReader& operator=(const MbtilesReader&) = delete;

  // metadata is the `metadata` table (empty if it has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Zooms lists the zoom levels holding tiles, ascending.
  absl::StatusOr<std::vector<int>> Zooms() const;

  // TileCount is the number of tiles of zoom `z`.
  absl::StatusOr<uint64_t> TileCount(int z) const;

  // ForEachTileInMortonOrder calls `fn(x, y, bytes)` for every tile of zoom `z`, y an XYZ row
  // (0 at the top), in ascending pyramid::TileKey(x, y). `bytes` is valid during the call.
  // InvalidArgument naming the tile for a column or row outside the zoom's matrix, a tile
  // listed twice or a map row whose image is missing; the first error `fn` returns stops the
  // walk and is returned. Blobs are read through a cursor in row id order (the order they are
  // stored), so a file written in Morton order (convert's exports) is read sequentially.
  using TileFn = std::function<absl::Status(uint32_t x, uint32_t y, absl::string_view bytes)>;
  absl::Status ForEachTileInMortonOrder(int z, const TileFn& fn) const;

 private:
  // Layout is how the file stores its tiles: a `tiles` table (rowid addressed), the
  // deduplicating map/images tables with an INTEGER PRIMARY KEY tile_id, or anything else
  // behind a `tiles` view (read one lookup per tile).
  enum class Layout { kTilesTable, kMapImages, kView };
  // Position is a tile of a zoom: its pyramid::TileKey, TMS row and blob row id (not kView).
  struct Position {
    uint64_t key = 0;
    int64_t tms_row = 0;
    int64_t blob_id = 0;
  };

  MbtilesReader(std::string path, sqlite3* db);
  static Layout DetectLayout(sqlite3* db);
  static const char* PositionTable(Layout layout);
  // ListTiles is zoom z's tiles sorted by key; errors as ForEachTileInMortonOrder.
  absl::StatusOr<std::vector<Position>> ListTiles(int z) const;
  // ListMap reads every zoom's positions from `map` into map_positions_ (kMapImages).
  absl::Status ListMap() const;
  // ToPosition checks a row's zoom, column and TMS row and converts them.
  absl::StatusOr<Position> ToPosition(int64_t z, int64_t x, int64_t row, int64_t blob_id) const;
  absl::Status ForEachTileByLookup(int z, const std::vector<Position>& tiles,
                                   const TileFn& fn) const;

  std::string path_;
  sqlite3* db_;
  Layout layout_ = Layout::kView;
  std::map<std::string, std::string> metadata_;
  // kMapImages: every zoom's positions, listed by the first walk.
  mutable bool map_listed_ = false;
  mutable std::map<int, std::vector<Position>> map_positions_;
};

}  // namespace convert
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CONVERT_MBTILES_H_
