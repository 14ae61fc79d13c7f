#include "pyramid/reader.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "codec/codec.h"
#include "codec/jpeg.h"
#include "cpl_error.h"
#include "gdal_priv.h"
#include "geo/crs.h"
#include "geo/morton.h"
#include "ogr_spatialref.h"
#include "pyramid/internal/build_state.pb.h"
#include "pyramid/internal/region_resample.h"
#include "pyramid/internal/region_warp.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace {

constexpr int kMaxRegionSide = 16384;

// OpaqueValue is the alpha of a fully opaque pixel.
double OpaqueValue(codec::PixelType type) {
  return type == codec::PixelType::kUint16 ? 65535.0 : 255.0;
}

double ReadSample(const uint8_t* p, codec::PixelType type) {
  switch (type) {
    case codec::PixelType::kUint8:
      return *p;
    case codec::PixelType::kUint16: {
      uint16_t v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
    case codec::PixelType::kInt16: {
      int16_t v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
    case codec::PixelType::kFloat32: {
      float v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    }
  }
  return 0;
}

void WriteSample(double value, codec::PixelType type, uint8_t* p) {
  switch (type) {
    case codec::PixelType::kUint8:
      *p = static_cast<uint8_t>(value);
      return;
    case codec::PixelType::kUint16: {
      const uint16_t v = static_cast<uint16_t>(value);
      std::memcpy(p, &v, sizeof(v));
      return;
    }
    case codec::PixelType::kInt16: {
      const int16_t v = static_cast<int16_t>(value);
      std::memcpy(p, &v, sizeof(v));
      return;
    }
    case codec::PixelType::kFloat32: {
      const float v = static_cast<float>(value);
      std::memcpy(p, &v, sizeof(v));
      return;
    }
  }
}

// FillNewImage sets the first `bands` bands of every pixel of a new (zero-filled) image to
// `value` (the rest stay 0).
void FillNewImage(codec::Image& image, int bands, double value) {
  const size_t sample = codec::BytesPerSample(image.type());
  const size_t pixel = sample * static_cast<size_t>(image.bands());
  uint8_t encoded[4];
  WriteSample(value, image.type(), encoded);
  bool all_zero = true;
  for (size_t i = 0; i < sample; ++i) all_zero = all_zero && encoded[i] == 0;
  if (all_zero) return;
  for (int row = 0; row < image.height(); ++row) {
    uint8_t* p = image.data() + static_cast<size_t>(row) * image.row_stride();
    for (int col = 0; col < image.width(); ++col, p += pixel) {
      for (int band = 0; band < bands; ++band) std::memcpy(p + band * sample, encoded, sample);
    }
  }
}

std::string ToWkt(const OGRSpatialReference& srs) {
  char* wkt = nullptr;
  const char* options[] = {"FORMAT=WKT2_2018", nullptr};
  srs.exportToWkt(&wkt, options);
  std::string result = wkt != nullptr ? wkt : "";
  CPLFree(wkt);
  return result;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Open

std::string BuildProgressText(const BuildInProgress& build) {
  return absl::StrCat(
      build.units_done, " of ", build.units_total, " blocks committed, ", build.tiles_written,
      " tiles; ",
      build.writer_active ? "build_pyramid is writing it now" : "no build_pyramid is writing it");
}

namespace {

// MetadataFault is the DataLoss error of a metadata that breaks the format's promises.
absl::Status MetadataFault(const std::string& path, absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat(path, ": pyramid metadata is inconsistent: ", what,
                   "; the file was not written by a compatible build_pyramid (rebuild it)"));
}

// CheckAgainstStore checks the levels of a metadata that passed CheckMetadata against the
// storage sections: each names its own section SectionName(zoom), whose entry count (once
// sealed) is the level's tile_count.
absl::Status CheckAgainstStore(const PyramidMetadata& m, const storage::Reader& store,
                               const std::string& path) {
  for (const Level& level : m.levels()) {
    const int z = static_cast<int>(level.zoom());
    if (level.section() >= store.section_count()) {
      return MetadataFault(path,
                           absl::StrCat("level ", z, " names storage section ", level.section(),
                                        " but the file has ", store.section_count()));
    }
    const std::string expected_name = SectionName(z);
    if (store.section_name(level.section()) != expected_name) {
      return MetadataFault(
          path, absl::StrCat("level ", z, " names storage section ", level.section(), " '",
                             store.section_name(level.section()), "', not '", expected_name, "'"));
    }
    if (store.sealed() && store.entry_count(level.section()) != level.tile_count()) {
      return MetadataFault(
          path, absl::StrCat("level ", z, " lists ", level.tile_count(),
                             " tiles but its section holds ", store.entry_count(level.section())));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// Reader::SrsEntry is what ReadRegion learnt of one request CRS string.
struct Reader::SrsEntry {
  std::string wkt;
  bool same_as_tile_matrix_set = false;
  bool geographic = false;  // Longitude/latitude: x wraps every 360 degrees.
};

// Reader::SrsCache maps request CRS strings to their SrsEntry. Bounded: emptied when full.
struct Reader::SrsCache {
  static constexpr size_t kMaxEntries = 64;
  absl::Mutex mutex;
  absl::flat_hash_map<std::string, std::shared_ptr<const SrsEntry>> entries ABSL_GUARDED_BY(mutex);
};

Reader::Reader(std::string path, std::unique_ptr<storage::Reader> storage, PyramidMetadata metadata,
               geo::TileMatrixSet tms, std::shared_ptr<TileCache> cache)
    : path_(std::move(path)),
      storage_(std::move(storage)),
      metadata_(std::move(metadata)),
      tms_(std::move(tms)),
      cache_(std::move(cache)),
      cache_id_(TileCache::NextPyramidId()),
      sections_(geo::TileMatrixSet::kMaxZoom + 1, -1),
      levels_(geo::TileMatrixSet::kMaxZoom + 1, nullptr),
      srs_cache_(std::make_unique<SrsCache>()) {
  pixel_type_ = *FromProtoPixelType(metadata_.pixel_type());
  for (const Level& level : metadata_.levels()) {
    sections_[level.zoom()] = level.section();
    levels_[level.zoom()] = &level;
  }
}

Reader::~Reader() { cache_->Erase(cache_id_); }

absl::StatusOr<std::unique_ptr<Reader>> Reader::Open(const std::string& path,
                                                     const ReaderOptions& options) {
  // Without allow_being_written first, so that a running writer (it holds the lock) is told
  // from a stopped one.
  absl::StatusOr<std::unique_ptr<storage::Reader>> store = storage::Reader::Open(path);
  bool writer_active = false;
  if (absl::IsUnavailable(store.status()) && options.allow_being_written) {
    storage::ReaderOptions storage_options;
    storage_options.allow_being_written = true;
    store = storage::Reader::Open(path, storage_options);
    writer_active = true;
  } else if (absl::IsUnavailable(store.status())) {
    return absl::UnavailableError(
        absl::StrCat(path,
                     ": being written (a writer such as build_pyramid holds its lock); wait for it "
                     "to finish, or open "
                     "it with allow_being_written (the tools' --allow_being_written) to see its "
                     "progress"));
  }
  if (!store.ok()) return store.status();
  const absl::string_view bytes = (*store)->user_metadata();
  PyramidMetadata metadata;
  std::optional<BuildInProgress> build;
  if ((*store)->user_metadata_type() == kBuildStateTypeName) {
    // An unfinished build: its last commit point's levels, the options it was started with.
    internal::BuildState state;
    if (!state.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return absl::DataLossError(absl::StrCat(path, ": the build state of an unfinished build (",
                                              bytes.size(), " bytes) does not parse"));
    }
    build = BuildInProgress{state.units_done(), state.units_total(), state.tiles_written(),
                            writer_active};
    if (!options.allow_being_written) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": an unfinished build (", BuildProgressText(*build),
          "): finish it with build_pyramid --resume, or open it with allow_being_written (the "
          "tools' --allow_being_written) to read what is committed"));
    }
    metadata = state.metadata();
  } else if ((*store)->user_metadata_type() != kMetadataTypeName) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a flatpyramid pyramid: its user metadata type is '",
                     (*store)->user_metadata_type(), "', expected '", kMetadataTypeName,
                     "' (build pyramids with build_pyramid)"));
  } else if (!metadata.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat(path, ": the pyramid metadata (", bytes.size(),
                                            " bytes) does not parse; rebuild the pyramid"));
  }
  if (absl::Status s = CheckFormatVersion(metadata.format_version()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  }
  if (absl::Status s = CheckMetadata(metadata); !s.ok()) return MetadataFault(path, s.message());
  if (absl::Status s = CheckAgainstStore(metadata, **store, path); !s.ok()) return s;
  absl::StatusOr<geo::TileMatrixSet> tms = geo::TileMatrixSet::FromName(
      metadata.tile_matrix_set(), static_cast<int>(metadata.tile_size()));
  if (!tms.ok()) return MetadataFault(path, tms.status().message());

  absl::StatusOr<OGRSpatialReference> tms_srs = geo::TileMatrixSetSrs(*tms);
  if (!tms_srs.ok()) return tms_srs.status();

  std::shared_ptr<TileCache> cache = options.cache;
  if (cache == nullptr) cache = std::make_shared<TileCache>(options.private_cache_bytes);
  std::unique_ptr<Reader> reader(
      new Reader(path, *std::move(store), std::move(metadata), *std::move(tms), std::move(cache)));
  reader->tms_srs_wkt_ = ToWkt(*tms_srs);
  reader->build_in_progress_ = build;
  return reader;
}

