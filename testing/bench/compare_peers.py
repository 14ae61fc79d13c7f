#!/usr/bin/python3
"""compare_peers: flatpyramid against the tools users would pick instead.

    bazel run --config=opt //testing/bench:compare_peers -- [--size=small|medium|large]
        [--runs=5] [--report=FILE.md] [--work_dir=DIR] [--threads=N] [--peers_only]
        [--skip_read] [--build_pyramid=PATH]

Prepares inputs from testing/data/etopo20.cdf (global relief, no CRS, longitudes 20..380):
the two halves are re-georeferenced to -180..180, the relief is resampled (cubic) to the
size's pixel count, coloured with `gdaldem color-relief` (etopo_colors.txt), cropped to the
Web Mercator latitude limit (+-85.0511 degrees) and written as an EPSG:4326 GeoTIFF. The
same picture pre-warped to EPSG:3857 (whole Web Mercator square, exactly 256 * 2^Z pixels
so that vips' tile grid is the XYZ grid) goes to `vips dzsave`, which cannot reproject.
Inputs are cached under --work_dir (default ~/.cache/flatpyramid-bench).

Every build runs under /usr/bin/time -v (wall time, peak RSS), alternating peer and
flatpyramid (peer, ours, peer, ours, ...) for --runs rounds; medians are reported. Every
output is checked against a gdalwarp reference at the base zoom (tile_quality, PSNR over a
fixed sample of tiles). The read benchmarks (read_benchmark, Google Benchmark, random
interleaving, --runs repetitions) read random tiles and windows warm and cold.

One markdown report goes to stdout and to --report (default testing/bench/RESULTS.md in
the workspace, one section per size). Exit status: 0 when every build succeeded; 1 when any
build failed (its row says BUILD FAILED with the error, its other runs are still measured);
2 when there is no flatpyramid build tool (neither //tools:build_pyramid in the runfiles
nor --build_pyramid): every flatpyramid cell says NOT BUILT YET, never a made-up number.
--peers_only runs the peers alone.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

WEB_MERCATOR_HALF = 20037508.342789244
MAX_LATITUDE = 85.0511287798066
TILE_SIZE = 256
QUALITY = 85
RESAMPLING = "bilinear"          # Warping the source to the base zoom.
OVERVIEW_RESAMPLING = "average"  # Each zoom from the one below (vips dzsave can only average).

# name: (4326 width, base zoom). Heights follow from the cropped latitude range. The base zoom
# is the Web Mercator zoom nearest to the input's resolution at the equator, which is what
# gdal_translate's COG/MBTiles AUTO strategies pick too; it is passed explicitly everywhere.
SIZES = {
    "tiny": (1120, 2),      # 0.5 MP: the smoke test.
    "small": (4480, 4),     # 9.5 MP
    "medium": (8960, 5),    # 38 MP
    "large": (28320, 7),    # 380 MP
}

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))


def runfile(relative):
    """Path of a file of this target's runfiles (bazel run / bazel test start in the tree)."""
    for base in (os.environ.get("RUNFILES_DIR"), os.getcwd(), SCRIPT_DIR + "/../.."):
        if not base:
            continue
        for candidate in (os.path.join(base, relative),
                          os.path.join(base, "flatpyramid", relative)):
            if os.path.exists(candidate):
                return os.path.abspath(candidate)
    return None


