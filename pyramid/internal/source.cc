#include "pyramid/internal/source.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "gdal_utils.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

// QuietGdalErrors keeps GDAL from printing to stderr; the last message is read instead.
class QuietGdalErrors {
 public:
  QuietGdalErrors() {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
  }
  ~QuietGdalErrors() { CPLPopErrorHandler(); }
  std::string LastMessage() const {
    const char* message = CPLGetLastErrorMsg();
    return message != nullptr && *message != '\0' ? message : "no GDAL message";
  }
};

absl::StatusOr<codec::PixelType> PixelTypeFor(GDALDataType type, GDALDataType* working) {
  switch (type) {
    case GDT_Byte:
      *working = GDT_Byte;
      return codec::PixelType::kUint8;
    case GDT_UInt16:
      *working = GDT_UInt16;
      return codec::PixelType::kUint16;
    case GDT_Int16:
      *working = GDT_Int16;
      return codec::PixelType::kInt16;
    case GDT_Float32:
    case GDT_Float64:
    case GDT_Int32:
    case GDT_UInt32:
      // Wider types are stored as float32 (the only wide type the tile codecs carry).
      *working = GDT_Float32;
      return codec::PixelType::kFloat32;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("pixel type ", GDALGetDataTypeName(type),
                       " is not supported: convert to Byte, UInt16, Int16 or Float32 first "
                       "(gdal_translate -ot)"));
  }
}

}  // namespace

absl::StatusOr<GDALResampleAlg> ParseResampling(absl::string_view name) {
  if (name == "nearest") return GRA_NearestNeighbour;
  if (name == "bilinear") return GRA_Bilinear;
  if (name == "cubic") return GRA_Cubic;
  if (name == "lanczos") return GRA_Lanczos;
  if (name == "average") return GRA_Average;
  if (name == "mode") return GRA_Mode;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown resampling \"", name,
                   "\": use --resampling=nearest, bilinear, cubic, lanczos, average or mode"));
}

Source::~Source() {
  if (dataset_ != nullptr) GDALClose(GDALDataset::ToHandle(dataset_));
}

