#!/usr/bin/env bash
# bench/scan-fleet.sh [N] [JOBS] — wall time and peak memory of scanning a
# loopback fleet of N copies of the ok-debian fake host (default 100) with
# --jobs JOBS (default N), after one warm-up run. Needs root (the fleet's
# mount namespaces) and a built build/nearmiss. Prints one line per run:
# wall, user and sys CPU, peak RSS.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
N=${1:-100}
JOBS=${2:-$N}
BIN=$ROOT/build/nearmiss
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-bench.XXXXXX")
trap '"$ROOT/tests/fleet/fleet.sh" stop "$DIR/fleet" >/dev/null 2>&1 || :; rm -rf "$DIR"' EXIT
"$ROOT/tests/fleet/fleet.sh" start "$DIR/fleet" --clones "$N" >/dev/null
INV=$DIR/fleet/inventory.json
"$BIN" scan -q -i "$INV" -o "$DIR/warm" -j "$JOBS" --timeout 60 || :
for run in 1 2 3; do
    /usr/bin/time -f '%e %U %S %M' -o "$DIR/time" "$BIN" scan -q -i "$INV" -o "$DIR/out" -j "$JOBS" --timeout 60 || :
    read -r secs user sys kib <"$DIR/time"
    ok=$(jq '.summary.scanned' "$DIR/out/latest.json")
    echo "run $run: $N hosts, --jobs $JOBS: ${secs} s wall, ${user} s user, ${sys} s sys, peak RSS ${kib} KiB, $ok scanned ok"
done
