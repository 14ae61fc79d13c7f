#include "pyramid/updater.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gdal_priv.h"
#include "geo/crs.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/builder.h"
#include "pyramid/format.h"
#include "pyramid/internal/build/build_area.h"
#include "pyramid/internal/build/build_files.h"
#include "pyramid/internal/build/resume.h"
#include "pyramid/internal/source.h"
#include "pyramid/internal/tile_shape.h"
#include "pyramid/internal/update/compose.h"
#include "pyramid/resampling.h"
#include "storage/output_file.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace {

// OpenedPyramid is a sealed pyramid open for reading.
struct OpenedPyramid {
  std::unique_ptr<storage::Reader> store;
  PyramidMetadata metadata;
};

absl::StatusOr<OpenedPyramid> OpenPyramid(const std::string& path, storage::Env* env) {
  storage::ReaderOptions reader_options;
  reader_options.env = env;
  absl::StatusOr<std::unique_ptr<storage::Reader>> store =
      storage::Reader::Open(path, reader_options);
  if (!store.ok()) return store.status();
  OpenedPyramid opened;
  if ((*store)->user_metadata_type() != kMetadataTypeName ||
      !opened.metadata.ParseFromString(std::string((*store)->user_metadata()))) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a finished pyramid: only a sealed pyramid can be updated"));
  }
  opened.store = *std::move(store);
  return opened;
}

bool SameStamp(const SourceFile& a, const SourceFile& b) {
  return a.path() == b.path() && a.size() == b.size() && a.modified_ns() == b.modified_ns() &&
         a.head_tail_crc32c() == b.head_tail_crc32c();
}

// CheckPyramid refuses what an update cannot do to `metadata`.
absl::Status CheckPyramid(const std::string& output, const PyramidMetadata& metadata) {
  if (metadata.shard().count() != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(output, " is a shard: merge the shards (merge_pyramids), then update"));
  }
  if (metadata.sources().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(output,
                     " records no sources (it was built before pyramids recorded them): build it "
                     "again with every input to update it later"));
  }
  absl::StatusOr<internal::TileShape> shape = internal::ShapeOf(metadata);
  if (!shape.ok()) return shape.status();
  if (internal::OverviewKernelRadius(shape->overview) > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        output, ": overview resampling ", metadata.overview_resampling(),
        " reads neighbouring tiles, which an update cannot form again; build it again"));
  }
  return absl::OkStatus();
}

// CheckSources refuses recorded sources that changed since they were recorded (an update
// that adds inputs mosaics them again: a rewritten one would mix old and new pixels).
absl::Status CheckSources(const PyramidMetadata& metadata, const std::vector<SourceFile>& now) {
  for (const SourceFile& then : metadata.sources()) {
    if (then.size() == 0 && then.modified_ns() == 0) continue;  // Not a file.
    const auto same = std::find_if(now.begin(), now.end(),
                                   [&](const SourceFile& s) { return s.path() == then.path(); });
    if (same == now.end()) {
      return absl::NotFoundError(absl::StrCat("the recorded source ", then.path(),
                                              " is gone: an update mosaics every source again"));
    }
    if (!SameStamp(*same, then)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the recorded source ", then.path(),
          " changed since it was recorded (size, modification time or content): render its "
          "area again with BuildOptions::area and no inputs first"));
    }
  }
  return absl::OkStatus();
}

// ExpandByPixels grows a longitude/latitude footprint of a `width` x `height` pixel raster
// by `pixels` of its pixels each side.
void ExpandByPixels(int width, int height, double pixels, geo::Bounds* box) {
  const double span_x =
      box->min_x > box->max_x ? box->max_x + 360.0 - box->min_x : box->max_x - box->min_x;
  const double dx = span_x * pixels / std::max(width, 1);
  const double dy = (box->max_y - box->min_y) * pixels / std::max(height, 1);
  box->min_x -= dx;
  box->max_x += dx;
  if (box->min_x < -180.0) box->min_x += 360.0;
  if (box->max_x > 180.0) box->max_x -= 360.0;
  box->min_y = std::max(-90.0, box->min_y - dy);
  box->max_y = std::min(90.0, box->max_y + dy);
}

