#!/usr/bin/env bash
# scripts/demo.sh [--keep] — the demo, from a fresh Debian 12 to a report:
# installs what is missing, builds, starts a throwaway fleet of fake hosts
# (real OpenSSH sshd processes on 127.0.0.1; tests/fleet/README.md), scans
# it, and says where the reports are. Some demo hosts are broken on purpose
# (an unknown host key, a host that is down): the scan's exit status 2 is
# expected here.
#   --keep   leave the fleet running afterwards, to look around with ssh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
keep=0
for arg in "$@"; do
    case $arg in
    --keep) keep=1 ;;
    -h | --help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option $arg (try --help)" >&2; exit 1 ;;
    esac
done
say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo.sh: error: %s\n' "$*" >&2; exit 1; }

say "dependencies"
scripts/deps.sh

say "build"
if [[ ! -f build/meson-private/coredata.dat ]]; then
    meson setup build
fi
ninja -C build
[[ -x build/nearmiss ]] || die "build/nearmiss was not built"

say "demo fleet"
FLEET=$(mktemp -d "${TMPDIR:-/tmp}/nearmiss-demo.XXXXXX")
stop_fleet() {
    if ((keep)); then
        echo "the demo fleet is still running: ssh -F $FLEET/ssh_config ok-debian"
        echo "stop it with: tests/fleet/fleet.sh stop $FLEET"
    else
        tests/fleet/fleet.sh stop "$FLEET" >/dev/null 2>&1 || :
        rm -rf "$FLEET"
    fi
}
trap stop_fleet EXIT
trap 'exit 130' INT TERM
tests/fleet/fleet.sh start "$FLEET" --set demo
tests/fleet/fleet.sh status "$FLEET" || :

say "scan"
OUT=reports/demo
rc=0
build/nearmiss scan -i "$FLEET/inventory.json" --known-hosts "$FLEET/known_hosts" \
    --identity "$FLEET/client_key" -o "$OUT" --timeout 20 || rc=$?
case $rc in
0) echo "scan: exit 0, every host scanned" ;;
2) echo "scan: exit 2, some hosts could not be scanned (expected: the demo has an unknown host key and a host that is down)" ;;
100) echo "scan: exit 100, findings at or above --fail-on" ;;
1) die "the scan failed with a usage or configuration error (exit 1)" ;;
*) die "the scan failed (exit $rc)" ;;
esac
[[ -s $OUT/latest.json ]] || die "the scan wrote no $OUT/latest.json"
jq -e '.hosts | type == "array"' "$OUT/latest.json" >/dev/null || die "$OUT/latest.json is not a nearmiss report"

say "result"
jq -r '
    def counts: [(.findings // [])[] | .severity] as $s
        | ["critical", "high", "medium", "low", "info"]
        | map(. as $k | ($s | map(select(. == $k)) | length) as $n | select($n > 0) | "\($n) \($k)")
        | if length == 0 then "no findings" else join(", ") end;
    .hosts[] | [ .name, .status,
        (if .os then "\(.os.id // "?") \(.os.version_id // "")" else "-" end),
        (if .status == "ok" then counts else (.error // "" | tostring | .[0:70]) end) ]
    | @tsv' "$OUT/latest.json" |
    awk -F'\t' '{ printf "  %-15s %-17s %-14s %s\n", $1, $2, $3, $4 }'
jq -r '(.fleet_findings // [])[] | "  fleet: \(.severity) \(.subject): \(.message)"' "$OUT/latest.json"
echo
echo "JSON report: $ROOT/$OUT/latest.json"
html=$(find "$OUT" -maxdepth 1 -name '*.html' -newer "$FLEET/inventory.json" 2>/dev/null | sort | tail -n 1)
[[ -z $html && -f $OUT/report.html ]] && html=$OUT/report.html
if [[ -n $html ]]; then
    echo "HTML report: $ROOT/$html"
fi
