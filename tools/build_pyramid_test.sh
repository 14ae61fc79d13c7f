#!/bin/bash
# End-to-end tests of the build_pyramid binary: the demo, relative paths, --quiet, progress
# output, every error path (exit code 1 and one exact line naming the problem and the fix),
# and a full disk. kill -9 + --resume is build_pyramid_resume_test.sh; --help is help_test.sh.
# shellcheck source=tools/tool_test_lib.sh
source "${TEST_SRCDIR}/flatpyramid/tools/tool_test_lib.sh"
shopt -s extglob
TOOL="${TOOLS}/build_pyramid"
WORK="${OUT}/build_pyramid_test"
rm -rf "${WORK}" && mkdir -p "${WORK}"

# 1. The demo: no --input builds the bundled Landsat sample where `bazel run` was called.
mkdir -p "${WORK}/demo"
BUILD_WORKING_DIRECTORY="${WORK}/demo" "${TOOL}" >"${WORK}/demo.out" 2>"${WORK}/demo.err" ||
  fail "demo: $(cat "${WORK}/demo.err")"
[[ -s "${WORK}/demo/flatpyramid_demo.fpyr" ]] || fail "demo: ./flatpyramid_demo.fpyr not written"
grep -q "^built ${WORK}/demo/flatpyramid_demo.fpyr: WebMercatorQuad, zoom 0\.\.12, " "${WORK}/demo.err" ||
  fail "demo: no 'built ...' line: $(cat "${WORK}/demo.err")"
grep -q "^This is the bundled Landsat 7 sample (testing/data/L7_ETMs.tif, bands 3,2,1 as RGB)" \
  "${WORK}/demo.err" || fail "demo: does not say what it built"
grep -q "^  ./bazelw run //tools:pyramid_info -- ${WORK}/demo/flatpyramid_demo.fpyr$" "${WORK}/demo.err" ||
  fail "demo: does not say how to look at the result"
"${TOOLS}/verify_pyramid" "${WORK}/demo/flatpyramid_demo.fpyr" >/dev/null || fail "demo: not a sound pyramid"
# Running it again replaces the demo file (the README's first command always works).
BUILD_WORKING_DIRECTORY="${WORK}/demo" "${TOOL}" --quiet 2>/dev/null || fail "demo: second run failed"

# 2. Relative paths resolve against BUILD_WORKING_DIRECTORY; --quiet leaves stderr empty.
mkdir -p "${WORK}/rel"
cp "${DATA}/elev.tif" "${WORK}/rel/dem.tif"
(cd / && BUILD_WORKING_DIRECTORY="${WORK}/rel" "${TOOL}" --input=dem.tif --output=dem.fpyr --quiet \
  >"${WORK}/rel.out" 2>"${WORK}/rel.err") || fail "relative paths: $(cat "${WORK}/rel.err")"
[[ -s "${WORK}/rel/dem.fpyr" ]] || fail "relative paths: dem.fpyr not written next to dem.tif"
[[ -s "${WORK}/rel.err" || -s "${WORK}/rel.out" ]] &&
  fail "--quiet: output on success: $(cat "${WORK}/rel.out" "${WORK}/rel.err")"

# 3. Progress when stderr is not a terminal: plain "progress:" lines (no bar, no carriage
# returns), blocks counting up to the total, then the one "built" line.
"${TOOL}" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --min_zoom=12 --max_zoom=14 --threads=2 \
  --output="${WORK}/progress.fpyr" >/dev/null 2>"${WORK}/progress.err" || fail "progress build failed"
python3 - "${WORK}/progress.err" "${WORK}/progress.fpyr" <<'PY' || fail "progress lines: $(cat "${WORK}/progress.err")"
import re, sys
text = open(sys.argv[1], "rb").read().decode()
assert "\r" not in text, "carriage return in non-terminal output"
lines = text.splitlines()
line = re.compile(r"progress: (\d+)/(\d+) blocks \((\d+\.\d)%\), (\d+) tiles, \d+ tiles/s, "
                  r"(\d+:\d\d|--:--) left$")
progress = [line.match(l) for l in lines[:-1]]
assert len(progress) >= 2 and all(progress), lines
done = [int(m.group(1)) for m in progress]
total = int(progress[0].group(2))
tiles = [int(m.group(4)) for m in progress]
assert total >= 2 and all(int(m.group(2)) == total for m in progress), lines
assert done == sorted(done) and done[0] >= 1 and done[-1] == total, done
assert tiles == sorted(tiles), tiles
assert progress[-1].group(3) == "100.0" and progress[-1].group(5) == "0:00", lines[-2]
for m in progress:
    assert m.group(3) == "%.1f" % (100.0 * int(m.group(1)) / total), m.group(0)
