#!/usr/bin/env bash
# Start a one-node SLURM cluster on 127.0.0.1 for tests/test_slurm.py.
#
# Installs slurm-wlm and munge with apt when they are missing, writes a
# slurm.conf with one node "localhost" that has one schedulable GPU (gres
# backed by /dev/null, so jobs get CUDA_VISIBLE_DEVICES=0 without a real GPU),
# then starts munged, slurmctld and slurmd. Both SLURM daemons bind to 127.0.0.1 only. There is no
# accounting daemon, so `sacct` does not work: query jobs with squeue or
# scontrol. Runs as root (slurmd must), and does nothing when the node is
# already idle. Stop everything with .ci/slurm-down.sh.
#
# State, logs and the munge key live under $SLURM_SCRATCH (default
# /tmp/moment-pooling-slurm). /etc/slurm/slurm.conf and gres.conf become
# symlinks into it, because the srun inside each Snakemake job step runs with
# all SLURM_* variables cleared and finds its config only at that path.
set -euo pipefail

SCRATCH="${SLURM_SCRATCH:-/tmp/moment-pooling-slurm}"
NODE=localhost

node_state() {
    sinfo -h -n "$NODE" -o %t 2>/dev/null | head -n 1
}

if command -v sinfo >/dev/null && [[ "$(node_state)" == "idle" ]]; then
    echo "slurm-up: node $NODE is already idle"
    exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
    echo "slurm-up: must run as root, because slurmd runs as root" >&2
    exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "slurm-up: installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm munge >/dev/null
fi

mkdir -p "$SCRATCH"/{munge,state,spool,log}
chmod 700 "$SCRATCH/munge"

# munge: a fresh random key per cluster, with every file under $SCRATCH.
MUNGE_SOCKET="$SCRATCH/munge/munge.socket"
if ! munge -n -S "$MUNGE_SOCKET" 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; then
    if [[ ! -s "$SCRATCH/munge/munge.key" ]]; then
        dd if=/dev/urandom of="$SCRATCH/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$SCRATCH/munge/munge.key"
    fi
    munged --force \
        --key-file="$SCRATCH/munge/munge.key" \
        --socket="$MUNGE_SOCKET" \
        --pid-file="$SCRATCH/munge/munged.pid" \
        --seed-file="$SCRATCH/munge/munged.seed" \
        --log-file="$SCRATCH/munge/munged.log"
    munge -n -S "$MUNGE_SOCKET" | unmunge -S "$MUNGE_SOCKET" >/dev/null
fi

CPUS="$(nproc)"
# The node's size is the machine's total memory less 1 GiB for the system.
# slurmd only checks that RealMemory does not exceed the physical memory;
# sizing it from MemAvailable instead made jobs unschedulable (preprocess_jets
# asks for 8000 MB) whenever other processes were running at start-up.
TOTAL_MB="$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
REAL_MEMORY_MB="$((TOTAL_MB > 2048 ? TOTAL_MB - 1024 : TOTAL_MB / 2))"

cat >"$SCRATCH/slurm.conf" <<EOF
ClusterName=moment-pooling
SlurmctldHost=$NODE(127.0.0.1)
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
StateSaveLocation=$SCRATCH/state
SlurmdSpoolDir=$SCRATCH/spool
SlurmctldPidFile=$SCRATCH/slurmctld.pid
SlurmdPidFile=$SCRATCH/slurmd.pid
SlurmctldLogFile=$SCRATCH/log/slurmctld.log
SlurmdLogFile=$SCRATCH/log/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MEMORY_MB Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

cat >"$SCRATCH/gres.conf" <<EOF
AutoDetect=off
NodeName=$NODE Name=gpu File=/dev/null
EOF

mkdir -p /etc/slurm
for name in slurm.conf gres.conf; do
    if [[ -e "/etc/slurm/$name" && ! -L "/etc/slurm/$name" ]]; then
        echo "slurm-up: /etc/slurm/$name is a regular file, not a link from" \
            "this script; move it away to use this test cluster" >&2
        exit 1
    fi
    ln -sfn "$SCRATCH/$name" "/etc/slurm/$name"
done

pid_alive() {
    [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

if ! pid_alive "$SCRATCH/slurmctld.pid"; then
    slurmctld -f "$SCRATCH/slurm.conf"
fi
if ! pid_alive "$SCRATCH/slurmd.pid"; then
    slurmd -f "$SCRATCH/slurm.conf" -N "$NODE"
fi

for _ in $(seq 1 60); do
    state="$(node_state || true)"
    if [[ "$state" == "idle" ]]; then
        echo "slurm-up: node $NODE idle ($CPUS CPUs, $REAL_MEMORY_MB MB, gpu:1)"
        exit 0
    fi
    sleep 0.5
done
echo "slurm-up: node $NODE not idle after 30 s (state: ${state:-none});" \
    "see $SCRATCH/log/" >&2
exit 1
