// read_region FILE --bbox=minx,miny,maxx,maxy [--bbox_srs=EPSG:4326] --size=W,H
//   [--resampling=bilinear] --output=OUT.tif|OUT.png
// Renders a georeferenced window of a flatpyramid file in any CRS GDAL knows: the level
// matching the requested resolution is read, its tiles mosaicked (coarser levels fill missing
// tiles) and warped by GDAL. A .tif output is a georeferenced GeoTIFF (CRS, geotransform,
// nodata, alpha); a .png output holds the pixels only (uint8/uint16 pyramids).
#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "codec/codec.h"
#include "cpl_string.h"
#include "gdal_priv.h"
#include "geo/gdal_errors.h"
#include "gflags/gflags.h"
#include "ogr_spatialref.h"
#include "pyramid/reader.h"
#include "storage/output_file.h"
#include "tools/internal/cli.h"

DEFINE_string(bbox, "",
              "The window: min_x,min_y,max_x,max_y in --bbox_srs (longitude first for "
              "geographic CRSs; there min_x > max_x crosses the antimeridian, e.g. "
              "170,-10,-170,10). Required.");
DEFINE_string(bbox_srs, "EPSG:4326",
              "CRS of --bbox and of the output grid: an EPSG code, WKT or PROJ string (anything "
              "gdalwarp -t_srs takes).");
DEFINE_string(size, "", "Output size in pixels: WIDTH,HEIGHT (each 1..16384). Required.");
DEFINE_string(resampling, "bilinear",
              "Resampling kernel: nearest, bilinear, cubic, cubicspline, lanczos, average or "
              "mode (GDAL's).");
DEFINE_int32(zoom, -1,
             "Read this zoom level instead of the one matching the output resolution (-1).");
DEFINE_string(output, "",
              "Output file, relative to the directory bazel run was started from: .tif/.tiff "
              "for a georeferenced GeoTIFF (any pixel type), .png for a plain PNG (uint8 and "
              "uint16 pyramids). Required.");
DEFINE_bool(overwrite, false, "Replace --output if it exists.");

namespace {

constexpr char kTool[] = "read_region";

using flatpyramid::pyramid::Reader;
using flatpyramid::pyramid::Region;

// kStripBytes bounds the output rows rendered at once: a window is read, warped and written
// strip by strip, so that memory holds one strip (and its mosaic), not the whole output.
constexpr size_t kStripBytes = 64 << 20;
// GDAL's block cache while writing: blocks go to the file once it is full.
constexpr int64_t kGdalWriteCacheBytes = 64 << 20;

GDALDataType GdalType(flatpyramid::codec::PixelType type) {
  using flatpyramid::codec::PixelType;
  return type == PixelType::kUint8    ? GDT_Byte
         : type == PixelType::kUint16 ? GDT_UInt16
         : type == PixelType::kInt16  ? GDT_Int16
                                      : GDT_Float32;
}

// StripRequest is the rows [row, row + rows) of `request`, at the same resolution and zoom.
flatpyramid::pyramid::RegionRequest StripRequest(const flatpyramid::pyramid::RegionRequest& request,
                                                 int row, int rows) {
  flatpyramid::pyramid::RegionRequest strip = request;
  const double pixel = (request.bbox.max_y - request.bbox.min_y) / request.height;
  strip.bbox.max_y = request.bbox.max_y - pixel * row;
  strip.bbox.min_y =
      row + rows == request.height ? request.bbox.min_y : request.bbox.max_y - pixel * (row + rows);
  strip.height = rows;
  return strip;
}

// Note is what read_region reports: the level read and how many tiles.
struct Note {
  int zoom = 0;
  uint64_t tiles_decoded = 0;
  uint64_t tiles_from_coarser_levels = 0;
  int bands = 0;
};

// CreateGeoTiff creates the output dataset with the georeferencing of the first strip.
absl::StatusOr<GDALDatasetUniquePtr> CreateGeoTiff(const Reader& reader, const Region& first,
                                                   int width, int height, const std::string& path,
                                                   flatpyramid::geo::QuietGdalErrors& quiet) {
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  if (driver == nullptr) return absl::InternalError("GDAL has no GTiff driver");
  const flatpyramid::codec::Image& image = first.image;
  const GDALDataType type = GdalType(image.type());
  const flatpyramid::pyramid::PyramidMetadata& m = reader.metadata();
  char** options = nullptr;
  options = CSLSetNameValue(options, "COMPRESS", "DEFLATE");
  options = CSLSetNameValue(options, "TILED", "YES");
  options = CSLSetNameValue(options, "BIGTIFF", "IF_SAFER");
  if (m.has_alpha()) options = CSLSetNameValue(options, "ALPHA", "YES");
  if (image.bands() >= 3 && type == GDT_Byte) {
    options = CSLSetNameValue(options, "PHOTOMETRIC", "RGB");
  }
  GDALDatasetUniquePtr dataset(
      driver->Create(path.c_str(), width, height, image.bands(), type, options));
  CSLDestroy(options);
  if (dataset == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", path, ": check the directory exists and is writable (",
                     quiet.LastMessage(), ")"));
  }
  std::array<double, 6> geotransform = first.geotransform;
  dataset->SetGeoTransform(geotransform.data());
  OGRSpatialReference srs;
  srs.importFromWkt(first.srs_wkt.c_str());
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  dataset->SetSpatialRef(&srs);
  for (int band = 0; band < image.bands(); ++band) {
    GDALRasterBand* b = dataset->GetRasterBand(band + 1);
    if (band < m.color_interpretation_size()) {
      b->SetColorInterpretation(
          GDALGetColorInterpretationByName(m.color_interpretation(band).c_str()));
    }
    if (m.has_nodata()) b->SetNoDataValue(m.nodata());
  }
  return dataset;
}

