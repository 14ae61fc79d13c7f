// pyramid::Reader reads a flatpyramid file: its metadata, single tiles (as stored, or
// decoded through a shared TileCache), georeferenced windows in any CRS GDAL knows, and point
// samples of elevation data.
//
// The file format is pyramid/FORMAT.md (names in pyramid/format.h). Open maps the file
// read-only and checks the metadata against the storage sections before anything is read.
//
// Tiles come out normalised: whatever codec a tile was stored with (a "jpeg" pyramid mixes
// opaque JPEG tiles with PNG/WebP tiles that carry alpha), GetTile and ReadRegion return
// metadata().band_count() bands of metadata().pixel_type(); a stored tile without the alpha
// band gets an opaque one (255).
//
// ReadRegion works like a GDAL read of a dataset with overviews: it picks the zoom level
// whose resolution matches the requested one, decodes only the tiles that cover the window
// (plus a margin for the resampling kernel), mosaics them, fills tiles missing at that level
// from the nearest coarser level that has them (upsampled with the requested kernel by GDAL's
// warper, over the coarser tiles under the hole plus the kernel's reach; nearest, average and
// mode replicate pixels, which is what they do when upsampling), and warps the mosaic to the
// requested grid
// with GDAL's warper (exact reprojection, the usual resampling kernels). Many tiles to decode
// are decoded in parallel (up to one thread per core, at most kMaxDecodeThreads).
//
// Fast path: a request in the tile matrix set's own CRS (OGRSpatialReference::IsSame) maps
// to the level grid by a scale and an offset per axis, so no GDAL warp is needed: nearest is a
// gather of precomputed source columns per row, bilinear a separable two-tap blend. A nearest
// request on the level's pixel grid at its resolution (within 1e-6 px) copies the tiles
// straight into the output, with no mosaic. The fast path gives GDAL's pixels (nearest:
// identical; bilinear: within one grey level) and is taken for:
//   - nearest, except pyramids with both alpha and nodata, or a non-uint8 alpha band;
//   - bilinear when every source pixel it reads holds data (no transparency, no nodata value,
//     no missing tile, not float32) and the output is at most 1/0.95 times coarser than the
//     level (GDAL's four-sample formula).
// Everything else (cubic, cubicspline, lanczos, average, mode, other CRSs, bilinear next to
// missing data) goes through GDAL's warper.
//
// Thread safety: every const method may be called concurrently from any number of threads.
//
// Caveats:
//   - The file must not be modified in place while open (the builder writes a new file). An
//     unfinished build opens only with ReaderOptions::allow_being_written; while its writer
//     runs, the writer moves bytes under the map as sections grow, so such a Reader is good
//     for metadata() and build_in_progress() (pyramid_info), not for reading tiles: stop the
//     build first (a killed build's last commit point reads like any pyramid).
//   - Only geographic request CRSs and the set's own CRS wrap around the antimeridian (see
//     RegionRequest::bbox); a window of a projected CRS that straddles it (a Pacific UTM zone)
//     maps to a box spanning the whole world's width in the set's CRS, and reads all of it.
//   - Closing a Reader erases its tiles from a shared cache, which scans the whole cache.
//
// Example:
//   absl::StatusOr<std::unique_ptr<flatpyramid::pyramid::Reader>> reader =
//       flatpyramid::pyramid::Reader::Open("landsat.fpyr");
//   if (!reader.ok()) return reader.status();
//   absl::StatusOr<absl::string_view> png = (*reader)->GetTileBytes(12, 1583, 2167);
//   RegionRequest request;
//   request.bbox = {-34.90, -8.05, -34.85, -8.00};  // lon/lat, EPSG:4326.
//   request.width = request.height = 512;
//   absl::StatusOr<Region> region = (*reader)->ReadRegion(request);
#ifndef FLATPYRAMID_PYRAMID_READER_H_
#define FLATPYRAMID_PYRAMID_READER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "codec/image.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/format.h"
#include "pyramid/metadata.pb.h"
#include "pyramid/resampling.h"
#include "pyramid/tile_cache.h"

