"""flatpyramid.build against //tools:build_pyramid, with progress, interrupts and errors."""

import os
import signal

import pytest

import flatpyramid
from python.testing import support


def stored_tiles(path):
    """{(z, x, y): stored bytes} of every tile of a pyramid."""
    with flatpyramid.open(path) as pyramid:
        return {
            (z, int(x), int(y)): bytes(pyramid.tile_bytes(z, int(x), int(y)))
            for z in range(pyramid.min_zoom, pyramid.max_zoom + 1)
            for x, y in pyramid.tiles(z)
        }


# Four blocks of tiles in WebMercatorQuad: room to stop after the first.
ETOPO = dict(source_srs="EPSG:4326")


@pytest.mark.parametrize(
    "source,options",
    [
        (
            "L7_ETMs.tif",
            dict(bands=[3, 2, 1], max_zoom=14, resampling="cubic", quality=90, tile_size=512),
        ),
        (
            "etopo20.cdf",
            dict(ETOPO, tile_matrix_set="WorldCRS84Quad", overview_resampling="nearest", max_zoom=4),
        ),
        ("elev.tif", dict(resampling="nearest", max_zoom=11, nodata=-32768, allow_large_build=True)),
    ],
)
def test_build_writes_the_tiles_build_pyramid_writes(tmp_path, source, options):
    ours, theirs = str(tmp_path / "ours.fpyr"), str(tmp_path / "theirs.fpyr")
    result = flatpyramid.build(support.data(source), ours, threads=2, **options)
    flags = {("tms" if k == "tile_matrix_set" else k): v for k, v in options.items()}
    flags = {k: str(v).lower() if isinstance(v, bool) else v for k, v in flags.items()}
    support.tool_build([support.data(source)], theirs, threads=2, **flags)
    expected = stored_tiles(theirs)
    assert len(expected) > 10
    assert stored_tiles(ours) == expected
    assert result["tiles_written"] == len(expected)
    assert result["output"] == ours
    with flatpyramid.open(ours) as a, flatpyramid.open(theirs) as b:
        assert a.info["levels"] == b.info["levels"]
        for key in ("codec", "pixel_type", "band_count", "resampling", "overview_resampling"):
            assert a.info["metadata"][key] == b.info["metadata"][key]


def test_progress_is_called_with_growing_fractions_ending_at_one(tmp_path):
    calls = []
    flatpyramid.build(
        support.data("etopo20.cdf"),
        tmp_path / "etopo.fpyr",
        progress=lambda fraction, message: calls.append((fraction, message)),
        **ETOPO,
    )
    fractions = [fraction for fraction, _ in calls]
    assert fractions == [0.25, 0.5, 0.75, 1.0, 1.0]  # Four blocks, then the finished build.
    assert calls[0][1].startswith("1 of 4 blocks, ")


def interrupt_then_resume(tmp_path, progress):
    """Builds etopo20 stopped by `progress`, checks what is left, resumes it."""
    output = tmp_path / "etopo.fpyr"
    with pytest.raises(KeyboardInterrupt):
        flatpyramid.build(
            support.data("etopo20.cdf"), output, progress=progress, commit_seconds=0, **ETOPO
        )
    with pytest.raises(OSError, match="resume"):
        flatpyramid.open(output)
    flatpyramid.build(support.data("etopo20.cdf"), output, resume=True, **ETOPO)
    clean = tmp_path / "clean.fpyr"
    flatpyramid.build(support.data("etopo20.cdf"), clean, **ETOPO)
    assert stored_tiles(output) == stored_tiles(clean)


def test_keyboard_interrupt_in_progress_stops_at_a_commit_point_and_resume_finishes(tmp_path):
    def progress(fraction, message):
        raise KeyboardInterrupt

    interrupt_then_resume(tmp_path, progress)


def test_sigint_during_the_build_stops_it_resumably(tmp_path):
    def progress(fraction, message):
        os.kill(os.getpid(), signal.SIGINT)

    interrupt_then_resume(tmp_path, progress)


def test_other_exceptions_from_progress_stop_the_build_and_propagate(tmp_path):
    def progress(fraction, message):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        flatpyramid.build(support.data("etopo20.cdf"), tmp_path / "e.fpyr", progress=progress, **ETOPO)


def test_build_errors(tmp_path):
    output = tmp_path / "out.fpyr"
    with pytest.raises(FileNotFoundError, match="missing.tif"):
        flatpyramid.build(str(tmp_path / "missing.tif"), output)
    with pytest.raises(ValueError, match="tile_size"):
        flatpyramid.build(support.data("elev.tif"), output, tile_size=300)
    with pytest.raises(ValueError, match="quality"):
        flatpyramid.build(support.data("elev.tif"), output, codec="png", quality=0)
    with pytest.raises(TypeError, match="tiles_size"):
        flatpyramid.build(support.data("elev.tif"), output, tiles_size=256)
    with pytest.raises(TypeError, match="max_zoom"):
        flatpyramid.build(support.data("elev.tif"), output, max_zoom="twelve")
    with pytest.raises(TypeError, match="progress"):
        flatpyramid.build(support.data("elev.tif"), output, progress=42)
    with pytest.raises(OSError, match="set allow_large_build to build it"):
        flatpyramid.build(support.data("elev.tif"), output, max_zoom=11)
    flatpyramid.build(support.data("elev.tif"), output)
    with pytest.raises(FileExistsError, match="out.fpyr"):
        flatpyramid.build(support.data("elev.tif"), output)
    flatpyramid.build([support.data("elev.tif")], output, overwrite=True)


if __name__ == "__main__":
    support.main(__file__)
