#include "pyramid/internal/source.h"

#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "gdal_utils.h"
#include "geo/gdal_errors.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {
namespace {

using geo::QuietGdalErrors;

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

// IsGdalName is true for what GDAL opens that is not a local file: /vsi paths, inline VRT XML
// and connection strings such as NETCDF:file.nc:var.
bool IsGdalName(const std::string& input) {
  return input.rfind("/vsi", 0) == 0 || input.rfind("<", 0) == 0 ||
         input.find(':') != std::string::npos;
}

// CheckLocalInput refuses a missing input, and a FIFO, device or socket, which GDAL would
// block on or read forever. Directories pass (some GDAL formats are directories).
absl::Status CheckLocalInput(const std::string& input) {
  struct stat info;
  if (stat(input.c_str(), &info) != 0) {
    return absl::NotFoundError(
        absl::StrCat("input ", input, " does not exist: check BuildOptions::inputs"));
  }
  if (!S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode)) {
    const char* what = S_ISFIFO(info.st_mode)                           ? "a FIFO"
                       : S_ISCHR(info.st_mode) || S_ISBLK(info.st_mode) ? "a device"
                                                                        : "a socket";
    return absl::InvalidArgumentError(absl::StrCat("input ", input, " is ", what,
                                                   ", not a raster file: give a file path in "
                                                   "BuildOptions::inputs"));
  }
  return absl::OkStatus();
}

// InputInfo is what the checks need to know of one input.
struct InputInfo {
  std::vector<GDALDataType> band_types;
  bool has_validity = false;   // Nodata, an alpha band or a mask: gaps stay masked.
  bool paletted = false;       // Band 1 has a colour table.
  bool palette_alpha = false;  // An entry of it is not opaque.
  OGRSpatialReference srs;     // Empty when the input has none.
  bool has_geotransform = false;
  double min_x = 0, min_y = 0, max_x = 0, max_y = 0;  // In its CRS.
};

std::string DescribeBands(const InputInfo& info) {
  std::vector<std::string> types;
  for (GDALDataType type : info.band_types) types.push_back(GDALGetDataTypeName(type));
  return absl::StrCat(info.band_types.size(), " band", info.band_types.size() == 1 ? "" : "s", " (",
                      absl::StrJoin(types, ","), ")");
}

absl::StatusOr<InputInfo> ProbeInput(const std::string& input, const QuietGdalErrors& quiet) {
  GDALDatasetUniquePtr ds(GDALDataset::FromHandle(
      GDALOpenEx(input.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr)));
  if (ds == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", input, " cannot be read as a raster by GDAL (", quiet.LastMessage(),
                     "): check the file, or convert it with gdal_translate"));
  }
  InputInfo info;
  for (int b = 1; b <= ds->GetRasterCount(); ++b) {
    GDALRasterBand* band = ds->GetRasterBand(b);
    info.band_types.push_back(band->GetRasterDataType());
    const int flags = band->GetMaskFlags();
    if (band->GetColorInterpretation() == GCI_AlphaBand ||
        (flags & (GMF_NODATA | GMF_PER_DATASET | GMF_ALPHA)) != 0) {
      info.has_validity = true;
    }
  }
  if (ds->GetRasterCount() > 0) {
    const GDALColorTable* table = ds->GetRasterBand(1)->GetColorTable();
    info.paletted = table != nullptr;
    for (int i = 0; table != nullptr && i < table->GetColorEntryCount(); ++i) {
      if (table->GetColorEntry(i)->c4 != 255) info.palette_alpha = true;
    }
  }
  if (const OGRSpatialReference* srs = ds->GetSpatialRef()) info.srs = *srs;
  double gt[6];
  if (ds->GetGeoTransform(gt) == CE_None) {
    info.has_geotransform = true;
    const double x1 = gt[0] + gt[1] * ds->GetRasterXSize() + gt[2] * ds->GetRasterYSize();
    const double y1 = gt[3] + gt[4] * ds->GetRasterXSize() + gt[5] * ds->GetRasterYSize();
    info.min_x = std::min(gt[0], x1);
    info.max_x = std::max(gt[0], x1);
    info.min_y = std::min(gt[3], y1);
    info.max_y = std::max(gt[3], y1);
  }
  return info;
}

