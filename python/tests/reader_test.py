"""flatpyramid.open / Pyramid against the C++ tools and GDAL as oracles."""

import concurrent.futures
import gc
import os
import subprocess
import sys
import threading
import time
import weakref

import numpy
import pytest
from osgeo import gdal

import flatpyramid
from python.testing import support

L7_BANDS = [3, 2, 1]


@pytest.fixture(scope="module")
def landsat(tmp_path_factory):
    """Landsat 7 RGB up to z14: tiles of both codecs (opaque JPEG, partial PNG with alpha)."""
    path = str(tmp_path_factory.mktemp("landsat") / "l7.fpyr")
    support.tool_build([support.data("L7_ETMs.tif")], path, bands=L7_BANDS, max_zoom=14)
    return path


@pytest.fixture(scope="module")
def elevation(tmp_path_factory):
    """elev.tif (int16, nodata -32768) at a finer resolution than the source, nearest."""
    path = str(tmp_path_factory.mktemp("elev") / "elev.fpyr")
    support.tool_build(
        [support.data("elev.tif")],
        path,
        tms="WorldCRS84Quad",
        resampling="nearest",
        zoom_strategy="upper",
    )
    return path


def all_tiles(pyramid):
    for z in range(pyramid.min_zoom, pyramid.max_zoom + 1):
        for x, y in pyramid.tiles(z):
            yield z, int(x), int(y)


def test_properties_match_pyramid_info_json(landsat):
    import json

    expected = json.loads(support.run_tool("pyramid_info", landsat, "--json"))
    with flatpyramid.open(landsat) as pyramid:
        info = pyramid.info
        assert info["metadata"] == expected["metadata"]
        assert info["crs"] == expected["crs"] == "EPSG:3857"
        assert [
            (l["zoom"], l["tiles"], l["bytes"], list(l["tile_range"])) for l in info["levels"]
        ] == [(l["zoom"], l["tiles"], l["bytes"], l["tile_range"]) for l in expected["levels"]]
        assert pyramid.tile_matrix_set == "WebMercatorQuad"
        assert (pyramid.min_zoom, pyramid.max_zoom) == (0, 14)
        assert pyramid.bands == 4 and pyramid.has_alpha
        assert pyramid.dtype == numpy.uint8
        assert pyramid.tile_size == 256
        assert pyramid.nodata is None
        bounds = expected["metadata"]["bounds_lonlat"]
        assert pyramid.bounds == (
            bounds["min_x"],
            bounds["min_y"],
            bounds["max_x"],
            bounds["max_y"],
        )
        assert "Pseudo-Mercator" in pyramid.crs and pyramid.crs.startswith("PROJCRS[")


def test_tile_bytes_equal_extract_tile_and_tile_equals_them_decoded_by_gdal(landsat, tmp_path):
    codecs = set()
    with flatpyramid.open(landsat) as pyramid:
        tiles = list(all_tiles(pyramid))
        assert len(tiles) == 61
        for z, x, y in tiles:
            stored = pyramid.tile_bytes(z, x, y)
            out = tmp_path / f"{z}_{x}_{y}"
            support.run_tool("extract_tile", landsat, str(z), str(x), str(y), f"--output={out}")
            assert bytes(stored) == out.read_bytes()
            decoded = support.decode_with_gdal(stored)
            tile = pyramid.tile(z, x, y)
            assert tile.shape == (256, 256, 4) and tile.dtype == numpy.uint8
            codecs.add(decoded.shape[2])
            if decoded.shape[2] == 3:  # Opaque JPEG: the reader adds alpha 255.
                assert numpy.array_equal(tile[:, :, :3], decoded)
                assert (tile[:, :, 3] == 255).all()
            else:
                assert numpy.array_equal(tile, decoded)
    assert codecs == {3, 4}


def test_missing_tile_is_none_and_outside_the_matrix_is_value_error(landsat):
    with flatpyramid.open(landsat) as pyramid:
        assert pyramid.tile(14, 0, 0) is None
        assert pyramid.tile_bytes(14, 0, 0) is None
        with pytest.raises(ValueError, match="1/2/0"):
            pyramid.tile(1, 2, 0)
        with pytest.raises(ValueError):
            pyramid.tile(3, -1, 0)
        with pytest.raises(ValueError, match="no level 15"):
            pyramid.tiles(15)


