"""Type stubs of flatpyramid (see help(flatpyramid) for the whole contract)."""

import os
from typing import Callable, Iterable, Optional, Sequence, Tuple, Union

import numpy
import numpy.typing

__version__: str

_Path = Union[str, os.PathLike]
GeoTransform = Tuple[float, float, float, float, float, float]

class CorruptFileError(OSError):
    """The file is not a flatpyramid pyramid, or its bytes are damaged."""

class Pyramid:
    """An open, read-only flatpyramid file (flatpyramid.open)."""

    @property
    def path(self) -> str: ...
    @property
    def info(self) -> dict: ...
    @property
    def tile_matrix_set(self) -> str: ...
    @property
    def tile_size(self) -> int: ...
    @property
    def min_zoom(self) -> int: ...
    @property
    def max_zoom(self) -> int: ...
    @property
    def bands(self) -> int: ...
    @property
    def has_alpha(self) -> bool: ...
    @property
    def nodata(self) -> Optional[float]: ...
    @property
    def dtype(self) -> numpy.dtype: ...
    @property
    def crs(self) -> str: ...
    @property
    def bounds(self) -> Tuple[float, float, float, float]: ...
    @property
    def closed(self) -> bool: ...
    def tile(self, z: int, x: int, y: int) -> Optional[numpy.ndarray]:
        """Tile z/x/y decoded, (tile_size, tile_size, bands), read-only; None if missing."""
    def tile_bytes(self, z: int, x: int, y: int) -> Optional[memoryview]:
        """The stored bytes of tile z/x/y, zero-copy; None if missing."""
    def tiles(self, z: int) -> numpy.ndarray:
        """(count, 2) uint32 array of the (x, y) of level z's tiles, in key order."""
    def read(
        self,
        bbox: Tuple[float, float, float, float],
        crs: str = "EPSG:4326",
        size: Tuple[int, int] = (256, 256),
        resampling: str = "bilinear",
        zoom: Optional[int] = None,
    ) -> Tuple[numpy.ndarray, GeoTransform]:
        """A north-up window of `size` (width, height) over `bbox` in `crs`."""
    def sample(
        self,
        xs: numpy.typing.ArrayLike,
        ys: numpy.typing.ArrayLike,
        crs: str = "EPSG:4326",
        method: str = "bilinear",
        band: int = 0,
    ) -> numpy.ndarray:
        """float64 values of `band` at the points, NaN where there is no data."""
    def close(self) -> None: ...
    def __enter__(self) -> "Pyramid": ...
    def __exit__(self, *args: object) -> None: ...

def open(path: _Path, cache_mb: float = 128) -> Pyramid:
    """Opens a pyramid file read-only with `cache_mb` MiB of decoded-tile cache."""

def build(
    inputs: Union[_Path, Sequence[_Path]],
    output: _Path,
    *,
    progress: Optional[Callable[[float, str], object]] = None,
    tile_matrix_set: Optional[str] = None,
    tile_size: Optional[int] = None,
    min_zoom: Optional[int] = None,
    max_zoom: Optional[int] = None,
    zoom_strategy: Optional[str] = None,
    codec: Optional[str] = None,
    quality: Optional[int] = None,
    resampling: Optional[str] = None,
    overview_resampling: Optional[str] = None,
    bands: Optional[Iterable[int]] = None,
    source_srs: Optional[str] = None,
    nodata: Optional[float] = None,
    threads: Optional[int] = None,
    resume: Optional[bool] = None,
    overwrite: Optional[bool] = None,
    commit_seconds: Optional[float] = None,
    allow_large_build: Optional[bool] = None,
    set_gdal_cache: Optional[bool] = None,
) -> dict:
    """Builds `output` from `inputs` (KeyboardInterrupt stops at a commit point)."""
