// Tile access to the pyramids the peers build, the way a tile server would read them:
// a Cloud Optimized GeoTIFF in the GoogleMapsCompatible tiling through GDAL (ReadBlock on the
// overview matching the zoom), an MBTiles file through SQLite (one prepared statement), and
// a directory of tile files (open + read). Used by the peer read benchmarks and by the
// quality check, so both read exactly the same way.
//
// Example:
//   absl::StatusOr<std::unique_ptr<MbtilesTiles>> mbtiles = MbtilesTiles::Open("t.mbtiles");
//   std::string bytes;
//   absl::Status s = (*mbtiles)->TileBytes(5, 17, 11, &bytes);  // XYZ row, flipped inside.
//   absl::StatusOr<codec::Image> rgb = DecodeTileBytes(bytes);
//
// Thread safety: none of these classes may be used from two threads at once.
#ifndef FLATPYRAMID_TESTING_BENCH_PEER_TILES_H_
#define FLATPYRAMID_TESTING_BENCH_PEER_TILES_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"

class GDALDataset;
class GDALRasterBand;
struct sqlite3;
struct sqlite3_stmt;

namespace flatpyramid {
namespace bench {

// kTileSize is the tile size of every pyramid the benchmarks build.
inline constexpr int kTileSize = 256;

// CogTiles reads tiles of a COG written with TILING_SCHEME=GoogleMapsCompatible: zoom z is
// the full-resolution level or one of its overviews, and tile z/x/y is one block of it.
class CogTiles {
 public:
  // Open opens `path` read-only and finds the zoom of each level from its resolution.
  // Returns InvalidArgument when the file is not tiled 256 x 256 on the Web Mercator grid.
  static absl::StatusOr<std::unique_ptr<CogTiles>> Open(const std::string& path);
  ~CogTiles();
  CogTiles(const CogTiles&) = delete;
  CogTiles& operator=(const CogTiles&) = delete;

  // max_zoom is the zoom of the full-resolution level.
  int max_zoom() const { return max_zoom_; }
  // band_count is the number of colour bands (the mask is not counted).
  int band_count() const { return band_count_; }

  // ReadTile decodes tile z/x/y (XYZ) with GDALRasterBand::ReadBlock on each band of the
  // matching level and interleaves the bands into `out`.
  // NotFound when z is not a level or the block lies outside the file's extent.
  // REQUIRES: out is kTileSize x kTileSize, band_count() bands, kUint8.
  absl::Status ReadTile(int z, uint32_t x, uint32_t y, const codec::MutableImageView& out);

  // ReadWindow reads a window of the full-resolution level with GDALDataset::RasterIO,
  // pixel-interleaved, into `out` (its width, height and band_count() bands, kUint8).
  absl::Status ReadWindow(int x_off, int y_off, const codec::MutableImageView& out);

  // width and height of the full-resolution level, in pixels.
  int width() const;
  int height() const;

 private:
  CogTiles() = default;
  GDALRasterBand* LevelBand(int z, int band) const;

  GDALDataset* dataset_ = nullptr;
  std::string path_;
  int max_zoom_ = 0;
  int band_count_ = 0;
  int level_count_ = 0;
  // Block offset of the file's top-left block in the tile grid of the full-resolution level.
  int64_t block_x0_ = 0;
  int64_t block_y0_ = 0;
  std::unique_ptr<uint8_t[]> blocks_;  // band_count_ band blocks, one after the other.
};

// MbtilesTiles reads encoded tiles from an MBTiles file (TMS rows in the file).
class MbtilesTiles {
 public:
  // Open opens `path` read-only and prepares the tile query.
  static absl::StatusOr<std::unique_ptr<MbtilesTiles>> Open(const std::string& path);
  ~MbtilesTiles();
  MbtilesTiles(const MbtilesTiles&) = delete;
  MbtilesTiles& operator=(const MbtilesTiles&) = delete;

  // TileBytes replaces *out with the encoded bytes of XYZ tile z/x/y.
  // NotFound when the file has no such tile.
  absl::Status TileBytes(int z, uint32_t x, uint32_t y, std::string* out);

 private:
  MbtilesTiles() = default;

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* query_ = nullptr;
};

// DirectoryTiles reads tile files named by a template such as "{z}/{x}/{y}.png"
// (gdal2tiles --xyz) or "{z}/{y}/{x}.jpg" (vips dzsave --layout google).
class DirectoryTiles {
 public:
  DirectoryTiles(std::string root, std::string path_template);

  // Path returns the file name of tile z/x/y.
  std::string Path(int z, uint32_t x, uint32_t y) const;

  // TileBytes replaces *out with the file of tile z/x/y (open, read, close).
  // NotFound when there is no such file.
  absl::Status TileBytes(int z, uint32_t x, uint32_t y, std::string* out) const;

 private:
  std::string root_;
  std::string path_template_;
};

// DecodeTileBytes decodes a JPEG, PNG or WebP tile to interleaved uint8 samples.
absl::StatusOr<codec::Image> DecodeTileBytes(absl::string_view bytes);

// DropFromPageCache asks the kernel to forget the cached pages of `path`
// (posix_fadvise(POSIX_FADV_DONTNEED) after fdatasync); pages still mapped by a process
// stay. For a directory, every file under it.
absl::Status DropFromPageCache(const std::string& path);

}  // namespace bench
}  // namespace flatpyramid

#endif  // FLATPYRAMID_TESTING_BENCH_PEER_TILES_H_
