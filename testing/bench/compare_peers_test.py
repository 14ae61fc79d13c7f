#!/usr/bin/python3
"""compare_peers_test: the whole harness on the tiny input (0.5 MP, zoom 0..2), in seconds.

Checks what the report promises: every peer built, every output read back at the base zoom
with a sane PSNR against the gdalwarp reference, every read benchmark measured, and the
flatpyramid rows either measured or loudly marked as not built (exit status 2).
"""

import importlib.util
import os
import re
import subprocess
import sys
import unittest

TMP = os.environ.get("TEST_TMPDIR", "/tmp")
HARNESS = "testing/bench/compare_peers.py"
TILE_QUALITY = "testing/bench/tile_quality"


def harness(*flags):
    report = os.path.join(TMP, "report.md")
    if os.path.exists(report):
        os.remove(report)
    result = subprocess.run(
        [HARNESS, "--size=tiny", "--runs=1", f"--work_dir={TMP}/work", f"--report={report}",
         "--quality_samples=8", "--read_min_time=0.01"] + list(flags),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    text = open(report).read() if os.path.exists(report) else ""
    return result, text


def build_rows(report):
    """{description prefix: [cells]} of the build table."""
    rows = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 11 and cells[1].startswith("EPSG"):
            rows[cells[0].split(" ")[0]] = cells
    return rows


class ComparePeersTest(unittest.TestCase):

    def test_a_run_replaces_its_size_and_keeps_the_other_sections(self):
        spec = importlib.util.spec_from_file_location("compare_peers", HARNESS)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        path = os.path.join(TMP, "keep.md")
        with open(path, "w") as f:
            f.write(module.REPORT_HEADER + module.SECTION_PREFIX + "small input\n\nold small\n\n" +
                    module.SECTION_PREFIX + "medium input\n\nold medium\n\n"
                    "## pyramid reader_benchmark\n\nby hand\n")
        module.write_report(path, "small", module.SECTION_PREFIX + "small input\n\nnew small\n")
        self.assertEqual(
            open(path).read(),
            module.REPORT_HEADER + module.SECTION_PREFIX + "small input\n\nnew small\n\n" +
            module.SECTION_PREFIX + "medium input\n\nold medium\n\n"
            "## pyramid reader_benchmark\n\nby hand\n")
    @classmethod
    def setUpClass(cls):
        cls.result, cls.report = harness("--peers_only")

    def test_peers_only_run_succeeds_and_writes_the_report(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr[-3000:])
        self.assertIn("## flatpyramid vs peers: tiny input", self.report)
        self.assertIn("all zoom levels 0..2 of WebMercatorQuad (1.4 output MP)", self.report)
        self.assertIn("- CPU: ", self.report)
        self.assertIn("| flatpyramid build_pyramid | EPSG:4326 | not run (--peers_only) |",
                      self.report)

    def test_every_peer_builds_a_nonempty_pyramid_close_to_the_gdalwarp_reference(self):
        rows = build_rows(self.report)
        self.assertEqual(sorted(rows), ["GDAL", "flatpyramid", "gdal2tiles.py", "gdal_translate",
                                        "vips"])
        # JPEG q85 of smooth relief after the same bilinear warp: well above 30 dB; gdal2tiles
        # writes lossless PNG but resamples its base tiles differently (average of a 4x query).
        minimum_psnr = {"GDAL": 32, "gdal2tiles.py": 25, "gdal_translate": 30, "vips": 30}
        for name, floor in minimum_psnr.items():
            cells = rows[name]
            self.assertGreater(float(cells[2]), 0, name)     # wall seconds
            self.assertGreater(float(cells[4]), 0.1, name)   # cores busy
            self.assertGreater(float(cells[5]), 1, name)     # peak RSS MiB
            self.assertGreater(float(cells[6]), 0.01, name)  # output MiB
            self.assertGreaterEqual(float(cells[7]), floor, name)
            self.assertLess(float(cells[7]), 60, name)

    def test_every_read_benchmark_reports_a_time(self):
        names = re.findall(r"^\| (BM_\w+/(?:warm|cold)) \| ([\d.]+) \|", self.report, re.M)
        measured = {name for name, micros in names if float(micros) > 0}
        for benchmark in ("BM_CogTileDecoded", "BM_CogWindow1024", "BM_CogWindow1024AllCores",
                          "BM_MbtilesTileBytes",
                          "BM_MbtilesTileDecoded", "BM_XyzDirTileBytes"):
            for cache in ("warm", "cold"):
                self.assertIn(f"{benchmark}/{cache}", measured)

    def test_read_numbers_of_an_unoptimised_build_carry_a_warning(self):
        optimised = "-opt/" in os.path.realpath("testing/bench/read_benchmark")
        warned = "WARNING: read_benchmark was not built with --config=opt" in self.report
        self.assertEqual(warned, not optimised)

    def test_without_peers_only_flatpyramid_is_measured_or_the_run_fails_loudly(self):
        result, report = harness("--skip_read")
        if os.path.exists("tools/build_pyramid"):
            self.assertEqual(result.returncode, 0, result.stderr[-3000:])
            self.assertGreaterEqual(float(build_rows(report)["flatpyramid"][7]), 30)
        else:
            self.assertEqual(result.returncode, 2, result.stderr[-3000:])
            self.assertIn("NOT BUILT YET", report)
            self.assertIn("NOT BUILT YET", result.stderr)

    def test_a_failing_build_is_reported_in_its_row_and_the_run_exits_1(self):
        # One round builds flatpyramid after each of the 4 peers.
        result, report = harness("--skip_read", "--build_pyramid=/bin/false")
        self.assertEqual(result.returncode, 1, result.stderr[-3000:])
        rows = build_rows(report)
        self.assertEqual(rows["flatpyramid"][2], "BUILD FAILED: exit status 1")
        self.assertEqual(rows["GDAL"][8], "flatpyramid BUILD FAILED")
        self.assertGreaterEqual(float(rows["GDAL"][7]), 32)  # The peers are still measured.
        self.assertIn("**flatpyramid: 4 of 4 builds FAILED** (medians are over the rest): "
                      "exit status 1", report)

    def test_tile_quality_fails_naming_the_tile_when_tiles_are_missing(self):
        vips = os.path.join(TMP, "work/outputs/tiny/vips")
        reference = [os.path.join(root, f) for root, _, files in os.walk(f"{TMP}/work/inputs")
                     for f in files if f == "relief_4326.tif"][0]
        result = subprocess.run(
            [TILE_QUALITY, f"--reference={reference}", "--kind=dir", f"--path={vips}",
             "--template={z}/{x}/{y}.png", "--zoom=2", "--samples=1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"tile_quality: NOT_FOUND: dir .*vips: tile 2/\d/\d: "
                                        r"open .*\.png: No such file or directory")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
