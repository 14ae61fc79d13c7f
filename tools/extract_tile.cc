// extract_tile FILE Z X Y --output=PATH: writes the stored bytes of one tile (PNG, JPEG, WebP
// or flatpyramid elevation, as stored) to PATH, or to stdout with --output=-.
#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "codec/codec.h"
#include "gflags/gflags.h"
#include "pyramid/reader.h"
#include "storage/output_file.h"
#include "tools/internal/cli.h"

DEFINE_string(output, "",
              "Where to write the tile's bytes: a file path (relative to the directory bazel run "
              "was started from), or - for stdout. Required.");
DEFINE_bool(overwrite, false, "Replace --output if it exists.");
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
  int64_t numbers[3] = {0, 0, 0};
  const char* const names[3] = {"Z", "X", "Y"};
  for (int i = 0; i < 3; ++i) {
    if (!absl::SimpleAtoi(argv[2 + i], &numbers[i])) {
      return flatpyramid::tools::UsageError(
          kTool, absl::StrCat("Z X Y must be non-negative integers, got \"", argv[2], " ", argv[3],
                              " ", argv[4], "\""));
    }
    const int64_t limit = i == 0 ? 30 : 0xffffffffLL;
    if (numbers[i] < 0 || numbers[i] > limit) {
      return flatpyramid::tools::UsageError(
          kTool, absl::StrCat(names[i], " must be ", numbers[i] < 0 ? ">= 0" : "<= ",
                              numbers[i] < 0 ? "" : absl::StrCat(limit), ", got ", numbers[i]));
    }
  }
  const int z = static_cast<int>(numbers[0]);
  const uint32_t x = static_cast<uint32_t>(numbers[1]);
  uint32_t y = static_cast<uint32_t>(numbers[2]);
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

  // A location outside the values (a damaged file) reads as no bytes; tiles are never empty.
  if (bytes->empty()) {
    return flatpyramid::tools::Fail(
        kTool, absl::DataLossError(absl::StrCat(
                   path, ": tile ", z, "/", x, "/", y,
                   " is corrupt (its stored location is outside the file's tile data); run "
                   "verify_pyramid, and rebuild the pyramid")));
  }
  const std::string output = flatpyramid::tools::ResolvePath(FLAGS_output);
  if (output == "-") {
    if (std::fwrite(bytes->data(), 1, bytes->size(), stdout) != bytes->size() ||
        std::fflush(stdout) != 0) {
      return flatpyramid::tools::Fail(
          kTool,
          absl::DataLossError(absl::StrCat("writing ", bytes->size(), " bytes to stdout failed")));
    }
  } else {
    flatpyramid::storage::OutputOptions output_options;
    output_options.overwrite = FLAGS_overwrite;
    output_options.inputs = {path};
    absl::Status written = flatpyramid::storage::WriteOutputFile(output, *bytes, output_options);
    if (absl::IsAlreadyExists(written)) {
      written =
          absl::AlreadyExistsError(absl::StrCat(output, " exists: remove it or pass --overwrite"));
    }
    if (!written.ok()) return flatpyramid::tools::Fail(kTool, written);
  }
  absl::StatusOr<flatpyramid::codec::CodecId> codec = flatpyramid::codec::DetectCodec(*bytes);
  const std::string note =
      absl::StrCat("tile ", z, "/", x, "/", y, ": ", bytes->size(), " bytes of ",
                   codec.ok() ? flatpyramid::codec::CodecName(*codec) : "unknown codec", " -> ",
                   output == "-" ? "stdout" : output, "\n");
  std::fputs(note.c_str(), stderr);
  return 0;
}
