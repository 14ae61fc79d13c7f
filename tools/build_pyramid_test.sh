#!/bin/bash
# End-to-end tests of the build_pyramid binary: the demo, flags, every error path (one clear
# line, non-zero exit), a full disk, and kill -9 + --resume.
# Usage: build_pyramid_test.sh PATH_TO_build_pyramid
set -u
TOOL="$(pwd)/$1"
DATA="$(pwd)/testing/data"
WORK="${TEST_TMPDIR:-$(mktemp -d)}/build_pyramid_test"
rm -rf "$WORK" && mkdir -p "$WORK"
export GDAL_PAM_ENABLED=NO
FAILURES=0

fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

# expect_error NAME EXPECTED_SUBSTRING -- ARGS...: non-zero exit, one stderr line with it.
expect_error() {
  local name="$1" expected="$2"
  shift 3
  local err="$WORK/$name.err"
  if "$TOOL" "$@" >/dev/null 2>"$err"; then
    fail "$name: exit code 0, expected an error"
    return
  fi
  if [[ "$(wc -l <"$err")" -ne 1 ]]; then
    fail "$name: expected one error line, got: $(cat "$err")"
  fi
  if ! grep -q -- "$expected" "$err"; then
    fail "$name: error does not mention '$expected': $(cat "$err")"
  fi
  if ! grep -q "^build_pyramid: error: " "$err"; then
    fail "$name: error line lacks the 'build_pyramid: error:' prefix: $(cat "$err")"
  fi
}

# tiles_of STDERR_FILE: the tile count from the "built ...: N tiles" line.
tiles_of() { sed -n 's/.* \([0-9][0-9]*\) tiles (.*/\1/p' "$1" | tail -1; }

# 1. The demo: no --input builds the bundled Landsat sample where `bazel run` was called.
mkdir -p "$WORK/demo"
if ! BUILD_WORKING_DIRECTORY="$WORK/demo" "$TOOL" >"$WORK/demo.out" 2>"$WORK/demo.err"; then
  fail "demo: $(cat "$WORK/demo.err")"
fi
[[ -s "$WORK/demo/flatpyramid_demo.fpyr" ]] || fail "demo: ./flatpyramid_demo.fpyr not written"
grep -q "L7_ETMs.tif" "$WORK/demo.err" || fail "demo: does not say what it built"
grep -q "pyramid_info" "$WORK/demo.err" || fail "demo: does not say how to look at the result"
# Running it again replaces the demo file (the README's first command always works).
BUILD_WORKING_DIRECTORY="$WORK/demo" "$TOOL" --quiet 2>/dev/null || fail "demo: second run failed"

# 2. --help explains every flag and exits 0.
if ! "$TOOL" --help >"$WORK/help.txt" 2>&1; then fail "--help: non-zero exit"; fi
for flag in input output tms tile_size min_zoom max_zoom zoom_strategy codec quality resampling \
  overview_resampling bands source_srs nodata threads resume overwrite quiet; do
  grep -q -- "-$flag" "$WORK/help.txt" || fail "--help does not explain --$flag"
done

# 3. Relative paths resolve against BUILD_WORKING_DIRECTORY.
mkdir -p "$WORK/rel"
cp "$DATA/elev.tif" "$WORK/rel/dem.tif"
if ! BUILD_WORKING_DIRECTORY="$WORK/rel" "$TOOL" --input=dem.tif --output=dem.fpyr --quiet \
  2>"$WORK/rel.err"; then
  fail "relative paths: $(cat "$WORK/rel.err")"
fi
[[ -s "$WORK/rel/dem.fpyr" ]] || fail "relative paths: dem.fpyr not written next to dem.tif"

