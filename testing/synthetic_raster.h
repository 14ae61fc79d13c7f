// Synthetic georeferenced rasters through GDAL's MEM driver, for tests that need exact,
// known pixels (gradients, checkerboards) in a chosen CRS.
//
// Example:
//   SyntheticRasterSpec spec;
//   spec.width = 512; spec.height = 256; spec.bands = 3;
//   spec.srs = "EPSG:4326";
//   spec.geotransform = {-180, 360.0 / 512, 0, 90, 0, -180.0 / 256};
//   absl::StatusOr<GDALDatasetUniquePtr> ds = MakeSyntheticRaster(spec);
//   absl::Status s = WriteRaster(**ds, dir.Path("gradient.tif"));
#ifndef FLATPYRAMID_TESTING_SYNTHETIC_RASTER_H_
#define FLATPYRAMID_TESTING_SYNTHETIC_RASTER_H_

#include <array>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gdal_priv.h"

namespace flatpyramid {
namespace test {

enum class SyntheticPattern {
  kGradient,      // Band b at (col, row): (col * (b + 1) + row * 3) scaled into the type's range.
  kCheckerboard,  // 16 px squares of 0 and the type's "high" value (200 for bytes).
  kConstant,      // `constant` everywhere.
};

struct SyntheticRasterSpec {
  int width = 256;
  int height = 256;
  int bands = 1;
  GDALDataType type = GDT_Byte;
  std::string srs =
      "EPSG:4326";  // Anything OGRSpatialReference::SetFromUserInput takes; "" for none.
  std::array<double, 6> geotransform = {0, 1, 0, 0, 0, -1};
  SyntheticPattern pattern = SyntheticPattern::kGradient;
  double constant = 0;
  std::optional<double> nodata;  // Set on every band when present.
};

// MakeSyntheticRaster returns an in-memory dataset filled with `spec.pattern`.
absl::StatusOr<GDALDatasetUniquePtr> MakeSyntheticRaster(const SyntheticRasterSpec& spec);

// SyntheticValue is the pattern's value at (col, row) of 0-based band `band`.
double SyntheticValue(const SyntheticRasterSpec& spec, int band, int col, int row);

// WriteRaster copies `dataset` to `path` with the driver named `driver` (GeoTIFF by default).
absl::Status WriteRaster(GDALDataset& dataset, const std::string& path,
                         const std::string& driver = "GTiff");

}  // namespace test
}  // namespace flatpyramid

#endif  // FLATPYRAMID_TESTING_SYNTHETIC_RASTER_H_
