// serve::Handler answers HTTP requests for a PyramidSet: it routes the target
// (serve/router.h), reads tiles, windows and points through pyramid::Reader and builds the
// Response, status and headers included. It is independent of the network library
// (serve/server.h runs it), so every answer, errors included, is testable without a socket.
//
// Answers (see serve/README.md for the URL scheme):
//   - Tiles: the stored bytes straight from the file's map (no decode, no copy), Content-Type
//     from the tile's own codec, a strong ETag (the tile's 128-bit content digest), 304 for a
//     matching If-None-Match, Cache-Control. A tile outside the pyramid's levels or matrix,
//     or not stored, is `empty_tile_status` (404, or 204 as `pmtiles serve --empty=204`).
//     `?encoding=terrarium|mapbox` on an elevation pyramid transcodes to the RGB PNG that
//     MapLibre's raster-dem reads (codec/terrain_rgb.h).
//   - GET and HEAD everywhere (HEAD: the same headers, no body); OPTIONS answers a CORS
//     preflight (204) when `cors_origin` is set; other methods 405 with Allow.
//   - Errors are text/plain "STATUS REASON: what was wrong\n": 400 malformed target or
//     query, 404 unknown pyramid or route, 414 overlong target, 500 a damaged file.
//
// Thread safety: Handle may be called concurrently from any number of threads.
#ifndef FLATPYRAMID_SERVE_HANDLER_H_
#define FLATPYRAMID_SERVE_HANDLER_H_

#include <string>

#include "absl/status/status.h"
#include "serve/http_types.h"
#include "serve/pyramid_set.h"
#include "serve/router.h"

namespace flatpyramid {
namespace serve {

struct HandlerOptions {
  // cors_origin is sent as Access-Control-Allow-Origin on every answer ("*" or an origin);
  // empty: no CORS headers and OPTIONS is 405.
  std::string cors_origin;
  // empty_tile_status answers a tile with no data: 404 or 204.
  int empty_tile_status = 404;
  // tile_cache_control is the Cache-Control of tiles (the ETag makes revalidation cheap).
  std::string tile_cache_control = "public, max-age=60";
  // Limits of /NAME/region.*: each side at most max_region_side pixels.
  int max_region_side = 4096;
};

class Handler {
 public:
  // REQUIRES: pyramids outlives the Handler; options.empty_tile_status is 204 or 404.
  Handler(const PyramidSet* pyramids, HandlerOptions options);

  Response Handle(const Request& request) const;

  // ErrorResponse is the text/plain answer for `status` with `message`.
  static Response ErrorResponse(int status, absl::string_view message);

 private:
  Response Dispatch(const Request& request, const Route& route) const;
  Response Tile(const Request& request, const Route& route) const;
  Response Index(const Request& request) const;
  Response Static(const Route& route) const;
  Response Viewer(const Route& route) const;
  Response TileJsonAnswer(const Request& request, const Route& route) const;
  Response WmtsAnswer(const Request& request, const Route& route) const;
  // BaseUrl is "http://HOST" from the request's Host header (sanitised).
  std::string BaseUrl(const Request& request) const;

  const PyramidSet* pyramids_;
  HandlerOptions options_;
};

// StatusToHttp maps a library error to the HTTP status it answers with.
int StatusToHttp(const absl::Status& status);

}  // namespace serve
}  // namespace flatpyramid

#endif  // FLATPYRAMID_SERVE_HANDLER_H_
