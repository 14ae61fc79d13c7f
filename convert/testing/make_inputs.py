"""Test inputs for //convert, made with GDAL's Python bindings and Python's sqlite3.

  make_inputs.py dedup OUT.tif      a 3072 x 2048 RGB GeoTIFF in EPSG:3857 whose left two
                                    thirds are one flat colour (identical tiles: deduplication
                                    and run lengths) and the rest a gradient
  make_inputs.py many OUT.mbtiles N N distinct 256 x 256 flat PNG tiles at random positions of
                                    zoom 9 (seeded), an MBTiles of the spec's plain layout
  make_inputs.py list FILE.fpyr     prints "z x y" for every tile position in each level's tile
                                    range (pyramid_info --json), present or not
"""
import json
import random
import sqlite3
import struct
import subprocess
import sys
import zlib


def dedup(path):
    from osgeo import gdal, osr
    import numpy as np
    width, height = 3072, 2048
    ds = gdal.GetDriverByName("GTiff").Create(path, width, height, 3, gdal.GDT_Byte)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3857)
    ds.SetProjection(srs.ExportToWkt())
    # 2.4 km pixels from 0,0: zoom 6 resolution is 2445.98 m, so the level ~6 tiles align.
    res = 2445.984905125
    ds.SetGeoTransform([0, res, 0, height * res, 0, -res])
    for band in range(3):
        data = np.full((height, width), [30, 90, 160][band], dtype=np.uint8)
        xs = np.arange(width - 2048)
        data[:, 2048:] = ((xs[None, :] * (band + 1) + np.arange(height)[:, None]) % 251).astype(
            np.uint8)
        ds.GetRasterBand(band + 1).WriteArray(data)
    ds = None


def png_rgb(width, height, rgb):
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                                 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def many(path, count):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
               "tile_data BLOB)")
    db.executemany("INSERT INTO metadata VALUES (?, ?)",
                   [("name", "many"), ("format", "png"), ("minzoom", "9"), ("maxzoom", "9")])
    rows = []
    for position in random.Random(7).sample(range(512 * 512), count):
        x, y = position % 512, position // 512
        colour = (x % 256, y % 256, x // 256 + 2 * (y // 256))
        rows.append((9, x, 511 - y, png_rgb(256, 256, colour)))
    db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows)
    db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
    db.commit()


def list_tiles(pyramid_info, path):
    info = json.loads(subprocess.check_output([pyramid_info, "--json", path]))
    for level in info["metadata"]["levels"]:
        if int(level.get("tile_count", 0)) == 0:
            continue
        for x in range(level.get("min_x", 0), level.get("max_x", 0) + 1):
            for y in range(level.get("min_y", 0), level.get("max_y", 0) + 1):
                print(level["zoom"], x, y)


if __name__ == "__main__":
    if sys.argv[1] == "dedup":
        dedup(sys.argv[2])
    elif sys.argv[1] == "many":
        many(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "list":
        list_tiles(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: make_inputs.py dedup|many|list ...")
