#!/bin/bash
# The local Slurm harness runs a real cluster: a job array runs every task once, a job with
# --dependency=afterok starts only after every task succeeded, a failed task holds its
# dependant forever, and slurm_stop leaves no daemon and no file behind.
set -u
# shellcheck source=testing/slurm/local_slurm.sh
source "${TEST_SRCDIR}/flatpyramid/testing/slurm/local_slurm.sh"
trap slurm_stop EXIT
trap "exit 143" TERM INT HUP # Bazel's timeout: still stop the daemons.
FAILURES=0
fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

start=${SECONDS}
slurm_start || exit 1
echo "cluster up in $((SECONDS - start)) s"
work="${TEST_TMPDIR}/jobs"
mkdir -p "${work}"

# shellcheck disable=SC2016 # The job expands its own variables.
array="$(sbatch --parsable --array=0-3 --output="${work}/task-%a.out" \
  --wrap='echo "task ${SLURM_ARRAY_TASK_ID} of ${SLURM_ARRAY_TASK_COUNT}"')" ||
  { fail "sbatch of the array"; exit 1; }
merge="$(sbatch --parsable --dependency="afterok:${array}" --output="${work}/merge.out" \
  --wrap="cat ${work}/task-*.out")" || { fail "sbatch of the dependent job"; exit 1; }
slurm_wait "${merge}" 120 || fail "the dependent job did not finish in 120 s"

for task in 0 1 2 3; do
  got="$(cat "${work}/task-${task}.out" 2>/dev/null)"
  [[ "${got}" == "task ${task} of 4" ]] || fail "array task ${task} printed \"${got}\""
done
want="$(printf 'task %d of 4\n' 0 1 2 3)"
[[ "$(cat "${work}/merge.out" 2>/dev/null)" == "${want}" ]] ||
  fail "the dependent job did not see every task's output: $(cat "${work}/merge.out")"
states="$(slurm_job_states "${array}")"
[[ "${states}" == "$(printf '%d COMPLETED 0:0\n' 0 1 2 3)" ]] || fail "array states: ${states}"
[[ "$(slurm_job_states "${merge}")" == "N/A COMPLETED 0:0" ]] ||
  fail "dependent job state: $(slurm_job_states "${merge}")"
last_end="$(slurm_job_field "${array}" EndTime | sort | tail -1)"
merge_start="$(slurm_job_field "${merge}" StartTime)"
[[ ! "${merge_start}" < "${last_end}" ]] ||
  fail "the dependent job started at ${merge_start}, before the last task ended (${last_end})"

# afterok on an array with a failing task: the dependant never runs.
# shellcheck disable=SC2016 # The job expands its own variables.
bad="$(sbatch --parsable --array=0-1 --output=/dev/null \
  --wrap='exit ${SLURM_ARRAY_TASK_ID}')" || fail "sbatch of the failing array"
held="$(sbatch --parsable --dependency="afterok:${bad}" --output="${work}/held.out" \
  --wrap='echo ran')" || fail "sbatch of the held job"
for ((i = 0; i < 600; ++i)); do # 60 s
  reason="$(slurm_job_field "${held}" Reason)"
  [[ "${reason}" == DependencyNeverSatisfied ]] && break
  sleep 0.1
done
[[ "${reason}" == DependencyNeverSatisfied ]] || fail "held job's reason: ${reason}"
[[ "$(slurm_job_states "${bad}")" == "$(printf '0 COMPLETED 0:0\n1 FAILED 1:0')" ]] ||
  fail "failing array states: $(slurm_job_states "${bad}")"
[[ ! -e "${work}/held.out" ]] || fail "the job held by a failed dependency ran"
scancel "${held}"

dir="${SLURM_DIR}"
pids="$(cat "${dir}/slurmd.pid" "${dir}/slurmctld.pid" "${dir}/munge/munged.pid")"
slurm_stop
for pid in ${pids}; do
  ! kill -0 "${pid}" 2>/dev/null || fail "daemon ${pid} still runs after slurm_stop"
done
[[ ! -e "${dir}" ]] || fail "slurm_stop left ${dir}"
echo "whole test: $((SECONDS - start)) s"
if ((FAILURES > 0)); then
  echo "${FAILURES} failure(s)" >&2
  exit 1
fi
echo PASS
