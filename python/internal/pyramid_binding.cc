#include "python/internal/pyramid_binding.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "geo/crs.h"
#include "google/protobuf/util/json_util.h"
#include "ogr_spatialref.h"
#include "pyramid/format.h"
#include "pyramid/reader.h"
#include "pyramid/resampling.h"
#include "python/internal/arrays.h"
#include "python/internal/errors.h"
#include "storage/store.h"

namespace flatpyramid {
namespace python {
namespace {

namespace py = pybind11;
using pyramid::Reader;

// Pyramid is the Python object behind flatpyramid.Pyramid.
class Pyramid {
 public:
  explicit Pyramid(std::shared_ptr<const Reader> reader) : reader_(std::move(reader)) {}

  // reader returns the open Reader, or raises ValueError after close(). The caller keeps the
  // returned reference while it works without the GIL, so a concurrent close() cannot free it.
  std::shared_ptr<const Reader> reader() const {
    if (reader_ == nullptr) throw py::value_error("I/O operation on a closed Pyramid");
    return reader_;
  }
  void Close() { reader_.reset(); }
  bool closed() const { return reader_ == nullptr; }

 private:
  std::shared_ptr<const Reader> reader_;
};

// TileBuffer exports a tile's stored bytes (inside the Reader's memory map) through the buffer
// protocol; it holds the Reader, so the map outlives every memoryview of it.
struct TileBuffer {
  std::shared_ptr<const Reader> reader;
  absl::string_view bytes;
};

std::shared_ptr<const Reader> OpenReader(const std::string& path, double cache_mb) {
  if (!(cache_mb >= 0) || cache_mb > 1 << 20) {
    throw py::value_error(absl::StrCat("cache_mb must be 0..1048576, not ", cache_mb));
  }
  pyramid::ReaderOptions options;
  options.private_cache_bytes = static_cast<size_t>(cache_mb * (1 << 20));
  absl::StatusOr<std::unique_ptr<Reader>> reader;
  {
    py::gil_scoped_release release;
    reader = Reader::Open(path, options);
  }
  if (!reader.ok()) {
    // A file that exists but is no pyramid is corrupt input, not a bad argument.
    if (reader.status().code() == absl::StatusCode::kInvalidArgument) {
      ThrowCorrupt(reader.status());
    }
    ThrowStatus(reader.status());
  }
  return std::shared_ptr<const Reader>(std::move(*reader));
}

// TileCoordinates checks z/x/y for a tile call and converts them: ValueError outside
// 0..2^32-1 (the Reader names positions outside the matrix itself).
std::tuple<int, uint32_t, uint32_t> TileCoordinates(int64_t z, int64_t x, int64_t y) {
  if (z < 0 || z > 30 || x < 0 || y < 0 || x > UINT32_MAX || y > UINT32_MAX) {
    throw py::value_error(
        absl::StrCat("tile ", z, "/", x, "/", y, ": z must be 0..30 and x, y non-negative"));
  }
  return {static_cast<int>(z), static_cast<uint32_t>(x), static_cast<uint32_t>(y)};
}

py::object Tile(const Pyramid& self, int64_t z64, int64_t x64, int64_t y64) {
  const auto [z, x, y] = TileCoordinates(z64, x64, y64);
  std::shared_ptr<const Reader> reader = self.reader();
  absl::StatusOr<std::shared_ptr<const codec::Image>> tile;
  {
    py::gil_scoped_release release;
    tile = reader->GetTile(z, x, y);
  }
  if (!tile.ok()) {
    if (tile.status().code() == absl::StatusCode::kNotFound) return py::none();
    ThrowStatus(tile.status());
  }
  return SharedImageArray(std::move(*tile));
}

py::object TileBytes(const Pyramid& self, int64_t z64, int64_t x64, int64_t y64) {
  const auto [z, x, y] = TileCoordinates(z64, x64, y64);
  std::shared_ptr<const Reader> reader = self.reader();
  absl::StatusOr<absl::string_view> bytes = reader->GetTileBytes(z, x, y);
  if (!bytes.ok()) {
    if (bytes.status().code() == absl::StatusCode::kNotFound) return py::none();
    ThrowStatus(bytes.status());
  }
  py::object buffer = py::cast(TileBuffer{std::move(reader), *bytes});
  return py::memoryview(buffer);
}

// Tiles lists level z's tile coordinates in key (Morton) order.
py::array_t<uint32_t> Tiles(const Pyramid& self, int z) {
  std::shared_ptr<const Reader> reader = self.reader();
  const pyramid::Level* level = reader->FindLevel(z);
  if (level == nullptr) {
    throw py::value_error(absl::StrCat("the pyramid has no level ", z, " (levels ",
                                       reader->min_zoom(), "..", reader->max_zoom(), ")"));
  }
  const storage::Reader& store = reader->storage();
  const uint64_t count = store.entry_count(level->section());
  py::array_t<uint32_t> xy({static_cast<py::ssize_t>(count), py::ssize_t{2}});
  uint32_t* out = xy.mutable_data();
  {
    py::gil_scoped_release release;
    for (uint64_t i = 0; i < count; ++i) {
      pyramid::TileFromKey(store.KeyAt(level->section(), i), &out[2 * i], &out[2 * i + 1]);
    }
  }
  return xy;
}

pyramid::Resampling ParseResamplingOrRaise(const std::string& name) {
  absl::StatusOr<pyramid::Resampling> resampling = pyramid::ParseResampling(name);
  if (!resampling.ok()) ThrowStatus(resampling.status());
  return *resampling;
}

py::tuple Read(const Pyramid& self, std::tuple<double, double, double, double> bbox,
               const std::string& crs, std::tuple<int, int> size, const std::string& resampling,
               std::optional<int> zoom) {
  pyramid::RegionRequest request;
  request.bbox = {std::get<0>(bbox), std::get<1>(bbox), std::get<2>(bbox), std::get<3>(bbox)};
  request.srs = crs;
  request.width = std::get<0>(size);
  request.height = std::get<1>(size);
  request.resampling = ParseResamplingOrRaise(resampling);
  request.zoom = zoom.value_or(-1);
  std::shared_ptr<const Reader> reader = self.reader();
  absl::StatusOr<pyramid::Region> region;
  {
    py::gil_scoped_release release;
    region = reader->ReadRegion(request);
  }
  if (!region.ok()) {
    // Too large a window is the caller's request, not the machine's fault.
    if (region.status().code() == absl::StatusCode::kResourceExhausted) {
      throw py::value_error(std::string(region.status().message()));
    }
    ThrowStatus(region.status());
  }
  const std::array<double, 6>& g = region->geotransform;
  return py::make_tuple(OwnedImageArray(std::move(region->image)),
                        py::make_tuple(g[0], g[1], g[2], g[3], g[4], g[5]));
}

// ToLonLat transforms n points from `crs` to WGS 84 longitude / latitude in place.
void ToLonLat(const std::string& crs, double* xs, double* ys, size_t n) {
  absl::StatusOr<OGRSpatialReference> source = geo::ParseSrs(crs);
  if (!source.ok()) ThrowStatus(source.status());
  OGRSpatialReference wgs84;
  wgs84.SetWellKnownGeogCS("WGS84");
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  if (source->IsSame(&wgs84)) return;
  std::unique_ptr<OGRCoordinateTransformation> transform(
      OGRCreateCoordinateTransformation(&*source, &wgs84));
  if (transform == nullptr) {
    throw py::value_error(absl::StrCat("crs \"", crs, "\" cannot be transformed to WGS 84"));
  }
  py::gil_scoped_release release;
  std::vector<int> ok(n);
  transform->Transform(n, xs, ys, nullptr, ok.data());
  for (size_t i = 0; i < n; ++i) {
    if (!ok[i]) xs[i] = ys[i] = std::nan("");
  }
}

py::array_t<double> Sample(const Pyramid& self,
                           py::array_t<double, py::array::c_style | py::array::forcecast> xs,
                           py::array_t<double, py::array::c_style | py::array::forcecast> ys,
                           const std::string& crs, const std::string& method, int band) {
  if (xs.ndim() != 1 || ys.ndim() != 1 || xs.shape(0) != ys.shape(0)) {
    throw py::value_error("xs and ys must be one-dimensional and of the same length");
  }
  pyramid::SampleMethod sample_method;
  if (method == "nearest") {
    sample_method = pyramid::SampleMethod::kNearest;
  } else if (method == "bilinear") {
    sample_method = pyramid::SampleMethod::kBilinear;
  } else {
    throw py::value_error(
        absl::StrCat("method \"", method, "\" is not one of \"nearest\", \"bilinear\""));
  }
  std::shared_ptr<const Reader> reader = self.reader();
  if (band < 0 || band >= reader->band_count() - (reader->metadata().has_alpha() ? 1 : 0)) {
    throw py::value_error(absl::StrCat("band ", band, " is outside the pyramid's data bands"));
  }
  const size_t n = static_cast<size_t>(xs.shape(0));
  std::vector<double> lon(xs.data(), xs.data() + n), lat(ys.data(), ys.data() + n);
  ToLonLat(crs, lon.data(), lat.data(), n);
  py::array_t<double> values(static_cast<py::ssize_t>(n));
  double* out = values.mutable_data();
  absl::Status error;
  {
    py::gil_scoped_release release;
    for (size_t i = 0; i < n && error.ok(); ++i) {
      out[i] = std::nan("");
      if (!std::isfinite(lon[i]) || !std::isfinite(lat[i])) continue;
      absl::StatusOr<std::optional<double>> value =
          reader->Sample(lon[i], lat[i], sample_method, band);
      if (!value.ok()) {
        error = value.status();
      } else if (value->has_value()) {
        out[i] = **value;
      }
    }
  }
  if (!error.ok()) ThrowStatus(error);
  return values;
}

py::dict Info(const Pyramid& self) {
  std::shared_ptr<const Reader> reader = self.reader();
  const geo::TileMatrixSet& tms = reader->tile_matrix_set();
  py::list levels;
  for (const pyramid::Level& level : reader->metadata().levels()) {
    const int z = static_cast<int>(level.zoom());
    const geo::Bounds top_left = tms.TileBounds({z, level.min_x(), level.min_y()});
    const geo::Bounds bottom_right = tms.TileBounds({z, level.max_x(), level.max_y()});
    py::dict entry;
    entry["zoom"] = z;
    entry["tiles"] = level.tile_count();
    entry["unique_tiles"] = level.unique_tile_count();
    entry["bytes"] = level.bytes();
    entry["resolution"] = tms.Resolution(z);
    entry["tile_range"] =
        py::make_tuple(level.min_x(), level.min_y(), level.max_x(), level.max_y());
    entry["bounds"] =
        py::make_tuple(top_left.min_x, bottom_right.min_y, bottom_right.max_x, top_left.max_y);
    levels.append(entry);
  }
  py::dict info;
  info["file"] = reader->path();
  info["sealed"] = reader->storage().sealed();
  info["storage_sections"] = reader->storage().section_count();
  info["crs"] = std::string(tms.crs());
  info["levels"] = levels;
  info["metadata"] = MetadataDict(reader->metadata());
  return info;
}

std::string CrsWkt(const Pyramid& self) {
  absl::StatusOr<OGRSpatialReference> srs = geo::TileMatrixSetSrs(self.reader()->tile_matrix_set());
  if (!srs.ok()) ThrowStatus(srs.status());
  char* wkt = nullptr;
  const char* const options[] = {"FORMAT=WKT2_2019", nullptr};
  srs->exportToWkt(&wkt, options);
  std::string result = wkt == nullptr ? "" : wkt;
  CPLFree(wkt);
  return result;
}

// GetTileSeconds times the C++ calls that Pyramid.tile makes, without Python: the seconds of
// Reader::GetTile over every (x, y) row of `xy` at level z, for //python:benchmark.
double GetTileSeconds(const Pyramid& self, int z,
                      py::array_t<uint32_t, py::array::c_style | py::array::forcecast> xy) {
  if (xy.ndim() != 2 || xy.shape(1) != 2) throw py::value_error("xy must have shape (n, 2)");
  std::shared_ptr<const Reader> reader = self.reader();
  const uint32_t* tiles = xy.data();
  const py::ssize_t count = xy.shape(0);
  absl::Status error;
  absl::Time start;
  absl::Duration elapsed;
  {
    py::gil_scoped_release release;
    start = absl::Now();
    for (py::ssize_t i = 0; i < count && error.ok(); ++i) {
      error = reader->GetTile(z, tiles[2 * i], tiles[2 * i + 1]).status();
    }
    elapsed = absl::Now() - start;
  }
  if (!error.ok()) ThrowStatus(error);
  return absl::ToDoubleSeconds(elapsed);
}

}  // namespace

py::dict MetadataDict(const pyramid::PyramidMetadata& metadata) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(metadata, &json, options).ok()) {
    throw py::value_error("the pyramid's metadata cannot be printed as JSON");
  }
  return py::module_::import("json").attr("loads")(json);
}

