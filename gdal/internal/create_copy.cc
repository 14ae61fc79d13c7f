#include "gdal/internal/create_copy.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "cpl_string.h"
#include "cpl_vsi.h"
#include "gdal/internal/dataset.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/format.h"
#include "pyramid/resampling.h"

namespace flatpyramid {
namespace gdal_driver {

namespace {

// kOptionFields pairs each -co name with the builder's field (and tool flag) name.
constexpr std::pair<const char*, const char*> kOptionFields[] = {
    {"OVERVIEW_RESAMPLING", "overview_resampling"},
    {"ZOOM_LEVEL_STRATEGY", "zoom_strategy"},
    {"TILE_MATRIX_SET", "tile_matrix_set"},
    {"TILE_MATRIX_SET", "tms"},
    {"MAX_ERROR", "max_error_pixels"},
    {"RESAMPLING", "resampling"},
    {"SOURCE_SRS", "source_srs"},
    {"NUM_THREADS", "threads"},
    {"BLOCKSIZE", "tile_size"},
    {"MIN_ZOOM", "min_zoom"},
    {"MAX_ZOOM", "max_zoom"},
    {"QUALITY", "quality"},
    {"NODATA", "nodata"},
    {"CODEC", "codec"},
    {"BANDS", "bands"},
    {"ALLOW_LARGE_BUILD", "allow_large_build"},
};

absl::Status BadOption(absl::string_view name, absl::string_view value, absl::string_view want) {
  return absl::InvalidArgumentError(absl::StrCat("-co ", name, "=", value, " is invalid: ", want));
}

// ParseOptionalInt sets `*value` from option `name` when it is given.
absl::Status ParseOptionalInt(CSLConstList options, const char* name, std::optional<int>* value) {
  const char* text = CSLFetchNameValue(options, name);
  if (text == nullptr) return absl::OkStatus();
  int parsed = 0;
  if (!absl::SimpleAtoi(text, &parsed)) return BadOption(name, text, "give a whole number");
  *value = parsed;
  return absl::OkStatus();
}

absl::Status ParseInt(CSLConstList options, const char* name, int* value) {
  std::optional<int> parsed;
  if (absl::Status s = ParseOptionalInt(options, name, &parsed); !s.ok()) return s;
  if (parsed.has_value()) *value = *parsed;
  return absl::OkStatus();
}

absl::Status ParseNumbers(CSLConstList options, pyramid::BuildOptions* build) {
  if (absl::Status s = ParseInt(options, "BLOCKSIZE", &build->tile_size); !s.ok()) return s;
  if (absl::Status s = ParseInt(options, "MIN_ZOOM", &build->min_zoom); !s.ok()) return s;
  if (absl::Status s = ParseInt(options, "QUALITY", &build->quality); !s.ok()) return s;
  if (absl::Status s = ParseOptionalInt(options, "MAX_ZOOM", &build->max_zoom); !s.ok()) return s;
  const char* threads = CSLFetchNameValue(options, "NUM_THREADS");
  if (threads != nullptr && !EQUAL(threads, "ALL_CPUS")) {
    int count = 0;
    if (!absl::SimpleAtoi(threads, &count)) {
      return BadOption("NUM_THREADS", threads, "give a number of threads or ALL_CPUS");
    }
    build->threads = count;
  }
  if (const char* text = CSLFetchNameValue(options, "MAX_ERROR")) {
    if (!absl::SimpleAtod(text, &build->max_error_pixels) || build->max_error_pixels < 0) {
      return BadOption("MAX_ERROR", text, "give a number of pixels, 0 or more");
    }
  }
  if (const char* text = CSLFetchNameValue(options, "NODATA")) {
    double nodata = 0;
    if (!absl::SimpleAtod(text, &nodata)) return BadOption("NODATA", text, "give a number");
    build->nodata = nodata;
  }
  if (const char* text = CSLFetchNameValue(options, "BANDS")) {
    for (absl::string_view item : absl::StrSplit(text, ',')) {
      int band = 0;
      if (!absl::SimpleAtoi(item, &band)) {
        return BadOption("BANDS", text, "give 1-based band numbers separated by commas");
      }
      build->bands.push_back(band);
    }
  }
  return absl::OkStatus();
}

// ParseNames parses the options that name things: tile matrix set, zoom strategy, codec and
// resampling kernels (GDAL's option values are case-insensitive).
absl::Status ParseNames(CSLConstList options, pyramid::BuildOptions* build) {
  if (const char* text = CSLFetchNameValue(options, "TILE_MATRIX_SET")) {
    absl::StatusOr<pyramid::TileMatrixSetId> id = pyramid::ParseTileMatrixSetId(
        EQUAL(text, "GoogleMapsCompatible") || EQUAL(text, "WebMercatorQuad") ? "WebMercatorQuad"
        : EQUAL(text, "WorldCRS84Quad")                                       ? "WorldCRS84Quad"
                                                                              : text);
    if (!id.ok()) {
      return BadOption("TILE_MATRIX_SET", text, "use WebMercatorQuad or WorldCRS84Quad");
    }
    build->tile_matrix_set = *id;
  }
  if (const char* text = CSLFetchNameValue(options, "ZOOM_LEVEL_STRATEGY")) {
    // GDAL's COG driver says AUTO for what geo calls nearest.
    absl::StatusOr<geo::ZoomStrategy> strategy =
        geo::ParseZoomStrategy(EQUAL(text, "AUTO") ? "nearest" : absl::AsciiStrToLower(text));
    if (!strategy.ok()) return BadOption("ZOOM_LEVEL_STRATEGY", text, "use AUTO, LOWER or UPPER");
    build->zoom_strategy = *strategy;
  }
  if (const char* text = CSLFetchNameValue(options, "CODEC")) {
    absl::StatusOr<pyramid::TileCodec> codec = pyramid::ParseTileCodec(absl::AsciiStrToLower(text));
    if (!codec.ok())
      return BadOption("CODEC", text, "use jpeg, png, webp, webp_lossless or elevation");
    build->codec = *codec;
  }
  if (const char* text = CSLFetchNameValue(options, "RESAMPLING")) {
    absl::StatusOr<pyramid::Resampling> r = pyramid::ParseResampling(absl::AsciiStrToLower(text));
    if (!r.ok()) return BadOption("RESAMPLING", text, r.status().message());
    build->resampling = *r;
  }
  if (const char* text = CSLFetchNameValue(options, "OVERVIEW_RESAMPLING")) {
    absl::StatusOr<pyramid::Resampling> r = pyramid::ParseResampling(absl::AsciiStrToLower(text));
    if (!r.ok()) return BadOption("OVERVIEW_RESAMPLING", text, r.status().message());
    build->overview_resampling = *r;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<pyramid::BuildOptions> ParseCreationOptions(CSLConstList options) {
  pyramid::BuildOptions build;
  // GDAL's block cache is the host program's (QGIS, a Python session): leave it alone.
  build.set_gdal_cache = false;
  if (absl::Status s = ParseNames(options, &build); !s.ok()) return s;
  if (absl::Status s = ParseNumbers(options, &build); !s.ok()) return s;
  if (const char* srs = CSLFetchNameValue(options, "SOURCE_SRS")) build.source_srs = srs;
  build.allow_large_build = CPLFetchBool(options, "ALLOW_LARGE_BUILD", false);
  for (CSLConstList item = options; item != nullptr && *item != nullptr; ++item) {
    char* key = nullptr;
    const char* value = CPLParseNameValue(*item, &key);
    if (key != nullptr && value != nullptr) build.creation_options[key] = value;
    CPLFree(key);
  }
  return build;
}

std::string FlagsToCreationOptions(std::string message) {
  for (const auto& [name, field] : kOptionFields) {
    const std::string co = absl::StrCat("-co ", name);
    message = absl::StrReplaceAll(
        message, {{absl::StrCat("BuildOptions::", field), co}, {absl::StrCat("--", field), co}});
  }
  return absl::StrReplaceAll(message, {{"--output", "the output"}});
}

namespace {

// VrtXml returns a VRT's XML, or "" when `source` is not a VRT.
std::string VrtXml(GDALDataset* source) {
  if (source->GetDriver() == nullptr || !EQUAL(source->GetDriver()->GetDescription(), "VRT")) {
    return "";
  }
  char** xml = source->GetMetadata("xml:VRT");
  return xml != nullptr && xml[0] != nullptr ? xml[0] : "";
}

// SourceName returns what BuildOptions::inputs names `source` by, or "" when only a copy
// can (an in-memory dataset). `*vsimem` is set to a file to remove after the build.
std::string SourceName(GDALDataset* source, std::string* vsimem) {
  const std::string description = source->GetDescription();
  const std::string xml = VrtXml(source);
  if (!xml.empty()) {
    // A VRT file unchanged since it was opened is named by its path, so that its relative
    // source paths stay relative to it; an in-memory one (gdal_translate's) is written to
    // /vsimem/, where the builder's threads open it (its source paths are absolute).
    VSIStatBufL stat;
    if (!description.empty() && VSIStatL(description.c_str(), &stat) == 0) {
      std::unique_ptr<GDALDataset> reopened(
          GDALDataset::Open(description.c_str(), GDAL_OF_RASTER, nullptr, nullptr));
      if (reopened != nullptr && VrtXml(reopened.get()) == xml) return description;
    }
    static std::atomic<int> count{0};
    *vsimem = absl::StrCat("/vsimem/flatpyramid_source_", ++count, ".vrt");
    VSILFILE* file = VSIFOpenL(vsimem->c_str(), "wb");
    if (file == nullptr) return xml;
    VSIFWriteL(xml.data(), 1, xml.size(), file);
    VSIFCloseL(file);
    return *vsimem;
  }
  const bool in_memory = source->GetDriver() == nullptr ||
                         EQUAL(source->GetDriver()->GetDescription(), "MEM") || description.empty();
  return in_memory ? "" : description;
}

// CopyToTemporaryGeoTiff writes `source` to `path` as a tiled GeoTIFF.
absl::Status CopyToTemporaryGeoTiff(GDALDataset* source, const std::string& path,
                                    GDALProgressFunc progress, void* progress_data) {
  GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
  if (gtiff == nullptr) {
    return absl::FailedPreconditionError(
        "an in-memory source is copied to a GeoTIFF first, and this GDAL has no GTiff driver");
  }
  const char* const options[] = {"TILED=YES", "BIGTIFF=IF_SAFER", nullptr};
  std::unique_ptr<GDALDataset> copy(gtiff->CreateCopy(
      path.c_str(), source, FALSE, const_cast<char**>(options), progress, progress_data));
  if (copy == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot copy the in-memory source to ", path, ": ", CPLGetLastErrorMsg()));
  }
  return absl::OkStatus();
}

// Build runs the build with GDAL's progress callback between `start` and 1; the callback
// returning FALSE stops it with Cancelled, and the unfinished output is removed.
absl::Status Build(pyramid::BuildOptions options, GDALProgressFunc progress, void* progress_data,
                   double start) {
  bool stop = false;
  if (progress != nullptr) {
    options.progress = [&stop, progress, progress_data, start](const pyramid::BuildProgress& p) {
      const double done = p.units_total == 0 ? 1.0
                                             : static_cast<double>(p.units_done) /
                                                   static_cast<double>(p.units_total);
      if (!progress(start + (1 - start) * (p.finished ? 1.0 : done), nullptr, progress_data)) {
        stop = true;
      }
    };
    options.cancelled = [&stop] { return stop; };
  }
  const std::string output = options.output;
  absl::StatusOr<pyramid::BuildResult> result = pyramid::BuildPyramid(options);
  if (absl::IsCancelled(result.status())) {
    // GDAL has no way to resume, so the resumable unfinished file and its side files
    // ("<output>.resume-*", "<output>.spill-*") are of no use to its users.
    VSIUnlink(output.c_str());
    const std::string directory = CPLGetPath(output.c_str());
    const std::string name = CPLGetFilename(output.c_str());
    char** names = VSIReadDir(directory.c_str());
    for (char** side = names; side != nullptr && *side != nullptr; ++side) {
      if (absl::StartsWith(*side, name + ".resume-") || absl::StartsWith(*side, name + ".spill-")) {
        VSIUnlink(CPLFormFilename(directory.c_str(), *side, nullptr));
      }
    }
    CSLDestroy(names);
    return absl::CancelledError(
        "build cancelled by the progress callback; the unfinished file was removed");
  }
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        FlagsToCreationOptions(std::string(result.status().message())));
  }
  return absl::OkStatus();
}

}  // namespace

GDALDataset* CreateCopy(const char* path, GDALDataset* source, int /*strict*/, char** options,
                        GDALProgressFunc progress, void* progress_data) {
  const auto fail = [path](const absl::Status& status) -> GDALDataset* {
    CPLError(CE_Failure, absl::IsCancelled(status) ? CPLE_UserInterrupt : CPLE_AppDefined,
             "FlatPyramid: %s: %s", path, std::string(status.message()).c_str());
    return nullptr;
  };
  absl::StatusOr<pyramid::BuildOptions> build = ParseCreationOptions(options);
  if (!build.ok()) return fail(build.status());
  build->output = path;
  build->tool_version =
      absl::StrCat("flatpyramid GDAL driver 1 (GDAL ", GDALVersionInfo("RELEASE_NAME"), ")");
  std::string vsimem;
  std::string input = SourceName(source, &vsimem);
  std::string temporary;
  double start = 0;
  if (input.empty()) {
    temporary = absl::StrCat(path, ".source.tif");
    VSIStatBufL stat;
    if (VSIStatL(temporary.c_str(), &stat) == 0) {
      return fail(absl::AlreadyExistsError(
          absl::StrCat("an in-memory source is copied to ", temporary,
                       " first, and that file exists: remove it or choose another output name")));
    }
    start = 0.25;
    void* scaled = GDALCreateScaledProgress(0, start, progress, progress_data);
    absl::Status copied = CopyToTemporaryGeoTiff(
        source, temporary, progress == nullptr ? nullptr : GDALScaledProgress, scaled);
    GDALDestroyScaledProgress(scaled);
    if (!copied.ok()) {
      VSIUnlink(temporary.c_str());
      return fail(copied);
    }
    input = temporary;
  }
  build->inputs = {input};
  absl::Status built = Build(*std::move(build), progress, progress_data, start);
  if (!temporary.empty()) VSIUnlink(temporary.c_str());
  if (!vsimem.empty()) VSIUnlink(vsimem.c_str());
  if (!built.ok()) return fail(built);
  absl::StatusOr<std::unique_ptr<FlatPyramidDataset>> dataset = FlatPyramidDataset::Open(path);
  if (!dataset.ok()) return fail(dataset.status());
  return dataset->release();
}

}  // namespace gdal_driver
}  // namespace flatpyramid