// NewInputsArea is where the new inputs change the mosaic, in longitude/latitude: their
// footprints' hull, grown by the resampling kernel's reach (a target pixel just outside a
// new input reads its pixels), in source pixels, with one pixel to spare each side.
absl::StatusOr<BuildArea> NewInputsArea(const BuildOptions& options,
                                        const PyramidMetadata& metadata) {
  absl::StatusOr<Resampling> resampling = ParseResampling(metadata.resampling());
  if (!resampling.ok()) return resampling.status();
  // Twice the reach at 1:1: a source up to twice finer than the base level is covered.
  const double reach = 2.0 * KernelRadius(*resampling) + 2.0;
  internal::SourceOptions source_options;
  source_options.bands = options.bands;
  source_options.source_srs = options.source_srs;
  source_options.nodata = options.nodata;
  BuildArea area;
  for (size_t i = 0; i < options.inputs.size(); ++i) {
    source_options.inputs = {options.inputs[i]};
    absl::StatusOr<std::unique_ptr<internal::Source>> source =
        internal::Source::Open(source_options);
    if (!source.ok()) return source.status();
    GDALDataset& dataset = *(*source)->dataset();
    absl::StatusOr<geo::Bounds> box =
        geo::SourceFootprintLonLat(dataset, (*source)->srs_override());
    if (!box.ok()) return box.status();
    ExpandByPixels(dataset.GetRasterXSize(), dataset.GetRasterYSize(), reach, &*box);
    if (i == 0) {
      area = BuildArea{box->min_x, box->min_y, box->max_x, box->max_y, "EPSG:4326"};
      continue;
    }
    const bool crosses = box->min_x > box->max_x || area.min_x > area.max_x;
    area.min_x = crosses ? -180.0 : std::min(area.min_x, box->min_x);
    area.max_x = crosses ? 180.0 : std::max(area.max_x, box->max_x);
    area.min_y = std::min(area.min_y, box->min_y);
    area.max_y = std::max(area.max_y, box->max_y);
  }
  return area;
}

// AreaBuildOptions are the options of the restricted build: the pyramid's tiling and
// encoding, every source, the area.
absl::StatusOr<BuildOptions> AreaBuildOptions(const BuildOptions& options,
                                              const PyramidMetadata& metadata,
                                              const std::vector<SourceFile>& sources,
                                              const BuildArea& area) {
  BuildOptions build = options;
  build.inputs.clear();
  for (const SourceFile& source : sources) build.inputs.push_back(source.path());
  build.output = internal::UpdateTilesName(options.output);
  build.area = area;
  build.overwrite = false;
  absl::StatusOr<TileMatrixSetId> tms = ParseTileMatrixSetId(metadata.tile_matrix_set());
  if (!tms.ok()) return tms.status();
  build.tile_matrix_set = *tms;
  build.tile_size = static_cast<int>(metadata.tile_size());
  build.min_zoom = static_cast<int>(metadata.min_zoom());
  build.max_zoom = static_cast<int>(metadata.max_zoom());
  absl::StatusOr<TileCodec> codec = ParseTileCodec(metadata.codec());
  if (!codec.ok()) return codec.status();
  build.codec = *codec;
  if (metadata.quality() != 0) build.quality = static_cast<int>(metadata.quality());
  absl::StatusOr<Resampling> resampling = ParseResampling(metadata.resampling());
  if (!resampling.ok()) return resampling.status();
  build.resampling = *resampling;
  absl::StatusOr<Resampling> overview = ParseResampling(metadata.overview_resampling());
  if (!overview.ok()) return overview.status();
  build.overview_resampling = *overview;
  return build;
}

