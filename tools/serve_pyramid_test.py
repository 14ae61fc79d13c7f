#!/usr/bin/python3
"""serve_pyramid end to end, with real clients: curl, raw sockets, GDAL's WMTS and TMS drivers.

Every server listens on 127.0.0.1 on a port it picks; every wait is bounded.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy
from osgeo import gdal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "internal"))
from serve_test_lib import FAILURES, OUT, TOOLS, Server, build, check, finish, run  # noqa: E402

gdal.UseExceptions()
os.environ["GDAL_HTTP_TIMEOUT"] = "20"
# PSNR_THRESHOLD_DB: GDAL decodes the same stored JPEG/PNG tiles as the reader; the two
# JPEG decoders may differ by rounding only.
PSNR_THRESHOLD_DB = 45.0


def curl(*args):
    """Returns (status, headers dict lower-case, body bytes)."""
    if os.path.exists(f"{OUT}/body"):
        os.remove(f"{OUT}/body")  # curl writes no file for an answer without a body.
    result = subprocess.run(["curl", "-sS", "--max-time", "20", "-D", "-", "-o",
                             f"{OUT}/body", *args], stdout=subprocess.PIPE, check=True,
                            timeout=30)
    lines = result.stdout.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    body = b""
    if os.path.exists(f"{OUT}/body"):
        with open(f"{OUT}/body", "rb") as f:
            body = f.read()
    return status, headers, body


def raw_request(port, data, read_timeout=15):
    """Sends raw bytes, returns what the server answers until it closes (bounded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            chunks.append(b"<timeout>")
        return b"".join(chunks)


def psnr(a, b):
    mse = numpy.mean((a.astype(numpy.float64) - b.astype(numpy.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * numpy.log10(255.0 ** 2 / mse)


def read_bands(path, bands):
    ds = gdal.Open(path)
    return numpy.stack([ds.GetRasterBand(b).ReadAsArray() for b in bands])


def test_tiles_headers_and_statuses(server):
    tile = server.url("/landsat/12/1650/2138.jpg")
    status, headers, body = curl(tile)
    check(status == 200, f"tile status {status}")
    check(headers.get("content-type") in ("image/jpeg", "image/png"), f"tile type {headers}")
    check(int(headers["content-length"]) == len(body), "Content-Length is the body's length")
    check(re.fullmatch(r'"[0-9a-f]{32}"', headers.get("etag", "")), f"ETag {headers}")
    check(headers.get("cache-control") == "public, max-age=60", f"Cache-Control {headers}")
    check(headers.get("access-control-allow-origin") == "*", "CORS header with --cors=*")
    check(headers.get("connection", "keep-alive") != "close", "keep-alive by default")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    connection.request("HEAD", "/landsat/12/1650/2138.jpg")
    head = connection.getresponse()
    check(head.status == 200 and head.read() == b"", f"HEAD: {head.status}")
    check(head.getheader("Content-Length") == headers["content-length"] and
          head.getheader("ETag") == headers["etag"], "HEAD has GET's headers")
    connection.request("GET", "/landsat/12/1650/2138.jpg")  # The connection goes on after HEAD.
    check(connection.getresponse().read() == body, "GET after HEAD on one connection")
    connection.close()
    status, cached, body = curl("-H", f"If-None-Match: {headers['etag']}", tile)
    check(status == 304 and body == b"" and cached.get("etag") == headers["etag"], "304")
    status, _, _ = curl("-H", 'If-None-Match: "other"', tile)
    check(status == 200, "a different ETag is 200")
    status, pre, body = curl("-X", "OPTIONS", "-H", "Origin: http://example.org", "-H",
                             "Access-Control-Request-Method: GET", tile)
    check(status == 204 and pre.get("access-control-allow-methods") == "GET, HEAD, OPTIONS",
          f"CORS preflight: {status} {pre}")
    status, post, _ = curl("-X", "POST", "--data", "x=1", tile)
    check(status == 405 and post.get("allow") == "GET, HEAD, OPTIONS", f"POST: {status} {post}")
    for path, want in (("/nope/1/0/0", 404), ("/landsat/12/0/0", 404), ("/landsat/13/0/0", 404),
                       ("/landsat/12/x/1", 400), ("/landsat/12/1/-1", 400),
                       ("/landsat/99999999999/1/1", 400), ("/landsat/12/99999999999/1", 400),
                       ("/../../etc/passwd", 400), ("/%2e%2e/%2e%2e/etc/passwd", 400),
                       ("/landsat/%2e%2e/x", 400), ("/landsat/12/1/1.exe", 400),
                       ("/landsat", 301), ("/landsat/", 200), ("/", 200),
                       ("/landsat/tilejson.json", 200), ("/landsat/WMTSCapabilities.xml", 200),
                       ("/_static/leaflet.js", 200), ("/_static/../x", 400),
                       ("/landsat/region.png?bbox=a", 400), ("/landsat/point?x=1", 400),
                       ("/" + "a" * 5000, 414)):
        status, headers, body = curl("--path-as-is", server.url(path))
        check(status == want, f"{path[:60]}: status {status}, expected {want}: {body[:100]}")
        if status >= 400:
            check(headers.get("content-type") == "text/plain; charset=utf-8" and
                  body.startswith(str(status).encode()), f"{path[:60]}: error body {body[:80]}")


def test_tilejson_is_valid_json(server):
    for name in ("landsat", "geo", "dem"):
        status, _, body = curl(server.url(f"/{name}/tilejson.json"))
        try:
            document = json.loads(body)
        except ValueError as e:
            check(False, f"{name}/tilejson.json is not JSON ({e}): {body[:300]}")
            continue
        check(status == 200 and document["tilejson"] == "3.0.0", f"{name}: {document}")
        check(document["tiles"][0].startswith(f"http://127.0.0.1:{server.port}/{name}/"),
              f"{name}: tiles URL {document['tiles']}")
    check(json.loads(curl(server.url("/dem/tilejson.json"))[2])["nodata"] == "NaN",
          "a NaN nodata is the string NaN")
    check(json.loads(curl(server.url("/geo/tilejson.json"))[2])["crs"] == "EPSG:4326",
          "WorldCRS84Quad's TileJSON names EPSG:4326")


def test_bad_http(server):
    answer = raw_request(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 +
                         b"\r\n\r\n")
    check(answer.startswith(b"HTTP/1.1 431"), f"overlong header: {answer[:60]}")
    answer = raw_request(server.port, b"NOT HTTP AT ALL\r\n\r\n")
    check(answer.startswith(b"HTTP/1.1 400"), f"garbage: {answer[:60]}")
    answer = raw_request(server.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n"
                         b"\r\n")
    check(answer.startswith(b"HTTP/1.1 413"), f"huge body: {answer[:60]}")
    # HTTP/1.0 without keep-alive: answered in 1.0 and closed (raw_request reads to the close).
    answer = raw_request(server.port, b"GET /landsat/tilejson.json HTTP/1.0\r\n\r\n")
    check(answer.startswith(b"HTTP/1.0 200 OK\r\n") and answer.endswith(b"}\n"),
          f"HTTP/1.0: {answer[:60]}")
    answer = raw_request(server.port, b"GET /nope/ HTTP/1.1\r\nHost: x\r\nConnection: close"
                         b"\r\n\r\n")
    check(b"\r\nConnection: close\r\n" in answer and answer.startswith(b"HTTP/1.1 404"),
          f"Connection: close is echoed: {answer[:200]}")
    # Pipelined requests on one connection are answered in order.
    answer = raw_request(server.port, b"GET /landsat/tilejson.json HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    check(answer.count(b"HTTP/1.1 200 OK") == 2, f"pipelining: {answer.count(b'HTTP/1.1 200')}")


def test_slow_clients_are_cut_and_do_not_block_others(server):
    # --timeout_seconds=2: a request line without its end is answered 408 after about 2 s,
    # a silent connection is closed; meanwhile other clients are served.
    start = time.time()
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    slow.sendall(b"GET /landsat/tilejson.json HTTP/1.1\r\nHost: x\r\n")
    silent = [socket.create_connection(("127.0.0.1", server.port), timeout=15)
              for _ in range(20)]
    status, _, _ = curl(server.url("/landsat/tilejson.json"))
    check(status == 200, "served while slow clients hold connections")
    answer = b""
    try:
        while True:
            chunk = slow.recv(4096)
            if not chunk:
                break
            answer += chunk
    except socket.timeout:
        pass
    elapsed = time.time() - start
    check(answer.startswith(b"HTTP/1.1 408"), f"slow request: {answer[:60]}")
    check(1.5 <= elapsed <= 6, f"slow request cut after {elapsed:.1f} s, expected about 2")
    for s in silent:
        s.settimeout(10)
        check(s.recv(10) == b"", "a silent connection is closed")
        s.close()
    slow.close()


def test_keep_alive(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    for i in range(200):
        connection.request("GET", f"/landsat/12/{1650 + i % 2}/2138.jpg")
        response = connection.getresponse()
        response.read()
        check(response.status == 200 and not response.will_close, f"keep-alive request {i}")
        if FAILURES:
            break
    connection.close()


def test_region_point_and_read_region(server):
    bbox = "-34.90,-8.03,-34.84,-7.96"
    path = f"{OUT}/served.tif"
    with open(path, "wb") as f:
        f.write(curl(server.url(f"/landsat/region.tif?bbox={bbox}&width=300&height=350"
                                "&resampling=bilinear"))[2])
    run([f"{TOOLS}/read_region", f"{OUT}/landsat.fpyr", f"--bbox={bbox}", "--size=300,350",
         "--resampling=bilinear", f"--output={OUT}/tool.tif", "--overwrite"])
    served, tool = read_bands(path, [1, 2, 3, 4]), read_bands(f"{OUT}/tool.tif", [1, 2, 3, 4])
    check(numpy.array_equal(served, tool), "region.tif has read_region's pixels")
    check(gdal.Open(path).GetGeoTransform() == gdal.Open(f"{OUT}/tool.tif").GetGeoTransform(),
          "region.tif has read_region's geotransform")
    status, headers, body = curl(server.url("/dem/point?x=-34.855&y=-8.005"))
    check(status == 200 and headers["content-type"] == "application/json", f"point {body}")
    value = float(re.search(rb'"values":\[([-0-9.e]+)\]', body).group(1))
    check(-100 < value < 200, f"Olinda's elevation at the point: {value}")


def test_gdal_wmts_and_tms(server):
    capabilities = server.url("/landsat/WMTSCapabilities.xml")
    info = run(["gdalinfo", f"WMTS:{capabilities}"]).stdout
    check("Pseudo-Mercator" in info, "WMTS layer in EPSG:3857")
    # A window of zoom 12 (1 pixel = 38.2185 m), aligned to the tile grid, both ways.
    tms_size = 2 * 20037508.342789244
    res = tms_size / (256 * 2 ** 12)
    x0, y0 = -20037508.342789244 + 1650 * 256 * res, 20037508.342789244 - 2138 * 256 * res
    x1, y1 = x0 + 400 * res, y0 - 300 * res
    window = [str(v) for v in (x0, y0, x1, y1)]
    run(["gdal_translate", "-q", "-projwin", *window, "-outsize", "400", "300", "-r", "nearest",
         f"WMTS:{capabilities}", f"{OUT}/wmts.tif"])
    run([f"{TOOLS}/read_region", f"{OUT}/landsat.fpyr",
         f"--bbox={x0},{y1},{x1},{y0}", "--bbox_srs=EPSG:3857", "--size=400,300",
         "--resampling=nearest", f"--output={OUT}/ref.tif", "--overwrite"])
    ref = read_bands(f"{OUT}/ref.tif", [1, 2, 3, 4])
    wmts = read_bands(f"{OUT}/wmts.tif", [1, 2, 3, 4])
    visible = ref[3] == 255
    value = psnr(wmts[:3][:, visible], ref[:3][:, visible])
    print(f"GDAL WMTS window vs read_region: PSNR {value:.1f} dB", file=sys.stderr)
    check(value >= PSNR_THRESHOLD_DB, f"WMTS PSNR {value:.1f} dB < {PSNR_THRESHOLD_DB}")
    xml = f"""<GDAL_WMS><Service name="TMS"><ServerUrl>{server.url('/landsat/${z}/${x}/${y}.jpg')}</ServerUrl></Service>
<DataWindow><UpperLeftX>-20037508.342789244</UpperLeftX><UpperLeftY>20037508.342789244</UpperLeftY>
<LowerRightX>20037508.342789244</LowerRightX><LowerRightY>-20037508.342789244</LowerRightY>
<TileLevel>12</TileLevel><TileCountX>1</TileCountX><TileCountY>1</TileCountY><YOrigin>top</YOrigin></DataWindow>
<Projection>EPSG:3857</Projection><BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY>
<BandsCount>4</BandsCount><ZeroBlockHttpCodes>204,404</ZeroBlockHttpCodes></GDAL_WMS>"""
    with open(f"{OUT}/tms.xml", "w") as f:
        f.write(xml)
    run(["gdal_translate", "-q", "-projwin", *window, "-outsize", "400", "300", "-r", "nearest",
         f"{OUT}/tms.xml", f"{OUT}/tms.tif"])
    tms = read_bands(f"{OUT}/tms.tif", [1, 2, 3, 4])
    value = psnr(tms[:3][:, visible], ref[:3][:, visible])
    print(f"GDAL TMS (GDAL_WMS) window vs read_region: PSNR {value:.1f} dB", file=sys.stderr)
    check(value >= PSNR_THRESHOLD_DB, f"TMS PSNR {value:.1f} dB < {PSNR_THRESHOLD_DB}")
    # WorldCRS84Quad: GDAL places the layer in geographic coordinates where the pyramid is.
    info = run(["gdalinfo", "-json", f"WMTS:{server.url('/geo/WMTSCapabilities.xml')}"]).stdout
    check('"EPSG","4326"' in info.replace(" ", "").replace("\n", "") or "WGS 84" in info,
          "WorldCRS84Quad layer is geographic")
    corners = re.search(r'"wgs84Extent":\{"type":"Polygon","coordinates":\[\[\[([-0-9.]+),'
                        r'([-0-9.]+)\]', info.replace(" ", "").replace("\n", ""))
    check(corners and -35.0 < float(corners.group(1)) < -34.8 and
          -8.0 < float(corners.group(2)) < -7.9, f"WorldCRS84Quad extent: {corners and corners.groups()}")


def test_replaced_file_is_picked_up(server, served_path):
    status, _, body = curl(server.url("/swap/tilejson.json"))
    check(b'"maxzoom":12' in body, f"before: {body[:200]}")
    build("swap_next", "--bands=3,2,1", "--max_zoom=10")
    os.rename(f"{OUT}/swap_next.fpyr", served_path)
    time.sleep(1.3)
    status, _, body = curl(server.url("/swap/tilejson.json"))
    check(b'"maxzoom":10' in body, f"after the rename: {body[:200]}")
    status, _, _ = curl(server.url("/swap/11/0/0.jpg"))
    check(status == 404, f"zoom 11 is gone from the new file: {status}")


def main():
    build("landsat", "--bands=3,2,1")
    build("geo", "--bands=3,2,1", "--tms=WorldCRS84Quad")
    build("dem", source="olinda_dem_utm25s.tif")
    swap = build("swap", "--bands=3,2,1")
    log_path = f"{OUT}/access.log"
    server = Server(f"{OUT}/landsat.fpyr", f"{OUT}/geo.fpyr", f"{OUT}/dem.fpyr", swap,
                    "--cors=*", f"--access_log={log_path}", "--timeout_seconds=2",
                    "--threads=2")
    try:
        for test in (test_tiles_headers_and_statuses, test_tilejson_is_valid_json, test_bad_http, test_keep_alive,
                     test_region_point_and_read_region, test_gdal_wmts_and_tms,
                     test_slow_clients_are_cut_and_do_not_block_others):
            print(f"--- {test.__name__}", file=sys.stderr)
            test(server)
        test_replaced_file_is_picked_up(server, swap)
    finally:
        code, rest = server.stop(signal.SIGTERM)
    check(code == 0, f"SIGTERM: exit code {code}")
    check("draining" in rest, f"SIGTERM message: {rest}")
    with open(log_path) as f:
        lines = f.read().splitlines()
    check(any(re.fullmatch(r'127\.0\.0\.1 - - \[[^]]+\] "GET /landsat/12/1650/2138\.jpg '
                           r'HTTP/1\.1" 200 \d+ \d+us', line) for line in lines),
          f"access log lines: {lines[:3]}")

    # No argument: builds ./flatpyramid_demo.fpyr in the working directory, then serves it.
    demo_dir = f"{OUT}/demo"
    os.makedirs(demo_dir)
    env = dict(os.environ, BUILD_WORKING_DIRECTORY=demo_dir)
    demo = Server(env=env)
    status, _, body = curl(demo.url("/flatpyramid_demo/tilejson.json"))
    check(status == 200 and os.path.exists(f"{demo_dir}/flatpyramid_demo.fpyr"), "demo mode")
    code, _ = demo.stop(signal.SIGINT)
    check(code == 0, f"SIGINT: exit code {code}")

    # --max_connections=3: a fourth connection is closed at once; a freed slot serves again.
    limited = Server(f"{OUT}/landsat.fpyr", "--max_connections=3", "--threads=1")
    held = [socket.create_connection(("127.0.0.1", limited.port), timeout=10) for _ in range(3)]
    time.sleep(0.2)
    extra = socket.create_connection(("127.0.0.1", limited.port), timeout=10)
    try:
        extra.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        closed = extra.recv(100) == b""
    except ConnectionError:
        closed = True
    check(closed, "a connection beyond --max_connections is closed")
    extra.close()
    held.pop().close()
    time.sleep(0.2)
    status, _, _ = curl(limited.url("/landsat/tilejson.json"))
    check(status == 200, f"served again once a connection closed: {status}")
    for s in held:
        s.close()
    code, _ = limited.stop(signal.SIGTERM)
    check(code == 0, f"SIGTERM with --max_connections: exit code {code}")

    usage = subprocess.run([f"{TOOLS}/serve_pyramid", "--help"], stdout=subprocess.PIPE,
                           text=True, timeout=30)
    check(usage.returncode == 0 and "--cors" in usage.stdout, "--help")
    bad = subprocess.run([f"{TOOLS}/serve_pyramid", "--empty=500", f"{OUT}/landsat.fpyr"],
                         stderr=subprocess.PIPE, text=True, timeout=30)
    check(bad.returncode == 2 and bad.stderr.strip() ==
          "serve_pyramid: --empty must be 404 or 204 (see serve_pyramid --help)",
          f"--empty=500: {bad.returncode} {bad.stderr}")
    missing = subprocess.run([f"{TOOLS}/serve_pyramid", f"{OUT}/none.fpyr"],
                             stderr=subprocess.PIPE, text=True, timeout=30)
    check(missing.returncode == 1 and missing.stderr.count("\n") == 1,
          f"missing file: {missing.returncode} {missing.stderr}")
    finish()


if __name__ == "__main__":
    main()
