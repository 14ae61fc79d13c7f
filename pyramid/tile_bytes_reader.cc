#include "pyramid/tile_bytes_reader.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pyramid/format.h"
#include "pyramid/internal/build_state.pb.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {

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

// OpenStore opens the store read-only. A store whose writer is running (it holds the lock)
// opens only with allow_being_written, and sets `*writer_active`.
absl::StatusOr<std::unique_ptr<storage::Reader>> OpenStore(const std::string& path,
                                                           const TileBytesReaderOptions& options,
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
                            const TileBytesReaderOptions& options, PyramidMetadata* metadata,
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
                          const TileBytesReaderOptions& options, PyramidMetadata* metadata,
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

TileBytesReader::TileBytesReader(std::string path, std::unique_ptr<storage::Reader> storage,
                                 PyramidMetadata metadata, geo::TileMatrixSet tms,
                                 std::optional<BuildInProgress> build)
    : path_(std::move(path)),
      storage_(std::move(storage)),
      metadata_(std::move(metadata)),
      tms_(std::move(tms)),
      build_in_progress_(build) {
  sections_.fill(-1);
  for (const Level& level : metadata_.levels()) {
    sections_[level.zoom()] = level.section();
    levels_[level.zoom()] = &level;
  }
}

TileBytesReader::~TileBytesReader() = default;

absl::StatusOr<std::unique_ptr<TileBytesReader>> TileBytesReader::Open(
    const std::string& path, const TileBytesReaderOptions& options) {
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
  return std::unique_ptr<TileBytesReader>(
      new TileBytesReader(path, *std::move(store), std::move(metadata), *std::move(tms), build));
}

const Level* TileBytesReader::FindLevel(int zoom) const {
  return geo::TileMatrixSet::IsValidZoom(zoom) ? levels_[zoom] : nullptr;
}

int64_t TileBytesReader::SectionFor(int zoom) const {
  return geo::TileMatrixSet::IsValidZoom(zoom) ? sections_[zoom] : -1;
}

absl::StatusOr<absl::string_view> TileBytesReader::GetTileBytes(int z, uint32_t x,
                                                                uint32_t y) const {
  if (!geo::TileMatrixSet::IsValidZoom(z)) {
    return absl::OutOfRangeError(absl::StrCat("tile ", TileName(z, x, y), ": zoom ", z,
                                              " is outside 0..", geo::TileMatrixSet::kMaxZoom));
  }
  if (x >= tms_.MatrixWidth(z) || y >= tms_.MatrixHeight(z)) {
    return absl::OutOfRangeError(
        absl::StrCat("tile ", TileName(z, x, y), " is outside the tile matrix (",
                     tms_.MatrixWidth(z), " x ", tms_.MatrixHeight(z), " tiles at zoom ", z, ")"));
  }
  const int64_t section = sections_[z];
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

}  // namespace pyramid
}  // namespace flatpyramid