// CheckSameTiles refuses a restricted build whose tiles are not of the pyramid's kind.
absl::Status CheckSameTiles(const PyramidMetadata& pyramid, const PyramidMetadata& area) {
  const auto differ = [](absl::string_view field, const std::string& a, const std::string& b) {
    return absl::FailedPreconditionError(
        absl::StrCat("the sources give tiles of ", field, " ", b, ", the pyramid has ", a,
                     ": give the new inputs the pyramid's bands (BuildOptions::bands, ::nodata)"));
  };
  if (pyramid.pixel_type() != area.pixel_type()) {
    return differ("pixel type", PixelType_Name(pyramid.pixel_type()),
                  PixelType_Name(area.pixel_type()));
  }
  if (pyramid.band_count() != area.band_count() || pyramid.has_alpha() != area.has_alpha()) {
    return differ("band count (alpha included)", absl::StrCat(pyramid.band_count()),
                  absl::StrCat(area.band_count()));
  }
  if (pyramid.has_nodata() != area.has_nodata() ||
      (pyramid.has_nodata() && !(pyramid.nodata() == area.nodata()) &&
       !(std::isnan(pyramid.nodata()) && std::isnan(area.nodata())))) {
    return differ("nodata", pyramid.has_nodata() ? absl::StrCat(pyramid.nodata()) : "none",
                  area.has_nodata() ? absl::StrCat(area.nodata()) : "none");
  }
  return absl::OkStatus();
}

// UnionBounds grows `into` to hold `other`.
void UnionBounds(const Bounds& other, Bounds* into) {
  into->set_min_x(std::min(into->min_x(), other.min_x()));
  into->set_min_y(std::min(into->min_y(), other.min_y()));
  into->set_max_x(std::max(into->max_x(), other.max_x()));
  into->set_max_y(std::max(into->max_y(), other.max_y()));
}

// ReplacedRects lists, per zoom, the tiles the update replaces: those the restricted build
// stores at the unit zoom and finer, and their ancestors above it.
absl::StatusOr<std::vector<std::vector<geo::TileRect>>> ReplacedRects(
    const PyramidMetadata& metadata, const BuildArea& area, int unit_zoom) {
  absl::StatusOr<geo::TileMatrixSet> tms =
      geo::TileMatrixSet::FromName(metadata.tile_matrix_set(), metadata.tile_size());
  if (!tms.ok()) return tms.status();
  absl::StatusOr<std::vector<geo::Bounds>> parts = internal::AreaParts(area, *tms);
  if (!parts.ok()) return parts.status();
  const int max_zoom = static_cast<int>(metadata.max_zoom());
  std::vector<std::vector<geo::TileRect>> rects(max_zoom + 1);
  for (int z = max_zoom; z >= static_cast<int>(metadata.min_zoom()); --z) {
    if (z >= unit_zoom) {
      rects[z] = tms->CoveringTileRanges(*parts, z);
      continue;
    }
    for (const geo::TileRect& r : rects[z + 1]) {
      rects[z].push_back(geo::TileRect{r.min_x >> 1, r.min_y >> 1, r.max_x >> 1, r.max_y >> 1});
    }
  }
  return rects;
}

// SetCounts copies what the composition did into `result`.
void SetCounts(const internal::UpdateCounts& counts, UpdateResult* result) {
  result->tiles_copied = counts.tiles_copied;
  result->tiles_replaced = counts.tiles_replaced;
  result->tiles_written = counts.tiles_written;
  result->new_bytes = counts.new_bytes;
  result->dead_bytes = counts.dead_bytes;
}

// OpenInPlace opens the pyramid at options.output to change it in place, after closing `old`'s
// reader (its shared lock would refuse the writer). Null when another process has the file
// open for reading: `old` is then open again, and the update writes a copy, so that readers
// keep their consistent view.
absl::StatusOr<std::unique_ptr<storage::Writer>> OpenInPlace(const BuildOptions& options,
                                                             storage::Env* env,
                                                             OpenedPyramid* old) {
  old->store.reset();
  storage::WriterOptions writer_options;
  writer_options.env = env;
  writer_options.force_fallback = options.force_fallback;
  absl::StatusOr<std::unique_ptr<storage::Writer>> writer =
      storage::Writer::OpenForUpdate(options.output, writer_options);
  if (!absl::IsUnavailable(writer.status())) return writer;
  // A reader holds it (else a writer does, and opening it for reading fails the same way).
  absl::StatusOr<OpenedPyramid> again = OpenPyramid(options.output, env);
  if (!again.ok()) return again.status();
  *old = *std::move(again);
  return nullptr;
}