class OGRSpatialReference;

namespace flatpyramid {
namespace storage {
class Reader;
}  // namespace storage

namespace pyramid {

// ReaderOptions configures Reader::Open.
struct ReaderOptions {
  // cache is shared by every Reader given the same pointer. nullptr: the Reader makes a
  // private cache of `private_cache_bytes`.
  std::shared_ptr<TileCache> cache;
  size_t private_cache_bytes = size_t{128} << 20;
  // allow_being_written opens a pyramid whose build has not finished, running or stopped:
  // the levels and tiles of its last commit point, with the metadata the build will seal
  // (its per-level counts so far); build_in_progress() says how far it got.
  bool allow_being_written = false;
};

// BuildInProgress is the last commit point of a pyramid whose build has not finished
// (Reader::build_in_progress).
struct BuildInProgress {
  uint64_t units_done = 0;   // Blocks of the base level (subtrees) committed, in Morton order.
  uint64_t units_total = 0;  // Blocks in the whole build.
  uint64_t tiles_written = 0;
  // writer_active: a writer held the file's lock at Open (the build was running; its file
  // changes under the map, see the caveats). False for a build that was stopped or killed.
  bool writer_active = false;
};

// BuildProgressText is "3 of 12 blocks committed, 140 tiles; build_pyramid is writing it
// now" (or "no build_pyramid is writing it"), for messages.
std::string BuildProgressText(const BuildInProgress& build);

// RegionRequest is a georeferenced output grid: `width` x `height` pixels covering `bbox`
// in the CRS `srs`, north up.
struct RegionRequest {
  // bbox is min_x, min_y, max_x, max_y in `srs`. For geographic CRSs the order is always
  // longitude, latitude (GDAL's traditional GIS order), whatever the CRS's official axis order.
  // In a geographic CRS, and in the set's own CRS, x wraps around the globe: min_x > max_x
  // crosses the antimeridian (170, -10, -170, 10 is 170..190), and a bbox reaching past
  // +-180 (at most 360 wide) reads the other side there. The result's geotransform starts at
  // min_x as given. The output columns on each side are rendered separately from mosaics that
  // wrap, so the pixels at the seam are resampled from both sides, as everywhere else.
  geo::Bounds bbox{0, 0, 0, 0};
  // srs is anything OGRSpatialReference::SetFromUserInput accepts ("EPSG:4326", WKT, PROJ).
  std::string srs = "EPSG:4326";
  int width = 0;
  int height = 0;
  Resampling resampling = Resampling::kBilinear;
  // zoom forces the level to read; -1 picks it from the requested resolution.
  int zoom = -1;
  // force_gdal_warp resamples with GDAL's warper even where the fast path (see the file
  // comment) applies: slower, for comparing the two.
  bool force_gdal_warp = false;
};

// Region is the result of ReadRegion.
struct Region {
  // image has the pyramid's bands and pixel type, interleaved. Where there is no data the
  // alpha band is 0 (pyramids with alpha), samples are the nodata value (pyramids with
  // nodata), or 0 otherwise.
  codec::Image image{0, 0, 1, codec::PixelType::kUint8};
  // geotransform maps pixel corners to `srs` coordinates, as GDALDataset::GetGeoTransform.
  std::array<double, 6> geotransform{0, 1, 0, 0, 0, -1};
  std::string srs_wkt;         // The request's CRS as WKT.
  int zoom = 0;                // The level the pixels came from.
  uint64_t tiles_decoded = 0;  // Tiles of `zoom` (or coarser) that were present and used.
  uint64_t tiles_from_coarser_levels = 0;  // Tiles missing at `zoom` filled from a coarser level.
};

// SampleMethod chooses how Sample interpolates between pixel centres.
enum class SampleMethod { kNearest, kBilinear };

// Reader is an open, read-only pyramid. It is move-free: hold it by unique_ptr.
class Reader {
 public:
  // Open maps `path` and checks it: a //storage file, user metadata of type
  // kMetadataTypeName that parses, a supported format_version, tile matrix set, tile size,
  // pixel type and band count, one section "z<zoom>" per listed level.
  // Errors name the file and the fault (NotFound, InvalidArgument, DataLoss), and say what
  // to do: Unavailable while a writer holds the file and FailedPrecondition for an
  // unfinished build that is not running, unless options.allow_being_written.
  static absl::StatusOr<std::unique_ptr<Reader>> Open(const std::string& path,
                                                      const ReaderOptions& options = {});
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const std::string& path() const { return path_; }
  const PyramidMetadata& metadata() const { return metadata_; }
  const geo::TileMatrixSet& tile_matrix_set() const { return tms_; }
  codec::PixelType pixel_type() const { return pixel_type_; }
  int band_count() const { return static_cast<int>(metadata_.band_count()); }
  int tile_size() const { return static_cast<int>(metadata_.tile_size()); }
  int min_zoom() const { return static_cast<int>(metadata_.min_zoom()); }
  int max_zoom() const { return static_cast<int>(metadata_.max_zoom()); }
  // storage gives access to the underlying store (section names, Verify, ...).
  const storage::Reader& storage() const { return *storage_; }
  const std::shared_ptr<TileCache>& cache() const { return cache_; }
  // build_in_progress is set when the file is an unfinished build (opened with
  // ReaderOptions::allow_being_written), nullopt for a finished pyramid.
  const std::optional<BuildInProgress>& build_in_progress() const { return build_in_progress_; }

