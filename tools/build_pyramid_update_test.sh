#!/bin/bash
# build_pyramid --update end to end: the western 3/4 of the Landsat sample updated with the
# eastern part equals a build of both (compare_pyramids) and passes verify_pyramid; flags
# that conflict with the pyramid and incomplete command lines are refused with one line;
# --update --compact keeps every tile; a small newer patch is written in place (same inode)
# and equals a build with it last.
# shellcheck source=tools/tool_test_lib.sh
source "${TEST_SRCDIR}/flatpyramid/tools/tool_test_lib.sh"
TOOL="${TOOLS}/build_pyramid"
COMPARE="${TEST_SRCDIR}/flatpyramid/pyramid/testing/compare_pyramids"
ARGS=("--bands=3,2,1" --codec=png --min_zoom=12 --max_zoom=15 --threads=2 --quiet)

gdal_translate -q -srcwin 0 0 262 352 "${DATA}/L7_ETMs.tif" "${OUT}/west.tif" || die "west"
gdal_translate -q -srcwin 261 0 88 352 "${DATA}/L7_ETMs.tif" "${OUT}/east.tif" || die "east"
"${TOOL}" --input="${OUT}/west.tif,${OUT}/east.tif" --output="${OUT}/full.fpyr" "${ARGS[@]}" ||
  die "full build"
"${TOOL}" --input="${OUT}/west.tif" --output="${OUT}/mosaic.fpyr" "${ARGS[@]}" || die "west build"

# Relative paths, and the flags taken from the pyramid (only --quiet given).
(cd "${OUT}" && "${TOOL}" --update --input=east.tif --output=mosaic.fpyr --quiet) ||
  die "update"
"${TOOLS}/verify_pyramid" "${OUT}/mosaic.fpyr" >/dev/null || die "verify after the update"
"${COMPARE}" "${OUT}/full.fpyr" "${OUT}/mosaic.fpyr" 2>"${OUT}/compare.err" ||
  die "update differs from the build of both: $(cat "${OUT}/compare.err")"
[[ ! -e "${OUT}/mosaic.fpyr.update-tiles" && ! -e "${OUT}/mosaic.fpyr.update" ]] ||
  die "work files left"

expect_error 2 "build_pyramid: --codec=jpeg conflicts with the pyramid, built with --codec=png: an update keeps the pyramid's flags (leave --codec out) (see build_pyramid --help)" \
  build_pyramid --update --input="${OUT}/east.tif" --output="${OUT}/mosaic.fpyr" --codec=jpeg
expect_error 2 "build_pyramid: --update needs --input=NEW.tif (added on top), --bbox to render an area again, or --compact (see build_pyramid --help)" \
  build_pyramid --update --output="${OUT}/mosaic.fpyr"
expect_error 2 "build_pyramid: --compact needs --update (see build_pyramid --help)" \
  build_pyramid --compact --input="${OUT}/east.tif" --output="${OUT}/x.fpyr"

"${TOOL}" --update --compact --output="${OUT}/mosaic.fpyr" --quiet || die "compact"
"${TOOLS}/verify_pyramid" "${OUT}/mosaic.fpyr" >/dev/null || die "verify after compacting"
"${COMPARE}" "${OUT}/full.fpyr" "${OUT}/mosaic.fpyr" 2>"${OUT}/compare.err" ||
  die "compacting changed tiles: $(cat "${OUT}/compare.err")"

# A small newer patch: changed in place (the same file), equal to a build with it last.
gdal_translate -q -srcwin 280 100 40 60 -scale 0 255 255 0 "${DATA}/L7_ETMs.tif" \
  "${OUT}/patch.tif" || die "patch"
"${TOOL}" --input="${OUT}/west.tif,${OUT}/east.tif,${OUT}/patch.tif" \
  --output="${OUT}/full_patch.fpyr" "${ARGS[@]}" || die "full build with the patch"
inode=$(stat -c %i "${OUT}/mosaic.fpyr")
"${TOOL}" --update --input="${OUT}/patch.tif" --output="${OUT}/mosaic.fpyr" 2>"${OUT}/update.err" ||
  die "patch update: $(cat "${OUT}/update.err")"
grep -q "^updated ${OUT}/mosaic.fpyr in place: " "${OUT}/update.err" ||
  die "not in place: $(cat "${OUT}/update.err")"
[[ "$(stat -c %i "${OUT}/mosaic.fpyr")" == "${inode}" ]] || die "the update replaced the file"
"${TOOLS}/verify_pyramid" "${OUT}/mosaic.fpyr" >/dev/null || die "verify after the patch"
"${COMPARE}" "${OUT}/full_patch.fpyr" "${OUT}/mosaic.fpyr" 2>"${OUT}/compare.err" ||
  die "patch update differs from the build with it last: $(cat "${OUT}/compare.err")"
echo PASS
