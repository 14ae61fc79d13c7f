#include "testing/synthetic_raster.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "ogr_spatialref.h"

namespace flatpyramid {
namespace test {

double SyntheticValue(const SyntheticRasterSpec& spec, int band, int col, int row) {
  const double high = spec.type == GDT_Byte ? 200.0 : 1000.0;
  switch (spec.pattern) {
    case SyntheticPattern::kConstant:
      return spec.constant;
    case SyntheticPattern::kCheckerboard:
      return ((col / 16 + row / 16) % 2 == 0) ? 0.0 : high;
    case SyntheticPattern::kGradient:
    default: {
      const int raw = col * (band + 1) + row * 3;
      return spec.type == GDT_Byte ? static_cast<double>(raw % 256) : static_cast<double>(raw);
    }
  }
}

absl::StatusOr<GDALDatasetUniquePtr> MakeSyntheticRaster(const SyntheticRasterSpec& spec) {
  GDALAllRegister();
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  if (mem == nullptr) return absl::InternalError("GDAL has no MEM driver");
  GDALDatasetUniquePtr ds(mem->Create("", spec.width, spec.height, spec.bands, spec.type, nullptr));
  if (ds == nullptr) {
    return absl::InternalError(absl::StrCat("MEM Create ", spec.width, "x", spec.height,
                                            " failed: ", CPLGetLastErrorMsg()));
  }
  std::array<double, 6> gt = spec.geotransform;
  ds->SetGeoTransform(gt.data());
  if (!spec.srs.empty()) {
    OGRSpatialReference srs;
    if (srs.SetFromUserInput(spec.srs.c_str()) != OGRERR_NONE) {
      return absl::InvalidArgumentError(absl::StrCat("unknown SRS '", spec.srs, "'"));
    }
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    ds->SetSpatialRef(&srs);
  }
  std::vector<double> row(spec.width);
  for (int b = 0; b < spec.bands; ++b) {
    GDALRasterBand* band = ds->GetRasterBand(b + 1);
    if (spec.nodata) band->SetNoDataValue(*spec.nodata);
    for (int y = 0; y < spec.height; ++y) {
      for (int x = 0; x < spec.width; ++x) row[x] = SyntheticValue(spec, b, x, y);
      if (band->RasterIO(GF_Write, 0, y, spec.width, 1, row.data(), spec.width, 1, GDT_Float64, 0,
                         0, nullptr) != CE_None) {
        return absl::InternalError(absl::StrCat("MEM write failed: ", CPLGetLastErrorMsg()));
      }
    }
  }
  return ds;
}

absl::Status WriteRaster(GDALDataset& dataset, const std::string& path, const std::string& driver) {
  GDALDriver* out = GetGDALDriverManager()->GetDriverByName(driver.c_str());
  if (out == nullptr) return absl::InvalidArgumentError(absl::StrCat("no GDAL driver ", driver));
  GDALDatasetUniquePtr copy(
      out->CreateCopy(path.c_str(), &dataset, /*bStrict=*/FALSE, nullptr, nullptr, nullptr));
  if (copy == nullptr) {
    return absl::InternalError(absl::StrCat("writing ", path, " failed: ", CPLGetLastErrorMsg()));
  }
  return absl::OkStatus();
}

}  // namespace test
}  // namespace flatpyramid