absl::StatusOr<std::unique_ptr<Source>> Source::Open(const SourceOptions& options) {
  GDALAllRegister();
  if (options.inputs.empty()) {
    return absl::InvalidArgumentError("no input: give --input=PATH[,PATH...]");
  }
  std::unique_ptr<Source> source(new Source());
  QuietGdalErrors quiet;
  for (const std::string& input : options.inputs) {
    VSIStatBufL stat;
    const bool is_virtual = input.rfind("/vsi", 0) == 0 || input.rfind("<", 0) == 0 ||
                            input.find(':') != std::string::npos;
    if (!is_virtual && VSIStatL(input.c_str(), &stat) != 0) {
      return absl::NotFoundError(
          absl::StrCat("input ", input, " does not exist: check the --input path"));
    }
    GDALDatasetH probe =
        GDALOpenEx(input.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
    if (probe == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", input, " cannot be read as a raster by GDAL (", quiet.LastMessage(),
          "): check the file, or convert it with gdal_translate"));
    }
    GDALClose(probe);
  }
  if (options.inputs.size() == 1) {
    source->open_name_ = options.inputs[0];
  } else {
    std::vector<const char*> names;
    for (const std::string& input : options.inputs) names.push_back(input.c_str());
    GDALDatasetH vrt =
        GDALBuildVRT("", static_cast<int>(names.size()), nullptr, names.data(), nullptr, nullptr);
    if (vrt == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot mosaic the inputs ", absl::StrJoin(options.inputs, ","), " (",
          quiet.LastMessage(), "): they need the same CRS and band count (gdalbuildvrt's rules)"));
    }
    char** xml = GDALGetMetadata(vrt, "xml:VRT");
    if (xml == nullptr || xml[0] == nullptr) {
      GDALClose(vrt);
      return absl::InternalError("GDALBuildVRT produced no VRT XML");
    }
    source->open_name_ = xml[0];
    GDALClose(vrt);
  }
  GDALDatasetH handle = GDALOpenEx(source->open_name_.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY,
                                   nullptr, nullptr, nullptr);
  if (handle == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open the inputs: ", quiet.LastMessage()));
  }
  source->dataset_ = GDALDataset::FromHandle(handle);
  GDALDataset& ds = *source->dataset_;
  const int band_count = ds.GetRasterCount();
  if (band_count == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", options.inputs[0], " has no raster bands"));
  }
  for (int b = 1; b <= band_count; ++b) {
    if (ds.GetRasterBand(b)->GetColorInterpretation() == GCI_AlphaBand) {
      source->alpha_band_ = b;
    }
  }
  if (options.bands.empty()) {
    for (int b = 1; b <= band_count; ++b) {
      if (b != source->alpha_band_) source->bands_.push_back(b);
    }
  } else {
    for (int b : options.bands) {
      if (b < 1 || b > band_count) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "--bands: band %d does not exist (the input has bands 1..%d)", b, band_count));
      }
      source->bands_.push_back(b);
    }
    // A selected alpha band is data, not coverage.
    for (int b : source->bands_) {
      if (b == source->alpha_band_) source->alpha_band_ = 0;
    }
  }
  if (source->bands_.size() > 4) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the input has %d bands; tiles hold at most 3 (plus alpha): choose "
                        "them with --bands=3,2,1",
                        static_cast<int>(source->bands_.size())));
  }
  const GDALDataType type = ds.GetRasterBand(source->bands_[0])->GetRasterDataType();
  for (int b : source->bands_) {
    if (ds.GetRasterBand(b)->GetRasterDataType() != type) {
      return absl::InvalidArgumentError(
          "the selected bands have different pixel types: select bands of one type with "
          "--bands");
    }
  }
  absl::StatusOr<codec::PixelType> pixel_type = PixelTypeFor(type, &source->gdal_type_);
  if (!pixel_type.ok()) return pixel_type.status();
  source->pixel_type_ = *pixel_type;
  if (options.nodata.has_value()) {
    source->nodata_ = options.nodata;
  } else {
    int has_nodata = 0;
    const double value = ds.GetRasterBand(source->bands_[0])->GetNoDataValue(&has_nodata);
    if (has_nodata) source->nodata_ = value;
  }
  for (int b : source->bands_) {
    source->color_interpretation_.push_back(
        GDALGetColorInterpretationName(ds.GetRasterBand(b)->GetColorInterpretation()));
  }
  // Bands chosen as RGB (--bands=3,2,1 on Landsat) are labelled by their position.
  if (source->bands_.size() == 3 && source->pixel_type_ == codec::PixelType::kUint8) {
    source->color_interpretation_ = {"Red", "Green", "Blue"};
  } else if (source->bands_.size() == 1 && source->pixel_type_ == codec::PixelType::kUint8) {
    source->color_interpretation_ = {"Gray"};
  }

  source->srs_.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  if (!options.source_srs.empty()) {
    if (source->srs_.SetFromUserInput(options.source_srs.c_str()) != OGRERR_NONE) {
      return absl::InvalidArgumentError(
          absl::StrCat("--source_srs=", options.source_srs,
                       " is not a CRS GDAL knows: use e.g. EPSG:4326 or a WKT/PROJ string"));
    }
    source->has_srs_override_ = true;
  } else {
    const OGRSpatialReference* srs = ds.GetSpatialRef();
    if (srs == nullptr || srs->IsEmpty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", options.inputs[0],
                       " has no CRS: give it with --source_srs (e.g. --source_srs=EPSG:4326)"));
    }
    source->srs_ = *srs;
    source->srs_.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  }
  double geotransform[6];
  if (ds.GetGeoTransform(geotransform) != CE_None) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", options.inputs[0],
                     " has no geotransform (not georeferenced): georeference it first "
                     "(gdal_translate -a_ullr / gdalwarp with GCPs)"));
  }
  if (source->srs_.IsGeographic()) {
    const double west = geotransform[0];
    const double east = geotransform[0] + geotransform[1] * ds.GetRasterXSize();
    if (std::min(west, east) < -180.0 || std::max(west, east) > 180.0) {
      source->center_longitude_ = (west + east) / 2;
    }
  }
  const char* srs_name = source->srs_.GetName();
  source->description_ =
      absl::StrFormat("%s; %dx%d pixels, %d bands selected (%s), %s; CRS %s%s",
                      absl::StrJoin(options.inputs, ","), ds.GetRasterXSize(), ds.GetRasterYSize(),
                      static_cast<int>(source->bands_.size()), absl::StrJoin(source->bands_, ","),
                      GDALGetDataTypeName(type), srs_name != nullptr ? srs_name : "unnamed",
                      source->has_srs_override_ ? " (--source_srs)" : "");
  return source;
}

void* CreateSourceTransformer(const Source& source, GDALDatasetH handle,
                              const OGRSpatialReference& target) {
  char* target_wkt = nullptr;
  target.exportToWkt(&target_wkt);
  char* source_wkt = nullptr;
  source.srs().exportToWkt(&source_wkt);
  CPLStringList options;
  options.SetNameValue("SRC_SRS", source_wkt);
  options.SetNameValue("DST_SRS", target_wkt);
  CPLFree(target_wkt);
  CPLFree(source_wkt);
  // CENTER_LONG is read when the coordinate transformation is created: set it for this
  // thread only, around the creation.
  if (source.center_longitude().has_value()) {
    CPLSetThreadLocalConfigOption("CENTER_LONG", CPLSPrintf("%.17g", *source.center_longitude()));
  }
  void* transformer = GDALCreateGenImgProjTransformer2(handle, nullptr, options.List());
  if (source.center_longitude().has_value()) {
    CPLSetThreadLocalConfigOption("CENTER_LONG", nullptr);
  }
  return transformer;
}