// ComposeCopy writes the updated pyramid at UpdateOutputName and renames it over the output.
absl::Status ComposeCopy(const BuildOptions& options, const internal::UpdateSources& update,
                         storage::Env* env, PyramidMetadata* m, UpdateResult* result) {
  const std::string temporary = internal::UpdateOutputName(options.output);
  storage::WriterOptions writer_options;
  writer_options.env = env;
  writer_options.overwrite = true;  // A composition a kill left: ours, started again.
  writer_options.force_fallback = options.force_fallback;
  absl::StatusOr<std::unique_ptr<storage::Writer>> writer =
      storage::Writer::Create(temporary, writer_options);
  if (!writer.ok()) return writer.status();
  absl::StatusOr<internal::UpdateCounts> counts = internal::ComposeUpdate(update, writer->get(), m);
  if (!counts.ok()) return counts.status();
  absl::Status status = CheckMetadata(*m);
  if (!status.ok()) return status;
  (*writer)->SetUserMetadata(kMetadataTypeName, internal::DeterministicBytes(*m));
  status = (*writer)->Seal();
  result->storage = (*writer)->stats();
  writer->reset();
  if (status.ok()) status = storage::CommitOutput(temporary, options.output, env);
  if (!status.ok()) return status;
  result->path = UpdatePath::kCopy;
  SetCounts(*counts, result);
  return absl::OkStatus();
}

// ComposeInPlace changes the pyramid's file itself (`pyramid`, from OpenForUpdate): one
// commit switches every level to its new index at once; Seal then removes the old indexes.
absl::Status ComposeInPlace(const internal::UpdateSources& update, storage::Writer* pyramid,
                            PyramidMetadata* m, UpdateResult* result) {
  absl::StatusOr<internal::UpdateCounts> counts = internal::ComposeInPlace(update, pyramid, m);
  if (!counts.ok()) return counts.status();
  absl::Status status = CheckMetadata(*m);
  if (!status.ok()) return status;
  pyramid->SetUserMetadata(kMetadataTypeName, internal::DeterministicBytes(*m));
  status = pyramid->Seal();
  result->storage = pyramid->stats();
  if (!status.ok()) return status;
  result->path = UpdatePath::kInPlace;
  SetCounts(*counts, result);
  return absl::OkStatus();
}

// Compose writes the updated pyramid, in place or as a copy: the restricted build's tiles
// over `area` (nothing replaced without one: a compaction, always a copy).
absl::StatusOr<UpdateResult> Compose(const BuildOptions& options, const UpdateOptions& wanted,
                                     OpenedPyramid* old, std::vector<SourceFile> sources,
                                     const std::optional<BuildArea>& area, int unit_zoom) {
  storage::Env* env = options.env != nullptr ? options.env : storage::Env::Default();
  internal::UpdateSources update;
  update.old_store = old->store.get();
  update.old_metadata = old->metadata;
  absl::StatusOr<OpenedPyramid> tiles = absl::NotFoundError("no area");
  if (area.has_value()) {
    tiles = OpenPyramid(internal::UpdateTilesName(options.output), env);
    if (!tiles.ok()) return tiles.status();
    absl::Status status = CheckSameTiles(old->metadata, tiles->metadata);
    if (!status.ok()) return status;
    update.area_store = tiles->store.get();
    update.area_metadata = tiles->metadata;
    update.unit_zoom = unit_zoom;
    absl::StatusOr<std::vector<std::vector<geo::TileRect>>> rects =
        ReplacedRects(old->metadata, *area, unit_zoom);
    if (!rects.ok()) return rects.status();
    update.replaced = *std::move(rects);
  } else {  // Nothing replaced: every level is formed from nothing, above no unit.
    update.area_store = old->store.get();
    update.area_metadata = old->metadata;
    update.unit_zoom = static_cast<int>(old->metadata.max_zoom()) + 1;
    update.replaced.assign(old->metadata.max_zoom() + 1, {});
  }
  uint64_t live_bytes = 0;
  for (const Level& level : old->metadata.levels()) live_bytes += level.bytes();
  update.compact =
      wanted.compact || (wanted.auto_compact_dead_fraction < 1.0 &&
                         internal::DeadBytesAfter(update) >
                             wanted.auto_compact_dead_fraction * static_cast<double>(live_bytes));

  UpdateResult result;
  result.compacted = update.compact;
  result.metadata = old->metadata;
  PyramidMetadata& m = result.metadata;
  m.clear_sources();
  for (SourceFile& source : sources) *m.add_sources() = std::move(source);
  if (area.has_value()) m.set_update_count(m.update_count() + 1);
  if (area.has_value()) {
    UnionBounds(tiles->metadata.bounds(), m.mutable_bounds());
    UnionBounds(tiles->metadata.bounds_lonlat(), m.mutable_bounds_lonlat());
  }
  if (m.creation_options().count("input") != 0) {
    std::vector<std::string> paths;
    for (const SourceFile& source : m.sources()) paths.push_back(source.path());
    (*m.mutable_creation_options())["input"] = absl::StrJoin(paths, ",");
  }
  std::unique_ptr<storage::Writer> in_place;
  if (!update.compact) {
    absl::StatusOr<std::unique_ptr<storage::Writer>> opened = OpenInPlace(options, env, old);
    if (!opened.ok()) return opened.status();
    in_place = *std::move(opened);
    update.old_store = old->store.get();  // Null in place.
  }
  const absl::Status status = in_place != nullptr
                                  ? ComposeInPlace(update, in_place.get(), &m, &result)
                                  : ComposeCopy(options, update, env, &m, &result);
  if (!status.ok()) return status;
  return result;
}

