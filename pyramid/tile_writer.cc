#include "pyramid/tile_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "codec/codec.h"
#include "pyramid/format.h"
#include "pyramid/internal/build/tile_dedup.h"
#include "pyramid/internal/tile_hash.h"
#include "pyramid/metadata.pb.h"
#include "storage/output_file.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {

namespace {

// TilePixels is what every tile of a pyramid must share, learnt from the first one.
struct TilePixels {
  int size = 0;
  codec::PixelType type = codec::PixelType::kUint8;
  int colour_bands = 0;  // Without alpha: 1 (gray) or 3 (RGB).
};

// ColourBands is `info`'s bands without alpha (PNG gray+alpha and RGBA, WebP RGBA).
int ColourBands(const codec::ImageInfo& info) {
  return info.bands == 2 || info.bands == 4 ? info.bands - 1 : info.bands;
}

}  // namespace

class TileWriter::Impl {
 public:
  Impl(std::string path, std::string temporary, std::unique_ptr<storage::Writer> writer,
       TileWriterOptions options)
      : path_(std::move(path)),
        temporary_(std::move(temporary)),
        writer_(std::move(writer)),
        options_(std::move(options)) {}

  ~Impl() {
    if (!finished_) {
      writer_.reset();
      std::remove(temporary_.c_str());
    }
  }

  // AddTile inspects the tile itself when `facts` is null (after the position checks).
  absl::Status AddTile(int z, uint32_t x, uint32_t y, absl::string_view bytes,
                       const TileFacts* facts);
  absl::Status Finish();
  uint64_t tiles_added() const { return tiles_added_; }

 private:
  absl::Status StartLevel(int z);
  absl::Status CheckPixels(const std::string& name, const codec::ImageInfo& info);
  absl::StatusOr<std::optional<storage::ValueRef>> FindIdentical(absl::string_view bytes,
                                                                 const TileFacts& facts);
  absl::StatusOr<PyramidMetadata> Metadata();

  const std::string path_;
  const std::string temporary_;  // Renamed to path_ by Finish.
  std::unique_ptr<storage::Writer> writer_;
  const TileWriterOptions options_;
  const geo::TileMatrixSet tms_ = geo::TileMatrixSet::WebMercatorQuad();

  // The level being written: its zoom (-1 before the first tile), section and last key.
  int zoom_ = -1;
  uint32_t section_ = 0;
  std::optional<uint64_t> last_key_;
  // dedup_: small tiles stored so far, by fingerprint, so that identical bytes are stored
  // once per level (the builder's rule and bounds).
  internal::TileDedup dedup_{geo::TileMatrixSet::kMaxZoom};
  // The bytes of the last stored tile a fingerprint matched, read back once for the
  // comparisons of its repeats (uniform tiles repeat one tile thousands of times).
  storage::ValueRef compared_ref_;
  std::string compared_bytes_;
  // levels_: every level written so far: zoom, section, statistics.
  std::vector<std::pair<Level, LevelStats>> levels_;

  std::optional<TilePixels> pixels_;  // From the first tile.
  bool any_alpha_ = false;
  std::vector<codec::CodecId> codecs_;  // Distinct codecs seen.
  uint64_t tiles_added_ = 0;
  bool finished_ = false;
};

absl::Status TileWriter::Impl::StartLevel(int z) {
  if (z < zoom_) {
    return absl::InvalidArgumentError(
        absl::StrCat("tile of zoom ", z, " after zoom ", zoom_, ": add levels in ascending zoom"));
  }
  absl::StatusOr<uint32_t> section = writer_->AddSection(SectionName(z));
  if (!section.ok()) return section.status();
  zoom_ = z;
  section_ = *section;
  last_key_.reset();
  // Value offsets restart in the new section: a remembered ref would name another tile.
  compared_ref_ = storage::ValueRef();
  compared_bytes_.clear();
  Level level;
  level.set_zoom(static_cast<uint32_t>(z));
  level.set_section(*section);
  levels_.emplace_back(level, LevelStats());
  return absl::OkStatus();
}

