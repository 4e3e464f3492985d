#!/usr/bin/env bash
# scripts/fuzz.sh TARGET|all [SECONDS] — run libFuzzer on one fuzz target (or
# every one, one after the other) for SECONDS each (default 60).  Builds
# build-fuzz with clang, -Dfuzzing=true and ASan+UBSan first.  Targets are the
# tests/fuzz/fuzz-*.c files: parsers splitter inventory checks waivers
# knownhosts facts report reportread spool.
#   NM_FUZZ_JOBS=2   run that many targets at once (with `all`)
#   NM_FUZZ_ARGS=... extra libFuzzer flags (default -max_len=32768: the
#                    100 KB hostile seeds would otherwise set the length
#                    limit and slow every run; the caps they test are also
#                    covered by the replay in every `meson test`)
# New inputs go to build-fuzz/corpus/TARGET (libFuzzer writes only to its
# first corpus directory); the committed corpus tests/fuzz/corpus/TARGET and
# the real examples are read as seeds.  A crash, leak or failed invariant is
# saved as build-fuzz/artifacts/TARGET/crash-*: fix it, then commit the file
# to tests/fuzz/corpus/TARGET/ so every `meson test` replays it.  The last
# line per target is libFuzzer's "Done N runs in S second(s)".
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
ALL=(parsers splitter inventory checks waivers knownhosts facts report reportread spool jsontext)
target=${1:-}
secs=${2:-60}
if [[ -z $target || $target == -h || $target == --help ]]; then
    sed -n '2,19s/^# \{0,1\}//p' "$0"
    exit 1
fi
if [[ $target == all ]]; then
    targets=("${ALL[@]}")
else
    [[ " ${ALL[*]} " == *" $target "* ]] || { echo "fuzz.sh: no target $target (${ALL[*]})" >&2; exit 1; }
    targets=("$target")
fi
command -v clang >/dev/null || scripts/deps.sh --fuzz

if [[ ! -f build-fuzz/meson-private/coredata.dat ]]; then
    CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C build-fuzz >/dev/null

seeds_for() {
    case $1 in
    parsers) echo tests/data/parsers ;;
    inventory) echo tests/data/inventory ;;
    checks) echo checks ;;
    knownhosts) echo tests/data/known_hosts ;;
    report) echo tests/data/reports ;;
    esac
}

run_one() {
    local t=$1 log=build-fuzz/fuzz-$1.log rc=0
    mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
    # shellcheck disable=SC2046,SC2086
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "build-fuzz/tests/fuzz-$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" ${NM_FUZZ_ARGS:--max_len=32768} \
        "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" $(seeds_for "$t") >"$log" 2>&1 || rc=$?
    local done_line execs
    done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true)
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1 || true)
    if ((rc == 0)); then
        echo "$t: ok, ${execs:-?} executions in ${secs}s (${done_line:-see $log})"
    else
        echo "$t: FAILED (exit $rc), ${execs:-?} executions; see $log and build-fuzz/artifacts/$t/"
    fi
    return $rc
}

jobs=${NM_FUZZ_JOBS:-1}
rc=0
running=0
for t in "${targets[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if ((running >= jobs)); then
        wait -n || rc=1
        running=$((running - 1))
    fi
done
while ((running > 0)); do
    wait -n || rc=1
    running=$((running - 1))
done
exit $rc
