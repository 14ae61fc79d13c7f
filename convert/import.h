// Imports of MBTiles files and PMTiles archives into a pyramid (.fpyr): every tile copied as
// it is (JPEG, PNG or WebP, the codec detected per tile) through pyramid::TileWriter, in
// WebMercatorQuad, zooms as the source has them (zooms it skips become empty levels).
//
// The pyramid's metadata comes from the source's where it has it (bounds; name,
// description, attribution into the source description) and from the tiles otherwise
// (tile size, bands, alpha, codec; bounds from the finest level's tiles).
//
// Refused with InvalidArgument naming the source: vector tiles (MBTiles format "pbf",
// PMTiles tile type MVT), compressed tiles, tiles that are not JPEG/PNG/WebP images of 256 or
// 512 pixels, tiles of different sizes or colour bands, an MBTiles whose metadata names
// another CRS than WebMercator. A damaged source (a PMTiles directory or tile outside the
// file, an unreadable SQLite page) is DataLoss or Internal, and nothing is written.
//
// Output rules: AlreadyExists when `output` exists and !options.overwrite; InvalidArgument
// when it is the input; the pyramid is renamed into place only when complete.
//
// Example:
//   ImportOptions options;
//   absl::Status s = ImportMbtiles("world.mbtiles", "world.fpyr", options);
#ifndef FLATPYRAMID_CONVERT_IMPORT_H_
#define FLATPYRAMID_CONVERT_IMPORT_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace flatpyramid {
namespace convert {

// ImportProgress is reported every 4096 tiles and once at the end.
struct ImportProgress {
  uint64_t tiles_done = 0;
  uint64_t tiles_total = 0;
  uint64_t bytes_copied = 0;
};

struct ImportOptions {
  bool overwrite = false;
  // name: recorded in the pyramid's source description (default: the source's own name).
  std::string name;
  std::function<void(const ImportProgress&)> progress;
};

// ImportMbtiles copies every tile of the MBTiles file `input` into the pyramid `output`.
absl::Status ImportMbtiles(const std::string& input, const std::string& output,
                           const ImportOptions& options);

// ImportPmtiles copies every tile of the PMTiles archive `input` into the pyramid `output`.
absl::Status ImportPmtiles(const std::string& input, const std::string& output,
                           const ImportOptions& options);

}  // namespace convert
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CONVERT_IMPORT_H_