const Level* Reader::FindLevel(int zoom) const {
  if (zoom < 0 || zoom > geo::TileMatrixSet::kMaxZoom) return nullptr;
  return levels_[zoom];
}

int64_t Reader::SectionFor(int z) const {
  if (z < 0 || z > geo::TileMatrixSet::kMaxZoom) return -1;
  return sections_[z];
}

// ---------------------------------------------------------------------------------------------
// Tiles

absl::StatusOr<absl::string_view> Reader::GetTileBytes(int z, uint32_t x, uint32_t y) const {
  if (!geo::TileMatrixSet::IsValidZoom(z)) {
    return absl::OutOfRangeError(absl::StrCat("tile ", TileName(z, x, y), ": zoom ", z,
                                              " is outside 0..", geo::TileMatrixSet::kMaxZoom));
  }
  if (x >= tms_.MatrixWidth(z) || y >= tms_.MatrixHeight(z)) {
    return absl::OutOfRangeError(
        absl::StrCat("tile ", TileName(z, x, y), " is outside the tile matrix (",
                     tms_.MatrixWidth(z), " x ", tms_.MatrixHeight(z), " tiles at zoom ", z, ")"));
  }
  const int64_t section = SectionFor(z);
  if (section < 0) {
    return absl::NotFoundError(absl::StrCat("tile ", TileName(z, x, y),
                                            ": the pyramid has no level ", z, " (zooms ",
                                            min_zoom(), "..", max_zoom(), ")"));
  }
  std::optional<absl::string_view> bytes =
      storage_->Get(static_cast<uint32_t>(section), TileKey(x, y));
  if (!bytes.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("tile ", TileName(z, x, y), " holds no data (empty tiles are not stored)"));
  }
  return *bytes;
}

absl::StatusOr<codec::Image> Reader::DecodeTile(int z, uint32_t x, uint32_t y,
                                                absl::string_view bytes) const {
  // A successful DecodeTilePart writes every sample of the whole tile.
  codec::Image tile =
      codec::Image::Uninitialized(tile_size(), tile_size(), band_count(), pixel_type_);
  if (absl::Status s = DecodeTilePart(z, x, y, bytes, 0, 0, tile.mutable_view(), nullptr);
      !s.ok()) {
    return s;
  }
  return tile;
}

