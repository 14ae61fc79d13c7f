#include "convert/pmtiles_writer.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "convert/internal/export_plan.h"
#include "convert/pmtiles.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "storage/env.h"

namespace flatpyramid {
namespace convert {
namespace {

using internal::ContentId;
using internal::ExportPlan;
using internal::SelectedLevel;
using internal::SelectedTile;
using internal::TileSource;

constexpr size_t kMinLeafEntries = 4096;  // go-pmtiles' starting leaf size.
constexpr size_t kWriteBufferBytes = size_t{4} << 20;

// HilbertOrder is the plan's tiles as (tile ID, storage entry index), ascending by ID.
using HilbertOrder = std::vector<std::vector<std::pair<uint64_t, uint64_t>>>;

HilbertOrder OrderTiles(const TileSource& source, const ExportPlan& plan) {
  HilbertOrder order(plan.levels.size());
  for (size_t l = 0; l < plan.levels.size(); ++l) {
    const SelectedLevel& level = plan.levels[l];
    order[l].reserve(level.entries.size());
    for (uint64_t index : level.entries) {
      const SelectedTile tile = source.Tile(level, index);
      order[l].emplace_back(ZxyToTileId(tile.z, tile.x, tile.y), index);
    }
    std::sort(order[l].begin(), order[l].end());
  }
  return order;
}

// Entries is the first pass: every tile's entry, with deduplicated contents at one offset.
struct Entries {
  std::vector<PmtilesEntry> entries;
  uint64_t data_length = 0;
  uint64_t contents = 0;
  uint64_t addressed = 0;
};

absl::StatusOr<Entries> BuildEntries(TileSource& source, const ExportPlan& plan,
                                     const HilbertOrder& order) {
  Entries out;
  absl::flat_hash_map<ContentId, std::pair<uint64_t, uint32_t>> placed;  // Offset, length.
  std::string scratch;
  for (size_t l = 0; l < plan.levels.size(); ++l) {
    for (const auto& [tile_id, index] : order[l]) {
      const SelectedTile tile = source.Tile(plan.levels[l], index);
      auto [it, inserted] = placed.try_emplace(tile.content);
      if (inserted) {
        uint64_t length = tile.stored_length;
        if (plan.terrain.has_value()) {
          absl::StatusOr<absl::string_view> bytes = source.Bytes(tile, &scratch);
          if (!bytes.ok()) return bytes.status();
          length = bytes->size();
        }
        if (length == 0 || length > UINT32_MAX) {
          return absl::DataLossError(absl::StrCat("tile ", tile.z, "/", tile.x, "/", tile.y,
                                                  " has ", length,
                                                  " bytes: damaged (run verify_pyramid)"));
        }
        it->second = {out.data_length, static_cast<uint32_t>(length)};
        out.data_length += length;
        ++out.contents;
      }
      ++out.addressed;
      PmtilesEntry* last = out.entries.empty() ? nullptr : &out.entries.back();
      if (last != nullptr && last->offset == it->second.first &&
          last->tile_id + last->run_length == tile_id) {
        ++last->run_length;
      } else {
        out.entries.push_back({tile_id, it->second.first, it->second.second, 1});
      }
    }
  }
  return out;
}

// Directories are the compressed root and leaf directories.
struct Directories {
  std::string root;
  std::string leaves;
};

Directories BuildDirectories(const std::vector<PmtilesEntry>& entries) {
  Directories out;
  out.root = GzipCompress(SerializeDirectory(entries));
  if (kPmtilesHeaderSize + out.root.size() < kPmtilesRootLimit) return out;
  for (size_t leaf_entries = kMinLeafEntries;; leaf_entries += leaf_entries / 5) {
    out.leaves.clear();
    std::vector<PmtilesEntry> root;
    for (size_t begin = 0; begin < entries.size(); begin += leaf_entries) {
      const size_t end = std::min(entries.size(), begin + leaf_entries);
      const std::string leaf = GzipCompress(SerializeDirectory(
          std::vector<PmtilesEntry>(entries.begin() + begin, entries.begin() + end)));
      root.push_back(
          {entries[begin].tile_id, out.leaves.size(), static_cast<uint32_t>(leaf.size()), 0});
      out.leaves += leaf;
    }
    out.root = GzipCompress(SerializeDirectory(root));
    if (kPmtilesHeaderSize + out.root.size() < kPmtilesRootLimit) return out;
  }
}

std::string MetadataJson(const ExportPlan& plan) {
  google::protobuf::Struct json;
  auto& fields = *json.mutable_fields();
  fields["name"].set_string_value(plan.name);
  fields["description"].set_string_value(plan.description);
  fields["format"].set_string_value(plan.format);
  fields["type"].set_string_value("baselayer");
  fields["minzoom"].set_number_value(plan.min_zoom);
  fields["maxzoom"].set_number_value(plan.max_zoom);
  const geo::Bounds& b = plan.bounds_lonlat;
  for (double v : {b.min_x, b.min_y, b.max_x, b.max_y}) {
    fields["bounds"].mutable_list_value()->add_values()->set_number_value(v);
  }
  for (double v : {plan.center_lon, plan.center_lat, double{1.0} * plan.center_zoom}) {
    fields["center"].mutable_list_value()->add_values()->set_number_value(v);
  }
  for (const auto& [key, value] : plan.attributes) fields[key].set_string_value(value);
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(json, &out);  // A Struct always prints.
  return out;
}

int32_t E7(double degrees) { return static_cast<int32_t>(std::lround(degrees * 1e7)); }

PmtilesHeader MakeHeader(const ExportPlan& plan, const Entries& entries, const Directories& dirs,
                         uint64_t metadata_length) {
  PmtilesHeader h;
  h.root_offset = kPmtilesHeaderSize;
  h.root_length = dirs.root.size();
  h.metadata_offset = h.root_offset + h.root_length;
  h.metadata_length = metadata_length;
  h.leaf_offset = h.metadata_offset + h.metadata_length;
  h.leaf_length = dirs.leaves.size();
  h.data_offset = h.leaf_offset + h.leaf_length;
  h.data_length = entries.data_length;
  h.addressed_tiles = entries.addressed;
  h.tile_entries = entries.entries.size();
  h.tile_contents = entries.contents;
  h.clustered = true;
  h.internal_compression = PmtilesCompression::kGzip;
  h.tile_compression = PmtilesCompression::kNone;
  h.min_zoom = static_cast<uint8_t>(plan.min_zoom);
  h.max_zoom = static_cast<uint8_t>(plan.max_zoom);
  h.min_lon_e7 = E7(plan.bounds_lonlat.min_x);
  h.min_lat_e7 = E7(plan.bounds_lonlat.min_y);
  h.max_lon_e7 = E7(plan.bounds_lonlat.max_x);
  h.max_lat_e7 = E7(plan.bounds_lonlat.max_y);
  h.center_zoom = static_cast<uint8_t>(plan.center_zoom);
  h.center_lon_e7 = E7(plan.center_lon);
  h.center_lat_e7 = E7(plan.center_lat);
  return h;
}

// SequentialWriter appends to a File through a large buffer.
class SequentialWriter {
 public:
  explicit SequentialWriter(storage::File* file) : file_(file) {
    buffer_.reserve(kWriteBufferBytes);
  }
  absl::Status Append(absl::string_view bytes) {
    if (buffer_.size() + bytes.size() > kWriteBufferBytes) {
      if (absl::Status s = Flush(); !s.ok()) return s;
    }
    if (bytes.size() >= kWriteBufferBytes) {
      absl::Status s = file_->Write(offset_, bytes);
      offset_ += bytes.size();
      return s;
    }
    buffer_.append(bytes.data(), bytes.size());
    return absl::OkStatus();
  }
  absl::Status Flush() {
    absl::Status s = file_->Write(offset_, buffer_);
    offset_ += buffer_.size();
    buffer_.clear();
    file_->StartWriteback();
    return s;
  }
  uint64_t offset() const { return offset_ + buffer_.size(); }

