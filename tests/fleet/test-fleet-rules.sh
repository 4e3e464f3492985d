#!/usr/bin/env bash
# shellcheck disable=SC2015
# test-fleet-rules.sh BINARY — fleet-level single points of failure on the
# fake fleet (roles from tests/fleet/roles.json): the web role's two healthy
# hosts share zone a (role-spread, medium); the db role's only host has a
# critical finding (role-redundancy, critical, naming it and why); and
# `--role web --drain ok-debian --fail-on high` turns a role that passes into
# a high finding and exit 100: the pre-change "can I take it out?" question.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
nm_args_plain "$@"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-fleet-rules.XXXXXX")
trap 'nm_fleet_stop; rm -rf "$DIR"' EXIT
jqt() { if ! jcheck "$1" "$2" "$3"; then jq -c '.fleet_findings' "$3" | cut -c1-1500 | sed 's/^/# /'; fi; }

"$FLEET" start "$DIR/fleet" ok-debian ubuntu-reboot rocky-disk >"$DIR/fleet.log" 2>&1 ||
    { sed 's/^/# /' "$DIR/fleet.log"; exit 1; }
F=$DIR/fleet
# The verdicts below rest on these two checks only, whatever else checks/ holds.
mkdir -p "$DIR/checks"
cp "$HERE/../../checks/disk-space.json" "$HERE/../../checks/reboot-required-debian.json" "$DIR/checks/"
scan() { RC=0; timeout 60 "$BIN" scan -q -c "$DIR/checks" -i "$F/inventory.json" -o "$1" --timeout 10 "${@:2}" >/dev/null 2>&1 || RC=$?; }

scan "$DIR/o1"
R=$DIR/o1/latest.json
jqt "web role: spread over one zone is a medium role-spread naming both hosts" \
    '[.fleet_findings[] | select(.check == "role-spread" and .subject == "role web")]
     | length == 1 and .[0].severity == "medium" and (.[0].hosts | sort) == ["ok-debian", "ubuntu-reboot"]
       and (.[0].message | test("zone=a"))' "$R"
jqt "db role: its only host is unhealthy: critical role-redundancy saying why" \
    '[.fleet_findings[] | select(.check == "role-redundancy" and .subject == "role db")]
     | length == 1 and .[0].severity == "critical" and .[0].hosts == ["rocky-disk"]
       and (.[0].message | test("rocky-disk: 1 critical finding: filesystem /var"))' "$R"
jqt "fleet findings have stable fingerprints and category spof" \
    '[.fleet_findings[] | (.fingerprint | test("^[0-9a-f]{64}$")) and .category == "spof"] | all' "$R"
jqt "summary counts include fleet findings" \
    '.summary.findings.medium >= 1 and .summary.findings.critical >= 2' "$R"

scan "$DIR/o2" --role web --fail-on high
[[ $RC == 0 ]] && ok "--role web --fail-on high: exit 0 (only a medium spread finding)" || not_ok "exit $RC, expected 0"
scan "$DIR/o3" --role web --drain ok-debian --fail-on high
[[ $RC == 100 ]] && ok "--drain ok-debian: exit 100" || not_ok "--drain: exit $RC, expected 100"
jqt "--drain: role-redundancy high names the drained host" \
    '.drain == ["ok-debian"] and ([.fleet_findings[] | select(.check == "role-redundancy" and .severity == "high"
       and (.message | test("1 healthy host of the 2 it needs with ok-debian drained")))] | length == 1)' \
    "$DIR/o3/latest.json"
jqt "--drain: no finding about roles outside the selection" \
    '[.fleet_findings[] | select(.subject != "role web")] | length == 0' "$DIR/o3/latest.json"
scan "$DIR/o4" --role web --drain nosuch
[[ $RC == 1 ]] && ok "--drain of an unknown host is a usage error" || not_ok "exit $RC, expected 1"
scan "$DIR/o5" --role web --unhealthy-at medium --fail-on high
jqt "--unhealthy-at medium: ubuntu-reboot (medium reboot finding) no longer counts as healthy" \
    '[.fleet_findings[] | select(.check == "role-redundancy" and (.message | test("ubuntu-reboot: 1 medium finding")))] | length == 1' \
    "$DIR/o5/latest.json"

# --- a selection judges roles only from what it scanned: the web host left
# out counts as healthy, so no role finding is invented from it
scan "$DIR/o8" --hosts ok-debian --fail-on high
[[ $RC == 0 ]] && ok "--hosts ok-debian --fail-on high: exit 0" || not_ok "--hosts ok-debian: exit $RC, expected 0"
jqt "--hosts ok-debian: no role-redundancy for web (ubuntu-reboot simply not selected)" \
    '[.fleet_findings[] | select(.check == "role-redundancy")] | length == 0' "$DIR/o8/latest.json"
