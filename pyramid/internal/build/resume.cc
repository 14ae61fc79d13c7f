#include "pyramid/internal/build/resume.h"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "pyramid/format.h"
#include "pyramid/internal/build/build_errors.h"
#include "pyramid/internal/build/build_files.h"
#include "storage/internal/crc32c.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

using storage::internal::Crc32c;

constexpr uint64_t kStampBytes = 64 << 10;        // Bytes of each end of an input fingerprinted.
constexpr uint64_t kStoreHeaderBytes = 32 << 10;  // storage's two header slots.
constexpr char kStoreMagic[] = "FPYRSTOR";        // The first bytes of a storage header slot.

storage::Env* EnvOf(const storage::WriterOptions& options) {
  return options.env != nullptr ? options.env : storage::Env::Default();
}

// WriteFileDurably writes `bytes` to `path` through a temporary file, synced and renamed.
absl::Status WriteFileDurably(storage::Env* env, const std::string& path,
                              const std::string& bytes) {
  const std::string temporary = path + ".tmp";
  {
    absl::StatusOr<std::unique_ptr<storage::File>> file =
        env->Open(temporary, storage::OpenMode::kCreateOrOpen);
    if (!file.ok()) return file.status();
    absl::Status status = (*file)->Truncate(0);
    if (status.ok()) status = (*file)->Write(0, bytes);
    if (status.ok()) status = (*file)->SyncData();
    if (!status.ok()) return status;
  }
  absl::Status status = env->RenameFile(temporary, path);
  if (status.ok()) status = env->SyncDirectory(storage::ParentDirectory(path));
  return status;
}

absl::StatusOr<std::string> ReadFile(storage::Env* env, const std::string& path, uint64_t offset,
                                     uint64_t length) {
  absl::StatusOr<std::unique_ptr<storage::File>> file =
      env->Open(path, storage::OpenMode::kReadOnly);
  if (!file.ok()) return file.status();
  std::string bytes(length, '\0');
  absl::Status status = (*file)->Read(offset, length, bytes.data());
  if (!status.ok()) return status;
  return bytes;
}

// ResumeFingerprint is what must match for BuildOptions::resume to continue a build.
std::string ResumeFingerprint(PyramidMetadata metadata) {
  metadata.clear_levels();
  metadata.clear_created_utc();
  metadata.clear_creation_options();
  metadata.clear_tool_version();
  metadata.clear_sources();  // Stamped and checked on their own (CheckInputs).
  return DeterministicBytes(metadata);
}

absl::Status OtherBuild(const std::string& build_path) {
  return absl::FailedPreconditionError(
      absl::StrCat("BuildOptions::resume: ", build_path,
                   " was started with other inputs or options: rerun with the same flags, or "
                   "with BuildOptions::overwrite to start again"));
}

// CheckInputs refuses a resume whose input files changed since the build started.
absl::Status CheckInputs(const BuildState& state, const std::vector<SourceFile>& now) {
  for (const SourceFile& then : state.inputs()) {
    const auto same = std::find_if(now.begin(), now.end(),
                                   [&](const SourceFile& s) { return s.path() == then.path(); });
    if (same == now.end() || same->size() != then.size() ||
        same->modified_ns() != then.modified_ns() ||
        same->head_tail_crc32c() != then.head_tail_crc32c()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "BuildOptions::resume: the input ", then.path(),
          " changed since the build started (size, modification time or content): continuing "
          "would mix old and new pixels; rerun with BuildOptions::overwrite to start again"));
    }
  }
  return absl::OkStatus();
}

// LeftBeforeItsFirstHeader is true for a file that a build killed inside its very first
// header write left: at most the header slots, holding zeros or a torn start of the first.
absl::StatusOr<bool> LeftBeforeItsFirstHeader(storage::Env* env, const std::string& path) {
  absl::StatusOr<storage::FileInfo> info = env->Stat(path);
  if (!info.ok()) return info.status();
  if (info->size > kStoreHeaderBytes) return false;
  if (info->size == 0) return true;
  absl::StatusOr<std::string> start =
      ReadFile(env, path, 0, std::min<uint64_t>(info->size, sizeof(kStoreMagic) - 1));
  if (!start.ok()) return start.status();
  for (size_t i = 0; i < start->size(); ++i) {
    if ((*start)[i] != 0 && (*start)[i] != kStoreMagic[i]) return false;
  }
  return true;
}

