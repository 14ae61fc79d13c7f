#include "pyramid/internal/read/region_warp.h"

#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "gdal_priv.h"
#include "gdalwarper.h"
#include "geo/gdal_errors.h"
#include "ogr_spatialref.h"
#include "pyramid/gdal_types.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

using geo::QuietGdalErrors;

// WrapInMemDataset makes a MEM dataset whose bands point into `data` (interleaved).
absl::StatusOr<GDALDatasetUniquePtr> WrapInMemDataset(uint8_t* data, int width, int height,
                                                      int bands, codec::PixelType type,
                                                      size_t row_stride, const GeoGrid& grid,
                                                      const char* role) {
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("MEM");
  if (driver == nullptr) return absl::InternalError("GDAL has no MEM driver");
  const GDALDataType gdal_type = ToGdalType(type);
  GDALDatasetUniquePtr dataset(driver->Create("", width, height, 0, gdal_type, nullptr));
  if (dataset == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create the ", role, " MEM dataset"));
  }
  const size_t sample = codec::BytesPerSample(type);
  for (int band = 0; band < bands; ++band) {
    char pointer[64] = {};
    CPLPrintPointer(pointer, data + static_cast<size_t>(band) * sample, sizeof(pointer) - 1);
    char** options = nullptr;
    options = CSLSetNameValue(options, "DATAPOINTER", pointer);
    options = CSLSetNameValue(options, "PIXELOFFSET",
                              absl::StrCat(sample * static_cast<size_t>(bands)).c_str());
    options = CSLSetNameValue(options, "LINEOFFSET", absl::StrCat(row_stride).c_str());
    const CPLErr err = dataset->AddBand(gdal_type, options);
    CSLDestroy(options);
    if (err != CE_None) {
      return absl::InternalError(
          absl::StrCat("cannot wrap band ", band + 1, " of the ", role, " buffer as a MEM band"));
    }
  }
  std::array<double, 6> geotransform = grid.geotransform;
  dataset->SetGeoTransform(geotransform.data());
  OGRSpatialReference srs;
  if (srs.importFromWkt(grid.srs_wkt.c_str()) != OGRERR_NONE) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", role, " CRS is not valid WKT: ", grid.srs_wkt.substr(0, 80)));
  }
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  dataset->SetSpatialRef(&srs);
  return dataset;
}

}  // namespace

absl::Status WarpRegion(const codec::ImageView& source, const GeoGrid& source_grid,
                        const codec::MutableImageView& destination, const GeoGrid& destination_grid,
                        const WarpSpec& spec) {
  static std::once_flag registered;
  std::call_once(registered, [] { GDALAllRegister(); });
  if (absl::Status s = codec::ValidateView(source); !s.ok()) return s;
  if (absl::Status s = codec::ValidateView(destination.view()); !s.ok()) return s;
  if (source.type != destination.type) {
    return absl::InvalidArgumentError("source and destination pixel types differ");
  }
  if (spec.color_bands < 1 || spec.color_bands > source.bands ||
      spec.color_bands > destination.bands || spec.source_alpha_band >= source.bands ||
      spec.destination_alpha_band >= destination.bands) {
    return absl::InvalidArgumentError("warp bands do not fit the buffers");
  }

  QuietGdalErrors errors;
  // GDAL only reads the source; the MEM driver wants a writable pointer all the same.
  absl::StatusOr<GDALDatasetUniquePtr> source_dataset =
      WrapInMemDataset(const_cast<uint8_t*>(source.data), source.width, source.height, source.bands,
                       source.type, source.row_stride, source_grid, "source");
  if (!source_dataset.ok()) return source_dataset.status();
  absl::StatusOr<GDALDatasetUniquePtr> destination_dataset =
      WrapInMemDataset(destination.data, destination.width, destination.height, destination.bands,
                       destination.type, destination.row_stride, destination_grid, "destination");
  if (!destination_dataset.ok()) return destination_dataset.status();

  void* transformer =
      GDALCreateGenImgProjTransformer2(source_dataset->get(), destination_dataset->get(), nullptr);
  if (transformer == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no transformation between the pyramid's CRS and the requested CRS: ",
                     QuietGdalErrors::LastMessage("no message from GDAL")));
  }
  GDALTransformerFunc transform = GDALGenImgProjTransform;
  if (spec.error_threshold > 0) {
    void* approx =
        GDALCreateApproxTransformer(GDALGenImgProjTransform, transformer, spec.error_threshold);
    GDALApproxTransformerOwnsSubtransformer(approx, TRUE);
    transformer = approx;
    transform = GDALApproxTransform;
  }

  GDALWarpOptions* options = GDALCreateWarpOptions();
  options->hSrcDS = source_dataset->get();
  options->hDstDS = destination_dataset->get();
  options->eResampleAlg = spec.resampling;
  options->nBandCount = spec.color_bands;
  options->panSrcBands = static_cast<int*>(CPLMalloc(sizeof(int) * spec.color_bands));
  options->panDstBands = static_cast<int*>(CPLMalloc(sizeof(int) * spec.color_bands));
  for (int band = 0; band < spec.color_bands; ++band) {
    options->panSrcBands[band] = band + 1;
    options->panDstBands[band] = band + 1;
  }
  options->nSrcAlphaBand = spec.source_alpha_band + 1;
  options->nDstAlphaBand = spec.destination_alpha_band + 1;
  if (spec.nodata.has_value()) {
    options->padfSrcNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double) * spec.color_bands));
    options->padfDstNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double) * spec.color_bands));
    for (int band = 0; band < spec.color_bands; ++band) {
      options->padfSrcNoDataReal[band] = *spec.nodata;
      options->padfDstNoDataReal[band] = *spec.nodata;
    }
  }
  options->papszWarpOptions = CSLSetNameValue(options->papszWarpOptions, "INIT_DEST",
                                              spec.nodata.has_value() ? "NO_DATA" : "0");
  options->pfnTransformer = transform;
  options->pTransformerArg = transformer;

  absl::Status status;
  {
    GDALWarpOperation operation;
    if (operation.Initialize(options) != CE_None) {
      status = absl::InternalError(absl::StrCat(
          "GDAL warp setup failed: ", QuietGdalErrors::LastMessage("no message from GDAL")));
    } else if (operation.ChunkAndWarpImage(0, 0, destination.width, destination.height) !=
               CE_None) {
      status = absl::InternalError(
          absl::StrCat("GDAL warp failed: ", QuietGdalErrors::LastMessage("no message from GDAL")));
    }
  }
  GDALDestroyTransformer(transformer);
  GDALDestroyWarpOptions(options);
  return status;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