def log(message):
    print(f"[compare_peers {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(command, env=None, quiet=True):
    """Runs command, failing loudly with its output when it fails."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    result = subprocess.run(command, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"compare_peers: command failed with status {result.returncode}: "
                 f"{' '.join(command)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    if not quiet:
        sys.stderr.write(result.stderr)
    return result.stdout


# GDAL prints one PROJ error per pole-ward pixel otherwise, and writes .aux.xml files.
GDAL_ENV = {"GDAL_PAM_ENABLED": "NO", "CPL_LOG": "/dev/null"}


def prepare_inputs(size, work_dir, threads):
    """Returns (epsg4326_tif, epsg3857_tif, base_zoom), building and caching them once."""
    width, zoom = SIZES[size]
    height = int(round(width / 2 * (2 * MAX_LATITUDE) / 180))
    etopo = runfile("testing/data/etopo20.cdf")
    colors = runfile("testing/bench/etopo_colors.txt")
    if not etopo or not colors:
        sys.exit("compare_peers: testing/data/etopo20.cdf or testing/bench/etopo_colors.txt "
                 "is missing from the runfiles: run through `bazel run //testing/bench:compare_peers`")
    with open(colors, "rb") as f:
        recipe = hashlib.sha256(f.read() + f"{width}x{height}z{zoom}v2".encode()).hexdigest()[:12]
    directory = os.path.join(work_dir, "inputs", f"{size}-{recipe}")
    rgb4326 = os.path.join(directory, "relief_4326.tif")
    rgb3857 = os.path.join(directory, "relief_3857.tif")
    done = os.path.join(directory, "DONE")
    if os.path.exists(done):
        return rgb4326, rgb3857, zoom
    log(f"preparing the {size} inputs in {directory} (once)")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    scratch = lambda name: os.path.join(directory, name)
    # etopo20.cdf: 1081 columns from longitude 20 (the last repeats the first). Columns
    # 0..479 are 20..180 E, columns 480..1079 are 180..380 = -180..20.
    run(["gdal_translate", "-q", "-of", "VRT", "-a_srs", "EPSG:4326", "-srcwin", "0", "0", "480",
         "540", "-a_ullr", "20", "90", "180", "-90", etopo, scratch("east.vrt")], GDAL_ENV)
    run(["gdal_translate", "-q", "-of", "VRT", "-a_srs", "EPSG:4326", "-srcwin", "480", "0",
         "600", "540", "-a_ullr", "-180", "90", "20", "-90", etopo, scratch("west.vrt")], GDAL_ENV)
    run(["gdalbuildvrt", "-q", scratch("world.vrt"), scratch("east.vrt"), scratch("west.vrt")],
        GDAL_ENV)
    run(["gdalwarp", "-q", "-r", "cubic", "-te", "-180", str(-MAX_LATITUDE), "180",
         str(MAX_LATITUDE), "-ts", str(width), str(height), "-ot", "Float32", "-co", "TILED=YES",
         "-multi", "-wo", f"NUM_THREADS={threads}", scratch("world.vrt"), scratch("relief.tif")],
        GDAL_ENV)
    run(["gdaldem", "color-relief", "-q", "-co", "TILED=YES", scratch("relief.tif"), colors,
         rgb4326], GDAL_ENV)
    os.remove(scratch("relief.tif"))
    side = TILE_SIZE << zoom
    run(["gdalwarp", "-q", "-t_srs", "EPSG:3857", "-te", str(-WEB_MERCATOR_HALF),
         str(-WEB_MERCATOR_HALF), str(WEB_MERCATOR_HALF), str(WEB_MERCATOR_HALF), "-ts",
         str(side), str(side), "-r", RESAMPLING, "-co", "TILED=YES", "-co", "BIGTIFF=IF_SAFER",
         "-multi", "-wo", f"NUM_THREADS={threads}", rgb4326, rgb3857], GDAL_ENV)
    open(done, "w").close()
    return rgb4326, rgb3857, zoom


def output_bytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


class BuildFailed(Exception):
    """A benchmarked build exited with an error; the message is its last error line."""


def timed(command, env):
    """Runs command under /usr/bin/time -v: (wall seconds, CPU seconds, peak RSS bytes)."""
    full_env = dict(os.environ)
    full_env.update(env)
    result = subprocess.run(["/usr/bin/time", "-v"] + command, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        log(f"build failed with status {result.returncode}: {' '.join(command)}\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        errors = [line for line in result.stderr.splitlines()
                  if line.strip() and not line.startswith(("\t", "Command exited"))]
        raise BuildFailed(errors[-1] if errors else f"exit status {result.returncode}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)",
                     result.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    user = re.search(r"User time \(seconds\): ([\d.]+)", result.stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", result.stderr)
    if not wall or not rss or not user or not system:
        sys.exit(f"compare_peers: cannot parse /usr/bin/time -v output:\n{result.stderr[-2000:]}")
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return seconds, float(user.group(1)) + float(system.group(1)), int(rss.group(1)) * 1024


class Builder:
    """One tool that builds a pyramid: how to run it and what it produces."""

    def __init__(self, name, description, output_name, commands, env, kind, input_note):
        self.name = name
        self.description = description
        self.output_name = output_name
        self.commands = commands  # callable(output path) -> list of commands run in sequence
        self.env = env
        self.kind = kind          # tile_quality flags: --kind (and --template)
        self.input_note = input_note
        self.times = []
        self.rss = []
        self.cpu = []  # User + system seconds of each successful build.
        self.bytes = None
        self.psnr = None
        self.failures = []  # The error of every failed build.
        self.output = None  # The output of the last successful build.

    @property
    def failure(self):
        """Why there are no numbers: every build of this tool failed."""
        return self.failures[-1] if self.failures and not self.times else None

    def build(self, out_dir):
        """Builds into a scratch directory, then replaces the last good output with it.

        A failed build is recorded in self.failures and leaves the last good output alone."""
        scratch = os.path.join(out_dir, ".building")
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        built = os.path.join(scratch, self.output_name)
        seconds, cpu, peak = 0.0, 0.0, 0
        try:
            for command in self.commands(built):
                step_seconds, step_cpu, step_peak = timed(command, self.env)
                seconds += step_seconds
                cpu += step_cpu
                peak = max(peak, step_peak)
        except BuildFailed as failure:
            self.failures.append(str(failure))
            return
        self.times.append(seconds)
        self.rss.append(peak)
        self.cpu.append(cpu)
        self.output = os.path.join(out_dir, self.output_name)
        if os.path.isdir(self.output):
            shutil.rmtree(self.output)
        elif os.path.exists(self.output):
            os.remove(self.output)
        os.rename(built, self.output)
        self.bytes = output_bytes(self.output)


def peer_builders(rgb4326, rgb3857, zoom, threads):
    env = dict(GDAL_ENV)
    overview_factors = [str(1 << level) for level in range(1, zoom + 1)]
    return [
        Builder(
            "gdal_cog", "GDAL COG (gdal_translate -of COG, GoogleMapsCompatible, JPEG q85)",
            "cog.tif",
            lambda out: [["gdal_translate", "-q", "-of", "COG", "-co",
                          "TILING_SCHEME=GoogleMapsCompatible", "-co", f"ZOOM_LEVEL={zoom}",
                          "-co", "COMPRESS=JPEG", "-co", f"QUALITY={QUALITY}", "-co",
                          f"OVERVIEW_QUALITY={QUALITY}", "-co", "NUM_THREADS=ALL_CPUS", "-co",
                          f"WARP_RESAMPLING={RESAMPLING.upper()}", "-co",
                          f"OVERVIEW_RESAMPLING={OVERVIEW_RESAMPLING.upper()}", rgb4326, out]],
            env, ["--kind=cog"], "EPSG:4326"),
        Builder(
            "gdal2tiles", f"gdal2tiles.py --xyz --processes={threads} (PNG: no JPEG in 3.6; one -r)",
            "gdal2tiles",
            lambda out: [["gdal2tiles.py", "--xyz", f"--processes={threads}", "-q", "-w", "none",
                          "-r", RESAMPLING, "-z", f"0-{zoom}", rgb4326, out]],
            env, ["--kind=dir", "--template={z}/{x}/{y}.png"], "EPSG:4326"),
        Builder(
            "mbtiles", "gdal_translate -of MBTiles (JPEG q85) + gdaladdo", "tiles.mbtiles",
            lambda out: [["gdal_translate", "-q", "-of", "MBTiles", "-co", "TILE_FORMAT=JPEG",
                          "-co", f"QUALITY={QUALITY}", "-co", f"RESAMPLING={RESAMPLING.upper()}",
                          rgb4326, out],
                         ["gdaladdo", "-q", "-r", OVERVIEW_RESAMPLING, out] + overview_factors],
            env, ["--kind=mbtiles"], "EPSG:4326"),
        Builder(
            "vips_dzsave", "vips dzsave --layout google .jpg[Q=85] (pre-warped input)", "vips",
            lambda out: [["vips", "dzsave", rgb3857, out, "--layout", "google", "--suffix",
                          f".jpg[Q={QUALITY}]", "--tile-size", str(TILE_SIZE), "--overlap", "0"]],
            {"VIPS_CONCURRENCY": str(threads)}, ["--kind=dir", "--template={z}/{y}/{x}.jpg"],
            "EPSG:3857 (pre-warped, free)"),
    ]


def flatpyramid_builder(tool, rgb4326, zoom, threads):
    """The flatpyramid row, or None when there is no build_pyramid binary."""
    tool = tool or runfile("tools/build_pyramid")
    if tool is None:
        return None
    if not os.access(tool, os.X_OK):
        sys.exit(f"compare_peers: --build_pyramid={tool} is not an executable file")
    return Builder(
        "flatpyramid", "flatpyramid build_pyramid (JPEG q85)", "pyramid.fpyr",
        lambda out: [[tool, f"--input={rgb4326}", f"--output={out}", "--tms=WebMercatorQuad",
                      "--codec=jpeg", f"--quality={QUALITY}", f"--resampling={RESAMPLING}",
                      f"--overview_resampling={OVERVIEW_RESAMPLING}", f"--threads={threads}",
                      "--quiet", "--overwrite", f"--max_zoom={zoom}"]],
        {}, ["--kind=flatpyramid"], "EPSG:4326")


def measure_quality(builder, output, rgb4326, zoom, samples):
    tool = runfile("testing/bench/tile_quality")
    if tool is None:
        sys.exit("compare_peers: testing/bench/tile_quality is missing from the runfiles")
    stdout = run([tool, f"--reference={rgb4326}", f"--path={output}", f"--zoom={zoom}",
                  f"--samples={samples}", f"--resampling={RESAMPLING}"] + builder.kind, GDAL_ENV)
    builder.psnr = json.loads(stdout)["psnr_db"]


def output_megapixels(zoom):
    return sum((1 << (2 * z)) * TILE_SIZE * TILE_SIZE for z in range(zoom + 1)) / 1e6


def machine_description(work_dir, revision, tool):
    def first(command):
        try:
            return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "unknown"

    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    disk = subprocess.run(["df", "-h", "--output=source,fstype,size", work_dir],
                          stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores (nproc)",
        f"- Memory: {memory}",
        f"- Work directory disk (source, fs, size): {' '.join(disk.split())}",
        f"- Kernel: {platform.release()}; {first(['gdalinfo', '--version'])}; "
        f"vips {first(['vips', '--version'])}; SQLite {first(['sqlite3', '--version']).split()[0]}; "
        f"Python {platform.python_version()}",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- flatpyramid source when the run started: {revision}" + (
            f"; build tool {tool} built "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(os.path.getmtime(tool)))}"
            if tool else ""),
    ]


def source_revision():
    """The commit the benchmarks were built from, and whether library sources were edited."""
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    if not workspace:
        return "unknown (not started by bazel run)"
    try:
        commit = subprocess.run(["git", "-C", workspace, "rev-parse", "--short", "HEAD"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                check=True).stdout.strip()
        edited = subprocess.run(["git", "-C", workspace, "status", "--porcelain", "--", "storage",
                                 "codec", "geo", "pyramid", "tools"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    files = len(edited.splitlines())
    return f"commit {commit}" + (f" plus {files} uncommitted file(s) in storage, codec, geo, "
                                 "pyramid, tools" if files else "")


def median(values):
    return statistics.median(values) if values else float("nan")


def build_table(peers, ours, zoom, megapixels, peers_only):
    lines = [
        "| build | input | median wall s | s per output MP | cores busy | median peak RSS MiB "
        "| output MiB | PSNR dB (z%d) | flatpyramid speedup (peer s / ours s) "
        "| RSS ratio (ours / peer) | size ratio (ours / peer) |" % zoom,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def row(builder, compare):
        if builder.failure:
            failure = builder.failure.replace("|", "/")
            lines.append(f"| {builder.description} | {builder.input_note} | BUILD FAILED: "
                         f"{failure} | | | | | | | | |")
            return
        t = median(builder.times)
        busy = median([c / w for c, w in zip(builder.cpu, builder.times) if w > 0])
        cells = [builder.description, builder.input_note, f"{t:.2f}", f"{t / megapixels:.3f}",
                 f"{busy:.2f}", f"{median(builder.rss) / 2**20:.0f}", f"{builder.bytes / 2**20:.1f}",
                 f"{builder.psnr:.2f}" if builder.psnr is not None else "n/a"]
        if compare is None:
            cells += ["not run (--peers_only)" if peers_only else "flatpyramid NOT BUILT YET",
                      "", ""]
        elif compare.failure:
            cells += ["flatpyramid BUILD FAILED", "", ""]
        elif compare is builder:
            cells += ["1.00x", "1.00", "1.00"]
        else:
            cells += [f"{t / median(compare.times):.2f}x",
                      f"{median(compare.rss) / median(builder.rss):.2f}",
                      f"{compare.bytes / builder.bytes:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")

    for peer in peers:
        row(peer, ours)
    if ours is not None:
        row(ours, ours)
    else:
        why = ("not run (--peers_only)" if peers_only else
               "NOT BUILT YET: //tools:build_pyramid is not in this target's runfiles")
        lines.append(f"| flatpyramid build_pyramid | EPSG:4326 | {why} | | | | | | | | |")
    return lines


def read_benchmarks(args, outputs, zoom, failed_builds):
    """Runs read_benchmark; returns markdown lines."""
    binary = runfile("testing/bench/read_benchmark")
    if binary is None:
        sys.exit("compare_peers: testing/bench/read_benchmark is missing from the runfiles")
    flags = {"gdal_cog": "--cog", "mbtiles": "--mbtiles", "vips_dzsave": "--xyz_dir",
             "flatpyramid": "--flatpyramid"}
    command = [binary, f"--zoom={zoom}"] + [
        f"{flag}={outputs[name]}" for name, flag in flags.items() if name in outputs] + [
               "--xyz_template={z}/{y}/{x}.jpg", f"--benchmark_repetitions={args.runs}",
               "--benchmark_enable_random_interleaving=true", "--benchmark_format=json",
               f"--benchmark_min_time={args.read_min_time}"]
    log("read benchmarks: " + " ".join(command))
    report = json.loads(run(command, GDAL_ENV))
    # Bazel puts optimised outputs under bazel-out/<cpu>-opt/.
    optimised = "-opt/" in os.path.realpath(binary)
    warning = [] if optimised else [
        "**WARNING: read_benchmark was not built with --config=opt: these read numbers measure "
        "unoptimised code.** Run `bazel run --config=opt //testing/bench:compare_peers`.", ""]
    medians = {}
    for entry in report["benchmarks"]:
        if entry.get("aggregate_name") == "median":
            medians[entry["run_name"]] = entry
    if not medians:  # One repetition: no aggregates.
        for entry in report["benchmarks"]:
            medians[entry["run_name"]] = entry
    lines = warning + [
        "| read | median us per op | ops per second (1 caller thread) | flatpyramid speedup |",
        "|---|---:|---:|---:|",
    ]
    for name in sorted(medians):
        entry = medians[name]
        unit = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[entry["time_unit"]]
        us = entry["real_time"] * unit
        speedup = ""
        counterpart = READ_COUNTERPARTS.get(name.split("/")[0])
        if counterpart is not None:
            ours_entry = medians.get(name.replace(name.split("/")[0], counterpart, 1))
            if ours_entry is None:
                speedup = ("not run (--peers_only)" if args.peers_only else
                           "flatpyramid NOT BUILT YET" if "flatpyramid" not in failed_builds
                           else "flatpyramid BUILD FAILED")
            else:
                ours_us = ours_entry["real_time"] * {"ns": 1e-3, "us": 1.0, "ms": 1e3,
                                                     "s": 1e6}[ours_entry["time_unit"]]
                speedup = f"{us / ours_us:.2f}x"
        shown = re.sub(r"/(iterations:\d+|real_time)", "", name)
        lines.append(f"| {shown} | {us:.1f} | {1e6 / us:.0f} | {speedup} |")
    return lines


# Peer benchmark -> the flatpyramid benchmark it is compared with.
READ_COUNTERPARTS = {
    "BM_MbtilesTileBytes": "BM_FlatpyramidTileBytes",
    "BM_XyzDirTileBytes": "BM_FlatpyramidTileBytes",
    "BM_CogTileDecoded": "BM_FlatpyramidTileDecoded",
    "BM_MbtilesTileDecoded": "BM_FlatpyramidTileDecoded",
    "BM_CogWindow1024": "BM_FlatpyramidWindow1024",
    "BM_CogWindow1024AllCores": "BM_FlatpyramidWindow1024",
}


REPORT_HEADER = ("# Peer benchmark results\n\nWritten by `//testing/bench:compare_peers`, one "
                 "section per input size (a run replaces its own size's section); see "
                 "README.md for what each row means. The sections after them are other "
                 "benchmarks, recorded by hand with their date, machine and command.\n\n")
SECTION_PREFIX = "## flatpyramid vs peers: "


def write_report(path, size, text):
    """Writes `text` as the section of `size` in `path`, keeping the other sizes' sections and
    any other "## " section (measurements recorded by hand), which follow the sizes."""
    sections, others = {}, []
    if os.path.exists(path):
        with open(path) as f:
            previous = f.read()
        for chunk in re.split(r"(?m)^(?=## )", previous)[1:]:
            chunk = chunk.rstrip("\n") + "\n"
            name = chunk[len(SECTION_PREFIX):].split(" ", 1)[0]
            if chunk.startswith(SECTION_PREFIX) and name in SIZES:
                sections[name] = chunk
            else:
                others.append(chunk)
    sections[size] = text
    order = list(SIZES)
    with open(path, "w") as f:
        f.write(REPORT_HEADER + "\n".join(
            [sections[name] for name in sorted(sections, key=order.index)] + others))


def parse_args():
    """The command line, with paths made absolute against where `bazel run` was called."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--runs", type=int, default=5, help="rounds; medians over them")
    parser.add_argument("--report", default=None,
                        help="markdown file (relative to where bazel run was called); default "
                             "testing/bench/RESULTS.md in the workspace")
    parser.add_argument("--work_dir", default=os.path.expanduser("~/.cache/flatpyramid-bench"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--peers_only", action="store_true",
                        help="run without flatpyramid (exit 0 when it is not built)")
    parser.add_argument("--build_pyramid", default=None,
                        help="flatpyramid's build tool; default: //tools:build_pyramid from the "
                             "runfiles, e.g. bazel-bin/tools/build_pyramid after "
                             "`bazel build --config=opt //tools:build_pyramid`")
    parser.add_argument("--skip_read", action="store_true", help="build benchmarks only")
    parser.add_argument("--tools", default=None,
                        help="comma-separated subset of gdal_cog, gdal2tiles, mbtiles, "
                             "vips_dzsave, flatpyramid (default: all); the read benchmarks "
                             "need gdal_cog, mbtiles and vips_dzsave")
    parser.add_argument("--quality_samples", type=int, default=64,
                        help="tiles of the base zoom compared with the gdalwarp reference")
    parser.add_argument("--read_min_time", default="0.5",
                        help="--benchmark_min_time of each read benchmark repetition (seconds)")
    args = parser.parse_args()
    caller_dir = os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd())
    if args.report is None:
        workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
        args.report = os.path.join(workspace, "testing/bench/RESULTS.md") if workspace else None
    elif not os.path.isabs(args.report):
        args.report = os.path.join(caller_dir, args.report)
    args.work_dir = os.path.join(caller_dir, os.path.expanduser(args.work_dir))
    if args.build_pyramid:
        args.build_pyramid = os.path.join(caller_dir, args.build_pyramid)
    if args.runs < 1:
        sys.exit("compare_peers: --runs must be at least 1")
    return args


