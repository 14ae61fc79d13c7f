#!/usr/bin/python3
"""serve_pyramid's 3D view (MapLibre GL terrain) in headless Chromium with WebGL2 on SwiftShader.

An elevation pyramid of testing/data/olinda_dem_utm25s.tif: the page loads every request with
200 and no console error, its first screenshot shows relief, and map.queryTerrainElevation
equals Reader::Sample (/point) within the terrarium encoding's precision.

MapLibre interpolates the raster-dem tile's pixels bilinearly with pixel (i, j) standing at
tile coordinate (i, j), its corner, where Reader::Sample puts it at (i + 0.5, j + 0.5), its
centre. The test therefore asks MapLibre at exact pixel corners of the finest level, where its
kernel weighs one pixel only, and Sample (nearest) at the centres of the same pixels; it checks
that MapLibre read those pixels from a finest-level tile (looking from one zoom above the
finest, as MapLibre draws terrain one zoom coarser than the view). The server rounds to the
nearest 1/256 m, so the two agree within half a step, TOLERANCE_M (a truncating encoder would
be off by up to a whole step), and MapLibre's value is Sample's rounded to that step.
"""
import json
import math
import os
import signal
import sys
import urllib.request

import numpy
from osgeo import gdal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "internal"))
from serve_test_lib import (  # noqa: E402
    OUT, Server, build, check, failed_requests, finish, install_puppeteer, probe)

gdal.UseExceptions()
TOLERANCE_M = 1.0 / 512 + 1e-9
TILE_SIZE = 256
WORLD = 20037508.342789244  # Half the Web Mercator world's width, metres.
# Finest-level pixels from the one under the data's centre, inside the data and inside the
# probe's 320 x 450 map, where one is 4 screen pixels wide.
PIXEL_OFFSETS = [(0, 0), (17, -23), (-31, 12), (29, 33), (-28, -27), (5, 41), (-9, -38)]


def fetch_json(url):
    with urllib.request.urlopen(url, timeout=20) as answer:
        return json.loads(answer.read())


def pixel_corners(center_lon, center_lat, zoom):
    """Global pixels (column, row) at `zoom` around the one under the centre, and their
    top-left corners in longitude, latitude."""
    scale = TILE_SIZE * 2 ** zoom
    column = int((center_lon + 180) / 360 * scale)
    row = int((1 - math.asinh(math.tan(math.radians(center_lat))) / math.pi) / 2 * scale)
    pixels = [(column + dx, row + dy) for dx, dy in PIXEL_OFFSETS]
    corners = [(px / scale * 360 - 180,
                math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * py / scale)))))
               for px, py in pixels]
    return pixels, corners


def terrarium(metres):
    """`metres` rounded to the nearest terrarium step, as codec/terrain_rgb.h states."""
    return math.floor((metres + 32768) * 256 + 0.5) / 256 - 32768


def sample_pixel_centre(server, px, py, zoom):
    """Reader::Sample (nearest) at the centre of global pixel (px, py) of level `zoom`."""
    size = 2 * WORLD / (TILE_SIZE * 2 ** zoom)
    x, y = -WORLD + (px + 0.5) * size, WORLD - (py + 0.5) * size
    point = fetch_json(server.url(f"/dem/point?x={x!r}&y={y!r}&srs=EPSG:3857&method=nearest"))
    return point["values"][0]


def check_elevations(server, view, pixels, maxzoom):
    samples = view.get("samples", [])
    check(len(samples) == len(pixels), f"{len(samples)} samples for {len(pixels)} points")
    heights = []
    for (px, py), got in zip(pixels, samples):
        where = f"pixel ({px}, {py}) of level {maxzoom}"
        tile = got["demTile"]
        check(got["sameAsTerrainZoom"], f"{where}: terrain zoom {view['terrainZoom']} mismatch")
        check(tile == {"z": maxzoom, "x": px // TILE_SIZE, "y": py // TILE_SIZE},
              f"{where}: MapLibre read raster-dem tile {tile}")
        expected = sample_pixel_centre(server, px, py, maxzoom)
        check(expected is not None, f"{where}: no data; move PIXEL_OFFSETS inside the data")
        if expected is None:
            continue
        heights.append(expected)
        print(f"{where}: queryTerrainElevation {got['elevation']!r} m, Sample {expected!r} m",
              file=sys.stderr)
        check(abs(got["elevation"] - expected) <= TOLERANCE_M,
              f"{where}: MapLibre {got['elevation']} m vs Sample {expected} m")
        check(abs(got["elevation"] - terrarium(expected)) <= 1e-6,
              f"{where}: MapLibre {got['elevation']} m is not Sample {expected} m rounded to "
              f"the nearest 1/256 m ({terrarium(expected)} m)")
    check(len(heights) > 1 and max(heights) - min(heights) > 10,
          f"the points span relief, so that a flat answer fails: {heights}")


def check_relief(screenshot):
    """The hillshade shades the data in the 3D view as it first shows (the 320 x 450 map):
    rows 180..279, columns 40..219 lie inside the data. A flat or missing terrain draws them in
    one grey (standard deviation 0), as the background is."""
    shot_ds = gdal.Open(screenshot)
    grey = shot_ds.ReadAsArray()[:3].astype(numpy.float64).mean(axis=0)
    spread = grey[180:280, 40:220].std()
    check(spread > 3, f"no relief in the middle of the 3D view: grey std {spread:.2f}")


def main():
    node_modules = install_puppeteer()
    dem = build("dem", source="olinda_dem_utm25s.tif")
    server = Server("--threads=2", dem)
    try:
        tilejson = fetch_json(server.url("/dem/tilejson.json"))
        maxzoom = tilejson["maxzoom"]
        pixels, corners = pixel_corners(tilejson["center"][0], tilejson["center"][1], maxzoom)
        points = ";".join(f"{lon!r},{lat!r}" for lon, lat in corners)
        screenshot = os.path.join(os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", OUT),
                                  "terrain.png")
        result = probe(node_modules, "terrain_probe.js", server.url("/dem/?view=3d"),
                       screenshot, str(maxzoom + 1), points)
        view = result["view"]
        check(view["state"] == "loaded", f"3D view state {view}")
        check(view.get("webgl2") and view.get("terrain"), f"WebGL2 terrain: {view}")
        check(not result["errors"], f"console errors {result['errors'][:3]}")
        bad = failed_requests(result["requests"])
        check(not bad, f"requests not answered 200: {bad[:3]}")
        check(sum("encoding=terrarium" in r["url"] for r in result["requests"]) >= 2,
              "the terrain reads terrarium tiles")
        check_elevations(server, view, pixels, maxzoom)
        check_relief(screenshot)
    finally:
        code, _ = server.stop(signal.SIGTERM)
    check(code == 0, "serve_pyramid exits 0 on SIGTERM")
    finish()


if __name__ == "__main__":
    main()
