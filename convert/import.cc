#include "convert/import.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "convert/internal/export_plan.h"
#include "convert/internal/tile_queue.h"
#include "convert/mbtiles.h"
#include "convert/pmtiles_reader.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "pyramid/format.h"
#include "pyramid/tile_writer.h"

namespace flatpyramid {
namespace convert {
namespace {

constexpr char kToolVersion[] = "flatpyramid convert_pyramid 1";

// Describe joins what a source says about itself: "name: description (attribution) from PATH".
std::string Describe(const std::string& path, const std::string& name,
                     const std::string& description, const std::string& attribution) {
  std::string out = name;
  if (!description.empty()) absl::StrAppend(&out, out.empty() ? "" : ": ", description);
  if (!attribution.empty()) absl::StrAppend(&out, " (", attribution, ")");
  absl::StrAppend(&out, out.empty() ? "" : " ", "from ", path);
  return out;
}

std::optional<geo::Bounds> ParseBounds(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, ',');
  double v[4];
  if (parts.size() != 4) return std::nullopt;
  for (int i = 0; i < 4; ++i) {
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(parts[i]), &v[i])) return std::nullopt;
  }
  if (!(v[0] < v[2] && v[1] < v[3])) return std::nullopt;
  return geo::Bounds{v[0], v[1], v[2], v[3]};
}

absl::StatusOr<std::unique_ptr<pyramid::TileWriter>> CreateWriter(
    const std::string& input, const std::string& output, const ImportOptions& options,
    pyramid::TileWriterOptions writer_options) {
  writer_options.overwrite = options.overwrite;
  writer_options.inputs = {input};
  writer_options.tool_version = kToolVersion;
  writer_options.creation_options["input"] = input;
  absl::StatusOr<std::unique_ptr<pyramid::TileWriter>> writer =
      pyramid::TileWriter::Create(output, writer_options);
  if (!writer.ok()) return internal::OverwriteFieldIs("ImportOptions::overwrite", writer.status());
  return writer;
}

// NameInput prefixes a tile error with the file it comes from.
absl::Status NameInput(const std::string& input, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(input, ": ", s.message()));
}

// TileAdder adds tiles, names the source in errors and reports progress.
struct TileAdder {
  pyramid::TileWriter* writer;
  const std::string& input;
  const ImportOptions& options;
  ImportProgress progress;

  // Add adds a tile, with its facts when inspected already.
  absl::Status Add(int z, uint32_t x, uint32_t y, absl::string_view bytes,
                   const pyramid::TileWriter::TileFacts* facts = nullptr) {
    absl::Status s = facts != nullptr ? writer->AddTile(z, x, y, bytes, *facts)
                                      : writer->AddTile(z, x, y, bytes);
    if (!s.ok()) return NameInput(input, s);
    progress.bytes_copied += bytes.size();
    if (++progress.tiles_done % 4096 == 0 && options.progress) options.progress(progress);
    return absl::OkStatus();
  }
  absl::Status Finish() {
    if (absl::Status s = writer->Finish(); !s.ok()) return s;
    if (options.progress) options.progress(progress);
    return absl::OkStatus();
  }
};