// WriteGeoTiff renders `request` strip by strip into a GeoTIFF at `path`.
absl::Status WriteGeoTiff(const Reader& reader, flatpyramid::pyramid::RegionRequest request,
                          const std::string& path, Note* note) {
  // GDAL's own error lines would add to the one line the tool prints.
  flatpyramid::geo::QuietGdalErrors quiet;
  GDALAllRegister();
  GDALSetCacheMax64(kGdalWriteCacheBytes);
  const size_t row_bytes = static_cast<size_t>(request.width) * reader.band_count() *
                           flatpyramid::codec::BytesPerSample(reader.pixel_type());
  const int strip_rows = static_cast<int>(
      std::max<size_t>(256, kStripBytes / std::max<size_t>(row_bytes, 1) / 256 * 256));
  GDALDatasetUniquePtr dataset;
  for (int row = 0; row < request.height; row += strip_rows) {
    const int rows = std::min(strip_rows, request.height - row);
    absl::StatusOr<Region> region = reader.ReadRegion(StripRequest(request, row, rows));
    if (!region.ok()) return region.status();
    if (row == 0) {
      // Every strip reads the level the first one chose.
      request.zoom = region->zoom;
      note->zoom = region->zoom;
      note->bands = region->image.bands();
      absl::StatusOr<GDALDatasetUniquePtr> created =
          CreateGeoTiff(reader, *region, request.width, request.height, path, quiet);
      if (!created.ok()) return created.status();
      dataset = *std::move(created);
    }
    note->tiles_decoded += region->tiles_decoded;
    note->tiles_from_coarser_levels += region->tiles_from_coarser_levels;
    const flatpyramid::codec::Image& image = region->image;
    const GDALDataType type = GdalType(image.type());
    const int sample = GDALGetDataTypeSizeBytes(type);
    if (dataset->RasterIO(GF_Write, 0, row, image.width(), image.height(),
                          const_cast<uint8_t*>(image.data()), image.width(), image.height(), type,
                          image.bands(), nullptr, static_cast<GSpacing>(sample) * image.bands(),
                          static_cast<GSpacing>(image.row_stride()), sample, nullptr) != CE_None) {
      return absl::DataLossError(absl::StrCat("writing ", path, " failed: ", CPLGetLastErrorMsg()));
    }
  }
  // GDAL 3.6 reports errors at close (a full disk) only through the error state.
  CPLErrorReset();
  dataset.reset();
  if (CPLGetLastErrorType() == CE_Failure) {
    return absl::DataLossError(
        absl::StrCat("closing ", path, " failed (disk full?): ", CPLGetLastErrorMsg()));
  }
  return absl::OkStatus();
}

// EncodePng renders `request` whole and encodes it (PNG is written in one piece).
absl::StatusOr<std::string> EncodePng(const Reader& reader,
                                      const flatpyramid::pyramid::RegionRequest& request,
                                      Note* note) {
  absl::StatusOr<Region> region = reader.ReadRegion(request);
  if (!region.ok()) return region.status();
  note->zoom = region->zoom;
  note->bands = region->image.bands();
  note->tiles_decoded = region->tiles_decoded;
  note->tiles_from_coarser_levels = region->tiles_from_coarser_levels;
  std::string bytes;
  if (absl::Status s = flatpyramid::codec::Encode(flatpyramid::codec::CodecId::kPng,
                                                  region->image.view(), {}, &bytes);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write ", flatpyramid::codec::PixelTypeName(region->image.type()),
                     " pixels as PNG (", s.message(), "): use --output=FILE.tif"));
  }
  return bytes;
}

// WriteOutput writes the window to `output` by the output rules (storage/output_file.h).
absl::Status WriteOutput(const Reader& reader, const flatpyramid::pyramid::RegionRequest& request,
                         bool tiff, const std::string& output,
                         const flatpyramid::storage::OutputOptions& options, Note* note) {
  if (!tiff) {
    absl::StatusOr<std::string> png = EncodePng(reader, request, note);
    if (!png.ok()) return png.status();
    return flatpyramid::storage::WriteOutputFile(output, *png, options);
  }
  const std::string temporary = flatpyramid::storage::TemporaryPath(output);
  absl::Status status = WriteGeoTiff(reader, request, temporary, note);
  if (status.ok()) status = flatpyramid::storage::CommitOutput(temporary, output);
  if (!status.ok()) (void)flatpyramid::storage::Env::Default()->RemoveFile(temporary);
  return status;
}

