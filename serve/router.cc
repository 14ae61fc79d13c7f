#include "serve/router.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace flatpyramid {
namespace serve {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// CheckSegment refuses decoded path segments that could name something outside the route
// table if a handler ever used them as a path.
absl::Status CheckSegment(absl::string_view segment) {
  if (segment.empty() || segment == "." || segment == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("path segment \"", segment, "\" is not allowed"));
  }
  for (char c : segment) {
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("path segment holds '/', '\\' or a control character");
    }
  }
  return absl::OkStatus();
}

// ParseDecimal accepts 1..10 ASCII digits (no sign, no spaces) up to `max`.
bool ParseDecimal(absl::string_view text, uint64_t max, uint64_t* value) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return false;
  *value = v;
  return true;
}

absl::Status ParseTile(absl::string_view z, absl::string_view x, absl::string_view y,
                       Route* route) {
  absl::string_view y_digits = y;
  const size_t dot = y.find('.');
  if (dot != absl::string_view::npos) {
    y_digits = y.substr(0, dot);
    const std::string extension = absl::AsciiStrToLower(y.substr(dot + 1));
    if (extension != "jpg" && extension != "jpeg" && extension != "png" && extension != "webp") {
      return absl::InvalidArgumentError(absl::StrCat("tile extension \".", y.substr(dot + 1),
                                                     "\" is not one of .jpg .jpeg .png .webp"));
    }
    route->extension = extension;
  }
  uint64_t zv = 0, xv = 0, yv = 0;
  if (!ParseDecimal(z, 30, &zv)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tile zoom \"", z, "\" is not a whole number 0..30"));
  }
  if (!ParseDecimal(x, UINT32_MAX, &xv) || !ParseDecimal(y_digits, UINT32_MAX, &yv)) {
    return absl::InvalidArgumentError(absl::StrCat("tile column/row \"", x, "/", y_digits,
                                                   "\" are not whole numbers below 2^32"));
  }
  route->kind = RouteKind::kTile;
  route->z = static_cast<int>(zv);
  route->x = static_cast<uint32_t>(xv);
  route->y = static_cast<uint32_t>(yv);
  return absl::OkStatus();
}

absl::Status ParseQuery(absl::string_view query, Route* route) {
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    absl::StatusOr<std::string> key = PercentDecode(pair.substr(0, eq), true);
    if (!key.ok()) return key.status();
    std::string value;
    if (eq != absl::string_view::npos) {
      absl::StatusOr<std::string> v = PercentDecode(pair.substr(eq + 1), true);
      if (!v.ok()) return v.status();
      value = *std::move(v);
    }
    route->query[*key] = std::move(value);
  }
  return absl::OkStatus();
}

// RouteNamed fills `route` for the segments after a pyramid's name.
absl::Status RouteNamed(const std::vector<std::string>& segments, bool trailing_slash,
                        Route* route) {
  const size_t rest = segments.size() - 1;
  if (rest == 0) {
    route->kind = trailing_slash ? RouteKind::kViewer : RouteKind::kViewerRedirect;
    return absl::OkStatus();
  }
  if (trailing_slash) return absl::NotFoundError("no route ends in '/' here");
  if (rest == 3) return ParseTile(segments[1], segments[2], segments[3], route);
  if (rest != 1) return absl::NotFoundError("no route has this many path segments");
  const std::string& leaf = segments[1];
  if (leaf == "tilejson.json") {
    route->kind = RouteKind::kTileJson;
  } else if (leaf == "WMTSCapabilities.xml") {
    route->kind = RouteKind::kWmtsCapabilities;
  } else if (leaf == "region.png" || leaf == "region.tif") {
    route->kind = RouteKind::kRegion;
    route->extension = leaf.substr(7);
  } else if (leaf == "point") {
    route->kind = RouteKind::kPoint;
  } else {
    return absl::NotFoundError(absl::StrCat("no route \"", leaf, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(absl::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return absl::InvalidArgumentError("truncated percent-escape");
      }
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return absl::InvalidArgumentError("percent-escape is not %XX hex");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<Route> ParseTarget(absl::string_view target) {
  if (target.size() > kMaxTargetLength) {
    return absl::OutOfRangeError(
        absl::StrCat("request target is longer than ", kMaxTargetLength, " bytes"));
  }
  if (target.empty() || target[0] != '/') {
    return absl::InvalidArgumentError("request target must start with '/'");
  }
  Route route;
  const size_t question = target.find('?');
  absl::string_view path = target.substr(0, question);
  if (question != absl::string_view::npos) {
    if (absl::Status s = ParseQuery(target.substr(question + 1), &route); !s.ok()) return s;
  }
  if (path == "/") return route;  // kIndex.
  path.remove_prefix(1);
  const bool trailing_slash = absl::EndsWith(path, "/");
  if (trailing_slash) path.remove_suffix(1);
  std::vector<std::string> segments;
  for (absl::string_view raw : absl::StrSplit(path, '/')) {
    absl::StatusOr<std::string> segment = PercentDecode(raw, false);
    if (!segment.ok()) return segment.status();
    if (absl::Status s = CheckSegment(*segment); !s.ok()) return s;
    segments.push_back(*std::move(segment));
  }
  if (segments[0] == "_static") {
    if (segments.size() != 2 || trailing_slash) {
      return absl::NotFoundError("static files are /_static/FILE");
    }
    route.kind = RouteKind::kStatic;
    route.name = segments[1];
    return route;
  }
  route.name = segments[0];
  if (absl::Status s = RouteNamed(segments, trailing_slash, &route); !s.ok()) return s;
  return route;
}

}  // namespace serve
}  // namespace flatpyramid