// CheckMosaicCompatible refuses inputs that gdalbuildvrt would silently leave out of a
// mosaic: another band count, pixel type or CRS than the first input's, or a colour table.
absl::Status CheckMosaicCompatible(const std::vector<std::string>& inputs,
                                   const std::vector<InputInfo>& infos) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (infos[i].paletted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", inputs[i],
          " has a colour table: a mosaic cannot expand it; expand it first (gdal_translate "
          "-expand rgba) or build it on its own"));
    }
    if (i == 0) continue;
    if (infos[i].band_types != infos[0].band_types) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", inputs[i], " has ", DescribeBands(infos[i]), " but ", inputs[0], " has ",
          DescribeBands(infos[0]),
          ": mosaicked inputs need the same bands (select them first with gdal_translate -b "
          "-ot, or build them separately)"));
    }
    const bool same_srs = infos[i].srs.IsEmpty() == infos[0].srs.IsEmpty() &&
                          (infos[0].srs.IsEmpty() || infos[i].srs.IsSame(&infos[0].srs));
    if (!same_srs) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", inputs[i], " has another CRS than ", inputs[0],
                       ": mosaicked inputs need the same CRS (reproject it first with gdalwarp)"));
    }
  }
  return absl::OkStatus();
}

// BuildMosaic is the XML of the VRT mosaicking `inputs` later-on-top (gdalbuildvrt).
absl::StatusOr<std::string> BuildMosaic(const std::vector<std::string>& inputs,
                                        bool every_input_masked, const QuietGdalErrors& quiet) {
  std::vector<const char*> names;
  for (const std::string& input : inputs) names.push_back(input.c_str());
  // The finest input's resolution, so no input is downsampled before the warp.
  CPLStringList args;
  args.AddString("-resolution");
  args.AddString("highest");
  // Pixels the mosaic does not cover must stay masked: without nodata, alpha or mask on
  // every input, the mosaic needs an alpha band, or the gaps read as valid zeros.
  if (!every_input_masked) args.AddString("-addalpha");
  GDALBuildVRTOptions* vrt_options = GDALBuildVRTOptionsNew(args.List(), nullptr);
  GDALDatasetUniquePtr vrt(GDALDataset::FromHandle(GDALBuildVRT(
      "", static_cast<int>(names.size()), nullptr, names.data(), vrt_options, nullptr)));
  GDALBuildVRTOptionsFree(vrt_options);
  if (vrt == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot mosaic the inputs ", absl::StrJoin(inputs, ","), " (", quiet.LastMessage(), ")"));
  }
  char** xml = vrt->GetMetadata("xml:VRT");
  if (xml == nullptr || xml[0] == nullptr) return absl::InternalError("GDALBuildVRT gave no XML");
  return std::string(xml[0]);
}

// CheckMosaicCoversInputs checks that the mosaic's bounds hold every input's (no input was
// left out), within half a mosaic pixel.
absl::Status CheckMosaicCoversInputs(GDALDataset& mosaic, const std::vector<std::string>& inputs,
                                     const std::vector<InputInfo>& infos) {
  double gt[6];
  if (mosaic.GetGeoTransform(gt) != CE_None) return absl::OkStatus();
  const double x0 = gt[0], x1 = gt[0] + gt[1] * mosaic.GetRasterXSize();
  const double y1 = gt[3], y0 = gt[3] + gt[5] * mosaic.GetRasterYSize();
  const double slack_x = std::abs(gt[1]) / 2, slack_y = std::abs(gt[5]) / 2;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const InputInfo& in = infos[i];
    if (!in.has_geotransform) continue;
    if (in.min_x < std::min(x0, x1) - slack_x || in.max_x > std::max(x0, x1) + slack_x ||
        in.min_y < std::min(y0, y1) - slack_y || in.max_y > std::max(y0, y1) + slack_y) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", inputs[i],
                       " lies outside the mosaic of the inputs (GDAL left it out): build "
                       "it separately"));
    }
  }
  return absl::OkStatus();
}

