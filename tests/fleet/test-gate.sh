#!/usr/bin/env bash
# test-gate.sh BINARY — `nearmiss gate` on the fake fleet: ready when the
# role keeps its minimum and spread without the host (clones of role app,
# one per zone), not ready when the drain breaks the role (web has two
# hosts and needs two) or the host has a high finding, could not tell for a
# host that cannot be scanned; --fail-on and --checks; JUnit output; and
# nothing written: no report directory, no history. Exit 0 pass, 1 fail,
# 77 no sshd.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
nm_args_plain "$@"
nm_need_tools jq python3
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-gate.XXXXXX")
trap 'nm_fleet_stop; rm -rf "$DIR"' EXIT

"$FLEET" start "$DIR/fleet" ok-debian ubuntu-reboot down --clones 3 >"$DIR/fleet.log" 2>&1 ||
    { sed 's/^/# /' "$DIR/fleet.log"; exit 1; }
F=$DIR/fleet
mkdir -p "$DIR/cwd"
cd "$DIR/cwd"
gate() { # NAME ARGS...: output in $DIR/NAME.out, status in RC
    local name=$1
    shift
    RC=0
    timeout 120 "$BIN" gate -i "$F/inventory.json" --timeout 20 "$@" >"$DIR/$name.out" 2>&1 || RC=$?
}
expect() { # DESC WANT-RC NAME GREP...
    local desc=$1 want=$2 name=$3 pat good=1
    shift 3
    [[ $RC == "$want" ]] || good=0
    for pat in "$@"; do grep -q -- "$pat" "$DIR/$name.out" || good=0; done
    if ((good)); then
        ok "$desc"
    else
        not_ok "$desc (exit $RC, expected $want)"
        sed 's/^/# /' "$DIR/$name.out"
    fi
}

gate ready --hosts clone-001 --json "$DIR/ready.json"
expect "clone-001 out: app keeps 2 healthy over two zones: ready, exit 0" 0 ready \
    "^host clone-001: ready (taken out)" "^role app: ready (2 healthy, needs 2)" "^gate: ready"
if jq -e '.schema == "nearmiss.gate/1" and .verdict == "ready" and .drain == ["clone-001"]
          and .roles[0].role == "app" and .roles[0].healthy == 2' "$DIR/ready.json" >/dev/null; then
    ok "--json: the verdict as nearmiss.gate/1"
else
    not_ok "--json: the verdict as nearmiss.gate/1"
fi
if [[ -z $(ls -A "$DIR/cwd") ]]; then
    ok "the gate wrote nothing: no reports/, no history"
else
    not_ok "the gate wrote files: $(ls -A "$DIR/cwd")"
fi

gate web --hosts ok-debian --junit "$DIR/web.xml"
expect "ok-debian out: web would have 1 of the 2 it needs: not ready, exit 100, caused by the drain" 100 web \
    "^host ok-debian: NOT READY (taken out)" "taking it out: role web is not ready" \
    "^role web: NOT READY (1 healthy, needs 2)" "role-redundancy: role web has 1 healthy host of the 2 it needs with ok-debian drained.*(caused by the drain)"
if python3 - "$DIR/web.xml" <<'PY'; then
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = {tc.get("name"): tc for tc in root.iter("testcase")}
assert root.get("tests") == "2" and root.get("failures") == "2", root.attrib
assert cases["host ok-debian"].find("failure") is not None
assert "caused by the drain" in cases["role web"].find("failure").text
PY
    ok "--junit: one testcase per host and role, failures with the reasons"
else
    not_ok "--junit: one testcase per host and role"
    sed 's/^/# /' "$DIR/web.xml"
fi

gate role --role web --drain ok-debian
expect "--role web --drain ok-debian: ubuntu-reboot's own high findings make it not ready" 100 role \
    "^host ubuntu-reboot: NOT READY$" "high patch-apt: security update" "^host ok-debian: NOT READY (taken out)"

# The scanned hosts go through a spool in a private scratch directory under
# $TMPDIR (every host to its file with NEARMISS_SPOOL_MEMORY=0): the same
# verdicts, reasons with their check ids included, and nothing left behind.
mkdir -p "$DIR/tmp"
gate role-mem --role web --drain ok-debian --json "$DIR/role-mem.json"
RC_MEM=$RC
TMPDIR=$DIR/tmp NEARMISS_SPOOL_MEMORY=0 gate role-file --role web --drain ok-debian --json "$DIR/role-file.json"
if [[ $RC == 100 && $RC_MEM == 100 ]] && cmp -s "$DIR/role-mem.json" "$DIR/role-file.json" &&
    grep -q "high patch-apt: security update" "$DIR/role-file.out" &&
    [[ -z $(ls -A "$DIR/tmp") ]]; then
    ok "hosts spooled to a scratch file (NEARMISS_SPOOL_MEMORY=0): the same verdicts, the scratch directory removed"
else
    not_ok "spooled gate: exit $RC_MEM/$RC, scratch left: $(ls -A "$DIR/tmp")"
    diff "$DIR/role-mem.json" "$DIR/role-file.json" | sed 's/^/# /' | head -20
fi

gate down --hosts down
expect "a host that cannot be scanned: could not tell, exit 2" 2 down \
    "^host down: UNKNOWN (taken out)" "could not be scanned: unreachable" "^gate: could not tell"

gate crit --hosts ubuntu-reboot --checks patch-apt --fail-on critical
expect "--checks patch-apt --fail-on critical: high findings and a high role finding do not block" 0 crit \
    "^host ubuntu-reboot: ready (taken out)" "^role web: ready"

gate bad --hosts ok-debian --drain nosuch
expect "--drain of an unknown host: usage error" 1 bad "no host \"nosuch\""
gate bad2 --hosts ok-debian --checks no-such-check
expect "--checks with an unknown id: usage error" 1 bad2 "no check \"no-such-check\""
nm_finish