// FinishInPlaceChange reopens the pyramid for an update in place and seals it: a tail copy
// that a kill stopped is finished, room an update left is removed (nothing if none). Done
// when a reader has the file open (the file reads as it is).
absl::Status FinishInPlaceChange(const BuildOptions& options, storage::Env* env) {
  storage::WriterOptions writer_options;
  writer_options.env = env;
  writer_options.force_fallback = options.force_fallback;
  absl::StatusOr<std::unique_ptr<storage::Writer>> writer =
      storage::Writer::OpenForUpdate(options.output, writer_options);
  if (absl::IsUnavailable(writer.status())) return absl::OkStatus();
  if (!writer.ok()) return writer.status();
  return (*writer)->Seal();
}

// RemoveWorkFiles removes the restricted build, its side files and a leftover copy, durably.
absl::Status RemoveWorkFiles(const std::string& output, storage::Env* env) {
  const std::string tiles = internal::UpdateTilesName(output);
  // A copy an earlier attempt left (an update in place does not rename it over the output).
  absl::Status status = env->RemoveFile(internal::UpdateOutputName(output));
  if (!status.ok() && !absl::IsNotFound(status)) return status;
  status = env->RemoveFile(tiles);
  if (!status.ok() && !absl::IsNotFound(status)) return status;
  status = internal::RemoveSideFiles(env, tiles);
  if (status.ok()) status = env->SyncDirectory(storage::ParentDirectory(output));
  return status;
}

}  // namespace

