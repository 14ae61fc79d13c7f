#!/usr/bin/python3
"""qgis_render_bench: QGIS (python3-qgis, headless) drawing a .fpyr through the FlatPyramid
driver against the same content as a COG, in the same run.

  bazel build --config=opt //gdal:gdal_FlatPyramid.so //gdal:libflatpyramid_gdal_impl.so
  testing/bench/qgis_render_bench.py --plugin_dir=PLUGINS [--plugin_dir=NAME=OTHER_PLUGINS] \\
      [--pyramid=FILE.fpyr] [--cog=FILE.tif] [--runs=5] [--renders=8]

PLUGINS holds gdal_FlatPyramid.so and libflatpyramid_gdal_impl.so (two builds can be compared:
name each). The default files are gdal_driver_bench.py's medium pyramid and COG (run it once).
Each run starts one process per (plugin, file), alternating, that renders --renders maps of
1024 x 1024 pixels with QGIS's parallel renderer, each over a new extent (no cache serves a
render from the one before): at the finest level's resolution ("1:1", the driver's window
path) and at 3.4 times coarser ("zoomed out", GDAL's overview path). Prints the medians over
all renders as markdown.
"""

import argparse
import os
import statistics
import subprocess
import sys

_CHILD = """
import os, sys, time
from qgis.core import (QgsApplication, QgsMapRendererParallelJob, QgsMapSettings,
                       QgsRasterLayer, QgsRectangle)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
layer = QgsRasterLayer(sys.argv[1], "bench", "gdal")
assert layer.isValid(), sys.argv[1]
e = layer.extent()
res = e.width() / layer.width()
for scale in (1.0, 3.4):
    span = 1024 * res * scale
    for i in range(int(sys.argv[2])):
        x0 = e.xMinimum() + (e.width() - span) * ((0.11 + 0.37 * i) % 1.0)
        y0 = e.yMinimum() + (e.height() - span) * ((0.23 + 0.29 * i) % 1.0)
        settings = QgsMapSettings()
        settings.setLayers([layer])
        settings.setDestinationCrs(layer.crs())
        settings.setExtent(QgsRectangle(x0, y0, x0 + span, y0 + span))
        settings.setOutputSize(QSize(1024, 1024))
        settings.setBackgroundColor(QColor(0, 0, 0, 0))
        start = time.perf_counter()
        job = QgsMapRendererParallelJob(settings)
        job.start()
        job.waitForFinished()
        print(scale, time.perf_counter() - start)
del layer
app.exitQgis()
"""


def render_times(plugin_dir, path, renders):
    env = dict(os.environ, GDAL_DRIVER_PATH=plugin_dir, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", _CHILD, path, str(renders)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"rendering {path} with {plugin_dir} failed: {result.stderr}")
    times = {}
    for line in result.stdout.split("\n"):
        if line:
            scale, seconds = line.split()
            times.setdefault(float(scale), []).append(float(seconds))
    return times


def main():
    work = os.path.expanduser("~/.cache/flatpyramid-bench/gdal_driver/medium")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plugin_dir", action="append", required=True,
                        help="DIR or NAME=DIR; repeat to compare builds")
    parser.add_argument("--pyramid", default=os.path.join(work, "pyramid.fpyr"))
    parser.add_argument("--cog", default=os.path.join(work, "cog.tif"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--renders", type=int, default=8)
    args = parser.parse_args()
    plugins = [p.split("=", 1) if "=" in p else ["driver", p] for p in args.plugin_dir]
    subjects = [(f"{name} (.fpyr)", d, args.pyramid) for name, d in plugins]
    subjects.append(("COG", plugins[0][1], args.cog))
    times = {name: {} for name, _, _ in subjects}
    for _ in range(args.runs):
        for name, plugin_dir, path in subjects:
            for scale, seconds in render_times(plugin_dir, path, args.renders).items():
                times[name].setdefault(scale, []).extend(seconds)
    print(f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}\n")
    print("| QGIS render, 1024 x 1024 | " + " | ".join(n for n, _, _ in subjects) + " |")
    print("|---|" + "---:|" * len(subjects))
    for scale, label in ((1.0, "1:1 (window path)"), (3.4, "zoomed out 3.4x (overviews)")):
        medians = [statistics.median(times[n][scale]) * 1000 for n, _, _ in subjects]
        print(f"| {label}, median ms | " + " | ".join(f"{m:.1f}" for m in medians) + " |")


if __name__ == "__main__":
    main()
