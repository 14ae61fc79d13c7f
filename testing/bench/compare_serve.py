#!/usr/bin/python3
"""serve_pyramid against nginx serving the same tiles as files: wrk, random tiles, keep-alive.

    bazel build --config=opt //tools:serve_pyramid //tools:build_pyramid
    python3 testing/bench/compare_serve.py --serve_pyramid=bazel-bin/tools/serve_pyramid \\
        --build_pyramid=bazel-bin/tools/build_pyramid [--size=medium] [--runs=5] [--seconds=20]

The medium bench pyramid (compare_peers.py's input and build flags) is built once into
--work_dir. Its finest level's tiles are fetched from serve_pyramid into a directory of
Z/X/Y.jpg files, which Debian's nginx serves from a generated nginx.conf in a temporary
directory (127.0.0.1 only, sendfile on, open_file_cache on, access log off, stopped at the end).
wrk (one thread, --connections, keep-alive) requests random tiles of that level from the same
Lua list against each server, alternating nginx and serve_pyramid, --runs times; medians of
requests/s and p99 latency, and their ratios. Then serve_pyramid runs alone under wrk for
--rss_seconds, its RSS sampled every second. Both servers get --server_threads threads
(nginx worker processes); wrk runs one thread beside them on the same cores.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_peers  # noqa: E402  (inputs and build flags shared with the peer benchmark)


def log(message):
    print(f"[compare_serve {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def build_pyramid(tool, size, work_dir, threads):
    rgb4326, _, zoom = compare_peers.prepare_inputs(size, work_dir, threads)
    path = os.path.join(work_dir, "serve", f"{size}.fpyr")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        log(f"building {path}")
        subprocess.run([tool, f"--input={rgb4326}", f"--output={path}", "--tms=WebMercatorQuad",
                        "--codec=jpeg", f"--quality={compare_peers.QUALITY}",
                        f"--resampling={compare_peers.RESAMPLING}",
                        f"--overview_resampling={compare_peers.OVERVIEW_RESAMPLING}",
                        f"--threads={threads}", "--quiet", f"--max_zoom={zoom}"], check=True)
    return path, zoom


def start_serve(tool, pyramid, threads):
    process = subprocess.Popen([tool, pyramid, "--port=0", f"--threads={threads}"],
                               stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not match:
        process.kill()
        sys.exit(f"compare_serve: serve_pyramid did not start: {line}")
    return process, int(match.group(1))


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def export_tiles(port, name, zoom, directory):
    """Fetches every tile of `zoom` into directory/Z/X/Y.jpg; returns the list of 'Z/X/Y'."""
    tiles = []
    for x in range(2 ** zoom):
        for y in range(2 ** zoom):
            url = f"http://127.0.0.1:{port}/{name}/{zoom}/{x}/{y}.jpg"
            try:
                with urllib.request.urlopen(url) as response:
                    body = response.read()
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    continue
                raise
            os.makedirs(os.path.join(directory, str(zoom), str(x)), exist_ok=True)
            with open(os.path.join(directory, str(zoom), str(x), f"{y}.jpg"), "wb") as f:
                f.write(body)
            tiles.append(f"{zoom}/{x}/{y}")
    return tiles


def write_lua(path, prefix, tiles):
    with open(path, "w") as f:
        f.write("math.randomseed(42)\nlocal paths = {\n")
        for tile in tiles:
            f.write(f'  "{prefix}/{tile}.jpg",\n')
        f.write("}\nrequest = function()\n"
                "  return wrk.format(\"GET\", paths[math.random(#paths)])\nend\n")


def start_nginx(directory, root, port, workers):
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes {workers};
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  open_file_cache max=100000 inactive=600s;
  open_file_cache_valid 600s;
  keepalive_requests 100000000;
  client_body_temp_path {directory}/body;
  proxy_temp_path {directory}/proxy;
  fastcgi_temp_path {directory}/fastcgi;
  uwsgi_temp_path {directory}/uwsgi;
  scgi_temp_path {directory}/scgi;
  types {{ image/jpeg jpg; }}
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location / {{ }}
  }}
}}
""")
    process = subprocess.Popen(["nginx", "-c", conf, "-p", directory])
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/").close()
        except urllib.error.HTTPError:
            return process  # 403/404 for "/": nginx is up.
        except OSError:
            time.sleep(0.05)
            continue
        return process
    process.kill()
    sys.exit("compare_serve: nginx did not start")


