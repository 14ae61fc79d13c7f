// Internal to //pyramid: warps an interleaved pixel buffer from one georeferenced grid to
// another with GDAL's warper, without copying either buffer (both are wrapped as MEM
// datasets over the caller's memory).
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_REGION_WARP_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_REGION_WARP_H_

#include <array>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "codec/image.h"
#include "gdalwarper.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// GeoGrid places a pixel buffer on the earth: GDAL's geotransform and the CRS as WKT
// (longitude/latitude order for geographic CRSs).
struct GeoGrid {
  std::array<double, 6> geotransform{0, 1, 0, 0, 0, -1};
  std::string srs_wkt;
};

// WarpSpec says how to interpret and resample the bands.
struct WarpSpec {
  GDALResampleAlg resampling = GRA_Bilinear;
  // source_alpha_band: 0-based interleaved band of `source` that is alpha (0 = no data),
  // or -1. Bands after it are not warped.
  int source_alpha_band = -1;
  // destination_alpha_band: 0-based band of `destination` that receives alpha, or -1.
  int destination_alpha_band = -1;
  // nodata applies to every colour band of both buffers; the destination starts as nodata
  // (or 0 without it) and pixels with no valid source stay so.
  std::optional<double> nodata;
  // color_bands is the number of leading bands warped as values.
  int color_bands = 1;
  // error_threshold is the approximate transformer's tolerance in pixels (gdalwarp's -et,
  // default 0.125); 0 transforms every pixel exactly.
  double error_threshold = 0.125;
};

// WarpRegion resamples `source` on `source_grid` into `destination` on `destination_grid`.
// REQUIRES: both views are valid and of the same pixel type.
absl::Status WarpRegion(const codec::ImageView& source, const GeoGrid& source_grid,
                        const codec::MutableImageView& destination, const GeoGrid& destination_grid,
                        const WarpSpec& spec);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_REGION_WARP_H_
