#include "pyramid/reader.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "geo/crs.h"
#include "pyramid/internal/build_state.pb.h"
#include "pyramid/internal/read/render.h"
#include "pyramid/internal/read/request_srs.h"
#include "pyramid/internal/read/sample.h"
#include "pyramid/internal/read/tile_source.h"
#include "pyramid/internal/read/verify.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {

std::string BuildProgressText(const BuildInProgress& build) {
  return absl::StrCat(
      build.units_done, " of ", build.units_total, " blocks committed, ", build.tiles_written,
      " tiles; ",
      build.writer_active ? "build_pyramid is writing it now" : "no build_pyramid is writing it");
}

// ---------------------------------------------------------------------------------------------
// Open

namespace {

// MetadataFault is the DataLoss error of a metadata that breaks the format's promises.
absl::Status MetadataFault(const std::string& path, absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat(path, ": pyramid metadata is inconsistent: ", what,
                   "; the file was not written by a compatible build_pyramid (rebuild it)"));
}

// OpenStore opens the store read-only. A store whose writer is running (it holds the lock)
// opens only with allow_being_written, and sets `*writer_active`.
absl::StatusOr<std::unique_ptr<storage::Reader>> OpenStore(const std::string& path,
                                                           const ReaderOptions& options,
                                                           bool* writer_active) {
  // Without allow_being_written first, so that a running writer is told from a stopped one.
  absl::StatusOr<std::unique_ptr<storage::Reader>> store = storage::Reader::Open(path);
  if (!absl::IsUnavailable(store.status())) return store;
  if (!options.allow_being_written) {
    return absl::UnavailableError(absl::StrCat(
        path,
        ": being written (a writer such as build_pyramid holds its lock); wait for it to "
        "finish, or open it with allow_being_written (the tools' --allow_being_written) to see "
        "its progress"));
  }
  storage::ReaderOptions storage_options;
  storage_options.allow_being_written = true;
  *writer_active = true;
  return storage::Reader::Open(path, storage_options);
}

// ReadBuildState reads the metadata of an unfinished build's last commit point.
absl::Status ReadBuildState(const std::string& path, absl::string_view bytes, bool writer_active,
                            const ReaderOptions& options, PyramidMetadata* metadata,
                            std::optional<BuildInProgress>* build) {
  internal::BuildState state;
  if (!state.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat(path, ": the build state of an unfinished build (",
                                            bytes.size(), " bytes) does not parse"));
  }
  *build = BuildInProgress{state.units_done(), state.units_total(), state.tiles_written(),
                           writer_active};
  if (!options.allow_being_written) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": an unfinished build (", BuildProgressText(**build),
        "): finish it with build_pyramid --resume, or open it with allow_being_written (the "
        "tools' --allow_being_written) to read what is committed"));
  }
  *metadata = state.metadata();
  return absl::OkStatus();
}

// ReadMetadata reads the store's user metadata (pyramid/FORMAT.md section 1): a finished
// pyramid's PyramidMetadata, or an unfinished build's BuildState (`*build` set).
absl::Status ReadMetadata(const std::string& path, const storage::Reader& store, bool writer_active,
                          const ReaderOptions& options, PyramidMetadata* metadata,
                          std::optional<BuildInProgress>* build) {
  const absl::string_view type = store.user_metadata_type();
  const absl::string_view bytes = store.user_metadata();
  if (type == kBuildStateTypeName) {
    return ReadBuildState(path, bytes, writer_active, options, metadata, build);
  }
  if (type.empty() && writer_active) {
    return absl::UnavailableError(
        absl::StrCat(path,
                     ": a build is writing it and has not reached its first commit point yet; wait "
                     "for it"));
  }
  if (type.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path,
                     ": unfinished build, stopped before its first commit point (nothing to read): "
                     "rerun build_pyramid with --resume, which starts it from the beginning"));
  }
  if (type != kMetadataTypeName) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a flatpyramid pyramid: its user metadata type is '", type,
                     "', expected '", kMetadataTypeName, "' (build pyramids with build_pyramid)"));
  }
  if (!metadata->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat(path, ": the pyramid metadata (", bytes.size(),
                                            " bytes) does not parse; rebuild the pyramid"));
  }
  return absl::OkStatus();
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

