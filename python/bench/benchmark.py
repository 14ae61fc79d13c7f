"""Speed of the Python bindings against C++ and rasterio, on ETOPO20 (testing/data).

    ./bazelw run --config=opt //python:benchmark -- [--rounds=5] [--points=1000000]

Prints, as Markdown for testing/bench/RESULTS.md, medians of alternating rounds:
  - decoded tile(): Pyramid.tile with no tile cache (every call decodes a JPEG) against
    C++ Reader::GetTile on the same tiles in the same process;
  - threads: the same tile decodes and 512 x 512 read() windows spread over a
    ThreadPoolExecutor of 2 against 1 (the GIL is released while decoding and warping);
  - sample(): 1,000,000 random points (nearest) from an elevation pyramid against rasterio's
    DatasetReader.sample on the COG of the same data (gdal_translate -of COG).
"""

import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy
import rasterio

import flatpyramid
from flatpyramid import _flatpyramid

# This file is <runfiles>/flatpyramid/python/bench/benchmark.py.
WORKSPACE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ETOPO = os.path.join(WORKSPACE, "testing", "data", "etopo20.cdf")
COLORS = os.path.join(WORKSPACE, "testing", "bench", "etopo_colors.txt")


def run(*command):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def prepare(directory):
    """(RGB JPEG pyramid, elevation pyramid, elevation COG) of ETOPO20 in `directory`."""
    # ETOPO20's 1081 columns run from longitude 20 (the last repeats the first): columns
    # 0..479 are 20..180 E, 480..1079 are -180..20. Rearranged to -180..180 once (no
    # resampling), for every reader alike, as testing/bench/compare_peers.py does.
    scratch = lambda name: os.path.join(directory, name)
    run("gdal_translate", "-q", "-of", "VRT", "-a_srs", "EPSG:4326", "-srcwin", "0", "0", "480",
        "540", "-a_ullr", "20", "90", "180", "-90", ETOPO, scratch("east.vrt"))
    run("gdal_translate", "-q", "-of", "VRT", "-a_srs", "EPSG:4326", "-srcwin", "480", "0",
        "600", "540", "-a_ullr", "-180", "90", "20", "-90", ETOPO, scratch("west.vrt"))
    run("gdalbuildvrt", "-q", scratch("world.vrt"), scratch("east.vrt"), scratch("west.vrt"))
    tif = scratch("etopo20.tif")
    run("gdal_translate", "-q", scratch("world.vrt"), tif)
    coloured = os.path.join(directory, "coloured.tif")
    run("gdaldem", "color-relief", "-q", tif, COLORS, coloured)
    rgb = os.path.join(directory, "rgb.fpyr")
    flatpyramid.build(coloured, rgb, max_zoom=4, codec="jpeg")
    elevation = os.path.join(directory, "elevation.fpyr")
    flatpyramid.build(
        tif,
        elevation,
        tile_matrix_set="WorldCRS84Quad",
        zoom_strategy="upper",
        resampling="nearest",
    )
    cog = os.path.join(directory, "etopo20_cog.tif")
    run("gdal_translate", "-q", "-of", "COG", tif, cog)
    return rgb, elevation, cog


def median_pair(rounds, first, second):
    """Medians of `rounds` alternating runs of two timed callables."""
    a, b = [], []
    for _ in range(rounds):
        a.append(first())
        b.append(second())
    return statistics.median(a), statistics.median(b)


def bench_tile(rgb, rounds, calls):
    pyramid = flatpyramid.open(rgb, cache_mb=0)
    z = pyramid.max_zoom
    xy = pyramid.tiles(z)
    order = xy[numpy.random.default_rng(1).integers(0, len(xy), calls)]
    pairs = [(int(x), int(y)) for x, y in order]

    def python():
        start = time.perf_counter()
        for x, y in pairs:
            pyramid.tile(z, x, y)
        return (time.perf_counter() - start) / calls

    def cpp():
        return _flatpyramid._get_tile_seconds(pyramid, z, order) / calls

    py_s, cpp_s = median_pair(rounds, python, cpp)
    return [
        f"| decoded tile (z{z}, JPEG 256x256, no cache), per call | {py_s * 1e6:.1f} us "
        f"| C++ Reader::GetTile {cpp_s * 1e6:.1f} us | {py_s / cpp_s:.3f} (Python / C++) |"
    ]


