// Documents that describe a pyramid to web-map and GIS clients: TileJSON 3.0.0 (MapLibre,
// Leaflet plugins, QGIS's XYZ) and OGC WMTS 1.0.0 RESTful capabilities (QGIS, OpenLayers,
// GDAL's WMTS driver).
//
// WebMercatorQuad is advertised as the well-known set urn:ogc:def:wkss:OGC:1.0:
// GoogleMapsCompatible in EPSG:3857; WorldCRS84Quad (two tiles at zoom 0) in
// urn:ogc:def:crs:OGC:1.3:CRS84 with TopLeftCorner -180 90 (longitude first, as CRS84 orders
// its axes). TileJSON has no CRS field: for WorldCRS84Quad the document adds "crs":
// "EPSG:4326" and "tile_matrix_set": "WorldCRS84Quad", which clients that only know Web
// Mercator ignore (they would draw it in the wrong place: use the WMTS document there).
#ifndef FLATPYRAMID_SERVE_CAPABILITIES_H_
#define FLATPYRAMID_SERVE_CAPABILITIES_H_

#include <string>

#include "absl/strings/string_view.h"
#include "pyramid/reader.h"

namespace flatpyramid {
namespace serve {

// IsElevation: single-band int16/uint16/float32 pyramids, served raw or as terrain RGB.
bool IsElevation(const pyramid::Reader& reader);

// TileFormat is the extension of a pyramid's tiles: "jpg", "png", "webp", or "elevation".
std::string TileFormat(const pyramid::Reader& reader);

// TileJson is the TileJSON 3.0.0 document of pyramid `name` served at `base_url`
// ("http://host:port"). For elevation pyramids the tiles are the `terrain_encoding`
// ("terrarium" or "mapbox") PNGs.
std::string TileJson(const pyramid::Reader& reader, absl::string_view name,
                     absl::string_view base_url, absl::string_view terrain_encoding);

// WmtsCapabilities is the WMTS 1.0.0 RESTful capabilities document of pyramid `name`.
std::string WmtsCapabilities(const pyramid::Reader& reader, absl::string_view name,
                             absl::string_view base_url);

}  // namespace serve
}  // namespace flatpyramid

#endif  // FLATPYRAMID_SERVE_CAPABILITIES_H_
