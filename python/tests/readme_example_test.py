"""The Python example of the top-level README.md runs and writes the PNG it promises."""

import os
import re

import numpy
from PIL import Image

from python.testing import support


def readme_example():
    """The first ```python block of README.md's "## Python" section."""
    readme = open(support.runfile("README.md"), encoding="utf-8").read()
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_plots_a_window_into_a_png(tmp_path, capsys):
    # The example runs from the repository's root: give it testing/data there.
    os.makedirs(tmp_path / "testing")
    os.symlink(support.runfile("testing/data"), tmp_path / "testing" / "data")
    os.chdir(tmp_path)
    exec(compile(readme_example(), "README.md", "exec"), {})
    assert capsys.readouterr().out == "(900, 800, 4) uint8\n"
    with Image.open(tmp_path / "window.png") as png:
        assert png.format == "PNG" and png.size == (640, 480)  # matplotlib's default figure.
        pixels = numpy.asarray(png.convert("RGB"))
    # The image is drawn, not a blank figure: many distinct colours.
    assert len(numpy.unique(pixels.reshape(-1, 3), axis=0)) > 1000


if __name__ == "__main__":
    support.main(__file__)
