#include "serve/http_types.h"

namespace flatpyramid {
namespace serve {

Response& Response::operator=(Response&& other) noexcept {
  if (this == &other) return *this;
  const bool owns = other.body_.data() == other.owned_.data() && !other.owned_.empty();
  status_ = other.status_;
  headers_ = std::move(other.headers_);
  owned_ = std::move(other.owned_);
  body_ = owns ? absl::string_view(owned_) : other.body_;
  keep_alive_ = std::move(other.keep_alive_);
  other.body_ = absl::string_view();
  return *this;
}

absl::string_view Response::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers_) {
    if (key == name) return value;
  }
  return "";
}

absl::string_view StatusText(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

}  // namespace serve
}  // namespace flatpyramid
