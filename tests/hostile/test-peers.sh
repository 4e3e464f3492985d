#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-peers.sh BINARY — the whole-host deadline against peers that are not
# healthy SSH servers (peers.py: real sockets on loopback) and against a
# real sshd behind a proxy that stalls at every point of a session.
#
# One scan holds two good fleet hosts and every hostile peer. It must end
# within --timeout plus a margin, give each hostile host its own status and
# a reason, leave the good hosts' results exactly as in a scan without the
# hostile ones, and write reports that are valid and safe to print.
# Exit 0 pass, 1 fail, 77 skip (no sshd).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/../fleet/fleet.sh
# shellcheck source-path=SCRIPTDIR source=../fleet/testlib.sh
. "$HERE/../fleet/testlib.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

nm_args "$@"
nm_need_tools jq python3
nm_tempdir nm-hostile-peers
trap 'peers_cleanup; nm_cleanup' EXIT

T=4                  # --timeout of the scans under test
HOST_LIMIT_MS=5500   # one host: its deadline plus teardown (1 s) and scheduling
SCAN_LIMIT=$((T + 8)) # the whole scan: one deadline (hosts run at once) plus start-up and writing
GOOD=(ok-debian alpine-ok)

NM_NO_PLAN=1 nm_fleet_start "${GOOD[@]}"
SSHD_PORT=$(awk '$1 == "ok-debian" { print $2 }' "$F/ports")

# --- the baseline: the good hosts alone
nm_run_scan 120 "$DIR/base.log" -i "$INV" -o "$DIR/base" --timeout 30
BASE=$DIR/base/latest.json
d="baseline: the good hosts alone scan cleanly (exit 0)"
[[ $RC == 0 ]] && ok "$d" || { not_ok "$d (got $RC)"; sed 's/^/# /' "$DIR/base.log"; }

# --- where a session's bytes go: one scan through a recording proxy
peers_start measure "meas=proxy:$SSHD_PORT:none:0:$DIR/flow"
kh_alias "$DIR/measure.ports" ok-debian >"$DIR/kh-measure"
cat "$KH" >>"$DIR/kh-measure"
jq -n --rawfile r "$DIR/measure.ports" --slurpfile inv "$INV" --arg kh "$DIR/kh-measure" \
    '$inv[0] | .defaults.known_hosts = $kh | .hosts = [$r | split("\n")[] | select(length > 0) |
     split(" ") | {name: .[0], address: "127.0.0.1", port: (.[1] | tonumber)}]' >"$DIR/inv-measure.json"
nm_run_scan 60 "$DIR/measure.log" -i "$DIR/inv-measure.json" -o "$DIR/measure" --timeout 30
d="a scan through the recording proxy works (exit 0)"
[[ $RC == 0 ]] && ok "$d" || { not_ok "$d (got $RC)"; sed 's/^/# /' "$DIR/measure.log"; }

