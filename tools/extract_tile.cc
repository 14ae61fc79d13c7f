// extract_tile FILE Z X Y --output=PATH: writes the stored bytes of one tile (PNG, JPEG, WebP
// or flatpyramid elevation, as stored) to PATH, or to stdout with --output=-.
#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "codec/codec.h"
#include "gflags/gflags.h"
#include "pyramid/reader.h"
#include "tools/internal/cli.h"

DEFINE_string(output, "",
              "Where to write the tile's bytes: a file path (relative to the directory bazel run "
              "was started from), or - for stdout. Required.");
DEFINE_bool(tms, false,
            "Y is a TMS row (0 at the bottom, as in MBTiles) instead of an XYZ row (0 at the "
            "top).");

namespace {

constexpr char kTool[] = "extract_tile";

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "Writes the stored bytes of one tile of a flatpyramid file.\n"
      "  extract_tile FILE.fpyr Z X Y --output=tile.png   (or --output=- for stdout)\n"
      "Z is the zoom, X the column, Y the row (XYZ: row 0 at the top). The bytes are written "
      "as stored; the codec (png, jpeg, webp, elevation) is reported on stderr.");
  flatpyramid::tools::ParseFlags(kTool, &argc, &argv);
  if (argc != 5) {
    return flatpyramid::tools::UsageError(kTool, "give four arguments: FILE Z X Y");
  }
  int z = 0;
  uint32_t x = 0, y = 0;
  if (!absl::SimpleAtoi(argv[2], &z) || !absl::SimpleAtoi(argv[3], &x) ||
      !absl::SimpleAtoi(argv[4], &y)) {
    return flatpyramid::tools::UsageError(
        kTool, absl::StrCat("Z X Y must be non-negative integers, got \"", argv[2], " ", argv[3],
                            " ", argv[4], "\""));
  }
  if (FLAGS_output.empty()) {
    return flatpyramid::tools::UsageError(kTool, "no --output: give --output=PATH or --output=-");
  }
  const std::string path = flatpyramid::tools::ResolvePath(argv[1]);
  flatpyramid::pyramid::ReaderOptions options;
  options.private_cache_bytes = 0;
  absl::StatusOr<std::unique_ptr<flatpyramid::pyramid::Reader>> reader =
      flatpyramid::pyramid::Reader::Open(path, options);
  if (!reader.ok()) return flatpyramid::tools::Fail(kTool, reader.status());
  if (FLAGS_tms) {
    const uint32_t rows = (*reader)->tile_matrix_set().MatrixHeight(z);
    if (y >= rows) {
      return flatpyramid::tools::Fail(
          kTool, absl::OutOfRangeError(
                     absl::StrCat("TMS row ", y, " is outside 0..", rows - 1, " at zoom ", z)));
    }
    y = flatpyramid::geo::TmsRow(z, y, (*reader)->tile_matrix_set());
  }
  absl::StatusOr<absl::string_view> bytes = (*reader)->GetTileBytes(z, x, y);
  if (!bytes.ok()) return flatpyramid::tools::Fail(kTool, bytes.status());

  const std::string output = flatpyramid::tools::ResolvePath(FLAGS_output);
  FILE* file = output == "-" ? stdout : std::fopen(output.c_str(), "wb");
  if (file == nullptr) {
    return flatpyramid::tools::Fail(
        kTool, absl::PermissionDeniedError(absl::StrCat(
                   "cannot create ", output, ": check the directory exists and is writable")));
  }
  const bool written = std::fwrite(bytes->data(), 1, bytes->size(), file) == bytes->size();
  const bool closed = output == "-" ? std::fflush(file) == 0 : std::fclose(file) == 0;
  if (!written || !closed) {
    return flatpyramid::tools::Fail(
        kTool, absl::DataLossError(absl::StrCat("writing ", bytes->size(), " bytes to ", output,
                                                " failed (disk full?)")));
  }
  absl::StatusOr<flatpyramid::codec::CodecId> codec = flatpyramid::codec::DetectCodec(*bytes);
  const std::string note =
      absl::StrCat("tile ", z, "/", x, "/", y, ": ", bytes->size(), " bytes of ",
                   codec.ok() ? flatpyramid::codec::CodecName(*codec) : "unknown codec", " -> ",
                   output == "-" ? "stdout" : output, "\n");
  std::fputs(note.c_str(), stderr);
  return 0;
}
