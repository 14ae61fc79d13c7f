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

from flatpyramid._flatpyramid import CorruptFileError, Pyramid, build, open

__all__ = ["CorruptFileError", "Pyramid", "build", "open"]
__version__ = "0.1.0"