jqt "--hosts ok-debian: the spread finding still holds (both hosts of web are in zone a), saying why" \
    '[.fleet_findings[] | select(.check == "role-spread" and .subject == "role web")] | length == 1
     and (.[0].message | test("ubuntu-reboot\\) counted as healthy"))' "$DIR/o8/latest.json"
jqt "--hosts ok-debian: partial_roles names the role, what was scanned and what was not" \
    '.partial_roles == [{"role": "web", "scanned": ["ok-debian"], "not_selected": ["ubuntu-reboot"]}]' \
    "$DIR/o8/latest.json"
scan "$DIR/o9" --hosts ok-debian --drain ok-debian --fail-on high
jqt "--hosts ok-debian --drain ok-debian: 0 + 1 unselected < 2 holds whatever ubuntu-reboot is: high, saying so" \
    '[.fleet_findings[] | select(.check == "role-redundancy" and .severity == "high" and .subject == "role web"
       and (.message | test("1 host of the role not selected")))] | length == 1' "$DIR/o9/latest.json"
[[ $RC == 100 ]] && ok "--hosts ok-debian --drain ok-debian: exit 100" || not_ok "exit $RC, expected 100"

# --- --save-scripts, and the guards that keep probes off hosts they cannot apply to
mkdir -p "$DIR/scripts"
scan "$DIR/o7" --save-scripts "$DIR/scripts"
rs=$DIR/scripts/rocky-disk.sh
if [[ -s $DIR/scripts/ok-debian.sh && -s $rs ]] &&
    grep -q "nm_probe 'reboot-debian'" "$rs" && grep -q '\*" debian "\*|\*" ubuntu "\*' "$rs" &&
    grep -q 'command -v df >/dev/null 2>&1 || exit 0' "$rs"; then
    ok "--save-scripts: one script per host; the Debian-only probe carries its os-release guard, df its command guard"
else
    not_ok "--save-scripts: scripts or guards missing in $DIR/scripts"
fi
jqt "the Debian-only check on the Rocky host is notapplicable, from the facts, while its probe skipped itself" \
    '.hosts[] | select(.name == "rocky-disk") | .checks[] | select(.id == "reboot-required-debian") |
     .result == "notapplicable" and (.reason | test("os is rocky"))' "$DIR/o7/latest.json"

# --- waivers through the command line
cat >"$DIR/w-ok.json" <<'W'
{"waivers": [
  {"check": "reboot-required-debian", "hosts": "ubuntu-*", "justification": "reboot in the Saturday window",
   "approved_by": "alice", "expires": "2099-12-31"},
  {"check": "disk-space", "hosts": "rocky-disk", "subject": "/srv", "justification": "scratch space",
   "expires": "2001-01-01"}
]}
W
scan "$DIR/o6" -w "$DIR/w-ok.json"
jqt "-w: the reboot finding stays in the report, waived, with who and until when; its check reads waived" \
    '.hosts[] | select(.name == "ubuntu-reboot") |
     ([.findings[] | select(.check == "reboot-required-debian")] | length == 1 and .[0].waived == true and
      .[0].waiver.approved_by == "alice" and .[0].waiver.expires == "2099-12-31") and
     (.checks[] | select(.id == "reboot-required-debian") | .result == "waived") and
     ([.score_breakdown[] | select(.check == "reboot-required-debian")] | length == 0)' "$DIR/o6/latest.json"
jqt "-w: an expired waiver is ignored and the finding says it expired" \
    '.hosts[] | select(.name == "rocky-disk") | .findings[] | select(.subject == "/srv") |
     (.waived != true) and .waiver_expired.expires == "2001-01-01"' "$DIR/o6/latest.json"
jqt "-w: the report lists the waivers with their status" \
    '[.waivers[].status] == ["active", "expired"]' "$DIR/o6/latest.json"
cp "$DIR/o6/latest.json" "$DIR/o6.before"
printf '{"waivers": [{"check": "disk-space", "justification": "x y z"}]}\n' >"$DIR/w-bad.json"
scan "$DIR/o6" -w "$DIR/w-bad.json"
[[ $RC == 1 ]] && cmp -s "$DIR/o6/latest.json" "$DIR/o6.before" &&
    ok "-w with a waiver lacking expires: exit 1 before scanning, previous report untouched" ||
    not_ok "-w bad file: exit $RC"

nm_finish_counts
