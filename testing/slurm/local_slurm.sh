# Sourced by tests: a real single-node Slurm cluster (munged, slurmctld, slurmd from Debian's
# packages) run entirely inside one temporary directory, on 127.0.0.1 ports picked free.
#
#   source testing/slurm/local_slurm.sh
#   slurm_start              # sets SLURM_DIR and exports SLURM_CONF; trap slurm_stop EXIT
#   sbatch --parsable --array=0-3 job.sh
#   slurm_wait JOBID 120     # until the job (every array task) has left the queue
#   slurm_stop               # stops every daemon, removes SLURM_DIR
#
# What Debian's Slurm 22.05 needs to run as root in a container without systemd, cgroups or
# a resolvable host name (each line of the generated slurm.conf says why):
#  * munged with its own key, socket, pid, seed and log files (--force: root owns /tmp);
#    Slurm finds that socket through AuthInfo/AuthAltParameters "socket=".
#  * SlurmUser=root and SlurmdUser=root: no slurm account is needed.
#  * ProctrackType=proctrack/pgid (process groups, not cgroups), TaskPlugin=task/none,
#    JobAcctGatherType=jobacct_gather/none, no cgroup.conf: no cgroup is ever touched.
#  * NodeName=localhost NodeAddr=127.0.0.1 with `slurmd -N localhost`, SlurmctldHost=localhost
#    (127.0.0.1): the container's host name never matters.
#  * SelectType=select/cons_tres with CR_CPU: one array task per CPU at a time.
#  * Every state, spool, log and pid path under the temporary directory: nothing is written
#    to /etc, /var or /run, so it runs beside a system Slurm and leaves nothing behind.
# Caveats: root only (slurmd starts job steps as the submitting user); the socket paths must
# fit in 108 bytes, so the directory is made under /tmp, not under Bazel's long TEST_TMPDIR.
# shellcheck shell=bash

SLURM_DIR=""

