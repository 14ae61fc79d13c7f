#include "convert/pmtiles_reader.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace convert {
namespace {

// A directory or the metadata inflates to at most this: far above what writers produce
// (a leaf of 100,000 entries is under 1 MiB), so a hostile archive cannot exhaust memory.
constexpr size_t kMaxInflatedBytes = size_t{256} << 20;
// Addressed tiles an import accepts (run lengths can claim billions in a few bytes).
constexpr uint64_t kMaxTiles = uint64_t{1} << 32;

bool Inside(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

}  // namespace

PmtilesReader::PmtilesReader(std::string path, std::unique_ptr<storage::MappedRegion> map,
                             PmtilesHeader header)
    : path_(std::move(path)), map_(std::move(map)), header_(header) {}

absl::StatusOr<std::unique_ptr<PmtilesReader>> PmtilesReader::Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<storage::File>> file =
      storage::Env::Default()->Open(path, storage::OpenMode::kReadOnly);
  if (!file.ok()) return file.status();
  absl::StatusOr<uint64_t> size = (*file)->Size();
  if (!size.ok()) return size.status();
  std::string head(std::min<uint64_t>(*size, kPmtilesHeaderSize), '\0');
  if (absl::Status s = (*file)->Read(0, head.size(), head.data()); !s.ok()) return s;
  absl::StatusOr<PmtilesHeader> header = PmtilesHeader::Decode(head);
  if (!header.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", header.status().message()));
  }
  const PmtilesHeader& h = *header;
  if (!Inside(h.root_offset, h.root_length, *size) ||
      !Inside(h.metadata_offset, h.metadata_length, *size) ||
      !Inside(h.leaf_offset, h.leaf_length, *size) ||
      !Inside(h.data_offset, h.data_length, *size)) {
    return absl::DataLossError(
        absl::StrCat(path, ": a section of the PMTiles header lies beyond the file's ", *size,
                     " bytes: the archive is truncated or damaged"));
  }
  if (h.internal_compression != PmtilesCompression::kGzip &&
      h.internal_compression != PmtilesCompression::kNone) {
    return absl::UnimplementedError(absl::StrCat(
        path, ": directories compressed with method ", static_cast<int>(h.internal_compression),
        " (brotli or zstd); only gzip and none are read: rewrite it with `pmtiles convert`"));
  }
  absl::StatusOr<std::unique_ptr<storage::MappedRegion>> map = (*file)->Map(*size);
  if (!map.ok()) return map.status();
  return std::unique_ptr<PmtilesReader>(new PmtilesReader(path, *std::move(map), h));
}

absl::StatusOr<std::string> PmtilesReader::MetadataJson() const {
  const absl::string_view raw =
      map_->data().substr(header_.metadata_offset, header_.metadata_length);
  if (header_.internal_compression == PmtilesCompression::kNone) return std::string(raw);
  absl::StatusOr<std::string> json = GzipDecompress(raw, kMaxInflatedBytes);
  if (!json.ok()) {
    return absl::DataLossError(absl::StrCat(path_, ": JSON metadata: ", json.status().message()));
  }
  return json;
}

absl::Status PmtilesReader::Walk(absl::string_view compressed, int depth,
                                 std::vector<PmtilesTileRef>* out) const {
  std::string inflated;
  absl::string_view bytes = compressed;
  if (header_.internal_compression == PmtilesCompression::kGzip) {
    absl::StatusOr<std::string> d = GzipDecompress(compressed, kMaxInflatedBytes);
    if (!d.ok())
      return absl::DataLossError(absl::StrCat(path_, ": directory: ", d.status().message()));
    inflated = *std::move(d);
    bytes = inflated;
  }
  absl::StatusOr<std::vector<PmtilesEntry>> entries = DeserializeDirectory(bytes);
  if (!entries.ok())
    return absl::DataLossError(absl::StrCat(path_, ": ", entries.status().message()));
  const absl::string_view leaves = map_->data().substr(header_.leaf_offset, header_.leaf_length);
  for (const PmtilesEntry& e : *entries) {
    if (e.run_length == 0) {
      if (depth + 1 >= kMaxDepth || !Inside(e.offset, e.length, leaves.size())) {
        return absl::DataLossError(absl::StrCat(
            path_, ": leaf directory at tile ID ", e.tile_id,
            " lies outside the leaf section or nests deeper than ", kMaxDepth, " levels"));
      }
      if (absl::Status s = Walk(leaves.substr(e.offset, e.length), depth + 1, out); !s.ok()) {
        return s;
      }
      continue;
    }
    if (!Inside(e.offset, e.length, header_.data_length)) {
      return absl::DataLossError(
          absl::StrCat(path_, ": tile ID ", e.tile_id, " points outside the tile data section"));
    }
    if (out->size() + e.run_length > kMaxTiles) {
      return absl::DataLossError(absl::StrCat(path_, ": more than ", kMaxTiles, " tiles"));
    }
    for (uint64_t id = e.tile_id; id < e.tile_id + e.run_length; ++id) {
      absl::StatusOr<PmtilesTile> tile = TileIdToZxy(id);
      if (!tile.ok())
        return absl::DataLossError(absl::StrCat(path_, ": ", tile.status().message()));
      out->push_back({*tile, e.offset, e.length});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PmtilesTileRef>> PmtilesReader::Tiles() const {
  std::vector<PmtilesTileRef> out;
  absl::Status s = Walk(map_->data().substr(header_.root_offset, header_.root_length), 0, &out);
  if (!s.ok()) return s;
  return out;
}

absl::string_view PmtilesReader::TileBytes(const PmtilesTileRef& ref) const {
  return map_->data().substr(header_.data_offset + ref.offset, ref.length);
}

}  // namespace convert
}  // namespace flatpyramid
