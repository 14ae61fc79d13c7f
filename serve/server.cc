#include "serve/server.h"

#include <array>
#include <atomic>
#include <chrono>
#include <ctime>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "boost/asio.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace flatpyramid {
namespace serve {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kMaxBodyBytes = 64 * 1024;

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::nanoseconds(absl::ToInt64Nanoseconds(d));
}

// HttpDate is the current time as an IMF-fixdate, formatted once per second per thread.
const std::string& HttpDate() {
  thread_local time_t cached_second = 0;
  thread_local std::string cached;
  const time_t now = std::time(nullptr);
  if (now != cached_second) {
    struct tm utc;
    gmtime_r(&now, &utc);
    char text[64];
    std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &utc);
    cached = text;
    cached_second = now;
  }
  return cached;
}

std::string LogTime() {
  const time_t now = std::time(nullptr);
  struct tm utc;
  gmtime_r(&now, &utc);
  char text[64];
  std::strftime(text, sizeof(text), "%d/%b/%Y:%H:%M:%S +0000", &utc);
  return text;
}

}  // namespace

class Session;

// Impl owns the event loops; Session (below) one connection.
class Server::Impl {
 public:
  Impl(const Handler* handler, ServerOptions options)
      : handler_(handler), options_(std::move(options)) {}
  ~Impl() { Shutdown(); }

  absl::Status Listen();
  void Run();
  void Shutdown();
  int port() const { return port_; }

  const Handler* handler() const { return handler_; }
  const ServerOptions& options() const { return options_; }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  std::atomic<int>& connections() { return connections_; }
  void Register(const std::shared_ptr<Session>& session, int loop);
  void Unregister(Session* session, int loop);

 private:
  // Loop is one event loop. Members are destroyed bottom-up: the acceptor, then the
  // context (whose pending handlers end the last Sessions, which unregister), then the list.
  struct Loop {
    std::mutex mu;  // Guards sessions (Shutdown reads it from another thread).
    std::list<std::weak_ptr<Session>> sessions;
    asio::io_context context{1};
    std::optional<tcp::acceptor> acceptor;
  };
  void Accept(int loop);

  const Handler* handler_;
  ServerOptions options_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
  std::atomic<int> connections_{0};
  std::atomic<bool> draining_{false};
  std::once_flag shutdown_once_;
  int port_ = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl* server, int loop)
      : stream_(std::move(socket)),
        read_timer_(stream_.get_executor()),
        server_(server),
        loop_(loop) {
    beast::error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? "-" : peer.address().to_string();
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }
  ~Session() {
    server_->connections().fetch_sub(1, std::memory_order_relaxed);
    server_->Unregister(this, loop_);
  }

  void Start() { ReadRequest(); }

  // Abort closes the connection whatever it is doing (after the drain timeout, with the
  // loops stopped): its pending operations complete as aborted and release the Session.
  void Abort() {
    read_timer_.cancel();
    Close();
  }

  // StopIfIdle runs on the session's loop at shutdown: a connection waiting for a request
  // closes; one answering finishes first (OnWrite sees draining()).
  void StopIfIdle() {
    if (reading_) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.socket().close(ec);
    }
  }

 private:
  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_->options().max_header_bytes));
    parser_->body_limit(kMaxBodyBytes);
    // Our own timer rather than tcp_stream's, which closes the socket: a client that started
    // a request and stalled gets its 408.
    stream_.expires_never();
    timed_out_ = false;
    read_timer_.expires_after(ToChrono(server_->options().request_timeout));
    read_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;  // Cancelled: the request arrived.
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    reading_ = true;
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    reading_ = false;
    read_timer_.cancel();
    if (timed_out_) {
      if (parser_->got_some() || buffer_.size() > 0) {
        return WriteError(408, "the request did not arrive in time");
      }
      return Close();
    }
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return Close();
    }
    if (ec) {
      if (ec == http::error::header_limit) {
        return WriteError(431, "request line and headers are too long");
      }
      if (ec == http::error::body_limit) return WriteError(413, "request body is too large");
      return WriteError(400, absl::StrCat("malformed HTTP request (", ec.message(), ")"));
    }
    const auto start = std::chrono::steady_clock::now();
    const http::request<http::string_body>& message = parser_->get();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.host = std::string(message[http::field::host]);
    request.if_none_match = std::string(message[http::field::if_none_match]);
    request.origin = std::string(message[http::field::origin]);
    Response response = message.target().size() > kMaxTargetLength
                            ? Handler::ErrorResponse(414, "request target is too long")
                            : server_->handler()->Handle(request);
    const bool keep_alive = message.keep_alive() && !server_->draining();
    Write(std::move(response), message.version(), keep_alive, request.method == "HEAD");
    if (server_->options().access_log) {
      const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
      server_->options().access_log(absl::StrFormat(
          "%s - - [%s] \"%s %s HTTP/%d.%d\" %d %u %dus", peer_, LogTime(), request.method,
          request.target, message.version() / 10, message.version() % 10, response_.status(),
          response_.body().size(), micros));
    }
  }

  void WriteError(int status, absl::string_view text) {
    Write(Handler::ErrorResponse(status, text), 11, /*keep_alive=*/false, /*head=*/false);
  }

  // Write sends the status line and headers formatted here, then the body as a second
  // buffer of the same write: a tile goes from the file's map to the socket uncopied.
  void Write(Response response, unsigned version, bool keep_alive, bool head) {
    response_ = std::move(response);
    const int status = response_.status();
    head_.clear();
    absl::StrAppend(&head_, "HTTP/", version / 10, ".", version % 10, " ", status, " ",
                    StatusText(status), "\r\nServer: flatpyramid\r\nDate: ", HttpDate(), "\r\n");
    // Header values come from the handler: no CR or LF (the router refuses control
    // characters in anything it echoes).
    for (const auto& [name, value] : response_.headers()) {
      absl::StrAppend(&head_, name, ": ", value, "\r\n");
    }
    const bool has_body = status != 204 && status != 304;
    if (has_body) absl::StrAppend(&head_, "Content-Length: ", response_.body().size(), "\r\n");
    if (!keep_alive && version >= 11) head_ += "Connection: close\r\n";
    if (keep_alive && version < 11) head_ += "Connection: keep-alive\r\n";
    head_ += "\r\n";
    const absl::string_view body = has_body && !head ? response_.body() : absl::string_view();
    const std::array<asio::const_buffer, 2> buffers = {asio::buffer(head_),
                                                       asio::buffer(body.data(), body.size())};
    stream_.expires_after(ToChrono(server_->options().write_timeout));
    asio::async_write(stream_, buffers,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        self->OnWrite(ec, keep_alive);
                      });
  }

  void OnWrite(beast::error_code ec, bool keep_alive) {
    if (ec || !keep_alive || server_->draining()) return Close();
    ReadRequest();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  asio::steady_timer read_timer_;
  bool timed_out_ = false;  // read_timer_ fired: the pending read was cancelled.
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // response_ owns (or keeps alive) the body being written; head_ its status line and
  // headers. Both live until the write completes.
  Response response_;
  std::string head_;
  Server::Impl* server_;
  int loop_;
  std::string peer_;
  bool reading_ = false;  // Waiting for a request (touched on the session's loop only).
};

