#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-hosts.sh BINARY — real sshd hosts (the fake fleet, definitions in
# hosts/ beside this file) that log in and then misbehave: one runs nothing,
# one drops the connection mid-output, one puts hostile text in every field
# (and shell code in its os-release), one floods findings.
#
# The scan with all of them must end within its deadline plus a margin, give
# each its due status, leave the good hosts' results as in a scan without
# them, and write reports that are valid, bounded and safe to print.
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
nm_tempdir nm-hostile-hosts

T=30
SCAN_LIMIT=$((T + 10))
GOOD=(ok-debian alpine-ok)
BAD=(runs-nothing drops-mid-output hostile-text flood-findings)
# What hostile-text's os-release would leave behind if a probe ran it as code.
RAN=/tmp/nm-os-release-ran-as-code
rm -f "$RAN"

export NM_FLEET_HOSTS_DIR=$HERE/hosts
NM_NO_PLAN=1 nm_fleet_start "${GOOD[@]}" "${BAD[@]}"
jq '.hosts |= map(select(.name == "ok-debian" or .name == "alpine-ok"))' "$INV" >"$DIR/inv-good.json"

nm_run_scan 120 "$DIR/base.log" -i "$DIR/inv-good.json" -o "$DIR/base" --timeout "$T"
BASE=$DIR/base/latest.json
d="baseline: the good hosts alone scan cleanly (exit 0)"
[[ $RC == 0 ]] && ok "$d" || { not_ok "$d (got $RC)"; sed 's/^/# /' "$DIR/base.log"; }

nm_run_scan 300 "$DIR/all.log" -i "$INV" -o "$DIR/all" --timeout "$T" --format json,html,junit,prom
R=$DIR/all/latest.json
echo "# scan of ${#GOOD[@]} good and ${#BAD[@]} hostile hosts -> exit $RC in $SECS s"
d="the scan exits 2 (hosts that could not be scanned)"
[[ $RC == 2 ]] && ok "$d" || { not_ok "$d (got $RC)"; sed -n '1,30s/^/# /p' "$DIR/all.log"; }
within "the scan ends within its deadline ($T s) plus a margin" "$SECS" "$SCAN_LIMIT"
nm_need_report "the report is a nearmiss.report/1 report (valid JSON)"
show_host() { nm_dump_host "$1" "$2" "$3" 1500 '{status, error, os, scan, checks: [.checks[] | select($c == "" or .id == $c)]}'; }

# runs-nothing: a login is not a scan
hjq "runs-nothing: status error, the reason says the facts never arrived" runs-nothing "" \
    '.status == "error" and (.error | test("did not run: the host facts never arrived"))'
jcheck "runs-nothing counts as failed in the summary" \
    '.summary.failed == ([.hosts[] | select(.status != "ok")] | length) and
     ([.hosts[] | select(.name == "runs-nothing" and .status == "ok")] | length == 0)' "$R"
nm_run_scan 120 "$DIR/failon.log" -i "$INV" -o "$DIR/failon" --timeout "$T" --hosts runs-nothing --fail-on critical
d="runs-nothing alone with --fail-on critical: exit 2 (not scanned), never 0"
[[ $RC == 2 ]] && ok "$d" || { not_ok "$d (got $RC)"; sed 's/^/# /' "$DIR/failon.log"; }

# drops-mid-output: what arrived before the drop is judged
hjq "drops-mid-output: status error, the reason says the connection was lost" drops-mid-output "" \
    '.status == "error" and (.error | test("connection lost"))'
hjq "drops-mid-output: its facts and the probe that finished were judged" drops-mid-output "" \
    '.os.id == "debian" and ([.checks[] | select(.result == "pass" or .result == "fail" or .result == "warn")] | length >= 1)'

# hostile-text: text stays data everywhere
hjq "hostile-text: scanned (status ok) despite the hostile text" hostile-text "" '.status == "ok"'
hjq "hostile-text: its os-release (shell code and all) read as data: os debian 12" hostile-text "" \
    '.os.id == "debian" and (.os.version_id | tostring) == "12"'
hjq "hostile-text: the OS guard did not run os-release (patch-apt ran: it fails with findings)" hostile-text patch-apt \
    '([.checks[] | select(.id == "patch-apt") | .result] == ["fail"]) and
     ([.findings[] | select(.check == "patch-apt")] | length > 100)'
d="hostile-text: no probe ran the os-release as code (no $RAN)"
[[ ! -e $RAN ]] && ok "$d" || not_ok "$d"
hjq "hostile-text: the hostile mount points are findings, as valid strings" hostile-text disk-space \
    '[.findings[] | select(.check == "disk-space") | .subject | strings] | length >= 4'
no_raw_esc "the terminal output holds no raw escape" "$DIR/all.log"
d="the HTML report holds the hosts' <script> and <img> only as text"
if [[ -s $DIR/all/report.html ]] && ! grep -qE '<script>alert|<img src=x' "$DIR/all/report.html"; then ok "$d"; else not_ok "$d"; fi
if command -v xmllint >/dev/null; then
    d="junit.xml is well-formed XML"
    xmllint --noout "$DIR/all/junit.xml" 2>/dev/null && ok "$d" || not_ok "$d"
fi
d="the Prometheus file has no raw control bytes"
if [[ -s $DIR/all/nearmiss.prom ]] && ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$DIR/all/nearmiss.prom"; then ok "$d"; else not_ok "$d"; fi

# flood-findings: bounded output whatever the host says
hjq "flood-findings: at most 200 disk-space findings plus one that counts the rest" flood-findings disk-space \
    '[.findings[] | select(.check == "disk-space")] | length == 201'
hjq "flood-findings: the summary finding says how many were left out, with a stable fingerprint" flood-findings disk-space \
    '[.findings[] | select(.check == "disk-space" and .subject == "findings beyond the per-check limit")] |
     length == 1 and (.[0].value > 1000) and (.[0].message | test("[0-9]+ more findings of disk-space"))
     and (.[0].fingerprint | test("^[0-9a-f]{64}$"))'
hjq "flood-findings: the check records how many it dropped" flood-findings disk-space \
    '[.checks[] | select(.id == "disk-space") | .findings_dropped] | .[0] > 1000'
d="flood-findings: at most 2000 certificate/filesystem series for the host, the rest counted"
series=$(grep -c '^nearmiss_filesystem_[a-z_]*{host="flood-findings"' "$DIR/all/nearmiss.prom" || :)
if ((series <= 2000)) && grep -q '^nearmiss_host_series_dropped{host="flood-findings"} [1-9]' "$DIR/all/nearmiss.prom"; then
    ok "$d ($series)"
else not_ok "$d ($series series)"; fi
size=$(stat -c %s "$R")
d="the JSON report stays small with a flooding host (< 4 MB)"
((size < 4000000)) && ok "$d ($size bytes)" || not_ok "$d ($size bytes)"

same_as_baseline "a good host's result is unchanged by the hostile ones" "$BASE" "$R" "${GOOD[@]}"
jcheck "every host's error is a string or null (never lost to invalid UTF-8)" \
    '[.hosts[] | select(.error != null and (.error | type) != "string")] | length == 0' "$R"

nm_finish
