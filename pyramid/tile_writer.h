// pyramid::TileWriter writes a pyramid from tiles that are already encoded (JPEG, PNG or
// WebP bytes from an MBTiles or PMTiles import): no decoding, no resampling, the bytes are
// stored as given. What the pyramid's metadata needs (tile size, bands, alpha, pixel type,
// codec, levels, per-level statistics, bounds) is learnt from the tiles' headers
// (codec::PeekInfo) and their positions.
//
// Tiles arrive level by level in ascending zoom, and within a level in ascending
// TileKey(x, y) (pyramid/format.h, the storage key order). Identical small tiles within a
// level (up to 8 KiB: uniform fills, open ocean) are stored once, as the builder stores them.
//
// Output rules (//storage:output_file): the pyramid is written to storage::TemporaryPath(path)
// and committed over `path` by Finish; without Finish (an error, a crash) nothing replaces
// `path` and the temporary file is removed by the destructor.
//
// Example:
//   TileWriterOptions options;
//   options.source_description = "world.mbtiles";
//   absl::StatusOr<std::unique_ptr<TileWriter>> writer = TileWriter::Create("world.fpyr", options);
//   if (!writer.ok()) return writer.status();
//   absl::Status s = (*writer)->AddTile(0, 0, 0, png_bytes);
//   if (s.ok()) s = (*writer)->Finish();
#ifndef FLATPYRAMID_PYRAMID_TILE_WRITER_H_
#define FLATPYRAMID_PYRAMID_TILE_WRITER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/options.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/internal/tile_hash.h"

namespace flatpyramid {
namespace pyramid {

struct TileWriterOptions {
  // overwrite: replace an existing file at the path (never one of `inputs`).
  bool overwrite = false;
  // inputs: files the pyramid must never be written onto (storage::OutputOptions::inputs).
  std::vector<std::string> inputs;
  // bounds_lonlat: the data's bounds in WGS84 degrees; unset: the union of the finest
  // level's tiles.
  std::optional<geo::Bounds> bounds_lonlat;
  std::string source_description;
  std::string tool_version;
  std::map<std::string, std::string> creation_options;
};

// TileWriter writes one WebMercatorQuad pyramid. Thread-compatible.
class TileWriter {
 public:
  // Create starts writing `path`'s temporary file. AlreadyExists when `path` exists and
  // !options.overwrite, InvalidArgument when it is one of options.inputs (storage::CheckOutput);
  // storage errors otherwise.
  static absl::StatusOr<std::unique_ptr<TileWriter>> Create(const std::string& path,
                                                            const TileWriterOptions& options);
  ~TileWriter();
  TileWriter(const TileWriter&) = delete;
  TileWriter& operator=(const TileWriter&) = delete;

  // AddTile stores `bytes` as tile z/x/y (XYZ row). InvalidArgument naming the tile when z
  // is below the previous tile's zoom, the key does not follow the previous one at this zoom,
  // x or y is outside the matrix, the bytes are not a JPEG, PNG or WebP image (or are
  // empty), or its size, pixel type or colour bands differ from the first tile's (tiles of
  // 256 or 512 pixels). A small tile whose bytes equal a stored tile's of this level is
  // stored as a reference to it (bytes compared, not only fingerprints).
  absl::Status AddTile(int z, uint32_t x, uint32_t y, absl::string_view bytes);

  // TileFacts is what AddTile learns from a tile's bytes alone: its image header and, for a
  // small tile, the fingerprint that finds an identical stored one.
  struct TileFacts {
    codec::ImageInfo info;
    bool small = false;
    internal::TileDigest digest;  // Set when `small`.
  };

  // Inspect returns `bytes`' TileFacts, or AddTile's InvalidArgument for bytes that are not
  // an image. Thread-safe and stateless: an import inspects tiles on its reading thread while
  // the writer adds earlier ones.
  static absl::StatusOr<TileFacts> Inspect(int z, uint32_t x, uint32_t y, absl::string_view bytes);

  // AddTile with `facts` from Inspect(z, x, y, bytes): the same checks and result as above.
  // REQUIRES: `facts` is Inspect's answer for these bytes. (A wrong fingerprint costs at most
  // a shared copy: sharing needs equal bytes.)
  absl::Status AddTile(int z, uint32_t x, uint32_t y, absl::string_view bytes,
                       const TileFacts& facts);

  // Finish seals the pyramid and renames it to its path. FailedPrecondition when no tile was
  // added. The writer is done afterwards.
  absl::Status Finish();

  // tiles_added counts AddTile calls that succeeded.
  uint64_t tiles_added() const;

 private:
  class Impl;
  explicit TileWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_TILE_WRITER_H_