absl::StatusOr<double> Source::NativeResolution(const OGRSpatialReference& target) const {
  QuietGdalErrors quiet;
  void* transformer = CreateSourceTransformer(*this, GDALDataset::ToHandle(dataset_), target);
  if (transformer == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot transform the source CRS to the tile matrix set's CRS: ", quiet.LastMessage()));
  }
  double geotransform[6];
  int pixels = 0;
  int lines = 0;
  const CPLErr err =
      GDALSuggestedWarpOutput(GDALDataset::ToHandle(dataset_), GDALGenImgProjTransform, transformer,
                              geotransform, &pixels, &lines);
  GDALDestroyGenImgProjTransformer(transformer);
  if (err != CE_None || !(geotransform[1] > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot estimate the source resolution in the tile matrix set's CRS (",
                     quiet.LastMessage(), "): give --max_zoom"));
  }
  return geotransform[1];
}

absl::StatusOr<std::unique_ptr<BlockWarper>> BlockWarper::Create(const Source& source,
                                                                 const OGRSpatialReference& target,
                                                                 GDALResampleAlg resampling,
                                                                 double max_error_pixels) {
  std::unique_ptr<BlockWarper> warper(new BlockWarper());
  warper->source_ = &source;
  warper->resampling_ = resampling;
  warper->mem_driver_ = GDALGetDriverByName("MEM");
  QuietGdalErrors quiet;
  warper->handle_ = GDALOpenEx(source.open_name().c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY,
                               nullptr, nullptr, nullptr);
  if (warper->handle_ == nullptr) {
    return absl::InternalError(
        absl::StrCat("worker cannot reopen the source: ", quiet.LastMessage()));
  }
  warper->transformer_ = CreateSourceTransformer(source, warper->handle_, target);
  if (source.center_longitude().has_value()) {
    double geotransform[6];
    GDALGetGeoTransform(warper->handle_, geotransform);
    warper->source_pixel_x_ = std::fabs(geotransform[1]);
    warper->source_pixel_y_ = std::fabs(geotransform[5]);
    warper->to_lonlat_ = OGRCreateCoordinateTransformation(&target, &source.srs());
  }
  if (warper->transformer_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot transform the source CRS to the tile matrix set's CRS: ", quiet.LastMessage()));
  }
  if (max_error_pixels > 0) {
    warper->approx_ = GDALCreateApproxTransformer(GDALGenImgProjTransform, warper->transformer_,
                                                  max_error_pixels);
    GDALApproxTransformerOwnsSubtransformer(warper->approx_, FALSE);
  }
  return warper;
}

BlockWarper::~BlockWarper() {
  if (to_lonlat_ != nullptr) OGRCoordinateTransformation::DestroyCT(to_lonlat_);
  if (approx_ != nullptr) GDALDestroyApproxTransformer(approx_);
  if (transformer_ != nullptr) GDALDestroyGenImgProjTransformer(transformer_);
  if (handle_ != nullptr) GDALClose(handle_);
}

