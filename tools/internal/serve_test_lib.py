"""Shared by tools/serve_*_test.py: where the tools and data are, failure counting, running
a program with a bounded time, building a test pyramid with build_pyramid, a serve_pyramid
process and a puppeteer probe in headless Chromium."""
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

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


class Server:
    """serve_pyramid on 127.0.0.1 and the port it picks, started with `args`.

    Its stderr is read by a thread for as long as it runs, so the server never blocks on a
    full pipe, and the server gets SIGKILL if the test process dies first (a crash skips
    `finally`): an orphaned server would hold the test's stdout open and stall whatever
    reads it.
    """

    def __init__(self, *args, cwd=None, env=None):
        self.process = subprocess.Popen([f"{TOOLS}/serve_pyramid", "--port=0", *args],
                                        stderr=subprocess.PIPE, text=True, cwd=cwd, env=env,
                                        preexec_fn=_die_with_parent)
        line, match = "", None
        deadline = time.time() + 120  # The demo mode builds first.
        while time.time() < deadline:
            line = self.process.stderr.readline()
            match = re.search(r"serving .* on http://127\.0\.0\.1:(\d+)/", line)
            if match:
                self.port = int(match.group(1))
                break
            if not line and self.process.poll() is not None:
                break
        else:
            line = "no port within 120 s"
        if not match:
            self.process.kill()
            self.process.wait(timeout=30)
            raise RuntimeError(f"serve_pyramid did not start: {line}")
        self._stderr = []
        self._reader = threading.Thread(target=lambda: self._stderr.extend(self.process.stderr),
                                        daemon=True)
        self._reader.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig`; returns the exit code and what the server wrote to stderr since it
        started serving."""
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        self.process.stderr.close()
        return code, "".join(self._stderr)


def _die_with_parent():
    PR_SET_PDEATHSIG = 1  # linux/prctl.h
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


PUPPETEER = "puppeteer-core@24.31.0"


def install_puppeteer():
    """The node_modules directory holding puppeteer-core (testing/node/install.sh)."""
    return run([os.path.join(SRCDIR, "testing", "node", "install.sh"), PUPPETEER]).stdout.strip()


def probe(node_modules, script, *args, timeout=120):
    """Runs tools/internal/`script` (a puppeteer probe), passes on its stderr and returns the
    JSON of its last line."""
    env = dict(os.environ, NODE_PATH=node_modules)
    result = run(["node", f"{TOOLS}/internal/{script}", *args], env=env, timeout=timeout)
    sys.stderr.write(result.stderr)  # The probe's timings.
    return json.loads(result.stdout.strip().splitlines()[-1])


def failed_requests(requests):
    """A probe's requests not answered 200, except a 304 to a URL already answered 200 (the
    browser revalidates a tile older than its Cache-Control max-age, 60 s)."""
    answered, failed = set(), []
    for r in requests:
        if r["status"] == 200:
            answered.add(r["url"])
        elif r["status"] != 304 or r["url"] not in answered:
            failed.append(r)
    return failed


def finish():
    if FAILURES:
        sys.exit(f"{len(FAILURES)} failure(s)")
    print("all passed", file=sys.stderr)
