// ExportPmtiles writes a pyramid as a PMTiles version 3 archive (convert/pmtiles.h has the
// layout): what a static host or a CDN serves with HTTP range requests, and what the
// `pmtiles` JavaScript library, MapLibre's pmtiles protocol and `pmtiles serve` read.
//
// The stored tile bytes are copied unchanged, in Hilbert tile ID order (clustered). Tiles the
// pyramid deduplicated (sharing one stored location) are written once: their entries point at
// one offset, and consecutive tile IDs of the same tile become one run-length entry.
// Directories and the JSON metadata are gzip-compressed; the root directory holds every entry
// when it fits the spec's 16 KiB with the header, else it points at leaf directories, each
// of `leaf_entries` entries (at least 4096, grown until the root fits).
//
// One pass over the tile bytes: directories are built first from the stored lengths (tile
// data never touched), then written, then the tile data streams out behind them. Memory is
// the directory (24 bytes per entry while building) and a 4 MiB write buffer, whatever the
// tile bytes. Elevation pyramids (ExportOptions::terrain_encoding) encode each tile twice,
// once to learn its length and once to write it, to keep that bound.
//
// JSON metadata: name, description, format, type "baselayer", bounds, center, minzoom,
// maxzoom, and the pyramid's provenance under "flatpyramid:..." keys (source, codec, tool
// version, creation time, every build option); for terrain exports "encoding".
//
// tile_type: the codec of the tiles (JPEG, PNG, WebP). An imagery pyramid with alpha whose
// codec is JPEG also holds PNG/WebP tiles where the data has edges; such a mix is written
// with tile_type Unknown (0), as the spec provides, and every tile keeps its own bytes.
//
// Output rules: the archive is written to a temporary file next to `output`, synced, and
// renamed over it when complete. AlreadyExists when `output` exists and !options.overwrite;
// InvalidArgument when it is the pyramid itself.
//
// Example:
//   absl::StatusOr<std::unique_ptr<pyramid::TileBytesReader>> reader =
//       pyramid::TileBytesReader::Open(in);
//   absl::Status s = convert::ExportPmtiles(**reader, "out.pmtiles", {});
#ifndef FLATPYRAMID_CONVERT_PMTILES_WRITER_H_
#define FLATPYRAMID_CONVERT_PMTILES_WRITER_H_

#include <string>

#include "absl/status/status.h"
#include "convert/export_options.h"
#include "pyramid/tile_bytes_reader.h"

namespace flatpyramid {
namespace convert {

// ExportPmtiles writes `reader`'s tiles selected by `options` to `output` (see the file
// comment). Errors name the file or tile: the checks of ExportOptions, a damaged tile
// (DataLoss, nothing is published), and I/O errors (ResourceExhausted for a full disk).
absl::Status ExportPmtiles(const pyramid::TileBytesReader& reader, const std::string& output,
                           const ExportOptions& options);

}  // namespace convert
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CONVERT_PMTILES_WRITER_H_
