// The output rules every writer of a file follows (the tools, the pyramid builder, future
// exporters): never replace an existing file unless asked, never write onto one of the
// inputs, and never leave a half-written file under the output's name.
//
//   1. CheckOutput before anything is opened for writing: kAlreadyExists if the output exists
//      and overwriting was not asked for; kInvalidArgument if the output is (or resolves to,
//      through symbolic or hard links or "..") one of the inputs, is a directory, a FIFO or a
//      device, or its directory does not exist.
//   2. Write everything to TemporaryPath(output), next to the output (so that the rename is
//      atomic: same directory, same filesystem).
//   3. CommitOutput when complete: the temporary's data is synced, renamed over the output,
//      and the directory synced. Until then an old file at the output is untouched.
//
// Example:
//   OutputOptions options;
//   options.overwrite = overwrite_flag;
//   options.inputs = {pyramid_path};
//   absl::Status status = WriteOutputFile(tile_path, bytes, options);
//
// A directory output (OutputOptions::directory: a tree of tile files) follows the same rules:
// written whole under TemporaryPath, then CommitOutput moves an old directory aside, renames
// the new one into place and removes the old one; a directory holding one of the inputs is
// never replaced. RemoveOutput removes a failed writer's temporary file or tree.
//
// Caveats: a directory's files are not synced one by one by CommitOutput (only the renames
// are made durable): a writer of a tree that must survive a power loss syncs its files. Inputs
// that are not files (GDAL connection strings, /vsicurl/ URLs) cannot be
// compared and are skipped; a caller passes the files behind them. The checks and the rename
// are not atomic together: a file created at the output meanwhile by another program is
// replaced. Threading: the functions are thread-safe; two writers of one output race.
#ifndef FLATPYRAMID_STORAGE_OUTPUT_FILE_H_
#define FLATPYRAMID_STORAGE_OUTPUT_FILE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "storage/env.h"

namespace flatpyramid {
namespace storage {

// OutputOptions say what an output may replace.
struct OutputOptions {
  bool overwrite = false;           // Replace an existing output.
  std::vector<std::string> inputs;  // Files the output must never be.
  Env* env = nullptr;               // I/O seam; nullptr = Env::Default().
  // directory: the output is a directory tree; an existing directory is replaced (with
  // overwrite) unless it holds one of the inputs, an existing file is refused.
  bool directory = false;
};

// CheckOutput applies rule 1 above to `output` (and to its temporary path). Touches nothing.
absl::Status CheckOutput(const std::string& output, const OutputOptions& options);

// TemporaryPath returns "<output>.partial": where the output is written until it is complete.
std::string TemporaryPath(const std::string& output);

// CommitOutput makes the finished `temporary` durable and renames it over `output` (rule 3).
// A directory `temporary` replaces a directory at `output` (moved aside first, removed after).
// On error the temporary is left for the caller to remove (RemoveOutput).
absl::Status CommitOutput(const std::string& temporary, const std::string& output,
                          Env* env = nullptr);

// RemoveOutput deletes `path`, a file or a directory with everything under it: a failed or
// crashed writer's temporary output. Errors are ignored (it is cleanup); not through an Env
// (no crash point).
void RemoveOutput(const std::string& path);

// WriteOutputFile writes `bytes` to `output` following the three rules; on failure nothing is
// left behind and an old output is untouched.
absl::Status WriteOutputFile(const std::string& output, absl::string_view bytes,
                             const OutputOptions& options);

}  // namespace storage
}  // namespace flatpyramid

#endif  // FLATPYRAMID_STORAGE_OUTPUT_FILE_H_