absl::Status Reader::DecodeTilePart(int z, uint32_t x, uint32_t y, absl::string_view bytes,
                                    int col0, int row0, const codec::MutableImageView& out,
                                    bool* opaque) const {
  codec::DecodeLimits limits;
  limits.max_width = limits.max_height = tile_size();
  absl::StatusOr<codec::ImageInfo> info = codec::PeekInfo(bytes, limits);
  if (!info.ok()) {
    return absl::DataLossError(
        absl::StrCat(path_, ": tile ", TileName(z, x, y), ": ", info.status().message()));
  }
  const int bands = band_count();
  const bool missing_alpha = metadata_.has_alpha() && info->bands == bands - 1;
  if (info->width != tile_size() || info->height != tile_size() || info->type != pixel_type_ ||
      (info->bands != bands && !missing_alpha)) {
    return absl::DataLossError(absl::StrCat(
        path_, ": tile ", TileName(z, x, y), ": ", codec::CodecName(info->codec), " tile is ",
        info->width, "x", info->height, " with ", info->bands, " ",
        codec::PixelTypeName(info->type), " bands, but the pyramid declares ", tile_size(), "x",
        tile_size(), " with ", bands, " ", codec::PixelTypeName(pixel_type_), " bands"));
  }
  if (opaque != nullptr) *opaque = missing_alpha;
  const bool whole =
      col0 == 0 && row0 == 0 && out.width == tile_size() && out.height == tile_size();
  // codec::DecodeInto decodes a 3-band colour tile into 4 bands with an opaque alpha band
  // itself (TurboJPEG writes RGBA): only a gray tile needs its alpha added here.
  const int decoded_bands = !missing_alpha || info->bands == 3 ? bands : info->bands;
  if (whole && decoded_bands == bands) {
    if (absl::Status s = codec::DecodeInto(bytes, out, limits); !s.ok()) {
      return absl::DataLossError(
          absl::StrCat(path_, ": tile ", TileName(z, x, y), ": ", s.message()));
    }
    return absl::OkStatus();
  }
  // A JPEG part decodes alone: rows above it are only entropy-decoded, rows below and
  // columns beside it (to the nearest block) not at all, same pixels.
  if (info->codec == codec::CodecId::kJpeg && decoded_bands == bands) {
    if (absl::Status s = codec::DecodeJpegRegionInto(bytes, col0, row0, out, limits); !s.ok()) {
      return absl::DataLossError(
          absl::StrCat(path_, ": tile ", TileName(z, x, y), ": ", s.message()));
    }
    return absl::OkStatus();
  }
  // Decode the whole tile into this thread's scratch buffer (reused: no allocation or zero
  // fill per tile), then copy the part, adding an opaque alpha band to a gray tile stored
  // without it.
  thread_local std::vector<uint8_t> scratch;
  const size_t sample = codec::BytesPerSample(pixel_type_);
  const size_t in_pixel = sample * static_cast<size_t>(decoded_bands);
  const size_t in_stride = in_pixel * static_cast<size_t>(tile_size());
  if (scratch.size() < in_stride * static_cast<size_t>(tile_size())) {
    scratch.resize(in_stride * static_cast<size_t>(tile_size()));
  }
  codec::MutableImageView decoded{scratch.data(), tile_size(), tile_size(),
                                  decoded_bands,  pixel_type_, in_stride};
  if (absl::Status s = codec::DecodeInto(bytes, decoded, limits); !s.ok()) {
    return absl::DataLossError(
        absl::StrCat(path_, ": tile ", TileName(z, x, y), ": ", s.message()));
  }
  const size_t out_pixel = sample * static_cast<size_t>(bands);
  uint8_t opaque_alpha[4];
  WriteSample(OpaqueValue(pixel_type_), pixel_type_, opaque_alpha);
  for (int row = 0; row < out.height; ++row) {
    const uint8_t* in = scratch.data() + static_cast<size_t>(row0 + row) * in_stride +
                        static_cast<size_t>(col0) * in_pixel;
    uint8_t* line = out.data + static_cast<size_t>(row) * out.row_stride;
    if (decoded_bands == bands) {
      std::memcpy(line, in, static_cast<size_t>(out.width) * out_pixel);
      continue;
    }
    for (int i = 0; i < out.width; ++i, in += in_pixel, line += out_pixel) {
      std::memcpy(line, in, in_pixel);
      std::memcpy(line + in_pixel, opaque_alpha, sample);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const codec::Image>> Reader::FindTile(int z, uint32_t x,
                                                                     uint32_t y) const {
  const int64_t section = SectionFor(z);
  if (section < 0 || x >= tms_.MatrixWidth(z) || y >= tms_.MatrixHeight(z)) return nullptr;
  const uint64_t key = TileKey(x, y);
  const TileCache::Key cache_key{cache_id_, z, key};
  if (std::shared_ptr<const codec::Image> cached = cache_->Lookup(cache_key)) return cached;
  std::optional<absl::string_view> bytes = storage_->Get(static_cast<uint32_t>(section), key);
  if (!bytes.has_value()) return nullptr;
  absl::StatusOr<codec::Image> decoded = DecodeTile(z, x, y, *bytes);
  if (!decoded.ok()) return decoded.status();
  return cache_->Insert(cache_key, *std::move(decoded));
}

absl::StatusOr<std::shared_ptr<const codec::Image>> Reader::GetTile(int z, uint32_t x,
                                                                    uint32_t y) const {
  // GetTileBytes produces the precise NotFound / OutOfRange errors.
  absl::StatusOr<absl::string_view> bytes = GetTileBytes(z, x, y);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<std::shared_ptr<const codec::Image>> tile = FindTile(z, x, y);
  if (!tile.ok()) return tile.status();
  return *tile;
}

absl::Status Reader::Verify() const {
  if (absl::Status s = storage_->Verify(); !s.ok()) return s;
  constexpr size_t kMaxFaultsListed = 10;
  std::vector<std::string> faults;
  uint64_t fault_count = 0;
  auto fault = [&](std::string message) {
    ++fault_count;
    if (faults.size() < kMaxFaultsListed) faults.push_back(std::move(message));
  };
  for (const Level& level : metadata_.levels()) {
    const int z = static_cast<int>(level.zoom());
    const uint32_t section = level.section();
    const uint64_t count = storage_->entry_count(section);
    LevelStats stats;
    // Shared values (AppendShared) have the same offset in the section's blob.
    absl::flat_hash_set<uint64_t> unique_values;
    for (uint64_t i = 0; i < count; ++i) {
      uint32_t x, y;
      TileFromKey(storage_->KeyAt(section, i), &x, &y);
      if (x >= tms_.MatrixWidth(z) || y >= tms_.MatrixHeight(z)) {
        fault(absl::StrCat("level ", z, ": key ", storage_->KeyAt(section, i), " is tile ",
                           TileName(z, x, y), ", outside the tile matrix"));
        continue;
      }
      const absl::string_view bytes = storage_->ValueAt(section, i);
      stats.AddTile(x, y, unique_values.insert(storage_->ValueRefAt(section, i).offset).second,
                    bytes.size());
      codec::DecodeLimits limits;
      limits.max_width = limits.max_height = tile_size();
      absl::StatusOr<codec::ImageInfo> info = codec::PeekInfo(bytes, limits);
      absl::Status stored = info.ok() ? CheckStoredTile(metadata_, *info) : absl::OkStatus();
      if (!stored.ok()) {
        fault(absl::StrCat(path_, ": tile ", TileName(z, x, y), ": ", stored.message()));
        continue;
      }
      absl::StatusOr<codec::Image> tile = DecodeTile(z, x, y, bytes);
      if (!tile.ok()) fault(std::string(tile.status().message()));
    }
    for (std::string& difference : stats.Differences(level)) {
      fault(absl::StrCat("level ", z, ": ", std::move(difference)));
    }
  }
  if (fault_count == 0) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(path_, ": ", fault_count,
                                          " fault(s): ", absl::StrJoin(faults, "; "),
                                          fault_count > faults.size() ? "; ..." : ""));
}

// ---------------------------------------------------------------------------------------------
// Regions

namespace {

// Window is a half-open rectangle of global pixels at one zoom.
struct Window {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x1 <= x0 || y1 <= y0; }
  int64_t width() const { return x1 - x0; }
  int64_t height() const { return y1 - y0; }
};

// FloorDiv is a / b rounded down. REQUIRES: b > 0.
int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// WrapColumn is unwrapped tile column `x` (any integer: the tile matrix repeats around the
// globe) as a column of a matrix `width` tiles wide.
uint32_t WrapColumn(int64_t x, uint32_t width) {
  return static_cast<uint32_t>(x - FloorDiv(x, width) * int64_t{width});
}

Window Intersect(const Window& a, const Window& b) {
  return Window{std::max(a.x0, b.x0), std::max(a.y0, b.y0), std::min(a.x1, b.x1),
                std::min(a.y1, b.y1)};
}

// CopyTile copies the part of `tile` (the tile at `tile_x`, `tile_y` of zoom z - shift,
// tile_size px) that covers `area` (global pixels at zoom z) into `target`, whose pixel
// (0, 0) is global pixel (`origin_x`, `origin_y`) at zoom z. With shift > 0 each tile pixel
// covers 2^shift x 2^shift target pixels (nearest-neighbour upsampling). Target bands beyond
// the tile's are set to `extra_value` (the synthetic alpha).
void CopyTile(const codec::ImageView& tile, int64_t tile_x, int64_t tile_y, int shift,
              const Window& area, int64_t origin_x, int64_t origin_y,
              const codec::MutableImageView& target, double extra_value) {
  const int tile_size = tile.width;
  const size_t sample = codec::BytesPerSample(tile.type);
  const size_t tile_pixel = sample * static_cast<size_t>(tile.bands);
  const size_t target_pixel = sample * static_cast<size_t>(target.bands);
  uint8_t extra[4];
  WriteSample(extra_value, target.type, extra);
  const int extra_bands = target.bands - tile.bands;
  for (int64_t gy = area.y0; gy < area.y1; ++gy) {
    const int64_t row_in_tile = (gy >> shift) - tile_y * tile_size;
    const uint8_t* in_row = tile.data + static_cast<size_t>(row_in_tile) * tile.row_stride;
    uint8_t* out = target.data + static_cast<size_t>(gy - origin_y) * target.row_stride +
                   static_cast<size_t>(area.x0 - origin_x) * target_pixel;
    if (shift == 0 && extra_bands == 0) {
      std::memcpy(out, in_row + static_cast<size_t>(area.x0 - tile_x * tile_size) * tile_pixel,
                  static_cast<size_t>(area.width()) * tile_pixel);
      continue;
    }
    for (int64_t gx = area.x0; gx < area.x1; ++gx, out += target_pixel) {
      const int64_t col_in_tile = (gx >> shift) - tile_x * tile_size;
      std::memcpy(out, in_row + static_cast<size_t>(col_in_tile) * tile_pixel, tile_pixel);
      for (int b = 0; b < extra_bands; ++b) {
        std::memcpy(out + tile_pixel + static_cast<size_t>(b) * sample, extra, sample);
      }
    }
  }
}

// ClearTransparentColour zeroes the colour of uint8 pixels whose alpha (the last band) is 0:
// GDAL's warper leaves such pixels as it initialised them.
void ClearTransparentColour(const codec::MutableImageView& image) {
  const int bands = image.bands;
  for (int row = 0; row < image.height; ++row) {
    uint8_t* p = image.data + static_cast<size_t>(row) * image.row_stride;
    if (bands == 4) {
      // Branch-free over whole pixels, so that the compiler vectorises it.
      constexpr uint8_t kAlphaBytes[4] = {0, 0, 0, 255};
      uint32_t alpha_mask;
      std::memcpy(&alpha_mask, kAlphaBytes, 4);
      for (int col = 0; col < image.width; ++col) {
        uint32_t pixel;
        std::memcpy(&pixel, p + 4 * col, 4);
        pixel &= 0u - static_cast<uint32_t>((pixel & alpha_mask) != 0);
        std::memcpy(p + 4 * col, &pixel, 4);
      }
      continue;
    }
    for (int col = 0; col < image.width; ++col, p += bands) {
      if (p[bands - 1] == 0) std::memset(p, 0, static_cast<size_t>(bands - 1));
    }
  }
}

// RunInParallel calls work(i) for i in 0..count-1 on up to `threads` threads (the calling
// thread is one of them); each i runs exactly once.
void RunInParallel(size_t count, int threads, const std::function<void(size_t)>& work) {
  std::atomic<size_t> next{0};
  auto drain = [&] {
    for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) work(i);
  };
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back(drain);
    } catch (const std::system_error&) {
      break;  // No thread to be had: the threads already running do all the work.
    }
  }
  drain();
  for (std::thread& helper : helpers) helper.join();
}

