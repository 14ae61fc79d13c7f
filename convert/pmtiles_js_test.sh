#!/bin/bash
# PMTiles archives written by convert_pyramid, read by the official `pmtiles` JavaScript
# library (npm, pinned) under Node: header, metadata and every tile, each equal to
# extract_tile's bytes of the pyramid (or to the source MBTiles' bytes); deduplicated tiles,
# run lengths and leaf directories included. And the round trip .fpyr -> .pmtiles -> .fpyr,
# tile for tile.
# shellcheck source=tools/tool_test_lib.sh
source "${TEST_SRCDIR}/flatpyramid/tools/tool_test_lib.sh"
CONVERT="${TEST_SRCDIR}/flatpyramid/convert/testing"
PY=/usr/bin/python3 # Debian's, with GDAL's bindings.

node_modules="$("${TEST_SRCDIR}/flatpyramid/testing/node/install.sh" pmtiles@4.3.0)" ||
  die "npm install of pmtiles@4.3.0 failed"

# read_archive ARCHIVE LIST OUT: the JS library's view of ARCHIVE for the tiles in LIST.
read_archive() {
  NODE_PATH="${node_modules}" node "${CONVERT}/read_pmtiles.cjs" "$1" "$2" "$3" ||
    die "the pmtiles library could not read $1"
}

# expected_from_pyramid PYRAMID LIST OUT: "z/x/y sha256|missing" by extract_tile.
expected_from_pyramid() {
  local z x y
  : >"$3"
  while read -r z x y; do
    if "${TOOLS}/extract_tile" "$1" "${z}" "${x}" "${y}" --output="${OUT}/tile" --overwrite 2>/dev/null; then
      echo "${z}/${x}/${y} $(sha256sum <"${OUT}/tile" | cut -d' ' -f1)" >>"$3"
    else
      echo "${z}/${x}/${y} missing" >>"$3"
    fi
  done <"$2"
}

# header_field JSON_FILE EXPR: a value from the first line (header and metadata) of a read.
header_field() {
  head -1 "$1" | "${PY}" -c "import json,sys; d=json.load(sys.stdin); print($2)"
}

# --- A Landsat scene warped to WebMercator: JPEG inside, PNG with alpha at the edges. ---
"${TOOLS}/build_pyramid" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --output="${OUT}/l7.fpyr" \
  --quiet || die "build_pyramid failed"
"${TOOLS}/convert_pyramid" "${OUT}/l7.fpyr" "${OUT}/l7.pmtiles" --quiet || die "export failed"
"${PY}" "${CONVERT}/make_inputs.py" list "${TOOLS}/pyramid_info" "${OUT}/l7.fpyr" >"${OUT}/l7.list"
read_archive "${OUT}/l7.pmtiles" "${OUT}/l7.list" "${OUT}/l7.js"
expected_from_pyramid "${OUT}/l7.fpyr" "${OUT}/l7.list" "${OUT}/l7.expected"
diff <(tail -n +2 "${OUT}/l7.js") "${OUT}/l7.expected" >&2 ||
  fail "l7: tiles read by the pmtiles library differ from extract_tile's (above)"
[[ "$(grep -vc missing "${OUT}/l7.expected")" == 16 ]] || fail "l7: expected 16 tiles"
[[ "$(header_field "${OUT}/l7.js" "d['header']['specVersion'], d['header']['minZoom'], d['header']['maxZoom'], d['header']['numAddressedTiles'], d['header']['clustered'], d['header']['internalCompression'], d['header']['tileCompression']")" == "3 0 12 16 True 2 1" ]] ||
  fail "l7: header $(header_field "${OUT}/l7.js" "d['header']")"
# Tile type: 2 (PNG) or 3 (JPEG) when every tile has that codec, 0 (Unknown) for a mix.
codecs="$(while read -r z x y; do
  "${TOOLS}/extract_tile" "${OUT}/l7.fpyr" "${z}" "${x}" "${y}" --output="${OUT}/probe" --overwrite 2>&1 | grep -o 'bytes of [a-z]*'
done <"${OUT}/l7.list" | sort -u | tr '\n' ' ')"
case "${codecs}" in
  "bytes of png ") want_type=2 ;;
  "bytes of jpeg ") want_type=3 ;;
  *) want_type=0 ;;
esac
[[ "$(header_field "${OUT}/l7.js" "d['header']['tileType']")" == "${want_type}" ]] ||
  fail "l7: tileType for tiles of codecs ${codecs}: want ${want_type}"
[[ "$(header_field "${OUT}/l7.js" "d['metadata']['name'], d['metadata']['format'], d['metadata']['minzoom'], d['metadata']['maxzoom'], d['metadata']['flatpyramid:codec']")" == "l7 jpg 0 12 jpeg" ]] ||
  fail "l7: metadata $(header_field "${OUT}/l7.js" "d['metadata']")"
# Bounds in the header match the pyramid's (E7 rounding).
"${TOOLS}/pyramid_info" --json "${OUT}/l7.fpyr" >"${OUT}/l7.info"
"${PY}" - "${OUT}/l7.info" "${OUT}/l7.js" <<'PY' || fail "l7: header bounds differ from the pyramid's"
import json, sys
b = json.load(open(sys.argv[1]))["metadata"]["bounds_lonlat"]
h = json.loads(open(sys.argv[2]).readline())["header"]
for key, want in (("minLon", b["min_x"]), ("minLat", b["min_y"]), ("maxLon", b["max_x"]),
                  ("maxLat", b["max_y"])):
    assert abs(h[key] - want) <= 1e-7, (key, h[key], want)
