#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-max-per.sh BINARY — scans that respect the shape of the fleet:
# nine real sshd fake hosts, six labelled hypervisor=h1, two hypervisor=h2
# and one without the label, scanned with --jobs 8 --max-per hypervisor=2.
# One check of this test's own sleeps on every host and, from inside the
# host's session, appends the host's own clock (date +%s.%N) at its start and
# end to a file, with the niceness and I/O class the probe runs at. From
# those host-side times: never more than two h1 hosts at once, h2 and the
# unlabelled host alongside them, every host at nice 10 and idle I/O. From
# the report: each host's scan.started_at/ended_at, each h1 host's own
# deadline (--timeout shorter than the h1 hosts' span, yet all ok), the
# scanner's timeline within the ideal schedule plus a margin, and the HTML
# timeline of the slowest hosts.
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"

nm_args "$@"
nm_need_tools jq xmllint
nm_tempdir nm-maxper-test

SLEEP=4
TIMES=$DIR/times.log
: >"$TIMES"
chmod 666 "$TIMES"

nm_fleet_start --clones 9
# Labels: clone-001..006 on h1, 007..008 on h2, 009 none.
jq '.hosts |= map(
        (.name | ltrimstr("clone-") | tonumber) as $i |
        if $i <= 6 then .labels.hypervisor = "h1"
        elif $i <= 8 then .labels.hypervisor = "h2"
        else .labels |= ((. // {}) | del(.hypervisor)) end)' "$INV" >"$DIR/inv.json"
INV=$DIR/inv.json

# The only check: the host's own times, nice and I/O class around a sleep.
mkdir -p "$DIR/checks"
jq -n --arg log "$TIMES" --arg sleep "$SLEEP" '{
  id: "host-clock", title: "the host records when its probe ran", category: "health",
  probe: {id: "host-clock", timeout: 60, script: [
    "io=$(ionice -p $$ 2>/dev/null | cut -d: -f1)",
    "echo \"$(hostname) start $(date +%s.%N) nice=$(nice) io=${io:-none}\" >>\($log)",
    "sleep \($sleep)",
    "echo \"$(hostname) end $(date +%s.%N)\" >>\($log)",
    "echo done"]},
  parser: "lines", rules: [{severity: "info", message: "ran"}],
  subject: "{line}", message: "{line}"}' >"$DIR/checks/host-clock.json"

TIMEOUT=$((SLEEP * 5 / 2))
nm_run_scan 300 "$DIR/scan.log" -i "$INV" --known-hosts "$KH" --identity "$KEY" \
    -c "$DIR/checks" -o "$DIR/out" --timeout "$TIMEOUT" --jobs 8 --max-per hypervisor=2 \
    --max-per rack=1 --tls-discovery off
echo "# nearmiss scan --max-per hypervisor=2 -> exit $RC (${SECS}s)"
R=$DIR/out/latest.json
nm_need_report "scan: a report"
[[ $RC == 0 ]] && ok "scan: exit 0" || {
    not_ok "scan: exit 0 (got $RC)"
    sed -n '1,15s/^/#   /p' "$DIR/scan.log"
}
sed 's/^/# host: /' "$TIMES"

# Host-side intervals: NAME START END.
awk '$2 == "start" { s[$1] = $3 } $2 == "end" { e[$1] = $3 }
     END { for (h in s) print h, s[h], (h in e ? e[h] : "") }' "$TIMES" | sort >"$DIR/iv"
n_iv=$(awk 'NF == 3' "$DIR/iv" | wc -l)
[[ $n_iv == 9 ]] && ok "host side: 9 hosts recorded a start and an end" ||
    not_ok "host side: 9 hosts recorded a start and an end (got $n_iv)"

# The most hosts of a set running at one moment, from the host-side times
# (an end at the same instant as a start counts as before it).
peak() { # REGEX
    awk -v re="$1" '$1 ~ re { print $2, 1; print $3, -1 }' "$DIR/iv" | sort -k1,1g -k2,2n |
        awk '{ c += $2; if (c > m) m = c } END { print m + 0 }'
}
p1=$(peak '^clone-00[1-6]$')
pall=$(peak '.')
echo "# host side: at most $p1 h1 hosts at once, $pall hosts in all"
[[ $p1 == 2 ]] && ok "host side: at most 2 hypervisor=h1 hosts at once, and 2 reached" ||
    not_ok "host side: at most 2 hypervisor=h1 hosts at once, and 2 reached (got $p1)"
[[ $pall -ge 3 ]] && ok "host side: other hypervisors' hosts ran alongside ($pall at once)" ||
    not_ok "host side: other hypervisors' hosts ran alongside (peak $pall)"
# The hosts outside h1 did not wait for h1: each overlaps an h1 host.
alongside=$(awk '$1 ~ /^clone-00[1-6]$/ { s[++n] = $2; e[n] = $3 }
    $1 ~ /^clone-00[7-9]$/ { os[$1] = $2; oe[$1] = $3 }
    END { c = 0; for (o in os) for (i = 1; i <= n; i++)
              if (os[o] < e[i] && s[i] < oe[o]) { c++; break }
          print c }' "$DIR/iv")
[[ $alongside == 3 ]] && ok "host side: h2 hosts and the unlabelled one each overlap an h1 host" ||
    not_ok "host side: h2 hosts and the unlabelled one each overlap an h1 host ($alongside of 3)"
bad_prio=$(grep ' start ' "$TIMES" | grep -cv ' nice=10 io=idle$' || :)
[[ $bad_prio == 0 ]] && ok "host side: every probe ran at nice 10, I/O class idle" ||
    not_ok "host side: every probe ran at nice 10, I/O class idle ($bad_prio did not)"

# The report: per-host scan times on the run's clock and in ms.
jcheck "report: every host has scan.started_at <= ended_at and start_ms <= end_ms" \
    '[.hosts[] | .scan | (.started_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")) and
      .started_at <= .ended_at and .start_ms >= 0 and .start_ms <= .end_ms] | length == 9 and all' "$R"
jcheck "report: every host ok although h1's span exceeds --timeout $TIMEOUT (deadlines per host)" \
    '[.hosts[] | .status == "ok"] | all' "$R"
span=$(jq '[.hosts[] | select(.labels.hypervisor == "h1") | .scan] |
           ((map(.end_ms) | max) - (map(.start_ms) | min))' "$R")
longest=$(jq '[.hosts[] | select(.labels.hypervisor == "h1") | .scan | .end_ms - .start_ms] | max' "$R")
echo "# scanner: h1 span ${span} ms, longest h1 host ${longest} ms, --timeout ${TIMEOUT} s"
((span > TIMEOUT * 1000)) && ok "scanner: the h1 hosts' span (${span} ms) exceeds --timeout" ||
    not_ok "scanner: the h1 hosts' span (${span} ms) exceeds --timeout ${TIMEOUT}s"
# Ideal: three rounds of two; each later host starts when an h1 slot frees.
((span <= 3 * longest + 3000)) && ok "scanner: h1 span within 3 rounds of the longest host + 3 s" ||
    not_ok "scanner: h1 span ${span} ms > 3 x ${longest} ms + 3 s"
late=$(jq '[.hosts[] | select(.labels.hypervisor == "h1") | .scan] as $h |
    [$h[] as $x | select(([$h[] | select(.start_ms < $x.start_ms)] | length) >= 2) |
     ([$h[] | select(.end_ms <= $x.start_ms) | .end_ms] | max) as $freed |
     if $freed == null then 1e9 else $x.start_ms - $freed end] | max // 0' "$R")
echo "# scanner: an h1 host waited at most ${late} ms after a slot freed"
((late <= 1000)) && ok "scanner: each queued h1 host started within 1 s of an h1 slot freeing" ||
    not_ok "scanner: a queued h1 host started ${late} ms after a slot freed"

# The HTML timeline: the slowest hosts, one bar each.
H=$DIR/out/report.html
bars=$(xmllint --html --xpath 'count(//*[@id="timeline"]//*[contains(concat(" ", @class, " "), " tl-bar ")])' "$H" 2>/dev/null || echo 0)
[[ $bars -ge 1 && $bars -le 10 ]] && ok "html: a timeline of the slowest hosts ($bars bars)" ||
    not_ok "html: a timeline of the slowest hosts (got $bars bars)"

# Refused: a limit that is not LABEL=N.
nm_run_scan 30 "$DIR/bad.log" -i "$INV" -c "$DIR/checks" -o "$DIR/bad" --max-per hypervisor
[[ $RC == 1 ]] && grep -q 'max-per' "$DIR/bad.log" && ok "--max-per hypervisor: usage error" ||
    not_ok "--max-per hypervisor: usage error (exit $RC)"
nm_run_scan 30 "$DIR/bad0.log" -i "$INV" -c "$DIR/checks" -o "$DIR/bad0" --max-per hypervisor=0
[[ $RC == 1 ]] && grep -q "max-per" "$DIR/bad0.log" && ok "--max-per hypervisor=0: usage error" ||
    not_ok "--max-per hypervisor=0: usage error (exit $RC)"

nm_finish