absl::StatusOr<TileWriter::TileFacts> TileWriter::Inspect(int z, uint32_t x, uint32_t y,
                                                          absl::string_view bytes) {
  codec::DecodeLimits limits;
  limits.max_width = limits.max_height = 512;
  absl::StatusOr<codec::ImageInfo> info = codec::PeekInfo(bytes, limits);
  if (!info.ok() || info->codec == codec::CodecId::kElevation) {
    return absl::InvalidArgumentError(
        absl::StrCat("tile ", TileName(z, x, y), " (", bytes.size(),
                     " bytes) is not a JPEG, PNG or WebP image of at most "
                     "512 x 512 pixels",
                     info.ok() ? "" : ": ", info.ok() ? "" : info.status().message()));
  }
  TileFacts facts;
  facts.info = *info;
  facts.small = bytes.size() <= internal::kMaxSharedTileBytes;
  if (facts.small) facts.digest = internal::DigestTile(bytes);
  return facts;
}

absl::Status TileWriter::Impl::CheckPixels(const std::string& name, const codec::ImageInfo& info) {
  const TilePixels pixels{info.width, info.type, ColourBands(info)};
  if (!pixels_.has_value()) {
    if (info.width != info.height || (info.width != 256 && info.width != 512)) {
      return absl::InvalidArgumentError(absl::StrCat("tile ", name, " is ", info.width, " x ",
                                                     info.height,
                                                     " pixels: pyramids hold 256 or 512 px tiles"));
    }
    pixels_ = pixels;
  }
  if (info.width != pixels_->size || info.height != pixels_->size || pixels.type != pixels_->type ||
      pixels.colour_bands != pixels_->colour_bands) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tile ", name, " is ", info.width, "x", info.height, " ", codec::PixelTypeName(info.type),
        " with ", pixels.colour_bands, " colour band(s), unlike the first tile (", pixels_->size,
        "x", pixels_->size, " ", codec::PixelTypeName(pixels_->type), " with ",
        pixels_->colour_bands, ")"));
  }
  any_alpha_ |= info.bands != pixels.colour_bands;
  if (std::find(codecs_.begin(), codecs_.end(), info.codec) == codecs_.end()) {
    codecs_.push_back(info.codec);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<storage::ValueRef>> TileWriter::Impl::FindIdentical(
    absl::string_view bytes, const TileFacts& facts) {
  if (!facts.small) return std::nullopt;
  const std::optional<storage::ValueRef> stored = dedup_.Find(zoom_, facts.digest);
  if (!stored.has_value()) return std::nullopt;
  // Fingerprints of tiles from another program's file are not trusted alone.
  if (stored->offset != compared_ref_.offset || stored->length != compared_ref_.length ||
      compared_bytes_.size() != stored->length) {
    absl::StatusOr<std::string> bytes_stored = writer_->ReadValue(section_, *stored);
    if (!bytes_stored.ok()) return bytes_stored.status();
    compared_ref_ = *stored;
    compared_bytes_ = *std::move(bytes_stored);
  }
  if (compared_bytes_ != bytes) return std::nullopt;
  return stored;
}

absl::Status TileWriter::Impl::AddTile(int z, uint32_t x, uint32_t y, absl::string_view bytes,
                                       const TileFacts* given_facts) {
  const std::string name = TileName(z, x, y);
  if (!tms_.IsValid(geo::TileId{z, x, y})) {
    return absl::InvalidArgumentError(
        absl::StrCat("tile ", name, " is outside the WebMercatorQuad tile matrix"));
  }
  if (z != zoom_) {
    if (absl::Status s = StartLevel(z); !s.ok()) return s;
  }
  const uint64_t key = TileKey(x, y);
  if (last_key_.has_value() && key <= *last_key_) {
    return absl::InvalidArgumentError(
        absl::StrCat("tile ", name,
                     " is out of order or repeated: add a level's tiles in "
                     "ascending TileKey(x, y)"));
  }
  absl::StatusOr<TileFacts> inspected;
  if (given_facts == nullptr) {
    inspected = Inspect(z, x, y, bytes);
    if (!inspected.ok()) return inspected.status();
  }
  const TileFacts& facts = given_facts != nullptr ? *given_facts : *inspected;
  if (absl::Status s = CheckPixels(name, facts.info); !s.ok()) return s;
  absl::StatusOr<std::optional<storage::ValueRef>> stored = FindIdentical(bytes, facts);
  if (!stored.ok()) return stored.status();
  const bool unique = !stored->has_value();
  if (unique) {
    absl::StatusOr<storage::ValueRef> ref = writer_->Append(section_, key, bytes);
    if (!ref.ok()) return ref.status();
    if (facts.small) dedup_.Remember(z, facts.digest, *ref);
  } else if (absl::Status s = writer_->AppendShared(section_, key, **stored); !s.ok()) {
    return s;
  }
  last_key_ = key;
  levels_.back().second.AddTile(x, y, unique, bytes.size());
  ++tiles_added_;
  return absl::OkStatus();
}

absl::StatusOr<PyramidMetadata> TileWriter::Impl::Metadata() {
  PyramidMetadata m;
  m.set_format_version(kFormatVersion);
  m.set_tile_matrix_set(std::string(tms_.id()));
  m.set_tile_size(static_cast<uint32_t>(pixels_->size));
  m.set_pixel_type(ToProtoPixelType(pixels_->type));
  m.set_band_count(static_cast<uint32_t>(pixels_->colour_bands + (any_alpha_ ? 1 : 0)));
  if (pixels_->colour_bands == 1) {
    m.add_color_interpretation("Gray");
  } else {
    for (const char* band : {"Red", "Green", "Blue"}) m.add_color_interpretation(band);
  }
  if (any_alpha_) m.add_color_interpretation("Alpha");
  m.set_has_alpha(any_alpha_);
  // One codec is that codec; a mix is what the JPEG pyramid codec allows (JPEG, PNG, WebP).
  TileCodec codec = TileCodec::kJpeg;
  if (codecs_.size() == 1 && codecs_[0] == codec::CodecId::kPng) codec = TileCodec::kPng;
  if (codecs_.size() == 1 && codecs_[0] == codec::CodecId::kWebp) codec = TileCodec::kWebp;
  m.set_codec(std::string(TileCodecName(codec)));
  m.set_min_zoom(levels_.front().first.zoom());
  m.set_max_zoom(levels_.back().first.zoom());
  return m;
}

absl::Status TileWriter::Impl::Finish() {
  if (tiles_added_ == 0) {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": no tiles to write"));
  }
  absl::StatusOr<PyramidMetadata> m = Metadata();
  if (!m.ok()) return m.status();
  // Every zoom from min to max has a level; zooms the source skipped are empty sections.
  std::vector<std::pair<Level, LevelStats>> levels;
  for (auto& [level, stats] : levels_) {
    while (!levels.empty() && levels.back().first.zoom() + 1 < level.zoom()) {
      const int z = static_cast<int>(levels.back().first.zoom()) + 1;
      absl::StatusOr<uint32_t> section = writer_->AddSection(SectionName(z));
      if (!section.ok()) return section.status();
      Level empty;
      empty.set_zoom(static_cast<uint32_t>(z));
      empty.set_section(*section);
      levels.emplace_back(empty, LevelStats());
    }
    levels.emplace_back(level, stats);
  }
  for (auto& [level, stats] : levels) {
    stats.CopyTo(&level);
    *m->add_levels() = level;
  }
  const Level& finest = levels.back().first;
  geo::Bounds lonlat;
  if (options_.bounds_lonlat.has_value()) {
    lonlat = *options_.bounds_lonlat;
    lonlat.min_y = std::max(lonlat.min_y, -geo::kWebMercatorMaxLatitude);
    lonlat.max_y = std::min(lonlat.max_y, geo::kWebMercatorMaxLatitude);
  } else {
    const int z = static_cast<int>(finest.zoom());
    const geo::Bounds nw = tms_.TileBounds({z, finest.min_x(), finest.min_y()});
    const geo::Bounds se = tms_.TileBounds({z, finest.max_x(), finest.max_y()});
    tms_.CrsToLonLat(nw.min_x, se.min_y, &lonlat.min_x, &lonlat.min_y);
    tms_.CrsToLonLat(se.max_x, nw.max_y, &lonlat.max_x, &lonlat.max_y);
  }
  Bounds* crs = m->mutable_bounds();
  double x, y;
  tms_.LonLatToCrs(lonlat.min_x, lonlat.min_y, &x, &y);
  crs->set_min_x(x);
  crs->set_min_y(y);
  tms_.LonLatToCrs(lonlat.max_x, lonlat.max_y, &x, &y);
  crs->set_max_x(x);
  crs->set_max_y(y);
  Bounds* ll = m->mutable_bounds_lonlat();
  ll->set_min_x(lonlat.min_x);
  ll->set_min_y(lonlat.min_y);
  ll->set_max_x(lonlat.max_x);
  ll->set_max_y(lonlat.max_y);
  m->set_source_description(options_.source_description);
  m->set_tool_version(options_.tool_version);
  for (const auto& [key, value] : options_.creation_options) {
    (*m->mutable_creation_options())[key] = value;
  }
  m->set_created_utc(absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()));
  if (absl::Status s = CheckMetadata(*m); !s.ok()) return s;
  writer_->SetUserMetadata(kMetadataTypeName, m->SerializeAsString());
  if (absl::Status s = writer_->Seal(); !s.ok()) return s;
  writer_.reset();
  if (absl::Status s = storage::CommitOutput(temporary_, path_); !s.ok()) return s;
  finished_ = true;
  return absl::OkStatus();
}