def test_tiles_lists_the_levels_keys(landsat):
    with flatpyramid.open(landsat) as pyramid:
        xy = pyramid.tiles(12)
        assert xy.dtype == numpy.uint32
        assert xy.tolist() == [[1650, 2138], [1651, 2138], [1650, 2139], [1651, 2139]]


@pytest.mark.parametrize(
    "bbox,crs,size,resampling",
    [
        ((-34.91, -8.04, -34.83, -7.95), "EPSG:4326", (300, 200), "bilinear"),
        ((-34.95, -8.1, -34.8, -7.9), "EPSG:4326", (64, 64), "nearest"),
        ((290000, 9110000, 296000, 9116000), "EPSG:31985", (150, 150), "cubic"),
    ],
)
def test_read_equals_read_region(landsat, tmp_path, bbox, crs, size, resampling):
    out = str(tmp_path / "window.tif")
    support.run_tool(
        "read_region",
        landsat,
        f"--bbox={','.join(map(str, bbox))}",
        f"--bbox_srs={crs}",
        f"--size={size[0]},{size[1]}",
        f"--resampling={resampling}",
        f"--output={out}",
    )
    expected, expected_geotransform = support.read_raster(out)
    with flatpyramid.open(landsat) as pyramid:
        window, geotransform = pyramid.read(bbox, crs=crs, size=size, resampling=resampling)
    assert window.shape == (size[1], size[0], 4)
    assert window.flags.writeable and window.flags.c_contiguous
    assert numpy.array_equal(window, expected)
    assert geotransform == pytest.approx(expected_geotransform, rel=1e-12)


def test_read_rejects_bad_arguments_with_value_error(landsat):
    with flatpyramid.open(landsat) as pyramid:
        with pytest.raises(ValueError, match="resampling"):
            pyramid.read((-35, -8.1, -34.8, -7.9), resampling="bicubic")
        with pytest.raises(ValueError):
            pyramid.read((-35, -7.9, -34.8, -8.1))  # min_y > max_y.
        with pytest.raises(ValueError):
            pyramid.read((-35, -8.1, -34.8, -7.9), size=(0, 10))
        with pytest.raises(ValueError):
            pyramid.read((-35, -8.1, -34.8, -7.9), crs="EPSG:999999")
        with pytest.raises(TypeError):
            pyramid.read("not a bbox")


def test_sample_equals_gdallocationinfo_on_the_source(elevation):
    source = support.data("elev.tif")
    dataset = gdal.Open(source)
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    cols, rows = numpy.meshgrid(numpy.arange(0, 95, 4), numpy.arange(0, 90, 3))
    lons = (x0 + (cols.ravel() + 0.5) * dx).astype(numpy.float64)
    lats = (y0 + (rows.ravel() + 0.5) * dy).astype(numpy.float64)
    result = subprocess.run(
        ["gdallocationinfo", "-valonly", "-geoloc", source],
        input="".join(f"{lon!r} {lat!r}\n" for lon, lat in zip(lons, lats)).encode(),
        stdout=subprocess.PIPE,
        check=True,
    )
    expected = numpy.array([float(v) for v in result.stdout.split()])
    assert len(expected) == len(lons)
    expected[expected == -32768] = numpy.nan
    assert (int(numpy.isnan(expected).sum()), len(expected)) == (337, 720)
    with flatpyramid.open(elevation) as pyramid:
        assert pyramid.dtype == numpy.int16 and pyramid.nodata == -32768
        values = pyramid.sample(lons, lats, method="nearest")
    assert values.dtype == numpy.float64
    # Where the source has data, the finest level holds its pixel; at the source's nodata
    # pixels sample() falls back to coarser levels (overviews averaged over the edge).
    valid = ~numpy.isnan(expected)
    numpy.testing.assert_array_equal(values[valid], expected[valid])