def choose_builders(args, rgb4326, rgb3857, zoom):
    """The peers --tools asks for, and flatpyramid's builder (None when skipped or not built).

    Returns (peers, ours, skip_ours); exits naming the problem for a bad --tools."""
    peers = peer_builders(rgb4326, rgb3857, zoom, args.threads)
    wanted = None
    if args.tools:
        wanted = set(args.tools.split(","))
        unknown = wanted - {p.name for p in peers} - {"flatpyramid"}
        if unknown:
            sys.exit(f"compare_peers: --tools: unknown {', '.join(sorted(unknown))}")
        peers = [p for p in peers if p.name in wanted]
        if not args.skip_read and not {"gdal_cog", "mbtiles", "vips_dzsave"} <= wanted:
            sys.exit("compare_peers: the read benchmarks need gdal_cog, mbtiles and vips_dzsave: "
                     "add them to --tools or pass --skip_read")
    skip_ours = args.peers_only or (wanted is not None and "flatpyramid" not in wanted)
    ours = None if skip_ours else flatpyramid_builder(args.build_pyramid, rgb4326, zoom,
                                                      args.threads)
    if ours is None and not skip_ours:
        log("flatpyramid: NOT BUILT YET: //tools:build_pyramid is not a data dependency of "
            "//testing/bench:compare_peers and no --build_pyramid was given; its rows will say "
            "so and this run exits 2")
    return peers, ours, skip_ours


