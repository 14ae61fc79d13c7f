// merge_pyramids: joins the shards of a sharded build into one pyramid.
//
//   build_pyramid --shard=0/3 --output=s0.fpyr FLAGS ...   (and 1/3, 2/3, with the same FLAGS)
//   merge_pyramids --output=out.fpyr s0.fpyr s1.fpyr s2.fpyr
//
// The result holds, tile for tile, the bytes of one build with the same FLAGS. Relative paths
// resolve against BUILD_WORKING_DIRECTORY. Exit code 0 on success, 1 for bad input or output,
// 2 for a bad command line; errors are one line on stderr.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "pyramid/merger.h"
#include "tools/internal/cli.h"

DEFINE_string(output, "", "The merged pyramid to write (FILE.fpyr). Required.");
DEFINE_bool(overwrite, false, "Replace --output if it exists.");
DEFINE_bool(quiet, false, "No summary line on stderr.");

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "Joins the N shard files of a sharded build (build_pyramid --shard=i/N, same flags) "
      "into one pyramid equal, tile for tile, to a single build.\n"
      "  merge_pyramids --output=OUT.fpyr SHARD0.fpyr SHARD1.fpyr ... (any order)");
  flatpyramid::tools::ParseFlags("merge_pyramids", &argc, &argv);
  if (argc < 2) {
    return flatpyramid::tools::UsageError("merge_pyramids",
                                          "give the shard files as arguments (all N of them)");
  }
  if (FLAGS_output.empty()) {
    return flatpyramid::tools::UsageError("merge_pyramids", "no output: give --output=FILE.fpyr");
  }
  flatpyramid::pyramid::MergeOptions options;
  for (int i = 1; i < argc; ++i) {
    options.shards.push_back(flatpyramid::tools::ResolvePath(argv[i]));
  }
  options.output = flatpyramid::tools::ResolvePath(FLAGS_output);
  options.overwrite = FLAGS_overwrite;
  const absl::Time start = absl::Now();
  absl::StatusOr<flatpyramid::pyramid::MergeResult> result =
      flatpyramid::pyramid::MergePyramids(options);
  if (!result.ok()) return flatpyramid::tools::Fail("merge_pyramids", result.status());
  if (!FLAGS_quiet) {
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::fprintf(stderr,
                 "merged %zu shards into %s: %llu tiles copied, %llu formed across shard "
                 "boundaries, %.1f MB read, %.2f s\n",
                 options.shards.size(), options.output.c_str(),
                 static_cast<unsigned long long>(result->tiles_copied),
                 static_cast<unsigned long long>(result->tiles_formed), result->bytes_read / 1e6,
                 seconds);
  }
  return 0;
}
