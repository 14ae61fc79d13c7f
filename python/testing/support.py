"""Helpers shared by the flatpyramid Python tests: runfiles, the C++ tools, GDAL decoding."""

import os
import subprocess
import sys

import numpy
import pytest
from osgeo import gdal

gdal.UseExceptions()


def runfile(path):
    """The absolute path of `path` (relative to the workspace) in the test's runfiles."""
    root = os.environ.get("TEST_SRCDIR") or os.environ["RUNFILES_DIR"]
    return os.path.join(root, "flatpyramid", path)


def data(name):
    """A raster of testing/data."""
    return runfile(os.path.join("testing", "data", name))


def run_tool(name, *args):
    """Runs //tools:<name> with `args`; returns its stdout (bytes), failing on a non-zero exit."""
    result = subprocess.run(
        [runfile(os.path.join("tools", name)), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def tool_build(inputs, output, **options):
    """Builds `output` with //tools:build_pyramid, options as --name=value flags."""
    flags = [f"--input={','.join(inputs)}", f"--output={output}", "--quiet"]
    for name, value in options.items():
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        flags.append(f"--{name}={value}")
    run_tool("build_pyramid", *flags)


def decode_with_gdal(encoded):
    """Decodes image bytes (JPEG, PNG, WebP) with GDAL: a (height, width, bands) array."""
    name = "/vsimem/flatpyramid_test_tile"
    gdal.FileFromMemBuffer(name, bytes(encoded))
    try:
        dataset = gdal.Open(name)
        pixels = dataset.ReadAsArray()
        dataset = None
    finally:
        gdal.Unlink(name)
    if pixels.ndim == 2:
        pixels = pixels[numpy.newaxis]
    return numpy.ascontiguousarray(numpy.moveaxis(pixels, 0, -1))


def read_raster(path):
    """(pixels as (height, width, bands), geotransform) of a raster file, read with GDAL."""
    dataset = gdal.Open(path)
    pixels = dataset.ReadAsArray()
    if pixels.ndim == 2:
        pixels = pixels[numpy.newaxis]
    return numpy.moveaxis(pixels, 0, -1), dataset.GetGeoTransform()


def main(test_file):
    """Runs the tests of `test_file` with pytest and exits with its code."""
    sys.exit(pytest.main([test_file, "-v", "-p", "no:cacheprovider"]))
