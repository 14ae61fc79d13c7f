#!/bin/bash
# MBTiles written by convert_pyramid, read by GDAL's MBTiles driver (gdalinfo; gdal_translate
# of a window against read_region) and by the sqlite3 shell (every tile against
# extract_tile --tms, the metadata, the deduplicating layout). And an MBTiles made by
# `gdal_translate -of MBTiles` + `gdaladdo` imported into a pyramid that verify_pyramid
# accepts, every tile's bytes unchanged.
# shellcheck source=tools/tool_test_lib.sh
source "${TEST_SRCDIR}/flatpyramid/tools/tool_test_lib.sh"
CONVERT="${TEST_SRCDIR}/flatpyramid/convert/testing"
PY=/usr/bin/python3 # Debian's, with GDAL's bindings.

# sqlite_tiles MBTILES OUT: "z/x/tms_row sha256" of every tile, by the sqlite3 shell.
sqlite_tiles() {
  sqlite3 "$1" "SELECT zoom_level || '/' || tile_column || '/' || tile_row, hex(tile_data) FROM tiles" |
    "${PY}" -c "
import hashlib, sys
for line in sys.stdin:
    name, data = line.strip().split('|')
    print(name, hashlib.sha256(bytes.fromhex(data)).hexdigest())" | sort >"$2"
}

# pyramid_tiles PYRAMID LIST OUT: "z/x/tms_row sha256" of every present tile of LIST, by
# extract_tile --tms.
pyramid_tiles() {
  local z x y row
  : >"$3"
  while read -r z x y; do
    row=$(((1 << z) - 1 - y))
    if "${TOOLS}/extract_tile" "$1" "${z}" "${x}" "${row}" --tms --output="${OUT}/tile" --overwrite 2>/dev/null; then
      echo "${z}/${x}/${row} $(sha256sum <"${OUT}/tile" | cut -d' ' -f1)" >>"$3"
    fi
  done <"$2"
  sort -o "$3" "$3"
}

"${TOOLS}/build_pyramid" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --output="${OUT}/l7.fpyr" \
  --quiet || die "build_pyramid failed"
"${TOOLS}/convert_pyramid" "${OUT}/l7.fpyr" "${OUT}/l7.mbtiles" --quiet || die "export failed"
"${PY}" "${CONVERT}/make_inputs.py" list "${TOOLS}/pyramid_info" "${OUT}/l7.fpyr" >"${OUT}/l7.list"

# --- sqlite3: every tile, the metadata. ---
sqlite_tiles "${OUT}/l7.mbtiles" "${OUT}/l7.sqlite"
pyramid_tiles "${OUT}/l7.fpyr" "${OUT}/l7.list" "${OUT}/l7.expected"
[[ "$(wc -l <"${OUT}/l7.sqlite")" == 16 ]] || fail "l7.mbtiles: $(wc -l <"${OUT}/l7.sqlite") tiles, expected 16"
diff "${OUT}/l7.sqlite" "${OUT}/l7.expected" >&2 || fail "l7.mbtiles: tiles differ from extract_tile's (above)"
metadata="$(sqlite3 "${OUT}/l7.mbtiles" "SELECT value FROM metadata WHERE name IN ('name', 'format', 'minzoom', 'maxzoom', 'type') ORDER BY name")"
[[ "${metadata}" == $'jpg\n12\n0\nl7\nbaselayer' ]] || fail "l7.mbtiles metadata: ${metadata}"

