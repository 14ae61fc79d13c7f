// serve_pyramid [FILE.fpyr ...] [--host=127.0.0.1] [--port=8080] [--threads=N] [--cors=*]
//   [--cache_mb=256] [--empty=404] [--access_log=FILE|-]
// Serves pyramids over HTTP to web maps and GIS clients: XYZ tiles, TileJSON, WMTS, region
// and point queries, and a map viewer at http://HOST:PORT/NAME/ (//serve). With no FILE it
// serves ./flatpyramid_demo.fpyr, building it from the bundled sample first if missing.
// SIGINT / SIGTERM drain the connections and exit 0.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gflags/gflags.h"
#include "pyramid/builder.h"
#include "serve/handler.h"
#include "serve/pyramid_set.h"
#include "serve/server.h"
#include "tools/internal/cli.h"
#include "tools/internal/demo.h"

DEFINE_string(host, "127.0.0.1",
              "Address to listen on (an IP address; 0.0.0.0 for every interface).");
DEFINE_int32(port, 8080, "Port to listen on; 0 picks a free one (printed at start).");
DEFINE_int32(threads, 0, "Event-loop threads (1..256); 0: one per core.");
DEFINE_int32(max_connections, 1024, "Open connections at most; more are closed at once.");
DEFINE_string(cors, "",
              "Access-Control-Allow-Origin to send (e.g. '*'); also answers CORS preflights.");
DEFINE_int32(cache_mb, 256, "Decoded-tile cache for regions, points and terrain tiles (MiB).");
DEFINE_int32(empty, 404, "Status of a tile with no data: 404 or 204.");
DEFINE_int32(timeout_seconds, 10,
             "A whole request must arrive within this many seconds (slow clients are cut); "
             "idle keep-alive connections close after it too.");
DEFINE_string(access_log, "", "Write one line per request to this file ('-': stdout).");

namespace {

constexpr char kTool[] = "serve_pyramid";

// BuildDemoIfMissing builds ./flatpyramid_demo.fpyr (the working directory of bazel run)
// the way build_pyramid does, unless it exists.
absl::Status BuildDemoIfMissing(const char* argv0, const std::string& path) {
  if (access(path.c_str(), F_OK) == 0) return absl::OkStatus();
  absl::StatusOr<flatpyramid::pyramid::BuildOptions> options =
      flatpyramid::tools::DemoBuildOptions(argv0, path);
  if (!options.ok()) return options.status();
  std::fprintf(stderr, "%s: building the demo pyramid %s first\n", kTool, path.c_str());
  absl::StatusOr<flatpyramid::pyramid::BuildResult> result =
      flatpyramid::pyramid::BuildPyramid(*options);
  return result.status();
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "serves flatpyramid files over HTTP: tiles, TileJSON, WMTS, regions, points, a viewer\n"
      "  serve_pyramid [FILE.fpyr ...] [--port=8080] [--host=127.0.0.1] [--cors=*]\n"
      "  no FILE: serves ./flatpyramid_demo.fpyr, building it first if missing");
  flatpyramid::tools::ParseFlags(kTool, &argc, &argv);
  if (FLAGS_empty != 404 && FLAGS_empty != 204) {
    return flatpyramid::tools::UsageError(kTool, "--empty must be 404 or 204");
  }
  if (FLAGS_cache_mb < 1) return flatpyramid::tools::UsageError(kTool, "--cache_mb must be >= 1");
  int threads = FLAGS_threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  if (threads < 1 || threads > 256) {
    return flatpyramid::tools::UsageError(kTool, "--threads must be 0..256");
  }
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) paths.push_back(flatpyramid::tools::ResolvePath(argv[i]));
  if (paths.empty()) {
    paths.push_back(flatpyramid::tools::ResolvePath(flatpyramid::tools::kDemoOutput));
    if (absl::Status s = BuildDemoIfMissing(argv[0], paths[0]); !s.ok()) {
      return flatpyramid::tools::Fail(kTool, s);
    }
  }
  flatpyramid::serve::PyramidSetOptions set_options;
  set_options.cache_bytes = static_cast<size_t>(FLAGS_cache_mb) << 20;
  absl::StatusOr<std::unique_ptr<flatpyramid::serve::PyramidSet>> pyramids =
      flatpyramid::serve::PyramidSet::Open(paths, set_options);
  if (!pyramids.ok()) return flatpyramid::tools::Fail(kTool, pyramids.status());

  flatpyramid::serve::HandlerOptions handler_options;
  handler_options.cors_origin = FLAGS_cors;
  handler_options.empty_tile_status = FLAGS_empty;
  flatpyramid::serve::Handler handler(pyramids->get(), handler_options);

  flatpyramid::serve::ServerOptions options;
  options.host = FLAGS_host;
  options.port = FLAGS_port;
  options.threads = threads;
  options.max_connections = FLAGS_max_connections;
  if (FLAGS_timeout_seconds < 1) {
    return flatpyramid::tools::UsageError(kTool, "--timeout_seconds must be >= 1");
  }
  options.request_timeout = absl::Seconds(FLAGS_timeout_seconds);
  std::FILE* log = nullptr;
  std::mutex log_mu;
  if (!FLAGS_access_log.empty()) {
    log = FLAGS_access_log == "-"
              ? stdout
              : std::fopen(flatpyramid::tools::ResolvePath(FLAGS_access_log).c_str(), "a");
    if (log == nullptr) {
      return flatpyramid::tools::Fail(
          kTool, absl::PermissionDeniedError(absl::StrCat(
                     "cannot open --access_log=", FLAGS_access_log, " for appending")));
    }
    options.access_log = [log, &log_mu](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu);
      std::fprintf(log, "%s\n", line.c_str());
      std::fflush(log);
    };
  }
  // The server's threads inherit the blocked signals, so only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<flatpyramid::serve::Server>> server =
      flatpyramid::serve::Server::Start(&handler, options);
  if (!server.ok()) return flatpyramid::tools::Fail(kTool, server.status());
  const std::string host =
      FLAGS_host.find(':') != std::string::npos ? absl::StrCat("[", FLAGS_host, "]") : FLAGS_host;
  std::fprintf(stderr, "%s: serving %zu pyramid(s) on http://%s:%d/ with %d threads\n", kTool,
               paths.size(), host.c_str(), (*server)->port(), threads);
  for (const std::string& name : (*pyramids)->names()) {
    std::fprintf(stderr, "  http://%s:%d/%s/\n", host.c_str(), (*server)->port(), name.c_str());
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "%s: signal %d, draining connections\n", kTool, signal_number);
  (*server)->Shutdown();
  if (log != nullptr && log != stdout) std::fclose(log);
  return 0;
}