namespace {

// RegisterTileBuffer adds the buffer type tile_bytes() returns.
void RegisterTileBuffer(py::module_& module) {
  py::class_<TileBuffer>(module, "_TileBuffer", py::buffer_protocol(),
                         "The stored bytes of one tile, inside the pyramid's memory map.")
      .def_buffer([](TileBuffer& b) {
        return py::buffer_info(const_cast<char*>(b.bytes.data()), 1,
                               py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(b.bytes.size())}, {py::ssize_t{1}},
                               /*readonly=*/true);
      });
}

// DefineReads adds the methods that read tiles, windows and points.
void DefineReads(py::class_<Pyramid>& pyramid) {
  pyramid
      .def("tile", &Tile, py::arg("z"), py::arg("x"), py::arg("y"),
           R"doc(tile(z, x, y) -> numpy.ndarray | None

Tile z/x/y (XYZ numbering, y down from the north) decoded: a read-only array of shape
(tile_size, tile_size, bands) and the pyramid's dtype, alpha last when the pyramid has alpha.
None when the pyramid holds no tile there. The array shares the decoded tile with the tile
cache (copy() it to modify) and outlives the Pyramid.
Raises ValueError for coordinates outside the tile matrix, CorruptFileError when the stored
bytes do not decode.)doc")
      .def("tile_bytes", &TileBytes, py::arg("z"), py::arg("x"), py::arg("y"),
           R"doc(tile_bytes(z, x, y) -> memoryview | None

The stored (encoded: JPEG, PNG, WebP or elevation) bytes of tile z/x/y without copying
them: a read-only memoryview into the file's memory map, which keeps the file mapped while
it lives (even after close()). bytes(view) copies them. None for a missing tile.)doc")
      .def("tiles", &Tiles, py::arg("z"),
           R"doc(tiles(z) -> numpy.ndarray

The tiles stored at level z: a (count, 2) uint32 array of (x, y) in key (Morton) order;
iterate it (`for x, y in p.tiles(z)`) or index it. ValueError for a level the pyramid lacks.)doc")
      .def(
          "read", &Read, py::arg("bbox"), py::arg("crs") = "EPSG:4326",
          py::arg("size") = std::make_tuple(256, 256), py::arg("resampling") = "bilinear",
          py::arg("zoom") = py::none(),
          R"doc(read(bbox, crs="EPSG:4326", size=(256, 256), resampling="bilinear", zoom=None) -> (numpy.ndarray, tuple)

Renders a north-up window: bbox = (min_x, min_y, max_x, max_y) in `crs` (anything GDAL
accepts; geographic CRSs in longitude, latitude order), size = (width, height) pixels,
resampling one of nearest, bilinear, cubic, cubicspline, lanczos, average, mode. zoom forces
the level read (None: the one matching the requested resolution). Returns a writeable array
of shape (height, width, bands) and the window's GDAL geotransform. Pixels without data are
0 in the alpha band (pyramids with alpha), the nodata value, or 0. ValueError for an empty
bbox, a size outside 1..16384, an unknown CRS or resampling, or a window too large to
mosaic.)doc")
      .def("sample", &Sample, py::arg("xs"), py::arg("ys"), py::arg("crs") = "EPSG:4326",
           py::arg("method") = "bilinear", py::arg("band") = 0,
           R"doc(sample(xs, ys, crs="EPSG:4326", method="bilinear", band=0) -> numpy.ndarray

Band `band` (0-based) at each point (xs[i], ys[i]) in `crs` (longitude, latitude by
default), from the finest level holding data there: a float64 array of len(xs), NaN where
no level has data (outside the pyramid, nodata, transparent) or the point does not transform.
method is "nearest" or "bilinear" (pixel centres without data are left out and the rest
renormalised).)doc");
}

