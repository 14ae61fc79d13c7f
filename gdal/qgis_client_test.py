"""qgis_client_test: QGIS (Debian's python3-qgis, headless) shows .fpyr files through the plugin.

QGIS finds the plugin as every GDAL client does: here through GDAL_DRIVER_PATH, after
`./bazelw run //gdal:install` in GDAL's plugin directory with no variable. The layers are
QgsRasterLayers of QGIS's own "gdal" provider, rendered by QGIS's map renderer.

Oracles, never QGIS's or the driver's own code: flatpyramid's read_region tool (ReadRegion,
nearest, on the grid of the rendered map), Reader::Sample through the flatpyramid Python module
and GDAL's gdallocationinfo. The Python module runs in a child process: one process cannot hold
the module and the plugin (each carries the pyramid library; the plugin refuses to load then).
"""

import json
import math
import os
import random
import re
import subprocess
import sys
import unittest

import numpy as np

from gdal.testing.client_support import plugin_environment
from testing.image_compare import psnr

RUNFILES = os.path.join(os.environ["TEST_SRCDIR"], "flatpyramid")
DATA = os.path.join(RUNFILES, "testing", "data")
TMP = os.environ["TEST_TMPDIR"]
HALF = 20037508.342789244  # Half the Web Mercator square, metres.
TILE = 256

# Before QGIS loads GDAL (which reads GDAL_DRIVER_PATH then); QGIS's profile and Qt's runtime
# directory in the test's own directory, so that no user setting changes a default renderer.
ENV = plugin_environment(RUNFILES, TMP)
os.makedirs(os.path.join(TMP, "xdg_runtime"), mode=0o700, exist_ok=True)
ENV.update(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=os.path.join(TMP, "xdg_runtime"),
           QGIS_CUSTOM_CONFIG_PATH=os.path.join(TMP, "qgis_profile"))
os.environ.update(ENV)

from osgeo import gdal  # noqa: E402 (after the environment GDAL reads when it loads)
from qgis.core import (Qgis, QgsApplication, QgsContrastEnhancement,  # noqa: E402
                       QgsCoordinateReferenceSystem,
                       QgsMapRendererParallelJob, QgsMapSettings, QgsPointXY, QgsProject, QgsRaster,
                       QgsRasterBandStats, QgsRasterLayer, QgsRectangle, QgsSingleBandGrayRenderer)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor, QImage  # noqa: E402

gdal.UseExceptions()


def run(*command):
    result = subprocess.run([str(c) for c in command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, command))} failed ({result.returncode}): "
                             f"{result.stderr}")
    return result.stdout


def tool(name, *args):
    return run(os.path.join(RUNFILES, "tools", name), *args)


# The child process that answers through flatpyramid.Pyramid: the finest level's tile range
# and Reader::Sample (nearest) of every band but alpha at points in the pyramid's CRS.
_ORACLE = """
import json, sys
import flatpyramid
request = json.load(sys.stdin)
with flatpyramid.open(request["path"]) as pyramid:
    tiles = pyramid.tiles(pyramid.max_zoom)
    samples = [pyramid.sample(request["xs"], request["ys"], crs=pyramid.crs, method="nearest",
                              band=band).tolist()
               for band in range(pyramid.bands - (1 if pyramid.has_alpha else 0))]
    json.dump({"max_zoom": pyramid.max_zoom, "tile_matrix_set": pyramid.tile_matrix_set,
               "tiles": [int(tiles[:, 0].min()), int(tiles[:, 1].min()),
                         int(tiles[:, 0].max()), int(tiles[:, 1].max())],
               "samples": samples}, sys.stdout)
"""


def oracle(path, xs=(), ys=()):
    env = dict(ENV, PYTHONPATH=os.path.join(RUNFILES, "python"))
    result = subprocess.run([sys.executable, "-c", _ORACLE], input=json.dumps(
        {"path": path, "xs": list(xs), "ys": list(ys)}), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env)
    if result.returncode != 0:
        raise AssertionError(f"flatpyramid oracle on {path}: {result.stderr}")
    return json.loads(result.stdout)


