#include "convert/pmtiles.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace convert {
namespace {

constexpr char kMagic[] = "PMTiles";  // 7 bytes, then the version byte.
constexpr uint8_t kVersion = 3;

void PutU64(uint64_t v, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
void PutU32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
uint64_t GetU64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return v;
}
uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return v;
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// GetVarint reads one varint at *pos; false when the bytes end first or it exceeds 64 bits.
bool GetVarint(absl::string_view bytes, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= bytes.size()) return false;
    const uint8_t byte = static_cast<uint8_t>(bytes[(*pos)++]);
    *v |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// Rotates a quadrant of side n, as the Hilbert curve's recursion needs.
void Rotate(uint64_t n, uint64_t* x, uint64_t* y, uint64_t rx, uint64_t ry) {
  if (ry != 0) return;
  if (rx == 1) {
    *x = n - 1 - *x;
    *y = n - 1 - *y;
  }
  std::swap(*x, *y);
}

// TilesBefore is the number of tiles in zooms 0..z-1: (4^z - 1) / 3.
uint64_t TilesBefore(int z) { return ((uint64_t{1} << (2 * z)) - 1) / 3; }

}  // namespace

std::string PmtilesHeader::Encode() const {
  std::string out(kPmtilesHeaderSize, '\0');
  char* p = out.data();
  std::memcpy(p, kMagic, 7);
  p[7] = static_cast<char>(kVersion);
  const uint64_t fields[] = {root_offset,     root_length,  metadata_offset, metadata_length,
                             leaf_offset,     leaf_length,  data_offset,     data_length,
                             addressed_tiles, tile_entries, tile_contents};
  for (size_t i = 0; i < 11; ++i) PutU64(fields[i], p + 8 + 8 * i);
  p[96] = clustered ? 1 : 0;
  p[97] = static_cast<char>(internal_compression);
  p[98] = static_cast<char>(tile_compression);
  p[99] = static_cast<char>(tile_type);
  p[100] = static_cast<char>(min_zoom);
  p[101] = static_cast<char>(max_zoom);
  PutU32(static_cast<uint32_t>(min_lon_e7), p + 102);
  PutU32(static_cast<uint32_t>(min_lat_e7), p + 106);
  PutU32(static_cast<uint32_t>(max_lon_e7), p + 110);
  PutU32(static_cast<uint32_t>(max_lat_e7), p + 114);
  p[118] = static_cast<char>(center_zoom);
  PutU32(static_cast<uint32_t>(center_lon_e7), p + 119);
  PutU32(static_cast<uint32_t>(center_lat_e7), p + 123);
  return out;
}

absl::StatusOr<PmtilesHeader> PmtilesHeader::Decode(absl::string_view bytes) {
  if (bytes.size() < kPmtilesHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat("PMTiles header: ", bytes.size(),
                                                   " bytes, the header needs ", kPmtilesHeaderSize,
                                                   ": not a PMTiles archive, or truncated"));
  }
  if (bytes.substr(0, 7) != absl::string_view(kMagic, 7)) {
    return absl::InvalidArgumentError(
        "PMTiles header: the file does not start with \"PMTiles\": not a PMTiles archive");
  }
  const char* p = bytes.data();
  if (static_cast<uint8_t>(p[7]) != kVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("PMTiles header: spec version ", static_cast<int>(static_cast<uint8_t>(p[7])),
                     ", only version 3 is read (convert older archives with `pmtiles convert`)"));
  }
  PmtilesHeader h;
  uint64_t* fields[] = {&h.root_offset,     &h.root_length,  &h.metadata_offset, &h.metadata_length,
                        &h.leaf_offset,     &h.leaf_length,  &h.data_offset,     &h.data_length,
                        &h.addressed_tiles, &h.tile_entries, &h.tile_contents};
  for (size_t i = 0; i < 11; ++i) *fields[i] = GetU64(p + 8 + 8 * i);
  h.clustered = p[96] == 1;
  h.internal_compression = static_cast<PmtilesCompression>(p[97]);
  h.tile_compression = static_cast<PmtilesCompression>(p[98]);
  h.tile_type = static_cast<PmtilesTileType>(p[99]);
  h.min_zoom = static_cast<uint8_t>(p[100]);
  h.max_zoom = static_cast<uint8_t>(p[101]);
  h.min_lon_e7 = static_cast<int32_t>(GetU32(p + 102));
  h.min_lat_e7 = static_cast<int32_t>(GetU32(p + 106));
  h.max_lon_e7 = static_cast<int32_t>(GetU32(p + 110));
  h.max_lat_e7 = static_cast<int32_t>(GetU32(p + 114));
  h.center_zoom = static_cast<uint8_t>(p[118]);
  h.center_lon_e7 = static_cast<int32_t>(GetU32(p + 119));
  h.center_lat_e7 = static_cast<int32_t>(GetU32(p + 123));
  return h;
}

uint64_t ZxyToTileId(int z, uint32_t x, uint32_t y) {
  uint64_t tx = x, ty = y, d = 0;
  for (uint64_t s = (uint64_t{1} << z) / 2; s > 0; s /= 2) {
    const uint64_t rx = (tx & s) != 0 ? 1 : 0;
    const uint64_t ry = (ty & s) != 0 ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    Rotate(s, &tx, &ty, rx, ry);
  }
  return TilesBefore(z) + d;
}

