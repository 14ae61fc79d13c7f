#!/bin/bash
# End to end: pyramid_info on a pyramid that build_pyramid made from the real Landsat scene.
# shellcheck source=tools/tool_test_lib.sh
source "${TEST_SRCDIR}/flatpyramid/tools/tool_test_lib.sh"

"${TOOLS}/build_pyramid" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --max_zoom=12 \
  --min_zoom=9 --output="${OUT}/l7.fpyr" --quiet || die "build_pyramid failed"

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
  || die "every build finished before it could be paused"
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

# Errors: exit code 1 (bad file) or 2 (bad command line), one exact line.
echo "flatpyramid test: not a pyramid" >"${OUT}/notes.txt"
expect_error 1 "pyramid_info: ${OUT}/missing.fpyr: open: No such file or directory" \
  pyramid_info "${OUT}/missing.fpyr"
expect_error 1 "pyramid_info: ${OUT}/notes.txt: $(stat -c %s "${OUT}/notes.txt") bytes, smaller than the 32768-byte header region: not a flatpyramid store, or truncated" \
  pyramid_info "${OUT}/notes.txt"
expect_error 1 "pyramid_info: ${DATA}/L7_ETMs.tif: no valid header slot (not a flatpyramid store, never committed, or corrupt): header slot 0: bad magic (not a flatpyramid store, or corrupt); header slot 1: bad magic (not a flatpyramid store, or corrupt)" \
  pyramid_info "${DATA}/L7_ETMs.tif"
expect_error 2 "pyramid_info: give exactly one argument: the pyramid FILE (see pyramid_info --help)" \
  pyramid_info
expect_error 2 "pyramid_info: give exactly one argument: the pyramid FILE (see pyramid_info --help)" \
  pyramid_info "${OUT}/l7.fpyr" "${OUT}/l7.fpyr"
expect_fifo_refused pyramid_info
finish