// DecodeThreads is how many threads decode `tiles` tiles: one per kTilesPerThread, at most
// one per core and Reader::kMaxDecodeThreads.
int DecodeThreads(size_t tiles) {
  constexpr size_t kTilesPerThread = 4;  // A thread start costs about a tenth of a decode.
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return static_cast<int>(std::min<size_t>({tiles / kTilesPerThread + 1, static_cast<size_t>(cores),
                                            static_cast<size_t>(Reader::kMaxDecodeThreads)}));
}

// TransformedBounds maps `bbox` (in `from`) into `to` by transforming a 21 x 21 grid of
// points (edges and interior, so curved edges and interior extremes count) and returns
// their envelope. Points that do not transform (outside the projection's domain) are
// skipped; false when none does.
bool TransformedBounds(const geo::Bounds& bbox, const OGRSpatialReference& from,
                       const OGRSpatialReference& to, geo::Bounds* out) {
  std::unique_ptr<OGRCoordinateTransformation> transform(
      OGRCreateCoordinateTransformation(&from, &to));
  if (transform == nullptr) return false;
  constexpr int kSteps = 20;
  std::vector<double> xs, ys;
  std::vector<int> ok((kSteps + 1) * (kSteps + 1));
  xs.reserve(ok.size());
  ys.reserve(ok.size());
  for (int j = 0; j <= kSteps; ++j) {
    for (int i = 0; i <= kSteps; ++i) {
      xs.push_back(bbox.min_x + (bbox.max_x - bbox.min_x) * i / kSteps);
      ys.push_back(bbox.min_y + (bbox.max_y - bbox.min_y) * j / kSteps);
    }
  }
  transform->Transform(static_cast<int>(xs.size()), xs.data(), ys.data(), nullptr, ok.data());
  bool any = false;
  geo::Bounds result{
      std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!ok[i] || !std::isfinite(xs[i]) || !std::isfinite(ys[i])) continue;
    any = true;
    result.min_x = std::min(result.min_x, xs[i]);
    result.max_x = std::max(result.max_x, xs[i]);
    result.min_y = std::min(result.min_y, ys[i]);
    result.max_y = std::max(result.max_y, ys[i]);
  }
  *out = result;
  return any;
}

}  // namespace

// TilePlacement is one call of PlaceTiles: fill `area` of `target` from level `z`.
struct Reader::TilePlacement {
  int z = 0;
  Window area;  // Global pixels at zoom z, inside the tiles `present` describes.
  // present[(y - ty0) * tiles_across + (x - tx0)] says whether tile x, y of z is stored.
  const std::vector<char>* present = nullptr;
  int64_t tx0 = 0;  // Unwrapped: may be negative or past the matrix (see WrapColumn).
  uint32_t ty0 = 0, tiles_across = 0;
  codec::MutableImageView target;
  int64_t origin_x = 0, origin_y = 0;  // The global pixel at target pixel (0, 0).
  double extra_value = 0;              // For target bands beyond band_count().
  // clear_transparent_colour zeroes the colour of placed pixels with alpha 0 (uint8 only).
  bool clear_transparent_colour = false;
  // fill_resampling upsamples the coarser tiles that fill missing ones (nearest, average and
  // mode: pixel replication; the others: GDAL's warper with that kernel).
  Resampling fill_resampling = Resampling::kNearest;
};

namespace {

// SubView is the part of `target` (whose pixel (0, 0) is global pixel `origin_x`, `origin_y`)
// that holds `area` (global pixels).
codec::MutableImageView SubView(const codec::MutableImageView& target, int64_t origin_x,
                                int64_t origin_y, const Window& area) {
  codec::MutableImageView view = target;
  view.data += static_cast<size_t>(area.y0 - origin_y) * view.row_stride +
               static_cast<size_t>(area.x0 - origin_x) * codec::BytesPerSample(view.type) *
                   static_cast<size_t>(view.bands);
  view.width = static_cast<int>(area.width());
  view.height = static_cast<int>(area.height());
  return view;
}

}  // namespace

absl::Status Reader::PlaceTiles(const TilePlacement& p, Region* region, bool* any_data) const {
  const int64_t ts = tile_size();
  const int z = p.z;
  const uint32_t section = static_cast<uint32_t>(SectionFor(z));
  const uint32_t matrix_width = tms_.MatrixWidth(z);
  // Tile columns are unwrapped (see TilePlacement::tx0); storage keys use WrapColumn.
  std::vector<std::pair<int64_t, uint32_t>> stored, missing;
  for (uint32_t ty = static_cast<uint32_t>(p.area.y0 / ts);
       ty <= static_cast<uint32_t>((p.area.y1 - 1) / ts); ++ty) {
    for (int64_t tx = FloorDiv(p.area.x0, ts); tx <= FloorDiv(p.area.x1 - 1, ts); ++tx) {
      const bool present = (*p.present)[static_cast<size_t>(ty - p.ty0) * p.tiles_across +
                                        static_cast<size_t>(tx - p.tx0)] != 0;
      (present ? stored : missing).push_back({tx, ty});
    }
  }
  auto area_of = [&](int64_t tx, uint32_t ty) {
    return Intersect(
        Window{int64_t{tx} * ts, int64_t{ty} * ts, int64_t{tx + 1} * ts, int64_t{ty + 1} * ts},
        p.area);
  };

  // Stored tiles cover disjoint parts of the target: decode them in parallel. Without a
  // cache to keep them, tiles decode straight into the target (parts through a scratch
  // buffer).
  const bool decode_into_target = cache_->capacity_bytes() == 0 && p.target.bands == band_count();
  std::vector<absl::Status> statuses(stored.size());
  std::vector<char> placed(stored.size(), 0);
  RunInParallel(stored.size(), DecodeThreads(stored.size()), [&](size_t i) {
    const auto [tx, ty] = stored[i];
    const Window area = area_of(tx, ty);
    const uint32_t wrapped_x = WrapColumn(tx, matrix_width);
    const uint64_t key = TileKey(wrapped_x, ty);
    const TileCache::Key cache_key{cache_id_, z, key};
    std::shared_ptr<const codec::Image> tile = cache_->Lookup(cache_key);
    if (tile == nullptr) {
      std::optional<absl::string_view> bytes = storage_->Get(section, key);
      if (!bytes.has_value()) return;
      if (decode_into_target) {
        const codec::MutableImageView view = SubView(p.target, p.origin_x, p.origin_y, area);
        bool opaque = false;
        statuses[i] = DecodeTilePart(z, wrapped_x, ty, *bytes, static_cast<int>(area.x0 - tx * ts),
                                     static_cast<int>(area.y0 - int64_t{ty} * ts), view, &opaque);
        placed[i] = statuses[i].ok();
        if (placed[i] && p.clear_transparent_colour && !opaque) ClearTransparentColour(view);
        return;
      }
      absl::StatusOr<codec::Image> decoded = DecodeTile(z, wrapped_x, ty, *bytes);
      if (!decoded.ok()) {
        statuses[i] = decoded.status();
        return;
      }
      tile = cache_->Insert(cache_key, *std::move(decoded));
    }
    CopyTile(tile->view(), tx, ty, 0, area, p.origin_x, p.origin_y, p.target, p.extra_value);
    if (p.clear_transparent_colour)
      ClearTransparentColour(SubView(p.target, p.origin_x, p.origin_y, area));
    placed[i] = 1;
  });
  for (size_t i = 0; i < stored.size(); ++i) {
    if (!statuses[i].ok()) return statuses[i];
    if (placed[i]) {
      ++region->tiles_decoded;
      *any_data = true;
    }
  }

  // Tiles missing at z: from the nearest coarser level that has them. Coarser tiles looked
  // up, by (shift, parent key): nullptr when absent.
  absl::flat_hash_map<std::pair<int, uint64_t>, std::shared_ptr<const codec::Image>> parents;
  auto ancestor = [&](int shift, int64_t ax,
                      uint32_t ay) -> absl::StatusOr<std::shared_ptr<const codec::Image>> {
    const uint32_t wrapped_x = WrapColumn(ax, tms_.MatrixWidth(z - shift));
    const std::pair<int, uint64_t> key{shift, TileKey(wrapped_x, ay)};
    auto it = parents.find(key);
    if (it == parents.end()) {
      absl::StatusOr<std::shared_ptr<const codec::Image>> found =
          FindTile(z - shift, wrapped_x, ay);
      if (!found.ok()) return found.status();
      it = parents.emplace(key, *std::move(found)).first;
    }
    return it->second;
  };
  for (const auto& [tx, ty] : missing) {
    const Window area = area_of(tx, ty);
    for (int shift = 1; z - shift >= min_zoom(); ++shift) {
      if (SectionFor(z - shift) < 0) continue;
      const int64_t px = tx >> shift;  // Arithmetic: rounds down, unwrapped.
      const uint32_t py = ty >> shift;
      absl::StatusOr<std::shared_ptr<const codec::Image>> parent = ancestor(shift, px, py);
      if (!parent.ok()) return parent.status();
      if (*parent == nullptr) continue;
      if (p.fill_resampling == Resampling::kNearest || p.fill_resampling == Resampling::kAverage ||
          p.fill_resampling == Resampling::kMode) {
        // These kernels upsample by replication anyway.
        CopyTile((*parent)->view(), px, py, shift, area, p.origin_x, p.origin_y, p.target,
                 p.extra_value);
      } else {
        TilePlacement fill = p;
        fill.area = area;
        if (absl::Status s = UpsampleAncestor(fill, shift, ancestor); !s.ok()) return s;
      }
      if (p.clear_transparent_colour)
        ClearTransparentColour(SubView(p.target, p.origin_x, p.origin_y, area));
      ++region->tiles_from_coarser_levels;
      *any_data = true;
      break;
    }
  }
  return absl::OkStatus();
}