// ReadAndInspect walks `zooms` of `mbtiles` in the pyramid's order, inspecting each tile and
// adding it to `queue` (the import's reading thread).
absl::Status ReadAndInspect(const MbtilesReader& mbtiles, const std::vector<int>& zooms,
                            const std::string& input, internal::TileQueue* queue) {
  for (int z : zooms) {
    absl::Status s =
        mbtiles.ForEachTileInMortonOrder(z, [&](uint32_t x, uint32_t y, absl::string_view bytes) {
          absl::StatusOr<pyramid::TileWriter::TileFacts> facts =
              pyramid::TileWriter::Inspect(z, x, y, bytes);
          if (!facts.ok()) return NameInput(input, facts.status());
          return queue->Add(z, x, y, bytes, *facts);
        });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CheckMbtilesMetadata(const std::string& input, const MbtilesReader& mbtiles) {
  const auto& m = mbtiles.metadata();
  auto format = m.find("format");
  if (format != m.end() && (format->second == "pbf" || format->second == "mvt")) {
    return absl::InvalidArgumentError(
        absl::StrCat(input, " holds vector tiles (format ", format->second,
                     "); a pyramid holds raster tiles: render them to images first"));
  }
  for (const char* key : {"srs", "crs"}) {
    auto srs = m.find(key);
    if (srs == m.end()) continue;
    const std::string v = absl::AsciiStrToUpper(srs->second);
    if (v.find("3857") == std::string::npos && v.find("900913") == std::string::npos &&
        v.find("MERCATOR") == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          input, ": metadata ", key, " is ", srs->second,
          "; only WebMercator (EPSG:3857) tile sets import: warp it with gdalwarp first"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ImportMbtiles(const std::string& input, const std::string& output,
                           const ImportOptions& options) {
  absl::StatusOr<std::unique_ptr<MbtilesReader>> mbtiles = MbtilesReader::Open(input);
  if (!mbtiles.ok()) return mbtiles.status();
  if (absl::Status s = CheckMbtilesMetadata(input, **mbtiles); !s.ok()) return s;
  const auto& m = (*mbtiles)->metadata();
  auto get = [&m](const char* key) {
    auto it = m.find(key);
    return it == m.end() ? std::string() : it->second;
  };
  pyramid::TileWriterOptions writer_options;
  writer_options.bounds_lonlat = ParseBounds(get("bounds"));
  writer_options.source_description =
      Describe(input, options.name.empty() ? get("name") : options.name, get("description"),
               get("attribution"));
  absl::StatusOr<std::vector<int>> zooms = (*mbtiles)->Zooms();
  if (!zooms.ok()) return zooms.status();
  if (zooms->empty()) return absl::InvalidArgumentError(absl::StrCat(input, " holds no tiles"));
  absl::StatusOr<std::unique_ptr<pyramid::TileWriter>> writer =
      CreateWriter(input, output, options, writer_options);
  if (!writer.ok()) return writer.status();
  TileAdder adder{writer->get(), input, options, {}};
  for (int z : *zooms) {
    absl::StatusOr<uint64_t> count = (*mbtiles)->TileCount(z);
    if (!count.ok()) return count.status();
    adder.progress.tiles_total += *count;
  }
  // SQLite reads and the tiles are inspected on a thread of their own while this one writes
  // the pyramid; the source is closed (its file unmapped) there too, while the pyramid seals.
  internal::TileQueue queue;
  std::thread reader([&queue, &zooms, &input, mbtiles = *std::move(mbtiles)]() mutable {
    queue.Close(ReadAndInspect(*mbtiles, *zooms, input, &queue));
    mbtiles.reset();
  });
  absl::Status s = queue.Drain([&adder](int z, uint32_t x, uint32_t y, absl::string_view bytes,
                                        const pyramid::TileWriter::TileFacts& facts) {
    return adder.Add(z, x, y, bytes, &facts);
  });
  if (s.ok()) s = adder.Finish();
  reader.join();
  return s;
}

absl::Status ImportPmtiles(const std::string& input, const std::string& output,
                           const ImportOptions& options) {
  absl::StatusOr<std::unique_ptr<PmtilesReader>> archive = PmtilesReader::Open(input);
  if (!archive.ok()) return archive.status();
  const PmtilesHeader& h = (*archive)->header();
  if (h.tile_type == PmtilesTileType::kMvt) {
    return absl::InvalidArgumentError(absl::StrCat(
        input, " holds vector tiles (MVT); a pyramid holds raster tiles: render them first"));
  }
  if (h.tile_compression != PmtilesCompression::kNone &&
      h.tile_compression != PmtilesCompression::kUnknown) {
    return absl::InvalidArgumentError(absl::StrCat(input, ": tiles are compressed (method ",
                                                   static_cast<int>(h.tile_compression),
                                                   "); image tiles are stored uncompressed"));
  }
  absl::StatusOr<std::string> json = (*archive)->MetadataJson();
  if (!json.ok()) return json.status();
  google::protobuf::Struct metadata;
  (void)google::protobuf::util::JsonStringToMessage(*json, &metadata);  // Optional: names only.
  auto get = [&metadata](const char* key) {
    auto it = metadata.fields().find(key);
    return it == metadata.fields().end() ? std::string() : it->second.string_value();
  };
  pyramid::TileWriterOptions writer_options;
  if (h.min_lon_e7 < h.max_lon_e7 && h.min_lat_e7 < h.max_lat_e7) {
    writer_options.bounds_lonlat =
        geo::Bounds{h.min_lon_e7 / 1e7, h.min_lat_e7 / 1e7, h.max_lon_e7 / 1e7, h.max_lat_e7 / 1e7};
  }
  writer_options.source_description =
      Describe(input, options.name.empty() ? get("name") : options.name, get("description"),
               get("attribution"));
  absl::StatusOr<std::vector<PmtilesTileRef>> tiles = (*archive)->Tiles();
  if (!tiles.ok()) return tiles.status();
  if (tiles->empty()) return absl::InvalidArgumentError(absl::StrCat(input, " holds no tiles"));
  // Hilbert order to the pyramid's: by zoom, then TileKey.
  std::vector<std::pair<std::pair<int, uint64_t>, size_t>> order(tiles->size());
  for (size_t i = 0; i < tiles->size(); ++i) {
    const PmtilesTile& t = (*tiles)[i].tile;
    order[i] = {{t.z, pyramid::TileKey(t.x, t.y)}, i};
  }
  std::sort(order.begin(), order.end());
  absl::StatusOr<std::unique_ptr<pyramid::TileWriter>> writer =
      CreateWriter(input, output, options, writer_options);
  if (!writer.ok()) return writer.status();
  TileAdder adder{writer->get(), input, options, {}};
  adder.progress.tiles_total = tiles->size();
  for (const auto& [key, i] : order) {
    const PmtilesTileRef& ref = (*tiles)[i];
    absl::Status s = adder.Add(ref.tile.z, ref.tile.x, ref.tile.y, (*archive)->TileBytes(ref));
    if (!s.ok()) return s;
  }
  return adder.Finish();
}

}  // namespace convert
}  // namespace flatpyramid
