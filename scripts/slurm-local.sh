#!/usr/bin/env bash
# A real single-node SLURM on this machine, for the slow suite's cluster test and for trying
# `snakemake --profile profiles/slurm` without a cluster. Debian's packages (slurm-wlm 22.05,
# munge); no systemd is assumed, so the daemons are started by hand and stopped by their PIDs.
#
#   sudo bash scripts/slurm-local.sh start   # installs the packages if missing (needs apt), starts
#   bash scripts/slurm-local.sh status       # prints the node state (idle when ready)
#   sudo bash scripts/slurm-local.sh stop
#
# No accounting (slurmdbd): `sacct` fails here, so profiles/slurm asks squeue for job states.
# MinJobAge (300 s) must stay above 3x the profile's first status-check delay, or the executor
# plugin falls back to sacct (and waits for ever).
set -euo pipefail
cmd="${1:-status}"
pids=(/run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid)

install() {
    command -v slurmctld >/dev/null && command -v munged >/dev/null && return
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
}

write_conf() {
    local cpus mem
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)  # more than the node has drains it
    mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    cat >/etc/slurm/slurm.conf <<EOF
ClusterName=synthir-ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
ReturnToService=2
MinJobAge=300
MailProg=/bin/true
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=localhost CPUs=${cpus} RealMemory=${mem}
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

case "$cmd" in
start)
    if [ "$(sinfo -h -o %t 2>/dev/null)" = "idle" ]; then echo "slurm: already up"; exit 0; fi
    install
    getent hosts localhost | grep -q 127.0.0.1 || { echo "localhost must resolve to 127.0.0.1" >&2; exit 1; }
    write_conf
    mkdir -p /run/munge && chown munge:munge /run/munge
    [ -s /etc/munge/munge.key ] || { /usr/sbin/mungekey --create 2>/dev/null || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    runuser -u munge -- /usr/sbin/munged
    slurmctld
    slurmd
    for _ in $(seq 60); do
        [ "$(sinfo -h -o %t 2>/dev/null)" = "idle" ] && { echo "slurm: node idle"; exit 0; }
        sleep 1
    done
    echo "slurm did not come up; see /var/log/slurm/" >&2
    exit 1
    ;;
stop)
    for f in "${pids[@]}"; do
        [ -s "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    done
    # With no controller, every SLURM client retries for MessageTimeout (10 s), and Snakemake's
    # SLURM executor plugin runs `scontrol show config` when it is imported, that is at every
    # `snakemake` start: 9 s each for the rest of the test session. Our own stopped cluster's
    # clients fail at once instead (`start` writes the configuration again).
    if grep -q '^ClusterName=synthir-ci$' /etc/slurm/slurm.conf 2>/dev/null; then
        grep -q '^MessageTimeout=' /etc/slurm/slurm.conf || echo 'MessageTimeout=1' >>/etc/slurm/slurm.conf
    fi
    echo "slurm: stopped"
    ;;
status)
    sinfo -h -o %t
    ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
