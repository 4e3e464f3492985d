#!/usr/bin/env bash
# bench/many-hosts.sh N [BINARY...] — peak memory, client CPU and wall time
# of one scan of N inventory hosts, for each BINARY (default the release
# build, bench/release-build.sh; give an older build too for a before/after).  N may be far more than the
# sshd instances this machine can run: a fleet of NM_BENCH_SSHD copies of
# the ok-debian fake host (default 20, tests/fleet) is started and the N
# inventory hosts (h00000, h00001, ...) point at them in turn, with labels
# spread over three zones and seven racks and one role.
#
# Checks: all of checks/ (NM_BENCH_CHECKS=all, the default below 5000 hosts)
# or a light selection (NM_BENCH_CHECKS=light: disk-space, dns-resolvers,
# time-sync, reboot-required-debian, os-lifecycle), so that 10 000 hosts run
# in minutes.  Formats: NM_BENCH_FORMATS (default json,html,junit,prom).
# --jobs NM_BENCH_JOBS (default 100), --timeout 120, a fresh report directory
# per run, NEARMISS_NOW fixed so both binaries judge the same moment.
# One line per binary: hosts scanned, wall s, client CPU (user+sys) ms per
# host, peak RSS MiB (GNU time's maximum resident set size), the fleet's
# server CPU (every sshd and all it reaped) and wall / floor, the floor being
# that server CPU divided by the cores: the wall time no scanner on this
# machine can beat.  Needs root (the fleet's namespaces) and jq.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
N=${1:?usage: bench/many-hosts.sh N [BINARY...]}
shift
BINS=("$@")
((${#BINS[@]})) || BINS=("$("$ROOT/bench/release-build.sh")")
SSHD=${NM_BENCH_SSHD:-20}
JOBS=${NM_BENCH_JOBS:-100}
FORMATS=${NM_BENCH_FORMATS:-json,html,junit,prom}
MODE=${NM_BENCH_CHECKS:-$( ((N >= 5000)) && echo light || echo all)}
FLEET=$ROOT/tests/fleet/fleet.sh
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-many.XXXXXX")
trap '"$FLEET" stop "$DIR/fleet" >/dev/null 2>&1 || :; rm -rf "$DIR"' EXIT
"$FLEET" start "$DIR/fleet" --clones "$SSHD" >"$DIR/fleet.log" 2>&1 ||
    { cat "$DIR/fleet.log" >&2; exit 1; }

jq --argjson n "$N" '
    .hosts as $hs | ($hs | length) as $k
    | .hosts = [range(0; $n) as $i | $hs[$i % $k]
                | .name = ("h" + ($i | tostring | ("00000" + .)[-5:]))
                | .labels = {zone: ["a", "b", "c"][$i % 3], rack: ("r" + (($i % 7) | tostring))}]
' "$DIR/fleet/inventory.json" >"$DIR/inventory.json"

CHECKS=$ROOT/checks
if [[ $MODE == light ]]; then
    CHECKS=$DIR/checks
    mkdir -p "$CHECKS"
    cp -r "$ROOT/checks/data" "$CHECKS/" 2>/dev/null || :
    for c in disk-space dns-resolvers time-sync reboot-required-debian os-lifecycle; do
        cp "$ROOT/checks/$c.json" "$CHECKS/"
    done
fi

# CPU of every sshd of the fleet and all it reaped (fields 14-17 of
# /proc/PID/stat, clock ticks), as bench/peers.sh counts it.
server_ticks() {
    local sum=0 pid f
    for f in "$DIR"/fleet/hosts/*/sshd.pid; do
        pid=$(<"$f")
        [[ -r /proc/$pid/stat ]] || continue
        sum=$((sum + $(awk '{sub(/^.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$sum"
}
HZ=$(getconf CLK_TCK)
CORES=$(nproc)

echo "# $N hosts on $SSHD sshd, checks: $MODE, formats: $FORMATS, --jobs $JOBS"
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), Linux $(uname -r)"
for bin in "${BINS[@]}"; do
    out=$DIR/out
    rm -rf "$out"
    t0=$(server_ticks)
    /usr/bin/time -v -o "$DIR/time" env NEARMISS_NOW=2026-12-01T02:00:00Z \
        "$bin" scan -q -c "$CHECKS" -i "$DIR/inventory.json" -o "$out" -j "$JOBS" \
        --timeout 120 --format "$FORMATS" >/dev/null || :
    t1=$(server_ticks)
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0;
                       for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$DIR/time")
    user=$(awk -F': ' '/User time/ {print $2}' "$DIR/time")
    sys=$(awk -F': ' '/System time/ {print $2}' "$DIR/time")
    kib=$(awk -F': ' '/Maximum resident/ {print $2}' "$DIR/time")
    ok=$(jq '.summary.scanned' "$out/latest.json" 2>/dev/null || echo '?')
    awk -v b="$bin" -v n="$N" -v ok="$ok" -v w="$wall" -v u="$user" -v s="$sys" -v k="$kib" \
        -v st="$((t1 - t0))" -v hz="$HZ" -v c="$CORES" \
        'BEGIN { srv = st / hz
                 printf "%s: %s/%d scanned, wall %.1f s, client CPU %.2f ms/host, peak RSS %.1f MiB, server CPU %.1f s, wall/floor %.2f\n",
                 b, ok, n, w, (u + s) * 1000 / n, k / 1024, srv, (srv > 0 ? w / (srv / c) : 0) }'
done