def finest_tile_extent(answer):
    """(xmin, ymin, xmax, ymax) of the finest level's tiles: the layer's expected extent."""
    z, (x0, y0, x1, y1) = answer["max_zoom"], answer["tiles"]
    if answer["tile_matrix_set"] == "WebMercatorQuad":
        span, left, top = 2 * HALF / (1 << z), -HALF, HALF
    else:  # WorldCRS84Quad: 2^(z+1) x 2^z tiles of 180 / 2^z degrees.
        span, left, top = 180.0 / (1 << z), -180.0, 90.0
    return (left + x0 * span, top - (y1 + 1) * span, left + (x1 + 1) * span, top - y0 * span)


def read_region(path, bbox, crs, width, height, *flags):
    """read_region of `bbox` (in `crs`) at width x height, nearest: (bands, height, width)."""
    out = os.path.join(TMP, "region.tif")
    tool("read_region", path, "--bbox=" + ",".join(repr(v) for v in bbox), f"--bbox_srs={crs}",
         f"--size={width},{height}", "--resampling=nearest", "--overwrite", f"--output={out}",
         *flags)
    pixels = gdal.Open(out).ReadAsArray()
    return pixels if pixels.ndim == 3 else pixels[np.newaxis]


def start_render(layer, extent, width, height, crs=None):
    """Starts QGIS's parallel map renderer on `layer` alone over `extent` at width x height,
    in the layer's CRS or `crs` (an authority code: QGIS reprojects on the fly)."""
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem(crs) if crs else layer.crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(width, height))
    settings.setBackgroundColor(QColor(0, 0, 0, 0))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    return job, settings