TileWriter::TileWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TileWriter::~TileWriter() = default;

absl::StatusOr<std::unique_ptr<TileWriter>> TileWriter::Create(const std::string& path,
                                                               const TileWriterOptions& options) {
  storage::OutputOptions output_options;
  output_options.overwrite = options.overwrite;
  output_options.inputs = options.inputs;
  if (absl::Status s = storage::CheckOutput(path, output_options); !s.ok()) {
    return absl::Status(
        s.code(), absl::StrReplaceAll(
                      s.message(), {{"OutputOptions::overwrite", "TileWriterOptions::overwrite"}}));
  }
  const std::string temporary = storage::TemporaryPath(path);
  storage::WriterOptions writer_options;
  writer_options.overwrite = true;  // A leftover of a crashed run of this pid.
  // Renamed into place only once sealed, never reopened after a crash: no step needs a sync.
  writer_options.sync_each_step = false;
  absl::StatusOr<std::unique_ptr<storage::Writer>> writer =
      storage::Writer::Create(temporary, writer_options);
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<TileWriter>(
      new TileWriter(std::make_unique<Impl>(path, temporary, *std::move(writer), options)));
}

absl::Status TileWriter::AddTile(int z, uint32_t x, uint32_t y, absl::string_view bytes) {
  return impl_->AddTile(z, x, y, bytes, nullptr);
}

absl::Status TileWriter::AddTile(int z, uint32_t x, uint32_t y, absl::string_view bytes,
                                 const TileFacts& facts) {
  return impl_->AddTile(z, x, y, bytes, &facts);
}

absl::Status TileWriter::Finish() { return impl_->Finish(); }

uint64_t TileWriter::tiles_added() const { return impl_->tiles_added(); }

}  // namespace pyramid
}  // namespace flatpyramid