absl::StatusOr<UpdateResult> UpdatePyramid(const BuildOptions& options,
                                           const UpdateOptions& update) {
  if (options.shard.has_value()) {
    return absl::InvalidArgumentError("BuildOptions::shard: an update is not sharded");
  }
  if (options.inputs.empty() && !options.area.has_value() && !update.compact) {
    return absl::InvalidArgumentError(
        "BuildOptions::inputs: give the new inputs, or BuildOptions::area to render an area "
        "again from the recorded sources");
  }
  storage::Env* env = options.env != nullptr ? options.env : storage::Env::Default();
  absl::StatusOr<OpenedPyramid> old = OpenPyramid(options.output, env);
  if (absl::IsFailedPrecondition(old.status()) && options.resume) {
    // An update in place stopped inside a tail copy (a filesystem without INSERT_RANGE):
    // reopening it for the update finishes the move, and the file reads again.
    absl::Status status = FinishInPlaceChange(options, env);
    if (!status.ok()) return status;
    old = OpenPyramid(options.output, env);
  }
  if (!old.ok()) return old.status();
  absl::Status status = CheckPyramid(options.output, old->metadata);
  if (!status.ok()) return status;
  std::vector<std::string> recorded;
  for (const SourceFile& source : old->metadata.sources()) recorded.push_back(source.path());
  absl::StatusOr<std::vector<SourceFile>> stamps = internal::StampInputs(env, recorded);
  if (!stamps.ok()) return stamps.status();
  absl::StatusOr<std::vector<SourceFile>> new_stamps = internal::StampInputs(env, options.inputs);
  if (!new_stamps.ok()) return new_stamps.status();
  const std::vector<SourceFile> added = internal::RecordedSources(options.inputs, *new_stamps);
  const bool tiles_exist = env->FileExists(internal::UpdateTilesName(options.output));

  // Already done: the pyramid ends with these inputs as they are (a finished update whose
  // work files a kill left, or the same update run twice).
  const int n = old->metadata.sources_size();
  const int k = static_cast<int>(added.size());
  if (k > 0 && k <= n &&
      std::equal(added.begin(), added.end(), old->metadata.sources().begin() + (n - k),
                 SameStamp)) {
    if (tiles_exist && !options.resume) {
      return absl::FailedPreconditionError(absl::StrCat(
          "an update of ", options.output, " was interrupted (",
          internal::UpdateTilesName(options.output), " exists): finish it with resume"));
    }
    // An update in place that committed may not have removed the old indexes' room yet.
    old->store.reset();
    if (tiles_exist) status = FinishInPlaceChange(options, env);
    if (status.ok()) status = RemoveWorkFiles(options.output, env);
    if (!status.ok()) return status;
    UpdateResult result;
    result.metadata = old->metadata;
    result.resume_outcome = ResumeOutcome::kAlreadyFinished;
    return result;
  }
  if (!options.inputs.empty()) {
    status = CheckSources(old->metadata, *stamps);
    if (!status.ok()) return status;
  }
  if (tiles_exist && !options.resume) {
    return absl::FailedPreconditionError(absl::StrCat(
        "an update of ", options.output, " was interrupted (",
        internal::UpdateTilesName(options.output),
        " exists): run it again with resume (--resume) to finish it, or remove that file"));
  }
  if (options.inputs.empty() && !options.area.has_value()) {  // Only compacts.
    std::vector<SourceFile> same(old->metadata.sources().begin(), old->metadata.sources().end());
    absl::StatusOr<UpdateResult> result =
        Compose(options, update, &*old, std::move(same), std::nullopt, 0);
    if (result.ok()) result->resume_outcome = ResumeOutcome::kNotResumed;
    return result;
  }
  // The sources in mosaic order: a recorded one given again moves on top.
  std::vector<std::string> kept;
  for (const std::string& path : recorded) {
    if (std::none_of(added.begin(), added.end(),
                     [&](const SourceFile& s) { return s.path() == path; })) {
      kept.push_back(path);
    }
  }
  std::vector<SourceFile> sources = internal::RecordedSources(kept, *stamps);
  sources.insert(sources.end(), added.begin(), added.end());

  absl::StatusOr<BuildArea> area = options.area.has_value()
                                       ? absl::StatusOr<BuildArea>(*options.area)
                                       : NewInputsArea(options, old->metadata);
  if (!area.ok()) return area.status();
  absl::StatusOr<BuildOptions> build = AreaBuildOptions(options, old->metadata, sources, *area);
  if (!build.ok()) return build.status();
  build->resume = tiles_exist;
  absl::StatusOr<BuildResult> built = BuildPyramid(*build);
  if (!built.ok()) return built.status();
  absl::StatusOr<UpdateResult> result =
      Compose(options, update, &*old, sources, *area, built->unit_zoom);
  if (!result.ok()) return result.status();
  old->store.reset();
  status = RemoveWorkFiles(options.output, env);
  if (!status.ok()) return status;
  if (tiles_exist) result->resume_outcome = ResumeOutcome::kContinued;
  return result;
}

}  // namespace pyramid
}  // namespace flatpyramid