absl::StatusOr<PmtilesTile> TileIdToZxy(uint64_t tile_id) {
  int z = 0;
  while (z <= kPmtilesMaxZoom && TilesBefore(z + 1) <= tile_id) ++z;
  if (z > kPmtilesMaxZoom) {
    return absl::InvalidArgumentError(
        absl::StrCat("PMTiles tile ID ", tile_id, " lies beyond zoom ", kPmtilesMaxZoom));
  }
  uint64_t t = tile_id - TilesBefore(z), tx = 0, ty = 0;
  for (uint64_t s = 1; s < (uint64_t{1} << z); s *= 2) {
    const uint64_t rx = 1 & (t / 2);
    const uint64_t ry = 1 & (t ^ rx);
    Rotate(s, &tx, &ty, rx, ry);
    tx += s * rx;
    ty += s * ry;
    t /= 4;
  }
  return PmtilesTile{z, static_cast<uint32_t>(tx), static_cast<uint32_t>(ty)};
}

std::string SerializeDirectory(const std::vector<PmtilesEntry>& entries) {
  std::string out;
  out.reserve(entries.size() * 6 + 10);
  PutVarint(entries.size(), &out);
  uint64_t last_id = 0;
  for (const PmtilesEntry& e : entries) {
    PutVarint(e.tile_id - last_id, &out);
    last_id = e.tile_id;
  }
  for (const PmtilesEntry& e : entries) PutVarint(e.run_length, &out);
  for (const PmtilesEntry& e : entries) PutVarint(e.length, &out);
  for (size_t i = 0; i < entries.size(); ++i) {
    const bool contiguous =
        i > 0 && entries[i].offset == entries[i - 1].offset + entries[i - 1].length;
    PutVarint(contiguous ? 0 : entries[i].offset + 1, &out);
  }
  return out;
}

absl::StatusOr<std::vector<PmtilesEntry>> DeserializeDirectory(absl::string_view bytes) {
  size_t pos = 0;
  uint64_t count = 0;
  if (!GetVarint(bytes, &pos, &count) || count == 0) {
    return absl::DataLossError("PMTiles directory: missing or zero entry count");
  }
  // Each entry takes at least four bytes (one per column).
  if (count > bytes.size() / 4) {
    return absl::DataLossError(absl::StrCat("PMTiles directory: ", count, " entries cannot fit in ",
                                            bytes.size(), " bytes"));
  }
  std::vector<PmtilesEntry> entries(count);
  uint64_t id = 0, v = 0;
  for (PmtilesEntry& e : entries) {
    if (!GetVarint(bytes, &pos, &v) || id + v < id) {
      return absl::DataLossError("PMTiles directory: truncated or overflowing tile IDs");
    }
    e.tile_id = id += v;
  }
  for (PmtilesEntry& e : entries) {
    if (!GetVarint(bytes, &pos, &v) || v > UINT32_MAX) {
      return absl::DataLossError("PMTiles directory: truncated or oversized run lengths");
    }
    e.run_length = static_cast<uint32_t>(v);
  }
  for (PmtilesEntry& e : entries) {
    if (!GetVarint(bytes, &pos, &v) || v == 0 || v > UINT32_MAX) {
      return absl::DataLossError(absl::StrCat(
          "PMTiles directory: truncated, zero or oversized length at tile ID ", e.tile_id));
    }
    e.length = static_cast<uint32_t>(v);
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!GetVarint(bytes, &pos, &v)) {
      return absl::DataLossError("PMTiles directory: truncated offsets");
    }
    if (v == 0 && i == 0) {
      return absl::DataLossError("PMTiles directory: the first offset refers to a previous entry");
    }
    entries[i].offset = v == 0 ? entries[i - 1].offset + entries[i - 1].length : v - 1;
  }
  return entries;
}

std::string GzipCompress(absl::string_view bytes) {
  z_stream stream{};
  // 15 + 16: a gzip wrapper rather than zlib's.
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, bytes.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);  // Z_STREAM_END: deflateBound guarantees the room.
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

absl::StatusOr<std::string> GzipDecompress(absl::string_view bytes, size_t max_bytes) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK)
    return absl::InternalError("zlib inflateInit2 failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  int result = Z_OK;
  while (result == Z_OK) {
    if (out.size() >= max_bytes) {
      inflateEnd(&stream);
      return absl::ResourceExhaustedError(
          absl::StrCat("gzip data inflates to more than ", max_bytes, " bytes"));
    }
    const size_t old = out.size();
    out.resize(std::min(max_bytes, std::max<size_t>(old * 2, 4096)));
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    stream.avail_out = static_cast<uInt>(out.size() - old);
    result = inflate(&stream, Z_NO_FLUSH);
    out.resize(out.size() - stream.avail_out);
  }
  inflateEnd(&stream);
  if (result != Z_STREAM_END) {
    return absl::DataLossError(
        absl::StrCat("gzip data is corrupt or truncated (zlib ", result, ")"));
  }
  return out;
}

}  // namespace convert
}  // namespace flatpyramid
