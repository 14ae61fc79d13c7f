#!/bin/bash
# slurm_submit.sh on a real Slurm cluster (munged, slurmctld, slurmd in a temporary
# directory): an array of 3 build_pyramid --shard tasks and the merge job held by
# --dependency=afterok; the merged pyramid equals a single build tile for tile. Prints how
# long the sharded run and the single build took.
set -uo pipefail
root="${TEST_SRCDIR}/flatpyramid"
# shellcheck source=testing/slurm/local_slurm.sh
source "${root}/testing/slurm/local_slurm.sh"
trap slurm_stop EXIT
trap "exit 143" TERM INT HUP # Bazel's timeout: still stop the daemons.
export GDAL_PAM_ENABLED=NO FPYR_BIN="${root}/tools/"
work="${TEST_TMPDIR}/slurm"
flags=(--input="${root}/testing/data/L7_ETMs.tif" "--bands=3,2,1" --max_zoom=15)
slurm_start || exit 1

start=${SECONDS}
ids="$("${root}/docs/scale/slurm_submit.sh" 3 "${work}" "${TEST_TMPDIR}/merged.fpyr" \
  "${flags[@]}")" || { echo "FAIL: slurm_submit.sh" >&2; exit 1; }
read -r array merge <<<"${ids}"
slurm_wait "${merge}" 240 || { cat "${work}"/*.log >&2; exit 1; }
sharded=$((SECONDS - start))
states="$(slurm_job_states "${array}")"
if [[ "${states}" != "$(printf '%d COMPLETED 0:0\n' 0 1 2)" ]] ||
  [[ "$(slurm_job_states "${merge}")" != "N/A COMPLETED 0:0" ]]; then
  echo "FAIL: job states: ${states}; merge: $(slurm_job_states "${merge}")" >&2
  cat "${work}"/*.log >&2
  exit 1
fi
start=${SECONDS}
"${FPYR_BIN}build_pyramid" "${flags[@]}" --output="${TEST_TMPDIR}/single.fpyr" --quiet || exit 1
single=$((SECONDS - start))
"${root}/pyramid/testing/compare_pyramids" "${TEST_TMPDIR}/single.fpyr" \
  "${TEST_TMPDIR}/merged.fpyr" || exit 1
echo "sharded through Slurm (3 tasks + merge): ${sharded} s; single build: ${single} s"
echo PASS
