#!/bin/bash
# End to end: extract_tile on a pyramid that build_pyramid made from the real Landsat scene.
set -u
TOOLS="${TEST_SRCDIR}/flatpyramid/tools"
DATA="${TEST_SRCDIR}/flatpyramid/testing/data"
OUT="${TEST_TMPDIR}"
fail() { echo "FAIL: $*" >&2; exit 1; }

"${TOOLS}/build_pyramid" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --max_zoom=12 \
  --min_zoom=11 --codec=png --output="${OUT}/l7.fpyr" --quiet || fail "build_pyramid failed"
# The scene's tiles at zoom 12 (from the metadata, not guessed).
read -r X Y < <("${TOOLS}/pyramid_info" "${OUT}/l7.fpyr" --json | python3 -c '
import json, sys
level = json.load(sys.stdin)["levels"][-1]
print(level["tile_range"][0], level["tile_range"][1])')

"${TOOLS}/extract_tile" "${OUT}/l7.fpyr" 12 "$X" "$Y" --output="${OUT}/tile.png" \
  2> "${OUT}/note.txt" || fail "extract_tile exited $?"
grep -q "^tile 12/$X/$Y: [0-9]* bytes of png -> " "${OUT}/note.txt" || fail "$(cat "${OUT}/note.txt")"
# GDAL reads the extracted bytes as a 256x256 RGBA PNG.
gdalinfo "${OUT}/tile.png" > "${OUT}/gdalinfo.txt" 2>&1 || fail "GDAL cannot read the tile"
grep -q "Driver: PNG" "${OUT}/gdalinfo.txt" && grep -q "Size is 256, 256" "${OUT}/gdalinfo.txt" \
  && [[ $(grep -c "^Band " "${OUT}/gdalinfo.txt") == 4 ]] || fail "$(cat "${OUT}/gdalinfo.txt")"
# stdout gives the same bytes; so does the TMS row with --tms.
"${TOOLS}/extract_tile" "${OUT}/l7.fpyr" 12 "$X" "$Y" --output=- 2> /dev/null > "${OUT}/stdout.png"
cmp -s "${OUT}/tile.png" "${OUT}/stdout.png" || fail "--output=- differs"
TMS_Y=$(( (1 << 12) - 1 - Y ))
"${TOOLS}/extract_tile" "${OUT}/l7.fpyr" 12 "$X" "$TMS_Y" --tms --output="${OUT}/tms.png" 2> /dev/null
cmp -s "${OUT}/tile.png" "${OUT}/tms.png" || fail "--tms row $TMS_Y differs"
# Relative --output and FILE resolve against BUILD_WORKING_DIRECTORY (set by `bazel run`).
(cd / && BUILD_WORKING_DIRECTORY="${OUT}" "${TOOLS}/extract_tile" l7.fpyr 12 "$X" "$Y" \
  --output=relative.png 2> /dev/null) || fail "relative paths: exit $?"
cmp -s "${OUT}/tile.png" "${OUT}/relative.png" || fail "relative --output differs"

# Errors.
expect() {  # expect EXIT_CODE MESSAGE_PART ARGS...
  local want=$1 part=$2; shift 2
  "${TOOLS}/extract_tile" "$@" > /dev/null 2> "${OUT}/err.txt"; local rc=$?
  [[ $rc == "$want" ]] || fail "extract_tile $*: exit $rc, want $want"
  [[ $(wc -l < "${OUT}/err.txt") == 1 ]] || fail "extract_tile $*: not one line: $(cat "${OUT}/err.txt")"
  grep -qF -- "$part" "${OUT}/err.txt" || fail "extract_tile $*: $(cat "${OUT}/err.txt")"
}
expect 1 "tile 12/0/0 holds no data" "${OUT}/l7.fpyr" 12 0 0 --output="${OUT}/x"
expect 1 "outside the tile matrix" "${OUT}/l7.fpyr" 12 5000 0 --output="${OUT}/x"
expect 1 "no level 13" "${OUT}/l7.fpyr" 13 0 0 --output="${OUT}/x"
expect 1 "cannot create ${OUT}/no/such/dir/t.png" "${OUT}/l7.fpyr" 12 "$X" "$Y" \
  --output="${OUT}/no/such/dir/t.png"
expect 2 "no --output" "${OUT}/l7.fpyr" 12 "$X" "$Y"
expect 2 "non-negative integers" "${OUT}/l7.fpyr" 12 west "$Y" --output="${OUT}/x"
expect 2 "four arguments" "${OUT}/l7.fpyr" 12 "$X" --output="${OUT}/x"
expect 1 "missing.fpyr" "${OUT}/missing.fpyr" 12 "$X" "$Y" --output="${OUT}/x"
echo PASS