PY

# --- Deduplicated tiles: 131 tiles of 50 distinct contents, run lengths. ---
"${PY}" "${CONVERT}/make_inputs.py" dedup "${OUT}/dedup.tif" || die "make_inputs dedup failed"
"${TOOLS}/build_pyramid" --input="${OUT}/dedup.tif" --output="${OUT}/dedup.fpyr" --quiet ||
  die "build_pyramid dedup failed"
"${TOOLS}/convert_pyramid" "${OUT}/dedup.fpyr" "${OUT}/dedup.pmtiles" --quiet || die "export failed"
"${PY}" "${CONVERT}/make_inputs.py" list "${TOOLS}/pyramid_info" "${OUT}/dedup.fpyr" >"${OUT}/dedup.list"
read_archive "${OUT}/dedup.pmtiles" "${OUT}/dedup.list" "${OUT}/dedup.js"
expected_from_pyramid "${OUT}/dedup.fpyr" "${OUT}/dedup.list" "${OUT}/dedup.expected"
diff <(tail -n +2 "${OUT}/dedup.js") "${OUT}/dedup.expected" >&2 ||
  fail "dedup: tiles read by the pmtiles library differ from extract_tile's (above)"
[[ "$(header_field "${OUT}/dedup.js" "d['header']['numAddressedTiles'], d['header']['numTileContents']")" == "131 50" ]] ||
  fail "dedup: addressed/contents $(header_field "${OUT}/dedup.js" "d['header']")"
entries="$(header_field "${OUT}/dedup.js" "d['header']['numTileEntries']")"
((entries < 131)) || fail "dedup: ${entries} entries for 131 tiles: no run-length entries"
# Every tile's bytes are written once: the tile data is the unique tiles' bytes.
unique_bytes="$("${TOOLS}/pyramid_info" --json "${OUT}/dedup.fpyr" | "${PY}" -c "import json,sys; print(sum(int(l['bytes']) for l in json.load(sys.stdin)['metadata']['levels']))")"
[[ "$(header_field "${OUT}/dedup.js" "d['header']['tileDataLength']")" == "${unique_bytes}" ]] ||
  fail "dedup: tile data is not the ${unique_bytes} bytes of the unique tiles"

# --- Round trip: .fpyr -> .pmtiles -> .fpyr, identical tile for tile. ---
for name in l7 dedup; do
  "${TOOLS}/convert_pyramid" "${OUT}/${name}.pmtiles" "${OUT}/${name}_back.fpyr" --quiet ||
    die "import of ${name}.pmtiles failed"
  "${TOOLS}/verify_pyramid" "${OUT}/${name}_back.fpyr" >/dev/null || fail "${name}_back.fpyr does not verify"
  expected_from_pyramid "${OUT}/${name}_back.fpyr" "${OUT}/${name}.list" "${OUT}/${name}_back.expected"
  diff "${OUT}/${name}.expected" "${OUT}/${name}_back.expected" >&2 ||
    fail "${name}: the round trip changed tiles (above)"
done

# --- Leaf directories: 30,000 distinct tiles at random positions (the root alone would pass 16 KiB). ---
"${PY}" "${CONVERT}/make_inputs.py" many "${OUT}/many.mbtiles" 30000 || die "make_inputs many failed"
"${TOOLS}/convert_pyramid" "${OUT}/many.mbtiles" "${OUT}/many.fpyr" --quiet || die "import failed"
"${TOOLS}/verify_pyramid" "${OUT}/many.fpyr" >/dev/null || fail "many.fpyr does not verify"
"${TOOLS}/convert_pyramid" "${OUT}/many.fpyr" "${OUT}/many.pmtiles" --quiet || die "export failed"
"${PY}" - "${OUT}/many.mbtiles" "${OUT}/many.list" "${OUT}/many.expected" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
with open(sys.argv[2], "w") as positions, open(sys.argv[3], "w") as expected:
    for x, row, data in db.execute("SELECT tile_column, tile_row, tile_data FROM tiles"):
        y = 511 - row
        positions.write("9 %d %d\n" % (x, y))
        expected.write("9/%d/%d %s\n" % (x, y, hashlib.sha256(data).hexdigest()))
    # Positions the source does not have are missing in the archive too.
    have = set((x, 511 - row) for x, row in db.execute("SELECT tile_column, tile_row FROM tiles"))
    absent = [(x, y) for x in range(512) for y in range(512) if (x, y) not in have][:50]
    for x, y in absent:
        positions.write("9 %d %d\n" % (x, y))
        expected.write("9/%d/%d missing\n" % (x, y))
PY
read_archive "${OUT}/many.pmtiles" "${OUT}/many.list" "${OUT}/many.js"
diff <(tail -n +2 "${OUT}/many.js") "${OUT}/many.expected" >/dev/null ||
  fail "many: tiles read by the pmtiles library differ from the MBTiles source's"
[[ "$(header_field "${OUT}/many.js" "d['header']['rootDirectoryLength'] + 127 < 16384, d['header']['leafDirectoryLength'] > 0, d['header']['numTileContents'], d['header']['tileType']")" == "True True 30000 2" ]] ||
  fail "many: expected leaf directories, 30000 PNG tiles: $(header_field "${OUT}/many.js" "d['header']")"

finish
