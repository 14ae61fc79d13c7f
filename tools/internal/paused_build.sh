#!/bin/bash
# Sourced by the tool tests that read unfinished builds.
#
# pause_build BUILD_PYRAMID OUTPUT INPUT: starts build_pyramid on INPUT (bands 3,2,1) in the
# background with a commit point after every block, waits for its first commit point (the
# first progress line comes after it) and stops it with SIGSTOP: a build in progress that
# still holds the file's lock. Sets PAUSED_PID; returns 1 if every try finished first (larger
# zooms are tried in turn). The caller resumes or kills PAUSED_PID.
pause_build() {
  local tool=$1 output=$2 input=$3 zoom
  for zoom in 16 17 18; do
    rm -f "$output" "$output".resume-*
    "$tool" --input="$input" --bands=3,2,1 --min_zoom=10 --max_zoom="$zoom" --threads=1 --allow_large_build \
      --commit_seconds=0 --output="$output" 2>"$output.err" &
    PAUSED_PID=$!
    for _ in $(seq 1 2000); do
      grep -q "^progress:" "$output.err" 2>/dev/null && break
      sleep 0.005
    done
    kill -STOP "$PAUSED_PID" 2>/dev/null
    sleep 0.1
    # State T: stopped mid-build (a build that ran to the end is a zombie, Z, or gone).
    if [[ "$(awk '{print $3}' "/proc/$PAUSED_PID/stat" 2>/dev/null)" == T ]] &&
      ! grep -q "(100.0%)" "$output.err"; then
      return 0
    fi
    kill -9 "$PAUSED_PID" 2>/dev/null
    wait "$PAUSED_PID" 2>/dev/null
  done
  return 1
}