def run_wrk(port, lua, seconds, connections):
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", lua, f"http://127.0.0.1:{port}"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"compare_serve: {errors.group(1)} error answers on port {port}:\n{out}")
    return rps, float(p99.group(1)) * scale


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_run(port, pid, lua, seconds, connections):
    wrk = subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", lua,
                            f"http://127.0.0.1:{port}"], stdout=subprocess.DEVNULL)
    samples = []
    while wrk.poll() is None:
        samples.append(rss_kib(pid))
        time.sleep(1)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve_pyramid", required=True)
    parser.add_argument("--build_pyramid", required=True)
    parser.add_argument("--size", default="medium", choices=sorted(compare_peers.SIZES))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rss_seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server_threads", type=int, default=1)
    parser.add_argument("--work_dir", default=os.path.expanduser("~/.cache/flatpyramid-bench"))
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            sys.exit(f"compare_serve: {tool} is missing: apt-get install "
                     f"{'nginx-light' if tool == 'nginx' else tool}")
    pyramid, zoom = build_pyramid(os.path.abspath(args.build_pyramid), args.size,
                                  args.work_dir, os.cpu_count())
    name = os.path.splitext(os.path.basename(pyramid))[0]
    temp = tempfile.mkdtemp(prefix="compare_serve_")
    os.chmod(temp, 0o755)  # nginx's workers run as another user when started by root.
    serve, serve_port = start_serve(os.path.abspath(args.serve_pyramid), pyramid,
                                    args.server_threads)
    nginx = None
    try:
        tiles = export_tiles(serve_port, name, zoom, os.path.join(temp, "tiles"))
        log(f"{len(tiles)} tiles at zoom {zoom}")
        write_lua(os.path.join(temp, "serve.lua"), f"/{name}", tiles)
        write_lua(os.path.join(temp, "nginx.lua"), "", tiles)
        nginx_port = free_port()
        nginx = start_nginx(temp, os.path.join(temp, "tiles"), nginx_port, args.server_threads)
        load_before = open("/proc/loadavg").read().split()[:3]
        results = {"nginx": [], "serve_pyramid": []}
        for run in range(args.runs):
            for label, port, lua in (("nginx", nginx_port, "nginx.lua"),
                                     ("serve_pyramid", serve_port, "serve.lua")):
                rps, p99 = run_wrk(port, os.path.join(temp, lua), args.seconds, args.connections)
                results[label].append((rps, p99))
                log(f"run {run + 1} {label}: {rps:.0f} requests/s, p99 {p99:.2f} ms")
        load_after = open("/proc/loadavg").read().split()[:3]
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(timeout=10)
        nginx = None
        samples = rss_run(serve_port, serve.pid, os.path.join(temp, "serve.lua"),
                          args.rss_seconds, args.connections)
    finally:
        if nginx is not None:
            nginx.kill()
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=20)
        shutil.rmtree(temp, ignore_errors=True)

    def med(label, i):
        return statistics.median(r[i] for r in results[label])

    print(f"## serve_pyramid vs nginx ({args.size} pyramid, zoom {zoom}, {len(tiles)} tiles)\n")
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; wrk -t1 -c{args.connections} "
          f"-d{args.seconds}s, random tiles, keep-alive; {args.server_threads} server thread(s) "
          f"(nginx: worker processes); medians of {args.runs} alternating runs; load average "
          f"{' '.join(load_before)} before, {' '.join(load_after)} after.\n")
    print("| | nginx (files, sendfile) | serve_pyramid | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| requests/s | {med('nginx', 0):.0f} | {med('serve_pyramid', 0):.0f} | "
          f"**{med('serve_pyramid', 0) / med('nginx', 0):.2f}x** |")
    print(f"| p99 latency | {med('nginx', 1):.2f} ms | {med('serve_pyramid', 1):.2f} ms | "
          f"{med('serve_pyramid', 1) / med('nginx', 1):.2f} |")
    pair_ratios = [s[0] / n[0] for n, s in zip(results["nginx"], results["serve_pyramid"])]
    print(f"\nRequests/s ratio of each alternating pair: "
          f"{', '.join(f'{r:.2f}' for r in pair_ratios)} (median "
          f"{statistics.median(pair_ratios):.2f}).")
    print(f"\nEvery run (requests/s, p99 ms): nginx "
          f"{', '.join(f'{r:.0f}/{p:.2f}' for r, p in results['nginx'])}; serve_pyramid "
          f"{', '.join(f'{r:.0f}/{p:.2f}' for r, p in results['serve_pyramid'])}.\n")
    print(f"serve_pyramid RSS over a {args.rss_seconds} s wrk run (sampled every second): "
          f"first {samples[0] / 1024:.1f} MiB, max {max(samples) / 1024:.1f} MiB, last "
          f"{samples[-1] / 1024:.1f} MiB.")


if __name__ == "__main__":
    main()
