# Sourced by tools/*_test.sh: where the tools and the data are, and the checks every
# end-to-end test of a tool binary makes. Failures are counted, so one run reports them all;
# `finish` turns the count into the exit code.
# shellcheck shell=bash disable=SC2034 # TOOLS, DATA and OUT are for the tests that source it.
set -u

TOOLS="${TEST_SRCDIR}/flatpyramid/tools"
DATA="${TEST_SRCDIR}/flatpyramid/testing/data"
OUT="${TEST_TMPDIR}"
export GDAL_PAM_ENABLED=NO # Never write .aux.xml files next to testing/data.
FAILURES=0

# fail MESSAGE: records a failure and carries on.
fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

# die MESSAGE: a failure the rest of the test cannot run without.
die() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_error EXIT_CODE EXPECTED_LINE TOOL ARGS...: runs $TOOLS/TOOL with ARGS and expects
# exit code EXIT_CODE, nothing on stdout and exactly EXPECTED_LINE (one line) on stderr.
expect_error() {
  run_expecting_error exact "$@"
}

# expect_error_matching EXIT_CODE REGEX TOOL ARGS...: the same, for a line that must match
# the extended regular expression ^REGEX$ (for numbers that depend on the file layout).
expect_error_matching() {
  run_expecting_error regex "$@"
}

run_expecting_error() {
  local how="$1" want_code="$2" want_line="$3" tool="$4"
  shift 4
  local out="${OUT}/expect_error.out" err="${OUT}/expect_error.err" code=0
  "${TOOLS}/${tool}" "$@" >"${out}" 2>"${err}" || code=$?
  local context="${tool} $*" got
  got="$(cat "${err}")"
  if [[ "${code}" != "${want_code}" ]]; then
    fail "${context}: exit code ${code}, expected ${want_code}; stderr: ${got}"
  fi
  if [[ -s "${out}" ]]; then
    fail "${context}: wrote to stdout on error: $(head -c 200 "${out}")"
  fi
  local matches=0
  if [[ "${how}" == exact ]]; then
    [[ "${got}" == "${want_line}" ]] && matches=1
  else
    [[ "${got}" =~ ^${want_line}$ ]] && matches=1
  fi
  if ((matches == 0)) || [[ "$(wc -l <"${err}")" != 1 ]]; then
    fail "${context}: stderr is not the expected line
  expected: ${want_line}
  got:      ${got}"
  fi
}

# finish: the test's verdict.
finish() {
  if ((FAILURES > 0)); then
    echo "${FAILURES} failure(s)" >&2
    exit 1
  fi
  echo PASS
}

# expect_fifo_refused TOOL ARGS...: TOOL given a FIFO ($OUT/fifo.fpyr, the first of ARGS) exits
# 1 at once with one line naming it, instead of blocking in open (20 s timeout: 124 = blocked).
expect_fifo_refused() {
  local tool="$1" fifo="${OUT}/fifo.fpyr" code=0
  shift
  [[ -p "${fifo}" ]] || mkfifo "${fifo}"
  timeout 20 "${TOOLS}/${tool}" "${fifo}" "$@" >/dev/null 2>"${OUT}/fifo.err" || code=$?
  [[ "${code}" == 1 && "$(cat "${OUT}/fifo.err")" == "${tool}: ${fifo}: is a FIFO (named pipe), not a regular file" ]] ||
    fail "${tool} on a FIFO: exit ${code} (124: it blocked): $(cat "${OUT}/fifo.err")"
}