absl::Status Reader::UpsampleAncestor(const TilePlacement& p, int shift,
                                      const AncestorLookup& ancestor) const {
  const Window& area = p.area;
  const int za = p.z - shift;
  const int64_t ts = tile_size();
  // The ancestor's pixels under `area`, plus the kernel's reach at the ancestor's scale.
  const int64_t reach = static_cast<int64_t>(KernelRadius(p.fill_resampling)) + 1;
  // Unwrapped in x, as the placement (the ancestor lookup wraps columns).
  const Window source_area =
      Intersect(Window{(area.x0 >> shift) - reach, (area.y0 >> shift) - reach,
                       ((area.x1 - 1) >> shift) + 1 + reach, ((area.y1 - 1) >> shift) + 1 + reach},
                Window{std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max(),
                       int64_t{tms_.MatrixHeight(za)} * ts});
  const bool has_alpha = metadata_.has_alpha();
  const std::optional<double> nodata =
      metadata_.has_nodata() ? std::optional<double>(metadata_.nodata()) : std::nullopt;
  // Without alpha or nodata, a synthetic alpha band says where ancestor tiles were.
  const bool synthetic_alpha = !has_alpha && !nodata.has_value();
  codec::Image source(static_cast<int>(source_area.width()), static_cast<int>(source_area.height()),
                      band_count() + (synthetic_alpha ? 1 : 0), pixel_type_);
  if (nodata.has_value()) FillNewImage(source, band_count(), *nodata);
  for (int64_t ay = source_area.y0 / ts; ay <= (source_area.y1 - 1) / ts; ++ay) {
    for (int64_t ax = FloorDiv(source_area.x0, ts); ax <= FloorDiv(source_area.x1 - 1, ts); ++ax) {
      absl::StatusOr<std::shared_ptr<const codec::Image>> tile =
          ancestor(shift, ax, static_cast<uint32_t>(ay));
      if (!tile.ok()) return tile.status();
      if (*tile == nullptr) continue;
      CopyTile((*tile)->view(), ax, ay, 0,
               Intersect(Window{ax * ts, ay * ts, (ax + 1) * ts, (ay + 1) * ts}, source_area),
               source_area.x0, source_area.y0, source.mutable_view(), OpaqueValue(pixel_type_));
    }
  }
  internal::GeoGrid source_grid, destination_grid;
  double x, y;
  tms_.PixelToCrs(static_cast<double>(source_area.x0), static_cast<double>(source_area.y0), za, &x,
                  &y);
  source_grid.geotransform = {x, tms_.Resolution(za), 0, y, 0, -tms_.Resolution(za)};
  source_grid.srs_wkt = tms_srs_wkt_;
  tms_.PixelToCrs(static_cast<double>(area.x0), static_cast<double>(area.y0), p.z, &x, &y);
  destination_grid.geotransform = {x, tms_.Resolution(p.z), 0, y, 0, -tms_.Resolution(p.z)};
  destination_grid.srs_wkt = tms_srs_wkt_;
  internal::WarpSpec spec;
  spec.resampling = ToGdalResampleAlg(p.fill_resampling);
  spec.color_bands = has_alpha ? band_count() - 1 : band_count();
  spec.source_alpha_band = has_alpha ? band_count() - 1 : synthetic_alpha ? band_count() : -1;
  spec.destination_alpha_band = has_alpha                       ? band_count() - 1
                                : p.target.bands > band_count() ? band_count()
                                                                : -1;
  spec.nodata = nodata;
  if (absl::Status s = internal::WarpRegion(source.view(), source_grid,
                                            SubView(p.target, p.origin_x, p.origin_y, area),
                                            destination_grid, spec);
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path_, ": filling tiles of zoom ", p.z,
                                               " from zoom ", za, ": ", s.message()));
  }
  return absl::OkStatus();
}

int Reader::LevelForResolution(double resolution) const {
  // Like GDAL's overview choice: the coarsest level whose pixels are no larger than the
  // requested ones (1% slack absorbs rounding in the bbox transform).
  const int wanted = tms_.ZoomForResolution(resolution * 1.01, geo::ZoomStrategy::kUpper);
  int best = -1;
  for (int z = std::min(wanted, max_zoom()); z >= min_zoom(); --z) {
    if (SectionFor(z) >= 0) {
      best = z;
      break;
    }
  }
  if (best >= 0) return best;
  for (int z = min_zoom(); z <= max_zoom(); ++z) {
    if (SectionFor(z) >= 0) return z;
  }
  return min_zoom();
}

