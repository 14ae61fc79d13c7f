// Build time of BuildPyramid against GDAL's own COG writer (gdal_translate -of COG with the
// GoogleMapsCompatible tiling scheme) doing the same job in the same run: same source, zoom
// levels, tile size, warp and overview resampling, comparable compression, all cores.
//
//   bazel run --config=opt //pyramid:builder_benchmark
//
// Cases: Landsat (L7_ETMs.tif bands 3,2,1, JPEG q85, zoom 0..14) and etopo20 (float32 global
// relief 0..360, lossless, WebMercatorQuad zoom 0..4; COG: ZSTD + predictor).
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "cpl_conv.h"
#include "gdal_priv.h"
#include "gdal_utils.h"
#include "geo/gdal_errors.h"
#include "pyramid/builder.h"
#include "testing/files.h"

namespace flatpyramid {
namespace pyramid {
namespace {

struct Case {
  const char* name;
  std::string input;
  std::vector<int> bands;
  std::string source_srs;
  int max_zoom;
  std::vector<std::string> cog_options;
};

Case Landsat() {
  return {"landsat", test::DataPath("L7_ETMs.tif"),  {3, 2, 1}, "",
          14,        {"COMPRESS=JPEG", "QUALITY=85"}};
}

Case Etopo() {
  return {"etopo20", test::DataPath("etopo20.cdf"),     {}, "EPSG:4326",
          4,         {"COMPRESS=ZSTD", "PREDICTOR=YES"}};
}

void BM_BuildPyramid(benchmark::State& state, Case c) {
  test::TempDir dir;
  for (auto _ : state) {
    BuildOptions options;
    options.inputs = {c.input};
    options.bands = c.bands;
    options.source_srs = c.source_srs;
    options.max_zoom = c.max_zoom;
    options.output = dir.Path("out.fpyr");
    options.overwrite = true;
    absl::StatusOr<BuildResult> result = BuildPyramid(options);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
    state.counters["tiles"] = static_cast<double>(result->tiles_written);
  }
}

void BM_GdalCog(benchmark::State& state, Case c) {
  test::TempDir dir;
  GDALAllRegister();
  // The same source as BuildPyramid sees: selected bands, the CRS given.
  std::vector<std::string> vrt_args = {"-of", "VRT"};
  for (int b : c.bands) {
    vrt_args.push_back("-b");
    vrt_args.push_back(absl::StrCat(b));
  }
  if (!c.source_srs.empty()) {
    vrt_args.push_back("-a_srs");
    vrt_args.push_back(c.source_srs);
  }
  std::vector<char*> argv;
  for (std::string& a : vrt_args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALTranslateOptions* vrt_options = GDALTranslateOptionsNew(argv.data(), nullptr);
  GDALDatasetH src = GDALOpen(c.input.c_str(), GA_ReadOnly);
  const std::string vrt_path = dir.Path("source.vrt");
  GDALDatasetH vrt = GDALTranslate(vrt_path.c_str(), src, vrt_options, nullptr);
  GDALTranslateOptionsFree(vrt_options);
  GDALClose(vrt);  // Written to disk; reopened so it does not point at the closed source.
  GDALClose(src);
  vrt = GDALOpen(vrt_path.c_str(), GA_ReadOnly);
  if (c.source_srs == "EPSG:4326") {
    // What BuildPyramid does for 0..360 grids, so both cover the globe.
    CPLSetConfigOption("CENTER_LONG", "200.1666665");
  }
  for (auto _ : state) {
    std::vector<std::string> args = {"-of", "COG",
                                     "-co", "TILING_SCHEME=GoogleMapsCompatible",
                                     "-co", absl::StrCat("ZOOM_LEVEL=", c.max_zoom),
                                     "-co", "WARP_RESAMPLING=BILINEAR",
                                     "-co", "OVERVIEW_RESAMPLING=AVERAGE",
                                     "-co", "NUM_THREADS=ALL_CPUS"};
    for (const std::string& o : c.cog_options) {
      args.push_back("-co");
      args.push_back(o);
    }
    std::vector<char*> cog_argv;
    for (std::string& a : args) cog_argv.push_back(a.data());
    cog_argv.push_back(nullptr);
    GDALTranslateOptions* options = GDALTranslateOptionsNew(cog_argv.data(), nullptr);
    GDALDatasetH cog;
    {
      geo::QuietGdalErrors quiet;
      cog = GDALTranslate(dir.Path("out.tif").c_str(), vrt, options, nullptr);
    }
    GDALTranslateOptionsFree(options);
    if (cog == nullptr) {
      state.SkipWithError("gdal_translate -of COG failed");
      break;
    }
    GDALClose(cog);
  }
  CPLSetConfigOption("CENTER_LONG", nullptr);
  GDALClose(vrt);
}

BENCHMARK_CAPTURE(BM_BuildPyramid, landsat, Landsat())
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(BM_GdalCog, landsat, Landsat())
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(BM_BuildPyramid, etopo20, Etopo())
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(BM_GdalCog, etopo20, Etopo())
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

}  // namespace
}  // namespace pyramid
}  // namespace flatpyramid

int main(int argc, char** argv) {
  // `bazel run` starts in the runfiles tree without TEST_SRCDIR, which DataPath reads.
  setenv("TEST_SRCDIR", "..", /*overwrite=*/0);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
