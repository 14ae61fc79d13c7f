#!/bin/bash
# local_parallel.sh N WORKDIR OUTPUT BUILD_FLAGS...
#
# The sharded build on one big machine: N `build_pyramid --shard=i/N` processes, JOBS at a
# time (xargs -P), then `merge_pyramids`. Stops at the first failed shard (xargs exits 123)
# without merging. Environment:
#   FPYR_BIN   directory of build_pyramid and merge_pyramids, ending in / (default: PATH)
#   JOBS       shards run at once (default: the number of cores)
#   THREADS    worker threads per shard (default: cores / JOBS, at least 1)
# GNU parallel does the same: parallel -j JOBS build_pyramid --shard={}/N ... ::: $(seq 0 N-1)
set -euo pipefail
if (($# < 3)); then
  echo "usage: local_parallel.sh N WORKDIR OUTPUT BUILD_FLAGS..." >&2
  exit 2
fi
shards="$1" workdir="$2" output="$3"
shift 3
if ! [[ "${shards}" =~ ^[1-9][0-9]*$ ]]; then
  echo "local_parallel.sh: N=${shards} must be a positive number of shards" >&2
  exit 2
fi
cores="$(nproc)"
jobs="${JOBS:-${cores}}"
threads="${THREADS:-$((cores / jobs > 0 ? cores / jobs : 1))}"
mkdir -p "${workdir}"
FPYR_BIN="${FPYR_BIN:-}"
seq 0 $((shards - 1)) | xargs -P "${jobs}" -I{} "${FPYR_BIN}build_pyramid" \
  --shard={}/"${shards}" --output="${workdir}/shard-{}.fpyr" --threads="${threads}" --quiet \
  --overwrite "$@"
shard_files=()
for ((i = 0; i < shards; ++i)); do shard_files+=("${workdir}/shard-${i}.fpyr"); done
"${FPYR_BIN}merge_pyramids" --output="${output}" --overwrite "${shard_files[@]}"
