#!/usr/bin/env bash
# bench/history-365.sh [RUNS] [HOSTS] — the history's cost after a year of
# nightly scans: RUNS (365) runs of a HOSTS (100) host fleet synthesised
# through the library (bench/history-bench.c: the same open, forecast and
# trend, diff, prune and commit a scan does), once keeping everything and
# once with --keep-days 90; prints the state file sizes and the time the
# history steps add to a run.  Needs a build in build/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${1:-365} HOSTS=${2:-100}
BIN=build/bench/bench-history
[[ -x $BIN ]] || { echo "build first: meson setup build && ninja -C build" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
NEARMISS_CHECKS_DIR=checks "$BIN" "$T/all" "$RUNS" "$HOSTS"
NEARMISS_CHECKS_DIR=checks "$BIN" "$T/keep90" "$RUNS" "$HOSTS" 90
for d in all keep90; do
    printf '%s: ' "$d"
    sqlite3 "$T/$d/history.sqlite" "SELECT 'runs ' || (SELECT count(*) FROM runs) || ', finding episodes ' ||
        (SELECT count(*) FROM findings) || ', samples ' || (SELECT count(*) FROM samples)"
done
