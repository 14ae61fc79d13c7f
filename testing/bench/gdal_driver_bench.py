#!/usr/bin/python3
"""gdal_driver_bench: the FlatPyramid GDAL driver against its peers, in the same run.

  bazel build --config=opt //tools:build_pyramid //testing/bench:read_benchmark \\
      //gdal:gdal_FlatPyramid.so //gdal:libflatpyramid_gdal_impl.so
  testing/bench/gdal_driver_bench.py --bin=bazel-bin [--size=medium] [--runs=5]

Uses the medium input compare_peers prepares (run it once first: its work directory holds
inputs/medium-*/relief_4326.tif), builds the pyramid (build_pyramid) and the COG
(gdal_translate -of COG, compare_peers' command) once, then, alternating peer and driver,
--runs times each:
  1. gdal_translate of the whole finest level to an uncompressed GeoTIFF, from the .fpyr
     through the driver (RGBA), and from the COG (RGB and its mask; GDAL_NUM_THREADS unset,
     and =ALL_CPUS); then both with -b 1 -b 2 -b 3 -mask none (the same output);
  2. gdal_translate -of FlatPyramid against build_pyramid on the same input and options;
and runs read_benchmark's 1024 x 1024 window benchmarks (driver RasterIO, ReadRegion, COG
RasterIO) with interleaved repetitions. Prints medians and ratios as markdown.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time

ZOOM = {"small": 4, "medium": 5, "large": 7}


def timed(command, env):
    start = time.monotonic()
    result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {result.stderr}")
    return elapsed


def remove(path):
    for p in glob.glob(path + "*"):
        os.remove(p)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="bazel-bin of an opt build")
    parser.add_argument("--size", default="medium", choices=sorted(ZOOM))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work_dir", default=os.path.expanduser("~/.cache/flatpyramid-bench"))
    parser.add_argument("--read_min_time", default="0.5")
    args = parser.parse_args()
    zoom = ZOOM[args.size]
    inputs = glob.glob(os.path.join(args.work_dir, "inputs", f"{args.size}-*", "relief_4326.tif"))
    if not inputs:
        sys.exit(f"no {args.size} input under {args.work_dir}: run compare_peers --size={args.size}")
    source = inputs[0]
    out = os.path.join(args.work_dir, "gdal_driver", args.size)
    plugins = os.path.join(out, "plugins")
    os.makedirs(plugins, exist_ok=True)
    for name in ("gdal_FlatPyramid.so", "libflatpyramid_gdal_impl.so"):
        link = os.path.join(plugins, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(os.path.join(args.bin, "gdal", name)), link)
    env = dict(os.environ, GDAL_DRIVER_PATH=plugins, GDAL_PAM_ENABLED="NO")
    threads = str(os.cpu_count())
    build_flags = ["--tms=WebMercatorQuad", "--codec=jpeg", "--quality=85",
                   "--resampling=bilinear", "--overview_resampling=average",
                   f"--max_zoom={zoom}", f"--threads={threads}"]
    creation = ["-co", "TILE_MATRIX_SET=WebMercatorQuad", "-co", "CODEC=jpeg", "-co", "QUALITY=85",
                "-co", "RESAMPLING=bilinear", "-co", "OVERVIEW_RESAMPLING=average",
                "-co", f"MAX_ZOOM={zoom}", "-co", f"NUM_THREADS={threads}"]
    pyramid, cog = os.path.join(out, "pyramid.fpyr"), os.path.join(out, "cog.tif")
    build_pyramid = os.path.join(args.bin, "tools", "build_pyramid")
    if not os.path.exists(pyramid):
        timed([build_pyramid, f"--input={source}", f"--output={pyramid}", "--quiet"] + build_flags,
              env)
    if not os.path.exists(cog):
        timed(["gdal_translate", "-q", "-of", "COG", "-co", "TILING_SCHEME=GoogleMapsCompatible",
               "-co", f"ZOOM_LEVEL={zoom}", "-co", "COMPRESS=JPEG", "-co", "QUALITY=85", "-co",
               "OVERVIEW_QUALITY=85", "-co", "NUM_THREADS=ALL_CPUS", "-co",
               "WARP_RESAMPLING=BILINEAR", "-co", "OVERVIEW_RESAMPLING=AVERAGE", source, cog], env)

    times = {key: [] for key in ("tif_fpyr", "tif_cog", "tif_cog_all", "rgb_fpyr", "rgb_cog",
                                 "build_tool", "build_gdal")}
    rgb = ["-b", "1", "-b", "2", "-b", "3", "-mask", "none"]
    tif = os.path.join(out, "level.tif")
    threaded = dict(env, GDAL_NUM_THREADS="ALL_CPUS")
    for _ in range(args.runs):
        for key, path, run_env, bands in (("tif_cog", cog, env, []), ("tif_fpyr", pyramid, env, []),
                                          ("tif_cog_all", cog, threaded, []),
                                          ("rgb_cog", cog, env, rgb), ("rgb_fpyr", pyramid, env, rgb)):
            remove(tif)
            times[key].append(timed(["gdal_translate", "-q", "-of", "GTiff"] + bands + [path, tif],
                                    run_env))
        built = os.path.join(out, "built.fpyr")
        remove(built)
        times["build_tool"].append(timed([build_pyramid, f"--input={source}", f"--output={built}",
                                          "--quiet"] + build_flags, env))
        remove(built)
        times["build_gdal"].append(timed(["gdal_translate", "-q", "-of", "FlatPyramid"] + creation +
                                         [source, built], env))
    remove(tif)
    median = {key: statistics.median(values) for key, values in times.items() if values}

    bench = subprocess.run(
        [os.path.join(args.bin, "testing", "bench", "read_benchmark"), f"--zoom={zoom}",
         f"--cog={cog}", f"--flatpyramid={pyramid}", "--benchmark_filter=Window1024(AllCores)?/warm",
         f"--benchmark_repetitions={args.runs}", "--benchmark_enable_random_interleaving=true",
         f"--benchmark_min_time={args.read_min_time}", "--benchmark_format=json",
         "--benchmark_report_aggregates_only=true"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
    windows = {b["run_name"].split("/")[0]: b["real_time"] / 1000.0
               for b in json.loads(bench.stdout)["benchmarks"] if b["aggregate_name"] == "median"}

    load = os.getloadavg()
    print(f"gdal_driver_bench --size={args.size} --runs={args.runs}: medians, load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {os.cpu_count()} cores\n")
    print("| measurement | FlatPyramid driver | peer | peer / driver |")
    print("|---|---:|---:|---:|")
    print(f"| gdal_translate finest level to GTiff, vs the COG | {median['tif_fpyr']:.2f} s | "
          f"{median['tif_cog']:.2f} s | {median['tif_cog'] / median['tif_fpyr']:.2f} |")
    print(f"| the same, vs the COG with GDAL_NUM_THREADS=ALL_CPUS | {median['tif_fpyr']:.2f} s | "
          f"{median['tif_cog_all']:.2f} s | {median['tif_cog_all'] / median['tif_fpyr']:.2f} |")
    print(f"| the same, bands 1-3 only (-b 1 -b 2 -b 3 -mask none), vs the COG | "
          f"{median['rgb_fpyr']:.2f} s | {median['rgb_cog']:.2f} s | "
          f"{median['rgb_cog'] / median['rgb_fpyr']:.2f} |")
    drv = windows.get("BM_GdalDriverWindow1024")
    for peer, label in (("BM_FlatpyramidWindow1024", "pyramid::Reader::ReadRegion"),
                        ("BM_CogWindow1024", "COG RasterIO, one thread"),
                        ("BM_CogWindow1024AllCores", "COG RasterIO, GDAL_NUM_THREADS=ALL_CPUS")):
        if drv and peer in windows:
            print(f"| 1024 x 1024 window RasterIO, vs {label} | {drv:.2f} ms | "
                  f"{windows[peer]:.2f} ms | {windows[peer] / drv:.2f} |")
    print(f"| gdal_translate -of FlatPyramid, vs build_pyramid | {median['build_gdal']:.2f} s | "
          f"{median['build_tool']:.2f} s | {median['build_tool'] / median['build_gdal']:.2f} |")


if __name__ == "__main__":
    main()