built = re.match(r"built %s: WebMercatorQuad, zoom 12\.\.14, (\d+) tiles \((\d+) unique\), "
                 r"codec jpeg, \d+\.\d s$" % re.escape(sys.argv[2]), lines[-1])
assert built and int(built.group(1)) == tiles[-1], (lines[-1], tiles[-1])
PY
# On a terminal (script(1) gives it one): a redrawn bar instead of lines.
script -qec "'${TOOL}' --input='${DATA}/elev.tif' --output='${WORK}/tty.fpyr'" /dev/null \
  >"${WORK}/tty.txt" 2>&1 || fail "terminal build: $(cat "${WORK}/tty.txt")"
grep -q $'\r\\[#* *] 100\\.0% [0-9]* tiles, [0-9]* tiles/s, 0:00 left' "${WORK}/tty.txt" ||
  fail "terminal: no progress bar: $(cat -v "${WORK}/tty.txt")"
grep -q "progress:" "${WORK}/tty.txt" && fail "terminal: plain progress lines on a terminal"

# 4. Errors: one line naming the problem and the fix, exit code 1 for bad input or output,
# 2 for a bad command line; nothing is written.
E="build_pyramid:"
U="(see build_pyramid --help)"
echo "flatpyramid test: not a raster" >"${WORK}/notes.txt"
gdal_translate -q -a_srs EPSG:4326 -a_ullr 10 89.9 11 89.5 "${DATA}/elev.tif" "${WORK}/north.tif" ||
  die "gdal_translate failed"
X="${WORK}/x.fpyr"
expect_error 1 "${E} input ${WORK}/nope.tif does not exist: check --input" \
  build_pyramid --input="${WORK}/nope.tif" --output="${X}"
expect_error 1 "${E} input ${WORK}/notes.txt cannot be read as a raster by GDAL (GDAL gave no reason): check the file, or convert it with gdal_translate" \
  build_pyramid --input="${WORK}/notes.txt" --output="${X}"
expect_error 1 "${E} ${WORK}/north.tif: the raster lies entirely beyond WebMercator's latitude limit (89.5 to 89.9 degrees, limit +-85.0511287798); use WorldCRS84Quad" \
  build_pyramid --input="${WORK}/north.tif" --output="${X}"
expect_error 2 "${E} --bbox=\"1,2,3\" is not four numbers min_x,min_y,max_x,max_y (e.g. --bbox=-34.9,-8.0,-34.85,-7.95) ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${WORK}/bbox.fpyr" --bbox=1,2,3
expect_error 2 "${E} --bbox_srs needs --bbox ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${WORK}/bbox.fpyr" --bbox_srs=EPSG:3857
expect_error 1 "${E} --bbox 10,20,11,21 (EPSG:4326) does not overlap the source" \
  build_pyramid --input="${DATA}/elev.tif" --output="${WORK}/bbox.fpyr" --bbox=10,20,11,21
expect_error 1 "${E} input ${DATA}/etopo20.cdf has no CRS: give it with --source_srs (e.g. --source_srs=EPSG:4326)" \
  build_pyramid --input="${DATA}/etopo20.cdf" --output="${X}"
expect_error 1 "${E} --source_srs=EPSG:999999 is not a CRS GDAL knows: use e.g. EPSG:4326 or a WKT/PROJ string" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --source_srs=EPSG:999999
expect_error_matching 1 "${E} .*/elev\.tif: cannot transform from the source CRS to WGS84: .*; check the CRS or give another in --source_srs" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --source_srs='LOCAL_CS["arbitrary"]'
expect_error 1 "${E} output ${WORK}/rel/dem.fpyr already exists: use --overwrite to replace it (or --resume to continue an interrupted build)" \
  build_pyramid --input="${DATA}/elev.tif" --output="${WORK}/rel/dem.fpyr"
expect_error 1 "${E} --codec=jpeg needs 1 or 3 uint8 bands but the source gives 1-band int16: select bands with --bands=3,2,1 or use --codec=png (or elevation)" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --codec=jpeg
expect_error 1 "${E} --bands: band 9 does not exist (the input has bands 1..6)" \
  build_pyramid --input="${DATA}/L7_ETMs.tif" --output="${X}" --bands=9
expect_error 1 "${E} --nodata=300 does not fit the source's uint8 samples: use an integer in 0..255" \
  build_pyramid --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --output="${X}" --nodata=300
# --resume of a finished pyramid: nothing to do with the same flags, refused with others.
expect_error 1 "${E} --resume: ${WORK}/rel/dem.fpyr was started with other inputs or options: rerun with the same flags, or with --overwrite to start again" \
  build_pyramid --input="${DATA}/elev.tif" --output="${WORK}/rel/dem.fpyr" --resume
