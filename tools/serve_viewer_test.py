#!/usr/bin/python3
"""serve_pyramid's viewer page in a real browser (headless Chromium driven by puppeteer-core).

For a Web Mercator and a WorldCRS84Quad pyramid: the page loads every tile with 200, logs no
console error, and its screenshot of the map matches read_region of the exact same pixel
window (PSNR >= PSNR_THRESHOLD_DB where the pyramid has data). For an elevation pyramid: the
hillshade's terrarium tiles load with 200 and no error. Everything on 127.0.0.1, bounded.
"""
import os
import re
import signal
import sys

import numpy
from osgeo import gdal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "internal"))
from serve_test_lib import (  # noqa: E402
    OUT, TOOLS, Server, build, check, failed_requests, finish, install_puppeteer, probe, run)

gdal.UseExceptions()
# PSNR_THRESHOLD_DB: the browser decodes the same JPEG tiles with its own decoder and draws
# them 1:1; only decoder rounding may differ.
PSNR_THRESHOLD_DB = 35.0


def check_page(name, result, min_tiles=2):
    check(result["view"]["state"] == "loaded", f"{name}: viewer state {result['view']}")
    check(not result["errors"], f"{name}: console errors {result['errors'][:3]}")
    tiles = [r for r in result["requests"] if re.search(r"/\d+/\d+/\d+\.", r["url"])]
    check(len(tiles) >= min_tiles, f"{name}: {len(tiles)} tile requests")
    bad = failed_requests(result["requests"])
    check(not bad, f"{name}: requests not answered 200: {bad[:3]}")


def compare_with_read_region(name, pyramid, result, srs):
    view = result["view"]
    bbox = ",".join(repr(v) for v in view["bbox"])
    reference = f"{OUT}/{name}_ref.tif"
    run([f"{TOOLS}/read_region", pyramid, f"--bbox={bbox}", f"--bbox_srs={srs}",
         f"--size={view['width']},{view['height']}", "--resampling=nearest",
         f"--output={reference}", "--overwrite"])
    ref_ds = gdal.Open(reference)
    ref = numpy.stack([ref_ds.GetRasterBand(b).ReadAsArray() for b in (1, 2, 3, 4)])
    shot_ds = gdal.Open(f"{OUT}/{name}.png")
    shot = numpy.stack([shot_ds.GetRasterBand(b).ReadAsArray() for b in (1, 2, 3)])
    check(shot.shape[1:] == ref.shape[1:], f"{name}: screenshot {shot.shape} vs {ref.shape}")
    if shot.shape[1:] != ref.shape[1:]:
        return
    visible = ref[3] == 255
    check(visible.sum() > 10000, f"{name}: only {visible.sum()} pixels with data in view")
    diff = shot[:, visible].astype(numpy.float64) - ref[:3][:, visible]
    mse = numpy.mean(diff ** 2)
    psnr = float("inf") if mse == 0 else 10 * numpy.log10(255.0 ** 2 / mse)
    print(f"{name}: screenshot vs read_region PSNR {psnr:.2f} dB over {visible.sum()} px",
          file=sys.stderr)
    check(psnr >= PSNR_THRESHOLD_DB, f"{name}: PSNR {psnr:.2f} dB < {PSNR_THRESHOLD_DB}")


def main():
    node_modules = install_puppeteer()
    mercator = build("landsat", "--bands=3,2,1")
    geographic = build("geo", "--bands=3,2,1", "--tms=WorldCRS84Quad")
    dem = build("dem", source="olinda_dem_utm25s.tif")
    server = Server("--threads=2", mercator, geographic, dem)
    try:
        base = server.url("")
        result = probe(node_modules, "viewer_probe.js", f"{base}/landsat/#12/-7.995/-34.871",
                       f"{OUT}/landsat.png")
        check_page("landsat", result)
        compare_with_read_region("landsat", mercator, result, "EPSG:3857")
        geo_zoom = int(re.search(r'"maxzoom":(\d+)', run(
            ["curl", "-sS", f"{base}/geo/tilejson.json"]).stdout).group(1))
        result = probe(node_modules, "viewer_probe.js", f"{base}/geo/#{geo_zoom}/-7.995/-34.871",
                       f"{OUT}/geo.png")
        check_page("geo", result)
        check(result["view"]["crs"] == "EPSG:4326", f"geo: map CRS {result['view']['crs']}")
        compare_with_read_region("geo", geographic, result, "EPSG:4326")
        result = probe(node_modules, "viewer_probe.js", f"{base}/dem/", f"{OUT}/dem.png")
        check_page("dem", result, min_tiles=1)
        check(any("encoding=terrarium" in r["url"] for r in result["requests"]),
              "dem: the hillshade reads terrarium tiles")
        shot = gdal.Open(f"{OUT}/dem.png").ReadAsArray().astype(numpy.float64)
        check(shot[:3].std() > 5, f"dem: the hillshade has relief (std {shot[:3].std():.1f})")
    finally:
        code, _ = server.stop(signal.SIGTERM)
    check(code == 0, "serve_pyramid exits 0 on SIGTERM")
    finish()


if __name__ == "__main__":
    main()
