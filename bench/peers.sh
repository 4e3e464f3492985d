#!/usr/bin/env bash
# bench/peers.sh [N] — nearmiss beside its peers on the same loopback fleet:
# N copies of the ok-debian fake host (default 100), each a real sshd, all
# sent the same per-host script (nearmiss's own, saved with --save-scripts)
# at the same concurrency N, by
#   nearmiss scan                        (libssh2, one process, N threads)
#   parallel-ssh -I ... /bin/sh -s       (Debian pssh: one ssh process per host)
#     once with -o KexAlgorithms=curve25519-sha256, once with ssh's default
#   ansible all -m raw -a SCRIPT         (Debian ansible-core, ssh, forks N)
# One round warms every tool up, then NM_BENCH_RUNS rounds (default 3) run
# each tool once, so that the ratios compare runs made side by side; the
# figures are medians. Writes bench/RESULTS.md (or $NM_BENCH_RESULTS) with
# wall time, client CPU per host (user+sys of the tool's whole process tree,
# as the kernel accounts reaped children, to the microsecond: bench/rusage.c),
# peak RSS (the largest single process of the tree, as GNU time's %M), the
# sshd side's CPU, and the ratios;
# plus the command and the machine. nearmiss is the release build
# (bench/release-build.sh builds it in build-release/), or NM_BENCH_BIN.
# Needs root (the fleet's namespaces) and `scripts/deps.sh --bench` (pssh,
# ansible-core).
# A peer that is not installed is left out and the file says so. A run
# that did not reach all N hosts is not counted (it did less work); a tool
# with no full round is listed with its first failure. Whatever
# follows the line "<!-- notes below are kept by bench/peers.sh -->" in an
# existing results file is carried over.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
N=${1:-100}
RUNS=${NM_BENCH_RUNS:-3}
BIN=${NM_BENCH_BIN:-$("$ROOT/bench/release-build.sh")}
OUT=${NM_BENCH_RESULTS:-$ROOT/bench/RESULTS.md}
FLEET=$ROOT/tests/fleet/fleet.sh
[[ -x $BIN ]] || { echo "peers.sh: $BIN is not an executable" >&2; exit 1; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-peers.XXXXXX")
trap '"$FLEET" stop "$DIR/fleet" >/dev/null 2>&1 || :; rm -rf "$DIR"' EXIT
"$FLEET" start "$DIR/fleet" --clones "$N" >"$DIR/fleet.log" 2>&1 ||
    { cat "$DIR/fleet.log" >&2; exit 1; }
F=$DIR/fleet
INV=$F/inventory.json
cc -std=c17 -O2 -Wall -Wextra -Werror -o "$DIR/rusage" "$ROOT/bench/rusage.c"
TICK=$(getconf CLK_TCK)
CORES=$(nproc)

# The per-host script, exactly as nearmiss sends it (its random marker aside).
mkdir -p "$DIR/scripts"
"$BIN" scan -q -i "$INV" -o "$DIR/script-run" --hosts clone-001 --save-scripts "$DIR/scripts" \
    >/dev/null 2>&1 || :
SCRIPT=$DIR/scripts/clone-001.sh
[[ -s $SCRIPT ]] || { echo "peers.sh: nearmiss did not save its script" >&2; exit 1; }

awk -v u="$(id -un)" '{print u "@127.0.0.1:" $2}' "$F/ports" >"$DIR/pssh-hosts"
{
    echo "[fleet]"
    awk '{print $1 " ansible_host=127.0.0.1 ansible_port=" $2}' "$F/ports"
} >"$DIR/ansible-hosts"
SSH_OPTS=(-O "UserKnownHostsFile=$F/known_hosts" -O GlobalKnownHostsFile=/dev/null
          -O StrictHostKeyChecking=yes -O "IdentityFile=$F/client_key" -O IdentitiesOnly=yes
          -O BatchMode=yes)

# CPU of every sshd of the fleet and all it reaped (sessions, shells,
# commands): fields 14-17 of /proc/PID/stat, in clock ticks.
server_ticks() {
    local sum=0 pid f
    for f in "$F"/hosts/*/sshd.pid; do
        pid=$(<"$f")
        [[ -r /proc/$pid/stat ]] || continue
        sum=$((sum + $(awk '{sub(/^.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$sum"
}

# How many hosts a tool's run got through; the output is in $DIR/last.out.
ok_nearmiss() { jq '.summary.scanned' "$DIR/nm-out/latest.json"; }
ok_pssh() { grep -c '\[SUCCESS\]' "$DIR/last.out" || :; }
ok_ansible() { grep -c '| CHANGED | rc=0' "$DIR/last.out" || :; }

run_nearmiss() {
    rm -rf "$DIR/nm-out"
    "$BIN" scan -q -i "$INV" -o "$DIR/nm-out" -j "$N" --timeout 120
}
run_pssh_curve() {
    parallel-ssh -h "$DIR/pssh-hosts" -p "$N" -t 120 -I "${SSH_OPTS[@]}" \
        -O KexAlgorithms=curve25519-sha256 -o "$DIR/pssh-out" /bin/sh -s <"$SCRIPT"
}
run_pssh_default() {
    parallel-ssh -h "$DIR/pssh-hosts" -p "$N" -t 120 -I "${SSH_OPTS[@]}" \
        -o "$DIR/pssh-out" /bin/sh -s <"$SCRIPT"
}
run_ansible() {
    ANSIBLE_HOME=$DIR/ansible-home ANSIBLE_LOCAL_TEMP=$DIR/ansible-tmp ANSIBLE_NOCOLOR=1 \
        ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PRIVATE_KEY_FILE=$F/client_key \
        ANSIBLE_REMOTE_USER=$(id -un) ANSIBLE_TIMEOUT=120 \
        ANSIBLE_SSH_ARGS="-o ControlMaster=no -o UserKnownHostsFile=$F/known_hosts -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes" \
        ansible fleet -i "$DIR/ansible-hosts" -f "$N" -m raw -a "$(cat "$SCRIPT")"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# run_one K: tool K (of NAMES/RUNNERS/OKFNS) once; appends
# "wall cpu_s rss_kib server_s ok" to $DIR/runs.K.
run_one() {
    local k=$1 t0 t1 wall user sys rss rc=0
    t0=$(server_ticks)
    "$DIR/rusage" "$DIR/time" bash -c "$(declare -f "${RUNNERS[k]}"); $(declare -p DIR F N INV BIN SCRIPT SSH_OPTS); ${RUNNERS[k]}" \
        >"$DIR/last.out" 2>&1 || rc=$?
    sleep 1 # the sessions' sshd reaped by their listeners
    t1=$(server_ticks)
    read -r wall user sys rss <"$DIR/time"
    local ok
    ok=$(${OKFNS[k]})
    echo "$wall $(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}') $rss \
$(awk -v a="$t0" -v b="$t1" -v t="$TICK" 'BEGIN {print (b - a) / t}') ${ok:-0}" >>"$DIR/runs.$k"
    # A run that did not reach every host is not counted; the first one's
    # reason is kept for the results (printable characters only).
    if [[ ${ok:-0} != "$N" && ! -s $DIR/fail.$k ]]; then
        { echo "exit status $rc"; grep -m 1 -iE 'error|fail|unreachable|denied|refused' "$DIR/last.out"; } |
            tr -cd '[:print:]\n' | cut -c 1-200 | paste -sd ';' >"$DIR/fail.$k"
    fi
}

NAMES=(nearmiss) RUNNERS=(run_nearmiss) OKFNS=(ok_nearmiss)
MISSING=()
if command -v parallel-ssh >/dev/null; then
    NAMES+=("parallel-ssh (curve25519)" "parallel-ssh (default kex)")
    RUNNERS+=(run_pssh_curve run_pssh_default) OKFNS+=(ok_pssh ok_pssh)
else
    MISSING+=("parallel-ssh (Debian package pssh) is not installed")
fi
if command -v ansible >/dev/null; then
    NAMES+=("Ansible raw") RUNNERS+=(run_ansible) OKFNS+=(ok_ansible)
else
    MISSING+=("ansible (Debian package ansible-core) is not installed")
fi

# Rounds, not one tool's runs after another's: the machine's speed drifts
# over minutes (other tenants, the fleet's own state), and a ratio of runs
# minutes apart would measure the drift.  Round 0 warms every tool up and is
# not counted; in each round every tool runs once, the order turned by one
# each round so that none always runs first.  Each tool's figures are the
# medians of its runs; each ratio to nearmiss is the median of the rounds'
# own ratios.
T=${#NAMES[@]}
for ((r = 0; r <= RUNS; r++)); do
    for ((j = 0; j < T; j++)); do
        k=$(((j + r) % T))
        [[ $r == 0 ]] && { run_one "$k"; : >"$DIR/runs.$k"; continue; }
        run_one "$k"
        echo "peers.sh: ${NAMES[k]} round $r: $(tail -1 "$DIR/runs.$k")" >&2
    done
done
: >"$DIR/results"
# Only runs that reached all N hosts count: a tool that failed some hosts
# did less work, and its figures would flatter it.
: >"$DIR/failed"
for ((k = 0; k < T; k++)); do
    awk -v n="$N" '$5 == n' "$DIR/runs.$k" >"$DIR/good.$k"
    good=$(wc -l <"$DIR/good.$k")
    first="first failure: $(cat "$DIR/fail.$k" 2>/dev/null || :)" # no file: no failure
    if ((good == 0)); then
        echo "${NAMES[k]}: no round reached all $N hosts ($(awk '{print $5}' "$DIR/runs.$k" | paste -sd ' ') hosts); $first" >>"$DIR/failed"
        continue
    fi
    ((good < RUNS)) && echo "${NAMES[k]}: $((RUNS - good)) of $RUNS rounds did not reach all $N hosts and are not counted; $first" >>"$DIR/failed"
    out=${NAMES[k]}
    for col in 1 2 3 4 5; do out+=" $(awk -v c="$col" '{print $c}' "$DIR/good.$k" | median)"; done
    echo "$out" >>"$DIR/results"
done
# "NAME ratio min max": nearmiss's client CPU over the tool's, round by
# round, in the rounds where both reached every host.
: >"$DIR/ratios"
for ((k = 1; k < T; k++)); do
    paste -d' ' "$DIR/runs.0" "$DIR/runs.$k" | awk -v n="$N" '$5 == n && $10 == n {print $2 / $7}' >"$DIR/r"
    [[ -s $DIR/r ]] || continue
    echo "$(median <"$DIR/r") $(sort -g "$DIR/r" | head -1) $(sort -g "$DIR/r" | tail -1) ${NAMES[k]}" >>"$DIR/ratios"
done

ver() { "$@" 2>&1 | head -1 || :; }
# Notes below this line in an existing file are kept (hand-written history).
KEEP='<!-- notes below are kept by bench/peers.sh -->'
: >"$DIR/kept"
if [[ -f $OUT ]]; then awk -v k="$KEEP" '$0 == k {on = 1} on' "$OUT" >"$DIR/kept"; fi
{
    echo "# nearmiss beside its peers"
    echo
    echo "Written by \`bench/peers.sh $N\` (NM_BENCH_RUNS=$RUNS) on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
    echo "Each tool sent the same script to the same $N loopback sshd hosts (copies of"
    echo "ok-debian, tests/fleet), $N at a time: one round to warm up, then $RUNS rounds in"
    echo "which every tool ran once (the order turned each round); figures are medians."
    echo "Client CPU is user+sys of the tool's whole process tree (every ssh it started"
    echo "included); peak RSS is its largest single process."
    echo "Server CPU is what the fleet's sshd and everything they ran used; the floor"
    echo "is that divided by the cores, the wall time no scanner on this machine can"
    echo "beat. All tools share the machine with the fleet, so client and server"
    echo "compete for the same cores."
    echo
    echo "Machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo),"
    echo "Linux $(uname -r), $(ver ssh -V), libssh2 $(dpkg-query -W -f='${Version}' libssh2-1 2>/dev/null || echo '?'),"
    echo "$(ver "$BIN" --version), parallel-ssh $(ver parallel-ssh --version), $(ver ansible --version)."
    echo "nearmiss binary: ${NM_BENCH_BIN:-the release build of bench/release-build.sh (-O3, link-time optimisation)}."
    echo
    echo "| tool | hosts ok | wall s | client CPU ms/host | peak RSS MiB | server CPU s | wall / floor | client CPU vs nearmiss |"
    echo "|---|---|---|---|---|---|---|---|"
    nm_cpu=$(awk '$1 == "nearmiss" {print $3}' "$DIR/results")
    while read -r line; do
        name=${line% * * * * *}
        read -r wall cpu rss srv ok <<<"${line##"$name" }"
        awk -v n="$name" -v w="$wall" -v c="$cpu" -v r="$rss" -v s="$srv" -v ok="$ok" \
            -v h="$N" -v k="$CORES" -v nm="$nm_cpu" 'BEGIN {
            printf "| %s | %d/%d | %.2f | %.2f | %.1f | %.2f | %.2f | %.2fx |\n",
                n, ok, h, w, c * 1000 / h, r / 1024, s, (s > 0 ? w / (s / k) : 0), (nm > 0 ? c / nm : 0)
        }'
    done <"$DIR/results"
    echo
    echo "Ratios of nearmiss's client CPU to each peer's, taken round by round (median, lowest and"
    echo "highest of the $RUNS rounds):"
    echo
    while read -r ratio lo hi name; do
        awk -v n="$name" -v c="$ratio" -v lo="$lo" -v hi="$hi" 'BEGIN { printf "- nearmiss / %s: %.3f (%.3f-%.3f)\n", n, c, lo, hi }'
    done <"$DIR/ratios"
    for m in "${MISSING[@]}"; do echo "- not measured: $m"; done
    while read -r f; do echo "- not counted: $f"; done <"$DIR/failed"
    if [[ -s $DIR/kept ]]; then echo; cat "$DIR/kept"; fi
} >"$OUT"
cat "$OUT"