absl::StatusOr<Region> Reader::ReadRegion(const RegionRequest& request) const {
  const geo::Bounds& bbox = request.bbox;
  if (!std::isfinite(bbox.min_x) || !std::isfinite(bbox.min_y) || !std::isfinite(bbox.max_x) ||
      !std::isfinite(bbox.max_y) || bbox.min_y >= bbox.max_y) {
    return absl::InvalidArgumentError(
        absl::StrCat("bbox ", bbox.min_x, ",", bbox.min_y, ",", bbox.max_x, ",", bbox.max_y,
                     " is empty or inverted: give min_x,min_y,max_x,max_y with min < max"));
  }
  if (request.width < 1 || request.height < 1 || request.width > kMaxRegionSide ||
      request.height > kMaxRegionSide) {
    return absl::InvalidArgumentError(absl::StrCat("size ", request.width, "x", request.height,
                                                   " is outside 1..", kMaxRegionSide,
                                                   " pixels per side"));
  }
  std::shared_ptr<const SrsEntry> srs;
  {
    absl::MutexLock lock(&srs_cache_->mutex);
    auto it = srs_cache_->entries.find(request.srs);
    if (it != srs_cache_->entries.end()) srs = it->second;
  }
  // Requests in the set's CRS (known from the cache) need no OGR objects at all.
  std::optional<OGRSpatialReference> out_srs;
  OGRSpatialReference tms_srs;
  if (srs == nullptr || !srs->same_as_tile_matrix_set) {
    absl::StatusOr<OGRSpatialReference> parsed = geo::ParseSrs(request.srs);
    if (!parsed.ok()) return parsed.status();
    out_srs = *std::move(parsed);
    tms_srs.importFromWkt(tms_srs_wkt_.c_str());
    tms_srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  }
  if (srs == nullptr) {
    auto entry = std::make_shared<SrsEntry>();
    entry->wkt = ToWkt(*out_srs);
    entry->same_as_tile_matrix_set = out_srs->IsSame(&tms_srs);
    entry->geographic = out_srs->IsGeographic();
    srs = entry;
    absl::MutexLock lock(&srs_cache_->mutex);
    if (srs_cache_->entries.size() >= SrsCache::kMaxEntries) srs_cache_->entries.clear();
    srs_cache_->entries.emplace(request.srs, std::move(entry));
  }

  // x wraps around the globe in geographic CRSs and in the set's own (both sets span it): a
  // bbox with min_x > max_x crosses the antimeridian, and one reaching past the world's edge
  // reads the other side.
  const geo::Bounds extent = tms_.extent();
  double period = 0, world_min_x = 0;
  if (srs->same_as_tile_matrix_set) {
    period = extent.max_x - extent.min_x;
    world_min_x = extent.min_x;
  } else if (srs->geographic) {
    period = 360;
    world_min_x = -180;
  }
  RegionRequest unwrapped = request;
  if (period > 0 && bbox.min_x > bbox.max_x) unwrapped.bbox.max_x += period;
  const geo::Bounds& wide = unwrapped.bbox;
  if (wide.min_x >= wide.max_x || (period > 0 && wide.max_x - wide.min_x > period * (1 + 1e-9))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bbox ", bbox.min_x, ",", bbox.min_y, ",", bbox.max_x, ",", bbox.max_y,
        " is empty, inverted or wider than the world: give min_x,min_y,max_x,max_y with min < "
        "max",
        period > 0 ? " (or min_x > max_x for a bbox crossing the antimeridian)" : ""));
  }
  if (period == 0 || (wide.min_x >= world_min_x && wide.max_x <= world_min_x + period)) {
    return RenderRegion(unwrapped, *srs, out_srs, tms_srs);
  }

  // Across the world's edge: each run of output columns whose centres lie in one copy of the
  // world is rendered shifted into it (the mosaics wrap, so pixels at the seam keep their
  // whole kernel), then copied into place.
  const double step = (wide.max_x - wide.min_x) / request.width;
  auto copy_of = [&](int column) {
    return std::floor((wide.min_x + (column + 0.5) * step - world_min_x) / period);
  };
  std::vector<std::pair<int, int>> runs;  // [first column, end column)
  for (int column = 0; column < request.width;) {
    int end = column + 1;
    while (end < request.width && copy_of(end) == copy_of(column)) ++end;
    runs.push_back({column, end});
    column = end;
  }
  // The widest run picks the level for all (their resolutions are the same).
  const auto widest = std::max_element(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
    return a.second - a.first < b.second - b.first;
  });
  std::rotate(runs.begin(), widest, widest + 1);
  Region region;
  region.image = codec::Image(request.width, request.height, band_count(), pixel_type_);
  region.geotransform = {wide.min_x, step, 0,
                         wide.max_y, 0,    -(wide.max_y - wide.min_y) / request.height};
  region.srs_wkt = srs->wkt;
  const size_t pixel_bytes = codec::BytesPerSample(pixel_type_) * static_cast<size_t>(band_count());
  for (const auto& [first, end] : runs) {
    RegionRequest part = unwrapped;
    const double shift = copy_of(first) * period;
    part.bbox.min_x = wide.min_x + first * step - shift;
    part.bbox.max_x = wide.min_x + end * step - shift;
    part.width = end - first;
    if (first != runs.front().first) part.zoom = region.zoom;
    absl::StatusOr<Region> rendered = RenderRegion(part, *srs, out_srs, tms_srs);
    if (!rendered.ok()) return rendered.status();
    if (first == runs.front().first) region.zoom = rendered->zoom;
    region.tiles_decoded += rendered->tiles_decoded;
    region.tiles_from_coarser_levels += rendered->tiles_from_coarser_levels;
    for (int row = 0; row < request.height; ++row) {
      std::memcpy(region.image.data() + row * region.image.row_stride() + first * pixel_bytes,
                  rendered->image.data() + row * rendered->image.row_stride(),
                  static_cast<size_t>(part.width) * pixel_bytes);
    }
  }
  return region;
}