// DefineLifetime adds close(), the context manager, repr, path and info.
void DefineLifetime(py::class_<Pyramid>& pyramid) {
  pyramid
      .def("close", &Pyramid::Close,
           "close() -> None\n\nReleases the file (once no memoryview of tile_bytes() holds it). "
           "Later calls raise ValueError.")
      .def_property_readonly("closed", &Pyramid::closed, "True after close().")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Pyramid& self, py::args) { self.Close(); })
      .def("__repr__",
           [](const Pyramid& self) {
             if (self.closed()) return std::string("<flatpyramid.Pyramid closed>");
             const std::shared_ptr<const Reader> r = self.reader();
             return absl::StrCat("<flatpyramid.Pyramid '", r->path(), "' ",
                                 r->metadata().tile_matrix_set(), " z", r->min_zoom(), "..",
                                 r->max_zoom(), ", ", r->band_count(), " bands ",
                                 codec::PixelTypeName(r->pixel_type()), ">");
           })
      .def_property_readonly(
          "path", [](const Pyramid& self) { return self.reader()->path(); }, "The file's path.")
      .def_property_readonly("info", &Info,
                             "Everything the file says about itself, as `pyramid_info --json` "
                             "prints it: file, sealed, crs, levels (zoom, tiles, bytes, "
                             "resolution, tile_range, bounds) and the metadata.");
}

