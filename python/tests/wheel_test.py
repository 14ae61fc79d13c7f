"""The wheel of //python:wheel installs with pip into a fresh venv and imports there."""

import os
import subprocess
import sys
import zipfile

import pytest

from python.testing import support


def test_wheel_installs_into_a_fresh_venv_and_builds_and_reads_a_pyramid(tmp_path):
    dist = tmp_path / "dist"
    written = subprocess.run(
        [support.runfile("python/wheel"), f"--output_dir={dist}"],
        stdout=subprocess.PIPE,
        check=True,
        text=True,
    ).stdout.strip()
    python_tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    name = f"flatpyramid-0.1.0-{python_tag}-{python_tag}-linux_x86_64.whl"
    assert written == str(dist / name)
    with zipfile.ZipFile(written) as wheel:
        names = wheel.namelist()
        assert "flatpyramid/__init__.py" in names and "flatpyramid/__init__.pyi" in names
        assert "flatpyramid-0.1.0.dist-info/RECORD" in names
        assert any(n.startswith("flatpyramid/_flatpyramid.cpython-") for n in names)
        assert "libgdal.so" in wheel.read("flatpyramid-0.1.0.dist-info/METADATA").decode()

    # A second run refuses to replace the wheel without --overwrite.
    again = subprocess.run(
        [support.runfile("python/wheel"), f"--output_dir={dist}"], stderr=subprocess.PIPE, text=True
    )
    assert again.returncode == 1 and "--overwrite" in again.stderr

    venv = tmp_path / "venv"
    subprocess.run(
        ["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True
    )
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "--no-index", "--no-deps", "--quiet", written],
        check=True,
    )
    script = f"""
import flatpyramid, numpy
assert flatpyramid.__file__.startswith({str(venv)!r}), flatpyramid.__file__
flatpyramid.build({support.data("elev.tif")!r}, {str(tmp_path / "elev.fpyr")!r})
with flatpyramid.open({str(tmp_path / "elev.fpyr")!r}) as p:
    print(p.dtype, p.max_zoom, p.sample([6.1375], [49.8167], method="nearest")[0])
"""
    # Outside the runfiles tree and with a clean PYTHONPATH, as a user would run it.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    result = subprocess.run(
        [python, "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True, check=True
    )
    dtype, max_zoom, value = result.stdout.split()
    assert (dtype, max_zoom) == ("int16", "7") and float(value) > 0
    pip_show = subprocess.run(
        [python, "-m", "pip", "show", "--files", "flatpyramid"],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout
    assert "Version: 0.1.0" in pip_show and "flatpyramid/__init__.pyi" in pip_show


if __name__ == "__main__":
    support.main(__file__)
