#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015
#
# test-spool.sh BINARY — a scan keeps its hosts on disk as each finishes:
# while the `hang` host holds the scan, the report directory holds the host
# spool (0600, staging name) and ok-debian's finished result is already in
# it; after the scan the spool is gone and the report lists both hosts; a
# scan killed half way leaves its spool behind, and the next scan into the
# directory sweeps it.  Those scans keep nothing in memory
# (NEARMISS_SPOOL_MEMORY=0); with the default budget two hosts stay in
# memory, the spool's file stays empty, and the report is the same.
# Exit 0 pass, 1 fail, 77 skip (no sshd).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"

nm_args "$@"
nm_need_tools jq

nm_tempdir nm-spool-test
nm_fleet_start ok-debian hang
OUT=$DIR/out
TMO=10

spool_files() { find "$1" -maxdepth 1 -name '.nearmiss-hosts.spool.nmtmp-*' 2>/dev/null; }

# wait_for SECONDS CMD...: until CMD succeeds (polls every 0.2 s)
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.2
    done
}
spool_has_ok_debian() {
    local f
    f=$(spool_files "$OUT" | head -n1)
    # The spool's binary form (src/report/spool.c): the key "name" (length
    # 4), a string tag, then "ok-debian" (length 9).
    [[ -n $f ]] && LC_ALL=C grep -aqP '\x04names\x09ok-debian' "$f"
}

# --- a scan held by the hang host
export NEARMISS_SPOOL_MEMORY=0
"$BIN" scan -q -v -i "$INV" --known-hosts "$KH" --identity "$KEY" -o "$OUT" --timeout "$TMO" \
    --jobs 2 --format json,junit,prom >"$DIR/run1.log" 2>&1 &
pid=$!
d="during the scan: ok-debian's result is in the spool before the scan ends"
if wait_for $((TMO + 20)) spool_has_ok_debian; then ok "$d"; else not_ok "$d"; fi
f=$(spool_files "$OUT" | head -n1)
d="during the scan: the spool is mode 0600"
[[ -n $f && $(stat -c %a "$f") == 600 ]] && ok "$d" || not_ok "$d (${f:-none})"
d="during the scan: the scan is still running (hang holds it)"
kill -0 "$pid" 2>/dev/null && ok "$d" || not_ok "$d"
rc=0
wait "$pid" || rc=$?
d="the scan ends with exit 2 (hang timed out)"
[[ $rc == 2 ]] && ok "$d" || { not_ok "$d (got $rc)"; sed -n '1,10s/^/#   /p' "$DIR/run1.log"; }
d="after the scan: -v says no host stayed in memory"
grep -qx 'memory: 0 of 2 hosts kept in memory, the rest read back from disk' "$DIR/run1.log" &&
    ok "$d" || not_ok "$d"
d="after the scan: no spool left"
[[ -z $(spool_files "$OUT") ]] && ok "$d" || not_ok "$d"
jcheck "after the scan: the report lists ok-debian (ok, with its findings) and hang (timeout)" \
    '([.hosts[] | {(.name): .status}] | add) == {"ok-debian": "ok", "hang": "timeout"}
     and (.hosts[] | select(.name == "ok-debian") | (.checks | length) > 0)' "$OUT/latest.json" || :
cp "$OUT/latest.json" "$DIR/run1-latest.json"
d="after the scan: the JUnit file lists both hosts"
grep -q '<testsuite name="ok-debian"' "$OUT/junit.xml" && grep -q '<testsuite name="hang"' "$OUT/junit.xml" &&
    ok "$d" || not_ok "$d"

# --- a scan killed half way, then the next one
"$BIN" scan -q -i "$INV" --known-hosts "$KH" --identity "$KEY" -o "$OUT" --timeout "$TMO" \
    --jobs 2 >"$DIR/run2.log" 2>&1 &
pid=$!
wait_for $((TMO + 20)) spool_has_ok_debian || :
kill -KILL "$pid" 2>/dev/null || :
wait "$pid" 2>/dev/null || :
d="killed half way: its spool stays behind"
[[ -n $(spool_files "$OUT") ]] && ok "$d" || not_ok "$d"
cp "$OUT/latest.json" "$DIR/latest.before"
d="killed half way: latest.json is the previous run's"
cmp -s "$OUT/latest.json" "$DIR/latest.before" && ok "$d" || not_ok "$d"
nm_run_scan 120 "$DIR/run3.log" -q -i "$INV" --known-hosts "$KH" --identity "$KEY" -o "$OUT" \
    --timeout "$TMO" --jobs 2 --hosts ok-debian
d="the next scan: exit 0"
[[ $RC == 0 ]] && ok "$d" || { not_ok "$d (got $RC)"; sed -n '1,10s/^/#   /p' "$DIR/run3.log"; }
d="the next scan: the stale spool is swept"
[[ -z $(spool_files "$OUT") ]] && ok "$d" || not_ok "$d"

# --- a malformed budget stops the run before anything is scanned
rc=0
NEARMISS_SPOOL_MEMORY=12MB "$BIN" scan -q -i "$INV" --known-hosts "$KH" --identity "$KEY" \
    -o "$DIR/out-bad" --timeout "$TMO" >"$DIR/run-bad.log" 2>&1 || rc=$?
d="NEARMISS_SPOOL_MEMORY=12MB: exit 1 naming the variable, no report"
[[ $rc == 1 && ! -e $DIR/out-bad/latest.json ]] && grep -q 'NEARMISS_SPOOL_MEMORY="12MB" is not a number of MiB' "$DIR/run-bad.log" &&
    ok "$d" || not_ok "$d (got $rc)"

# --- the default budget: a small fleet stays in memory
unset NEARMISS_SPOOL_MEMORY
OUT2=$DIR/out-mem
"$BIN" scan -q -v -i "$INV" --known-hosts "$KH" --identity "$KEY" -o "$OUT2" --timeout "$TMO" \
    --jobs 2 --format json,junit,prom >"$DIR/run4.log" 2>&1 &
pid=$!
sleep $((TMO / 2)) # ok-debian done (its scan takes a second or two), hang still held
f=$(spool_files "$OUT2" | head -n1)
d="default budget: while hang holds the scan, the spool exists and its file is empty"
[[ -n $f && ! -s $f ]] && kill -0 "$pid" 2>/dev/null && ok "$d" || not_ok "$d (${f:-none})"
rc=0
wait "$pid" || rc=$?
d="default budget: -v says both hosts stayed in memory"
grep -qx 'memory: 2 of 2 hosts kept in memory, the rest read back from disk' "$DIR/run4.log" &&
    ok "$d" || not_ok "$d"
d="default budget: exit 2, no spool left"
[[ $rc == 2 && -z $(spool_files "$OUT2") ]] && ok "$d" || not_ok "$d (got $rc)"
norm() { jq -S '[.hosts[] | {name, status, score, findings: [.findings[] | {check, severity, message}]}]' "$1"; }
d="default budget: the hosts and findings are those of the scan that used the file"
[[ $(norm "$OUT2/latest.json") == "$(norm "$DIR/run1-latest.json")" ]] && ok "$d" || not_ok "$d"

nm_finish
