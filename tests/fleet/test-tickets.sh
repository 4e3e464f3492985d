#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-tickets.sh BINARY — tickets through whole scans: a real sshd fake host
# whose /var fills up day by day, scanned nightly under NEARMISS_NOW, with the
# history database deciding new/persisting/resolved and the tickets going to
# a local GitHub + PagerDuty stand-in (tests/tickets/fake_api.py, which
# records every request and answers the first GitHub create with a 500), an
# exec: command and a dir: target.
#
#   day 1  /var 86 %  medium            nothing (below --ticket-min high)
#   day 2  /var 91 %  high              open        (GitHub: 500, kept queued)
#   day 3  /var 96 %  critical          update      (GitHub: the open retried first)
#   day 4  host unreachable             nothing: not resolved, not reopened
#   day 5  /var 96 %  critical          nothing
#   day 6  /var 40 %  (resolved)        resolve
#   day 7  /var 40 %                    nothing
#
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"

nm_args "$@"
nm_need_tools jq python3
nm_tempdir nm-tickets-test
API_PID=
cleanup_all() {
    [[ -n $API_PID ]] && { kill "$API_PID" 2>/dev/null || :; wait "$API_PID" 2>/dev/null || :; }
    nm_cleanup
}
trap cleanup_all EXIT

# The host: rocky-disk's definition with a df table this test rewrites.
mkdir -p "$DIR/hosts" "$DIR/checks"
cp -r "$HERE/hosts/rocky-disk" "$DIR/hosts/tk-disk"
# No role: the db role's redundancy finding would be a second ticket.
printf '{ "description": "tickets test: /var fills up", "hostkeys": ["ed25519"] }\n' \
    >"$DIR/hosts/tk-disk/host.json"
rm -f "$DIR/hosts/tk-disk/bin/df"
printf '#!/bin/sh\nexec %q %q "$@"\n' "$HERE/lib/fakedf" "$DIR/hosts/tk-disk/data/df" \
    >"$DIR/hosts/tk-disk/bin/df"
chmod +x "$DIR/hosts/tk-disk/bin/df"
cp "$HERE/../../checks/disk-space.json" "$DIR/checks/"
set_var() { # set_var USED_KIB (of 20961280)
    local used=$1 size=20961280
    cat >"$DIR/hosts/tk-disk/data/df" <<EOF
/dev/mapper/rl-root   xfs      73364480 20000000 53364480 36700160  412093 36288067  /
/dev/mapper/rl-var    xfs      $size $used $((size - used)) 10485760   88312 10397448  /var
EOF
}

export NM_FLEET_HOSTS_DIR=$DIR/hosts
nm_fleet_start tk-disk

# GitHub and PagerDuty stand-ins.
LOG=$DIR/api.log
python3 "$HERE/../tickets/fake_api.py" "$LOG" "$DIR/api.port" \
    --fail-once 'POST:^/repos/acme/infra/issues$' &
API_PID=$!
for _ in $(seq 100); do [[ -s $DIR/api.port ]] && break; sleep 0.1; done
URL=http://127.0.0.1:$(cat "$DIR/api.port")
export GITHUB_TOKEN=ghp-fleet-test-token
PD_KEY=FLEETROUTINGKEY000000000000000

OUT=$DIR/out
EXEC_LOG=$DIR/exec.jsonl
jq '.hosts[0].port = 1' "$INV" >"$DIR/down.json"
scan_day() { # scan_day N [INVENTORY]
    local day=$1 inv=${2:-$INV}
    # Odd days keep the hosts in the spool's file (ticket planning reads them
    # back from it), even days in memory: the events must not care.
    NEARMISS_NOW=$(printf '2026-12-%02dT02:00:00Z' "$day") NEARMISS_SPOOL_MEMORY=$((day % 2 ? 0 : 8)) \
        nm_run_scan 120 "$DIR/day$day.log" -i "$inv" -c "$DIR/checks" -o "$OUT" --timeout 20 \
        --ticket "exec:cat >> $EXEC_LOG" --ticket "dir:$DIR/tickets" \
        --ticket github:acme/infra --github-url "$URL" \
        --ticket "pagerduty:$PD_KEY" --pagerduty-url "$URL"
    echo "# day $day: nearmiss scan -> exit $RC; $(grep '^tickets:' "$DIR/day$day.log" || :)"
}
events() {
    if [[ -e $EXEC_LOG ]]; then jq -sc '[.[] | [.action, .severity, .previous_severity]]' "$EXEC_LOG"; else echo '[]'; fi
}
expect_events() { # expect_events DESCRIPTION JSON
    local got
    got=$(events)
    [[ $got == "$2" ]] && ok "$1" || { not_ok "$1"; echo "#   got $got"; echo "#   want $2"; }
}

