// The PMTiles version 3 vocabulary, shared by the writer and the reader: the 127-byte header,
// Hilbert tile IDs, directory entries and their serialisation, and gzip for the internal
// compression. https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md is the source;
// every fixed size below is named after its field there.
//
// Layout of an archive we write (the order the spec recommends):
//   [0, 127)                  header (PmtilesHeader::Encode)
//   [127, 127 + root)         root directory, gzip (header + root < 16384 bytes)
//   then                      JSON metadata, gzip
//   then                      leaf directories, gzip each (absent when the root holds all)
//   then                      tile data, in tile ID order (clustered); repeats point back
//
// A directory is a list of entries (tile_id, offset, length, run_length) in ascending
// tile_id. Serialised: varint entry count; then the tile IDs as deltas from the previous one;
// then every run_length; then every length; then every offset, written 0 when it equals the
// previous entry's offset + length, else offset + 1. run_length 0 marks an entry pointing at
// a leaf directory (offset relative to the leaf section) instead of a tile (offset relative
// to the tile data section).
//
// Example:
//   uint64_t id = ZxyToTileId(12, 1583, 2167);
//   std::string bytes = SerializeDirectory(entries);
//   absl::StatusOr<std::vector<PmtilesEntry>> back = DeserializeDirectory(bytes);
#ifndef FLATPYRAMID_CONVERT_PMTILES_H_
#define FLATPYRAMID_CONVERT_PMTILES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flatpyramid {
namespace convert {

inline constexpr size_t kPmtilesHeaderSize = 127;  // Magic "PMTiles", version byte, fields.
// kPmtilesRootLimit: the header plus the compressed root directory must stay below this,
// so that a client's first 16 KiB range read holds both.
inline constexpr size_t kPmtilesRootLimit = 16384;
// kPmtilesMaxZoom: tile IDs of zoom 32 would overflow 64 bits; the header stores zooms in a byte.
inline constexpr int kPmtilesMaxZoom = 31;

// The header's compression enum (InternalCompression and TileCompression).
enum class PmtilesCompression : uint8_t {
  kUnknown = 0,
  kNone = 1,
  kGzip = 2,
  kBrotli = 3,
  kZstd = 4
};

// The header's tile type enum.
enum class PmtilesTileType : uint8_t {
  kUnknown = 0,
  kMvt = 1,
  kPng = 2,
  kJpeg = 3,
  kWebp = 4,
  kAvif = 5
};

// PmtilesHeader holds the header's fields. Positions are E7 degrees (degrees * 10,000,000).
struct PmtilesHeader {
  uint64_t root_offset = 0;
  uint64_t root_length = 0;
  uint64_t metadata_offset = 0;
  uint64_t metadata_length = 0;
  uint64_t leaf_offset = 0;
  uint64_t leaf_length = 0;
  uint64_t data_offset = 0;
  uint64_t data_length = 0;
  uint64_t addressed_tiles = 0;  // Sum of run lengths.
  uint64_t tile_entries = 0;     // Entries with run_length > 0, in all directories.
  uint64_t tile_contents = 0;    // Distinct tile offsets.
  bool clustered = false;
  PmtilesCompression internal_compression = PmtilesCompression::kGzip;
  PmtilesCompression tile_compression = PmtilesCompression::kNone;
  PmtilesTileType tile_type = PmtilesTileType::kUnknown;
  uint8_t min_zoom = 0;
  uint8_t max_zoom = 0;
  int32_t min_lon_e7 = 0;
  int32_t min_lat_e7 = 0;
  int32_t max_lon_e7 = 0;
  int32_t max_lat_e7 = 0;
  uint8_t center_zoom = 0;
  int32_t center_lon_e7 = 0;
  int32_t center_lat_e7 = 0;

  // Encode returns the 127 header bytes.
  std::string Encode() const;
  // Decode parses the first 127 bytes of `bytes`. InvalidArgument naming the fault for a
  // short buffer, a wrong magic number or a version other than 3.
  static absl::StatusOr<PmtilesHeader> Decode(absl::string_view bytes);
};

// PmtilesEntry is one directory entry (see the file comment).
struct PmtilesEntry {
  uint64_t tile_id = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t run_length = 0;
};

// ZxyToTileId returns the tile's position on the Hilbert curves of zooms 0, 1, ..., z.
// REQUIRES: z <= kPmtilesMaxZoom, x and y < 2^z.
uint64_t ZxyToTileId(int z, uint32_t x, uint32_t y);

// TileIdToZxy inverts ZxyToTileId. InvalidArgument for an ID beyond zoom kPmtilesMaxZoom.
struct PmtilesTile {
  int z = 0;
  uint32_t x = 0;
  uint32_t y = 0;
};
absl::StatusOr<PmtilesTile> TileIdToZxy(uint64_t tile_id);

// SerializeDirectory returns the uncompressed bytes of `entries` (ascending tile_id).
std::string SerializeDirectory(const std::vector<PmtilesEntry>& entries);

// DeserializeDirectory parses uncompressed directory bytes. DataLoss naming the fault for a
// truncated varint, an empty directory, tile IDs that overflow, a zero length, or an entry
// count larger than the bytes could hold.
absl::StatusOr<std::vector<PmtilesEntry>> DeserializeDirectory(absl::string_view bytes);

// GzipCompress returns `bytes` as a gzip stream (RFC 1952).
std::string GzipCompress(absl::string_view bytes);

// GzipDecompress inflates a gzip stream. DataLoss for corrupt data; ResourceExhausted when
// the output would exceed `max_bytes` (a hostile archive cannot make us allocate more).
absl::StatusOr<std::string> GzipDecompress(absl::string_view bytes, size_t max_bytes);

}  // namespace convert
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CONVERT_PMTILES_H_
