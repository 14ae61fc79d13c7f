#include "serve/region_answer.h"

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "codec/codec.h"
#include "cpl_vsi.h"
#include "gdal_priv.h"
#include "geo/crs.h"
#include "geo/gdal_errors.h"
#include "ogr_spatialref.h"
#include "pyramid/gdal_types.h"
#include "pyramid/resampling.h"
#include "serve/capabilities.h"
#include "serve/handler.h"

namespace flatpyramid {
namespace serve {
namespace {

const std::string* Param(const Route& route, const std::string& key) {
  auto it = route.query.find(key);
  return it == route.query.end() ? nullptr : &it->second;
}

Response BadParam(absl::string_view name, absl::string_view want) {
  return Handler::ErrorResponse(400, absl::StrCat("parameter ", name, ": ", want));
}

bool ParseDoubles(absl::string_view text, size_t count, std::vector<double>* out) {
  out->clear();
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    double v;
    if (!absl::SimpleAtod(part, &v) || !std::isfinite(v)) return false;
    out->push_back(v);
  }
  return out->size() == count;
}

// GeoTiffBytes writes `region` as a deflate-compressed GeoTIFF in memory (/vsimem).
absl::StatusOr<std::string> GeoTiffBytes(const pyramid::Reader& reader,
                                         const pyramid::Region& region) {
  geo::QuietGdalErrors quiet;
  GDALAllRegister();
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  if (driver == nullptr) return absl::InternalError("GDAL has no GTiff driver");
  const codec::Image& image = region.image;
  const GDALDataType type = pyramid::ToGdalType(image.type());
  const std::string path = absl::StrFormat("/vsimem/serve_region_%p.tif", &region);
  char** options = CSLSetNameValue(nullptr, "COMPRESS", "DEFLATE");
  if (reader.metadata().has_alpha()) options = CSLSetNameValue(options, "ALPHA", "YES");
  if (image.bands() >= 3 && type == GDT_Byte) {
    options = CSLSetNameValue(options, "PHOTOMETRIC", "RGB");
  }
  GDALDatasetUniquePtr dataset(
      driver->Create(path.c_str(), image.width(), image.height(), image.bands(), type, options));
  CSLDestroy(options);
  if (dataset == nullptr) return absl::InternalError(quiet.LastMessage());
  std::array<double, 6> geotransform = region.geotransform;
  dataset->SetGeoTransform(geotransform.data());
  OGRSpatialReference srs;
  srs.importFromWkt(region.srs_wkt.c_str());
  dataset->SetSpatialRef(&srs);
  if (reader.metadata().has_nodata()) {
    dataset->GetRasterBand(1)->SetNoDataValue(reader.metadata().nodata());
  }
  const int sample = GDALGetDataTypeSizeBytes(type);
  const CPLErr err =
      dataset->RasterIO(GF_Write, 0, 0, image.width(), image.height(),
                        const_cast<uint8_t*>(image.data()), image.width(), image.height(), type,
                        image.bands(), nullptr, static_cast<GSpacing>(sample) * image.bands(),
                        static_cast<GSpacing>(image.row_stride()), sample, nullptr);
  dataset.reset();
  vsi_l_offset size = 0;
  GByte* bytes = VSIGetMemFileBuffer(path.c_str(), &size, /*bUnlinkAndSeize=*/TRUE);
  std::unique_ptr<GByte, decltype(&VSIFree)> owned(bytes, &VSIFree);
  if (err != CE_None || bytes == nullptr) {
    return absl::InternalError(absl::StrCat("writing the GeoTIFF failed: ", quiet.LastMessage()));
  }
  return std::string(reinterpret_cast<const char*>(bytes), size);
}

}  // namespace

Response RegionAnswer(const pyramid::Reader& reader, const Route& route, int max_side) {
  pyramid::RegionRequest request;
  std::vector<double> bbox;
  const std::string* bbox_text = Param(route, "bbox");
  if (bbox_text == nullptr || !ParseDoubles(*bbox_text, 4, &bbox)) {
    return BadParam("bbox", "give bbox=MIN_X,MIN_Y,MAX_X,MAX_Y (four finite numbers)");
  }
  request.bbox = {bbox[0], bbox[1], bbox[2], bbox[3]};
  if (const std::string* srs = Param(route, "srs")) request.srs = *srs;
  for (const auto& [name, field] : {std::pair<const char*, int*>{"width", &request.width},
                                    std::pair<const char*, int*>{"height", &request.height}}) {
    const std::string* text = Param(route, name);
    if (text == nullptr || !absl::SimpleAtoi(*text, field) || *field < 1 || *field > max_side) {
      return BadParam(name, absl::StrCat("give a whole number 1..", max_side));
    }
  }
  if (const std::string* text = Param(route, "resampling")) {
    absl::StatusOr<pyramid::Resampling> resampling = pyramid::ParseResampling(*text);
    if (!resampling.ok()) return BadParam("resampling", resampling.status().message());
    request.resampling = *resampling;
  }
  absl::StatusOr<pyramid::Region> region = reader.ReadRegion(request);
  if (!region.ok()) {
    return Handler::ErrorResponse(StatusToHttp(region.status()), region.status().message());
  }
  Response response(200);
  if (route.extension == "png") {
    std::string png;
    if (absl::Status s = codec::Encode(codec::CodecId::kPng, region->image.view(), {}, &png);
        !s.ok()) {
      return Handler::ErrorResponse(
          400, absl::StrCat("this pyramid's ", codec::PixelTypeName(reader.pixel_type()),
                            " pixels do not fit a PNG: ask for region.tif"));
    }
    response.AddHeader("Content-Type", "image/png");
    response.SetOwnedBody(std::move(png));
  } else {
    absl::StatusOr<std::string> tiff = GeoTiffBytes(reader, *region);
    if (!tiff.ok()) return Handler::ErrorResponse(500, tiff.status().message());
    response.AddHeader("Content-Type", "image/tiff");
    response.SetOwnedBody(*std::move(tiff));
  }
  return response;
}

Response PointAnswer(const pyramid::Reader& reader, const Route& route) {
  double x = 0, y = 0;
  const std::string* x_text = Param(route, "x");
  const std::string* y_text = Param(route, "y");
  if (x_text == nullptr || !absl::SimpleAtod(*x_text, &x) || !std::isfinite(x)) {
    return BadParam("x", "give a finite number (longitude, or x in srs)");
  }
  if (y_text == nullptr || !absl::SimpleAtod(*y_text, &y) || !std::isfinite(y)) {
    return BadParam("y", "give a finite number (latitude, or y in srs)");
  }
  double lon = x, lat = y;
  if (const std::string* srs_text = Param(route, "srs")) {
    absl::StatusOr<OGRSpatialReference> srs = geo::ParseSrs(*srs_text);
    if (!srs.ok()) return BadParam("srs", srs.status().message());
    OGRSpatialReference wgs84;
    wgs84.SetWellKnownGeogCS("WGS84");
    wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    std::unique_ptr<OGRCoordinateTransformation> transform(
        OGRCreateCoordinateTransformation(&*srs, &wgs84));
    if (transform == nullptr || !transform->Transform(1, &lon, &lat)) {
      return BadParam("srs", "cannot transform this point to longitude/latitude");
    }
  }
  pyramid::SampleMethod method =
      IsElevation(reader) ? pyramid::SampleMethod::kBilinear : pyramid::SampleMethod::kNearest;
  if (const std::string* text = Param(route, "method")) {
    if (*text == "nearest") {
      method = pyramid::SampleMethod::kNearest;
    } else if (*text == "bilinear") {
      method = pyramid::SampleMethod::kBilinear;
    } else {
      return BadParam("method", "give nearest or bilinear");
    }
  }
  std::string json = absl::StrFormat("{\"lon\":%.12g,\"lat\":%.12g,\"values\":[", lon, lat);
  const int bands = reader.band_count() - (reader.metadata().has_alpha() ? 1 : 0);
  for (int band = 0; band < bands; ++band) {
    absl::StatusOr<std::optional<double>> value = reader.Sample(lon, lat, method, band);
    if (!value.ok()) return BadParam("x/y", value.status().message());
    if (band > 0) json += ",";
    json += value->has_value() ? absl::StrFormat("%.17g", **value) : "null";
  }
  Response response(200);
  response.AddHeader("Content-Type", "application/json");
  response.SetOwnedBody(json + "]}\n");
  return response;
}

}  // namespace serve
}  // namespace flatpyramid