// ReadCommitPoint reads the BuildState of the last commit point, its side file and the
// committed small tiles.
absl::Status ReadCommitPoint(storage::Env* env, const std::string& build_path,
                             const storage::Reader& existing, const BuildPlan& plan,
                             ResumedBuild* resumed) {
  if (!resumed->state.ParseFromString(std::string(existing.user_metadata()))) {
    return absl::FailedPreconditionError(
        absl::StrCat("BuildOptions::resume: the commit point of ", build_path,
                     " is damaged: rerun with BuildOptions::overwrite"));
  }
  const BuildState& state = resumed->state;
  absl::StatusOr<std::string> bytes =
      ReadFile(env, PendingFileName(build_path, state.units_done()), 0, state.pending_bytes());
  if (!bytes.ok() || Crc32c(*bytes) != state.pending_crc32c() ||
      !resumed->pending.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("BuildOptions::resume: the side file ",
                                            PendingFileName(build_path, state.units_done()),
                                            " of the last commit point is missing or damaged: "
                                            "rerun with BuildOptions::overwrite"));
  }
  std::vector<std::optional<uint32_t>> sections(plan.max_zoom + 1);
  for (int z = plan.min_zoom; z <= plan.max_zoom; ++z) {
    sections[z] = existing.FindSection(SectionName(z));
  }
  resumed->dedup = std::make_unique<TileDedup>(plan.max_zoom);
  resumed->dedup->LoadCommitted(existing, sections);
  return absl::OkStatus();
}

// ReadFinished checks a sealed file: the same build is finished, anything else is refused.
absl::StatusOr<ResumedBuild> ReadFinished(const std::string& build_path,
                                          const storage::WriterOptions& writer_options,
                                          const BuildPlan& plan) {
  storage::ReaderOptions reader_options;
  reader_options.env = writer_options.env;
  absl::StatusOr<std::unique_ptr<storage::Reader>> sealed =
      storage::Reader::Open(build_path, reader_options);
  ResumedBuild resumed;
  resumed.start = ResumeStart::kFinished;
  if (!sealed.ok() || (*sealed)->user_metadata_type() != kMetadataTypeName ||
      !resumed.final_metadata.ParseFromString(std::string((*sealed)->user_metadata()))) {
    return absl::FailedPreconditionError(
        absl::StrCat("BuildOptions::resume: ", build_path,
                     " is a finished file but not a pyramid: nothing to resume"));
  }
  if (ResumeFingerprint(resumed.final_metadata) != ResumeFingerprint(plan.metadata)) {
    return OtherBuild(build_path);
  }
  return resumed;
}

// ReadStopped reads the state of an unfinished build whose lock `resumed->writer` holds.
absl::Status ReadStopped(const std::string& build_path,
                         const storage::WriterOptions& writer_options,
                         const std::vector<SourceFile>& inputs, BuildPlan* plan,
                         ResumedBuild* resumed) {
  storage::ReaderOptions reader_options;
  reader_options.allow_being_written = true;  // Ours: we hold its lock.
  reader_options.env = writer_options.env;
  absl::StatusOr<std::unique_ptr<storage::Reader>> existing =
      storage::Reader::Open(build_path, reader_options);
  if (!existing.ok()) return existing.status();
  const absl::string_view type = (*existing)->user_metadata_type();
  if (type.empty()) {
    resumed->start = ResumeStart::kStartOver;
    return absl::OkStatus();
  }
  if (type == kMetadataTypeName) {
    resumed->start = ResumeStart::kSealOnly;
    if (!resumed->final_metadata.ParseFromString(std::string((*existing)->user_metadata()))) {
      return OtherBuild(build_path);
    }
    return ResumeFingerprint(resumed->final_metadata) == ResumeFingerprint(plan->metadata)
               ? absl::OkStatus()
               : OtherBuild(build_path);
  }
  if (type != kBuildStateTypeName) {
    return absl::FailedPreconditionError(absl::StrCat(
        "BuildOptions::resume: ", build_path, " is not a pyramid build (user metadata type '", type,
        "'): choose another BuildOptions::output"));
  }
  resumed->start = ResumeStart::kContinue;
  absl::Status status =
      ReadCommitPoint(EnvOf(writer_options), build_path, **existing, *plan, resumed);
  if (!status.ok()) return status;
  if (ResumeFingerprint(resumed->state.metadata()) != ResumeFingerprint(plan->metadata) ||
      resumed->state.units_total() != plan->unit_count) {
    return OtherBuild(build_path);
  }
  status = CheckInputs(resumed->state, inputs);
  if (!status.ok()) return status;
  // The first run's metadata stands for the whole build: its creation time, creation options
  // and tool version (the rest is equal, as the fingerprint shows).
  plan->metadata = resumed->state.metadata();
  plan->metadata.clear_levels();
  return absl::OkStatus();
}

}  // namespace

