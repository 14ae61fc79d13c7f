#!/bin/bash
# End to end: extract_tile on a pyramid that build_pyramid made from the real Landsat scene.
# shellcheck source=tools/tool_test_lib.sh
source "${TEST_SRCDIR}/flatpyramid/tools/tool_test_lib.sh"

"${TOOLS}/build_pyramid" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --max_zoom=12 \
  --min_zoom=11 --codec=png --output="${OUT}/l7.fpyr" --quiet || die "build_pyramid failed"
# The scene's first tile at zoom 12 (from the metadata, not guessed).
read -r X Y < <("${TOOLS}/pyramid_info" "${OUT}/l7.fpyr" --json | python3 -c '
import json, sys
level = json.load(sys.stdin)["levels"][-1]
print(level["tile_range"][0], level["tile_range"][1])')
[[ -n "${Y:-}" ]] || die "pyramid_info --json gave no tile range"

"${TOOLS}/extract_tile" "${OUT}/l7.fpyr" 12 "$X" "$Y" --output="${OUT}/tile.png" \
  2>"${OUT}/note.txt" || fail "extract_tile exited $?: $(cat "${OUT}/note.txt")"
SIZE="$(stat -c %s "${OUT}/tile.png")"
[[ "$(cat "${OUT}/note.txt")" == "tile 12/$X/$Y: ${SIZE} bytes of png -> ${OUT}/tile.png" ]] ||
  fail "note: $(cat "${OUT}/note.txt")"
# GDAL reads the extracted bytes as a 256x256 RGBA PNG.
gdalinfo "${OUT}/tile.png" >"${OUT}/gdalinfo.txt" 2>&1 || fail "GDAL cannot read the tile"
if ! grep -q "Driver: PNG" "${OUT}/gdalinfo.txt" || ! grep -q "Size is 256, 256" "${OUT}/gdalinfo.txt" ||
  [[ "$(grep -c "^Band " "${OUT}/gdalinfo.txt")" != 4 ]]; then
  fail "not a 256x256 4-band PNG: $(cat "${OUT}/gdalinfo.txt")"
fi
# stdout gives the same bytes; so does the TMS row with --tms.
"${TOOLS}/extract_tile" "${OUT}/l7.fpyr" 12 "$X" "$Y" --output=- 2>/dev/null >"${OUT}/stdout.png"
cmp -s "${OUT}/tile.png" "${OUT}/stdout.png" || fail "--output=- differs"
TMS_Y=$(((1 << 12) - 1 - Y))
"${TOOLS}/extract_tile" "${OUT}/l7.fpyr" 12 "$X" "$TMS_Y" --tms --output="${OUT}/tms.png" 2>/dev/null
cmp -s "${OUT}/tile.png" "${OUT}/tms.png" || fail "--tms row $TMS_Y differs"
# Relative --output and FILE resolve against BUILD_WORKING_DIRECTORY (set by `bazel run`).
(cd / && BUILD_WORKING_DIRECTORY="${OUT}" "${TOOLS}/extract_tile" l7.fpyr 12 "$X" "$Y" \
  --output=relative.png 2>/dev/null) || fail "relative paths: exit $?"
cmp -s "${OUT}/tile.png" "${OUT}/relative.png" || fail "relative --output differs"

# Errors: exit code 1 (bad file or tile) or 2 (bad command line), one exact line.
echo "flatpyramid test: not a pyramid" >"${OUT}/notes.txt"
T="extract_tile:"
expect_error 1 "$T tile 12/0/0 holds no data (empty tiles are not stored)" \
  extract_tile "${OUT}/l7.fpyr" 12 0 0 --output="${OUT}/x"
expect_error 1 "$T tile 12/5000/0 is outside the tile matrix (4096 x 4096 tiles at zoom 12)" \
  extract_tile "${OUT}/l7.fpyr" 12 5000 0 --output="${OUT}/x"
expect_error 1 "$T TMS row 99999 is outside 0..4095 at zoom 12" \
  extract_tile "${OUT}/l7.fpyr" 12 "$X" 99999 --tms --output="${OUT}/x"
expect_error 1 "$T tile 13/0/0: the pyramid has no level 13 (zooms 11..12)" \
  extract_tile "${OUT}/l7.fpyr" 13 0 0 --output="${OUT}/x"
expect_error 1 "$T cannot create ${OUT}/no/such/dir/t.png: check the directory exists and is writable" \
  extract_tile "${OUT}/l7.fpyr" 12 "$X" "$Y" --output="${OUT}/no/such/dir/t.png"
expect_error 2 "$T no --output: give --output=PATH or --output=- (see extract_tile --help)" \
  extract_tile "${OUT}/l7.fpyr" 12 "$X" "$Y"
expect_error 2 "$T Z X Y must be non-negative integers, got \"12 west $Y\" (see extract_tile --help)" \
  extract_tile "${OUT}/l7.fpyr" 12 west "$Y" --output="${OUT}/x"
expect_error 2 "$T give four arguments: FILE Z X Y (see extract_tile --help)" \
  extract_tile "${OUT}/l7.fpyr" 12 "$X" --output="${OUT}/x"
expect_error 1 "$T ${OUT}/missing.fpyr: open: No such file or directory" \
  extract_tile "${OUT}/missing.fpyr" 12 "$X" "$Y" --output="${OUT}/x"
expect_error 1 "$T ${OUT}/notes.txt: $(stat -c %s "${OUT}/notes.txt") bytes, smaller than the 32768-byte header region: not a flatpyramid store, or truncated" \
  extract_tile "${OUT}/notes.txt" 12 "$X" "$Y" --output="${OUT}/x"
[[ -e "${OUT}/x" ]] && fail "a failed extract_tile wrote ${OUT}/x"
finish
