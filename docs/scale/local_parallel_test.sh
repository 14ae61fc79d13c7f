#!/bin/bash
# local_parallel.sh as a user runs it: 3 shards of the Landsat sample with xargs -P 2, merged,
# equal tile for tile to a single build with the same flags.
set -euo pipefail
root="${TEST_SRCDIR}/flatpyramid"
export FPYR_BIN="${root}/tools/" JOBS=2 THREADS=1 GDAL_PAM_ENABLED=NO
work="${TEST_TMPDIR}/parallel"
flags=(--input="${root}/testing/data/L7_ETMs.tif" "--bands=3,2,1" --max_zoom=15)
"${FPYR_BIN}build_pyramid" "${flags[@]}" --output="${TEST_TMPDIR}/single.fpyr" --quiet
"${root}/docs/scale/local_parallel.sh" 3 "${work}" "${TEST_TMPDIR}/merged.fpyr" "${flags[@]}"
for i in 0 1 2; do
  [[ -s "${work}/shard-${i}.fpyr" ]] || { echo "FAIL: no shard ${i}" >&2; exit 1; }
done
"${root}/pyramid/testing/compare_pyramids" "${TEST_TMPDIR}/single.fpyr" "${TEST_TMPDIR}/merged.fpyr"
# A failing shard stops the recipe before the merge, with xargs' exit code.
code=0
"${root}/docs/scale/local_parallel.sh" 2 "${work}/bad" "${TEST_TMPDIR}/bad.fpyr" \
  --input=/nonexistent.tif 2>/dev/null || code=$?
[[ "${code}" == 123 ]] || { echo "FAIL: a failed shard gave exit code ${code}, not 123" >&2; exit 1; }
[[ ! -e "${TEST_TMPDIR}/bad.fpyr" ]] || { echo "FAIL: merged despite a failed shard" >&2; exit 1; }
echo PASS