def run_rounds(args, peers, ours, out_dir):
    """Builds every chosen tool args.runs times, alternating; the last output of each by name."""
    outputs = {}
    for round_index in range(args.runs):
        # peer, ours, peer, ours, ... (ours alone when no peer was chosen)
        for peer in peers or [None]:
            for builder in (peer, ours):
                if builder is None:
                    continue
                failed_before = len(builder.failures)
                builder.build(out_dir)
                if len(builder.failures) > failed_before:
                    log(f"round {round_index + 1}/{args.runs}: {builder.name} FAILED")
                    continue
                outputs[builder.name] = builder.output
                log(f"round {round_index + 1}/{args.runs}: {builder.name} "
                    f"{builder.times[-1]:.2f} s, {builder.rss[-1] / 2**20:.0f} MiB")
    return outputs


def report_lines(args, peers, ours, everyone, outputs, zoom, skip_ours, revision):
    """The markdown section of this run: build table, read benchmarks, failures, machine."""
    megapixels = output_megapixels(zoom)
    lines = [
        f"## flatpyramid vs peers: {args.size} input",
        "",
        f"Input: ETOPO20 relief coloured, {SIZES[args.size][0]} px wide EPSG:4326 "
        f"(latitudes +-85.05); all zoom levels 0..{zoom} of WebMercatorQuad "
        f"({megapixels:.1f} output MP), JPEG q{QUALITY}, {RESAMPLING} warp and "
        f"{OVERVIEW_RESAMPLING} overviews (gdal2tiles: {RESAMPLING} for both), "
        f"{args.threads} threads; medians of {args.runs} alternating runs.",
        "",
    ]
    lines += build_table(peers, ours, zoom, megapixels, skip_ours)
    if not args.skip_read:
        lines += ["", f"Reads at zoom {zoom} (Google Benchmark, median of {args.runs} "
                  "randomly interleaved repetitions; warm = page cache hot, cold = "
                  "posix_fadvise(DONTNEED) and reopen before each read, untimed):", ""]
        lines += read_benchmarks(args, outputs, zoom,
                                 [b.name for b in everyone if b.failure])
    flaky = [b for b in everyone if b.failures]
    if flaky:
        lines += [""] + [
            f"**{b.name}: {len(b.failures)} of {len(b.failures) + len(b.times)} builds FAILED** "
            f"(medians are over the rest): {b.failures[-1]}" for b in flaky]
    lines += ["", "Machine:", ""] + machine_description(args.work_dir, revision,
                                                        ours.commands("x")[0][0] if ours else None)
    tool_flag = (" --build_pyramid=bazel-bin/tools/build_pyramid` after `bazel build "
                 "--config=opt //tools:build_pyramid" if args.build_pyramid else "")
    lines += ["", "Reproduce: `bazel run --config=opt //testing/bench:compare_peers -- "
              f"--size={args.size} --runs={args.runs}"
              f"{' --tools=' + args.tools if args.tools else ''}"
              f"{' --skip_read' if args.skip_read else ''}{tool_flag}`"]
    return lines


def main():
    args = parse_args()
    revision = source_revision()  # bazel run built the benchmark binaries from this state.
    rgb4326, rgb3857, zoom = prepare_inputs(args.size, args.work_dir, args.threads)
    out_dir = os.path.join(args.work_dir, "outputs", args.size)
    os.makedirs(out_dir, exist_ok=True)
    peers, ours, skip_ours = choose_builders(args, rgb4326, rgb3857, zoom)
    outputs = run_rounds(args, peers, ours, out_dir)
    everyone = peers + ([ours] if ours else [])
    for builder in everyone:
        if builder.output:
            measure_quality(builder, builder.output, rgb4326, zoom, args.quality_samples)
    lines = report_lines(args, peers, ours, everyone, outputs, zoom, skip_ours, revision)
    flaky = [b for b in everyone if b.failures]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.report:
        write_report(args.report, args.size, text)
        log(f"wrote the {args.size} section of {args.report}")
    if ours is None and not skip_ours:
        log("flatpyramid is NOT BUILT YET: no flatpyramid numbers; exiting 2")
        return 2
    if flaky:
        log(f"builds FAILED: {', '.join(b.name for b in flaky)} (see the report); exiting 1")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