// DefineProperties adds what the metadata says, as read-only properties.
void DefineProperties(py::class_<Pyramid>& pyramid) {
  pyramid
      .def_property_readonly(
          "tile_matrix_set",
          [](const Pyramid& self) { return self.reader()->metadata().tile_matrix_set(); },
          "\"WebMercatorQuad\" or \"WorldCRS84Quad\".")
      .def_property_readonly(
          "tile_size", [](const Pyramid& self) { return self.reader()->tile_size(); },
          "Tile width and height in pixels.")
      .def_property_readonly(
          "min_zoom", [](const Pyramid& self) { return self.reader()->min_zoom(); },
          "The coarsest level stored.")
      .def_property_readonly(
          "max_zoom", [](const Pyramid& self) { return self.reader()->max_zoom(); },
          "The finest level stored.")
      .def_property_readonly(
          "bands", [](const Pyramid& self) { return self.reader()->band_count(); },
          "Bands of every decoded tile and window, alpha included.")
      .def_property_readonly(
          "has_alpha", [](const Pyramid& self) { return self.reader()->metadata().has_alpha(); },
          "True when the last band is alpha (0 no data, 255 opaque).")
      .def_property_readonly(
          "nodata",
          [](const Pyramid& self) -> py::object {
            const pyramid::PyramidMetadata& m = self.reader()->metadata();
            return m.has_nodata() ? py::cast(m.nodata()) : py::none();
          },
          "The nodata value of single-band data, or None.")
      .def_property_readonly(
          "dtype", [](const Pyramid& self) { return DtypeOf(self.reader()->pixel_type()); },
          "The numpy dtype of tiles and windows.")
      .def_property_readonly("crs", &CrsWkt, "The tile matrix set's CRS as WKT (WKT2 2019).")
      .def_property_readonly(
          "bounds",
          [](const Pyramid& self) {
            const pyramid::Bounds& b = self.reader()->metadata().bounds_lonlat();
            return py::make_tuple(b.min_x(), b.min_y(), b.max_x(), b.max_y());
          },
          "The data's bounds in longitude, latitude: (west, south, east, north).");
}