# --- GDAL's MBTiles driver. ---
gdalinfo -json "${OUT}/l7.mbtiles" >"${OUT}/l7.gdalinfo" || die "gdalinfo cannot open l7.mbtiles"
"${PY}" - "${OUT}/l7.gdalinfo" <<'PY' || fail "gdalinfo of l7.mbtiles (above)"
import json, sys
info = json.load(open(sys.argv[1]))
assert info["driverShortName"] == "MBTiles", info["driverShortName"]
assert len(info["bands"]) == 4, len(info["bands"])  # RGB + alpha (partial tiles are PNG).
# Zoom 12 at full resolution; coarser zooms as overviews of half the size each.
assert abs(info["geoTransform"][1] - 38.21851414258813) < 1e-6, info["geoTransform"]
overviews = info["bands"][0]["overviews"]
assert len(overviews) >= 1, overviews
assert abs(overviews[0]["size"][0] - info["size"][0] / 2) <= 1, (overviews, info["size"])
PY
# A window on the zoom 12 pixel grid, at its resolution: GDAL's pixels and read_region's.
res=38.21851414258813
# 64 px right of and 32 px below the north-west corner of the level's first tile.
read -r ulx uly < <("${TOOLS}/pyramid_info" --json "${OUT}/l7.fpyr" | "${PY}" -c "
import json, sys
level = [l for l in json.load(sys.stdin)['metadata']['levels'] if l['zoom'] == 12][0]
o = -20037508.342789244
print(o + (level['min_x'] * 256 + 64) * ${res}, -o - (level['min_y'] * 256 + 32) * ${res})")
lrx="$("${PY}" -c "print(${ulx} + 256 * ${res})")"
lry="$("${PY}" -c "print(${uly} - 256 * ${res})")"
gdal_translate -q -projwin "${ulx}" "${uly}" "${lrx}" "${lry}" -r nearest "${OUT}/l7.mbtiles" \
  "${OUT}/gdal_window.tif" || die "gdal_translate of a window of l7.mbtiles failed"
# GDAL snaps the window to its raster's grid: read_region renders the grid GDAL returned.
read -r x0 y0 x1 y1 < <("${PY}" -c "
from osgeo import gdal
ds = gdal.Open('${OUT}/gdal_window.tif'); gt = ds.GetGeoTransform()
print(gt[0], gt[3] + gt[5] * ds.RasterYSize, gt[0] + gt[1] * ds.RasterXSize, gt[3])")
"${TOOLS}/read_region" "${OUT}/l7.fpyr" --bbox="${x0},${y0},${x1},${y1}" --bbox_srs=EPSG:3857 \
  --size=256,256 --resampling=nearest --output="${OUT}/ours_window.tif" 2>/dev/null ||
  die "read_region failed"
"${PY}" - "${OUT}/gdal_window.tif" "${OUT}/ours_window.tif" <<'PY' || fail "window: GDAL's MBTiles pixels differ from read_region's (above)"
import sys
from osgeo import gdal
import numpy as np
a = gdal.Open(sys.argv[1]).ReadAsArray().astype(int)
b = gdal.Open(sys.argv[2]).ReadAsArray().astype(int)
assert a.shape == b.shape == (4, 256, 256), (a.shape, b.shape)
diff = np.abs(a - b)
assert (a[3] > 0).sum() > 1000, "the window holds almost no data"
# The same tile bytes decoded by GDAL and by us, sampled at the same pixel centres.
assert diff.max() == 0, (diff.max(), (diff > 0).sum())
print("window: max difference %d, mean %.4f" % (diff.max(), diff.mean()))
PY

# --- The tool links no GDAL; --bbox in EPSG:4326 and EPSG:3857 without it, others through it. ---
ldd "${TOOLS}/convert_pyramid" | grep -q libgdal && fail "convert_pyramid links libgdal: $(ldd "${TOOLS}/convert_pyramid" | grep libgdal)"
# The south-western tenth of the data (one of the four zoom 12 tiles), in longitude/latitude
# and in Web Mercator metres.
read -r w s e n mw ms me mn < <(sqlite3 "${OUT}/l7.mbtiles" "SELECT value FROM metadata WHERE name = 'bounds'" | "${PY}" -c "
import math, sys
w, s, e, n = map(float, sys.stdin.read().split(','))
e, n = w + (e - w) / 10, s + (n - s) / 10
m = lambda lon, lat: (6378137 * math.radians(lon), 6378137 * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))
print(w, s, e, n, *m(w, s), *m(e, n))")
# bbox_tiles SRS BBOX NAME: exports the bbox, lists "z/x/tms_row" of its tiles into NAME.tiles
# and which shared objects the run loaded (LD_DEBUG) into NAME.libs.
bbox_tiles() {
  LD_DEBUG=files "${TOOLS}/convert_pyramid" "${OUT}/l7.fpyr" "${OUT}/$3.mbtiles" --bbox_srs="$1" --bbox="$2" \
    --quiet 2>"${OUT}/$3.libs" || die "export with --bbox_srs=$1 failed: $(grep -v 'file=\|^ *[0-9]*: *$' "${OUT}/$3.libs")"
  sqlite3 "${OUT}/$3.mbtiles" "SELECT zoom_level || '/' || tile_column || '/' || tile_row FROM tiles" | sort >"${OUT}/$3.tiles"
}
bbox_tiles EPSG:4326 "${w},${s},${e},${n}" lonlat
bbox_tiles EPSG:3857 "${mw},${ms},${me},${mn}" mercator
bbox_tiles EPSG:4258 "${w},${s},${e},${n}" etrs89 # ETRS89 longitude/latitude: needs PROJ.
count="$(wc -l <"${OUT}/lonlat.tiles")"
[[ "${count}" == 13 ]] || fail "--bbox of a corner of the data selected ${count} of 16 tiles, expected 13"
diff "${OUT}/lonlat.tiles" "${OUT}/mercator.tiles" >&2 || fail "--bbox in EPSG:3857 selects other tiles than in EPSG:4326 (above)"
diff "${OUT}/lonlat.tiles" "${OUT}/etrs89.tiles" >&2 || fail "--bbox in EPSG:4258 selects other tiles than in EPSG:4326 (above)"
grep -q "libgdal" "${OUT}/lonlat.libs" && fail "an EPSG:4326 --bbox loaded GDAL"
grep -q "libgdal" "${OUT}/mercator.libs" && fail "an EPSG:3857 --bbox loaded GDAL"
grep -q "libflatpyramid_crs.so" "${OUT}/etrs89.libs" || fail "an EPSG:4258 --bbox did not load libflatpyramid_crs.so"
expect_error_matching 1 "convert_pyramid: --bbox in --bbox_srs EPSG:999999: cannot parse SRS 'EPSG:999999': .*" \
  convert_pyramid "${OUT}/l7.fpyr" "${OUT}/bad.mbtiles" --bbox_srs=EPSG:999999 --bbox="${w},${s},${e},${n}"

# A pyramid of another tile matrix set is refused, naming build_pyramid's flag.
"${TOOLS}/build_pyramid" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --tms=WorldCRS84Quad \
  --output="${OUT}/l7_crs84.fpyr" --quiet || die "build_pyramid --tms=WorldCRS84Quad failed"
expect_error 1 "convert_pyramid: ${OUT}/l7_crs84.fpyr holds WorldCRS84Quad tiles; MBTiles holds WebMercatorQuad tiles only: rebuild it with build_pyramid --tms=WebMercatorQuad" \
  convert_pyramid "${OUT}/l7_crs84.fpyr" "${OUT}/crs84.mbtiles"

# --- Deduplicated layout: identical tiles stored once. ---
"${PY}" "${CONVERT}/make_inputs.py" dedup "${OUT}/dedup.tif" || die "make_inputs dedup failed"
"${TOOLS}/build_pyramid" --input="${OUT}/dedup.tif" --output="${OUT}/dedup.fpyr" --quiet ||
  die "build_pyramid dedup failed"
"${TOOLS}/convert_pyramid" "${OUT}/dedup.fpyr" "${OUT}/dedup.mbtiles" --quiet || die "export failed"
counts="$(sqlite3 "${OUT}/dedup.mbtiles" "SELECT (SELECT COUNT(*) FROM map) || ' ' || (SELECT COUNT(*) FROM images) || ' ' || (SELECT COUNT(*) FROM tiles)")"
[[ "${counts}" == "131 50 131" ]] || fail "dedup.mbtiles map/images/tiles rows: ${counts}, expected 131 50 131"
"${PY}" "${CONVERT}/make_inputs.py" list "${TOOLS}/pyramid_info" "${OUT}/dedup.fpyr" >"${OUT}/dedup.list"
sqlite_tiles "${OUT}/dedup.mbtiles" "${OUT}/dedup.sqlite"
pyramid_tiles "${OUT}/dedup.fpyr" "${OUT}/dedup.list" "${OUT}/dedup.expected"
diff "${OUT}/dedup.sqlite" "${OUT}/dedup.expected" >&2 || fail "dedup.mbtiles: tiles differ from extract_tile's"

# --- Import of GDAL's own MBTiles (gdal_translate -of MBTiles + gdaladdo). ---
gdal_translate -q -of MBTiles -b 3 -b 2 -b 1 "${DATA}/L7_ETMs.tif" "${OUT}/gdal.mbtiles" ||
  die "gdal_translate -of MBTiles failed"
gdaladdo -q -r average "${OUT}/gdal.mbtiles" 2 4 8 16 || die "gdaladdo failed"
"${TOOLS}/convert_pyramid" "${OUT}/gdal.mbtiles" "${OUT}/gdal.fpyr" --quiet || die "import of gdal.mbtiles failed"
"${TOOLS}/verify_pyramid" "${OUT}/gdal.fpyr" >/dev/null || fail "gdal.fpyr does not verify"
sqlite_tiles "${OUT}/gdal.mbtiles" "${OUT}/gdal.sqlite"
cut -d' ' -f1 "${OUT}/gdal.sqlite" | tr '/' ' ' | while read -r z x row; do
  echo "${z} ${x} $(((1 << z) - 1 - row))"
done >"${OUT}/gdal.list"
pyramid_tiles "${OUT}/gdal.fpyr" "${OUT}/gdal.list" "${OUT}/gdal.expected"
[[ "$(wc -l <"${OUT}/gdal.sqlite")" -ge 5 ]] || fail "gdal.mbtiles holds only $(wc -l <"${OUT}/gdal.sqlite") tiles"
diff "${OUT}/gdal.sqlite" "${OUT}/gdal.expected" >&2 || fail "gdal.fpyr: tile bytes changed on import (above)"
zooms="$(sqlite3 "${OUT}/gdal.mbtiles" "SELECT MIN(zoom_level) || '..' || MAX(zoom_level) FROM tiles")"
"${TOOLS}/pyramid_info" "${OUT}/gdal.fpyr" | grep -q "^Zooms: *${zooms}$" ||
  fail "gdal.fpyr zooms differ from the source's ${zooms}"

finish