# Stall points: every boundary the client saw in each direction (each is a
# step of the protocol: banner, key exchange, auth, channel, exec...), a
# sample of the output, and one byte before the end.
mapfile -t stalls < <(awk '
    { last[$1] = $2; seen[$1]++ }
    $1 == "c2s" { pts["c2s " $2] = 1 }
    $1 == "s2c" && (seen["s2c"] <= 14 || seen["s2c"] % 12 == 0) { pts["s2c " $2] = 1 }
    END {
        print "c2s 0"; print "s2c 0"
        for (p in pts) { split(p, a, " "); if (a[2] < last[a[1]]) print p }
        print "s2c " last["s2c"] - 1
    }' "$DIR/flow" | sort -u -k1,1 -k2n)
specs=()
for s in "${stalls[@]}"; do
    read -r dir off <<<"$s"
    specs+=("stall-$dir-$off=proxy:$SSHD_PORT:$dir:$off")
done
d="the recorded session gives stall points in both directions (${#stalls[@]})"
((${#stalls[@]} >= 12)) && ok "$d" || { not_ok "$d"; sed 's/^/# /' "$DIR/flow"; }

# --- the hostile peers and the stalling proxies
peers_start hostile pre-banner=prebanner endless-line=endless-line slow-banner=slow-banner \
    silent=silent garbage=garbage ignore-flood=ignore-flood backlog=backlog "${specs[@]}"
inventory_with "$DIR/inv-all.json" "$DIR/hostile.ports"
kh_alias "$DIR/hostile.ports" ok-debian >"$DIR/kh-all"
cat "$KH" >>"$DIR/kh-all"
jq --arg kh "$DIR/kh-all" '.defaults.known_hosts = $kh' "$DIR/inv-all.json" >"$DIR/inv-all.json.tmp"
mv "$DIR/inv-all.json.tmp" "$DIR/inv-all.json"
n_hosts=$(jq '.hosts | length' "$DIR/inv-all.json")

nm_run_scan 300 "$DIR/all.log" -i "$DIR/inv-all.json" -o "$DIR/all" --timeout "$T" --jobs 64
R=$DIR/all/latest.json
echo "# scan of $n_hosts hosts (--timeout $T) -> exit $RC in $SECS s"
d="the scan with hostile hosts exits 2 (some hosts could not be scanned)"
[[ $RC == 2 ]] && ok "$d" || { not_ok "$d (got $RC)"; sed -n '1,30s/^/# /p' "$DIR/all.log"; }
within "the whole scan ends within one deadline ($T s) plus a margin" "$SECS" "$SCAN_LIMIT"
nm_need_report "the report is a nearmiss.report/1 report (valid JSON)"
show_host() { nm_dump_host "$1" "$2" "" 600 '{status, error, scan}'; }

# hostile NAME STATUS REGEX: the host's status and the reason in its error
hostile() {
    hjq "$1: status $2, error matches /$3/" "$1" "" \
        '.status == $st and (.error | test($re))' --arg st "$2" --arg re "$3"
}
hostile pre-banner error 'sent more than [0-9]+ bytes without completing the SSH handshake.*220 mail'
hostile endless-line error 'sent more than [0-9]+ bytes without completing'
hostile slow-banner timeout 'during the SSH banner'
hostile silent timeout 'during the SSH banner \(the port accepted the connection and said nothing\)'
hostile garbage error 'SSH handshake with .* failed'
hostile ignore-flood error 'sent more than [0-9]+ bytes without completing'
hostile backlog unreachable 'no answer from .* before the host deadline'

jcheck "every host ends within its deadline plus teardown (${HOST_LIMIT_MS} ms)" \
    --argjson lim "$HOST_LIMIT_MS" '[.hosts[] | select(.scan.duration_ms > $lim)] | length == 0' "$R" ||
    jq -r --argjson lim "$HOST_LIMIT_MS" '.hosts[] | select(.scan.duration_ms > $lim) |
        "# \(.name): \(.scan.duration_ms) ms"' "$R"

# Each stalled session times out (or is done: a stall after the last output
# byte only delays the goodbye), and the reasons name every step.
jcheck "every stalled session ends as timeout, or ok when only the close was left" \
    '[.hosts[] | select(.name | startswith("stall-")) | select(.status != "timeout" and .status != "ok")]
     | length == 0' "$R" || jq -r '.hosts[] | select(.name | startswith("stall-")) |
        "# \(.name): \(.status) \(.error)"' "$R"
for step in 'the SSH banner' 'the SSH key exchange' 'authentication' 'channel open|exec' \
    'the probes \(output incomplete\)'; do
    jcheck "a stall is caught during $step" --arg re "during ($step)" \
        '[.hosts[] | select(.name | startswith("stall-")) | .error // "" | select(test($re))] | length > 0' "$R" ||
        jq -r '.hosts[] | select(.name | startswith("stall-")) | "# \(.name): \(.status) \(.error)"' "$R"
done
jcheck "the probes that finished before a stall in the output were judged" \
    '[.hosts[] | select(.name | startswith("stall-s2c")) | select(.status == "timeout" and .os.id == "debian"
      and ([.checks[] | select(.result == "pass")] | length > 0))] | length > 0' "$R"

same_as_baseline "a good host's result is unchanged by the hostile ones" "$BASE" "$R" "${GOOD[@]}"
no_raw_esc "the terminal output holds no raw escape (the pre-banner text is escaped)" "$DIR/all.log"
d="the terminal shows the escaped pre-banner text"
grep -qF '\x1b]0;owned\x07' "$DIR/all.log" && ok "$d" || not_ok "$d"
d="the HTML report holds the peer's <script> only as text"
if [[ -s $DIR/all/report.html ]] && ! grep -q '<script>alert(1)' "$DIR/all/report.html"; then ok "$d"; else not_ok "$d"; fi
jcheck "every error in the report is a string (valid UTF-8 survived into JSON)" \
    '[.hosts[] | select(.status != "ok") | select((.error | type) != "string")] | length == 0' "$R"

nm_finish
