#!/usr/bin/env python3
"""Times convert_pyramid against the tools a user would pick instead, alternating, same run.

  compare_convert.py --pyramid=P.fpyr --source=relief_4326.tif --zoom=Z --tools=DIR --runs=5

Rows (medians of --runs, each round runs every row once, in this order):
  cp + sync of the pyramid        the bytes copied, made durable (what every convert does too)
  fpyr -> PMTiles                 convert_pyramid P.fpyr out.pmtiles
  fpyr -> MBTiles                 convert_pyramid P.fpyr out.mbtiles
  GDAL MBTiles from the source    gdal_translate -of MBTiles (JPEG q85, warps to EPSG:3857)
                                  + gdaladdo -r average 2 4 .. 2^Z: what makes the same tiles
                                  without flatpyramid (it warps and encodes, so it is no pure
                                  copy; that is the point of the comparison)
  cp + sync of the MBTiles        the MBTiles bytes copied, made durable
  MBTiles -> fpyr                 convert_pyramid out.mbtiles back.fpyr (the import)
  convert_pyramid --help          the fixed cost of starting the tool (GDAL's shared libraries)
Throughput is the bytes of the output over the wall time (cp: bytes copied). Every row's
previous output is removed before it runs, outside the timing (no row pays for deleting an
earlier copy).
Inputs stay in the page cache between rounds (warm), for every row alike.
"""
import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time


CPU = {}  # Row -> CPU seconds (user + sys of the child processes) per run.


def timed(command, env=None, row=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if row is not None:
        CPU.setdefault(row, []).append(after.ru_utime - before.ru_utime + after.ru_stime -
                                       before.ru_stime)
    return wall


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pyramid", required=True)
    parser.add_argument("--source", required=True, help="the EPSG:4326 input of the pyramid")
    parser.add_argument("--zoom", type=int, required=True, help="the pyramid's max zoom")
    parser.add_argument("--tools", required=True, help="directory holding convert_pyramid")
    parser.add_argument("--work_dir", default=os.path.expanduser("~/.cache/flatpyramid-bench/convert"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--gdal_runs", type=int, default=1, help="GDAL MBTiles builds (slow)")
    args = parser.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    w = lambda name: os.path.join(args.work_dir, name)
    convert = os.path.join(args.tools, "convert_pyramid")
    env = dict(os.environ, GDAL_CACHEMAX="512")
    times = {k: [] for k in ("start", "cp", "pmtiles", "mbtiles", "gdal", "cp_mbtiles", "import")}
    factors = [str(1 << z) for z in range(1, args.zoom + 1)]
    for run in range(args.runs):
        times["start"].append(timed([convert, "--help"]))
        remove(w("copy.fpyr"))
        times["cp"].append(timed(["sh", "-c", f"cp '{args.pyramid}' '{w('copy.fpyr')}' && sync '{w('copy.fpyr')}'"], row="cp"))
        remove(w("out.pmtiles"))
        times["pmtiles"].append(timed([convert, args.pyramid, w("out.pmtiles"), "--quiet", "--overwrite"], row="pmtiles"))
        remove(w("out.mbtiles"))
        times["mbtiles"].append(timed([convert, args.pyramid, w("out.mbtiles"), "--quiet", "--overwrite"], row="mbtiles"))
        if run < args.gdal_runs:
            remove(w("gdal.mbtiles"))
            t = timed(["gdal_translate", "-q", "-of", "MBTiles", "-co", "TILE_FORMAT=JPEG", "-co",
                       "QUALITY=85", "-co", "RESAMPLING=BILINEAR", "-co", f"ZOOM_LEVEL_STRATEGY=AUTO",
                       args.source, w("gdal.mbtiles")], env)
            t += timed(["gdaladdo", "-q", "-r", "average", w("gdal.mbtiles")] + factors, env)
            times["gdal"].append(t)
        remove(w("copy.mbtiles"))
        times["cp_mbtiles"].append(timed(["sh", "-c", f"cp '{w('out.mbtiles')}' '{w('copy.mbtiles')}' && sync '{w('copy.mbtiles')}'"], row="cp_mbtiles"))
        remove(w("back.fpyr"))
        times["import"].append(timed([convert, w("out.mbtiles"), w("back.fpyr"), "--quiet", "--overwrite"], row="import"))
        print(f"round {run + 1}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in times.items() if v),
              file=sys.stderr)
    size = lambda p: os.path.getsize(p)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    mb = lambda b, t: b / 1e6 / t
    fpyr, pmt, mbt = size(args.pyramid), size(w("out.pmtiles")), size(w("out.mbtiles"))
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: "
          f"{platform.node()} {os.cpu_count()} cores; load average at the end: "
          f"{os.getloadavg()[0]:.1f}; runs: {args.runs} (GDAL: {args.gdal_runs})")
    print(f"command: {' '.join(sys.argv)}")
    cpu = {k: statistics.median(v) for k, v in CPU.items()}
    print("CPU seconds (user + sys, medians), which the load average does not inflate: " +
          ", ".join(f"{k} {v:.3f}" for k, v in cpu.items()) +
          f"; CPU ratios: PMTiles / cp {cpu['pmtiles'] / cpu['cp']:.2f}, "
          f"import / cp {cpu['import'] / cpu['cp_mbtiles']:.2f}")
    print("| row | median s | MB/s | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| convert_pyramid --help (process start: loading GDAL and its libraries) | "
          f"{med['start']:.3f} | | |")
    print(f"| cp + sync of the pyramid ({fpyr / 1e6:.1f} MB) | {med['cp']:.3f} | {mb(fpyr, med['cp']):.0f} | 1 |")
    print(f"| fpyr -> PMTiles ({pmt / 1e6:.1f} MB) | {med['pmtiles']:.3f} | {mb(pmt, med['pmtiles']):.0f} | "
          f"{mb(pmt, med['pmtiles']) / mb(fpyr, med['cp']):.2f} of cp's throughput |")
    versus_gdal = f"{med['gdal'] / med['mbtiles']:.1f}x faster than GDAL" if "gdal" in med else ""
    print(f"| fpyr -> MBTiles ({mbt / 1e6:.1f} MB) | {med['mbtiles']:.3f} | {mb(mbt, med['mbtiles']):.0f} | "
          f"{versus_gdal} |")
    if "gdal" in med:
        print(f"| GDAL MBTiles + gdaladdo from the source ({size(w('gdal.mbtiles')) / 1e6:.1f} MB) | "
              f"{med['gdal']:.3f} | | 1 |")
    print(f"| cp + sync of the MBTiles | {med['cp_mbtiles']:.3f} | {mb(mbt, med['cp_mbtiles']):.0f} | 1 |")
    print(f"| MBTiles -> fpyr ({size(w('back.fpyr')) / 1e6:.1f} MB) | {med['import']:.3f} | "
          f"{mb(mbt, med['import']):.0f} | {mb(mbt, med['import']) / mb(mbt, med['cp_mbtiles']):.2f} "
          f"of cp's throughput |")


if __name__ == "__main__":
    main()
