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
expect_error 1 "$T ${OUT}/no/such/dir/t.png: the directory ${OUT}/no/such/dir does not exist; create it first" \
  extract_tile "${OUT}/l7.fpyr" 12 "$X" "$Y" --output="${OUT}/no/such/dir/t.png"
# Never onto the pyramid (also through a link or ..), never over a file without --overwrite.
mkdir -p "${OUT}/sub"
ln -sf "${OUT}/l7.fpyr" "${OUT}/link.fpyr"
PYRAMID_BYTES="$(stat -c %s "${OUT}/l7.fpyr")"
for onto in "${OUT}/l7.fpyr" "${OUT}/link.fpyr" "${OUT}/sub/../l7.fpyr"; do
  expect_error 1 "$T ${onto}: is the input ${OUT}/l7.fpyr (the same file); write the output to another path" \
    extract_tile "${OUT}/l7.fpyr" 12 "$X" "$Y" --output="${onto}" --overwrite
done
[[ "$(stat -c %s "${OUT}/l7.fpyr")" == "${PYRAMID_BYTES}" ]] || fail "extract_tile changed the pyramid"
expect_error 1 "$T ${OUT}/tile.png exists: remove it or pass --overwrite" \
  extract_tile "${OUT}/l7.fpyr" 12 "$X" "$Y" --output="${OUT}/tile.png"
"${TOOLS}/extract_tile" "${OUT}/l7.fpyr" 12 "$X" "$Y" --output="${OUT}/tile.png" --overwrite \
  2>/dev/null || fail "--overwrite: exit $?"
cmp -s "${OUT}/tile.png" "${OUT}/stdout.png" || fail "--overwrite wrote other bytes"
# Negative numbers are positional arguments, refused by name; bad flags are exit code 2.
expect_error 2 "$T X must be >= 0, got -1 (see extract_tile --help)" \
  extract_tile "${OUT}/l7.fpyr" 12 -1 5 --output="${OUT}/x"
expect_error 2 "$T unknown flag --colour (see extract_tile --help)" \
  extract_tile "${OUT}/l7.fpyr" 12 "$X" "$Y" --colour --output="${OUT}/x"
expect_error 2 "$T --tms=maybe is not a valid bool (see extract_tile --help)" \
  extract_tile "${OUT}/l7.fpyr" 12 "$X" "$Y" --tms=maybe --output="${OUT}/x"
# A FIFO is refused at once instead of blocking in open.
expect_fifo_refused extract_tile 12 "$X" "$Y" --output="${OUT}/x"
# A tile whose stored location points outside the file's tile data: exit 1, "corrupt", no file.
cp "${OUT}/l7.fpyr" "${OUT}/damaged.fpyr"
python3 - "${OUT}/damaged.fpyr" "${SIZE}" <<'PY' || die "cannot damage the copy"
import struct, sys
path, size = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, "rb").read())
needle, patched = struct.pack("<Q", size), 0
# A location is (offset, length), two little-endian uint64: point the tile's offset far away.
for at in range(32768 + 8, len(data) - 8, 8):
    if data[at:at + 8] == needle and struct.unpack_from("<Q", data, at - 8)[0] < len(data):
        data[at - 8:at] = struct.pack("<Q", 1 << 50)
        patched += 1
open(path, "wb").write(bytes(data))
sys.exit(0 if patched else 1)
PY
expect_error 1 "$T ${OUT}/damaged.fpyr: tile 12/$X/$Y is corrupt (its stored location is outside the file's tile data); run verify_pyramid, and rebuild the pyramid" \
  extract_tile "${OUT}/damaged.fpyr" 12 "$X" "$Y" --output="${OUT}/x"
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
