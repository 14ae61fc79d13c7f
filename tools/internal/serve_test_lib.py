"""Shared by tools/serve_*_test.py: where the tools and data are, failure counting, running
a program with a bounded time, and building a test pyramid with build_pyramid."""
import os
import subprocess
import sys

SRCDIR = os.path.join(os.environ["TEST_SRCDIR"], "flatpyramid")
TOOLS = os.path.join(SRCDIR, "tools")
DATA = os.path.join(SRCDIR, "testing", "data")
OUT = os.environ["TEST_TMPDIR"]
os.environ["GDAL_PAM_ENABLED"] = "NO"  # Never write .aux.xml files next to testing/data.
FAILURES = []


def check(condition, message):
    """Records a failure and carries on, so one run reports every failure."""
    if not condition:
        FAILURES.append(message)
        print("FAIL:", message, file=sys.stderr)


def run(args, timeout=180, **kwargs):
    """Runs a program; raises with its stderr when it fails."""
    result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {result.returncode}: {result.stderr[-2000:]}")
    return result


def build(name, *flags, source="L7_ETMs.tif"):
    """Builds OUT/name.fpyr from testing/data/source with build_pyramid and `flags`."""
    path = os.path.join(OUT, name + ".fpyr")
    run([f"{TOOLS}/build_pyramid", f"--input={DATA}/{source}", f"--output={path}", "--quiet",
         "--overwrite", *flags])
    return path


def finish():
    if FAILURES:
        sys.exit(f"{len(FAILURES)} failure(s)")
    print("all passed", file=sys.stderr)
