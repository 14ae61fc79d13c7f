// PmtilesReader reads a PMTiles version 3 archive (convert/pmtiles.h) through a read-only
// memory map: its header, its JSON metadata and every tile, with every directory and tile
// location checked against the file before it is touched (a damaged or hostile archive is
// an error, never an over-read).
//
// Supported: internal compression gzip or none; tiles uncompressed (images). Brotli and zstd
// directories are refused with a message naming `pmtiles convert`.
//
// Example:
//   absl::StatusOr<std::unique_ptr<PmtilesReader>> archive = PmtilesReader::Open(path);
//   if (!archive.ok()) return archive.status();
//   absl::Status s = (*archive)->ForEachTile(
//       [](const PmtilesTile& tile, absl::string_view bytes) { ...; return absl::OkStatus(); });
#ifndef FLATPYRAMID_CONVERT_PMTILES_READER_H_
#define FLATPYRAMID_CONVERT_PMTILES_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "convert/pmtiles.h"
#include "storage/env.h"

namespace flatpyramid {
namespace convert {

// PmtilesTileRef is where one tile's bytes are, relative to the tile data section.
struct PmtilesTileRef {
  PmtilesTile tile;
  uint64_t offset = 0;
  uint32_t length = 0;
};

class PmtilesReader {
 public:
  // Open maps `path` and checks its header and section bounds. NotFound; InvalidArgument
  // for a file that is not a version 3 archive; DataLoss when a section lies outside the file.
  static absl::StatusOr<std::unique_ptr<PmtilesReader>> Open(const std::string& path);

  const PmtilesHeader& header() const { return header_; }

  // MetadataJson returns the decompressed JSON metadata. DataLoss when it does not inflate.
  absl::StatusOr<std::string> MetadataJson() const;

  // Tiles lists every addressed tile (run lengths expanded) in tile ID order, walking the
  // root and leaf directories (at most kMaxDepth deep). DataLoss naming the fault for a
  // directory that does not parse, or a leaf or tile outside its section.
  absl::StatusOr<std::vector<PmtilesTileRef>> Tiles() const;

  // TileBytes returns `ref`'s bytes, pointing into the map (valid while this reader lives).
  // REQUIRES: ref came from Tiles().
  absl::string_view TileBytes(const PmtilesTileRef& ref) const;

  static constexpr int kMaxDepth = 4;  // Root plus leaves of leaves; writers use two.

 private:
  PmtilesReader(std::string path, std::unique_ptr<storage::MappedRegion> map, PmtilesHeader header);
  absl::Status Walk(absl::string_view compressed, int depth,
                    std::vector<PmtilesTileRef>* out) const;

  std::string path_;
  std::unique_ptr<storage::MappedRegion> map_;
  PmtilesHeader header_;
};

}  // namespace convert
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CONVERT_PMTILES_READER_H_
