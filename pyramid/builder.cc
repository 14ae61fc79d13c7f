#include "pyramid/builder.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "codec/image.h"
#include "cpl_conv.h"
#include "gdal_priv.h"
#include "pyramid/format.h"
#include "pyramid/internal/block_warper.h"
#include "pyramid/internal/build/build_area.h"
#include "pyramid/internal/build/build_errors.h"
#include "pyramid/internal/build/build_files.h"
#include "pyramid/internal/build/build_output.h"
#include "pyramid/internal/build/build_plan.h"
#include "pyramid/internal/build/committer.h"
#include "pyramid/internal/build/ordered_pool.h"
#include "pyramid/internal/build/resume.h"
#include "pyramid/internal/build/shard_plan.h"
#include "pyramid/internal/build/shard_roots.h"
#include "pyramid/internal/build/tile_spill.h"
#include "pyramid/internal/build/unit_renderer.h"
#include "pyramid/internal/unit_walker.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace {

using internal::BuildPlan;

// LevelCapacity is the room to reserve for level `z`'s section: its keys and locations for
// every tile of the base rectangle's shadow at z, and as many raw tiles' bytes, each capped at
// the store's default value room (holes until written; Seal trims what is left).
storage::SectionCapacity LevelCapacity(const BuildPlan& plan, int z) {
  const int shift = plan.max_zoom - z;
  const uint64_t tiles =
      (static_cast<uint64_t>(plan.base_max_x >> shift) - (plan.base_min_x >> shift) + 1) *
      ((plan.base_max_y >> shift) - (plan.base_min_y >> shift) + 1);
  const uint64_t raw_tile = static_cast<uint64_t>(plan.tile_size()) * plan.tile_size() *
                            plan.bands() * codec::BytesPerSample(plan.pixel_type());
  const uint64_t cap = storage::WriterOptions().initial_value_capacity;
  return {std::min(tiles * 8, cap), std::min(tiles * 16, cap), std::min(tiles * raw_tile, cap)};
}

// LevelSections finds or adds every level's section.
absl::StatusOr<std::vector<uint32_t>> LevelSections(const BuildPlan& plan, storage::Writer* writer,
                                                    bool resuming) {
  std::vector<uint32_t> sections(plan.max_zoom + 1, 0);
  for (int z = plan.min_zoom; z <= plan.max_zoom; ++z) {
    const std::string name = SectionName(z);
    std::optional<uint32_t> found = writer->FindSection(name);
    if (found.has_value()) {
      sections[z] = *found;
      continue;
    }
    absl::StatusOr<uint32_t> added = writer->AddSection(name, LevelCapacity(plan, z));
    if (!added.ok()) return internal::WriteFailed(added.status(), resuming);
    sections[z] = *added;
  }
  return sections;
}

// PrepareCommitter installs the spill of kernel overviews and a resumed build's state.
absl::Status PrepareCommitter(const BuildPlan& plan, internal::OpenedOutput* opened,
                              internal::Committer* committer) {
  const bool resuming = opened->resumed.has_value();
  if (plan.kernel_radius > 0 && plan.unit_zoom > plan.min_zoom) {
    const size_t pixels = static_cast<size_t>(plan.tile_size()) * plan.tile_size();
    absl::StatusOr<std::unique_ptr<internal::TileSpill>> spill = internal::TileSpill::Open(
        opened->env, internal::SpillFileName(opened->build_path, plan.unit_zoom),
        /*truncate=*/!resuming, plan.unit_min_x, plan.unit_min_y, plan.unit_max_x, plan.unit_max_y,
        pixels * plan.bands() * codec::BytesPerSample(plan.pixel_type()), pixels);
    if (!spill.ok()) return spill.status();
    committer->SetSpill(std::move(*spill));
  }
  if (!resuming) return absl::OkStatus();
  absl::Status status = committer->RestoreState(opened->resumed->state, opened->resumed->pending);
  if (!status.ok()) return status;
  committer->SetDedup(std::move(*opened->resumed->dedup));
  return absl::OkStatus();
}

