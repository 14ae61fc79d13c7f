"""flatpyramid: single-file multi-resolution tile pyramids, read and built from Python.

A pyramid (.fpyr) holds every zoom level of a raster as tiles of one tile matrix set
(WebMercatorQuad or WorldCRS84Quad) in one memory-mapped file. This package reads tiles,
georeferenced windows in any CRS and point samples as numpy arrays, and builds pyramids
from anything GDAL opens. Calls that decode, warp or build release the GIL, so threads
reading one Pyramid run in parallel.

    import flatpyramid

    with flatpyramid.open("scene.fpyr") as pyramid:
        tile = pyramid.tile(12, 1583, 2167)          # (256, 256, bands) array or None
        window, geotransform = pyramid.read(
            (-34.90, -8.05, -34.85, -8.00), size=(512, 512))
        heights = pyramid.sample(lons, lats)         # float64, NaN without data

    flatpyramid.build("scene.tif", "scene.fpyr", bands=[3, 2, 1],
                      progress=lambda fraction, message: print(message))

Errors are FileNotFoundError, FileExistsError, ValueError (bad arguments), OSError and its
subclass CorruptFileError (a damaged file or tile), with the library's messages.
"""

import builtins


def _refuse_beside_the_gdal_driver():
    """Raises ImportError when the FlatPyramid GDAL driver is loaded in this process.

    The driver (libflatpyramid_gdal_impl.so, loaded when GDAL, rasterio or QGIS first opens a
    .fpyr) and this module each carry the pyramid library, whose protobuf descriptors Debian's
    shared libprotobuf accepts once per process: loading the extension after the driver would
    abort the process (QGIS with it, from its Python console). The other order is refused by
    the driver.
    """
    try:
        with builtins.open("/proc/self/maps") as maps:  # This module's open() reads pyramids.
            loaded = "/libflatpyramid_gdal_impl.so" in maps.read()
    except OSError:  # No /proc: nothing to check.
        return
    if loaded:
        raise ImportError(
            "flatpyramid: this process has already opened a pyramid through the FlatPyramid "
            "GDAL driver (GDAL, rasterio or QGIS), and one process cannot hold two copies of "
            "the pyramid library: import flatpyramid in another process (or before any .fpyr "
            "is opened through GDAL, which then refuses pyramids in this process)")


_refuse_beside_the_gdal_driver()

from flatpyramid._flatpyramid import CorruptFileError, Pyramid, build, open  # noqa: E402

__all__ = ["CorruptFileError", "Pyramid", "build", "open"]
__version__ = "0.1.0"
