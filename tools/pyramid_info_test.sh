#!/bin/bash
# End to end: pyramid_info on a pyramid that build_pyramid made from the real Landsat scene.
set -u
TOOLS="${TEST_SRCDIR}/flatpyramid/tools"
DATA="${TEST_SRCDIR}/flatpyramid/testing/data"
OUT="${TEST_TMPDIR}"
fail() { echo "FAIL: $*" >&2; exit 1; }

"${TOOLS}/build_pyramid" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --max_zoom=12 \
  --min_zoom=9 --output="${OUT}/l7.fpyr" --quiet || fail "build_pyramid failed"

# Text: the facts the builder stored, one per line.
"${TOOLS}/pyramid_info" "${OUT}/l7.fpyr" > "${OUT}/info.txt" || fail "pyramid_info exited $?"
grep -q "^Tile matrix set:   WebMercatorQuad (EPSG:3857), 256x256 px tiles$" "${OUT}/info.txt" \
  || fail "tile matrix set line: $(cat "${OUT}/info.txt")"
grep -q "^Pixels:            4 band(s) of uint8 (Red, Green, Blue, Alpha), last band is alpha$" \
  "${OUT}/info.txt" || fail "pixels line"
grep -q "^Zooms:             9..12$" "${OUT}/info.txt" || fail "zooms line"
grep -q "bands=3,2,1" "${OUT}/info.txt" || fail "creation options are not shown"
[[ $(grep -cE "^ +(9|10|11|12) +[0-9]+ +[0-9]+ +[0-9]+ " "${OUT}/info.txt") == 4 ]] \
  || fail "expected one row per level 9..12"

# JSON: parses, levels agree with the metadata and with the file size.
"${TOOLS}/pyramid_info" "${OUT}/l7.fpyr" --json > "${OUT}/info.json" || fail "--json exited $?"
python3 - "${OUT}/info.json" "${OUT}/l7.fpyr" <<'PY' || fail "JSON content"
import json, os, sys
info = json.load(open(sys.argv[1]))
m = info["metadata"]
assert info["file_bytes"] == os.path.getsize(sys.argv[2]), info["file_bytes"]
assert info["sealed"] is True and info["build_in_progress"] is None
assert info["crs"] == "EPSG:3857"
assert m["tile_matrix_set"] == "WebMercatorQuad" and m["band_count"] == 4, m
assert [l["zoom"] for l in info["levels"]] == [9, 10, 11, 12]
for summary, level in zip(info["levels"], m["levels"]):
    assert summary["tiles"] == int(level["tile_count"]), (summary, level)
    assert summary["tile_range"] == [level["min_x"], level["min_y"], level["max_x"], level["max_y"]]
    b = summary["bounds"]
    assert b[0] < b[2] and b[1] < b[3]
# The data bounds lie inside the finest level's tile bounds.
fine = info["levels"][-1]["bounds"]
d = m["bounds"]
assert fine[0] <= d["min_x"] and d["max_x"] <= fine[2] and fine[1] <= d["min_y"] and d["max_y"] <= fine[3]
PY

# A build in progress (stopped with SIGSTOP after its first commit point, lock held), then
# killed: refused without --allow_being_written (naming it), shown with its progress with it.
source "${TEST_SRCDIR}/flatpyramid/tools/internal/paused_build.sh"
pause_build "${TOOLS}/build_pyramid" "${OUT}/building.fpyr" "${DATA}/L7_ETMs.tif" \
  || fail "every build finished before it could be paused"
"${TOOLS}/pyramid_info" "${OUT}/building.fpyr" 2> "${OUT}/err.txt"; rc=$?
[[ $rc == 1 ]] && grep -q "being written.*--allow_being_written" "${OUT}/err.txt" \
  || fail "running build without the flag: exit $rc: $(cat "${OUT}/err.txt")"
"${TOOLS}/pyramid_info" "${OUT}/building.fpyr" --allow_being_written > "${OUT}/running.txt" \
  || fail "running build: exit $?"
grep -qE "^Build:             unfinished, [0-9.]+%: [1-9][0-9]* of [0-9]+ blocks committed, [0-9]+ tiles; build_pyramid is writing it now" \
  "${OUT}/running.txt" || fail "running build: $(head -5 "${OUT}/running.txt")"
grep -q "^Size:              .*NOT sealed" "${OUT}/running.txt" || fail "running build: sealed?"
kill -9 "${PAUSED_PID}"
wait "${PAUSED_PID}" 2> /dev/null
"${TOOLS}/pyramid_info" "${OUT}/building.fpyr" 2> "${OUT}/err.txt"; rc=$?
[[ $rc == 1 && $(wc -l < "${OUT}/err.txt") == 1 ]] \
  && grep -q "an unfinished build (.*--resume.*--allow_being_written" "${OUT}/err.txt" \
  || fail "killed build without the flag: exit $rc: $(cat "${OUT}/err.txt")"
"${TOOLS}/pyramid_info" "${OUT}/building.fpyr" --allow_being_written --json > "${OUT}/killed.json" \
  || fail "killed build --json: exit $?"
python3 - "${OUT}/killed.json" <<'PY' || fail "killed build JSON"
import json, sys
info = json.load(open(sys.argv[1]))
b = info["build_in_progress"]
assert info["sealed"] is False and b["writer_active"] is False, info
assert 1 <= b["units_done"] < b["units_total"], b
# The per-level counts are the commit point's: they add up to the tiles it had written.
assert sum(l["tiles"] for l in info["levels"]) == b["tiles_written"], (info["levels"], b)
PY

# Errors: one line on stderr, exit 1 (bad file) or 2 (bad usage).
"${TOOLS}/pyramid_info" "${OUT}/missing.fpyr" 2> "${OUT}/err.txt"; rc=$?
[[ $rc == 1 ]] || fail "missing file: exit $rc"
[[ $(wc -l < "${OUT}/err.txt") == 1 ]] && grep -q "missing.fpyr" "${OUT}/err.txt" \
  || fail "missing file message: $(cat "${OUT}/err.txt")"
"${TOOLS}/pyramid_info" "${DATA}/L7_ETMs.tif" 2> "${OUT}/err.txt"; rc=$?
[[ $rc == 1 ]] || fail "a GeoTIFF is not a pyramid: exit $rc"
"${TOOLS}/pyramid_info" 2> /dev/null; rc=$?
[[ $rc == 2 ]] || fail "no argument: exit $rc"
"${TOOLS}/pyramid_info" --help > "${OUT}/help.txt"; rc=$?
[[ $rc == 0 ]] && grep -q -- "--json" "${OUT}/help.txt" && grep -q -- "--allow_being_written" \
  "${OUT}/help.txt" || fail "--help: exit $rc"
echo PASS
