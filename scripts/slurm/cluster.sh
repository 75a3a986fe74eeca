#!/bin/bash
# A throwaway single-node SLURM cluster on loopback, without systemd (tests and local tries).
#
#   scripts/slurm/cluster.sh up DIR     generate DIR/slurm.conf, start munged + slurmctld + slurmd,
#                                       wait until the node is idle, print `export SLURM_CONF=...`
#   scripts/slurm/cluster.sh down DIR   cancel this user's jobs, stop the daemons by their PID files
#
# Environment: CTLD_PORT (6817), SLURMD_PORT (6818), NCPU (nproc), AUTH (munge | none).
# Needs root and the Debian packages slurmctld slurmd slurm-client munge (--no-install-recommends).
# Follows the measured recipe in the project's SLURM design note: SlurmUser=root, no cgroups
# (proctrack/linuxproc, task/none), no accounting (use `scontrol show job`), batch_sched_delay=0.
set -euo pipefail

usage() { echo "usage: $0 up DIR | down DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
CMD=$1
D=$(realpath -m "$2")

up() {
  for b in slurmctld slurmd sinfo; do
    command -v "$b" >/dev/null || { echo "cluster.sh: $b not found: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge" >&2; exit 1; }
  done
  [ "$(id -u)" -eq 0 ] || { echo "cluster.sh: must run as root (slurmd starts tasks as the submitting user)" >&2; exit 1; }
  local auth=${AUTH:-munge} ncpu=${NCPU:-$(nproc)} authconf
  mkdir -p "$D"/{munge,state,spool,log}
  chmod 755 "$D" "$D/munge"   # munged refuses a socket dir without o+x (mktemp -d gives 0700)
  local t0; t0=$(date +%s%N)
  if [ "$auth" = munge ]; then
    command -v munged >/dev/null || { echo "cluster.sh: munged not found: apt-get install -y munge (or AUTH=none)" >&2; exit 1; }
    mungekey --create --force --keyfile="$D/munge/munge.key"   # 0600, owned by root
    munged --key-file="$D/munge/munge.key" --socket="$D/munge/munge.sock" \
           --pid-file="$D/munge/munged.pid" --log-file="$D/log/munged.log" \
           --seed-file="$D/munge/munged.seed"
    authconf="AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.sock,cred_expire=10"
  else
    authconf="AuthType=auth/none
CredType=cred/none
AuthInfo=cred_expire=10"
  fi
  cat > "$D/slurm.conf" <<CONF
ClusterName=ci
SlurmctldHost=localhost
SlurmctldPort=${CTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
SlurmUser=root
$authconf
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$ncpu RealMemory=1000 State=UNKNOWN
PartitionName=ci Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$D/slurm.conf"
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF" -N localhost
  for _ in $(seq 1 100); do sinfo -h -o %T 2>/dev/null | grep -qx idle && break; sleep 0.2; done
  if ! sinfo -h -o %T 2>/dev/null | grep -qx idle; then
    echo "cluster.sh: the node did not become idle in 20 s; last log lines:" >&2
    tail -n 20 "$D"/log/*.log >&2 || true
    down
    exit 1
  fi
  echo "cluster up in $(( ($(date +%s%N) - t0) / 1000000 )) ms ($ncpu CPUs, auth $auth)" >&2
  echo "export SLURM_CONF='$D/slurm.conf'"
}

down() {
  export SLURM_CONF="$D/slurm.conf"
  [ -f "$SLURM_CONF" ] && scancel --user="$(id -un)" 2>/dev/null || true
  local f pid
  for f in "$D"/slurmd-*.pid "$D/slurmctld.pid" "$D/munge/munged.pid"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
}

case "$CMD" in
  up) up ;;
  down) down ;;
  *) usage ;;
esac