// CreateRenderers gives each worker its own warper (GDAL handles are not thread-safe).
absl::StatusOr<std::vector<std::unique_ptr<internal::UnitRenderer>>> CreateRenderers(
    const BuildOptions& options, const BuildPlan& plan, int threads) {
  std::vector<std::unique_ptr<internal::UnitRenderer>> renderers;
  for (int t = 0; t < threads; ++t) {
    absl::StatusOr<std::unique_ptr<internal::BlockWarper>> warper = internal::BlockWarper::Create(
        *plan.source, plan.target_srs, plan.resampling, options.max_error_pixels);
    if (!warper.ok()) return warper.status();
    if (plan.source->center_longitude().has_value()) {
      double seam_lon = *plan.source->center_longitude() - 180.0;
      while (seam_lon < -180.0) seam_lon += 360.0;
      double seam_x, seam_y;
      plan.tms->LonLatToCrs(seam_lon, 0, &seam_x, &seam_y);
      (*warper)->set_seam_x(seam_x);
    }
    renderers.push_back(std::make_unique<internal::UnitRenderer>(plan, std::move(*warper)));
  }
  return renderers;
}

// RunUnits renders units first_unit.. on `threads` workers and appends them in order,
// writing commit points on the way.
absl::Status RunUnits(const BuildOptions& options, const BuildPlan& plan, uint64_t first_unit,
                      std::vector<std::unique_ptr<internal::UnitRenderer>>* renderers,
                      internal::Committer* committer, internal::CommitPoints* commit_points,
                      BuildProgress* progress, absl::Time start) {
  first_unit = std::max(first_unit, plan.unit_begin);
  internal::UnitWalker units(plan.unit_rects);
  units.Skip(first_unit);
  const int threads = static_cast<int>(renderers->size());
  internal::OrderedPool<internal::UnitResult> pool(
      threads, 2 * threads + 1, first_unit, plan.unit_end,
      [&units] {
        uint64_t key = 0;
        units.Next(&key);
        return key;
      },
      [renderers](int worker, uint64_t key) {
        auto result = std::make_unique<internal::UnitResult>();
        result->key = key;
        (*renderers)[worker]->Render(key, result.get());
        return result;
      });
  absl::Time last_commit = absl::Now();
  for (uint64_t i = first_unit; i < plan.unit_end; ++i) {
    std::unique_ptr<internal::UnitResult> result = pool.Take(i);
    absl::Status status = result->status;
    if (!plan.area_tiles.empty()) internal::DropTilesOutsideArea(plan, result.get());
    if (status.ok()) status = committer->AppendUnit(result->key, result.get());
    if (!status.ok()) return status;
    const bool forced = options.commit_after_units != 0 && i + 1 == options.commit_after_units;
    if (forced || absl::Now() - last_commit >= options.commit_interval) {
      status = commit_points->Commit(plan.metadata, i + 1, *committer);
      last_commit = absl::Now();
      if (!status.ok()) return status;
    }
    progress->units_done = i + 1 - plan.unit_begin;
    progress->tiles_written = committer->tiles_written();
    progress->bytes_written = committer->bytes_written();
    progress->elapsed = absl::Now() - start;
    if (options.progress) options.progress(*progress);
    if (i + 1 < plan.unit_count && options.cancelled && options.cancelled()) {
      status = commit_points->Commit(plan.metadata, i + 1, *committer);
      if (!status.ok()) return status;
      return absl::CancelledError(absl::StrCat(options.output, ": build cancelled after ", i + 1,
                                               " of ", plan.unit_count,
                                               " blocks, at a commit point: build again with "
                                               "resume to continue"));
    }
  }
  return absl::OkStatus();
}

// FinishedResult is the result of a --resume that found the build finished: nothing to do
// but, for a temporary build, the rename.
absl::StatusOr<BuildResult> FinishedResult(const BuildPlan& plan, internal::OpenedOutput* opened) {
  absl::Status status = internal::FinishOutput(opened);
  if (!status.ok()) return status;
  BuildResult result;
  result.metadata = opened->final_metadata;
  for (const Level& level : result.metadata.levels()) result.tiles_written += level.tile_count();
  result.units = plan.unit_end - plan.unit_begin;
  result.unit_zoom = plan.unit_zoom;
  result.resume_outcome = opened->outcome;
  return result;
}

// Seal stores the final metadata and seals, then moves the pyramid into place.
absl::Status Seal(const PyramidMetadata& metadata, bool resumable, internal::OpenedOutput* opened) {
  // Only Seal writes the final PyramidMetadata, so an unfinished file is never a pyramid.
  opened->writer->SetUserMetadata(kMetadataTypeName, internal::DeterministicBytes(metadata));
  absl::Status status = opened->writer->Seal();
  if (!status.ok()) return internal::WriteFailed(status, resumable);
  return internal::FinishOutput(opened);
}

}  // namespace