def test_sample_transforms_points_from_other_crss(elevation):
    lons = numpy.array([6.1375, 6.0, 6.4])
    lats = numpy.array([49.8167, 49.6, 49.7])
    src = gdal.osr.SpatialReference()
    src.ImportFromEPSG(4326)
    src.SetAxisMappingStrategy(gdal.osr.OAMS_TRADITIONAL_GIS_ORDER)
    dst = gdal.osr.SpatialReference()
    dst.ImportFromEPSG(3857)
    transform = gdal.osr.CoordinateTransformation(src, dst)
    xy = numpy.array([transform.TransformPoint(lon, lat)[:2] for lon, lat in zip(lons, lats)])
    with flatpyramid.open(elevation) as pyramid:
        in_lonlat = pyramid.sample(lons, lats)
        in_metres = pyramid.sample(xy[:, 0], xy[:, 1], crs="EPSG:3857")
    assert numpy.isfinite(in_lonlat).all()
    numpy.testing.assert_allclose(in_metres, in_lonlat, rtol=1e-9)


def test_sample_outside_the_data_is_nan_and_bad_arguments_raise(elevation):
    with flatpyramid.open(elevation) as pyramid:
        assert numpy.isnan(pyramid.sample([10.0], [10.0])).all()
        assert pyramid.sample([], []).shape == (0,)
        with pytest.raises(ValueError, match="same length"):
            pyramid.sample([1.0, 2.0], [1.0])
        with pytest.raises(ValueError, match="method"):
            pyramid.sample([1.0], [1.0], method="cubic")
        with pytest.raises(ValueError, match="band 1"):
            pyramid.sample([1.0], [1.0], band=1)
        with pytest.raises(ValueError):
            pyramid.sample([10.0], [100.0])


def test_open_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.fpyr"):
        flatpyramid.open(str(tmp_path / "missing.fpyr"))
    junk = tmp_path / "junk.fpyr"
    junk.write_bytes(b"not a pyramid" * 10000)
    with pytest.raises(flatpyramid.CorruptFileError, match="junk.fpyr") as error:
        flatpyramid.open(junk)
    assert isinstance(error.value, OSError)
    with pytest.raises(ValueError, match="cache_mb"):
        flatpyramid.open(junk, cache_mb=-1)
    with pytest.raises(TypeError):
        flatpyramid.open(42)


def test_truncated_file_is_corrupt(landsat, tmp_path):
    data = open(landsat, "rb").read()
    truncated = tmp_path / "truncated.fpyr"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(flatpyramid.CorruptFileError, match="truncated.fpyr"):
        flatpyramid.open(truncated)


def test_damaged_tile_raises_corrupt_file_error_naming_it(landsat, tmp_path):
    with flatpyramid.open(landsat) as pyramid:
        z, x, y = 14, *map(int, pyramid.tiles(14)[0])
        stored = bytes(pyramid.tile_bytes(z, x, y))
    data = bytearray(open(landsat, "rb").read())
    offset = data.find(stored)
    assert offset > 0
    data[offset + 16 : offset + len(stored)] = bytes(len(stored) - 16)
    damaged = tmp_path / "damaged.fpyr"
    damaged.write_bytes(bytes(data))
    with flatpyramid.open(damaged) as pyramid:
        with pytest.raises(flatpyramid.CorruptFileError, match=f"{z}/{x}/{y}"):
            pyramid.tile(z, x, y)


def test_many_threads_reading_one_pyramid_get_the_single_threaded_results(landsat):
    bbox = (-34.91, -8.04, -34.83, -7.95)
    with flatpyramid.open(landsat, cache_mb=1) as pyramid:
        tiles = list(all_tiles(pyramid))
        expected_tiles = {t: pyramid.tile(*t).copy() for t in tiles}
        expected_window = pyramid.read(bbox, size=(200, 200))[0]

        def work(seed):
            order = numpy.random.default_rng(seed).permutation(len(tiles))
            for i in order:
                if not numpy.array_equal(pyramid.tile(*tiles[i]), expected_tiles[tiles[i]]):
                    return f"tile {tiles[i]} differs"
            if not numpy.array_equal(pyramid.read(bbox, size=(200, 200))[0], expected_window):
                return "window differs"
            return None

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(work, range(32))) == [None] * 32


