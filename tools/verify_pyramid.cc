// verify_pyramid FILE: checks a flatpyramid file end to end: the storage structure and
// checksums, the pyramid metadata against the stored levels, and that every tile decodes to
// the declared size, pixel type and bands. Prints one "OK" line and exits 0 when everything
// holds; otherwise prints the faults on one line and exits 1.
#include <cstdio>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gflags/gflags.h"
#include "pyramid/reader.h"
#include "storage/store.h"
#include "tools/internal/cli.h"

DEFINE_bool(allow_being_written, false,
            "Check the last commit point of a build that was stopped or killed before it "
            "finished, instead of refusing it (checksums exist only once a file is sealed). A "
            "build still running is refused even so: its tiles move as it writes.");

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "Checks a flatpyramid file: structure, checksums, metadata and that every tile decodes.\n"
      "  verify_pyramid FILE.fpyr [--allow_being_written]\n"
      "Exit code 0 when the file is sound, 1 with the faults on stderr otherwise.");
  flatpyramid::tools::ParseFlags("verify_pyramid", &argc, &argv);
  if (argc != 2) {
    return flatpyramid::tools::UsageError("verify_pyramid",
                                          "give exactly one argument: the pyramid FILE");
  }
  const std::string path = flatpyramid::tools::ResolvePath(argv[1]);
  flatpyramid::pyramid::ReaderOptions options;
  options.allow_being_written = FLAGS_allow_being_written;
  options.private_cache_bytes = 0;  // Every tile is decoded once: caching would only cost.
  absl::StatusOr<std::unique_ptr<flatpyramid::pyramid::Reader>> reader =
      flatpyramid::pyramid::Reader::Open(path, options);
  if (!reader.ok()) return flatpyramid::tools::Fail("verify_pyramid", reader.status());
  const std::optional<flatpyramid::pyramid::BuildInProgress>& build =
      (*reader)->build_in_progress();
  if (build.has_value() && build->writer_active) {
    return flatpyramid::tools::Fail(
        "verify_pyramid",
        absl::FailedPreconditionError(absl::StrCat(
            path, ": an unfinished build (", flatpyramid::pyramid::BuildProgressText(*build),
            "): its tiles move while it is written; verify it once build_pyramid has finished "
            "or been stopped")));
  }
  if (absl::Status s = (*reader)->Verify(); !s.ok()) {
    return flatpyramid::tools::Fail("verify_pyramid", s);
  }
  uint64_t tiles = 0;
  for (const flatpyramid::pyramid::Level& level : (*reader)->metadata().levels()) {
    tiles += level.tile_count();
  }
  const std::string line = absl::StrCat(
      "OK: ", path, ": ",
      build.has_value() ? absl::StrCat("last commit point of an unfinished build (",
                                       flatpyramid::pyramid::BuildProgressText(*build), "): ")
                        : std::string(),
      (*reader)->metadata().levels_size(), " levels (zoom ", (*reader)->min_zoom(), "..",
      (*reader)->max_zoom(), "), ", tiles, " tiles decoded, checksums ",
      (*reader)->storage().sealed() ? "verified" : "not present (unsealed)", "\n");
  std::fputs(line.c_str(), stdout);
  return 0;
}