absl::StatusOr<Region> Reader::RenderRegion(const RegionRequest& request, const SrsEntry& srs_entry,
                                            const std::optional<OGRSpatialReference>& out_srs,
                                            const OGRSpatialReference& tms_srs) const {
  const geo::Bounds& bbox = request.bbox;
  const SrsEntry* srs = &srs_entry;
  Region region;
  region.geotransform = {bbox.min_x, (bbox.max_x - bbox.min_x) / request.width,  0, bbox.max_y,
                         0,          -(bbox.max_y - bbox.min_y) / request.height};
  region.srs_wkt = srs->wkt;
  const std::optional<double> nodata =
      metadata_.has_nodata() ? std::optional<double>(metadata_.nodata()) : std::nullopt;
  const bool has_alpha = metadata_.has_alpha();
  const int color_bands = has_alpha ? band_count() - 1 : band_count();
  // The output starts as "no data" everywhere, except where the tiles will write every pixel
  // (the aligned fast path below): then filling it first would only cost time.
  auto blank_image = [&] {
    codec::Image image(request.width, request.height, band_count(), pixel_type_);
    FillNewImage(image, color_bands, nodata.value_or(0));
    return image;
  };

  geo::Bounds in_tms = bbox;
  if (!srs->same_as_tile_matrix_set) {
    // A run of ReadRegion's columns may reach a fraction of a pixel past +-180, which PROJ
    // would wrap to the far side of the world: the kernel margin covers that fraction.
    geo::Bounds transformed = bbox;
    if (srs->geographic) {
      transformed.min_x = std::max(transformed.min_x, -180.0);
      transformed.max_x = std::min(transformed.max_x, 180.0);
    }
    if (!TransformedBounds(transformed, *out_srs, tms_srs, &in_tms)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bbox ", bbox.min_x, ",", bbox.min_y, ",", bbox.max_x, ",", bbox.max_y,
                       " in ", request.srs, " does not map into ", tms_.crs(),
                       " (check the bbox axis order: x/longitude first)"));
    }
  }
  const geo::Bounds extent = tms_.extent();
  in_tms.min_x = std::max(in_tms.min_x, extent.min_x);
  in_tms.min_y = std::max(in_tms.min_y, extent.min_y);
  in_tms.max_x = std::min(in_tms.max_x, extent.max_x);
  in_tms.max_y = std::min(in_tms.max_y, extent.max_y);
  const double wanted_resolution = std::min((in_tms.max_x - in_tms.min_x) / request.width,
                                            (in_tms.max_y - in_tms.min_y) / request.height);

  int z;
  if (request.zoom >= 0) {
    if (SectionFor(request.zoom) < 0) {
      return absl::NotFoundError(absl::StrCat("zoom ", request.zoom,
                                              " is not in the pyramid (zooms ", min_zoom(), "..",
                                              max_zoom(), ")"));
    }
    z = request.zoom;
  } else {
    z = LevelForResolution(wanted_resolution > 0 ? wanted_resolution : tms_.Resolution(max_zoom()));
  }
  region.zoom = z;
  if (in_tms.min_x >= in_tms.max_x || in_tms.min_y >= in_tms.max_y) {
    region.image = blank_image();
    return region;  // Entirely outside the tile matrix set: no data anywhere.
  }

  // The source window: the bbox at zoom z, plus the resampling kernel's reach.
  const double resolution = tms_.Resolution(z);
  const double scale = std::max(1.0, wanted_resolution / resolution);
  const double margin = KernelRadius(request.resampling) * scale + 2;
  double px0, py0, px1, py1;
  tms_.CrsToPixel(in_tms.min_x, in_tms.max_y, z, &px0, &py0);
  tms_.CrsToPixel(in_tms.max_x, in_tms.min_y, z, &px1, &py1);
  const int64_t ts = tile_size();
  Window window{static_cast<int64_t>(std::floor(px0 - margin)),
                static_cast<int64_t>(std::floor(py0 - margin)),
                static_cast<int64_t>(std::ceil(px1 + margin)),
                static_cast<int64_t>(std::ceil(py1 + margin))};
  const Window requested = window;
  // x wraps (both sets span the globe): a window past the world's edge reads the other side,
  // so that pixels next to the antimeridian keep their whole kernel.
  const int64_t world = int64_t{tms_.MatrixWidth(z)} * ts;
  window = Intersect(window,
                     Window{-world, 0, 2 * world, static_cast<int64_t>(tms_.MatrixHeight(z)) * ts});
  // Only where the level (or a coarser one, for fallback) has data.
  Window data_area{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(),
                   std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min()};
  for (int zz = min_zoom(); zz <= z; ++zz) {
    const Level* level = FindLevel(zz);
    if (level == nullptr || level->tile_count() == 0) continue;
    const int shift = z - zz;
    data_area.x0 = std::min<int64_t>(data_area.x0, (int64_t{level->min_x()} * ts) << shift);
    data_area.y0 = std::min<int64_t>(data_area.y0, (int64_t{level->min_y()} * ts) << shift);
    data_area.x1 = std::max<int64_t>(data_area.x1, (int64_t{level->max_x() + 1} * ts) << shift);
    data_area.y1 = std::max<int64_t>(data_area.y1, (int64_t{level->max_y() + 1} * ts) << shift);
  }
  // (Across the world's edge only in y: the data's copies make no rectangle.)
  const bool wraps = window.x0 < 0 || window.x1 > world;
  window = Intersect(window,
                     wraps ? Window{window.x0, data_area.y0, window.x1, data_area.y1} : data_area);
  if (window.empty()) {
    region.image = blank_image();
    return region;
  }
  if (static_cast<uint64_t>(window.width()) * static_cast<uint64_t>(window.height()) >
      kMaxMosaicPixels) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the window needs ", window.width(), "x", window.height(), " source pixels at zoom ", z,
        " (limit ", kMaxMosaicPixels, "): ask for a smaller bbox or force a coarser zoom"));
  }

  // Tile columns are unwrapped (negative or past the matrix across the world's edge).
  const int64_t tx0 = FloorDiv(window.x0, ts);
  const uint32_t ty0 = static_cast<uint32_t>(window.y0 / ts);
  const int64_t tx1 = FloorDiv(window.x1 - 1, ts);
  const uint32_t ty1 = static_cast<uint32_t>((window.y1 - 1) / ts);
  const uint32_t tiles_across = static_cast<uint32_t>(tx1 - tx0 + 1);
  std::vector<char> present(static_cast<size_t>(tiles_across) * (ty1 - ty0 + 1), 0);
  const uint32_t section = static_cast<uint32_t>(SectionFor(z));
  const int64_t matrix_width = tms_.MatrixWidth(z);
  for (int64_t copy = FloorDiv(tx0, matrix_width); copy <= FloorDiv(tx1, matrix_width); ++copy) {
    const int64_t offset = copy * matrix_width;  // Unwrapped column of wrapped column 0.
    const uint32_t x0 = static_cast<uint32_t>(std::max(tx0, offset) - offset);
    const uint32_t x1 = static_cast<uint32_t>(std::min(tx1, offset + matrix_width - 1) - offset);
    for (const geo::KeyRange& range : geo::KeyRangesForRect(x0, ty0, x1, ty1)) {
      const uint64_t count = storage_->entry_count(section);
      for (uint64_t i = storage_->LowerBound(section, range.begin);
           i < count && storage_->KeyAt(section, i) < range.end; ++i) {
        uint32_t x, y;
        geo::MortonDecode(storage_->KeyAt(section, i), &x, &y);
        if (x < x0 || x > x1 || y < ty0 || y > ty1) continue;
        present[static_cast<size_t>(y - ty0) * tiles_across +
                static_cast<size_t>(x + offset - tx0)] = 1;
      }
    }
  }
  // complete: the level has every tile the window needs (and the window was not clipped), so
  // no pixel of the mosaic lacks data unless a tile says so itself.
  const bool complete = requested.x0 == window.x0 && requested.y0 == window.y0 &&
                        requested.x1 == window.x1 && requested.y1 == window.y1 &&
                        std::all_of(present.begin(), present.end(), [](char p) { return p != 0; });

  // The fast path (see reader.h): in the set's own CRS, output pixel (i, j) has its centre at
  // global pixel (first_x + i * step_x, first_y + j * step_y) of zoom z.
  const bool same_crs = !request.force_gdal_warp && srs->same_as_tile_matrix_set;
  double left, top;
  tms_.CrsToPixel(bbox.min_x, bbox.max_y, z, &left, &top);
  const double step_x = (bbox.max_x - bbox.min_x) / request.width / resolution;
  const double step_y = (bbox.max_y - bbox.min_y) / request.height / resolution;
  const bool nearest_fast = same_crs && request.resampling == Resampling::kNearest &&
                            (!has_alpha || (pixel_type_ == codec::PixelType::kUint8 && !nodata));
  constexpr double kAlignedPixels = 1e-6;
  const bool aligned = std::fabs(left - std::round(left)) < kAlignedPixels &&
                       std::fabs(top - std::round(top)) < kAlignedPixels &&
                       std::fabs(step_x - 1) * request.width < kAlignedPixels &&
                       std::fabs(step_y - 1) * request.height < kAlignedPixels;
  TilePlacement grid_tiles;
  grid_tiles.z = z;
  grid_tiles.area = window;
  grid_tiles.present = &present;
  grid_tiles.tx0 = tx0;
  grid_tiles.ty0 = ty0;
  grid_tiles.tiles_across = tiles_across;
  if (nearest_fast && aligned) {
    // Output pixel (i, j) is global pixel (x0 + i, y0 + j): copy the tiles into the output.
    const int64_t x0 = std::llround(left), y0 = std::llround(top);
    TilePlacement placement = grid_tiles;
    placement.area = Intersect(window, Window{x0, y0, x0 + request.width, y0 + request.height});
    // complete: the window (the output plus a margin) was not clipped and every tile under it
    // is stored, so the tiles cover the output and each decode writes all of its part (or
    // fails, and the image is dropped).
    region.image = complete ? codec::Image::Uninitialized(request.width, request.height,
                                                          band_count(), pixel_type_)
                            : blank_image();
    if (placement.area.empty()) return region;
    placement.target = region.image.mutable_view();
    placement.origin_x = x0;
    placement.origin_y = y0;
    placement.clear_transparent_colour = has_alpha;
    bool any_data = false;
    if (absl::Status s = PlaceTiles(placement, &region, &any_data); !s.ok()) return s;
    return region;
  }

  region.image = blank_image();
  // Without alpha or nodata, a synthetic alpha band tells the warper where tiles were.
  const bool synthetic_alpha = !has_alpha && !nodata.has_value() && !complete;
  const int mosaic_bands = band_count() + (synthetic_alpha ? 1 : 0);
  codec::Image mosaic(static_cast<int>(window.width()), static_cast<int>(window.height()),
                      mosaic_bands, pixel_type_);
  if (nodata.has_value()) FillNewImage(mosaic, band_count(), *nodata);
  const double opaque = OpaqueValue(pixel_type_);
  bool any_data = false;
  {
    TilePlacement placement = grid_tiles;
    placement.target = mosaic.mutable_view();
    placement.origin_x = window.x0;
    placement.origin_y = window.y0;
    placement.extra_value = opaque;
    placement.fill_resampling = request.resampling;
    if (absl::Status s = PlaceTiles(placement, &region, &any_data); !s.ok()) return s;
  }
  if (!any_data) return region;

  // Output centres in mosaic pixels.
  const double first_x = left + 0.5 * step_x - static_cast<double>(window.x0);
  const double first_y = top + 0.5 * step_y - static_cast<double>(window.y0);
  if (nearest_fast) {
    const std::vector<int32_t> columns =
        internal::NearestSourceIndices(first_x, step_x, request.width, mosaic.width());
    const std::vector<int32_t> rows =
        internal::NearestSourceIndices(first_y, step_y, request.height, mosaic.height());
    internal::GatherNearest(mosaic.view(), columns, rows,
                            has_alpha         ? band_count() - 1
                            : synthetic_alpha ? band_count()
                                              : -1,
                            region.image.mutable_view());
    return region;
  }

  // A fully opaque mosaic warps without its alpha band: GDAL's kernels without masks are
  // about twice as fast, and the output alpha is then 255 everywhere.
  bool opaque_mosaic = false;
  if (has_alpha && complete) {
    opaque_mosaic = true;
    const size_t sample = codec::BytesPerSample(pixel_type_);
    const size_t pixel = sample * static_cast<size_t>(mosaic.bands());
    const size_t alpha_offset = sample * static_cast<size_t>(band_count() - 1);
    for (int row = 0; row < mosaic.height() && opaque_mosaic; ++row) {
      const uint8_t* p = mosaic.data() + static_cast<size_t>(row) * mosaic.row_stride();
      for (int col = 0; col < mosaic.width(); ++col, p += pixel) {
        if (ReadSample(p + alpha_offset, pixel_type_) != opaque) {
          opaque_mosaic = false;
          break;
        }
      }
    }
  }

  // Bilinear without GDAL where every sample read holds data and GDAL would use its
  // four-sample formula (output pixels at most 1/0.95 source pixels).
  constexpr double kGdalFourSampleMaxStep = 1 / 0.95;
  if (same_crs && request.resampling == Resampling::kBilinear && complete &&
      (!has_alpha || opaque_mosaic) && !nodata.has_value() &&
      pixel_type_ != codec::PixelType::kFloat32 && step_x <= kGdalFourSampleMaxStep &&
      step_y <= kGdalFourSampleMaxStep) {
    internal::InterpolateBilinear(
        mosaic.view(), internal::BilinearSourceTaps(first_x, step_x, request.width, mosaic.width()),
        internal::BilinearSourceTaps(first_y, step_y, request.height, mosaic.height()),
        region.image.mutable_view());
    return region;
  }

  internal::GeoGrid source_grid;
  double origin_x, origin_y;
  tms_.PixelToCrs(static_cast<double>(window.x0), static_cast<double>(window.y0), z, &origin_x,
                  &origin_y);
  source_grid.geotransform = {origin_x, resolution, 0, origin_y, 0, -resolution};
  source_grid.srs_wkt = tms_srs_wkt_;
  internal::GeoGrid destination_grid{region.geotransform, region.srs_wkt};
  internal::WarpSpec spec;
  spec.resampling = ToGdalResampleAlg(request.resampling);
  spec.color_bands = color_bands;
  spec.source_alpha_band = (has_alpha && !opaque_mosaic) ? band_count() - 1
                           : synthetic_alpha             ? band_count()
                                                         : -1;
  spec.destination_alpha_band = (has_alpha && !opaque_mosaic) ? band_count() - 1 : -1;
  spec.nodata = nodata;
  if (absl::Status s = internal::WarpRegion(mosaic.view(), source_grid, region.image.mutable_view(),
                                            destination_grid, spec);
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path_, ": region at zoom ", z, ": ", s.message()));
  }
  if (opaque_mosaic) {
    codec::Image& image = region.image;
    const size_t sample = codec::BytesPerSample(pixel_type_);
    const size_t pixel = sample * static_cast<size_t>(image.bands());
    uint8_t alpha[4];
    WriteSample(opaque, pixel_type_, alpha);
    for (int row = 0; row < image.height(); ++row) {
      uint8_t* p = image.data() + static_cast<size_t>(row) * image.row_stride() +
                   sample * static_cast<size_t>(band_count() - 1);
      for (int col = 0; col < image.width(); ++col, p += pixel) std::memcpy(p, alpha, sample);
    }
  }
  return region;
}

