"""Image comparison for the Python tests, the counterpart of image_compare.h.

Example:
    from testing.image_compare import psnr
    assert psnr(rendered[:3, opaque], expected[:3, opaque]) >= 30.0
"""

import math

import numpy


def psnr(actual, expected, peak=255.0):
    """PSNR in dB of `actual` against `expected` (equally shaped arrays); infinity when equal.

    `peak` is 255 for 8-bit data; for other types pass the data range.
    """
    if actual.shape != expected.shape:
        raise ValueError(f"psnr: shapes differ: {actual.shape} vs {expected.shape}")
    mse = numpy.mean((actual.astype(numpy.float64) - expected.astype(numpy.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(peak ** 2 / mse)