def bench_threads(rgb, rounds, calls):
    pyramid = flatpyramid.open(rgb, cache_mb=0)
    z = pyramid.max_zoom
    xy = pyramid.tiles(z)
    order = [tuple(map(int, xy[i])) for i in numpy.random.default_rng(2).integers(0, len(xy), calls)]
    west, south, east, north = pyramid.bounds
    rng = numpy.random.default_rng(3)
    windows = []
    for _ in range(calls // 20):
        x, y = rng.uniform(west, east - 40), rng.uniform(max(south, -80), min(north, 80) - 40)
        windows.append((x, y, x + 40, y + 40))

    def tiles(part):
        for x, y in part:
            pyramid.tile(z, x, y)

    def reads(part):
        for bbox in part:
            pyramid.read(bbox, size=(512, 512))

    rows = []
    for name, work, items in (("decoded tile()", tiles, order), ("read() 512x512", reads, windows)):

        cores = {}

        def timed(key, run):
            start, cpu = time.perf_counter(), time.process_time()
            run()
            wall = time.perf_counter() - start
            cores.setdefault(key, []).append((time.process_time() - cpu) / wall)
            return wall

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        one_s, two_s = median_pair(
            rounds,
            lambda: timed(1, lambda: work(items)),
            lambda: timed(2, lambda: list(pool.map(work, [items[0::2], items[1::2]]))),
        )
        rows.append(
            f"| {name} x {len(items)}, ThreadPoolExecutor(2) vs 1 thread | {two_s:.3f} s "
            f"({statistics.median(cores[2]):.2f} cores busy) | 1 thread {one_s:.3f} s "
            f"({statistics.median(cores[1]):.2f} cores busy) | {one_s / two_s:.2f}x speedup |"
        )
    return rows


def bench_sample(elevation, cog, rounds, points):
    rng = numpy.random.default_rng(4)
    lons = rng.uniform(-179.9, 179.9, points)
    lats = rng.uniform(-89.9, 89.9, points)
    pyramid = flatpyramid.open(elevation)
    ours = {}
    theirs = {}

    def python():
        start = time.perf_counter()
        ours["values"] = pyramid.sample(lons, lats, method="nearest")
        return time.perf_counter() - start

    def rio():
        start = time.perf_counter()
        with rasterio.open(cog) as dataset:
            values = numpy.fromiter(
                (v[0] for v in dataset.sample(zip(lons, lats), indexes=1)), float, points
            )
        theirs["values"] = values
        return time.perf_counter() - start

    ours_s, theirs_s = median_pair(rounds, python, rio)
    valid = numpy.isfinite(ours["values"])
    agree = numpy.mean(ours["values"][valid] == theirs["values"][valid])
    return [
        f"| sample() of {points:,} points, nearest | {ours_s:.3f} s | rasterio sample on the COG "
        f"{theirs_s:.3f} s | {theirs_s / ours_s:.1f}x faster ({agree:.4%} of values identical) |"
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="Alternating rounds per row.")
    parser.add_argument("--points", type=int, default=1_000_000, help="Points for sample().")
    parser.add_argument("--calls", type=int, default=2000, help="Tile calls per round.")
    parser.add_argument(
        "--only", default="tile,threads,sample", help="Comma-separated rows to run."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        rgb, elevation, cog = prepare(directory)
        rows = ["| measured | flatpyramid (Python) | peer | ratio |", "|---|---:|---:|---:|"]
        only = args.only.split(",")
        if "tile" in only:
            rows += bench_tile(rgb, args.rounds, args.calls)
        if "threads" in only:
            rows += bench_threads(rgb, args.rounds, args.calls)
        if "sample" in only:
            rows += bench_sample(elevation, cog, args.rounds, args.points)
    print("\n".join(rows))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