Reader::Reader(std::string path, std::unique_ptr<storage::Reader> storage, PyramidMetadata metadata,
               geo::TileMatrixSet tms, std::string tms_srs_wkt, std::shared_ptr<TileCache> cache)
    : path_(std::move(path)),
      storage_(std::move(storage)),
      metadata_(std::move(metadata)),
      tms_(std::move(tms)),
      pixel_type_(*FromProtoPixelType(metadata_.pixel_type())),
      cache_(std::move(cache)),
      tiles_(std::make_unique<internal::TileSource>(path_, storage_.get(), &metadata_, &tms_,
                                                    std::move(tms_srs_wkt), cache_)),
      srs_cache_(std::make_unique<internal::RequestSrsCache>()) {}

Reader::~Reader() = default;

absl::StatusOr<std::unique_ptr<Reader>> Reader::Open(const std::string& path,
                                                     const ReaderOptions& options) {
  bool writer_active = false;
  absl::StatusOr<std::unique_ptr<storage::Reader>> store = OpenStore(path, options, &writer_active);
  if (!store.ok()) return store.status();
  PyramidMetadata metadata;
  std::optional<BuildInProgress> build;
  if (absl::Status s = ReadMetadata(path, **store, writer_active, options, &metadata, &build);
      !s.ok()) {
    return s;
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
  std::unique_ptr<Reader> reader(new Reader(path, *std::move(store), std::move(metadata),
                                            *std::move(tms), internal::ToWkt(*tms_srs),
                                            std::move(cache)));
  reader->build_in_progress_ = build;
  return reader;
}

const Level* Reader::FindLevel(int zoom) const { return tiles_->FindLevel(zoom); }

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
  const int64_t section = tiles_->SectionFor(z);
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

absl::StatusOr<std::shared_ptr<const codec::Image>> Reader::GetTile(int z, uint32_t x,
                                                                    uint32_t y) const {
  // GetTileBytes produces the precise NotFound / OutOfRange errors.
  absl::StatusOr<absl::string_view> bytes = GetTileBytes(z, x, y);
  if (!bytes.ok()) return bytes.status();
  return tiles_->FindTile(z, x, y);
}

absl::Status Reader::Verify() const { return internal::VerifyPyramid(*tiles_); }

absl::StatusOr<std::optional<double>> Reader::Sample(double lon, double lat, SampleMethod method,
                                                     int band) const {
  return internal::SamplePoint(*tiles_, lon, lat, method, band);
}

// ---------------------------------------------------------------------------------------------
// Regions

namespace {

absl::Status CheckRequestShape(const RegionRequest& request) {
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
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Region> Reader::ReadRegion(const RegionRequest& request) const {
  if (absl::Status s = CheckRequestShape(request); !s.ok()) return s;
  internal::ResolvedSrs srs;
  if (absl::Status s = srs_cache_->Resolve(request.srs, tiles_->tms_srs_wkt(), &srs); !s.ok()) {
    return s;
  }
  // x wraps around the globe in geographic CRSs and in the set's own (both sets span it): a
  // bbox with min_x > max_x crosses the antimeridian, and one reaching past the world's edge
  // reads the other side.
  double period = 0, world_min_x = 0;
  if (srs.srs->same_as_tile_matrix_set) {
    period = tms_.extent().max_x - tms_.extent().min_x;
    world_min_x = tms_.extent().min_x;
  } else if (srs.srs->geographic) {
    period = 360;
    world_min_x = -180;
  }
  const geo::Bounds& bbox = request.bbox;
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
    return internal::RenderRegion(*tiles_, unwrapped, srs);
  }
  return internal::RenderAcrossWorldEdges(*tiles_, unwrapped, srs, world_min_x, period);
}

}  // namespace pyramid
}  // namespace flatpyramid