// A build: ResolvePlan cuts the tiles covering the source into units (build_plan.h); a pool
// of workers, each with its own GDAL handle, renders units into encoded tiles of every level
// they hold (unit_renderer.h) with no lock held; one committer appends them in Morton order
// through a bounded reorder buffer (ordered_pool.h), so every level's section grows with
// strictly increasing keys, forms the levels above the units and deduplicates small tiles
// (committer.h), and writes commit points (resume.h). Memory is bounded by (threads + reorder
// window) units, three raw tiles per level, the deduplication tables and GDAL's block cache,
// set to what the workers read again (GdalCacheBudget). Only Seal writes the final
// PyramidMetadata, so an unfinished file is never a valid pyramid.
absl::StatusOr<BuildResult> BuildPyramid(const BuildOptions& options) {
  const absl::Time start = absl::Now();
  BuildPlan plan;
  absl::Status status = internal::ResolvePlan(options, &plan);
  if (status.ok()) status = internal::RestrictToArea(options, &plan);
  if (status.ok()) status = internal::ApplyShard(options, &plan);
  if (!status.ok()) return status;
  absl::StatusOr<internal::OpenedOutput> opened = internal::OpenOutput(options, &plan);
  if (!opened.ok()) return opened.status();
  if (opened->outcome == ResumeOutcome::kAlreadyFinished) return FinishedResult(plan, &*opened);
  if (opened->outcome == ResumeOutcome::kSealedOnly) {
    status = Seal(opened->final_metadata, /*resumable=*/true, &*opened);
    if (!status.ok()) return status;
    return FinishedResult(plan, &*opened);
  }
  storage::Writer* writer = opened->writer.get();
  const bool resuming = opened->resumed.has_value();
  absl::StatusOr<std::vector<uint32_t>> sections = LevelSections(plan, writer, resuming);
  if (!sections.ok()) return sections.status();
  internal::Committer committer(plan, writer, *sections);
  status = PrepareCommitter(plan, &*opened, &committer);
  if (!status.ok()) return status;

  int threads =
      std::min(MaxBuildThreads(),
               options.threads.value_or(static_cast<int>(std::thread::hardware_concurrency())));
  threads = static_cast<int>(
      std::max<uint64_t>(1, std::min<uint64_t>(threads, plan.unit_end - plan.unit_begin)));
  auto renderers = CreateRenderers(options, plan, threads);
  if (!renderers.ok()) return renderers.status();
  // GDAL's block cache for this build, unless the user chose one (GDAL_CACHEMAX).
  std::optional<int64_t> previous_cache;
  if (options.set_gdal_cache && CPLGetConfigOption("GDAL_CACHEMAX", nullptr) == nullptr) {
    previous_cache = GDALGetCacheMax64();
    GDALSetCacheMax64(internal::GdalCacheBudget(plan, threads));
  }
  auto restore_cache = absl::MakeCleanup([&] {
    if (previous_cache.has_value()) GDALSetCacheMax64(*previous_cache);
  });

  internal::CommitPoints commit_points(opened->env, opened->build_path, writer, plan.unit_count,
                                       resuming ? opened->first_unit : 0, opened->inputs);
  BuildProgress progress;
  progress.units_total = plan.unit_end - plan.unit_begin;
  status = RunUnits(options, plan, opened->first_unit, &*renderers, &committer, &commit_points,
                    &progress, start);
  if (!status.ok()) return status;
  status = committer.Finish(opened->env, opened->build_path);
  if (status.ok() && options.shard.has_value()) {
    status = internal::WriteShardRoots(committer.boundary_roots(), writer);
    if (!status.ok()) status = internal::WriteFailed(status, commit_points.any());
  }
  if (!status.ok()) return status;

  BuildResult result;
  result.metadata = plan.metadata;
  committer.FillLevels(&result.metadata);
  for (SourceFile& source : internal::RecordedSources(options.inputs, opened->inputs)) {
    *result.metadata.add_sources() = std::move(source);
  }
  // A failed Seal is always resumable: its first step commits the final metadata.
  status = Seal(result.metadata, /*resumable=*/true, &*opened);
  if (!status.ok()) return status;
  result.tiles_written = committer.tiles_written();
  result.unique_tiles = committer.unique_tiles();
  result.units = plan.unit_end - plan.unit_begin;
  result.unit_zoom = plan.unit_zoom;
  result.threads = threads;
  result.resume_outcome = opened->outcome;
  progress.finished = true;
  progress.units_done = plan.unit_end - plan.unit_begin;
  progress.tiles_written = result.tiles_written;
  progress.bytes_written = committer.bytes_written();
  progress.elapsed = absl::Now() - start;
  if (options.progress) options.progress(progress);
  return result;
}

}  // namespace pyramid
}  // namespace flatpyramid
