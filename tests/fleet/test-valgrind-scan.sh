#!/usr/bin/env bash
# shellcheck disable=SC2015
# test-valgrind-scan.sh BINARY — one whole scan of the hostile part of the
# fleet (a good host, a flood, a hang, a changed key, a refused login, a
# closed port) under valgrind memcheck: no invalid access and no leak on any
# of those paths. Skips (77) when valgrind or sshd is absent.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
nm_args_plain "$@"
command -v valgrind >/dev/null || { echo "SKIP: no valgrind"; exit 77; }
# A sanitizer build brings its own shadow memory; valgrind cannot run it.
if grep -q __asan_init "$BIN" 2>/dev/null; then echo "SKIP: $BIN is an ASan build"; exit 77; fi
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-vg.XXXXXX")
trap 'nm_fleet_stop; rm -rf "$DIR"' EXIT
"$FLEET" start "$DIR/fleet" ok-debian rocky-disk flood hang wrong-key no-auth down >"$DIR/fleet.log" 2>&1 ||
    { sed 's/^/# /' "$DIR/fleet.log"; exit 1; }
rc=0
valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    --log-file="$DIR/vg.log" "$BIN" scan -q -i "$DIR/fleet/inventory.json" -o "$DIR/out" \
    --timeout 10 -j 4 || rc=$?
if [[ $rc == 99 ]]; then
    echo "not ok 1 - valgrind found errors:"
    sed 's/^/# /' "$DIR/vg.log" | head -80
    echo "0 passed, 1 failed"
    exit 1
fi
if [[ $rc != 2 ]] || ! jq -e '.summary.hosts == 7' "$DIR/out/latest.json" >/dev/null; then
    echo "not ok 1 - scan under valgrind exited $rc (expected 2) or wrote no full report"
    echo "0 passed, 1 failed"
    exit 1
fi
grep -E "ERROR SUMMARY|definitely|indirectly" "$DIR/vg.log" | sed 's/^/# /'
echo "ok 1 - scan of 7 hostile and healthy hosts is memcheck-clean"
echo "1 passed, 0 failed"
