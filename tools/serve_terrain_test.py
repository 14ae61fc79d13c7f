#!/usr/bin/python3
"""serve_pyramid's 3D view (MapLibre GL terrain) in headless Chromium with WebGL2 on SwiftShader.

An elevation pyramid of testing/data/olinda_dem_utm25s.tif: the page loads every request with
200 and no console error, its screenshot is not blank, and map.queryTerrainElevation at sample
points inside the data equals the pyramid's own heights read back by read_region:

MapLibre reads the terrarium tile of some zoom z (the terrain mesh's zoom, which may be below
the view's) and interpolates bilinearly, taking pixel (i, j) to sit at tile coordinate (i, j)
(its corner, not its centre). The test applies that kernel to read_region's values of the
level-z tile and requires |difference| <= TOLERANCE_M: terrarium stores 1/256 m steps and the
server rounds, so each of the four heights is off by at most 1/512 m and so is their weighted
mean. z is the finest zoom in {maxzoom, maxzoom - 1} that matches; no other zoom is accepted.
Against Reader::Sample (/point: bilinear at the finest level, pixel centres) the difference is
bounded by the relief of the level-z 2 x 2 neighbourhood plus the same 1/512 m.
"""
import json
import math
import os
import re
import signal
import subprocess
import sys

from osgeo import gdal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "internal"))
from serve_test_lib import OUT, TOOLS, SRCDIR, build, check, finish, run  # noqa: E402

gdal.UseExceptions()
TOLERANCE_M = 1.0 / 512 + 1e-6
PUPPETEER = "puppeteer-core@24.31.0"
POINTS = [(-34.871, -7.995), (-34.875, -7.99), (-34.867, -7.998), (-34.8725, -7.9935)]
WORLD = 20037508.342789244


def level_tile(pyramid, z, x, y):
    """The pyramid's heights of tile (z, x, y), 256 x 256, through read_region (nearest)."""
    size = 2 * WORLD / 2 ** z
    bbox = [-WORLD + x * size, WORLD - (y + 1) * size, -WORLD + (x + 1) * size, WORLD - y * size]
    out = f"{OUT}/tile_{z}_{x}_{y}.tif"
    run([f"{TOOLS}/read_region", pyramid, "--bbox=" + ",".join(repr(v) for v in bbox),
         "--bbox_srs=EPSG:3857", "--size=256,256", "--resampling=nearest", f"--output={out}",
         "--overwrite"])
    return gdal.Open(out).GetRasterBand(1).ReadAsArray().astype(float)


def maplibre_kernel(pyramid, z, lon, lat):
    """MapLibre's DEM sampling at (lon, lat) on level z; also the 2 x 2 heights it weighs."""
    n = 2 ** z
    fx = (lon + 180) / 360 * n
    fy = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    tx, ty = int(fx), int(fy)
    heights = level_tile(pyramid, z, tx, ty)
    cx, cy = (fx - tx) * 256, (fy - ty) * 256
    ix, iy = int(cx), int(cy)
    ax, ay = cx - ix, cy - iy
    check(ix < 255 and iy < 255, f"({lon}, {lat}): on the last pixel of its tile; move it")
    h = [heights[iy, ix], heights[iy, ix + 1], heights[iy + 1, ix], heights[iy + 1, ix + 1]]
    value = (h[0] * (1 - ax) * (1 - ay) + h[1] * ax * (1 - ay) + h[2] * (1 - ax) * ay +
             h[3] * ax * ay)
    return value, h


def main():
    node_modules = run([os.path.join(SRCDIR, "testing", "node", "install.sh"),
                        PUPPETEER]).stdout.strip()
    dem = build("dem", source="olinda_dem_utm25s.tif")
    server = subprocess.Popen([f"{TOOLS}/serve_pyramid", "--port=0", "--threads=2", dem],
                              stderr=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r"127\.0\.0\.1:(\d+)/", server.stderr.readline()).group(1))
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, NODE_PATH=node_modules)
        points = ";".join(f"{lon},{lat}" for lon, lat in POINTS)
        probe = run(["node", f"{TOOLS}/internal/terrain_probe.js", f"{base}/dem/?view=3d",
                     f"{OUT}/terrain.png", points], env=env, timeout=120)
        result = json.loads(probe.stdout.strip().splitlines()[-1])
        view = result["view"]
        check(view["state"] == "loaded", f"3D view state {view}")
        check(view.get("webgl2") and view.get("terrain"), f"WebGL2 terrain: {view}")
        check(not result["errors"], f"console errors {result['errors'][:3]}")
        bad = [r for r in result["requests"] if r["status"] != 200]
        check(not bad, f"requests not answered 200: {bad[:3]}")
        check(sum("encoding=terrarium" in r["url"] for r in result["requests"]) >= 2,
              "the terrain reads terrarium tiles")
        for sample in view.get("samples", []):
            lon, lat, got = sample["lon"], sample["lat"], sample["elevation"]
            matched = None
            for z in (view["maxzoom"], view["maxzoom"] - 1):
                expected, heights = maplibre_kernel(dem, z, lon, lat)
                if abs(got - expected) <= TOLERANCE_M:
                    matched = (z, expected, heights)
                    break
            check(matched is not None, f"({lon}, {lat}): MapLibre {got} m matches no level")
            if matched is None:
                continue
            z, expected, heights = matched
            point = json.loads(run(["curl", "-sS", f"{base}/dem/point?x={lon}&y={lat}"]).stdout)
            sampled = point["values"][0]
            relief = max(heights) - min(heights)
            print(f"({lon}, {lat}): MapLibre {got:.4f} m, level {z} kernel {expected:.4f} m, "
                  f"Sample {sampled:.4f} m, relief {relief:.3f} m", file=sys.stderr)
            check(abs(got - sampled) <= relief + TOLERANCE_M,
                  f"({lon}, {lat}): MapLibre {got} vs Sample {sampled} beyond relief {relief}")
        shot = gdal.Open(f"{OUT}/terrain.png").ReadAsArray().astype(float)
        check(shot[:3].std() > 5, f"the 3D screenshot is blank (std {shot[:3].std():.1f})")
    finally:
        server.send_signal(signal.SIGTERM)
        check(server.wait(timeout=30) == 0, "serve_pyramid exits 0 on SIGTERM")
    finish()


if __name__ == "__main__":
    main()