# slurm_free_port: prints a TCP port on 127.0.0.1 that nothing listens on.
slurm_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# slurm_check_installed: fails with the packages to install when a daemon is missing.
slurm_check_installed() {
  local tool missing=()
  for tool in munged mungekey slurmctld slurmd sbatch squeue scontrol; do
    command -v "${tool}" >/dev/null 2>&1 || PATH="${PATH}:/usr/sbin" command -v "${tool}" \
      >/dev/null 2>&1 || missing+=("${tool}")
  done
  if ((${#missing[@]} > 0)); then
    echo "local_slurm: missing ${missing[*]}: apt-get install munge slurmctld slurmd slurm-client" >&2
    return 1
  fi
  if [[ "$(id -u)" != 0 ]]; then
    echo "local_slurm: slurmd must run as root to start jobs" >&2
    return 1
  fi
}

# slurm_write_conf DIR CTLD_PORT SLURMD_PORT: the cluster's slurm.conf.
slurm_write_conf() {
  local dir="$1" ctld_port="$2" slurmd_port="$3"
  cat >"${dir}/slurm.conf" <<CONF
ClusterName=flatpyramid-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
# Root runs everything: no slurm account in the container.
SlurmUser=root
SlurmdUser=root
# munged of this directory, not the system's.
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${dir}/munge/munge.socket
# No cgroups, no systemd: process groups track job steps.
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
# One task per CPU.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
# Everything under ${dir}.
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PluginDir=/usr/lib/x86_64-linux-gnu/slurm-wlm
ReturnToService=2
MinJobAge=300
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
}

# slurm_start: starts munged, slurmctld and slurmd; returns once the node is idle.
slurm_start() {
  slurm_check_installed || return 1
  PATH="${PATH}:/usr/sbin"
  SLURM_DIR="$(mktemp -d /tmp/fp-slurm.XXXXXX)" || return 1
  chmod 711 "${SLURM_DIR}" # munge wants its socket reachable by every user
  mkdir -p "${SLURM_DIR}"/{munge,state,spool,log}
  chmod 755 "${SLURM_DIR}/munge"
  local ctld_port slurmd_port
  ctld_port="$(slurm_free_port)" && slurmd_port="$(slurm_free_port)" || return 1
  while [[ "${slurmd_port}" == "${ctld_port}" ]]; do slurmd_port="$(slurm_free_port)"; done
  slurm_write_conf "${SLURM_DIR}" "${ctld_port}" "${slurmd_port}"
  export SLURM_CONF="${SLURM_DIR}/slurm.conf"

  mungekey --create --keyfile="${SLURM_DIR}/munge/munge.key" >/dev/null 2>&1 ||
    { echo "local_slurm: mungekey failed" >&2; return 1; }
  munged --force --socket="${SLURM_DIR}/munge/munge.socket" \
    --key-file="${SLURM_DIR}/munge/munge.key" --pid-file="${SLURM_DIR}/munge/munged.pid" \
    --seed-file="${SLURM_DIR}/munge/munged.seed" --log-file="${SLURM_DIR}/log/munged.log" ||
    { slurm_fail_start "munged did not start"; return 1; }
  slurmctld -f "${SLURM_CONF}" ||
    { slurm_fail_start "slurmctld did not start"; return 1; }
  slurmd -f "${SLURM_CONF}" -N localhost ||
    { slurm_fail_start "slurmd did not start"; return 1; }
  local i state
  for ((i = 0; i < 300; ++i)); do # 30 s
    state="$(sinfo -h -N -o '%T' 2>/dev/null | head -1)"
    [[ "${state}" == idle ]] && return 0
    sleep 0.1
  done
  slurm_fail_start "node not idle after 30 s (state: ${state:-none})"
  return 1
}

# slurm_fail_start MESSAGE: prints MESSAGE and the daemons' logs.
slurm_fail_start() {
  echo "local_slurm: $1" >&2
  local log
  for log in "${SLURM_DIR}"/log/*.log; do
    [[ -f "${log}" ]] && { echo "--- ${log}" >&2; tail -20 "${log}" >&2; }
  done
}

# slurm_wait JOBID SECONDS: waits until JOBID (all its array tasks) has left the queue;
# fails after SECONDS, cancelling it.
slurm_wait() {
  local job="$1" limit="$2" start=${SECONDS}
  while [[ -n "$(squeue -h -j "${job}" -o '%i' 2>/dev/null)" ]]; do
    if ((SECONDS - start >= limit)); then
      echo "local_slurm: job ${job} still queued after ${limit} s; cancelling" >&2
      scancel "${job}" 2>/dev/null
      return 1
    fi
    sleep 0.2
  done
}

# slurm_job_states JOBID: prints "ARRAY_TASK_ID STATE EXIT_CODE" per job of JOBID (N/A for
# a job that is no array), in task order, as slurmctld remembers them (MinJobAge).
slurm_job_states() {
  scontrol show job "$1" -o 2>/dev/null | while read -r line; do
    local task=N/A state exit_code field
    for field in ${line}; do
      case "${field}" in
        ArrayTaskId=*) task="${field#*=}" ;;
        JobState=*) state="${field#*=}" ;;
        ExitCode=*) exit_code="${field#*=}" ;;
      esac
    done
    echo "${task} ${state} ${exit_code}"
  done | sort -n
}

# slurm_job_field JOBID FIELD: prints FIELD (e.g. StartTime, Reason) of job JOBID, one line
# per array task.
slurm_job_field() {
  scontrol show job "$1" -o 2>/dev/null | grep -o " $2=[^ ]*" | cut -d= -f2-
}

# slurm_stop: stops slurmd, slurmctld and munged (by their pid files) and removes SLURM_DIR.
slurm_stop() {
  [[ -n "${SLURM_DIR}" && -d "${SLURM_DIR}" ]] || return 0
  local pidfile pid i
  for pidfile in slurmd.pid slurmctld.pid munge/munged.pid; do
    pid="$(cat "${SLURM_DIR}/${pidfile}" 2>/dev/null)" || continue
    [[ -n "${pid}" ]] || continue
    kill "${pid}" 2>/dev/null || continue
    for ((i = 0; i < 100; ++i)); do # 10 s, then SIGKILL
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "${pid}" 2>/dev/null
  done
  rm -rf "${SLURM_DIR}"
  SLURM_DIR=""
}