def finish_render(job, settings):
    """The rendered map as a (4, height, width) RGBA array (straight alpha) and the extent
    QGIS drew (the requested one widened to the image's aspect ratio)."""
    job.waitForFinished()
    size = settings.outputSize()
    image = job.renderedImage().convertToFormat(QImage.Format_RGBA8888)
    bits = image.constBits()
    bits.setsize(image.sizeInBytes())
    rows = np.frombuffer(bits, np.uint8).reshape(size.height(), image.bytesPerLine() // 4, 4)
    v = settings.visibleExtent()
    return (np.moveaxis(rows[:, :size.width()], -1, 0).copy(),
            (v.xMinimum(), v.yMinimum(), v.xMaximum(), v.yMaximum()))


def assert_same_picture(got, want):
    """RGBA `got` (a QGIS render) shows `want` (RGBA): the same alpha everywhere, the same
    colours where opaque, and where partly transparent the colours within what QImage's
    premultiplied storage keeps of them (255 / alpha levels)."""
    np.testing.assert_array_equal(got[3], want[3])
    opaque, partial = want[3] == 255, (want[3] > 0) & (want[3] < 255)
    np.testing.assert_array_equal(got[:3, opaque], want[:3, opaque])
    difference = np.abs(got[:3, partial].astype(np.int64) - want[:3, partial])
    assert (difference <= np.ceil(255.0 / want[3, partial])).all(), difference.max()


def render(layer, extent, width, height, crs=None):
    return finish_render(*start_render(layer, extent, width, height, crs))


def rectangle(bbox):
    return QgsRectangle(*bbox)


def pixel_centres(layer, count, seed):
    """`count` random pixel centres of the layer's full-resolution grid."""
    e, rng = layer.extent(), random.Random(seed)
    res_x, res_y = e.width() / layer.width(), e.height() / layer.height()
    points = [(rng.randrange(layer.width()), rng.randrange(layer.height())) for _ in range(count)]
    return ([e.xMinimum() + (i + 0.5) * res_x for i, _ in points],
            [e.yMaximum() - (j + 0.5) * res_y for _, j in points])


def gdallocationinfo(path, xs, ys, bands):
    """gdallocationinfo's values at the points (in the dataset's CRS), `bands` per point."""
    result = subprocess.run(["gdallocationinfo", "-valonly", "-geoloc", path],
                            input="".join(f"{x!r} {y!r}\n" for x, y in zip(xs, ys)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    if result.returncode != 0:
        raise AssertionError(f"gdallocationinfo {path}: {result.stderr}")
    values = result.stdout.split()
    assert len(values) == bands * len(xs), result.stdout
    return [values[i:i + bands] for i in range(0, len(values), bands)]


def setUpModule():
    global APP, LANDSAT, DEM
    LANDSAT = os.path.join(TMP, "landsat.fpyr")
    tool("build_pyramid", f"--input={DATA}/L7_ETMs.tif", "--bands=3,2,1", "--max_zoom=14",
         f"--output={LANDSAT}", "--quiet", "--overwrite")
    DEM = os.path.join(TMP, "dem_crs84.fpyr")
    tool("build_pyramid", f"--input={DATA}/olinda_dem_utm25s.tif", "--tms=WorldCRS84Quad",
         "--max_zoom=12", f"--output={DEM}", "--quiet", "--overwrite")
    QgsApplication.setPrefixPath("/usr", True)
    APP = QgsApplication([], False)
    APP.initQgis()


def tearDownModule():
    APP.exitQgis()


# QGIS's Python console: a .fpyr layer is shown, then the user imports flatpyramid.
_CONSOLE = """
import sys
from qgis.core import QgsApplication, QgsPointXY, QgsRaster, QgsRasterLayer
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
layer = QgsRasterLayer(sys.argv[1], "layer", "gdal")
layer.dataProvider().identify(layer.extent().center(), QgsRaster.IdentifyFormatValue)
try:
    import flatpyramid
    print("imported")
except ImportError as e:
    print(e)
del layer
app.exitQgis()
"""


class QgisProcessTest(unittest.TestCase):

    def test_importing_flatpyramid_beside_a_shown_layer_is_an_import_error(self):
        # Loading the module's copy of the pyramid library after the driver's would abort
        # QGIS (protobuf descriptors registered twice); the package refuses to load instead.
        env = dict(os.environ, PYTHONPATH=os.path.join(RUNFILES, "python"))
        result = subprocess.run([sys.executable, "-c", _CONSOLE, LANDSAT], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("flatpyramid: this process has already opened a pyramid through the "
                      "FlatPyramid GDAL driver", result.stdout)


class ReadmeTest(unittest.TestCase):

    def test_the_readmes_pyqgis_example_adds_a_valid_layer(self):
        readme = open(os.path.join(RUNFILES, "README.md"), encoding="utf-8").read()
        section = readme.split("## Use it from GDAL, QGIS and rasterio", 1)[1].split("\n## ", 1)[0]
        self.assertIn("./bazelw run //gdal:install", section)
        example = re.search(r"```python\n(layer = QgsRasterLayer.*?)```", section, re.S).group(1)
        scope = {"QgsRasterLayer": QgsRasterLayer, "QgsProject": QgsProject}
        exec(example.replace("/data/scene.fpyr", LANDSAT), scope)
        try:
            self.assertTrue(scope["layer"].isValid())
            self.assertEqual(QgsProject.instance().mapLayers(), {scope["layer"].id(): scope["layer"]})
        finally:
            QgsProject.instance().removeAllMapLayers()


class LayerAssertions:
    """What every .fpyr layer shows, checked against the flatpyramid oracle."""

    def assert_layer_grid(self, layer, answer, crs, bands):
        self.assertTrue(layer.isValid())
        self.assertEqual(layer.providerType(), "gdal")
        self.assertIn("FlatPyramid", layer.dataProvider().htmlMetadata())
        self.assertEqual(layer.crs().authid(), crs)
        xmin, ymin, xmax, ymax = finest_tile_extent(answer)
        e = layer.extent()
        for got, want in zip((e.xMinimum(), e.yMinimum(), e.xMaximum(), e.yMaximum()),
                             (xmin, ymin, xmax, ymax)):
            self.assertAlmostEqual(got, want, delta=1e-9 * max(1.0, abs(want)))
        x0, y0, x1, y1 = answer["tiles"]
        self.assertEqual((layer.width(), layer.height()),
                         ((x1 - x0 + 1) * TILE, (y1 - y0 + 1) * TILE))
        self.assertEqual(layer.bandCount(), bands)

    def assert_pyramids_are_the_coarser_levels(self, layer):
        """QGIS lists every coarser level GDAL shows (down to one tile) as an existing pyramid."""
        provider = layer.dataProvider()
        self.assertTrue(provider.hasPyramids())
        want, width, height = [], layer.width(), layer.height()
        while width > TILE or height > TILE:
            width, height = (width + 1) // 2, (height + 1) // 2
            want.append((2 ** (len(want) + 1), width, height))
        existing = [(p.getLevel(), p.getXDim(), p.getYDim())
                    for p in provider.buildPyramidList() if p.getExists()]
        self.assertEqual(existing, want)


class LandsatLayerTest(unittest.TestCase, LayerAssertions):
    """An RGB + alpha WebMercatorQuad pyramid (JPEG inside the data, PNG with alpha at its edge)."""

    @classmethod
    def setUpClass(cls):
        cls.layer = QgsRasterLayer(LANDSAT, "landsat", "gdal")
        cls.answer = oracle(LANDSAT)

    @classmethod
    def tearDownClass(cls):
        del cls.layer  # Before QGIS exits: a layer outliving exitQgis() crashes at exit.

    def test_opens_with_the_crs_extent_size_and_bands_of_the_finest_level(self):
        self.assert_layer_grid(self.layer, self.answer, "EPSG:3857", 4)
        self.assertEqual((self.layer.width(), self.layer.height()), (1536, 1536))

    def test_alpha_band_is_the_default_renderers_transparency_with_no_stretch(self):
        provider = self.layer.dataProvider()
        self.assertEqual([provider.colorInterpretationName(b) for b in range(1, 5)],
                         ["Red", "Green", "Blue", "Alpha"])
        self.assertEqual([provider.sourceHasNoDataValue(b) for b in range(1, 5)], [False] * 4)
        self.assertEqual([provider.dataType(b) for b in range(1, 5)], [Qgis.Byte] * 4)
        renderer = self.layer.renderer()
        self.assertEqual(renderer.type(), "multibandcolor")
        self.assertEqual((renderer.redBand(), renderer.greenBand(), renderer.blueBand()), (1, 2, 3))
        self.assertEqual(renderer.alphaBand(), 4)
        for stretch in (renderer.redContrastEnhancement(), renderer.greenContrastEnhancement(),
                        renderer.blueContrastEnhancement()):  # Bytes shown as stored.
            self.assertEqual(stretch.contrastEnhancementAlgorithm(),
                             QgsContrastEnhancement.NoEnhancement)

    def test_pyramid_list_is_the_overviews(self):
        self.assert_pyramids_are_the_coarser_levels(self.layer)

    def test_identify_equals_sample_and_gdallocationinfo(self):
        xs, ys = pixel_centres(self.layer, 40, seed=3)
        samples = oracle(LANDSAT, xs, ys)["samples"]
        located = gdallocationinfo(LANDSAT, xs, ys, 4)
        opaque = transparent = 0
        for i, (x, y) in enumerate(zip(xs, ys)):
            result = self.layer.dataProvider().identify(QgsPointXY(x, y),
                                                        QgsRaster.IdentifyFormatValue)
            self.assertTrue(result.isValid())
            got = [result.results()[b] for b in range(1, 5)]
            self.assertEqual(got, [float(v) for v in located[i]], (x, y))
            if got[3] == 255:
                opaque += 1
                # Sample reads the finest level holding data: this one, where it is opaque.
                self.assertEqual(got[:3], [samples[b][i] for b in range(3)], (x, y))
            else:
                self.assertEqual(got, [0.0] * 4, (x, y))
                transparent += 1
        self.assertGreater(opaque, 10)
        self.assertGreater(transparent, 5)

    def test_render_at_an_overviews_resolution_is_that_level_exactly(self):
        # The whole layer at half size is zoom 13: QGIS reads it from the overview, not by
        # decimating zoom 14 (which differs: the overview averages four pixels).
        got, drawn = render(self.layer, self.layer.extent(), 768, 768)
        assert_same_picture(got, read_region(LANDSAT, drawn, "EPSG:3857", 768, 768, "--zoom=13"))
        decimated = read_region(LANDSAT, drawn, "EPSG:3857", 768, 768, "--zoom=14")
        opaque = got[3] == 255
        differs = (got[:3] != decimated[:3]).any(axis=0) & opaque
        self.assertGreater(differs.sum() / opaque.sum(), 0.5)
        self.assertGreater((got[3] == 0).mean(), 0.3)  # The corners outside the scene.

    def test_render_at_full_resolution_is_the_finest_level_exactly(self):
        # A quarter pixel off the level's grid: on it, QGIS's window arithmetic rounds edges
        # either way and repeats a column now and then (its resampling, not the data's).
        e, res = self.layer.extent(), self.layer.extent().width() / self.layer.width()
        bbox = (e.xMinimum() + 100.25 * res, e.yMinimum() + 200.25 * res,
                e.xMinimum() + 700.25 * res, e.yMinimum() + 600.25 * res)
        got, drawn = render(self.layer, rectangle(bbox), 600, 400)
        assert_same_picture(got, read_region(LANDSAT, drawn, "EPSG:3857", 600, 400))
        self.assertGreater((got[3] == 255).mean(), 0.5)

    def test_render_past_the_edge_is_transparent_there_and_close_to_read_region(self):
        e = self.layer.extent()
        bbox = (e.xMinimum() - 3000, e.yMinimum() + 100, e.xMaximum() + 3000, e.yMaximum() - 100)
        got, drawn = render(self.layer, rectangle(bbox), 640, 480)
        want = read_region(LANDSAT, drawn, "EPSG:3857", 640, 480)
        # Outside the layer's extent: nothing drawn.
        outside = (np.arange(640) + 0.5) * (drawn[2] - drawn[0]) / 640 + drawn[0] < e.xMinimum()
        self.assertTrue(outside.any())
        self.assertTrue((got[3][:, outside] == 0).all())
        # At 3.4 level-14 pixels per map pixel QGIS reads zoom 13 with GDAL's nearest and
        # resamples that again with its own; ReadRegion samples zoom 13 once. Pixel centres
        # differ by up to a pixel: 30 dB where both are opaque, the
        # transparency the same but for the edge's pixels.
        opaque = (got[3] == 255) & (want[3] == 255)
        self.assertGreater(opaque.mean(), 0.25)
        self.assertGreater(psnr(got[:3, opaque], want[:3, opaque]), 30.0)
        self.assertGreater(((got[3] == 0) == (want[3] == 0)).mean(), 0.99)

    def test_render_reprojected_on_the_fly_is_close_to_read_region(self):
        # QGIS warps with its approximate projector and nearest resampling; ReadRegion warps
        # with GDAL's exact transform: 30 dB (measured values in testing/bench/RESULTS.md), the
        # same transparency.
        for crs, bbox in (("EPSG:4326", (-34.90, -8.03, -34.84, -7.97)),
                          ("EPSG:31985", (289000, 9111000, 298000, 9120000))):
            got, drawn = render(self.layer, rectangle(bbox), 512, 512, crs)
            want = read_region(LANDSAT, drawn, crs, 512, 512)
            opaque = (got[3] == 255) & (want[3] == 255)
            self.assertGreater(opaque.mean(), 0.9, crs)
            self.assertGreater(psnr(got[:3, opaque], want[:3, opaque]), 30.0, crs)
            self.assertGreater(((got[3] == 0) == (want[3] == 0)).mean(), 0.99, crs)

    def test_concurrent_renders_of_the_same_file_equal_one_at_a_time(self):
        # Three layers (three GDAL datasets of one file) render on QGIS's worker threads at once.
        e, res = self.layer.extent(), self.layer.extent().width() / self.layer.width()
        views = [(rectangle((e.xMinimum() + i * 256 * res, e.yMinimum() + i * 200 * res,
                             e.xMinimum() + (i * 256 + 900) * res,
                             e.yMinimum() + (i * 200 + 900) * res)), 450, 450)
                 for i in range(3)]
        layers = [QgsRasterLayer(LANDSAT, f"landsat {i}", "gdal") for i in range(3)]
        jobs = [start_render(layer, *view) for layer, view in zip(layers, views)]
        together = [finish_render(*job)[0] for job in jobs]
        for layer, view, got in zip(layers, views, together):
            np.testing.assert_array_equal(got, render(layer, *view)[0])


class ElevationLayerTest(unittest.TestCase, LayerAssertions):
    """A float32 WorldCRS84Quad elevation pyramid with NaN nodata, in a single-band renderer."""

    MIN, MAX = 0.0, 90.0  # The gray stretch the tests set: metres to 0..255.

    @classmethod
    def setUpClass(cls):
        cls.layer = QgsRasterLayer(DEM, "dem", "gdal")
        cls.answer = oracle(DEM)
        provider = cls.layer.dataProvider()
        renderer = QgsSingleBandGrayRenderer(provider, 1)
        stretch = QgsContrastEnhancement(provider.dataType(1))
        stretch.setContrastEnhancementAlgorithm(QgsContrastEnhancement.StretchToMinimumMaximum)
        stretch.setMinimumValue(cls.MIN)
        stretch.setMaximumValue(cls.MAX)
        renderer.setContrastEnhancement(stretch)
        cls.layer.setRenderer(renderer)

    @classmethod
    def tearDownClass(cls):
        del cls.layer

    def gray(self, metres):
        """QGIS's linear stretch of `metres` to a gray level (it truncates)."""
        return np.floor(np.clip((metres - self.MIN) * 255.0 / (self.MAX - self.MIN), 0, 255))

    def test_opens_in_crs84_as_float32_with_nan_nodata(self):
        self.assert_layer_grid(self.layer, self.answer, "EPSG:4326", 1)
        provider = self.layer.dataProvider()
        self.assertEqual(provider.dataType(1), Qgis.Float32)
        self.assertTrue(provider.sourceHasNoDataValue(1))
        self.assertTrue(math.isnan(provider.sourceNoDataValue(1)))

    def test_pyramid_list_is_the_overviews(self):
        self.assert_pyramids_are_the_coarser_levels(self.layer)

    def test_identify_equals_sample_and_is_empty_at_nodata(self):
        xs, ys = pixel_centres(self.layer, 40, seed=5)
        samples = oracle(DEM, xs, ys)["samples"][0]
        valid = 0
        for x, y, sample, [located] in zip(xs, ys, samples, gdallocationinfo(DEM, xs, ys, 1)):
            result = self.layer.dataProvider().identify(QgsPointXY(x, y),
                                                        QgsRaster.IdentifyFormatValue)
            got = result.results()[1]
            if got is None:
                self.assertEqual(located, "nan", (x, y))
                continue
            valid += 1
            self.assertEqual(got, sample, (x, y))  # Both the float32 sample, exactly.
            self.assertAlmostEqual(got, float(located), delta=1e-9 * max(1.0, abs(got)))
        self.assertGreater(valid, 10)
        self.assertLess(valid, 40)

    def test_band_statistics_are_those_of_the_levels_valid_pixels(self):
        level = read_region(DEM, finest_tile_extent(self.answer), "EPSG:4326",
                            self.layer.width(), self.layer.height())[0].astype(np.float64)
        valid = level[~np.isnan(level)]
        stats = self.layer.dataProvider().bandStatistics(1, QgsRasterBandStats.All,
                                                         QgsRectangle(), 0)
        self.assertEqual(stats.elementCount, valid.size)
        self.assertEqual(stats.minimumValue, valid.min())
        self.assertEqual(stats.maximumValue, valid.max())
        self.assertAlmostEqual(stats.mean, valid.mean(), delta=1e-6)
        self.assertAlmostEqual(stats.stdDev, valid.std(), delta=1e-3)

    def test_gray_render_at_an_overviews_resolution_is_the_stretched_level(self):
        got, drawn = render(self.layer, self.layer.extent(), 384, 384)
        metres = read_region(DEM, drawn, "EPSG:4326", 384, 384, "--zoom=11")[0]
        valid = ~np.isnan(metres)
        np.testing.assert_array_equal(got[3], np.where(valid, 255, 0))
        self.assertTrue((got[0] == got[1]).all() and (got[1] == got[2]).all())
        # float32 to double in QGIS vs here: a value on a gray step may land one below it.
        difference = got[0][valid].astype(np.int64) - self.gray(metres[valid])
        self.assertTrue(np.isin(difference, (-1, 0)).all())
        self.assertLess(np.count_nonzero(difference), 10)

    def test_gray_render_of_any_extent_is_close_to_read_region(self):
        got, drawn = render(self.layer, rectangle((-34.93, -8.03, -34.82, -7.95)), 500, 400)
        metres = read_region(DEM, drawn, "EPSG:4326", 500, 400)[0]
        valid = ~np.isnan(metres)
        # QGIS resamples twice (see the Landsat test): 30 dB of the gray levels where both
        # hold data, and the nodata the same but for pixels at its border.
        both = valid & (got[3] == 255)
        self.assertGreater(both.mean(), 0.4)
        self.assertGreater(psnr(got[0][both], self.gray(metres[both])), 30.0)
        self.assertGreater(((got[3] == 255) == valid).mean(), 0.99)


if __name__ == "__main__":
    unittest.main()