// ExpandPalette is the XML of a VRT expanding a paletted input to RGB, or RGBA when its
// colour table has transparent entries (gdal_translate -expand rgb / rgba).
absl::StatusOr<std::string> ExpandPalette(const std::string& input, const InputInfo& info,
                                          const QuietGdalErrors& quiet) {
  GDALDatasetUniquePtr src(GDALDataset::FromHandle(
      GDALOpenEx(input.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr)));
  CPLStringList args;
  for (const char* arg : {"-of", "VRT", "-expand"}) args.AddString(arg);
  args.AddString(info.palette_alpha ? "rgba" : "rgb");
  GDALTranslateOptions* options = GDALTranslateOptionsNew(args.List(), nullptr);
  GDALDatasetUniquePtr vrt(src == nullptr
                               ? nullptr
                               : GDALDataset::FromHandle(GDALTranslate(
                                     "", GDALDataset::ToHandle(src.get()), options, nullptr)));
  GDALTranslateOptionsFree(options);
  char** xml = vrt == nullptr ? nullptr : vrt->GetMetadata("xml:VRT");
  if (xml == nullptr || xml[0] == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", input, " has a colour table that GDAL cannot expand (",
                     quiet.LastMessage(), "): expand it first with gdal_translate -expand rgba"));
  }
  return std::string(xml[0]);
}

}  // namespace

Source::~Source() {
  if (dataset_ != nullptr) GDALClose(GDALDataset::ToHandle(dataset_));
}

absl::StatusOr<std::unique_ptr<Source>> Source::Open(const SourceOptions& options) {
  GDALAllRegister();
  if (options.inputs.empty()) {
    return absl::InvalidArgumentError("BuildOptions::inputs is empty: give at least one raster");
  }
  std::unique_ptr<Source> source(new Source());
  QuietGdalErrors quiet;
  std::vector<InputInfo> infos;
  bool every_input_masked = true;
  for (const std::string& input : options.inputs) {
    if (!IsGdalName(input)) {
      if (absl::Status s = CheckLocalInput(input); !s.ok()) return s;
    }
    absl::StatusOr<InputInfo> info = ProbeInput(input, quiet);
    if (!info.ok()) return info.status();
    every_input_masked = every_input_masked && info->has_validity;
    infos.push_back(std::move(*info));
  }
  absl::StatusOr<std::string> open_name = options.inputs[0];
  if (options.inputs.size() > 1) {
    if (absl::Status s = CheckMosaicCompatible(options.inputs, infos); !s.ok()) return s;
    open_name = BuildMosaic(options.inputs, every_input_masked, quiet);
  } else if (infos[0].paletted) {
    open_name = ExpandPalette(options.inputs[0], infos[0], quiet);
    source->palette_expanded_ = true;
  }
  if (!open_name.ok()) return open_name.status();
  source->open_name_ = std::move(*open_name);
  GDALDatasetH handle = GDALOpenEx(source->open_name_.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY,
                                   nullptr, nullptr, nullptr);
  if (handle == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open the inputs: ", quiet.LastMessage()));
  }
  source->dataset_ = GDALDataset::FromHandle(handle);
  if (options.inputs.size() > 1) {
    absl::Status s = CheckMosaicCoversInputs(*source->dataset_, options.inputs, infos);
    if (!s.ok()) return s;
  }
  absl::Status status = source->SelectBands(options);
  if (status.ok()) status = source->ResolveSrs(options);
  if (!status.ok()) return status;
  source->Describe(options);
  return source;
}

