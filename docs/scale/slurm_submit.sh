#!/bin/bash
# slurm_submit.sh N WORKDIR OUTPUT BUILD_FLAGS...
#
# Submits a sharded pyramid build to Slurm: an array of N tasks, task i running
# `build_pyramid --shard=i/N --output=WORKDIR/shard-i.fpyr BUILD_FLAGS...` (shard.sbatch), and
# a merge job (merge.sbatch) that starts only when every task succeeded
# (--dependency=afterok) and writes OUTPUT. Prints the two job ids.
#
# WORKDIR and OUTPUT must be on a filesystem every node sees (shards are written there, the
# merge reads them all); the input paths in BUILD_FLAGS too. Environment:
#   FPYR_BIN      directory of build_pyramid and merge_pyramids, ending in / (default: PATH)
#   FPYR_CPUS     cores per array task (default 1); the merge uses one
#   SBATCH_*      any sbatch option (SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT, ...)
# Example:
#   FPYR_CPUS=16 docs/scale/slurm_submit.sh 64 /shared/work /shared/naip.fpyr \
#     --input=/shared/naip/conus.vrt --bands=1,2,3
set -euo pipefail
if (($# < 3)); then
  echo "usage: slurm_submit.sh N WORKDIR OUTPUT BUILD_FLAGS..." >&2
  exit 2
fi
shards="$1" workdir="$2" output="$3"
shift 3
if ! [[ "${shards}" =~ ^[1-9][0-9]*$ ]]; then
  echo "slurm_submit.sh: N=${shards} must be a positive number of shards" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "${workdir}"
workdir="$(cd "${workdir}" && pwd)"
case "${output}" in /*) ;; *) output="${PWD}/${output}" ;; esac
export FPYR_SHARDS="${shards}" FPYR_WORKDIR="${workdir}" FPYR_OUTPUT="${output}"
export FPYR_BIN="${FPYR_BIN:-}"
build="$(sbatch --parsable --array="0-$((shards - 1))" --cpus-per-task="${FPYR_CPUS:-1}" \
  --output="${workdir}/shard-%a.log" "${here}/shard.sbatch" "$@")"
merge="$(sbatch --parsable --dependency="afterok:${build}" --kill-on-invalid-dep=yes \
  --output="${workdir}/merge.log" "${here}/merge.sbatch")"
echo "${build} ${merge}"
