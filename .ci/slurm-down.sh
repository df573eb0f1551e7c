#!/usr/bin/env bash
# Stop the one-node SLURM cluster that .ci/slurm-up.sh started.
#
# Stops slurmd, slurmctld and munged by their pid files, waits for them to
# exit, and removes the /etc/slurm symlinks that point into $SLURM_SCRATCH.
# Safe to run when nothing is running.
set -uo pipefail

SCRATCH="${SLURM_SCRATCH:-/tmp/moment-pooling-slurm}"

stop_by_pid_file() {
    local pid_file="$1" pid
    [[ -s "$pid_file" ]] || return 0
    pid="$(cat "$pid_file")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "slurm-down: pid $pid ($pid_file) still running after 5 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    rm -f "$pid_file"
}

stop_by_pid_file "$SCRATCH/slurmd.pid"
stop_by_pid_file "$SCRATCH/slurmctld.pid"
stop_by_pid_file "$SCRATCH/munge/munged.pid"

for name in slurm.conf gres.conf; do
    link="/etc/slurm/$name"
    if [[ -L "$link" && "$(readlink "$link")" == "$SCRATCH/"* ]]; then
        rm -f "$link"
    fi
done
echo "slurm-down: stopped"