DEM_BYTES="$(cksum <"${WORK}/rel/dem.fpyr")"
"${TOOL}" --input="${WORK}/rel/dem.tif" --output="${WORK}/rel/dem.fpyr" --resume \
  2>"${WORK}/done.err" || fail "--resume of a finished pyramid: exit $?: $(cat "${WORK}/done.err")"
[[ "$(cat "${WORK}/done.err")" == "nothing to do: ${WORK}/rel/dem.fpyr is already finished by the same build" ]] ||
  fail "--resume of a finished pyramid: $(cat "${WORK}/done.err")"
[[ "$(cksum <"${WORK}/rel/dem.fpyr")" == "${DEM_BYTES}" ]] || fail "--resume changed a finished pyramid"
# The output is one of the inputs (also through a link or ..): refused before anything is
# written, the input untouched.
ln -s "${WORK}/rel/dem.tif" "${WORK}/rel/link.tif"
mkdir -p "${WORK}/rel/sub"
DEM_TIF="$(cksum <"${WORK}/rel/dem.tif")"
for onto in "${WORK}/rel/dem.tif" "${WORK}/rel/link.tif" "${WORK}/rel/sub/../dem.tif"; do
  expect_error 1 "${E} ${onto}: is the input ${WORK}/rel/dem.tif (the same file); write the output to another path" \
    build_pyramid --input="${WORK}/rel/dem.tif" --output="${onto}" --overwrite
done
[[ "$(cksum <"${WORK}/rel/dem.tif")" == "${DEM_TIF}" ]] || fail "a refused build changed its input"
# Outputs that cannot be written name the cause (not "free disk space").
expect_error 1 "${E} the output's directory ${WORK}/missing does not exist: create it, or choose another --output" \
  build_pyramid --input="${DATA}/elev.tif" --output="${WORK}/missing/x.fpyr"
expect_error 1 "${E} output ${WORK} is a directory: give a file path in --output" \
  build_pyramid --input="${DATA}/elev.tif" --output="${WORK}" --overwrite
expect_error 1 "${E} output /dev/null is not a regular file (a device, FIFO or socket): give a file path in --output" \
  build_pyramid --input="${DATA}/elev.tif" --output=/dev/null --overwrite
# A FIFO as input is refused at once (GDAL would block reading it).
mkfifo "${WORK}/pipe.tif"
code=0
timeout 60 "${TOOL}" --input="${WORK}/pipe.tif" --output="${X}" 2>"${WORK}/fifo.err" || code=$?
[[ "${code}" == 1 && "$(cat "${WORK}/fifo.err")" == "${E} input ${WORK}/pipe.tif is a FIFO, not a raster file: give a file path in --input" ]] ||
  fail "FIFO input: exit code ${code}: $(cat "${WORK}/fifo.err")"
# A mosaic whose inputs differ in bands is refused naming the input GDAL would have dropped.
gdal_translate -q -b 1 "${DATA}/L7_ETMs.tif" "${WORK}/gray.tif" || die "gdal_translate failed"
gdal_translate -q -b 1 -b 2 -b 3 "${DATA}/L7_ETMs.tif" "${WORK}/rgb.tif" || die "gdal_translate failed"
expect_error 1 "${E} input ${WORK}/gray.tif has 1 band (Byte) but ${WORK}/rgb.tif has 3 bands (Byte,Byte,Byte): mosaicked inputs need the same bands (select them first with gdal_translate -b -ot, or build them separately)" \
  build_pyramid --input="${WORK}/rgb.tif,${WORK}/gray.tif" --output="${X}"
# Upsampling far beyond the source needs --allow_large_build, and says how many tiles.
expect_error_matching 1 "${E} the build would write up to [0-9.e+]+ tiles \(zoom 30\.\.30\): zoom 30 is 1[0-9] levels finer than the source \(zoom 1[0-9]\); lower --max_zoom, or set --allow_large_build to build it anyway" \
  build_pyramid --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --output="${X}" --min_zoom=30 --max_zoom=30
# Bad command lines: exit code 2.
expect_error 2 "${E} no output: give --output=FILE.fpyr ${U}" build_pyramid --input="${DATA}/elev.tif"
expect_error 2 "${E} unknown flag --colour ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --colour=red
expect_error 2 "${E} --threads=many is not a valid int32 ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --threads=many
expect_error 2 "${E} --threads=-1 is invalid: use 1 or more (or leave it unset for one per core) ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --threads=-1
expect_error 2 "${E} --codec=gif: codec 'gif' is not one of jpeg, png, webp, webp_lossless, elevation ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --codec=gif
expect_error 2 "${E} --bands=3,x: \"x\" is not a band number (e.g. --bands=3,2,1) ${U}" \
  build_pyramid --input="${DATA}/L7_ETMs.tif" --output="${X}" --bands=3,x
