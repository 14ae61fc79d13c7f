#!/usr/bin/env python3
"""Times merge_pyramids against cp of the same shard files, alternating, same run.

  compare_merge.py --shards='shard-*.fpyr' --tools=bazel-bin/tools --runs=7 [--single=S.fpyr]

Rows (medians of --runs; each round runs every row once, in this order):
  cp + sync of the shards     cp SHARDS DIR && sync DIR/*: the same bytes copied and made
                              durable (merge_pyramids syncs its output too)
  cp of the shards            the same without the sync
  merge_pyramids              merge_pyramids --output=OUT --overwrite --quiet SHARDS
Before each row its previous output is removed, outside the timing (so no row pays for
deleting an earlier copy). Throughput is the shards' total bytes over the wall time, so a ratio of throughputs is the
inverse ratio of the times. Inputs stay in the page cache between rounds (warm), for every row
alike. With --single (a single build with the shards' flags), the last merged output is
compared tile for tile with it (compare_pyramids next to merge_pyramids' directory, or
--compare).
"""
import argparse
import glob
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time


def timed(command):
    """Wall seconds and CPU seconds (user + sys of the child processes) of `command`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", required=True, help="a glob of the N shard files")
    parser.add_argument("--tools", required=True, help="directory holding merge_pyramids")
    parser.add_argument("--work_dir", default=os.path.expanduser("~/.cache/flatpyramid-bench/merge"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--single", help="a single build to compare the merged output with")
    parser.add_argument("--compare", help="compare_pyramids binary (default: beside --tools)")
    args = parser.parse_args()
    shards = sorted(glob.glob(args.shards))
    if not shards:
        sys.exit(f"no file matches --shards={args.shards}")
    os.makedirs(args.work_dir, exist_ok=True)
    copy_dir = os.path.join(args.work_dir, "copy")
    output = os.path.join(args.work_dir, "merged.fpyr")
    merge = os.path.join(args.tools, "merge_pyramids")
    rows = {"cp_sync": [], "cp": [], "merge": []}
    cpu = {k: [] for k in rows}
    for run in range(args.runs):
        for row in rows:
            # Every row writes new files: the previous outputs are removed before the timing.
            shutil.rmtree(copy_dir, ignore_errors=True)
            os.makedirs(copy_dir)
            if os.path.exists(output):
                os.remove(output)
            if row == "merge":
                command = [merge, f"--output={output}", "--overwrite", "--quiet"] + shards
            else:
                sync = f" && sync {copy_dir}/*" if row == "cp_sync" else ""
                command = ["sh", "-c", "cp " + " ".join(f"'{s}'" for s in shards) +
                           f" '{copy_dir}'{sync}"]
            wall, seconds = timed(command)
            rows[row].append(wall)
            cpu[row].append(seconds)
        print(f"round {run + 1}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in rows.items()),
              file=sys.stderr)
    total = sum(os.path.getsize(s) for s in shards)
    med = {k: statistics.median(v) for k, v in rows.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: "
          f"{platform.node()} {os.cpu_count()} cores; load average at the end (1, 5, 15 min): "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; runs: {args.runs}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"shards: {len(shards)} files, {total / 1e6:.1f} MB; merged output "
          f"{os.path.getsize(output) / 1e6:.1f} MB")
    print("| row | median wall s | runs | MB/s | CPU s | merge throughput / row's |")
    print("|---|---:|---|---:|---:|---:|")
    names = {"cp_sync": "cp + sync of the shards", "cp": "cp of the shards (no sync)",
             "merge": "merge_pyramids"}
    for row, name in names.items():
        runs = ", ".join(f"{t:.3f}" for t in rows[row])
        ratio = med[row] / med["merge"]
        print(f"| {name} | {med[row]:.3f} | {runs} | {total / 1e6 / med[row]:.0f} | "
              f"{cpu_med[row]:.3f} | {'' if row == 'merge' else f'{ratio:.2f}'} |")
    if args.single:
        compare = args.compare or os.path.join(args.tools, "..", "pyramid", "testing",
                                               "compare_pyramids")
        result = subprocess.run([compare, output, args.single], capture_output=True, text=True)
        print(f"compare_pyramids merged single: exit {result.returncode}: "
              f"{(result.stdout + result.stderr).strip()}")


if __name__ == "__main__":
    main()