 private:
  storage::File* file_;
  std::string buffer_;
  uint64_t offset_ = 0;
};

// WriteTileData is the second pass: each content once, where BuildEntries placed it.
absl::Status WriteTileData(TileSource& source, const ExportPlan& plan, const HilbertOrder& order,
                           const ExportOptions& options, uint64_t data_offset,
                           SequentialWriter* out) {
  std::string scratch;
  ExportProgress progress{0, plan.tile_count, 0};
  uint64_t written = 0;
  absl::flat_hash_map<ContentId, bool> done;
  done.reserve(plan.tile_count);
  for (size_t l = 0; l < plan.levels.size(); ++l) {
    for (const auto& [tile_id, index] : order[l]) {
      const SelectedTile tile = source.Tile(plan.levels[l], index);
      if (done.try_emplace(tile.content, true).second) {
        absl::StatusOr<absl::string_view> bytes = source.Bytes(tile, &scratch);
        if (!bytes.ok()) return bytes.status();
        if (absl::Status s = out->Append(*bytes); !s.ok()) return s;
        written += bytes->size();
      }
      if (++progress.tiles_done % internal::kProgressEvery == 0 && options.progress) {
        progress.bytes_written = data_offset + written;
        options.progress(progress);
      }
    }
  }
  progress.bytes_written = data_offset + written;
  if (options.progress) options.progress(progress);
  return out->Flush();
}

PmtilesTileType TileType(const std::vector<codec::CodecId>& codecs) {
  if (codecs.size() != 1) return PmtilesTileType::kUnknown;
  switch (codecs[0]) {
    case codec::CodecId::kJpeg:
      return PmtilesTileType::kJpeg;
    case codec::CodecId::kPng:
      return PmtilesTileType::kPng;
    case codec::CodecId::kWebp:
      return PmtilesTileType::kWebp;
    default:
      return PmtilesTileType::kUnknown;
  }
}

absl::Status WriteArchive(const pyramid::TileBytesReader& reader, const ExportPlan& plan,
                          const ExportOptions& options, storage::File* file) {
  TileSource source(reader, plan);
  const HilbertOrder order = OrderTiles(source, plan);
  absl::StatusOr<Entries> entries = BuildEntries(source, plan, order);
  if (!entries.ok()) return entries.status();
  const Directories dirs = BuildDirectories(entries->entries);
  const std::string metadata = GzipCompress(MetadataJson(plan));
  PmtilesHeader header = MakeHeader(plan, *entries, dirs, metadata.size());
  // Named, not a temporary of the loop's range: temporaries there die before the body runs.
  const std::string encoded_header = header.Encode();
  SequentialWriter out(file);
  for (absl::string_view part : {absl::string_view(encoded_header), absl::string_view(dirs.root),
                                 absl::string_view(metadata), absl::string_view(dirs.leaves)}) {
    if (absl::Status s = out.Append(part); !s.ok()) return s;
  }
  if (absl::Status s = WriteTileData(source, plan, order, options, header.data_offset, &out);
      !s.ok()) {
    return s;
  }
  if (out.offset() != header.data_offset + header.data_length) {
    return absl::InternalError(absl::StrCat("PMTiles writer: wrote ", out.offset(),
                                            " bytes, the header says ",
                                            header.data_offset + header.data_length));
  }
  header.tile_type = TileType(source.codecs_seen());
  if (absl::Status s = file->Write(0, header.Encode()); !s.ok()) return s;
  return file->SyncData();
}

}  // namespace

absl::Status ExportPmtiles(const pyramid::TileBytesReader& reader, const std::string& output,
                           const ExportOptions& options) {
  return internal::RunExport(
      reader, output, options, "PMTiles",
      [&](const ExportPlan& plan, const std::string& temporary) {
        if (plan.max_zoom > kPmtilesMaxZoom) {
          return absl::InvalidArgumentError(absl::StrCat(
              "PMTiles holds zooms up to ", kPmtilesMaxZoom, ": give a lower max zoom"));
        }
        absl::StatusOr<std::unique_ptr<storage::File>> file =
            storage::Env::Default()->Open(temporary, storage::OpenMode::kCreateExclusive);
        if (!file.ok()) return file.status();
        return WriteArchive(reader, plan, options, file->get());
      });
}

}  // namespace convert
}  // namespace flatpyramid