def python_steps_while(work):
    """How many 1 ms steps the calling thread makes while another thread runs `work`.

    The switch interval is raised to 100 s, so a thread holding the GIL keeps it: the steps
    can only run while `work` has released the GIL (each step's sleep releases it too).
    """
    done = threading.Event()
    steps = 0
    previous = sys.getswitchinterval()
    sys.setswitchinterval(100)
    try:
        worker = threading.Thread(target=lambda: (work(), done.set()))
        worker.start()
        while not done.is_set():
            steps += 1
            time.sleep(0.001)
        worker.join()
    finally:
        sys.setswitchinterval(previous)
    return steps


def test_tile_read_sample_and_build_release_the_gil(landsat, elevation, tmp_path):
    with flatpyramid.open(landsat, cache_mb=0) as pyramid:
        tiles = list(all_tiles(pyramid))
        assert python_steps_while(lambda: [pyramid.tile(*t) for t in tiles * 5]) >= 5
        bbox = (-34.91, -8.04, -34.83, -7.95)
        assert python_steps_while(lambda: pyramid.read(bbox, size=(2048, 2048), resampling="lanczos")) >= 5
    with flatpyramid.open(elevation) as pyramid:
        points = numpy.random.default_rng(0).uniform(5.8, 6.5, 300000)
        assert python_steps_while(lambda: pyramid.sample(points, points + 43.7)) >= 5
    output = str(tmp_path / "etopo.fpyr")
    build = lambda: flatpyramid.build(support.data("etopo20.cdf"), output, source_srs="EPSG:4326")
    assert python_steps_while(build) >= 5


def test_arrays_and_memoryviews_outlive_their_pyramid(landsat):
    pyramid = flatpyramid.open(landsat)
    z, x, y = 14, *map(int, pyramid.tiles(14)[5])
    tile = pyramid.tile(z, x, y)
    expected = tile.copy()
    stored = pyramid.tile_bytes(z, x, y)
    expected_bytes = bytes(stored)
    window, _ = pyramid.read((-34.91, -8.04, -34.83, -7.95), size=(64, 64))
    expected_window = window.copy()
    alive = weakref.ref(pyramid)
    pyramid.close()
    assert pyramid.closed
    with pytest.raises(ValueError, match="closed"):
        pyramid.tile(z, x, y)
    del pyramid
    gc.collect()
    assert alive() is None
    assert numpy.array_equal(tile, expected)
    assert bytes(stored) == expected_bytes
    assert numpy.array_equal(window, expected_window)
    assert not tile.flags.writeable
    with pytest.raises(ValueError):
        tile[0, 0, 0] = 1
    with pytest.raises(TypeError):
        stored[0] = 1


def test_calls_leak_no_references(landsat):
    with flatpyramid.open(landsat) as pyramid:
        z, x, y = 14, *map(int, pyramid.tiles(14)[0])
        for _ in range(10):  # Warm up caches of pybind11 and numpy.
            pyramid.tile(z, x, y), pyramid.tile_bytes(z, x, y)
        before = sys.getrefcount(pyramid)
        tile = pyramid.tile(z, x, y)
        tile_refs = sys.getrefcount(tile)
        for _ in range(1000):
            pyramid.tile(z, x, y)
            pyramid.tile_bytes(z, x, y)
            pyramid.read((-34.91, -8.04, -34.83, -7.95), size=(8, 8))
            pyramid.sample([-34.9], [-8.0])
        assert sys.getrefcount(pyramid) == before
        assert sys.getrefcount(tile) == tile_refs
        # The array's reference, the expression's and getrefcount's argument.
        assert sys.getrefcount(tile.base) == 3


def test_help_documents_every_public_function():
    for function in (
        flatpyramid.open,
        flatpyramid.build,
        flatpyramid.Pyramid.tile,
        flatpyramid.Pyramid.tile_bytes,
        flatpyramid.Pyramid.tiles,
        flatpyramid.Pyramid.read,
        flatpyramid.Pyramid.sample,
        flatpyramid.Pyramid.close,
    ):
        assert len(function.__doc__) > 80, function
    assert "numpy" in flatpyramid.__doc__
    assert os.path.exists(os.path.join(os.path.dirname(flatpyramid.__file__), "__init__.pyi"))


if __name__ == "__main__":
    support.main(__file__)
