#include "serve/handler.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "codec/codec.h"
#include "codec/terrain_rgb.h"
#include "pyramid/internal/tile_hash.h"
#include "serve/capabilities.h"
#include "serve/escape.h"
#include "serve/internal/static_files.h"
#include "serve/region_answer.h"

namespace flatpyramid {
namespace serve {
namespace {

absl::string_view TileContentType(absl::string_view bytes) {
  absl::StatusOr<codec::CodecId> codec = codec::DetectCodec(bytes);
  if (!codec.ok()) return "application/octet-stream";
  switch (*codec) {
    case codec::CodecId::kJpeg:
      return "image/jpeg";
    case codec::CodecId::kPng:
      return "image/png";
    case codec::CodecId::kWebp:
      return "image/webp";
    default:
      return "application/octet-stream";
  }
}

// EtagMatches implements If-None-Match's weak comparison over a list of tags or "*".
bool EtagMatches(absl::string_view if_none_match, absl::string_view etag) {
  for (absl::string_view tag : absl::StrSplit(if_none_match, ',')) {
    tag = absl::StripAsciiWhitespace(tag);
    absl::ConsumePrefix(&tag, "W/");
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

// CachedDigest is DigestTile(bytes) for bytes of the Reader `version`, remembered per thread
// by their address in the map (identical tiles are stored once, so an address is a content)
// : a hit costs a hash lookup instead of hashing the tile. At most kMaxEntries per thread.
pyramid::internal::TileDigest CachedDigest(uint64_t version, absl::string_view bytes) {
  constexpr size_t kMaxEntries = size_t{1} << 18;
  using Key = std::pair<uint64_t, const char*>;
  thread_local absl::flat_hash_map<Key, pyramid::internal::TileDigest> cache;
  const Key key{version, bytes.data()};
  auto it = cache.find(key);
  if (it != cache.end() && it->second.length == bytes.size()) return it->second;
  if (cache.size() >= kMaxEntries) cache.clear();
  const pyramid::internal::TileDigest digest = pyramid::internal::DigestTile(bytes);
  cache[key] = digest;
  return digest;
}

std::string Etag(const pyramid::internal::TileDigest& d, absl::string_view variant) {
  return absl::StrFormat("\"%016x%016x%s\"", d.h1, d.h2, variant);
}

}  // namespace

int StatusToHttp(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kResourceExhausted:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kOutOfRange:
      return 414;
    default:
      return 500;
  }
}

Handler::Handler(const PyramidSet* pyramids, HandlerOptions options)
    : pyramids_(pyramids), options_(std::move(options)) {}

Response Handler::ErrorResponse(int status, absl::string_view message) {
  Response response(status);
  response.AddHeader("Content-Type", "text/plain; charset=utf-8");
  response.SetOwnedBody(absl::StrCat(status, " ", StatusText(status), ": ", message, "\n"));
  return response;
}

Response Handler::Handle(const Request& request) const {
  Response response;
  const bool head = request.method == "HEAD";
  if (request.method == "OPTIONS" && !options_.cors_origin.empty()) {
    response.set_status(204);
    response.AddHeader("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
    response.AddHeader("Access-Control-Allow-Headers", "If-None-Match, Range");
    response.AddHeader("Access-Control-Max-Age", "86400");
  } else if (request.method != "GET" && !head) {
    response = ErrorResponse(405, absl::StrCat("method ", request.method, " is not served"));
    response.AddHeader("Allow", options_.cors_origin.empty() ? "GET, HEAD" : "GET, HEAD, OPTIONS");
  } else {
    absl::StatusOr<Route> route = ParseTarget(request.target);
    response = route.ok() ? Dispatch(request, *route)
                          : ErrorResponse(StatusToHttp(route.status()), route.status().message());
  }
  if (!options_.cors_origin.empty()) {
    response.AddHeader("Access-Control-Allow-Origin", options_.cors_origin);
    response.AddHeader("Access-Control-Expose-Headers", "ETag");
  }
  return response;
}

Response Handler::Dispatch(const Request& request, const Route& route) const {
  switch (route.kind) {
    case RouteKind::kIndex:
      return Index(request);
    case RouteKind::kStatic:
      return Static(route);
    case RouteKind::kTile:
      return Tile(request, route);
    default:
      break;
  }
  std::shared_ptr<const pyramid::Reader> reader = pyramids_->Get(route.name);
  if (reader == nullptr) {
    return ErrorResponse(404, absl::StrCat("no pyramid named \"", route.name, "\" (see /)"));
  }
  switch (route.kind) {
    case RouteKind::kViewerRedirect: {
      Response response = ErrorResponse(301, "the viewer is at the path with a trailing '/'");
      response.AddHeader("Location", absl::StrCat("/", route.name, "/"));
      return response;
    }
    case RouteKind::kViewer:
      return Viewer(route);
    case RouteKind::kTileJson:
      return TileJsonAnswer(request, route);
    case RouteKind::kWmtsCapabilities:
      return WmtsAnswer(request, route);
    case RouteKind::kRegion:
      return RegionAnswer(*reader, route, options_.max_region_side);
    case RouteKind::kPoint:
      return PointAnswer(*reader, route);
    default:
      return ErrorResponse(500, "unhandled route");
  }
}

Response Handler::Tile(const Request& request, const Route& route) const {
  uint64_t version = 0;
  std::shared_ptr<const pyramid::Reader> reader = pyramids_->Get(route.name, &version);
  if (reader == nullptr) {
    return ErrorResponse(404, absl::StrCat("no pyramid named \"", route.name, "\" (see /)"));
  }
  auto encoding_param = route.query.find("encoding");
  std::optional<codec::TerrainEncoding> encoding;
  if (encoding_param != route.query.end()) {
    absl::StatusOr<codec::TerrainEncoding> parsed =
        codec::ParseTerrainEncoding(encoding_param->second);
    if (!parsed.ok()) return ErrorResponse(400, parsed.status().message());
    if (!IsElevation(*reader)) {
      return ErrorResponse(400, "encoding= applies to elevation pyramids only");
    }
    encoding = *parsed;
  }
  absl::StatusOr<absl::string_view> bytes = reader->GetTileBytes(route.z, route.x, route.y);
  if (!bytes.ok()) {
    if (absl::IsNotFound(bytes.status()) || absl::IsOutOfRange(bytes.status())) {
      if (options_.empty_tile_status == 204) return Response(204);
      return ErrorResponse(404, bytes.status().message());
    }
    return ErrorResponse(500, bytes.status().message());
  }
  const std::string etag = Etag(CachedDigest(version, *bytes),
                                !encoding                                         ? ""
                                : *encoding == codec::TerrainEncoding::kTerrarium ? "-terrarium"
                                                                                  : "-mapbox");
  Response response(200);
  response.AddHeader("ETag", etag);
  response.AddHeader("Cache-Control", options_.tile_cache_control);
  if (!request.if_none_match.empty() && EtagMatches(request.if_none_match, etag)) {
    response.set_status(304);
    return response;
  }
  if (!encoding) {
    response.AddHeader("Content-Type", std::string(TileContentType(*bytes)));
    response.SetBody(*bytes, reader);
    return response;
  }
  absl::StatusOr<std::shared_ptr<const codec::Image>> tile =
      reader->GetTile(route.z, route.x, route.y);
  if (!tile.ok()) return ErrorResponse(500, tile.status().message());
  std::optional<double> nodata;
  if (reader->metadata().has_nodata()) nodata = reader->metadata().nodata();
  absl::StatusOr<codec::Image> rgb = codec::EncodeTerrainRgb((*tile)->view(), *encoding, nodata);
  if (!rgb.ok()) return ErrorResponse(500, rgb.status().message());
  std::string png;
  if (absl::Status s = codec::Encode(codec::CodecId::kPng, rgb->view(), {}, &png); !s.ok()) {
    return ErrorResponse(500, s.message());
  }
  response.AddHeader("Content-Type", "image/png");
  response.SetOwnedBody(std::move(png));
  return response;
}

std::string Handler::BaseUrl(const Request& request) const {
  std::string host;
  for (char c : request.host) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '-' ||
        c == '[' || c == ']') {
      host.push_back(c);
    }
  }
  if (host.empty()) host = "127.0.0.1";
  return absl::StrCat("http://", host);
}

Response Handler::TileJsonAnswer(const Request& request, const Route& route) const {
  std::shared_ptr<const pyramid::Reader> reader = pyramids_->Get(route.name);
  std::string encoding = "terrarium";
  if (auto it = route.query.find("encoding"); it != route.query.end()) {
    if (!codec::ParseTerrainEncoding(it->second).ok()) {
      return ErrorResponse(400, "encoding must be terrarium or mapbox");
    }
    encoding = it->second;
  }
  Response response(200);
  response.AddHeader("Content-Type", "application/json");
  response.AddHeader("Cache-Control", "no-cache");
  response.SetOwnedBody(TileJson(*reader, route.name, BaseUrl(request), encoding));
  return response;
}

Response Handler::WmtsAnswer(const Request& request, const Route& route) const {
  std::shared_ptr<const pyramid::Reader> reader = pyramids_->Get(route.name);
  Response response(200);
  response.AddHeader("Content-Type", "application/xml");
  response.AddHeader("Cache-Control", "no-cache");
  response.SetOwnedBody(WmtsCapabilities(*reader, route.name, BaseUrl(request)));
  return response;
}

Response Handler::Static(const Route& route) const {
  const internal::StaticFile* file = internal::FindStaticFile(route.name);
  if (file == nullptr) return ErrorResponse(404, absl::StrCat("no file \"", route.name, "\""));
  Response response(200);
  response.AddHeader("Content-Type", std::string(file->content_type));
  response.AddHeader("Cache-Control", "public, max-age=3600");
  response.SetBody(file->data, nullptr);
  return response;
}

Response Handler::Viewer(const Route& route) const {
  (void)route;  // The page finds its pyramid from its own URL.
  const internal::StaticFile* file = internal::FindStaticFile("viewer.html");
  if (file == nullptr) return ErrorResponse(500, "viewer.html is not embedded");
  Response response(200);
  response.AddHeader("Content-Type", std::string(file->content_type));
  response.AddHeader("Cache-Control", "no-cache");
  response.SetBody(file->data, nullptr);
  return response;
}

Response Handler::Index(const Request& request) const {
  (void)request;
  std::string html =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><link rel=\"icon\" "
      "href=\"data:,\"><title>flatpyramid</title></head>"
      "<body><h1>Pyramids</h1>\n<ul>\n";
  for (const std::string& name : pyramids_->names()) {
    const std::string n = XmlText(name);
    std::shared_ptr<const pyramid::Reader> reader = pyramids_->Get(name);
    absl::StrAppend(&html, "<li><a href=\"/", n, "/\">", n, "</a> (",
                    XmlText(reader->metadata().tile_matrix_set()), ", zoom ", reader->min_zoom(),
                    "..", reader->max_zoom(), ", ", XmlText(reader->metadata().codec()),
                    ") <a href=\"/", n, "/tilejson.json\">TileJSON</a> <a href=\"/", n,
                    "/WMTSCapabilities.xml\">WMTS</a></li>\n");
  }
  Response response(200);
  response.AddHeader("Content-Type", "text/html; charset=utf-8");
  response.AddHeader("Cache-Control", "no-cache");
  response.SetOwnedBody(html + "</ul>\n</body></html>\n");
  return response;
}

}  // namespace serve
}  // namespace flatpyramid