// SelectBands picks the bands, their pixel type, nodata and colour interpretation.
absl::Status Source::SelectBands(const SourceOptions& options) {
  GDALDataset& ds = *dataset_;
  const int band_count = ds.GetRasterCount();
  if (band_count == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", options.inputs[0], " has no raster bands"));
  }
  for (int b = 1; b <= band_count; ++b) {
    if (ds.GetRasterBand(b)->GetColorInterpretation() == GCI_AlphaBand) alpha_band_ = b;
  }
  if (options.bands.empty()) {
    for (int b = 1; b <= band_count; ++b) {
      if (b != alpha_band_) bands_.push_back(b);
    }
  } else {
    for (int b : options.bands) {
      if (b < 1 || b > band_count) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "BuildOptions::bands: band %d does not exist (the input has bands 1..%d%s)", b,
            band_count, palette_expanded_ ? ", its colour table expanded" : ""));
      }
      bands_.push_back(b);
    }
    // A selected alpha band is data, not coverage.
    for (int b : bands_) {
      if (b == alpha_band_) alpha_band_ = 0;
    }
  }
  if (bands_.size() > 4) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the input has %d bands; tiles hold at most 3 (plus alpha): choose "
                        "them with BuildOptions::bands=3,2,1",
                        static_cast<int>(bands_.size())));
  }
  const GDALDataType type = ds.GetRasterBand(bands_[0])->GetRasterDataType();
  for (int b : bands_) {
    if (ds.GetRasterBand(b)->GetRasterDataType() != type) {
      return absl::InvalidArgumentError(
          "the selected bands have different pixel types: select bands of one type with "
          "BuildOptions::bands");
    }
  }
  absl::StatusOr<codec::PixelType> pixel_type = PixelTypeFor(type, &gdal_type_);
  if (!pixel_type.ok()) return pixel_type.status();
  pixel_type_ = *pixel_type;
  for (int b : bands_) {
    std::optional<double> nodata = options.nodata;
    if (!nodata.has_value()) {
      int has_nodata = 0;
      const double value = ds.GetRasterBand(b)->GetNoDataValue(&has_nodata);
      if (has_nodata) nodata = value;
    }
    band_nodata_.push_back(nodata);
    color_interpretation_.push_back(
        GDALGetColorInterpretationName(ds.GetRasterBand(b)->GetColorInterpretation()));
  }
  nodata_ = band_nodata_[0];
  // Bands chosen as RGB (bands 3,2,1 of Landsat) are labelled by their position.
  if (bands_.size() == 3 && pixel_type_ == codec::PixelType::kUint8) {
    color_interpretation_ = {"Red", "Green", "Blue"};
  } else if (bands_.size() == 1 && pixel_type_ == codec::PixelType::kUint8) {
    color_interpretation_ = {"Gray"};
  }
  return absl::OkStatus();
}

// ResolveSrs takes the CRS (given or the file's) and checks the georeferencing.
absl::Status Source::ResolveSrs(const SourceOptions& options) {
  GDALDataset& ds = *dataset_;
  srs_.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  if (!options.source_srs.empty()) {
    if (srs_.SetFromUserInput(options.source_srs.c_str()) != OGRERR_NONE) {
      return absl::InvalidArgumentError(
          absl::StrCat("BuildOptions::source_srs=", options.source_srs,
                       " is not a CRS GDAL knows: use e.g. EPSG:4326 or a WKT/PROJ string"));
    }
    has_srs_override_ = true;
  } else {
    const OGRSpatialReference* srs = ds.GetSpatialRef();
    if (srs == nullptr || srs->IsEmpty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ", options.inputs[0],
                       " has no CRS: give it with BuildOptions::source_srs (e.g. "
                       "BuildOptions::source_srs=EPSG:4326)"));
    }
    srs_ = *srs;
    srs_.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  }
  double geotransform[6];
  if (ds.GetGeoTransform(geotransform) != CE_None) {
    return absl::InvalidArgumentError(
        absl::StrCat("input ", options.inputs[0],
                     " has no geotransform (not georeferenced): georeference it first "
                     "(gdal_translate -a_ullr / gdalwarp with GCPs)"));
  }
  if (srs_.IsGeographic()) {
    const double west = geotransform[0];
    const double east = geotransform[0] + geotransform[1] * ds.GetRasterXSize();
    if (std::min(west, east) < -180.0 || std::max(west, east) > 180.0) {
      center_longitude_ = (west + east) / 2;
    }
  }
  return absl::OkStatus();
}

