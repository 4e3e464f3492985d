#!/usr/bin/env bash
# scripts/test.sh [meson test args] — the whole test suite from a fresh
# Debian 12: installs what is missing (with the browser), builds, runs every
# meson test suite, and ends with one line "N passed, M failed[, K skipped]"
# counted from meson's test log. Exit status non-zero when anything failed.
# Extra arguments go to `meson test` (e.g. --suite unit, --setup valgrind).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
say() { printf '\n== %s\n' "$*"; }

say "dependencies"
scripts/deps.sh --browser

say "build"
if [[ ! -f build/meson-private/coredata.dat ]]; then
    meson setup build
fi
build_rc=0
ninja -C build || build_rc=$?

LOG=build/meson-logs/testlog.json
rm -f "$LOG"
test_rc=0
if ((build_rc == 0)); then
    say "tests"
    meson test -C build --print-errorlogs "$@" || test_rc=$?
fi

say "summary"
passed=0 failed=0 skipped=0
if [[ -s $LOG ]]; then
    read -r passed failed skipped < <(jq -rs '
        [.[] | .result] as $r
        | [ ($r | map(select(. == "OK" or . == "EXPECTEDFAIL")) | length),
            ($r | map(select(. == "FAIL" or . == "TIMEOUT" or . == "UNEXPECTEDPASS" or . == "ERROR")) | length),
            ($r | map(select(. == "SKIP")) | length) ] | @tsv' "$LOG")
    jq -r 'select(.result != "OK" and .result != "SKIP" and .result != "EXPECTEDFAIL") | "  \(.result): \(.name)"' "$LOG"
fi
if ((build_rc != 0)); then
    echo "the build failed (ninja exit $build_rc): no test ran"
    failed=$((failed + 1))
elif [[ ! -s $LOG ]]; then
    echo "meson test wrote no $LOG (exit $test_rc)"
    failed=$((failed + 1))
elif ((test_rc != 0 && failed == 0)); then
    echo "meson test exited $test_rc although no test failed"
    failed=1
fi
if ((skipped)); then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
((failed == 0))
