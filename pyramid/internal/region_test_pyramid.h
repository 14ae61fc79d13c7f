// Internal to //pyramid and //tools tests (testonly): writes small pyramids straight through
// storage::Writer, codec::Encode and the PyramidMetadata proto, independent of the builder, so
// the reader is tested against files whose every tile is known.
//
// Every level is one gdalwarp of the source into the level's tile grid (the block of tiles
// covering the source), cut into tiles; tiles without data are left out, identical tiles are
// stored once.
//
// Example:
//   TestPyramidSpec spec;
//   spec.min_zoom = 10;
//   spec.max_zoom = 12;
//   absl::Status s = WriteTestPyramid(*landsat, spec, dir.Path("t.fpyr"));
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_REGION_TEST_PYRAMID_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_REGION_TEST_PYRAMID_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "codec/options.h"
#include "gdal_priv.h"
#include "pyramid/metadata.pb.h"
#include "storage/store.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

struct TestPyramidSpec {
  std::string tile_matrix_set = "WebMercatorQuad";
  int tile_size = 256;
  int min_zoom = 0;
  int max_zoom = 0;
  // codec: kJpeg is the builder's "mixed" mode (opaque tiles JPEG without alpha, partial
  // ones PNG with alpha); kPng, kWebp and kElevation store every tile with that codec.
  codec::CodecId codec = codec::CodecId::kPng;
  codec::EncodeOptions encode;
  // resampling is gdalwarp's -r for every level.
  std::string resampling = "bilinear";
  // add_alpha adds an alpha band (-dstalpha): the usual choice for uint8 imagery.
  bool add_alpha = true;
  // nodata is set on the warped levels (-dstnodata) and in the metadata (single band data).
  std::optional<double> nodata;
  // source_srs overrides the source's CRS (-s_srs) when not empty.
  std::string source_srs;
  // skip_tiles lists tiles (z, x, y) to leave out although they hold data.
  std::set<std::tuple<int, uint32_t, uint32_t>> skip_tiles;
  // replace_tiles stores these bytes instead of the encoded tile (corrupt-file tests); the
  // tile must hold data.
  std::vector<std::tuple<int, uint32_t, uint32_t, std::string>> replace_tiles;
  // unfinished_units (units_done, units_total), when set, leaves the file as an unfinished
  // build's commit point: every tile committed, a BuildState (the metadata and these counts)
  // as user metadata, not sealed.
  std::optional<std::pair<uint64_t, uint64_t>> unfinished_units;
};

// WriteTestPyramid writes a sealed pyramid of `source` to `path` (overwriting it) and
// returns the metadata it stored. With `keep_writer`, the storage writer is handed back
// open instead of closed (a build still running: it holds the file's lock).
absl::StatusOr<PyramidMetadata> WriteTestPyramid(
    GDALDataset& source, const TestPyramidSpec& spec, const std::string& path,
    std::unique_ptr<storage::Writer>* keep_writer = nullptr);

// WarpToGrid is gdalwarp of `source` into `width` x `height` pixels covering `bounds`
// (min_x, min_y, max_x, max_y in `srs`), interleaved, with `extra_args` appended to the
// command line ("-r", "cubic", "-dstalpha", ...). The GDAL oracle of the reader tests.
absl::StatusOr<std::vector<uint8_t>> WarpToGrid(GDALDataset& source, const std::string& srs,
                                                const double bounds[4], int width, int height,
                                                const std::vector<std::string>& extra_args,
                                                int* bands_out = nullptr);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_REGION_TEST_PYRAMID_H_
