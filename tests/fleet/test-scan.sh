#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-scan.sh BINARY — integration test of the scanner against the fake
# fleet (tests/fleet/fleet.sh, test set), written against shared CONTRACT.md:
# statuses per host, OS facts, findings, report files, exit codes, --hosts,
# a config error leaving the previous report alone, and --accept-new.
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"

nm_args "$@"
nm_need_tools jq

nm_tempdir nm-scan-test

# jqt DESCRIPTION FILTER FILE [jq args]: pass when FILTER yields true
jqt() {
    local d=$1 f=$2 file=$3
    shift 3
    jcheck "$d" "$@" "$f" "$file" || :
}
# host NAME FILE: that host's JSON, for the log when something fails
show_host() { nm_dump_host "$1" "$2" "" 2000 .; }

NM_NO_PLAN=1 nm_fleet_start --set test
OUT=$DIR/out

# scan LOG ARGS...: run the scanner, set RC and SECS (wall clock)
scan() {
    local log=$1
    shift
    nm_run_scan 120 "$log" "$@"
    echo "# nearmiss scan $* -> exit $RC in $SECS s"
    if [[ $RC != 0 && $RC != 2 && $RC != 100 ]]; then sed -n '1,15s/^/#   /p' "$log"; fi
}

# --- run 1: the whole test set
scan "$DIR/run1.log" -i "$INV" --known-hosts "$KH" --identity "$KEY" -o "$OUT" --timeout 8 --jobs 8
R=$OUT/latest.json
d="run 1: exit status 2 (some hosts could not be scanned)"
[[ $RC == 2 ]] && ok "$d" || not_ok "$d (got $RC)"
d="run 1: done in < 30 s (the hang host is bounded by --timeout 8)"
awk -v s="$SECS" 'BEGIN { exit !(s < 30) }' && ok "$d" || not_ok "$d (took $SECS s)"
d="run 1: OUT/latest.json is valid JSON with schema nearmiss.report/1"
if jq -e '.schema == "nearmiss.report/1"' "$R" >/dev/null 2>&1; then ok "$d"; else
    not_ok "$d"
    sed -n '1,20s/^/#   /p' "$DIR/run1.log"
    echo "1..$n"
    echo "FAIL: no usable report; $failed of $n checks failed"
    exit 1
fi
d="run 1: a timestamped report besides latest.json"
stamped=$(find "$OUT" -name '*.json' ! -name latest.json | wc -l)
[[ $stamped -ge 1 ]] && ok "$d" || not_ok "$d (found $stamped)"
# Every host definition of the test set, once each (the set grows as checks add hosts).
expected_hosts=$(find "$HERE/hosts" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort | jq -R . | jq -sc .)
jqt "run 1: the report lists every host of the test set ($(jq length <<<"$expected_hosts")), once each" \
    '[.hosts[].name] | sort == $want' "$R" --argjson want "$expected_hosts"

declare -A want=(
    [ok-debian]=ok [ubuntu-reboot]=ok [rocky-disk]=ok [alpine-ok]=ok
    [unknown-key]=hostkey_unknown [wrong-key]=hostkey_mismatch [no-auth]=auth_failed
    [hang]=timeout [down]=unreachable
)
for h in ok-debian ubuntu-reboot rocky-disk alpine-ok unknown-key wrong-key no-auth hang down; do
    got=$(jq -r --arg h "$h" '.hosts[] | select(.name == $h) | .status' "$R" 2>/dev/null) || got=""
    d="run 1: $h has status ${want[$h]}"
    if [[ $got == "${want[$h]}" ]]; then ok "$d"; else
        not_ok "$d (got '${got:-nothing}')"
        show_host "$h" "$R"
    fi
done
d="run 1: flood is ok or error, with a truncation recorded"
if jq -e '.hosts[] | select(.name == "flood") |
          (.status == "ok" or .status == "error") and
          ([.. | strings | test("truncat"; "i")] | any)' "$R" >/dev/null 2>&1; then ok "$d"; else
    not_ok "$d"
    show_host flood "$R"
fi
jqt "run 1: ok-debian is debian 12" \
    '.hosts[] | select(.name == "ok-debian") | .os.id == "debian" and (.os.version_id | tostring) == "12"' "$R"
jqt "run 1: ok-debian has no critical finding" \
    '.hosts[] | select(.name == "ok-debian") | [(.findings // [])[] | select(.severity == "critical")] | length == 0' "$R"
d="run 1: ubuntu-reboot has a finding of category reboot"
if jq -e '.hosts[] | select(.name == "ubuntu-reboot") | [(.findings // [])[] | select(.category == "reboot")] | length > 0' "$R" >/dev/null 2>&1; then
    ok "$d"
else
    not_ok "$d"
    show_host ubuntu-reboot "$R"