void Source::Describe(const SourceOptions& options) {
  const char* srs_name = srs_.GetName();
  description_ = absl::StrFormat(
      "%s; %dx%d pixels, %d bands selected (%s), %s%s; CRS %s%s",
      absl::StrJoin(options.inputs, ","), dataset_->GetRasterXSize(), dataset_->GetRasterYSize(),
      static_cast<int>(bands_.size()), absl::StrJoin(bands_, ","),
      GDALGetDataTypeName(dataset_->GetRasterBand(bands_[0])->GetRasterDataType()),
      palette_expanded_ ? ", colour table expanded" : "",
      srs_name != nullptr ? srs_name : "unnamed", has_srs_override_ ? " (source_srs)" : "");
}

absl::StatusOr<std::unique_ptr<SourceTransformer>> SourceTransformer::Create(
    const Source& source, GDALDatasetH handle, const OGRSpatialReference& target,
    double max_error_pixels) {
  QuietGdalErrors quiet;
  char* target_wkt = nullptr;
  target.exportToWkt(&target_wkt);
  char* source_wkt = nullptr;
  source.srs().exportToWkt(&source_wkt);
  CPLStringList options;
  options.SetNameValue("SRC_SRS", source_wkt);
  options.SetNameValue("DST_SRS", target_wkt);
  CPLFree(target_wkt);
  CPLFree(source_wkt);
  std::unique_ptr<SourceTransformer> t(new SourceTransformer());
  double geotransform[6];
  if (source.center_longitude().has_value() &&
      GDALGetGeoTransform(handle, geotransform) == CE_None) {
    t->wrap_ = geo::LongitudeWrap::ForCenterLongitude(geotransform, *source.center_longitude());
    // The wrap is ours alone: GDAL's own (grids spanning up to 360 degrees) would cut rows.
    if (t->wrap_.has_value()) options.SetNameValue("INSERT_CENTER_LONG", "FALSE");
  }
  t->gen_img_ = GDALCreateGenImgProjTransformer2(handle, nullptr, options.List());
  if (t->gen_img_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot transform the source CRS to the tile matrix set's CRS: ", quiet.LastMessage()));
  }
  t->function_ = GDALGenImgProjTransform;
  t->argument_ = t->gen_img_;
  if (max_error_pixels > 0) {
    t->approx_ =
        GDALCreateApproxTransformer(GDALGenImgProjTransform, t->gen_img_, max_error_pixels);
    GDALApproxTransformerOwnsSubtransformer(t->approx_, FALSE);
    t->function_ = GDALApproxTransform;
    t->argument_ = t->approx_;
  }
  // Outside the approximation, which so interpolates the continuous, unwrapped columns.
  if (t->wrap_.has_value()) {
    t->wrap_->inner = t->function_;
    t->wrap_->inner_argument = t->argument_;
    t->function_ = geo::LongitudeWrap::Transform;
    t->argument_ = &*t->wrap_;
  }
  return t;
}

SourceTransformer::~SourceTransformer() {
  if (approx_ != nullptr) GDALDestroyApproxTransformer(approx_);
  if (gen_img_ != nullptr) GDALDestroyGenImgProjTransformer(gen_img_);
}

void SourceTransformer::SetTargetGeoTransform(const double geotransform[6]) {
  GDALSetGenImgProjTransformerDstGeoTransform(gen_img_, geotransform);
}

absl::StatusOr<double> Source::NativeResolution(const OGRSpatialReference& target) const {
  absl::StatusOr<std::unique_ptr<SourceTransformer>> transformer =
      SourceTransformer::Create(*this, GDALDataset::ToHandle(dataset_), target, 0);
  if (!transformer.ok()) return transformer.status();
  QuietGdalErrors quiet;
  double geotransform[6];
  int pixels = 0;
  int lines = 0;
  const CPLErr err =
      GDALSuggestedWarpOutput(GDALDataset::ToHandle(dataset_), (*transformer)->function(),
                              (*transformer)->argument(), geotransform, &pixels, &lines);
  if (err != CE_None || !(geotransform[1] > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot estimate the source resolution in the tile matrix set's CRS (",
                     quiet.LastMessage(), "): set BuildOptions::max_zoom"));
  }
  return geotransform[1];
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