  // FindLevel returns the metadata of level `zoom`, or nullptr when the pyramid has none.
  const Level* FindLevel(int zoom) const;

  // GetTileBytes returns the stored (encoded) bytes of tile z/x/y, zero-copy: the view points
  // into the file's memory map and stays valid as long as this Reader lives.
  // Returns NotFound when the tile holds no data (absent tiles are not stored) or the level
  // does not exist, OutOfRange when x or y is outside the tile matrix at z.
  absl::StatusOr<absl::string_view> GetTileBytes(int z, uint32_t x, uint32_t y) const;

  // GetTile returns tile z/x/y decoded and normalised (band_count() bands of pixel_type()),
  // from the cache or decoded and cached. Errors as GetTileBytes, plus DataLoss when the
  // stored bytes do not decode to the declared size, type and bands.
  absl::StatusOr<std::shared_ptr<const codec::Image>> GetTile(int z, uint32_t x, uint32_t y) const;

  // ReadRegion renders `request` (see the file comment). InvalidArgument for an empty or
  // inverted bbox (min_x > max_x is inverted only where x does not wrap), one wider than the
  // world, a size outside 1..16384, or an unknown CRS; ResourceExhausted when the
  // window would need a mosaic of more than kMaxMosaicPixels source pixels (ask for a smaller
  // window or force a coarser `zoom`).
  absl::StatusOr<Region> ReadRegion(const RegionRequest& request) const;

  // Verify checks the whole file, for verify_pyramid: the storage structure and checksums
  // (storage::Reader::Verify), every level's metadata (tile_count, unique_tile_count, bytes,
  // the tile range) against its keys and values, and that every tile decodes to the declared
  // size, pixel type and bands. Returns DataLoss listing the first faults, each naming the
  // level or tile.
  absl::Status Verify() const;

  // kMaxMosaicPixels bounds the source mosaic one ReadRegion assembles: 16384 x 16384
  // pixels (1 GiB of RGBA), what the largest output (16384 x 16384) needs at its level's
  // resolution; coarser-than-the-pyramid requests clamped to min_zoom can need more.
  static constexpr uint64_t kMaxMosaicPixels = uint64_t{1} << 28;

  // kMaxDecodeThreads bounds the threads one ReadRegion decodes tiles with (the calling
  // thread included); fewer on machines with fewer cores, one for a few tiles.
  static constexpr int kMaxDecodeThreads = 8;

