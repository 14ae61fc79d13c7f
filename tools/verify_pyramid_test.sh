#!/bin/bash
# End to end: verify_pyramid accepts what build_pyramid writes and refuses damaged copies.
# shellcheck source=tools/tool_test_lib.sh
source "${TEST_SRCDIR}/flatpyramid/tools/tool_test_lib.sh"

"${TOOLS}/build_pyramid" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --max_zoom=12 \
  --min_zoom=8 --output="${OUT}/l7.fpyr" --quiet || die "build_pyramid failed"
"${TOOLS}/verify_pyramid" "${OUT}/l7.fpyr" > "${OUT}/ok.txt" || fail "good file: exit $?"
grep -q "^OK: ${OUT}/l7.fpyr: 5 levels (zoom 8..12), [0-9]* tiles decoded, checksums verified$" \
  "${OUT}/ok.txt" || fail "$(cat "${OUT}/ok.txt")"

# Relative paths resolve against BUILD_WORKING_DIRECTORY (what `bazel run` sets), not the cwd.
(cd / && BUILD_WORKING_DIRECTORY="${OUT}" "${TOOLS}/verify_pyramid" l7.fpyr > "${OUT}/rel.txt") \
  || fail "relative path: exit $?"
grep -q "^OK: ${OUT}/l7.fpyr: " "${OUT}/rel.txt" || fail "relative path: $(cat "${OUT}/rel.txt")"

# A build in progress (stopped with SIGSTOP after its first commit point, lock held) is
# refused even with --allow_being_written; once killed, its last commit point verifies.
source "${TEST_SRCDIR}/flatpyramid/tools/internal/paused_build.sh"
pause_build "${TOOLS}/build_pyramid" "${OUT}/building.fpyr" "${DATA}/L7_ETMs.tif" \
  || die "every build finished before it could be paused"
"${TOOLS}/verify_pyramid" "${OUT}/building.fpyr" --allow_being_written 2> "${OUT}/err.txt"; rc=$?
[[ $rc == 1 ]] && grep -q "build_pyramid is writing it now.*once build_pyramid has finished" \
  "${OUT}/err.txt" || fail "running build: exit $rc: $(cat "${OUT}/err.txt")"
kill -9 "${PAUSED_PID}"
wait "${PAUSED_PID}" 2> /dev/null
"${TOOLS}/verify_pyramid" "${OUT}/building.fpyr" 2> "${OUT}/err.txt"; rc=$?
[[ $rc == 1 ]] && grep -q "an unfinished build.*--allow_being_written" "${OUT}/err.txt" \
  || fail "killed build without the flag: exit $rc: $(cat "${OUT}/err.txt")"
"${TOOLS}/verify_pyramid" "${OUT}/building.fpyr" --allow_being_written > "${OUT}/ok.txt" \
  || fail "killed build: exit $?: $(cat "${OUT}/ok.txt")"
grep -qE "^OK: ${OUT}/building.fpyr: last commit point of an unfinished build \([1-9][0-9]* of [0-9]+ blocks committed, [0-9]+ tiles; no build_pyramid is writing it\): [0-9]+ levels .* tiles decoded, checksums not present \(unsealed\)$" \
  "${OUT}/ok.txt" || fail "killed build: $(cat "${OUT}/ok.txt")"

# Damaged copies and other files: exit code 1 and one line naming the file and the fault.
V="verify_pyramid: "
SIZE=$(stat -c %s "${OUT}/l7.fpyr")
# One flipped byte in every 16 KiB after the headers: tile data, keys and locations.
cp "${OUT}/l7.fpyr" "${OUT}/flipped.fpyr"
python3 - "${OUT}/flipped.fpyr" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
for offset in range(len(data) // 2, len(data) - 4096, 16384):
    data[offset] ^= 0x40
open(sys.argv[1], "wb").write(data)
PY
expect_error_matching 1 "${V}${OUT}/flipped\\.fpyr: section [0-9]+ 'z[0-9]+': (keys|locations|values) array CRC32C is [0-9]+, the header says [0-9]+: the file is corrupt" \
  verify_pyramid "${OUT}/flipped.fpyr"
head -c $((SIZE / 2)) "${OUT}/l7.fpyr" >"${OUT}/truncated.fpyr"
expect_error_matching 1 "${V}${OUT}/truncated\\.fpyr: section [0-9]+ 'z[0-9]+' (keys|locations|values) array: \\[[0-9]+, \\+[0-9]+\\) is outside the $((SIZE / 2))-byte file \\(truncated\\?\\)" \
  verify_pyramid "${OUT}/truncated.fpyr"
echo "flatpyramid test: not a pyramid" >"${OUT}/notes.txt"
expect_error 1 "${V}${OUT}/notes.txt: $(stat -c %s "${OUT}/notes.txt") bytes, smaller than the 32768-byte header region: not a flatpyramid store, or truncated" \
  verify_pyramid "${OUT}/notes.txt"
expect_error 1 "${V}${DATA}/L7_ETMs.tif: no valid header slot (not a flatpyramid store, never committed, or corrupt): header slot 0: bad magic (not a flatpyramid store, or corrupt); header slot 1: bad magic (not a flatpyramid store, or corrupt)" \
  verify_pyramid "${DATA}/L7_ETMs.tif"
expect_error 1 "${V}${OUT}/missing.fpyr: open: No such file or directory" verify_pyramid "${OUT}/missing.fpyr"
expect_error 2 "${V}give exactly one argument: the pyramid FILE (see verify_pyramid --help)" verify_pyramid
expect_fifo_refused verify_pyramid
finish