std::string DeterministicBytes(const google::protobuf::MessageLite& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

absl::StatusOr<std::vector<SourceFile>> StampInputs(storage::Env* env,
                                                    const std::vector<std::string>& inputs) {
  std::vector<SourceFile> stamps;
  for (const std::string& input : inputs) {
    absl::StatusOr<storage::FileInfo> info = env->Stat(input);
    if (!info.ok() || !info->regular) continue;  // A GDAL name that is not a file.
    SourceFile stamp;
    stamp.set_path(input);
    stamp.set_size(info->size);
    stamp.set_modified_ns(info->modified_ns);
    const uint64_t head = std::min(info->size, kStampBytes);
    const uint64_t tail_start = std::max(head, info->size - std::min(info->size, kStampBytes));
    absl::StatusOr<std::string> bytes = ReadFile(env, input, 0, head);
    if (bytes.ok() && tail_start < info->size) {
      absl::StatusOr<std::string> tail = ReadFile(env, input, tail_start, info->size - tail_start);
      if (!tail.ok()) return tail.status();
      bytes->append(*tail);
    }
    if (!bytes.ok()) return bytes.status();
    stamp.set_head_tail_crc32c(Crc32c(*bytes));
    stamps.push_back(std::move(stamp));
  }
  return stamps;
}

std::vector<SourceFile> RecordedSources(const std::vector<std::string>& inputs,
                                        const std::vector<SourceFile>& stamps) {
  std::vector<SourceFile> sources;
  for (const std::string& input : inputs) {
    SourceFile source;
    const auto stamp = std::find_if(stamps.begin(), stamps.end(),
                                    [&](const SourceFile& s) { return s.path() == input; });
    if (stamp != stamps.end()) source = *stamp;
    source.set_path(input);
    if (stamp != stamps.end() && !input.empty() && input[0] != '/') {
      char cwd[4096];
      if (getcwd(cwd, sizeof(cwd)) != nullptr) source.set_path(absl::StrCat(cwd, "/", input));
    }
    sources.push_back(std::move(source));
  }
  return sources;
}

absl::StatusOr<ResumedBuild> ReopenForResume(const std::string& build_path,
                                             const storage::WriterOptions& writer_options,
                                             const std::vector<SourceFile>& inputs,
                                             BuildPlan* plan) {
  ResumedBuild resumed;
  // The lock first: while another build holds it, nothing of its state may be read.
  absl::StatusOr<std::unique_ptr<storage::Writer>> writer =
      storage::Writer::OpenForAppend(build_path, writer_options);
  if (absl::IsUnavailable(writer.status())) return InUse(build_path, writer.status());
  if (absl::IsFailedPrecondition(writer.status())) {
    return ReadFinished(build_path, writer_options, *plan);  // Sealed.
  }
  if (!writer.ok()) {
    absl::StatusOr<bool> unstarted = LeftBeforeItsFirstHeader(EnvOf(writer_options), build_path);
    if (unstarted.ok() && *unstarted) return resumed;  // kStartOver, to be created again.
    return absl::FailedPreconditionError(absl::StrCat(
        "BuildOptions::resume: ", build_path, " cannot be read (", writer.status().message(),
        "): rerun with BuildOptions::overwrite to start again"));
  }
  resumed.writer = *std::move(writer);
  absl::Status status = ReadStopped(build_path, writer_options, inputs, plan, &resumed);
  if (!status.ok()) return status;
  return resumed;
}

absl::Status CommitPoints::Commit(const PyramidMetadata& metadata, uint64_t units_done,
                                  const Committer& committer) {
  BuildState state;
  PendingTiles pending;
  *state.mutable_metadata() = metadata;
  state.set_units_done(units_done);
  state.set_units_total(units_total_);
  for (const SourceFile& input : inputs_) *state.add_inputs() = input;
  committer.SaveState(&state, &pending);
  const std::string bytes = pending.SerializeAsString();
  state.set_pending_bytes(bytes.size());
  state.set_pending_crc32c(Crc32c(bytes));
  absl::Status s = WriteFileDurably(env_, PendingFileName(build_path_, units_done), bytes);
  if (!s.ok()) return WriteFailed(s, any());
  if (committer.spill() != nullptr) {
    s = committer.spill()->Sync();
    if (!s.ok()) return WriteFailed(s, any());
  }
  writer_->SetUserMetadata(kBuildStateTypeName, DeterministicBytes(state));
  s = writer_->Commit();
  if (!s.ok()) return WriteFailed(s, any());
  if (last_units_done_ != units_done) {
    // The previous point's side file; a crash before this leaves a stale one that the next
    // RemoveSideFiles takes.
    (void)env_->RemoveFile(PendingFileName(build_path_, last_units_done_));
  }
  last_units_done_ = units_done;
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