expect_error 2 "${E} --bands=3,,1: item 2 is empty (remove the extra comma) ${U}" \
  build_pyramid --input="${DATA}/L7_ETMs.tif" --output="${X}" --bands=3,,1
expect_error 2 "${E} --nodata=abc is not a number (e.g. --nodata=0) ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --nodata=abc
expect_error 2 "${E} --tile_size=300 is not supported: use 256 or 512 ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --tile_size=300
expect_error 2 "${E} --max_zoom=3 is below --min_zoom=9 ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --min_zoom=9 --max_zoom=3
expect_error 2 "${E} --max_zoom=-5 is out of range: use 0..30 (or leave it unset for the source resolution) ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --max_zoom=-5
expect_error 2 "${E} --quality=0 is out of range: use 1..100 ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --quality=0
expect_error 2 "${E} --resampling=sharp: unknown resampling 'sharp': use nearest, bilinear, cubic, cubicspline, lanczos, average or mode ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --resampling=sharp
expect_error 2 "${E} --zoom_strategy=best: unknown zoom strategy 'best': use nearest, lower or upper ${U}" \
  build_pyramid --input="${DATA}/elev.tif" --output="${X}" --zoom_strategy=best
expect_error 2 "${E} unexpected argument \"${DATA}/elev.tif\": every option is a --flag ${U}" \
  build_pyramid "${DATA}/elev.tif"
[[ -e "${X}" ]] && fail "a failed build left ${X} behind"
compgen -G "${X}.*" >/dev/null && fail "a failed build left $(echo "${X}".*) behind"

# 5. --threads above 4 per core is lowered, and says so; an elevation pyramid has no quality.
"${TOOL}" --input="${DATA}/elev.tif" --output="${WORK}/threads.fpyr" --threads=10000 \
  2>"${WORK}/threads.err" >/dev/null || fail "--threads=10000: $(cat "${WORK}/threads.err")"
cores="$(nproc)"
grep -qx "build_pyramid: --threads=10000 is more than 4 per core: using $((4 * cores))" \
  "${WORK}/threads.err" || fail "--threads=10000: no note: $(cat "${WORK}/threads.err")"
grep -q "codec elevation, [0-9.]* s$" "${WORK}/threads.err" ||
  fail "elevation build reports a quality: $(tail -1 "${WORK}/threads.err")"

# 6. A full disk (a file size limit): a clear error, and nothing left that looks like a
# pyramid: the reading tools refuse the file, and --resume says to start again.
(
  trap '' XFSZ
  ulimit -f 2048
  exec "${TOOL}" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --output="${WORK}/full.fpyr" \
    --max_zoom=16 --codec=png --allow_large_build --quiet
) 2>"${WORK}/full.err" && fail "disk full: exit code 0"
[[ "$(wc -l <"${WORK}/full.err")" == 1 &&
  "$(cat "${WORK}/full.err")" == "${E} cannot write the pyramid (${WORK}/full.fpyr: "+([a-z_])" to "+([0-9])": File too large): free disk space, then rerun with --overwrite" ]] ||
  fail "disk full: $(cat "${WORK}/full.err")"
UNFINISHED="${WORK}/full.fpyr: unfinished build, stopped before its first commit point (nothing to read): rerun build_pyramid with --resume, which starts it from the beginning"
if [[ -e "${WORK}/full.fpyr" ]]; then
  expect_error 1 "pyramid_info: ${UNFINISHED}" pyramid_info "${WORK}/full.fpyr"
  expect_error 1 "verify_pyramid: ${UNFINISHED}" verify_pyramid "${WORK}/full.fpyr"
  # Stopped before its first commit point: --resume builds it from the beginning, and says so.
  "${TOOL}" --input="${DATA}/L7_ETMs.tif" --bands=3,2,1 --output="${WORK}/full.fpyr" \
    --max_zoom=16 --codec=png --allow_large_build --resume --quiet 2>"${WORK}/again.err" ||
    fail "--resume before the first commit point: exit $?: $(cat "${WORK}/again.err")"
  [[ "$(cat "${WORK}/again.err")" == "--resume: ${WORK}/full.fpyr had no commit point yet: it was built from the beginning" ]] ||
    fail "--resume before the first commit point: $(cat "${WORK}/again.err")"
  "${TOOLS}/verify_pyramid" "${WORK}/full.fpyr" >/dev/null || fail "the rebuilt pyramid does not verify"
fi

finish