  // Sample returns band `band` at longitude `lon`, latitude `lat` (degrees, WGS 84) from the
  // finest level holding data there, or nullopt where no level does (outside the data,
  // nodata, or transparent at every level). A level holds no data at the point when its tile
  // is missing or when the sample is nodata / transparent (kNearest: the pixel under the
  // point; kBilinear: all four surrounding pixel centres); the next coarser level is tried
  // then. kBilinear weighs the four surrounding pixel centres and ignores those without data
  // (renormalising the rest). InvalidArgument for a non-finite or out-of-range position or a
  // band outside 0..band_count()-1 (an alpha band cannot be sampled).
  absl::StatusOr<std::optional<double>> Sample(double lon, double lat,
                                               SampleMethod method = SampleMethod::kBilinear,
                                               int band = 0) const;

 private:
  Reader(std::string path, std::unique_ptr<storage::Reader> storage, PyramidMetadata metadata,
         geo::TileMatrixSet tms, std::shared_ptr<TileCache> cache);

  // FindTile returns the decoded tile, or nullptr when it is absent (not an error).
  absl::StatusOr<std::shared_ptr<const codec::Image>> FindTile(int z, uint32_t x, uint32_t y) const;
  // DecodeTile decodes and normalises stored bytes of tile z/x/y.
  absl::StatusOr<codec::Image> DecodeTile(int z, uint32_t x, uint32_t y,
                                          absl::string_view bytes) const;
  // DecodeTilePart is DecodeTile of the `out.width` x `out.height` pixels from column `col0`,
  // row `row0` of the tile into `out` (band_count() bands of pixel_type(), any row stride).
  // `*opaque` (if not null) is set when the tile was stored without its alpha band.
  absl::Status DecodeTilePart(int z, uint32_t x, uint32_t y, absl::string_view bytes, int col0,
                              int row0, const codec::MutableImageView& out, bool* opaque) const;
  // PlaceTiles writes the tiles of one ReadRegion plan (reader.cc) into its target: present
  // tiles decoded in parallel, missing ones from coarser levels.
  struct TilePlacement;
  absl::Status PlaceTiles(const TilePlacement& placement, Region* region, bool* any_data) const;
  // UpsampleAncestor fills `fill.area` (inside one missing tile of zoom fill.z) of
  // fill.target from level z - shift, upsampled by GDAL's warper with fill.fill_resampling;
  // `ancestor` looks up tiles of that level (nullptr: absent) by unwrapped column x (any
  // integer: the tile matrix repeats around the globe).
  using AncestorLookup = std::function<absl::StatusOr<std::shared_ptr<const codec::Image>>(
      int shift, int64_t x, uint32_t y)>;
  absl::Status UpsampleAncestor(const TilePlacement& fill, int shift,
                                const AncestorLookup& ancestor) const;
  // RenderRegion is ReadRegion of a request whose bbox lies within one copy of the world (x
  // is not wrapped here), with its CRS resolved (`out_srs` is unset for the set's own CRS).
  struct SrsEntry;
  absl::StatusOr<Region> RenderRegion(const RegionRequest& request, const SrsEntry& srs,
                                      const std::optional<OGRSpatialReference>& out_srs,
                                      const OGRSpatialReference& tms_srs) const;
  // SectionFor returns the storage section of level z, or -1.
  int64_t SectionFor(int z) const;
  // LevelForResolution picks the level to read for `resolution` (the set's CRS units per
  // output pixel): the coarsest present level at least as fine, else the finest present.
  int LevelForResolution(double resolution) const;

  std::string path_;
  std::unique_ptr<storage::Reader> storage_;
  PyramidMetadata metadata_;
  geo::TileMatrixSet tms_;
  codec::PixelType pixel_type_ = codec::PixelType::kUint8;
  std::shared_ptr<TileCache> cache_;
  uint64_t cache_id_ = 0;
  // sections_[z] is the storage section of level z, or -1; levels_[z] its metadata.
  std::vector<int64_t> sections_;
  std::vector<const Level*> levels_;
  std::string tms_srs_wkt_;  // The set's CRS, for GDAL.
  std::optional<BuildInProgress> build_in_progress_;
  // srs_cache_ remembers what ReadRegion learnt of recent request CRS strings (parsing one
  // costs more than a small region).
  struct SrsCache;
  std::unique_ptr<SrsCache> srs_cache_;
};

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_READER_H_