// RegisterModuleFunctions adds open() and the benchmark hook.
void RegisterModuleFunctions(py::module_& module) {
  module.def("_get_tile_seconds", &GetTileSeconds, py::arg("pyramid"), py::arg("z"), py::arg("xy"),
             "_get_tile_seconds(pyramid, z, xy) -> float\n\nSeconds of the C++ GetTile calls "
             "behind Pyramid.tile over the (x, y) rows of xy at level z (for the benchmark).");
  module.def(
      "open",
      [](const py::object& path, double cache_mb) {
        return Pyramid(OpenReader(
            py::cast<std::string>(py::module_::import("os").attr("fspath")(path)), cache_mb));
      },
      py::arg("path"), py::arg("cache_mb") = 128,
      R"doc(open(path, cache_mb=128) -> Pyramid

Opens the pyramid file `path` read-only (memory-mapped), with a cache of `cache_mb` MiB of
decoded tiles (0: none). Raises FileNotFoundError, CorruptFileError for a file that is no
pyramid or is damaged, OSError for an unfinished build (build again with resume=True).)doc");
}

}  // namespace

void RegisterPyramid(py::module_& module) {
  RegisterTileBuffer(module);
  py::class_<Pyramid> pyramid(module, "Pyramid", R"doc(An open, read-only flatpyramid file.

Make one with flatpyramid.open(path). Every method may be called from many threads at once;
tile(), read() and sample() release the GIL while they decode and warp. Use it as a context
manager, or call close(): arrays and memoryviews it returned stay valid after closing.)doc");
  DefineReads(pyramid);
  DefineLifetime(pyramid);
  DefineProperties(pyramid);
  RegisterModuleFunctions(module);
}

}  // namespace python
}  // namespace flatpyramid