set_var 18026700 # 86 %
scan_day 1
[[ $RC == 0 ]] && ok "day 1: scan exit 0" || { not_ok "day 1: scan exit $RC"; sed 's/^/#   /' "$DIR/day1.log"; }
FP=$(jq -r '.hosts[0].findings[] | select(.subject == "/var") | .fingerprint' "$OUT/latest.json")
[[ $FP =~ ^[0-9a-f]{64}$ ]] && ok "day 1: /var has a finding" || not_ok "day 1: /var finding ($FP)"
jq -e '.hosts[0].findings[] | select(.subject == "/var") | .severity == "medium"' "$OUT/latest.json" >/dev/null &&
    ok "day 1: /var medium" || not_ok "day 1: /var medium"
expect_events "day 1: no ticket below --ticket-min" '[]'

set_var 19074800 # 91 %
scan_day 2
expect_events "day 2: open at high" '[["open","high",null]]'
grep -q 'tickets: 4 opened, 0 updated, 0 resolved; 3 delivered, 1 kept for the next run' "$DIR/day2.log" &&
    ok "day 2: the summary line counts the failed GitHub delivery" || not_ok "day 2: summary line"
grep -q 'HTTP 500' "$DIR/day2.log" && ok "day 2: the failure is reported" || not_ok "day 2: failure reported"

set_var 20122800 # 96 %
scan_day 3
expect_events "day 3: one update to critical" '[["open","high",null],["update","critical","high"]]'

scan_day 4 "$DIR/down.json"
[[ $RC == 2 ]] && ok "day 4: host unreachable, exit 2" || not_ok "day 4: exit $RC"
jq -e '.resolved == [] and .hosts[0].status != "ok"' "$OUT/latest.json" >/dev/null &&
    ok "day 4: nothing resolved" || not_ok "day 4: nothing resolved"
expect_events "day 4: no event for an unscanned host" '[["open","high",null],["update","critical","high"]]'

scan_day 5
expect_events "day 5: back, unchanged: nothing" '[["open","high",null],["update","critical","high"]]'

set_var 8384512 # 40 %
scan_day 6
jq -e --arg fp "$FP" '[.resolved[] | select(.fingerprint == $fp)] | length == 1' "$OUT/latest.json" >/dev/null &&
    ok "day 6: history resolved /var" || not_ok "day 6: history resolved /var"
expect_events "day 6: resolve" \
    '[["open","high",null],["update","critical","high"],["resolve","critical","critical"]]'
scan_day 7
expect_events "day 7: nothing twice" \
    '[["open","high",null],["update","critical","high"],["resolve","critical","critical"]]'

# Every event is about the /var finding, first seen on day 1.
jq -se --arg fp "$FP" 'all(.[]; .dedup_key == $fp and .host == "tk-disk" and .check == "disk-space"
    and .first_seen == "2026-12-01T02:00:00Z" and .schema == "nearmiss.ticket/1")' "$EXEC_LOG" >/dev/null &&
    ok "events: the fingerprint, host, check and first_seen" || not_ok "events: fields"
jq -se '[.[].at] == ["2026-12-02T02:00:00Z", "2026-12-03T02:00:00Z", "2026-12-06T02:00:00Z"]' \
    "$EXEC_LOG" >/dev/null && ok "events: at = the run's NEARMISS_NOW" || not_ok "events: at"

# GitHub: the 500, then the open retried before the update, then the close.
got=$(jq -sc '[.[] | select(.path | startswith("/repos/")) | [.method, .path, .status]]' "$LOG")
want='[["POST","/repos/acme/infra/issues",500],["POST","/repos/acme/infra/issues",201],["POST","/repos/acme/infra/issues/1/comments",201],["PATCH","/repos/acme/infra/issues/1",200]]'
[[ $got == "$want" ]] && ok "github: 500, retried once, in order" || { not_ok "github: requests"; echo "#   got $got"; }
jq -se --arg fp "$FP" '[.[] | select(.path == "/repos/acme/infra/issues" and .status == 201)][0].body.body
    | startswith("<!-- nearmiss:" + $fp + " -->")' "$LOG" >/dev/null &&
    ok "github: the issue carries the fingerprint marker" || not_ok "github: marker"
got=$(jq -sc '[.[] | select(.path == "/v2/enqueue") | [.body.event_action, .body.payload.severity]]' "$LOG")
[[ $got == '[["trigger","error"],["trigger","critical"],["resolve",null]]' ]] &&
    ok "pagerduty: trigger, trigger, resolve" || { not_ok "pagerduty: events"; echo "#   got $got"; }
jq -e '.state == "resolved" and ([.events[].action] == ["open","update","resolve"])' \
    "$DIR/tickets/$FP.json" >/dev/null && ok "dir: the ticket file is current" || not_ok "dir: ticket file"

"$BIN" tickets -o "$OUT" --format json >"$DIR/tickets.json" 2>&1 &&
    jq -e '.open == [] and .queue == []' "$DIR/tickets.json" >/dev/null &&
    ok "nearmiss tickets: nothing open, nothing waiting" || not_ok "nearmiss tickets"
if grep -rqs -e "$GITHUB_TOKEN" -e "$PD_KEY" "$OUT" "$DIR"/day*.log "$DIR/tickets"; then
    not_ok "no secret in the reports, history, logs or tickets"
else
    ok "no secret in the reports, history, logs or tickets"
fi
nm_finish
