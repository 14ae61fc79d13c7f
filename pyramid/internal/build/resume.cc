#include "pyramid/internal/build/resume.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "pyramid/format.h"
#include "pyramid/internal/build/build_errors.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

uint32_t Crc32(const std::string& bytes) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// WritePendingFile writes `bytes` durably (temporary file, fsync, rename).
absl::Status WritePendingFile(const std::string& path, const std::string& bytes) {
  const std::string temporary = path + ".tmp";
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot create ", temporary, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      close(fd);
      unlink(temporary.c_str());
      return absl::ResourceExhaustedError(
          absl::StrCat("writing ", temporary, " failed: ", std::strerror(error),
                       " (disk full?): free space and rerun with BuildOptions::resume"));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    unlink(temporary.c_str());
    return absl::ResourceExhaustedError(
        absl::StrCat("syncing ", path, " failed: ", std::strerror(error)));
  }
  return absl::OkStatus();
}

// ResumeFingerprint is what must match for --resume to continue a build.
std::string ResumeFingerprint(PyramidMetadata metadata) {
  metadata.clear_levels();
  metadata.clear_created_utc();
  metadata.clear_creation_options();
  metadata.clear_tool_version();
  return DeterministicBytes(metadata);
}

// ReopenLocked takes the output's lock first: while another build holds it, nothing of its
// state may be read or touched.
absl::StatusOr<std::unique_ptr<storage::Writer>> ReopenLocked(
    const std::string& output, const storage::WriterOptions& writer_options) {
  absl::StatusOr<std::unique_ptr<storage::Writer>> reopened =
      storage::Writer::OpenForAppend(output, writer_options);
  if (reopened.ok()) return reopened;
  if (absl::IsUnavailable(reopened.status())) return BeingWritten(output);
  if (absl::IsFailedPrecondition(reopened.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "BuildOptions::resume: ", output,
        " is already a finished pyramid: nothing to resume (use BuildOptions::overwrite "
        "to rebuild)"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "BuildOptions::resume: ", output, " cannot be read (", reopened.status().message(),
      "): rerun with BuildOptions::overwrite to start again"));
}

// ReadCommitPoint reads the last commit point's BuildState and the committed small tiles.
absl::Status ReadCommitPoint(const std::string& output, const BuildPlan& plan,
                             ResumedBuild* resumed) {
  storage::ReaderOptions reader_options;
  reader_options.allow_being_written = true;  // Ours: we hold its lock.
  absl::StatusOr<std::unique_ptr<storage::Reader>> existing =
      storage::Reader::Open(output, reader_options);
  if (!existing.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "BuildOptions::resume: ", output, " cannot be read (", existing.status().message(),
        "): rerun with BuildOptions::overwrite to start again"));
  }
  if ((*existing)->user_metadata_type() != kBuildStateTypeName ||
      !resumed->state.ParseFromString(std::string((*existing)->user_metadata()))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "BuildOptions::resume: ", output,
        " has no commit point of a pyramid build yet: rerun with BuildOptions::overwrite"));
  }
  std::vector<std::optional<uint32_t>> sections(plan.max_zoom + 1);
  for (int z = plan.min_zoom; z <= plan.max_zoom; ++z) {
    sections[z] = (*existing)->FindSection(SectionName(z));
  }
  resumed->dedup = std::make_unique<TileDedup>(plan.max_zoom);
  resumed->dedup->LoadCommitted(**existing, sections);
  return absl::OkStatus();
}

// ReadPendingFile reads and checks the side file of the commit point `state`.
absl::Status ReadPendingFile(const std::string& output, const BuildState& state,
                             PendingTiles* pending) {
  const std::string path = PendingFileName(output, state.units_done());
  std::string bytes;
  if (state.pending_bytes() > 0) {
    FILE* file = std::fopen(path.c_str(), "rb");
    if (file != nullptr) {
      bytes.resize(state.pending_bytes());
      bytes.resize(std::fread(bytes.data(), 1, bytes.size(), file));
      std::fclose(file);
    }
  }
  if (bytes.size() != state.pending_bytes() || Crc32(bytes) != state.pending_crc32() ||
      !pending->ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat(
        "BuildOptions::resume: the side file ", path,
        " of the last commit point is missing or damaged: rerun with BuildOptions::overwrite"));
  }
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

std::string PendingFileName(const std::string& output, uint64_t units_done) {
  return absl::StrCat(output, ".resume-", units_done);
}

void RemoveSideFiles(const std::string& output) {
  const size_t slash = output.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : output.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? output : output.substr(slash + 1);
  const std::string prefix = absl::StrCat(base, ".resume-");
  const std::string spill_prefix = absl::StrCat(base, ".spill-");
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return;
  while (struct dirent* entry = readdir(handle)) {
    const absl::string_view name(entry->d_name);
    if (name.substr(0, prefix.size()) == prefix ||
        name.substr(0, spill_prefix.size()) == spill_prefix) {
      unlink(absl::StrCat(dir, slash == std::string::npos ? "/" : "", entry->d_name).c_str());
    }
  }
  closedir(handle);
}

absl::StatusOr<ResumedBuild> ReopenForResume(const std::string& output,
                                             const storage::WriterOptions& writer_options,
                                             BuildPlan* plan) {
  ResumedBuild resumed;
  absl::StatusOr<std::unique_ptr<storage::Writer>> writer = ReopenLocked(output, writer_options);
  if (!writer.ok()) return writer.status();
  resumed.writer = std::move(*writer);
  absl::Status status = ReadCommitPoint(output, *plan, &resumed);
  if (!status.ok()) return status;
  status = ReadPendingFile(output, resumed.state, &resumed.pending);
  if (!status.ok()) return status;
  if (ResumeFingerprint(resumed.state.metadata()) != ResumeFingerprint(plan->metadata) ||
      resumed.state.units_total() != plan->unit_count) {
    return absl::FailedPreconditionError(
        absl::StrCat("BuildOptions::resume: ", output,
                     " was started with other inputs or options: rerun with the same flags, "
                     "or with BuildOptions::overwrite to start again"));
  }
  // The first run's metadata stands for the whole build: its creation time, creation
  // options and tool version (the rest is equal, as the fingerprint shows).
  plan->metadata = resumed.state.metadata();
  plan->metadata.clear_levels();
  return resumed;
}

absl::Status CommitPoints::Commit(const PyramidMetadata& metadata, uint64_t units_done,
                                  const Committer& committer) {
  BuildState state;
  PendingTiles pending;
  *state.mutable_metadata() = metadata;
  state.set_units_done(units_done);
  state.set_units_total(units_total_);
  committer.SaveState(&state, &pending);
  const std::string bytes = pending.SerializeAsString();
  state.set_pending_bytes(bytes.size());
  state.set_pending_crc32(Crc32(bytes));
  absl::Status s = WritePendingFile(PendingFileName(output_, units_done), bytes);
  if (!s.ok()) return s;
  if (committer.spill() != nullptr) {
    s = committer.spill()->Sync();
    if (!s.ok()) return s;
  }
  writer_->SetUserMetadata(kBuildStateTypeName, DeterministicBytes(state));
  s = writer_->Commit();
  if (!s.ok()) return WriteFailed(s, any());
  if (last_units_done_ != units_done) {
    unlink(PendingFileName(output_, last_units_done_).c_str());
  }
  last_units_done_ = units_done;
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