void Server::Impl::Register(const std::shared_ptr<Session>& session, int loop) {
  std::lock_guard<std::mutex> lock(loops_[loop]->mu);
  loops_[loop]->sessions.push_back(session);
}

void Server::Impl::Unregister(Session* session, int loop) {
  std::lock_guard<std::mutex> lock(loops_[loop]->mu);
  loops_[loop]->sessions.remove_if([session](const std::weak_ptr<Session>& weak) {
    std::shared_ptr<Session> s = weak.lock();
    return s == nullptr || s.get() == session;
  });
}

absl::Status Server::Impl::Listen() {
  if (options_.threads < 1 || options_.threads > 256) {
    return absl::InvalidArgumentError("ServerOptions::threads must be 1..256");
  }
  if (options_.port < 0 || options_.port > 65535) {
    return absl::InvalidArgumentError("ServerOptions::port must be 0..65535");
  }
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("ServerOptions::host \"", options_.host, "\" is not an IP address"));
  }
  port_ = options_.port;
  for (int i = 0; i < options_.threads; ++i) {
    auto loop = std::make_unique<Loop>();
    tcp::acceptor& acceptor = loop->acceptor.emplace(loop->context);
    const tcp::endpoint endpoint(address, static_cast<uint16_t>(port_));
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
    }
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options_.host, ":", port_, ": ", ec.message()));
    }
    port_ = acceptor.local_endpoint().port();
    loops_.push_back(std::move(loop));
  }
  return absl::OkStatus();
}

void Server::Impl::Accept(int loop) {
  loops_[loop]->acceptor->async_accept([this, loop](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || draining()) return;
    if (!ec) {
      if (connections_.fetch_add(1, std::memory_order_relaxed) >= options_.max_connections) {
        connections_.fetch_sub(1, std::memory_order_relaxed);
        socket.close(ec);
      } else {
        auto session = std::make_shared<Session>(std::move(socket), this, loop);
        Register(session, loop);
        session->Start();
      }
    }
    Accept(loop);
  });
}

void Server::Impl::Run() {
  for (int i = 0; i < static_cast<int>(loops_.size()); ++i) {
    Accept(i);
    threads_.emplace_back([this, i] { loops_[i]->context.run(); });
  }
}

void Server::Impl::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    draining_ = true;
    for (auto& loop : loops_) {
      asio::post(loop->context, [l = loop.get()] {
        beast::error_code ec;
        l->acceptor->close(ec);
        std::vector<std::shared_ptr<Session>> sessions;
        {
          std::lock_guard<std::mutex> lock(l->mu);
          for (auto& weak : l->sessions) {
            if (auto s = weak.lock()) sessions.push_back(std::move(s));
          }
        }
        for (auto& s : sessions) s->StopIfIdle();
      });
    }
    const auto deadline = std::chrono::steady_clock::now() + ToChrono(options_.drain_timeout);
    while (connections_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto& loop : loops_) loop->context.stop();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    // Connections still open are cut here, and their handlers run to the end on this thread,
    // so no Session outlives the Server (its destructor touches the loop's list).
    for (auto& loop : loops_) {
      std::vector<std::shared_ptr<Session>> sessions;
      {
        std::lock_guard<std::mutex> lock(loop->mu);
        for (auto& weak : loop->sessions) {
          if (auto s = weak.lock()) sessions.push_back(std::move(s));
        }
      }
      for (auto& s : sessions) s->Abort();
      sessions.clear();
      loop->context.restart();
      loop->context.poll();
    }
  });
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Shutdown(); }
int Server::port() const { return impl_->port(); }
void Server::Shutdown() { impl_->Shutdown(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const Handler* handler,
                                                      const ServerOptions& options) {
  auto impl = std::make_unique<Impl>(handler, options);
  if (absl::Status s = impl->Listen(); !s.ok()) return s;
  impl->Run();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

}  // namespace serve
}  // namespace flatpyramid
