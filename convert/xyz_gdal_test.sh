#!/bin/bash
# XYZ directories written by convert_pyramid, opened by GDAL through a <GDAL_WMS> TMS
# description with a file:// URL: a window of imagery equal to read_region's pixels, and
# terrain-RGB tiles (terrarium, mapbox) that decode to the elevation read_region reads, within
# half a step, nodata as 0 m. Also the error for an elevation pyramid without an encoding.
# shellcheck source=tools/tool_test_lib.sh
source "${TEST_SRCDIR}/flatpyramid/tools/tool_test_lib.sh"
PY=/usr/bin/python3 # Debian's, with GDAL's bindings.

# wms_xml DIR EXT BANDS ZOOM: a GDAL_WMS description of the XYZ directory DIR.
wms_xml() {
  cat <<XML
<GDAL_WMS>
  <Service name="TMS"><ServerUrl>file://$1/\${z}/\${x}/\${y}.$2</ServerUrl></Service>
  <DataWindow>
    <UpperLeftX>-20037508.342789244</UpperLeftX><UpperLeftY>20037508.342789244</UpperLeftY>
    <LowerRightX>20037508.342789244</LowerRightX><LowerRightY>-20037508.342789244</LowerRightY>
    <TileLevel>$4</TileLevel><TileCountX>1</TileCountX><TileCountY>1</TileCountY>
    <YOrigin>top</YOrigin>
  </DataWindow>
  <Projection>EPSG:3857</Projection>
  <BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY>
  <BandsCount>$3</BandsCount>
  <ZeroBlockOnServerException>true</ZeroBlockOnServerException>
  <Cache/>
</GDAL_WMS>
XML
}

# first_tile PYRAMID ZOOM: "x y" of the level's first tile column and row.
first_tile() {
  "${TOOLS}/pyramid_info" --json "$1" | "${PY}" -c "
import json, sys
level = [l for l in json.load(sys.stdin)['metadata']['levels'] if l['zoom'] == $2][0]
print(level['min_x'], level['min_y'])"
}

# gdal_window XML ZOOM X Y OUT: tile X/Y of ZOOM through GDAL, as a GeoTIFF, and prints the
# bbox of what GDAL returned.
gdal_window() {
  gdal_translate -q -srcwin $(($3 * 256)) $(($4 * 256)) 256 256 "$1" "$5" ||
    die "gdal_translate through GDAL_WMS failed"
  "${PY}" -c "
from osgeo import gdal
ds = gdal.Open('$5'); gt = ds.GetGeoTransform()
print('%.10f,%.10f,%.10f,%.10f' % (gt[0], gt[3] + gt[5] * 256, gt[0] + gt[1] * 256, gt[3]))"
}

export GDAL_HTTP_TIMEOUT=5
export CPL_CURL_VERBOSE=NO
export GDAL_DEFAULT_WMS_CACHE_PATH="${OUT}/wms_cache"

# --- Imagery. ---
"${TOOLS}/build_pyramid" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --output="${OUT}/l7.fpyr" \
  --quiet || die "build_pyramid failed"
"${TOOLS}/convert_pyramid" "${OUT}/l7.fpyr" "${OUT}/l7_xyz" --quiet || die "export failed"
for f in tilejson.json index.html 12; do
  [[ -e "${OUT}/l7_xyz/${f}" ]] || fail "l7_xyz/${f} is missing"
done
wms_xml "${OUT}/l7_xyz" jpg 4 12 >"${OUT}/l7.xml"
read -r x y < <(first_tile "${OUT}/l7.fpyr" 12)
bbox="$(gdal_window "${OUT}/l7.xml" 12 "${x}" "${y}" "${OUT}/gdal_l7.tif")"
"${TOOLS}/read_region" "${OUT}/l7.fpyr" --bbox="${bbox}" --bbox_srs=EPSG:3857 --size=256,256 \
  --resampling=nearest --output="${OUT}/ours_l7.tif" 2>/dev/null || die "read_region failed"
"${PY}" - "${OUT}/gdal_l7.tif" "${OUT}/ours_l7.tif" <<'PY' || fail "l7: GDAL_WMS pixels differ from read_region's (above)"
import sys
from osgeo import gdal
import numpy as np
a = gdal.Open(sys.argv[1]).ReadAsArray().astype(int)
b = gdal.Open(sys.argv[2]).ReadAsArray().astype(int)
assert a.shape == b.shape == (4, 256, 256), (a.shape, b.shape)
assert (b[3] == 255).sum() > 1000, "the tile holds almost no data"
assert np.abs(a - b).max() == 0, (np.abs(a - b).max(), (a != b).sum())
PY

# --- Elevation as terrain-RGB. ---
"${TOOLS}/build_pyramid" --input="${DATA}/elev.tif" --output="${OUT}/elev.fpyr" --quiet ||
  die "build_pyramid elev failed"
"${TOOLS}/convert_pyramid" "${OUT}/elev.fpyr" "${OUT}/bad_xyz" >"${OUT}/err" 2>&1 &&
  fail "an elevation export without --terrain_encoding succeeded"
[[ "$(cat "${OUT}/err")" == "convert_pyramid: ${OUT}/elev.fpyr holds elevation tiles, which web clients cannot decode: choose --terrain_encoding (terrarium or mapbox)" ]] ||
  fail "elevation without an encoding: $(cat "${OUT}/err")"
read -r x y < <(first_tile "${OUT}/elev.fpyr" 7)
for encoding in terrarium mapbox; do
  "${TOOLS}/convert_pyramid" "${OUT}/elev.fpyr" "${OUT}/elev_${encoding}" --quiet \
    --terrain_encoding="${encoding}" || die "terrain export ${encoding} failed"
  wms_xml "${OUT}/elev_${encoding}" png 3 7 >"${OUT}/elev_${encoding}.xml"
  bbox="$(gdal_window "${OUT}/elev_${encoding}.xml" 7 "${x}" "${y}" "${OUT}/gdal_${encoding}.tif")"
  "${TOOLS}/read_region" "${OUT}/elev.fpyr" --bbox="${bbox}" --bbox_srs=EPSG:3857 \
    --size=256,256 --resampling=nearest --output="${OUT}/ours_elev.tif" --overwrite 2>/dev/null ||
    die "read_region elev failed"
  "${PY}" - "${OUT}/gdal_${encoding}.tif" "${OUT}/ours_elev.tif" "${encoding}" <<'PY' || fail "${encoding}: decoded heights differ (above)"
import sys
from osgeo import gdal
import numpy as np
rgb = gdal.Open(sys.argv[1]).ReadAsArray().astype(np.float64)
elevation = gdal.Open(sys.argv[2]).ReadAsArray().astype(np.float64)
if sys.argv[3] == "terrarium":  # MapLibre's formulas.
    height, step = rgb[0] * 256 + rgb[1] + rgb[2] / 256 - 32768, 1 / 256
else:
    height, step = -10000 + (rgb[0] * 65536 + rgb[1] * 256 + rgb[2]) * 0.1, 0.1
nodata = elevation == -32768
assert (~nodata).sum() > 1000 and nodata.sum() > 0, ((~nodata).sum(), nodata.sum())
error = np.abs(height[~nodata] - elevation[~nodata]).max()
assert error <= step / 2 + 1e-9, error
assert np.abs(height[nodata]).max() <= step / 2, "nodata is not 0 m"
print("%s: %d heights within %.4f m, %d nodata as 0 m" % (sys.argv[3], (~nodata).sum(), error,
                                                         nodata.sum()))
PY
done

finish
