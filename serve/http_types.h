// serve::Request and serve::Response: an HTTP exchange as the handlers see it, independent of
// the network library, so every answer can be tested without a socket.
//
// A Response's body is a view; it points either into the Response's own `owned_body` or into
// memory kept alive by `keep_alive` (a pyramid Reader whose map holds a tile's bytes), and
// stays valid as long as the Response lives. Moving a Response keeps the view valid (a
// Response that owns its body re-points the view on move).
#ifndef FLATPYRAMID_SERVE_HTTP_TYPES_H_
#define FLATPYRAMID_SERVE_HTTP_TYPES_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace flatpyramid {
namespace serve {

// Request holds what the handlers read of an HTTP request (header values as received).
struct Request {
  std::string method;  // "GET", "HEAD", "OPTIONS", ...
  std::string target;  // Origin-form target: path and query.
  std::string host;
  std::string if_none_match;
  std::string origin;  // The Origin header, for CORS.
};

class Response {
 public:
  Response() = default;
  explicit Response(int status) : status_(status) {}
  Response(Response&& other) noexcept { *this = std::move(other); }
  Response& operator=(Response&& other) noexcept;
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;

  int status() const { return status_; }
  void set_status(int status) { status_ = status; }
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  void AddHeader(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
  }
  // Header returns the first value of header `name` (exact case), or "" when absent.
  absl::string_view Header(absl::string_view name) const;

  absl::string_view body() const { return body_; }
  // SetBody copies nothing: `body` must live as long as `keep_alive` does.
  void SetBody(absl::string_view body, std::shared_ptr<const void> keep_alive) {
    owned_.clear();
    body_ = body;
    keep_alive_ = std::move(keep_alive);
  }
  // SetOwnedBody takes `body` into the Response.
  void SetOwnedBody(std::string body) {
    owned_ = std::move(body);
    body_ = owned_;
    keep_alive_.reset();
  }

 private:
  int status_ = 200;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string owned_;
  absl::string_view body_;
  std::shared_ptr<const void> keep_alive_;
};

// StatusText is the reason phrase of an HTTP status code ("Not Found").
absl::string_view StatusText(int status);

}  // namespace serve
}  // namespace flatpyramid

#endif  // FLATPYRAMID_SERVE_HTTP_TYPES_H_
