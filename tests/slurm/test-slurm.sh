#!/usr/bin/env bash
# shellcheck disable=SC2015
# test-slurm.sh BINARY — shards on a real batch engine: a one-machine Slurm
# cluster (munged, slurmctld, slurmd on 127.0.0.1, all in a temporary
# directory, no systemd) runs contrib/slurm/: a job array of 3 shard scans of
# the sshd fleet and a merge job that depends on it (afterok).  The merged
# report must equal one whole scan of the same fleet.  Installs slurm-wlm and
# munge through scripts/deps.sh --slurm; skips (77) only when they cannot be
# installed.  Every daemon it starts is stopped at the end (trap).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
FLEET=$ROOT/tests/fleet/fleet.sh
# shellcheck source=../fleet/testlib.sh
. "$ROOT/tests/fleet/testlib.sh"
nm_args "$@"
if ! "$ROOT/scripts/deps.sh" --slurm >"${TMPDIR:-/tmp}/nm-slurm-deps.$$" 2>&1; then
    sed 's/^/# /' "${TMPDIR:-/tmp}/nm-slurm-deps.$$" | tail -20
    rm -f "${TMPDIR:-/tmp}/nm-slurm-deps.$$"
    echo "SKIP: slurm-wlm and munge cannot be installed (scripts/deps.sh --slurm failed)"
    exit 77
fi
rm -f "${TMPDIR:-/tmp}/nm-slurm-deps.$$"
nm_need_tools jq munged mungekey slurmctld slurmd sbatch squeue scontrol
((EUID == 0)) || { echo "FAIL: the slurm suite runs its daemons as root (like the sshd suite)"; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-slurm.XXXXXX")
chmod 0755 "$DIR"
pids=()
stop_all() {
    local p
    # Only the daemons this test started, by the pids it recorded.
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || :; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || :
    done
    nm_fleet_stop
    nm_keep_or_remove
}
trap stop_all EXIT
trap 'exit 130' INT TERM

nm_fleet_start ok-debian ubuntu-reboot rocky-disk down raid-degraded branch-a branch-b net-fragile
export NEARMISS_NOW=2026-12-01T02:00:00Z

# --- munge: own key, socket and state in DIR (munged wants its files private)
M=$DIR/munge
mkdir -m 0700 -p "$M"
mungekey --create --keyfile="$M/munge.key" >/dev/null 2>&1 || { echo "FAIL: mungekey"; exit 1; }
chmod 0400 "$M/munge.key"
munged --foreground --force --key-file="$M/munge.key" --socket="$M/munge.socket" \
    --pid-file="$M/munged.pid" --log-file="$M/munged.log" --seed-file="$M/munged.seed" \
    >"$M/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -S $M/munge.socket ]] && break; sleep 0.1; done
[[ -S $M/munge.socket ]] && ok "munged up (own key and socket)" ||
    { not_ok "munged did not start"; sed 's/^/# /' "$M"/munged.{out,log} 2>/dev/null; nm_finish; }

# --- slurm.conf: one node (this machine), one partition, state in DIR
base=${NM_FLEET_BASE_PORT:-20000}
CTLD_PORT=$((base + 900)) SLURMD_PORT=$((base + 901))
NODE=$(hostname -s)
S=$DIR/slurm
mkdir -p "$S/state" "$S/spool" "$DIR/work" "$DIR/out"
cat >"$S/slurm.conf" <<CONF
ClusterName=nmtest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$M/munge.socket
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=nm Nodes=$NODE Default=YES MaxTime=30 State=UP
CONF
export SLURM_CONF=$S/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >"$S/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N "$NODE" -f "$SLURM_CONF" >"$S/slurmd.out" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 300); do
    if scontrol show node "$NODE" 2>/dev/null | grep -Eq 'State=(IDLE|MIXED|ALLOCATED)'; then up=1; break; fi
    sleep 0.2
done
((up)) && ok "slurmctld and slurmd up; node $NODE idle" ||
    { not_ok "slurm did not come up"; tail -n 20 "$S"/slurm{ctld,d}.{log,out} 2>/dev/null | sed 's/^/# /'; nm_finish; }

# --- the reference: one whole scan
RC=0; "$BIN" scan -q -i "$INV" -o "$DIR/whole" --timeout 30 -j 8 || RC=$?
[[ $RC == 0 || $RC == 2 ]] && ok "whole scan: exit $RC" || not_ok "whole scan: exit $RC"

# --- the cluster run: contrib/slurm/submit.sh = array 1-3 + afterok merge
export NEARMISS=$BIN NM_INVENTORY=$INV NM_WORK=$DIR/work NM_OUT=$DIR/out
export NM_SCAN_ARGS="--timeout 30 -j 8" NM_SBATCH_ARGS="--chdir=$DIR/work"
ids=$("$ROOT/contrib/slurm/submit.sh" 3 2>"$DIR/submit.err") ||
    { not_ok "submit.sh failed"; sed 's/^/# /' "$DIR/submit.err"; nm_finish; }
read -r ARRAY MERGE <<<"$ids"
[[ $ARRAY =~ ^[0-9]+$ && $MERGE =~ ^[0-9]+$ ]] && ok "submitted: array $ARRAY (1-3), merge $MERGE afterok" ||
    not_ok "submit printed \"$ids\""
dep=$(scontrol show job "$MERGE" 2>/dev/null | grep -o 'Dependency=[^ ]*' || :)
[[ $dep == *"afterok:$ARRAY"* ]] && ok "the merge job depends on the array ($dep)" ||
    not_ok "merge dependency is \"$dep\""

# Bounded wait: every job has left the queue, or 240 s have passed.
for _ in $(seq 1200); do
    [[ -z $(squeue -h -j "$ARRAY,$MERGE" 2>/dev/null) ]] && break
    sleep 0.2
done
if [[ -n $(squeue -h -j "$ARRAY,$MERGE" 2>/dev/null) ]]; then
    not_ok "jobs still queued or running after 240 s"; squeue | sed 's/^/# /'
fi
state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1; }
for k in 1 2 3; do
    st=$(state "${ARRAY}_$k")
    [[ $st == JobState=COMPLETED ]] && ok "array task $k: $st" ||
        { not_ok "array task $k: ${st:-unknown}"; sed 's/^/# /' "$DIR/work/nearmiss-shard-${ARRAY}_$k.out" 2>/dev/null; }
done
st=$(state "$MERGE")
[[ $st == JobState=COMPLETED ]] && ok "merge job: $st" ||
    { not_ok "merge job: ${st:-unknown}"; sed 's/^/# /' "$DIR/work/nearmiss-merge-$MERGE.out" 2>/dev/null; }
for k in 1 2 3; do
    jcheck "shard $k's report says it is shard $k/3" \
        --argjson k "$k" '.shard.index == $k and .shard.count == 3' "$DIR/work/$ARRAY/shard-$k/latest.json" || :
done
if [[ -s $DIR/out/latest.json ]] && "$ROOT/tests/fleet/same-report.sh" "$DIR/whole/latest.json" "$DIR/out/latest.json" >"$DIR/diff.out"; then
    ok "the merged report of the Slurm run equals the whole scan (all but times)"
else
    not_ok "merged report missing or different"; cat "$DIR/diff.out" 2>/dev/null
fi
jcheck "the merged report has fleet findings over every host" \
    '(.fleet_findings | length) >= 1 and .merged.count == 3 and (.hosts | length) == 8' "$DIR/out/latest.json" || :
nm_finish
