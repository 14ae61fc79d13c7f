#!/usr/bin/env python3
"""Times convert_pyramid against the tools a user would pick instead, alternating, same run.

  compare_convert.py --size=large --tools=bazel-bin/tools --runs=5 --gdal_runs=1
  compare_convert.py --pyramid=P.fpyr --source=relief_4326.tif --zoom=Z --tools=DIR

With --size, the bench input of that size is made once (compare_peers.prepare_inputs, cached
under --work_dir/inputs) and built once into a pyramid with the bench's flags
(--work_dir/SIZE.fpyr, by --tools/build_pyramid); --pyramid/--source/--zoom name them instead.

Rows (medians of --runs, each round runs every row once, in this order):
  convert_pyramid --help          the fixed cost of starting the tool
  cp of the pyramid               the bytes copied (copy_file_range, into the page cache)
  cp + sync of the pyramid        the same, made durable (what every convert does too)
  fpyr -> PMTiles                 convert_pyramid P.fpyr out.pmtiles
  fpyr -> MBTiles                 convert_pyramid P.fpyr out.mbtiles
  GDAL MBTiles from the source    gdal_translate -of MBTiles (JPEG q85, warps to EPSG:3857)
                                  + gdaladdo -r average 2 4 .. 2^Z: what makes the same tiles
                                  without flatpyramid (it warps and encodes, so it is no pure
                                  copy; that is the point of the comparison). First
                                  --gdal_runs rounds only.
  cp, cp + sync of the MBTiles    the MBTiles bytes copied
  MBTiles -> fpyr                 convert_pyramid out.mbtiles back.fpyr (the import)
Throughput is the bytes of the output over the wall time (cp: bytes copied); the ratios
compare each convert with cp of the bytes it reads (the pyramid for the exports, the MBTiles
for the import). Every row's previous output is removed before it runs, outside the timing.
Page cache: warm. Every input is read once before each round (outside the timing), so no row
reads from disk; writes go to the page cache, and only the rows that sync (cp + sync, and
every convert, which syncs its output before renaming it into place) wait for the disk.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_peers  # noqa: E402  (the bench inputs and flags)

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


def warm(path):
    """Reads `path` through the page cache (outside the timing)."""
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


def bench_pyramid(args):
    """(pyramid, source, zoom): the --size input and its pyramid, made once, or the flags'."""
    if not args.size:
        if not (args.pyramid and args.source and args.zoom is not None):
            sys.exit("compare_convert: give --size, or --pyramid, --source and --zoom")
        return args.pyramid, args.source, args.zoom
    source, _, zoom = compare_peers.prepare_inputs(args.size, args.work_dir, os.cpu_count())
    pyramid = os.path.join(args.work_dir, f"{args.size}.fpyr")
    if not os.path.exists(pyramid):
        compare_peers.log(f"building {pyramid} (once)")
        subprocess.run([os.path.join(args.tools, "build_pyramid"), f"--input={source}",
                        f"--output={pyramid}", "--tms=WebMercatorQuad", "--codec=jpeg",
                        f"--quality={compare_peers.QUALITY}",
                        f"--resampling={compare_peers.RESAMPLING}",
                        f"--overview_resampling={compare_peers.OVERVIEW_RESAMPLING}",
                        f"--max_zoom={zoom}", "--quiet"], check=True)
    return pyramid, source, zoom


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(compare_peers.SIZES), help="a bench input size")
    parser.add_argument("--pyramid")
    parser.add_argument("--source", help="the EPSG:4326 input of the pyramid")
    parser.add_argument("--zoom", type=int, help="the pyramid's max zoom")
    parser.add_argument("--tools", required=True,
                        help="directory holding convert_pyramid (and build_pyramid for --size)")
    parser.add_argument("--work_dir",
                        default=os.path.expanduser("~/.cache/flatpyramid-bench/convert"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--gdal_runs", type=int, default=1, help="GDAL MBTiles builds (slow)")
    args = parser.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    pyramid, source, zoom = bench_pyramid(args)
    w = lambda name: os.path.join(args.work_dir, name)
    convert = os.path.join(args.tools, "convert_pyramid")
    env = dict(os.environ, GDAL_CACHEMAX="512")
    rows = ("start", "cp", "cp_sync", "pmtiles", "mbtiles", "gdal", "cp_mbtiles",
            "cp_sync_mbtiles", "import")
    times = {k: [] for k in rows}
    factors = [str(1 << z) for z in range(1, zoom + 1)]
    load_start = os.getloadavg()[0]
    copy = lambda src, dst, sync: ["sh", "-c", f"cp '{src}' '{dst}'" + (f" && sync '{dst}'" if sync else "")]
    for run in range(args.runs):
        warm(pyramid)
        times["start"].append(timed([convert, "--help"]))
        for row, sync in (("cp", False), ("cp_sync", True)):
            remove(w("copy.fpyr"))
            times[row].append(timed(copy(pyramid, w("copy.fpyr"), sync), row=row))
        remove(w("out.pmtiles"))
        times["pmtiles"].append(timed([convert, pyramid, w("out.pmtiles"), "--quiet"], row="pmtiles"))
        remove(w("out.mbtiles"))
        times["mbtiles"].append(timed([convert, pyramid, w("out.mbtiles"), "--quiet"], row="mbtiles"))
        if run < args.gdal_runs:
            remove(w("gdal.mbtiles"))
            t = timed(["gdal_translate", "-q", "-of", "MBTiles", "-co", "TILE_FORMAT=JPEG", "-co",
                       "QUALITY=85", "-co", "RESAMPLING=BILINEAR", "-co", "ZOOM_LEVEL_STRATEGY=AUTO",
                       source, w("gdal.mbtiles")], env)
            t += timed(["gdaladdo", "-q", "-r", "average", w("gdal.mbtiles")] + factors, env)
            times["gdal"].append(t)
        warm(w("out.mbtiles"))
        for row, sync in (("cp_mbtiles", False), ("cp_sync_mbtiles", True)):
            remove(w("copy.mbtiles"))
            times[row].append(timed(copy(w("out.mbtiles"), w("copy.mbtiles"), sync), row=row))
        remove(w("back.fpyr"))
        times["import"].append(timed([convert, w("out.mbtiles"), w("back.fpyr"), "--quiet"],
                                     row="import"))
        print(f"round {run + 1}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in times.items() if v),
              file=sys.stderr)
    report(args, pyramid, w, times, load_start)


def report(args, pyramid, w, times, load_start):
    size = os.path.getsize
    med = {k: statistics.median(v) for k, v in times.items() if v}
    mb = lambda b, t: b / 1e6 / t
    fpyr, pmt, mbt = size(pyramid), size(w("out.pmtiles")), size(w("out.mbtiles"))
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: "
          f"{platform.node()} {os.cpu_count()} cores; load average (1 min) at the start "
          f"{load_start:.1f}, at the end {os.getloadavg()[0]:.1f}; runs: {args.runs} "
          f"(GDAL: {args.gdal_runs}); page cache: warm (inputs read before each round)")
    print(f"command: {' '.join(sys.argv)}")
    cpu = {k: statistics.median(v) for k, v in CPU.items()}
    print("CPU seconds (user + sys, medians): " + ", ".join(f"{k} {v:.3f}" for k, v in cpu.items()))
    runs = lambda k: ", ".join(f"{t:.3f}" for t in times[k])
    print("| row | median wall s | runs | MB/s | ratio |")
    print("|---|---:|---|---:|---|")
    print(f"| `convert_pyramid --help` (process start) | {med['start']:.3f} | {runs('start')} | | |")
    for k, what in (("cp", "cp"), ("cp_sync", "cp + sync")):
        print(f"| {what} of the pyramid ({fpyr / 1e6:.1f} MB) | {med[k]:.3f} | {runs(k)} | "
              f"{mb(fpyr, med[k]):.0f} | |")
    ratio = lambda out, t, src, k: (f"{mb(out, t) / mb(src, med[k]):.2f}")
    print(f"| fpyr -> PMTiles ({pmt / 1e6:.1f} MB) | {med['pmtiles']:.3f} | {runs('pmtiles')} | "
          f"{mb(pmt, med['pmtiles']):.0f} | **{ratio(pmt, med['pmtiles'], fpyr, 'cp_sync')}** of "
          f"cp + sync's throughput, {ratio(pmt, med['pmtiles'], fpyr, 'cp')} of cp's |")
    versus_gdal = (f"**{med['gdal'] / med['mbtiles']:.0f}x faster** than GDAL"
                   if "gdal" in med else "")
    print(f"| fpyr -> MBTiles ({mbt / 1e6:.1f} MB) | {med['mbtiles']:.3f} | {runs('mbtiles')} | "
          f"{mb(mbt, med['mbtiles']):.0f} | {versus_gdal} |")
    if "gdal" in med:
        print(f"| GDAL `gdal_translate -of MBTiles` (JPEG q85, warps EPSG:4326 -> 3857) + "
              f"`gdaladdo -r average` ({size(w('gdal.mbtiles')) / 1e6:.1f} MB) | "
              f"{med['gdal']:.3f} | {runs('gdal')} | | 1 |")
    for k, what in (("cp_mbtiles", "cp"), ("cp_sync_mbtiles", "cp + sync")):
        print(f"| {what} of the MBTiles | {med[k]:.3f} | {runs(k)} | {mb(mbt, med[k]):.0f} | |")
    print(f"| MBTiles -> fpyr ({size(w('back.fpyr')) / 1e6:.1f} MB) | {med['import']:.3f} | "
          f"{runs('import')} | {mb(mbt, med['import']):.0f} | "
          f"**{ratio(mbt, med['import'], mbt, 'cp_sync_mbtiles')}** of cp + sync's throughput, "
          f"{ratio(mbt, med['import'], mbt, 'cp_mbtiles')} of cp's |")


if __name__ == "__main__":
    main()
