#include "python/internal/build_binding.h"

#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "geo/tile_matrix_set.h"
#include "pyramid/build_options.h"
#include "pyramid/builder.h"
#include "pyramid/format.h"
#include "pyramid/resampling.h"
#include "python/internal/errors.h"
#include "python/internal/pyramid_binding.h"

namespace flatpyramid {
namespace python {
namespace {

namespace py = pybind11;

// Inputs accepts one path or a sequence of paths (str or os.PathLike).
std::vector<std::string> Inputs(const py::object& inputs) {
  py::module_ os = py::module_::import("os");
  if (py::isinstance<py::str>(inputs) || py::hasattr(inputs, "__fspath__")) {
    return {py::cast<std::string>(os.attr("fspath")(inputs))};
  }
  std::vector<std::string> paths;
  for (py::handle input : py::iter(inputs)) {
    paths.push_back(py::cast<std::string>(os.attr("fspath")(input)));
  }
  return paths;
}

// Parsed returns the value of a typed option parsed from its name, or raises ValueError
// naming the keyword argument.
template <typename T>
T Parsed(const std::string& name, py::handle value, absl::StatusOr<T> parsed) {
  if (!parsed.ok()) {
    throw py::value_error(absl::StrCat(name, "=", py::str(py::repr(value)).cast<std::string>(),
                                       ": ", parsed.status().message()));
  }
  return *std::move(parsed);
}

// ProgressBridge calls the Python progress callable and checks for signals, on the build's
// calling thread with the GIL taken; the first Python exception cancels the build.
class ProgressBridge {
 public:
  explicit ProgressBridge(py::object progress) : progress_(std::move(progress)) {}

  void Report(const pyramid::BuildProgress& p) {
    py::gil_scoped_acquire acquire;
    if (error_.has_value()) return;
    const double fraction =
        p.finished || p.units_total == 0 ? 1.0 : static_cast<double>(p.units_done) / p.units_total;
    try {
      if (!progress_.is_none()) {
        progress_(fraction,
                  absl::StrFormat("%d of %d blocks, %d tiles, %.1f s", p.units_done, p.units_total,
                                  p.tiles_written, absl::ToDoubleSeconds(p.elapsed)));
      }
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    } catch (py::error_already_set& e) {
      error_.emplace(std::move(e));
    }
  }

  bool cancelled() const { return error_.has_value(); }
  // Rethrow raises the exception that cancelled the build. REQUIRES: cancelled(), the GIL.
  [[noreturn]] void Rethrow() { throw std::move(*error_); }