fi
d="run 1: rocky-disk has a critical disk finding for /var with value 97"
if jq -e '.hosts[] | select(.name == "rocky-disk") | [(.findings // [])[] |
          select(.category == "disk" and .severity == "critical" and (.subject | tostring | test("/var$|/var[^/]|^/var$")) and
                 ((.value | tonumber? // -1) == 97))] | length > 0' "$R" >/dev/null 2>&1; then
    ok "$d"
else
    not_ok "$d"
    show_host rocky-disk "$R"
fi
jqt "run 1: summary counts agree with hosts[]" \
    '.summary.hosts == (.hosts | length) and .summary.scanned == ([.hosts[] | select(.status == "ok")] | length)' "$R"
R1_COPY=$DIR/run1-latest.json
cp "$R" "$R1_COPY"

# --- run 2: --hosts 'ok-*' into the same report directory
scan "$DIR/run2.log" -i "$INV" --known-hosts "$KH" --identity "$KEY" -o "$OUT" --timeout 8 --jobs 8 --hosts 'ok-*'
d="run 2 (--hosts 'ok-*'): exit 0"
[[ $RC == 0 ]] && ok "$d" || not_ok "$d (got $RC)"
jqt "run 2: the report holds only ok-debian" '[.hosts[].name] == ["ok-debian"]' "$R"

# --- run 3: a config error (unknown inventory key) changes nothing
cp "$R" "$DIR/latest.before"
jq '.hosts[0].no_such_key = true' "$INV" >"$DIR/bad-inventory.json"
scan "$DIR/run3.log" -i "$DIR/bad-inventory.json" --known-hosts "$KH" --identity "$KEY" -o "$OUT" --timeout 8
d="run 3 (inventory with an unknown key): exit 1"
[[ $RC == 1 ]] && ok "$d" || not_ok "$d (got $RC)"
d="run 3: the error names the key"
grep -q no_such_key "$DIR/run3.log" && ok "$d" || not_ok "$d"
d="run 3: latest.json is byte-identical to before"
cmp -s "$R" "$DIR/latest.before" && ok "$d" || not_ok "$d"

# --- run 4: --accept-new with a copy of known_hosts
cp "$KH" "$DIR/kh-copy"
before=$(wc -l <"$DIR/kh-copy")
scan "$DIR/run4.log" -i "$INV" --known-hosts "$DIR/kh-copy" --identity "$KEY" -o "$DIR/out4" --timeout 8 --jobs 8 --accept-new
R4=$DIR/out4/latest.json
jqt "run 4 (--accept-new): unknown-key is ok" '.hosts[] | select(.name == "unknown-key") | .status == "ok"' "$R4"
jqt "run 4: wrong-key is still hostkey_mismatch (a changed key is never accepted)" \
    '.hosts[] | select(.name == "wrong-key") | .status == "hostkey_mismatch"' "$R4"
after=$(wc -l <"$DIR/kh-copy")
d="run 4: the known_hosts copy gained a line"
[[ $after -gt $before ]] && ok "$d" || not_ok "$d ($before -> $after lines)"
d="run 4: the original known_hosts is untouched"
[[ $(wc -l <"$KH") == "$before" ]] && ok "$d" || not_ok "$d"

# --- run 5: all eight sessions as fibers of one thread, and a thread per
# session: the same report (times aside; one clock for both), so the hang
# and flood hosts held no neighbour of theirs on the one thread.
export NEARMISS_NOW=2026-12-01T02:00:00Z
export NEARMISS_THREADS=1
scan "$DIR/run5a.log" -i "$INV" --known-hosts "$KH" --identity "$KEY" -o "$DIR/out5a" --timeout 8 --jobs 8
rc_a=$RC
export NEARMISS_THREADS=8
scan "$DIR/run5b.log" -i "$INV" --known-hosts "$KH" --identity "$KEY" -o "$DIR/out5b" --timeout 8 --jobs 8
rc_b=$RC
d="run 5: one thread for eight sessions, and eight threads: exit 2 both"
[[ $rc_a == 2 && $rc_b == 2 ]] && ok "$d" || not_ok "$d (got $rc_a and $rc_b)"
d="run 5: one thread for eight sessions and a thread per session write the same report"
"$HERE/same-report.sh" "$DIR/out5a/latest.json" "$DIR/out5b/latest.json" && ok "$d" || not_ok "$d"
jcheck "run 5: on one thread, every host has the status of run 1" --slurpfile r1 "$R1_COPY" \
    '([.hosts[] | {(.name): .status}] | add) == ($r1[0] | [.hosts[] | {(.name): .status}] | add)' \
    "$DIR/out5a/latest.json" || :
export NEARMISS_THREADS=0
scan "$DIR/run5c.log" -i "$INV" --known-hosts "$KH" --identity "$KEY" -o "$DIR/out5c" --timeout 8
d="run 5: NEARMISS_THREADS=0: exit 1 naming the variable, no report"
[[ $RC == 1 && ! -e $DIR/out5c/latest.json ]] && grep -q 'NEARMISS_THREADS="0" is not a number of threads' "$DIR/run5c.log" &&
    ok "$d" || not_ok "$d (got $RC)"
unset NEARMISS_NOW NEARMISS_THREADS

nm_finish
