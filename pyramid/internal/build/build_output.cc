#include "pyramid/internal/build/build_output.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pyramid/internal/build/build_errors.h"
#include "pyramid/internal/build/build_files.h"
#include "storage/output_file.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

// CheckRules refuses an output that is an input, is not a file, or exists without
// overwrite or resume. Nothing is opened for writing.
absl::Status CheckRules(const BuildOptions& options, storage::Env* env) {
  storage::OutputOptions rules;
  rules.overwrite = options.overwrite || options.resume;
  rules.inputs = options.inputs;
  rules.env = env;
  absl::Status status = storage::CheckOutput(options.output, rules);
  if (absl::IsAlreadyExists(status)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "output ", options.output,
        " already exists: use BuildOptions::overwrite to replace it (or BuildOptions::resume to "
        "continue an interrupted build)"));
  }
  return status;
}

// CheckNotBeingBuilt refuses to replace an output that a build is still writing (it holds the
// exclusive lock; readers, with shared locks, keep their old file across the rename).
absl::Status CheckNotBeingBuilt(storage::Env* env, const std::string& output) {
  absl::StatusOr<std::unique_ptr<storage::File>> file =
      env->Open(output, storage::OpenMode::kReadOnly);
  if (!file.ok()) return absl::OkStatus();
  absl::Status status = (*file)->TryLock(storage::LockMode::kShared);
  if (absl::IsUnavailable(status)) return BeingWritten(output);
  return absl::OkStatus();
}

// Create creates a new store at opened->build_path and removes side files of earlier builds
// there (only now that the lock is ours).
absl::Status Create(const BuildOptions& options, bool overwrite, OpenedOutput* opened) {
  storage::WriterOptions writer_options;
  writer_options.overwrite = overwrite;
  writer_options.force_fallback = options.force_fallback;
  writer_options.env = opened->env;
  absl::StatusOr<std::unique_ptr<storage::Writer>> created =
      storage::Writer::Create(opened->build_path, writer_options);
  if (!created.ok()) {
    if (absl::IsUnavailable(created.status())) return InUse(opened->output, created.status());
    return WriteFailed(created.status(), false);
  }
  opened->writer = *std::move(created);
  return RemoveSideFiles(opened->env, opened->build_path);
}

// Resume goes on with the build at opened->build_path in whatever state it was left.
absl::Status Resume(const BuildOptions& options, BuildPlan* plan, OpenedOutput* opened) {
  storage::WriterOptions writer_options;
  writer_options.force_fallback = options.force_fallback;
  writer_options.env = opened->env;
  absl::StatusOr<ResumedBuild> resumed =
      ReopenForResume(opened->build_path, writer_options, opened->inputs, plan);
  if (!resumed.ok()) return resumed.status();
  opened->writer = std::move(resumed->writer);
  opened->final_metadata = resumed->final_metadata;
  switch (resumed->start) {
    case ResumeStart::kStartOver:
      opened->outcome = ResumeOutcome::kStartedOver;
      if (opened->writer == nullptr) return Create(options, /*overwrite=*/true, opened);
      return RemoveSideFiles(opened->env, opened->build_path);
    case ResumeStart::kContinue:
      opened->outcome = ResumeOutcome::kContinued;
      opened->first_unit = resumed->state.units_done();
      opened->resumed = *std::move(resumed);
      return absl::OkStatus();
    case ResumeStart::kSealOnly:
      opened->outcome = ResumeOutcome::kSealedOnly;
      return absl::OkStatus();
    case ResumeStart::kFinished:
      opened->outcome = ResumeOutcome::kAlreadyFinished;
      return absl::OkStatus();
  }
  return absl::InternalError("unknown resume state");
}

}  // namespace

absl::StatusOr<OpenedOutput> OpenOutput(const BuildOptions& options, BuildPlan* plan) {
  OpenedOutput opened;
  opened.env = options.env != nullptr ? options.env : storage::Env::Default();
  opened.output = options.output;
  opened.build_path = options.output;
  // The output's directory must exist and be writable (access(2): outside the Env seam, so
  // only for the real filesystem).
  absl::Status status = options.env == nullptr ? CheckOutputPath(options.output) : absl::OkStatus();
  if (status.ok()) status = CheckRules(options, opened.env);
  if (!status.ok()) return status;
  absl::StatusOr<std::vector<SourceFile>> inputs = StampInputs(opened.env, options.inputs);
  if (!inputs.ok()) return inputs.status();
  opened.inputs = *std::move(inputs);
  const std::string temporary = TemporaryOutputName(options.output);
  const bool output_exists = opened.env->FileExists(options.output);
  if (options.resume && (opened.env->FileExists(temporary) || output_exists)) {
    if (opened.env->FileExists(temporary)) opened.build_path = temporary;
    status = Resume(options, plan, &opened);
  } else if (output_exists) {
    status = CheckNotBeingBuilt(opened.env, options.output);
    opened.build_path = temporary;
    if (status.ok()) status = Create(options, /*overwrite=*/true, &opened);
  } else {
    status = Create(options, /*overwrite=*/false, &opened);
  }
  if (!status.ok()) return status;
  return opened;
}

absl::Status FinishOutput(OpenedOutput* opened) {
  absl::Status status = RemoveSideFiles(opened->env, opened->build_path);
  opened->writer.reset();
  if (status.ok() && opened->build_path != opened->output) {
    status = storage::CommitOutput(opened->build_path, opened->output, opened->env);
    if (status.ok()) opened->build_path = opened->output;
  }
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("the pyramid is complete in ", opened->build_path,
                                     " but could not be moved to ", opened->output, " (",
                                     status.message(), "): rerun with BuildOptions::resume"));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