bool ParseDoubles(absl::string_view text, size_t count, std::vector<double>* out) {
  out->clear();
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    double v = 0;
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(part), &v)) return false;
    out->push_back(v);
  }
  return out->size() == count;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "Renders a georeferenced window of a flatpyramid file, in any CRS GDAL knows.\n"
      "  read_region FILE.fpyr --bbox=-34.95,-8.1,-34.8,-7.95 [--bbox_srs=EPSG:4326] "
      "--size=1024,1024 [--resampling=bilinear] --output=window.tif");
  flatpyramid::tools::ParseFlags(kTool, &argc, &argv);
  if (argc != 2) {
    return flatpyramid::tools::UsageError(kTool, "give exactly one argument: the pyramid FILE");
  }
  struct RequiredFlag {
    const char* name;
    const std::string& value;
    const char* example;
  };
  for (const RequiredFlag& flag :
       {RequiredFlag{"bbox", FLAGS_bbox, "--bbox=min_x,min_y,max_x,max_y"},
        RequiredFlag{"size", FLAGS_size, "--size=WIDTH,HEIGHT"},
        RequiredFlag{"output", FLAGS_output, "--output=OUT.tif or --output=OUT.png"}}) {
    if (flag.value.empty()) {
      return flatpyramid::tools::UsageError(
          kTool, absl::StrCat("no --", flag.name, ": give ", flag.example));
    }
  }
  flatpyramid::pyramid::RegionRequest request;
  std::vector<double> values;
  if (!ParseDoubles(FLAGS_bbox, 4, &values)) {
    return flatpyramid::tools::UsageError(
        kTool,
        absl::StrCat("--bbox=\"", FLAGS_bbox, "\" is not four numbers min_x,min_y,max_x,max_y"));
  }
  request.bbox = {values[0], values[1], values[2], values[3]};
  std::vector<std::string> size = absl::StrSplit(FLAGS_size, ',');
  if (size.size() != 2 || !absl::SimpleAtoi(size[0], &request.width) ||
      !absl::SimpleAtoi(size[1], &request.height)) {
    return flatpyramid::tools::UsageError(
        kTool, absl::StrCat("--size=\"", FLAGS_size, "\" is not WIDTH,HEIGHT (e.g. 1024,768)"));
  }
  absl::StatusOr<flatpyramid::pyramid::Resampling> resampling =
      flatpyramid::pyramid::ParseResampling(FLAGS_resampling);
  if (!resampling.ok()) {
    return flatpyramid::tools::UsageError(kTool, resampling.status().message());
  }
  request.resampling = *resampling;
  request.srs = FLAGS_bbox_srs;
  request.zoom = FLAGS_zoom;
  const std::string output = flatpyramid::tools::ResolvePath(FLAGS_output);
  const std::string lower = absl::AsciiStrToLower(output);
  const bool tiff = absl::EndsWith(lower, ".tif") || absl::EndsWith(lower, ".tiff");
  if (!tiff && !absl::EndsWith(lower, ".png")) {
    return flatpyramid::tools::UsageError(
        kTool, absl::StrCat("--output=\"", FLAGS_output, "\" must end in .tif, .tiff or .png"));
  }
  const std::string path = flatpyramid::tools::ResolvePath(argv[1]);
  flatpyramid::storage::OutputOptions output_options;
  output_options.overwrite = FLAGS_overwrite;
  output_options.inputs = {path};
  absl::Status checked = flatpyramid::storage::CheckOutput(output, output_options);
  if (absl::IsAlreadyExists(checked)) {
    checked =
        absl::AlreadyExistsError(absl::StrCat(output, " exists: remove it or pass --overwrite"));
  }
  if (!checked.ok()) return flatpyramid::tools::Fail(kTool, checked);

  absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Open(path);
  if (!reader.ok()) return flatpyramid::tools::Fail(kTool, reader.status());
  Note written;
  const absl::Status status =
      WriteOutput(**reader, request, tiff, output, output_options, &written);
  if (!status.ok()) return flatpyramid::tools::Fail(kTool, status);
  const std::string note = absl::StrCat(
      output, ": ", request.width, "x", request.height, " px, ", written.bands,
      " band(s) from zoom ", written.zoom, " (", written.tiles_decoded, " tiles",
      written.tiles_from_coarser_levels > 0
          ? absl::StrCat(", ", written.tiles_from_coarser_levels, " filled from coarser levels")
          : "",
      ")\n");
  std::fputs(note.c_str(), stderr);
  return 0;
}
