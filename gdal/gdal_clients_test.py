"""gdal_clients_test: GDAL's own programs, osgeo.gdal and rasterio read and write .fpyr files
through the plugin (GDAL_DRIVER_PATH = the built plugin's directory).

The oracle for pixels is flatpyramid's own reading tools: extract_tile (the stored tile,
decoded by GDAL's PNG/JPEG drivers) and read_region (Reader::ReadRegion, nearest on the
level's grid, for elevation tiles GDAL cannot decode).
"""

import json
import math
import os
import random
import shutil
import subprocess
import time
import unittest

from gdal.testing.client_support import plugin_environment
from testing.image_compare import psnr

RUNFILES = os.path.join(os.environ["TEST_SRCDIR"], "flatpyramid")
TOOLS = os.path.join(RUNFILES, "tools")
DATA = os.path.join(RUNFILES, "testing", "data")
TMP = os.environ["TEST_TMPDIR"]
HALF = 20037508.342789244  # Half the Web Mercator square, metres.
TILE = 256

ENV = plugin_environment(RUNFILES, TMP)
os.environ.update(ENV)  # Before osgeo and rasterio load GDAL, which reads it then.

import numpy as np  # noqa: E402 (after the environment GDAL reads when it loads)
from osgeo import gdal  # noqa: E402
import rasterio  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402
from rasterio.windows import Window  # noqa: E402

gdal.UseExceptions()


def run(*command, check=True):
    result = subprocess.run([str(c) for c in command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, command))} failed ({result.returncode}): "
                             f"{result.stderr}")
    return result


def tool(name, *args, check=True):
    return run(os.path.join(TOOLS, name), *args, check=check)


def build_pyramid(output, *flags):
    tool("build_pyramid", f"--output={output}", "--quiet", *flags)
    return output


def tmp(name):
    return os.path.join(TMP, name)


def level_of(path, overview=None):
    """zoom, first tile column, first tile row of the dataset (or of overview i)."""
    ds = gdal.Open(path)
    band = ds.GetRasterBand(1) if overview is None else ds.GetRasterBand(1).GetOverview(overview)
    gt = ds.GetGeoTransform()
    resolution = gt[1] * ds.RasterXSize / band.XSize
    zoom = round(math.log2(2 * HALF / (TILE * resolution)))
    column = (gt[0] + HALF) / resolution
    row = (HALF - gt[3]) / resolution
    return zoom, round(column), round(row), band.XSize, band.YSize


def tile_bounds(z, x, y):
    span = 2 * HALF / (1 << z)
    return (-HALF + x * span, HALF - (y + 1) * span, -HALF + (x + 1) * span, HALF - y * span)


def stored_tile(path, z, x, y, bands):
    """The tile as Reader::GetTile returns it (bands x 256 x 256), or None when absent."""
    out = tmp(f"tile_{z}_{x}_{y}.bin")
    result = tool("extract_tile", path, z, x, y, f"--output={out}", "--overwrite", check=False)
    if result.returncode != 0:
        if "NotFound" in result.stderr or "no tile" in result.stderr or "not found" in result.stderr:
            return None
        raise AssertionError(f"extract_tile {z}/{x}/{y}: {result.stderr}")
    if "elevation" in result.stderr:
        tif = tmp(f"tile_{z}_{x}_{y}.tif")
        bbox = ",".join(repr(v) for v in tile_bounds(z, x, y))
        tool("read_region", path, f"--bbox={bbox}", "--bbox_srs=EPSG:3857", "--size=256,256",
             f"--zoom={z}", "--resampling=nearest", "--overwrite", f"--output={tif}")
        out = tif
    pixels = gdal.Open(out).ReadAsArray()
    if pixels.ndim == 2:
        pixels = pixels[np.newaxis]
    if pixels.shape[0] == bands - 1:  # A JPEG tile of a pyramid with alpha: opaque.
        pixels = np.concatenate([pixels, np.full((1, TILE, TILE), 255, pixels.dtype)])
    return pixels


