// The request and result types of pyramid::Reader::ReadRegion and Sample (pyramid/reader.h),
// and the limits ReadRegion enforces.
#ifndef FLATPYRAMID_PYRAMID_REGION_H_
#define FLATPYRAMID_PYRAMID_REGION_H_

#include <array>
#include <cstdint>
#include <string>

#include "codec/image.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/resampling.h"

namespace flatpyramid {
namespace pyramid {

// kMaxRegionSide bounds RegionRequest::width and height.
inline constexpr int kMaxRegionSide = 16384;

// kMaxRegionMosaicPixels bounds the source mosaic one ReadRegion assembles: 16384 x 16384
// pixels (1 GiB of RGBA), what the largest output needs at its level's resolution;
// coarser-than-the-pyramid requests clamped to min_zoom can need more.
inline constexpr uint64_t kMaxRegionMosaicPixels = uint64_t{1} << 28;

// kMaxRegionDecodeThreads bounds the threads one ReadRegion decodes tiles with (the calling
// thread included); fewer on machines with fewer cores, one for a few tiles.
inline constexpr int kMaxRegionDecodeThreads = 8;

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
  // comment of pyramid/reader.h) applies: slower, for comparing the two.
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

}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_REGION_H_
