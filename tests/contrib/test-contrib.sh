#!/usr/bin/env bash
# test-contrib.sh NEARMISS — what contrib/ ships for Prometheus and Grafana,
# against what nearmiss really writes:
#   - `promtool check rules` and `promtool test rules` on
#     contrib/prometheus/nearmiss.rules.yml (alerts and their unit tests);
#   - the Textfile nearmiss writes for stored reports (tests/data/reports:
#     fleet-full.json and fleet-test.json are real scans of the test fleet,
#     hostile-sanitised.json holds certificates and waivers) passes
#     `promtool check metrics`; the metric names it holds are the names
#     nearmiss exports;
#   - every metric name the rules and contrib/grafana/nearmiss.json query is
#     one of those, the dashboard's queries parse (promtool, as recording
#     rules), and it shows what it promises: the fleet score, findings by
#     severity and by category, hosts not scanned, certificates' days left.
# promtool comes from Debian's prometheus package (scripts/deps.sh): absent
# is a failure, not a skip. Prints TAP-like lines; exit 0 pass, 1 fail.
set -euo pipefail

BIN=${1:?usage: test-contrib.sh NEARMISS}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
RULES=$ROOT/contrib/prometheus/nearmiss.rules.yml
RULES_TEST=$ROOT/contrib/prometheus/nearmiss.rules.test.yml
DASH=$ROOT/contrib/grafana/nearmiss.json
fails=0 n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

command -v promtool >/dev/null || {
    echo "promtool not found: install Debian's prometheus package (bash scripts/deps.sh)" >&2
    exit 1
}
command -v jq >/dev/null || { echo "jq not found (bash scripts/deps.sh)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/nm-test-contrib-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# -------------------------------------------------------------- rules --
if promtool check rules "$RULES" >"$TMP/check.log" 2>&1; then
    ok "promtool check rules nearmiss.rules.yml"
else
    not_ok "promtool check rules nearmiss.rules.yml"; sed 's/^/#   /' "$TMP/check.log"
fi
# promtool resolves rule_files relative to the test file.
if (cd "$(dirname "$RULES_TEST")" && promtool test rules "$(basename "$RULES_TEST")") \
    >"$TMP/test.log" 2>&1; then
    ok "promtool test rules nearmiss.rules.test.yml"
else
    not_ok "promtool test rules nearmiss.rules.test.yml"; sed 's/^/#   /' "$TMP/test.log"
fi
for a in NearmissCriticalFinding NearmissHostNotScanned NearmissScanStale \
    NearmissCertificateExpiresSoon; do
    d="rules: alert $a exists and has a unit test"
    grep -q "alert: $a\$" "$RULES" && grep -q "alertname: $a\$" "$RULES_TEST" && ok "$d" || not_ok "$d"
done

# ------------------------------------------- what nearmiss exports --
: >"$TMP/exported"
for r in fleet-full fleet-test hostile-sanitised; do
    d="nearmiss report -f prom $r.json passes promtool check metrics"
    if "$BIN" report -q -f prom -o "$TMP/$r.prom" "$ROOT/tests/data/reports/$r.json" &&
        promtool check metrics <"$TMP/$r.prom" >"$TMP/metrics.log" 2>&1; then
        ok "$d"
    else
        not_ok "$d"; sed 's/^/#   /' "$TMP/metrics.log"
    fi
    awk '$1 == "#" && $2 == "TYPE" { print $3 }' "$TMP/$r.prom" >>"$TMP/exported"
done
sort -u -o "$TMP/exported" "$TMP/exported"
d="the reports export the families nearmiss documents ($(wc -l <"$TMP/exported") names)"
[[ $(wc -l <"$TMP/exported") -ge 13 ]] && ok "$d" || { not_ok "$d"; sed 's/^/#   /' "$TMP/exported"; }

# Metric names in a query: nearmiss_ followed by name characters (label
# names nearmiss uses never start with it).
names() { grep -o 'nearmiss_[A-Za-z0-9_:]*' | sort -u; }

# ---------------------------------------------------------- dashboard --
d="dashboard: valid JSON with panels"
jq -e '.panels | length > 0' "$DASH" >/dev/null && ok "$d" || not_ok "$d"
jq -r '.. | objects | .expr? // empty' "$DASH" >"$TMP/dash.exprs"
d="dashboard: every panel has at least one query"
jq -e '[.panels[] | select([.targets[]?.expr] | length == 0)] | length == 0' "$DASH" >/dev/null &&
    ok "$d" || not_ok "$d"
{
    echo 'groups:'
    echo '  - name: dashboard'
    echo '    rules:'
    i=0
    while IFS= read -r e; do
        i=$((i + 1))
        printf '      - record: dashboard:query%d\n        expr: %s\n' "$i" "$(jq -Rn --arg e "$e" '$e')"
    done <"$TMP/dash.exprs"
} >"$TMP/dash.rules.yml"
if promtool check rules "$TMP/dash.rules.yml" >"$TMP/dcheck.log" 2>&1; then
    ok "dashboard: all $(wc -l <"$TMP/dash.exprs") queries parse as PromQL"
else
    not_ok "dashboard: all queries parse as PromQL"; sed 's/^/#   /' "$TMP/dcheck.log"
fi
for src in dashboard rules; do
    if [[ $src == dashboard ]]; then names <"$TMP/dash.exprs" >"$TMP/used"; else
        grep -E '^\s*expr:|^\s{10,}[^ ]' "$RULES" | names >"$TMP/used"; fi
    unknown=$(comm -23 "$TMP/used" "$TMP/exported" | tr '\n' ' ')
    d="$src: every metric it queries is one nearmiss exports ($(wc -l <"$TMP/used") names)"
    [[ -s $TMP/used && -z $unknown ]] && ok "$d" || not_ok "$d (unknown: $unknown)"
done
for want in nearmiss_fleet_risk_score nearmiss_findings nearmiss_fleet_findings \
    nearmiss_host_up nearmiss_certificate_not_after_timestamp_seconds; do
    d="dashboard: queries $want"
    grep -qx "$want" <(names <"$TMP/dash.exprs") && ok "$d" || not_ok "$d"
done
d="dashboard: findings by severity and by category"
grep -q 'by (severity)' "$TMP/dash.exprs" && grep -q 'by (category)' "$TMP/dash.exprs" &&
    ok "$d" || not_ok "$d"
# The check itself can fail: a name nearmiss does not write is caught.
d="a query of a metric nearmiss does not export is caught"
[[ -n $(echo 'sum(nearmiss_findings_total)' | names | comm -23 - "$TMP/exported") ]] &&
    ok "$d" || not_ok "$d"

echo "# $n checks, $fails failed"
((fails == 0))
