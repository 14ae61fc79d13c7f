#include "storage/output_file.h"

#include <ftw.h>
#include <limits.h>
#include <stdlib.h>

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace flatpyramid {
namespace storage {
namespace {

// CheckNotAnInput refuses `path` if it names the same file as one of `inputs`.
absl::Status CheckNotAnInput(const std::string& path, const std::string& output,
                             const OutputOptions& options, Env* env) {
  absl::StatusOr<FileInfo> info = env->Stat(path);
  if (!info.ok()) return absl::OkStatus();  // Nothing there: it cannot be an input.
  for (const std::string& input : options.inputs) {
    absl::StatusOr<FileInfo> other = env->Stat(input);
    if (other.ok() && other->device == info->device && other->inode == info->inode) {
      return absl::InvalidArgumentError(
          path == output ? absl::StrCat(output, ": is the input ", input,
                                        " (the same file); write the output to another path")
                         : absl::StrCat(output, ": its temporary file ", path, " is the input ",
                                        input, "; write the output to another path"));
    }
  }
  return absl::OkStatus();
}

// CheckNoInputInside refuses a directory `output` that holds one of the inputs: replacing it
// would delete the input.
absl::Status CheckNoInputInside(const std::string& output, const OutputOptions& options) {
  char resolved[PATH_MAX];
  if (realpath(output.c_str(), resolved) == nullptr) return absl::OkStatus();
  const std::string prefix = absl::StrCat(resolved, "/");
  for (const std::string& input : options.inputs) {
    char resolved_input[PATH_MAX];
    if (realpath(input.c_str(), resolved_input) != nullptr &&
        absl::StartsWith(resolved_input, prefix)) {
      return absl::InvalidArgumentError(
          absl::StrCat(output, ": the directory holds the input ", input,
                       "; replacing it would delete the input: write the output to another path"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string TemporaryPath(const std::string& output) { return output + ".partial"; }

absl::Status CheckOutput(const std::string& output, const OutputOptions& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  if (output.empty()) return absl::InvalidArgumentError("the output path is empty");
  for (const std::string& path : {output, TemporaryPath(output)}) {
    absl::Status status = CheckNotAnInput(path, output, options, env);
    if (!status.ok()) return status;
  }
  const std::string dir = ParentDirectory(output);
  absl::StatusOr<FileInfo> parent = env->Stat(dir);
  if (!parent.ok() || !parent->directory) {
    return absl::InvalidArgumentError(
        absl::StrCat(output, ": the directory ", dir, " does not exist; create it first"));
  }
  absl::StatusOr<FileInfo> existing = env->Stat(output);
  if (!existing.ok()) return absl::OkStatus();
  if (options.directory) {
    if (!existing->directory) {
      return absl::InvalidArgumentError(
          absl::StrCat(output, ": is not a directory; give a directory path"));
    }
    if (absl::Status s = CheckNoInputInside(output, options); !s.ok()) return s;
  } else if (existing->directory) {
    return absl::InvalidArgumentError(
        absl::StrCat(output, ": is a directory; give a file path (inside it, for example)"));
  } else if (!existing->regular) {
    return absl::InvalidArgumentError(
        absl::StrCat(output,
                     ": is not a regular file (a device, FIFO or socket); give a file "
                     "path"));
  }
  if (!options.overwrite) {
    return absl::AlreadyExistsError(
        absl::StrCat(output, ": exists; set OutputOptions::overwrite to replace it"));
  }
  return absl::OkStatus();
}

absl::Status CommitOutput(const std::string& temporary, const std::string& output, Env* env) {
  if (env == nullptr) env = Env::Default();
  absl::StatusOr<FileInfo> info = env->Stat(temporary);
  if (!info.ok()) return info.status();
  if (info->directory) {
    absl::StatusOr<FileInfo> old = env->Stat(output);
    const std::string aside = TemporaryPath(TemporaryPath(output));
    if (old.ok()) {
      RemoveOutput(aside);  // A crashed commit's leftover.
      if (absl::Status s = env->RenameFile(output, aside); !s.ok()) return s;
    }
    absl::Status status = env->RenameFile(temporary, output);
    if (!status.ok()) {
      if (old.ok()) (void)env->RenameFile(aside, output);
      return status;
    }
    status = env->SyncDirectory(ParentDirectory(output));
    if (old.ok()) RemoveOutput(aside);
    return status;
  }
  {
    absl::StatusOr<std::unique_ptr<File>> file = env->Open(temporary, OpenMode::kReadWrite);
    if (!file.ok()) return file.status();
    absl::Status status = (*file)->SyncData();
    if (!status.ok()) return status;
  }
  absl::Status status = env->RenameFile(temporary, output);
  if (status.ok()) status = env->SyncDirectory(ParentDirectory(output));
  return status;
}

void RemoveOutput(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* name, const struct stat*, int, struct FTW*) {
        std::remove(name);
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS);
}

absl::Status WriteOutputFile(const std::string& output, absl::string_view bytes,
                             const OutputOptions& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  absl::Status status = CheckOutput(output, options);
  if (!status.ok()) return status;
  const std::string temporary = TemporaryPath(output);
  {
    absl::StatusOr<std::unique_ptr<File>> file = env->Open(temporary, OpenMode::kCreateOrOpen);
    if (!file.ok()) return file.status();
    status = (*file)->Truncate(0);
    if (status.ok()) status = (*file)->Write(0, bytes);
  }
  if (status.ok()) status = CommitOutput(temporary, output, env);
  if (!status.ok()) (void)env->RemoveFile(temporary);
  return status;
}

}  // namespace storage
}  // namespace flatpyramid