// ---------------------------------------------------------------------------------------------
// Points

absl::StatusOr<std::optional<double>> Reader::Sample(double lon, double lat, SampleMethod method,
                                                     int band) const {
  if (!std::isfinite(lon) || !std::isfinite(lat) || lat < -90 || lat > 90 || lon < -540 ||
      lon > 540) {
    return absl::InvalidArgumentError(absl::StrCat("position lon ", lon, ", lat ", lat,
                                                   " is not a longitude/latitude in degrees"));
  }
  if (band < 0 || band >= band_count() || (metadata_.has_alpha() && band == band_count() - 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "band ", band, " cannot be sampled: the pyramid has ",
        metadata_.has_alpha() ? band_count() - 1 : band_count(), " value band(s), from 0"));
  }
  while (lon > 180) lon -= 360;
  while (lon < -180) lon += 360;
  if (!tms_.is_geographic() && std::fabs(lat) > geo::kWebMercatorMaxLatitude) {
    return std::optional<double>();
  }
  double x, y;
  tms_.LonLatToCrs(lon, lat, &x, &y);
  const int64_t ts = tile_size();
  const size_t sample_bytes = codec::BytesPerSample(pixel_type_);
  const std::optional<double> nodata =
      metadata_.has_nodata() ? std::optional<double>(metadata_.nodata()) : std::nullopt;

  for (int z = max_zoom(); z >= min_zoom(); --z) {
    if (SectionFor(z) < 0) continue;
    double px, py;
    tms_.CrsToPixel(x, y, z, &px, &py);
    const int64_t width = int64_t{tms_.MatrixWidth(z)} * ts;
    const int64_t height = int64_t{tms_.MatrixHeight(z)} * ts;
    const int64_t nx = std::min<int64_t>(width - 1, std::max<int64_t>(0, std::floor(px)));
    const int64_t ny = std::min<int64_t>(height - 1, std::max<int64_t>(0, std::floor(py)));
    // The tile under the point decides whether this level has data here.
    absl::StatusOr<std::shared_ptr<const codec::Image>> home =
        FindTile(z, static_cast<uint32_t>(nx / ts), static_cast<uint32_t>(ny / ts));
    if (!home.ok()) return home.status();
    if (*home == nullptr) continue;

    // ValueAt reads global pixel (gx, gy) of zoom z; nullopt where there is no data.
    auto value_at = [&](int64_t gx, int64_t gy) -> absl::StatusOr<std::optional<double>> {
      if (gx < 0 || gy < 0 || gx >= width || gy >= height) return std::optional<double>();
      std::shared_ptr<const codec::Image> tile;
      if (gx / ts == nx / ts && gy / ts == ny / ts) {
        tile = *home;
      } else {
        absl::StatusOr<std::shared_ptr<const codec::Image>> other =
            FindTile(z, static_cast<uint32_t>(gx / ts), static_cast<uint32_t>(gy / ts));
        if (!other.ok()) return other.status();
        tile = *std::move(other);
      }
      if (tile == nullptr) return std::optional<double>();
      const uint8_t* pixel = tile->data() + static_cast<size_t>(gy % ts) * tile->row_stride() +
                             static_cast<size_t>(gx % ts) * sample_bytes * tile->bands();
      if (metadata_.has_alpha() &&
          ReadSample(pixel + (tile->bands() - 1) * sample_bytes, pixel_type_) == 0) {
        return std::optional<double>();
      }
      const double v = ReadSample(pixel + band * sample_bytes, pixel_type_);
      if (std::isnan(v) || (nodata.has_value() && v == *nodata)) return std::optional<double>();
      return std::optional<double>(v);
    };

    // A level without a value here (nodata, transparent) defers to the coarser levels, as a
    // missing tile does: their pixels may average valid samples around the hole.
    if (method == SampleMethod::kNearest) {
      absl::StatusOr<std::optional<double>> v = value_at(nx, ny);
      if (!v.ok() || v->has_value()) return v;
      continue;
    }
    // Bilinear between the four pixel centres around the point (centres at half-integers).
    const double fx = px - 0.5, fy = py - 0.5;
    const int64_t x0 = static_cast<int64_t>(std::floor(fx));
    const int64_t y0 = static_cast<int64_t>(std::floor(fy));
    const double ax = fx - x0, ay = fy - y0;
    double sum = 0, weight = 0;
    for (int j = 0; j < 2; ++j) {
      for (int i = 0; i < 2; ++i) {
        const double w = (i ? ax : 1 - ax) * (j ? ay : 1 - ay);
        absl::StatusOr<std::optional<double>> v = value_at(x0 + i, y0 + j);
        if (!v.ok()) return v.status();
        if (!v->has_value() || w <= 0) continue;
        sum += w * **v;
        weight += w;
      }
    }
    if (weight > 0) return std::optional<double>(sum / weight);
  }
  return std::optional<double>();
}

}  // namespace pyramid
}  // namespace flatpyramid