absl::Status BlockWarper::Warp(double min_x, double max_y, double resolution, int width, int height,
                               uint8_t* samples, uint8_t* alpha) {
  const int bands = static_cast<int>(source_->bands().size());
  const int bytes = GDALGetDataTypeSizeBytes(source_->gdal_type());
  const size_t pixel_bytes = static_cast<size_t>(bands) * bytes;
  std::memset(samples, 0, pixel_bytes * width * height);
  std::memset(alpha, 0, static_cast<size_t>(width) * height);

  QuietGdalErrors quiet;
  // A MEM dataset over the caller's buffers: the warper writes straight into them.
  GDALDatasetH mem = GDALCreate(mem_driver_, "", width, height, 0, GDT_Byte, nullptr);
  if (mem == nullptr) return absl::InternalError("cannot create a MEM dataset");
  for (int b = 0; b <= bands; ++b) {
    CPLStringList band_options;
    const bool is_alpha = b == bands;
    band_options.SetNameValue("DATAPOINTER",
                              CPLSPrintf("%p", is_alpha ? static_cast<void*>(alpha)
                                                        : static_cast<void*>(samples + b * bytes)));
    band_options.SetNameValue("PIXELOFFSET",
                              CPLSPrintf("%d", is_alpha ? 1 : static_cast<int>(pixel_bytes)));
    band_options.SetNameValue(
        "LINEOFFSET",
        CPLSPrintf("%lld", static_cast<long long>(is_alpha ? width : pixel_bytes * width)));
    GDALAddBand(mem, is_alpha ? GDT_Byte : source_->gdal_type(), band_options.List());
  }
  double geotransform[6] = {min_x, resolution, 0, max_y, 0, -resolution};
  GDALSetGeoTransform(mem, geotransform);
  GDALSetGenImgProjTransformerDstGeoTransform(transformer_, geotransform);

  GDALWarpOptions* options = GDALCreateWarpOptions();
  options->hSrcDS = handle_;
  options->hDstDS = mem;
  options->eResampleAlg = resampling_;
  options->eWorkingDataType = GDT_Unknown;
  options->dfWarpMemoryLimit = 256.0 * 1024 * 1024;
  options->nBandCount = bands;
  options->panSrcBands = static_cast<int*>(CPLMalloc(sizeof(int) * bands));
  options->panDstBands = static_cast<int*>(CPLMalloc(sizeof(int) * bands));
  for (int b = 0; b < bands; ++b) {
    options->panSrcBands[b] = source_->bands()[b];
    options->panDstBands[b] = b + 1;
  }
  options->nSrcAlphaBand = source_->alpha_band();
  options->nDstAlphaBand = bands + 1;
  if (source_->nodata().has_value()) {
    options->padfSrcNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double) * bands));
    for (int b = 0; b < bands; ++b) options->padfSrcNoDataReal[b] = *source_->nodata();
  }
  options->pfnTransformer = approx_ != nullptr ? GDALApproxTransform : GDALGenImgProjTransform;
  options->pTransformerArg = approx_ != nullptr ? approx_ : transformer_;
  options->papszWarpOptions = CSLSetNameValue(options->papszWarpOptions, "INIT_DEST", "0");
  options->papszWarpOptions = CSLSetNameValue(options->papszWarpOptions, "SKIP_NOSOURCE", "YES");

  // Parts of the block: the whole block, or its two sides of a wrapped source's seam.
  int split = 0;
  if (seam_x_.has_value() && *seam_x_ > min_x && *seam_x_ < min_x + width * resolution) {
    split = static_cast<int>(std::lround((*seam_x_ - min_x) / resolution));
    split = std::min(std::max(split, 0), width);
  }
  std::vector<std::pair<int, int>> parts;  // (first column, columns).
  if (split > 0 && split < width) {
    parts = {{0, split}, {split, width - split}};
  } else {
    parts = {{0, width}};
  }
  absl::Status status;
  for (const auto& [x0, columns] : parts) {
    if (to_lonlat_ != nullptr) {
      // GDAL derives the kernel scale from the source window, which a wrapped source makes
      // as wide as the whole grid; give it the true scale instead (GDAL's XSCALE/YSCALE).
      const double left = min_x + x0 * resolution;
      const double right = left + columns * resolution;
      const double top = max_y;
      const double bottom = max_y - height * resolution;
      double xs[4] = {left, right, (left + right) / 2, (left + right) / 2};
      double ys[4] = {(top + bottom) / 2, (top + bottom) / 2, top, bottom};
      if (to_lonlat_->Transform(4, xs, ys)) {
        double lon_span = xs[1] - xs[0];
        while (lon_span <= 0) lon_span += 360.0;
        const double lat_span = std::fabs(ys[2] - ys[3]);
        const double xscale = columns / (lon_span / source_pixel_x_);
        const double yscale = height / (lat_span / source_pixel_y_);
        options->papszWarpOptions =
            CSLSetNameValue(options->papszWarpOptions, "XSCALE", CPLSPrintf("%.17g", xscale));
        options->papszWarpOptions =
            CSLSetNameValue(options->papszWarpOptions, "YSCALE", CPLSPrintf("%.17g", yscale));
      }
    }
    GDALWarpOperation operation;
    if (operation.Initialize(options) != CE_None) {
      status =
          absl::InternalError(absl::StrCat("cannot set up the GDAL warp: ", quiet.LastMessage()));
      break;
    }
    if (operation.ChunkAndWarpImage(x0, 0, columns, height) != CE_None) {
      status = absl::DataLossError(
          absl::StrFormat("reading the source for block at (%.3f, %.3f) failed: %s", min_x, max_y,
                          quiet.LastMessage()));
      break;
    }
  }
  options->pTransformerArg = nullptr;  // Owned by this warper, not the options.
  GDALDestroyWarpOptions(options);
  GDALClose(mem);
  return status;
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
