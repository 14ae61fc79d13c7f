// serve::Server runs a Handler over HTTP/1.1 (Boost.Beast's request parser on Asio; the
// answer's head is formatted here): keep-alive, pipelining, bounded threads and
// connections, timeouts, and a graceful drain.
//
// Threading: `threads` event loops, each with its own io_context and its own listening
// socket on the same port (SO_REUSEPORT: the kernel spreads new connections over them), so
// a connection lives on one thread and no request takes a lock in the network layer. A
// request is answered on its connection's thread; tile answers are views of the pyramid
// file's map written straight to the socket (no copy of the body).
//
// Limits (each answered, never a crash or a hang): the request line and headers at most
// `max_header_bytes` (431), a body at most 64 KiB (413; GET needs none), a whole request
// must arrive within `request_timeout` of the previous answer or of the connection (slow
// clients are cut, 408 when they had started a request), every answer written within
// `write_timeout`. Beyond `max_connections` open connections a new one is closed at once.
//
// Shutdown (Shutdown(), e.g. on SIGTERM): the listening sockets close, idle keep-alive
// connections close, requests being answered finish (their answers say Connection: close),
// then the threads end; connections still open after `drain_timeout` are cut.
//
// Example:
//   absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(&handler, options);
//   if (!server.ok()) return server.status();
//   std::printf("http://127.0.0.1:%d/\n", (*server)->port());
//   ... wait for a signal ...
//   (*server)->Shutdown();
#ifndef FLATPYRAMID_SERVE_SERVER_H_
#define FLATPYRAMID_SERVE_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "serve/handler.h"

namespace flatpyramid {
namespace serve {

struct ServerOptions {
  std::string host = "127.0.0.1";  // An IPv4 or IPv6 address to listen on.
  int port = 8080;                 // 0 picks a free port (see Server::port).
  int threads = 2;                 // Event-loop threads, 1..256.
  int max_connections = 1024;
  size_t max_header_bytes = 8192;
  absl::Duration request_timeout = absl::Seconds(10);
  absl::Duration write_timeout = absl::Seconds(30);
  absl::Duration drain_timeout = absl::Seconds(10);
  // access_log receives one line per answered request (Common Log Format plus the time
  // taken in microseconds), from any thread; nullptr: no log.
  std::function<void(const std::string& line)> access_log;
};

class Server {
 public:
  // Start binds and listens, then runs the threads. InvalidArgument for options out of
  // range or a host that is not an IP address; Unavailable when the port cannot be bound
  // (naming host and port). REQUIRES: handler outlives the Server.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const Handler* handler,
                                                       const ServerOptions& options);
  // The destructor shuts down (see Shutdown) if that was not done.
  ~Server();

  // port is the port listened on (the chosen one when options.port was 0).
  int port() const;

  // Shutdown drains and stops (see the file comment) and returns when every thread ended.
  // Idempotent; thread-safe.
  void Shutdown();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace serve
}  // namespace flatpyramid

#endif  // FLATPYRAMID_SERVE_SERVER_H_
