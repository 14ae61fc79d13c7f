// ExportXyzDirectory writes a pyramid as a directory of tile files, what gdal2tiles users
// publish on any static web server:
//
//   OUT/{z}/{x}/{y}.{ext}   the stored tile bytes (y an XYZ row, 0 at the top)
//   OUT/tilejson.json       TileJSON 3.0.0 with the relative URL template "{z}/{x}/{y}.ext"
//   OUT/index.html          a Leaflet map of the tiles (Leaflet 1.9.4 from unpkg.com)
//
// `ext` is the pyramid's format (jpg, png, webp). Tiles the pyramid deduplicated become hard
// links to one file where the filesystem allows it (copy with `cp -a` / `rsync -H` to keep
// them shared), else copies.
//
// Caveats: a "jpeg" pyramid with alpha holds PNG/WebP tiles at the data's edges; they keep
// their bytes under the ".jpg" name (browsers and GDAL recognise the content, a server's
// Content-Type is then wrong for those tiles). index.html needs the network for Leaflet.
//
// Output rules as ExportPmtiles: the directory is written under a temporary name next to
// `output` and renamed into place when complete (an existing one, with overwrite, is moved
// aside first and removed after).
#ifndef FLATPYRAMID_CONVERT_XYZ_DIR_H_
#define FLATPYRAMID_CONVERT_XYZ_DIR_H_

#include <string>

#include "absl/status/status.h"
#include "convert/export_options.h"
#include "pyramid/tile_bytes_reader.h"

namespace flatpyramid {
namespace convert {

// ExportXyzDirectory writes `reader`'s tiles selected by `options` under the directory
// `output` (see the file comment). Errors as ExportPmtiles.
absl::Status ExportXyzDirectory(const pyramid::TileBytesReader& reader, const std::string& output,
                                const ExportOptions& options);

}  // namespace convert
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CONVERT_XYZ_DIR_H_
