// serve::ParseTarget maps an HTTP request target ("/landsat/12/1583/2167.jpg?x=1") to the
// Route it names, without touching any pyramid: the router knows the URL scheme of
// serve_pyramid and nothing else, so every malformed target is rejected here, before a
// handler runs.
//
// URL scheme (NAME is a pyramid's file stem):
//   /                                   kIndex: the list of pyramids
//   /_static/FILE                       kStatic: a file of the viewer page (embedded)
//   /NAME                               kViewerRedirect: 301 to /NAME/
//   /NAME/                              kViewer: the map viewer page
//   /NAME/Z/X/Y[.jpg|.jpeg|.png|.webp]  kTile (the extension is accepted and ignored)
//   /NAME/tilejson.json                 kTileJson (TileJSON 3.0.0)
//   /NAME/WMTSCapabilities.xml          kWmtsCapabilities (OGC WMTS 1.0.0 RESTful)
//   /NAME/region.png, /NAME/region.tif  kRegion (query: bbox, srs, width, height, resampling)
//   /NAME/point                         kPoint (query: x, y, srs)
//
// Path segments are percent-decoded; a decoded segment that is empty (except the viewer's
// trailing slash), ".", "..", or holds '/', '\\' or a control character is rejected, so no
// route can name anything outside the set of pyramids and embedded files. Z is 0..30, X and
// Y are decimal digits only (no sign, no spaces) below 2^32.
//
// Example:
//   absl::StatusOr<Route> route = ParseTarget("/landsat/3/4/2.png");
//   // route->kind == RouteKind::kTile, route->name == "landsat", route->z == 3.
#ifndef FLATPYRAMID_SERVE_ROUTER_H_
#define FLATPYRAMID_SERVE_ROUTER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace flatpyramid {
namespace serve {

enum class RouteKind {
  kIndex,
  kStatic,
  kViewerRedirect,
  kViewer,
  kTile,
  kTileJson,
  kWmtsCapabilities,
  kRegion,
  kPoint,
};

// Route is a parsed request target.
struct Route {
  RouteKind kind = RouteKind::kIndex;
  std::string name;       // Pyramid name (every kind but kIndex, kStatic), or the static file.
  int z = 0;              // kTile.
  uint32_t x = 0;         // kTile.
  uint32_t y = 0;         // kTile.
  std::string extension;  // kTile: "", "jpg", "png", ...; kRegion: "png" or "tif".
  // query holds the decoded query parameters; a repeated key keeps its last value.
  std::map<std::string, std::string> query;
};

// kMaxTargetLength bounds a request target; longer ones are rejected (414 URI Too Long).
inline constexpr size_t kMaxTargetLength = 4096;

// ParseTarget parses an origin-form request target. Returns InvalidArgument for a malformed
// target (bad percent-encoding, a forbidden segment, a non-numeric or out-of-range z/x/y),
// OutOfRange for a target longer than kMaxTargetLength, and NotFound for a well-formed path
// that names no route. Messages name the offending part.
absl::StatusOr<Route> ParseTarget(absl::string_view target);

// PercentDecode decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query
// strings). InvalidArgument for a truncated or non-hex escape.
absl::StatusOr<std::string> PercentDecode(absl::string_view text, bool plus_is_space);

}  // namespace serve
}  // namespace flatpyramid

#endif  // FLATPYRAMID_SERVE_ROUTER_H_