# 4. Errors: one line naming the problem and the fix.
expect_error missing_input "does not exist" -- --input="$WORK/nope.tif" --output="$WORK/x.fpyr"
expect_error no_output "--output" -- --input="$DATA/elev.tif"
expect_error no_crs "--source_srs" -- --input="$DATA/etopo20.cdf" --output="$WORK/x.fpyr"
expect_error exists "--overwrite" -- --input="$DATA/elev.tif" --output="$WORK/rel/dem.fpyr"
expect_error bad_tms "WorldCRS84Quad" -- --input="$DATA/elev.tif" --output="$WORK/x.fpyr" --tms=Foo
expect_error bad_codec "--codec" -- --input="$DATA/elev.tif" --output="$WORK/x.fpyr" --codec=gif
expect_error jpeg_dem "--codec" -- --input="$DATA/elev.tif" --output="$WORK/x.fpyr" --codec=jpeg
expect_error bad_bands "--bands" -- --input="$DATA/L7_ETMs.tif" --output="$WORK/x.fpyr" --bands=3,x
expect_error missing_band "band 9" -- --input="$DATA/L7_ETMs.tif" --output="$WORK/x.fpyr" --bands=9
expect_error bad_nodata "--nodata" -- --input="$DATA/elev.tif" --output="$WORK/x.fpyr" --nodata=abc
expect_error stray_argument "unexpected argument" -- "$DATA/elev.tif"
expect_error resume_finished "nothing to resume" -- --input="$DATA/elev.tif" \
  --output="$WORK/rel/dem.fpyr" --resume
[[ -e "$WORK/x.fpyr" ]] && fail "a failed build left $WORK/x.fpyr behind"

# 5. A full disk (file size limit): a clear error, and no sealed pyramid left behind.
(
  trap '' XFSZ
  ulimit -f 2048
  exec "$TOOL" --input="$DATA/L7_ETMs.tif" --bands=3,2,1 --output="$WORK/full.fpyr" \
    --max_zoom=16 --codec=png --quiet
) 2>"$WORK/full.err" && fail "disk full: exit code 0"
[[ "$(wc -l <"$WORK/full.err")" -eq 1 ]] || fail "disk full: expected one line: $(cat "$WORK/full.err")"
grep -q "^build_pyramid: error: .*free disk space" "$WORK/full.err" ||
  fail "disk full: $(cat "$WORK/full.err")"

# 6. kill -9 in the middle, then --resume: same tile count as a clean build.
ARGS=(--input="$DATA/L7_ETMs.tif" --bands=3,2,1 --max_zoom=16 --min_zoom=10 --threads=1)
"$TOOL" "${ARGS[@]}" --output="$WORK/clean.fpyr" 2>"$WORK/clean.err" ||
  fail "clean build: $(cat "$WORK/clean.err")"
"$TOOL" "${ARGS[@]}" --output="$WORK/killed.fpyr" --commit_seconds=0 2>"$WORK/killed.err" &
PID=$!
# The first progress line comes after the first block is committed.
for _ in $(seq 1 500); do
  grep -q "^progress:" "$WORK/killed.err" 2>/dev/null && break
  sleep 0.02
done
kill -9 "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
if ! "$TOOL" "${ARGS[@]}" --output="$WORK/killed.fpyr" --resume 2>"$WORK/resume.err" >/dev/null; then
  # Killed before its first commit point: the tool says so and --overwrite starts again.
  grep -q -- "--overwrite" "$WORK/resume.err" || fail "resume: $(cat "$WORK/resume.err")"
  echo "note: killed before the first commit point" >&2
  "$TOOL" "${ARGS[@]}" --output="$WORK/killed.fpyr" --overwrite 2>"$WORK/resume.err" ||
    fail "rebuild: $(cat "$WORK/resume.err")"
fi
compgen -G "$WORK/killed.fpyr.resume-*" >/dev/null && fail "resume side files left behind"
CLEAN_TILES="$(tiles_of "$WORK/clean.err")"
RESUMED_TILES="$(tiles_of "$WORK/resume.err")"
[[ -n "$CLEAN_TILES" && "$CLEAN_TILES" == "$RESUMED_TILES" ]] ||
  fail "resume: $RESUMED_TILES tiles, clean build $CLEAN_TILES"

if [[ "$FAILURES" -ne 0 ]]; then
  echo "$FAILURES failure(s)" >&2
  exit 1
fi
echo "PASS"
