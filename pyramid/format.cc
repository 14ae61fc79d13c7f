#include "pyramid/format.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "geo/tile_matrix_set.h"

namespace flatpyramid {
namespace pyramid {

absl::Status CheckFormatVersion(uint32_t format_version) {
  if (format_version == kFormatVersion) return absl::OkStatus();
  if (format_version == 0) {
    return absl::FailedPreconditionError(
        "format_version is missing (0): not a pyramid written by any flatpyramid release");
  }
  return absl::FailedPreconditionError(absl::StrCat("pyramid format_version ", format_version,
                                                    " is not supported (this reader reads version ",
                                                    kFormatVersion, "); use a matching release"));
}

std::string SectionName(int zoom) { return absl::StrCat("z", zoom); }

std::optional<int> ParseSectionName(absl::string_view name) {
  if (name.size() < 2 || name.size() > 3 || name[0] != 'z') return std::nullopt;
  const absl::string_view digits = name.substr(1);
  if (!std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit)) return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  int zoom = 0;
  if (!absl::SimpleAtoi(digits, &zoom) || !geo::TileMatrixSet::IsValidZoom(zoom)) {
    return std::nullopt;
  }
  return zoom;
}

std::string TileName(int z, uint32_t x, uint32_t y) { return absl::StrCat(z, "/", x, "/", y); }

PixelType ToProtoPixelType(codec::PixelType type) {
  switch (type) {
    case codec::PixelType::kUint8:
      return UINT8;
    case codec::PixelType::kUint16:
      return UINT16;
    case codec::PixelType::kInt16:
      return INT16;
    case codec::PixelType::kFloat32:
      return FLOAT32;
  }
  return PIXEL_TYPE_UNSPECIFIED;
}

absl::StatusOr<codec::PixelType> FromProtoPixelType(PixelType type) {
  switch (type) {
    case UINT8:
      return codec::PixelType::kUint8;
    case UINT16:
      return codec::PixelType::kUint16;
    case INT16:
      return codec::PixelType::kInt16;
    case FLOAT32:
      return codec::PixelType::kFloat32;
    default:
      return absl::InvalidArgumentError(absl::StrCat("pixel_type ", static_cast<int>(type),
                                                     " is not one of UINT8, UINT16, ",
                                                     "INT16, FLOAT32"));
  }
}

namespace {

constexpr TileCodec kAllTileCodecs[] = {TileCodec::kJpeg, TileCodec::kPng, TileCodec::kWebp,
                                        TileCodec::kWebpLossless, TileCodec::kElevation};

}  // namespace

absl::string_view TileCodecName(TileCodec codec) {
  switch (codec) {
    case TileCodec::kJpeg:
      return "jpeg";
    case TileCodec::kPng:
      return "png";
    case TileCodec::kWebp:
      return "webp";
    case TileCodec::kWebpLossless:
      return "webp_lossless";
    case TileCodec::kElevation:
      return "elevation";
  }
  return "?";
}

absl::StatusOr<TileCodec> ParseTileCodec(absl::string_view name) {
  for (TileCodec codec : kAllTileCodecs) {
    if (name == TileCodecName(codec)) return codec;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("codec '", name, "' is not one of jpeg, png, webp, webp_lossless, elevation"));
}

bool TileCodecAllows(TileCodec pyramid, codec::CodecId stored) {
  switch (pyramid) {
    case TileCodec::kJpeg:
      return stored == codec::CodecId::kJpeg || stored == codec::CodecId::kPng ||
             stored == codec::CodecId::kWebp;
    case TileCodec::kPng:
      return stored == codec::CodecId::kPng;
    case TileCodec::kWebp:
    case TileCodec::kWebpLossless:
      return stored == codec::CodecId::kWebp;
    case TileCodec::kElevation:
      return stored == codec::CodecId::kElevation;
  }
  return false;
}

bool StoredTileBandsValid(int stored_bands, int band_count, bool has_alpha) {
  return stored_bands == band_count || (has_alpha && stored_bands == band_count - 1);
}

absl::Status CheckStoredTile(const PyramidMetadata& metadata, const codec::ImageInfo& info) {
  absl::StatusOr<TileCodec> pyramid_codec = ParseTileCodec(metadata.codec());
  if (!pyramid_codec.ok()) return pyramid_codec.status();
  if (!TileCodecAllows(*pyramid_codec, info.codec)) {
    return absl::InvalidArgumentError(absl::StrCat("a ", codec::CodecName(info.codec),
                                                   " tile in a pyramid of codec '",
                                                   metadata.codec(), "'"));
  }
  absl::StatusOr<codec::PixelType> type = FromProtoPixelType(metadata.pixel_type());
  if (!type.ok()) return type.status();
  const int size = static_cast<int>(metadata.tile_size());
  const int bands = static_cast<int>(metadata.band_count());
  if (info.width != size || info.height != size || info.type != *type ||
      !StoredTileBandsValid(info.bands, bands, metadata.has_alpha())) {
    return absl::InvalidArgumentError(absl::StrCat(
        codec::CodecName(info.codec), " tile is ", info.width, "x", info.height, " with ",
        info.bands, " ", codec::PixelTypeName(info.type), " bands, but the pyramid declares ", size,
        "x", size, " with ", bands, " ", codec::PixelTypeName(*type), " bands"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// LevelStats

LevelStats::LevelStats(const Level& level)
    : tile_count_(level.tile_count()),
      unique_tile_count_(level.unique_tile_count()),
      bytes_(level.bytes()),
      min_x_(level.min_x()),
      min_y_(level.min_y()),
      max_x_(level.max_x()),
      max_y_(level.max_y()) {}

void LevelStats::AddTile(uint32_t x, uint32_t y, bool unique, uint64_t bytes) {
  if (tile_count_ == 0) {
    min_x_ = max_x_ = x;
    min_y_ = max_y_ = y;
  } else {
    min_x_ = std::min(min_x_, x);
    min_y_ = std::min(min_y_, y);
    max_x_ = std::max(max_x_, x);
    max_y_ = std::max(max_y_, y);
  }
  ++tile_count_;
  if (unique) {
    ++unique_tile_count_;
    bytes_ += bytes;
  }
}

void LevelStats::CopyTo(Level* level) const {
  level->set_tile_count(tile_count_);
  level->set_unique_tile_count(unique_tile_count_);
  level->set_bytes(bytes_);
  const bool any = tile_count_ > 0;
  level->set_min_x(any ? min_x_ : 0);
  level->set_min_y(any ? min_y_ : 0);
  level->set_max_x(any ? max_x_ : 0);
  level->set_max_y(any ? max_y_ : 0);
}

std::vector<std::string> LevelStats::Differences(const Level& level) const {
  std::vector<std::string> out;
  if (tile_count_ != level.tile_count()) {
    out.push_back(absl::StrCat("metadata lists ", level.tile_count(), " tiles, the section holds ",
                               tile_count_));
  }
  if (unique_tile_count_ != level.unique_tile_count()) {
    out.push_back(absl::StrCat("metadata lists ", level.unique_tile_count(),
                               " unique tiles, the section holds ", unique_tile_count_));
  }
  if (bytes_ != level.bytes()) {
    out.push_back(absl::StrCat("metadata lists ", level.bytes(),
                               " bytes of tiles, the unique tiles hold ", bytes_));
  }
  if (tile_count_ > 0 && (min_x_ != level.min_x() || min_y_ != level.min_y() ||
                          max_x_ != level.max_x() || max_y_ != level.max_y())) {
    out.push_back(absl::StrCat("metadata tile range x ", level.min_x(), "..", level.max_x(), ", y ",
                               level.min_y(), "..", level.max_y(),
                               " differs from the stored tiles' x ", min_x_, "..", max_x_, ", y ",
                               min_y_, "..", max_y_));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// CheckMetadata

namespace {

absl::Status Invalid(absl::string_view what) { return absl::InvalidArgumentError(what); }

absl::Status CheckBounds(const Bounds& b, absl::string_view field) {
  for (double v : {b.min_x(), b.min_y(), b.max_x(), b.max_y()}) {
    if (!std::isfinite(v)) {
      return Invalid(absl::StrCat(field, " (", b.min_x(), ", ", b.min_y(), ", ", b.max_x(), ", ",
                                  b.max_y(), ") is not finite"));
    }
  }
  if (b.min_y() > b.max_y()) {
    return Invalid(absl::StrCat(field, " min_y ", b.min_y(), " > max_y ", b.max_y()));
  }
  return absl::OkStatus();
}

// CheckCodecStores: the pyramid's codec can store `type` with `bands` (alpha included).
absl::Status CheckCodecStores(TileCodec codec, codec::PixelType type, int bands, bool has_alpha) {
  const int color = has_alpha ? bands - 1 : bands;
  bool ok = false;
  switch (codec) {
    case TileCodec::kJpeg:
      ok = type == codec::PixelType::kUint8 && (color == 1 || color == 3);
      break;
    case TileCodec::kPng:
      ok = type == codec::PixelType::kUint8 || type == codec::PixelType::kUint16;
      break;
    case TileCodec::kWebp:
    case TileCodec::kWebpLossless:
      ok = type == codec::PixelType::kUint8 && color == 3;
      break;
    case TileCodec::kElevation:
      ok = type != codec::PixelType::kUint8 && bands == 1;
      break;
  }
  if (ok) return absl::OkStatus();
  return Invalid(absl::StrCat("codec '", TileCodecName(codec), "' cannot store ", bands, " ",
                              codec::PixelTypeName(type), " bands",
                              has_alpha ? " (alpha included)" : ""));
}

absl::Status CheckLevel(const Level& level, const geo::TileMatrixSet& tms) {
  const int z = static_cast<int>(level.zoom());
  if (level.unique_tile_count() > level.tile_count()) {
    return Invalid(absl::StrCat("level ", z, ": unique_tile_count ", level.unique_tile_count(),
                                " > tile_count ", level.tile_count()));
  }
  if (level.bytes() > 0 && level.unique_tile_count() == 0) {
    return Invalid(absl::StrCat("level ", z, ": bytes ", level.bytes(), " without unique tiles"));
  }
  if (level.tile_count() > 0 &&
      (level.min_x() > level.max_x() || level.min_y() > level.max_y() ||
       level.max_x() >= tms.MatrixWidth(z) || level.max_y() >= tms.MatrixHeight(z))) {
    return Invalid(absl::StrCat("level ", z, " tile range ", level.min_x(), "..", level.max_x(),
                                " x ", level.min_y(), "..", level.max_y(),
                                " is outside the tile matrix (", tms.MatrixWidth(z), " x ",
                                tms.MatrixHeight(z), ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckLevels(const PyramidMetadata& m, const geo::TileMatrixSet& tms) {
  if (m.levels_size() == 0) return Invalid("no levels");
  absl::flat_hash_set<uint32_t> zooms;
  absl::flat_hash_set<uint32_t> sections;
  for (const Level& level : m.levels()) {
    if (level.zoom() < m.min_zoom() || level.zoom() > m.max_zoom()) {
      return Invalid(absl::StrCat("level ", level.zoom(), " is outside the zoom range ",
                                  m.min_zoom(), "..", m.max_zoom()));
    }
    if (!zooms.insert(level.zoom()).second) {
      return Invalid(absl::StrCat("level ", level.zoom(), " is listed twice"));
    }
    if (!sections.insert(level.section()).second) {
      return Invalid(absl::StrCat("level ", level.zoom(), " names storage section ",
                                  level.section(), " of another level"));
    }
    if (absl::Status s = CheckLevel(level, tms); !s.ok()) return s;
  }
  for (uint32_t z = m.min_zoom(); z <= m.max_zoom(); ++z) {
    if (!zooms.contains(z)) {
      return Invalid(absl::StrCat("levels: zoom ", z, " is missing (min_zoom ", m.min_zoom(),
                                  ", max_zoom ", m.max_zoom(), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBands(const PyramidMetadata& m) {
  if (m.band_count() < 1 || m.band_count() > 4) {
    return Invalid(absl::StrCat("band_count ", m.band_count(), " is not 1..4"));
  }
  if (m.color_interpretation_size() != 0 &&
      m.color_interpretation_size() != static_cast<int>(m.band_count())) {
    return Invalid(absl::StrCat(m.color_interpretation_size(), " color_interpretation entries for ",
                                m.band_count(), " bands"));
  }
  if (m.has_alpha() && m.band_count() < 2) {
    return Invalid("has_alpha is set on a single-band pyramid");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckMetadata(const PyramidMetadata& m) {
  if (absl::Status s = CheckFormatVersion(m.format_version()); !s.ok()) return s;
  absl::StatusOr<geo::TileMatrixSet> tms =
      geo::TileMatrixSet::FromName(m.tile_matrix_set(), static_cast<int>(m.tile_size()));
  if (!tms.ok()) {
    return Invalid(absl::StrCat("tile_matrix_set / tile_size: ", tms.status().message()));
  }
  absl::StatusOr<codec::PixelType> type = FromProtoPixelType(m.pixel_type());
  if (!type.ok()) return type.status();
  if (absl::Status s = CheckBands(m); !s.ok()) return s;
  absl::StatusOr<TileCodec> codec = ParseTileCodec(m.codec());
  if (!codec.ok()) return codec.status();
  if (absl::Status s =
          CheckCodecStores(*codec, *type, static_cast<int>(m.band_count()), m.has_alpha());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckBounds(m.bounds(), "bounds"); !s.ok()) return s;
  if (absl::Status s = CheckBounds(m.bounds_lonlat(), "bounds_lonlat"); !s.ok()) return s;
  if (m.bounds().min_x() > m.bounds().max_x()) {
    return Invalid(
        absl::StrCat("bounds min_x ", m.bounds().min_x(), " > max_x ", m.bounds().max_x()));
  }
  if (m.min_zoom() > m.max_zoom() ||
      m.max_zoom() > static_cast<uint32_t>(geo::TileMatrixSet::kMaxZoom)) {
    return Invalid(absl::StrCat("zoom range ", m.min_zoom(), "..", m.max_zoom(),
                                " is not within 0..", geo::TileMatrixSet::kMaxZoom));
  }
  return CheckLevels(m, *tms);
}

}  // namespace pyramid
}  // namespace flatpyramid