 private:
  py::object progress_;
  std::optional<py::error_already_set> error_;
};

// Option converts keyword argument `name`, raising TypeError that names it (not pybind11's
// RuntimeError) when `value` has the wrong type.
template <typename T>
T Option(const std::string& name, py::handle value) {
  try {
    return py::cast<T>(value);
  } catch (const py::cast_error&) {
    throw py::type_error(absl::StrCat("build() option ", name, "=",
                                      py::str(py::repr(value)).cast<std::string>(),
                                      " has the wrong type (see help(flatpyramid.build))"));
  }
}

py::dict Build(const py::object& inputs, const py::object& output, const py::kwargs& kwargs) {
  pyramid::BuildOptions options;
  options.inputs = Inputs(inputs);
  options.output = py::cast<std::string>(py::module_::import("os").attr("fspath")(output));
  py::object progress = py::none();
  std::map<std::string, std::string> recorded;
  for (const auto& [key, value] : kwargs) {
    const std::string name = py::cast<std::string>(key);
    if (name == "progress") {
      progress = py::reinterpret_borrow<py::object>(value);
      if (!progress.is_none() && !PyCallable_Check(progress.ptr())) {
        throw py::type_error("progress must be a callable progress(fraction, message)");
      }
      continue;
    }
    if (value.is_none()) continue;  // None: the option's default.
    if (name == "tile_matrix_set") {
      options.tile_matrix_set =
          Parsed(name, value, pyramid::ParseTileMatrixSetId(Option<std::string>(name, value)));
    } else if (name == "tile_size") {
      options.tile_size = Option<int>(name, value);
    } else if (name == "min_zoom") {
      options.min_zoom = Option<int>(name, value);
    } else if (name == "max_zoom") {
      options.max_zoom = Option<int>(name, value);
    } else if (name == "zoom_strategy") {
      options.zoom_strategy =
          Parsed(name, value, geo::ParseZoomStrategy(Option<std::string>(name, value)));
    } else if (name == "codec") {
      options.codec =
          Parsed(name, value, pyramid::ParseTileCodec(Option<std::string>(name, value)));
    } else if (name == "quality") {
      options.quality = Option<int>(name, value);
    } else if (name == "resampling") {
      options.resampling =
          Parsed(name, value, pyramid::ParseResampling(Option<std::string>(name, value)));
    } else if (name == "overview_resampling") {
      options.overview_resampling =
          Parsed(name, value, pyramid::ParseResampling(Option<std::string>(name, value)));
    } else if (name == "bands") {
      options.bands = Option<std::vector<int>>(name, value);
    } else if (name == "source_srs") {
      options.source_srs = Option<std::string>(name, value);
    } else if (name == "nodata") {
      options.nodata = Option<double>(name, value);
    } else if (name == "threads") {
      const int threads = Option<int>(name, value);
      if (threads != 0) options.threads = threads;  // 0: one per core, as build_pyramid.
    } else if (name == "resume") {
      options.resume = Option<bool>(name, value);
    } else if (name == "overwrite") {
      options.overwrite = Option<bool>(name, value);
    } else if (name == "allow_large_build") {
      options.allow_large_build = Option<bool>(name, value);
    } else if (name == "set_gdal_cache") {
      options.set_gdal_cache = Option<bool>(name, value);
    } else if (name == "commit_seconds") {
      const double seconds = Option<double>(name, value);
      if (!(seconds >= 0)) throw py::value_error("commit_seconds must be >= 0");
      options.commit_interval = absl::Seconds(seconds);
    } else {
      throw py::type_error(absl::StrCat("build() got an unexpected keyword argument '", name,
                                        "' (see help(flatpyramid.build))"));
    }
    // Like build_pyramid's creation_options: what shapes the tiles, as given.
    if (name != "threads" && name != "resume" && name != "overwrite" && name != "commit_seconds" &&
        name != "allow_large_build" && name != "set_gdal_cache") {
      recorded[name] = py::str(value);
    }
  }
  options.creation_options = std::move(recorded);

  ProgressBridge bridge(progress);
  options.progress = [&bridge](const pyramid::BuildProgress& p) { bridge.Report(p); };
  options.cancelled = [&bridge] {
    py::gil_scoped_acquire acquire;
    return bridge.cancelled();
  };
  absl::StatusOr<pyramid::BuildResult> result;
  {
    py::gil_scoped_release release;
    result = pyramid::BuildPyramid(options);
  }
  if (bridge.cancelled()) bridge.Rethrow();
  if (!result.ok()) {
    // The library names BuildOptions fields; here they are keyword arguments.
    ThrowStatus(
        absl::Status(result.status().code(),
                     absl::StrReplaceAll(result.status().message(), {{"BuildOptions::", ""}})));
  }

  py::dict summary;
  summary["output"] = options.output;
  summary["tiles_written"] = result->tiles_written;
  summary["unique_tiles"] = result->unique_tiles;
  summary["units"] = result->units;
  summary["metadata"] = MetadataDict(result->metadata);
  return summary;
}

}  // namespace

void RegisterBuild(py::module_& module) {
  module.def("build", &Build, py::arg("inputs"), py::arg("output"),
             R"doc(build(inputs, output, *, progress=None, **options) -> dict

Builds the pyramid file `output` from `inputs` (one path or a list of rasters GDAL opens;
several are mosaicked, later ones on top), like the build_pyramid tool. Keyword options,
each defaulting to build_pyramid's flag of the same name (None also means the default):
  tile_matrix_set="WebMercatorQuad" | "WorldCRS84Quad"   (build_pyramid --tms)
  tile_size=256 | 512, min_zoom=0, max_zoom=None (from the source resolution),
  zoom_strategy="nearest" | "lower" | "upper",
  codec=None ("jpeg", "png", "webp", "webp_lossless", "elevation"; None picks one),
  quality=85, resampling="bilinear" (nearest, bilinear, cubic, lanczos, average, mode),
  overview_resampling=None (average, mode, nearest, bilinear, cubic, lanczos),
  bands=None (1-based source bands, e.g. [3, 2, 1]), source_srs=None, nodata=None,
  threads=0 (one per core), resume=False, overwrite=False, commit_seconds=3,
  allow_large_build=False (builds far finer than the source or of very many tiles),
  set_gdal_cache=True (False when other threads use GDAL, e.g. osgeo.gdal, meanwhile).
progress(fraction, message) is called after every committed block of tiles and at the end.
The build runs without the GIL. Ctrl-C (KeyboardInterrupt), or an exception raised by
progress, stops it at a commit point and is re-raised: build again with resume=True and the
same options to continue. Returns a dict: output, tiles_written, unique_tiles, units and the
metadata written. Raises FileNotFoundError (missing input), FileExistsError (output exists,
no overwrite/resume), ValueError (bad option values), OSError (I/O).)doc");
}

}  // namespace python
}  // namespace flatpyramid