def expected_window(path, overview, xoff, yoff, width, height):
    """The window of the dataset (or overview) assembled from stored tiles."""
    ds = gdal.Open(path)
    z, col0, row0, _, _ = level_of(path, overview)
    bands = ds.RasterCount
    dtype = ds.ReadAsArray(0, 0, 1, 1).dtype
    out = np.zeros((bands, height, width), dtype)
    for tile_y in range((row0 + yoff) // TILE, (row0 + yoff + height - 1) // TILE + 1):
        for tile_x in range((col0 + xoff) // TILE, (col0 + xoff + width - 1) // TILE + 1):
            pixels = stored_tile(path, z, tile_x, tile_y, bands)
            if pixels is None:
                continue
            x0 = max(col0 + xoff, tile_x * TILE)
            x1 = min(col0 + xoff + width, (tile_x + 1) * TILE)
            y0 = max(row0 + yoff, tile_y * TILE)
            y1 = min(row0 + yoff + height, (tile_y + 1) * TILE)
            out[:, y0 - row0 - yoff:y1 - row0 - yoff, x0 - col0 - xoff:x1 - col0 - xoff] = \
                pixels[:, y0 - tile_y * TILE:y1 - tile_y * TILE, x0 - tile_x * TILE:x1 - tile_x * TILE]
    return out


def setUpModule():
    global LANDSAT, DEM
    LANDSAT = build_pyramid(tmp("landsat.fpyr"), f"--input={DATA}/L7_ETMs.tif", "--bands=3,2,1",
                            "--max_zoom=14")
    DEM = build_pyramid(tmp("dem.fpyr"), f"--input={DATA}/olinda_dem_utm25s.tif",
                        "--max_zoom=13")


class GdalinfoTest(unittest.TestCase):

    def test_text_names_driver_size_overviews_crs_and_bands(self):
        out = run("gdalinfo", LANDSAT).stdout
        self.assertIn("Driver: FlatPyramid/flatpyramid single-file tile pyramid", out)
        self.assertIn("Size is 1536, 1536", out)
        self.assertIn('ID["EPSG",3857]]', out)
        self.assertIn("Pixel Size = (9.554628535647032,-9.554628535647032)", out)
        self.assertIn("Band 1 Block=256x256 Type=Byte, ColorInterp=Red", out)
        self.assertIn("Band 3 Block=256x256 Type=Byte, ColorInterp=Blue", out)
        self.assertIn("Band 4 Block=256x256 Type=Byte, ColorInterp=Alpha", out)
        self.assertIn("  Overviews: 768x768, 384x384, 192x192\n", out)
        self.assertIn("  Mask Flags: PER_DATASET ALPHA \n", out)
        self.assertIn("  CODEC=jpeg\n", out)
        self.assertIn("  COMPRESSION=JPEG\n", out)

    def test_json_has_exact_geotransform_nodata_and_type(self):
        info = json.loads(run("gdalinfo", "-json", DEM).stdout)
        self.assertEqual(info["driverShortName"], "FlatPyramid")
        z, col0, row0, width, height = level_of(DEM)
        self.assertEqual(z, 13)
        self.assertEqual(info["size"], [width, height])
        resolution = 2 * HALF / (TILE << 13)
        self.assertEqual(info["geoTransform"], [-HALF + col0 * resolution, resolution, 0.0,
                                                HALF - row0 * resolution, 0.0, -resolution])
        band = info["bands"][0]
        self.assertEqual(band["type"], "Float32")
        self.assertEqual(band["noDataValue"], "NaN")
        self.assertEqual(band["block"], [256, 256])
        self.assertEqual([o["size"] for o in band["overviews"]],
                         [[width // 2, height // 2], [width // 4, height // 4]])

    def test_format_lists_the_driver_and_its_creation_options(self):
        formats = run("gdalinfo", "--formats").stdout
        self.assertIn("  FlatPyramid -raster- (rw): flatpyramid single-file tile pyramid\n", formats)
        details = run("gdalinfo", "--format", "FlatPyramid").stdout
        for option in ("TILE_MATRIX_SET", "BLOCKSIZE", "CODEC", "QUALITY", "RESAMPLING",
                       "OVERVIEW_RESAMPLING", "BANDS", "SOURCE_SRS", "NUM_THREADS"):
            self.assertIn(f'<Option name="{option}"', details)


class PixelTest(unittest.TestCase):

    def test_translate_srcwin_of_every_tile_equals_the_stored_tile(self):
        z, col0, row0, width, height = level_of(LANDSAT)
        compared = 0
        for j in range(height // TILE):
            for i in range(width // TILE):
                out = tmp("srcwin.tif")
                run("gdal_translate", "-q", "-srcwin", i * TILE, j * TILE, TILE, TILE, LANDSAT, out)
                got = gdal.Open(out).ReadAsArray()
                x, y = col0 // TILE + i, row0 // TILE + j
                want = stored_tile(LANDSAT, z, x, y, 4)
                if want is None:
                    self.assertTrue((got[3] == 0).all(), f"missing tile {z}/{x}/{y} not transparent")
                    continue
                np.testing.assert_array_equal(got, want, f"tile {z}/{x}/{y}")
                compared += 1
        self.assertEqual(compared, 36)

    def test_translate_ovr_reads_the_coarser_levels_tiles(self):
        for overview in (0, 1):
            z, col0, row0, width, height = level_of(LANDSAT, overview)
            self.assertEqual(z, 13 - overview)
            out = tmp("ovr.tif")
            run("gdal_translate", "-q", "-ovr", overview, LANDSAT, out)
            got = gdal.Open(out).ReadAsArray()
            np.testing.assert_array_equal(got, expected_window(LANDSAT, overview, 0, 0, width, height))

    def test_elevation_srcwin_equals_read_region(self):
        z, col0, row0, width, height = level_of(DEM)
        out = tmp("dem_srcwin.tif")
        run("gdal_translate", "-q", "-srcwin", 256, 0, 256, 256, DEM, out)
        got = gdal.Open(out).ReadAsArray()
        want = stored_tile(DEM, z, col0 // TILE + 1, row0 // TILE, 1)[0]
        np.testing.assert_array_equal(got, want)
        self.assertGreater(np.count_nonzero(~np.isnan(got)), 1000)

    def test_gdalwarp_to_4326_matches_read_region(self):
        bbox = (-34.90, -8.03, -34.84, -7.97)
        warped, region = tmp("warped.tif"), tmp("region.tif")
        run("gdalwarp", "-q", "-overwrite", "-t_srs", "EPSG:4326", "-te", *bbox, "-ts", 512, 512,
            "-r", "bilinear", LANDSAT, warped)
        tool("read_region", LANDSAT, "--bbox=" + ",".join(map(str, bbox)), "--size=512,512",
             "--resampling=bilinear", "--overwrite", f"--output={region}")
        a = gdal.Open(warped).ReadAsArray()
        b = gdal.Open(region).ReadAsArray()
        opaque = (a[3] == 255) & (b[3] == 255)
        self.assertGreater(opaque.mean(), 0.9)
        # Both warp the same level with GDAL's bilinear kernel: identical on this window
        # (infinite PSNR); 60 dB leaves room for GDAL splitting the warp into other chunks.
        self.assertGreater(psnr(a[:3, opaque], b[:3, opaque]), 60.0)

    def test_gdallocationinfo_equals_the_tile_pixel(self):
        z, col0, row0, width, height = level_of(LANDSAT)
        rng = random.Random(7)
        for _ in range(8):
            px, py = rng.randrange(width), rng.randrange(height)
            resolution = 2 * HALF / (TILE << z)
            x = -HALF + (col0 + px + 0.5) * resolution
            y = HALF - (row0 + py + 0.5) * resolution
            lon = math.degrees(x / 6378137.0)
            lat = math.degrees(2 * math.atan(math.exp(y / 6378137.0)) - math.pi / 2)
            out = run("gdallocationinfo", "-valonly", "-wgs84", LANDSAT, repr(lon), repr(lat)).stdout
            got = [int(v) for v in out.split()]
            tile = stored_tile(LANDSAT, z, (col0 + px) // TILE, (row0 + py) // TILE, 4)
            want = [0] * 4 if tile is None else \
                [int(v) for v in tile[:, (row0 + py) % TILE, (col0 + px) % TILE]]
            self.assertEqual(got, want, f"pixel {px},{py} at {lon},{lat}")


class PythonClientTest(unittest.TestCase):

    def test_osgeo_read_as_array_windows(self):
        ds = gdal.Open(LANDSAT)
        rng = random.Random(1)
        for _ in range(6):
            w, h = rng.randrange(1, 700), rng.randrange(1, 700)
            x, y = rng.randrange(ds.RasterXSize - w), rng.randrange(ds.RasterYSize - h)
            np.testing.assert_array_equal(ds.ReadAsArray(x, y, w, h),
                                          expected_window(LANDSAT, None, x, y, w, h))
            np.testing.assert_array_equal(ds.GetRasterBand(2).ReadAsArray(x, y, w, h),
                                          expected_window(LANDSAT, None, x, y, w, h)[1])

    def test_rasterio_reads_a_window_at_half_size_from_the_overview(self):
        with rasterio.open(LANDSAT) as src:
            self.assertEqual(src.driver, "FlatPyramid")
            self.assertEqual(src.overviews(1), [2, 4, 8])
            self.assertEqual(src.crs.to_epsg(), 3857)
            got = src.read(window=Window(512, 256, 1024, 512), out_shape=(4, 256, 512),
                           resampling=Resampling.nearest)
            mask = src.dataset_mask(window=Window(0, 0, 256, 256))
        np.testing.assert_array_equal(got, expected_window(LANDSAT, 0, 256, 128, 512, 256))
        np.testing.assert_array_equal(mask, expected_window(LANDSAT, None, 0, 0, 256, 256)[3])


def all_tiles(path):
    """{(z, x, y): stored bytes} of every tile of every level GDAL shows."""
    tiles = {}
    ds = gdal.Open(path)
    for overview in [None] + list(range(ds.GetRasterBand(1).GetOverviewCount())):
        z, col0, row0, width, height = level_of(path, overview)
        for y in range(row0 // TILE, (row0 + height - 1) // TILE + 1):
            for x in range(col0 // TILE, (col0 + width - 1) // TILE + 1):
                out = tmp("bytes.bin")
                if tool("extract_tile", path, z, x, y, f"--output={out}", "--overwrite", check=False).returncode == 0:
                    with open(out, "rb") as f:
                        tiles[(z, x, y)] = f.read()
    return tiles


class CreateCopyTest(unittest.TestCase):

    def assert_same_tiles(self, translated, built):
        tool("verify_pyramid", translated)
        want = all_tiles(built)
        self.assertGreater(len(want), 0)
        self.assertEqual(all_tiles(translated), want)

    def test_landsat_utm_matches_build_pyramid(self):
        out = tmp("translated_landsat.fpyr")
        run("gdal_translate", "-q", "-of", "FlatPyramid", "-co", "BANDS=3,2,1", "-co", "MAX_ZOOM=14",
            "-co", "QUALITY=80", "-co", "RESAMPLING=cubic", f"{DATA}/L7_ETMs.tif", out)
        built = build_pyramid(tmp("built_landsat.fpyr"), f"--input={DATA}/L7_ETMs.tif",
                              "--bands=3,2,1", "--max_zoom=14", "--quality=80", "--resampling=cubic")
        self.assert_same_tiles(out, built)
        self.assertEqual(gdal.Open(out).GetMetadataItem("QUALITY", "CREATION_OPTIONS"), "80")

    def test_dem_matches_build_pyramid(self):
        out = tmp("translated_dem.fpyr")
        run("gdal_translate", "-q", "-of", "FlatPyramid", "-co", "CODEC=elevation",
            "-co", "MAX_ZOOM=13", f"{DATA}/olinda_dem_utm25s.tif", out)
        built = build_pyramid(tmp("built_dem.fpyr"), f"--input={DATA}/olinda_dem_utm25s.tif",
                              "--codec=elevation", "--max_zoom=13")
        self.assert_same_tiles(out, built)

    def test_netcdf_with_a_srs_matches_build_pyramid_with_source_srs(self):
        out = tmp("translated_etopo.fpyr")
        run("gdal_translate", "-q", "-of", "FlatPyramid", "-a_srs", "EPSG:4326",
            f"{DATA}/etopo20.cdf", out)
        built = build_pyramid(tmp("built_etopo.fpyr"), f"--input={DATA}/etopo20.cdf",
                              "--source_srs=EPSG:4326")
        self.assert_same_tiles(out, built)

    def test_in_memory_source_matches_build_pyramid(self):
        mem = gdal.Translate("", f"{DATA}/L7_ETMs.tif", format="MEM", bandList=[3, 2, 1])
        out = tmp("translated_mem.fpyr")
        gdal.GetDriverByName("FlatPyramid").CreateCopy(out, mem, options=["MAX_ZOOM=13"])
        built = build_pyramid(tmp("built_mem.fpyr"), f"--input={DATA}/L7_ETMs.tif",
                              "--bands=3,2,1", "--max_zoom=13")
        self.assert_same_tiles(out, built)
        self.assertFalse(os.path.exists(out + ".source.tif"))

    def test_creation_option_errors_name_the_option(self):
        out = tmp("bad.fpyr")
        for option, message in (
                ("QUALITY=0", f"ERROR 1: FlatPyramid: {out}: -co QUALITY=0 is out of range: use 1..100"),
                ("BLOCKSIZE=300", f"ERROR 1: FlatPyramid: {out}: -co BLOCKSIZE=300 is not supported: use 256 or 512"),
                ("MAX_ZOOM=x", f"ERROR 1: FlatPyramid: {out}: -co MAX_ZOOM=x is invalid: give a whole number")):
            result = run("gdal_translate", "-q", "-of", "FlatPyramid", "-co", option,
                         f"{DATA}/L7_ETMs.tif", out, check=False)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn(message + "\n", result.stderr)
            self.assertFalse(os.path.exists(out))


class BadFileTest(unittest.TestCase):

    def gdalinfo_error(self, path):
        result = run("gdalinfo", path, check=False)
        self.assertEqual(result.returncode, 1, f"gdalinfo {path}: {result.stdout}{result.stderr}")
        lines = [l for l in result.stderr.splitlines() if l.startswith("ERROR")]
        self.assertTrue(lines, result.stderr)
        return lines[0]

    def test_truncated_file_is_an_error_naming_the_file(self):
        for size in (100, 20000, 40000, os.path.getsize(LANDSAT) // 2):
            path = tmp(f"truncated_{size}.fpyr")
            with open(LANDSAT, "rb") as src, open(path, "wb") as dst:
                dst.write(src.read(size))
            line = self.gdalinfo_error(path)
            self.assertRegex(line, rf"^ERROR \d: FlatPyramid: .*{path}.*: .+", line)

    def test_corrupt_header_is_an_error_naming_the_file(self):
        path = tmp("corrupt.fpyr")
        shutil.copyfile(LANDSAT, path)
        with open(path, "r+b") as f:
            for slot in (0, 16384):
                f.seek(slot + 40)
                f.write(b"\xff" * 64)
        self.assertRegex(self.gdalinfo_error(path), rf"^ERROR \d: FlatPyramid: .*{path}")

    def test_unfinished_build_is_refused_with_the_readers_message(self):
        # A copy of the output taken while gdal_translate -of FlatPyramid runs, after a commit
        # point: the progress callback runs on the committer; holding it past the builder's
        # 3 s commit interval makes the next unit commit before the next callback.
        output, snapshot = tmp("unfinished_source.fpyr"), tmp("unfinished.fpyr")
        calls = []

        def progress(fraction, message, data):
            calls.append(fraction)
            if len(calls) == 1:
                time.sleep(3.5)
            elif len(calls) == 2:
                shutil.copyfile(output, snapshot)
            return 1

        gdal.Translate(output, f"{DATA}/L7_ETMs.tif", format="FlatPyramid", callback=progress,
                       creationOptions=["BANDS=3,2,1", "MIN_ZOOM=12", "MAX_ZOOM=14",
                                        "NUM_THREADS=2"])
        self.assertEqual(calls[-1], 1.0)
        self.assertRegex(
            self.gdalinfo_error(snapshot),
            rf"^ERROR 4: FlatPyramid: {snapshot}: an unfinished build \(\d of 9 blocks committed, "
            r"\d+ tiles; no build_pyramid is writing it\): finish it with build_pyramid --resume")

    def test_not_a_pyramid_is_left_to_other_drivers(self):
        path = tmp("not_a_pyramid.fpyr")
        with open(path, "wb") as f:
            f.write(b"FPYRSTO" + b"\0" * 4096)
        self.assertEqual(self.gdalinfo_error(path),
                         f"ERROR 4: `{path}' not recognized as a supported file format.")

    def test_corrupt_tile_is_a_read_error_naming_the_tile(self):
        path = tmp("corrupt_tile.fpyr")
        shutil.copyfile(LANDSAT, path)
        z, col0, row0, _, _ = level_of(LANDSAT)
        x, y = col0 // TILE + 2, row0 // TILE + 2
        out = tmp("to_corrupt.bin")
        tool("extract_tile", LANDSAT, z, x, y, f"--output={out}", "--overwrite")
        with open(out, "rb") as f:
            stored = f.read()
        with open(path, "r+b") as f:
            offset = f.read().find(stored)
            self.assertGreater(offset, 0)
            f.seek(offset + len(stored) // 4)
            f.write(b"\x00\xff" * (len(stored) // 4))
        result = run("gdal_translate", "-q", path, tmp("from_corrupt.tif"), check=False)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertRegex(result.stderr, rf"ERROR 1: FlatPyramid: .*tile {z}/{x}/{y}")


if __name__ == "__main__":
    unittest.main()
