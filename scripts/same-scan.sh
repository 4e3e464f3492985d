#!/usr/bin/env bash
# scripts/same-scan.sh OLD_BINARY NEW_BINARY — scans one fake fleet with two
# builds of nearmiss and shows how their JSON reports differ apart from
# times; for changes meant to leave behaviour alone.  Exit 0 when the reports
# are the same, 1 when they differ (the diff is printed).
#
# The fleet: every host of tests/fleet/hosts but `hang` (it only costs the
# --timeout) and `flood` (how many bytes arrive before the cap varies),
# cert-host generated now with three TLS endpoints (valid,
# expired, and one still serving a certificate renewed on disk), the roles
# of tests/fleet/roles.json, and waivers (one active, one expired).
# Both scans get one NEARMISS_NOW (the caller's, else the moment the first
# starts), so certificate days left and first_seen agree.
# Removed before comparing: started_at, finished_at and ended_at wherever
# they are, every *_ms field and uptime_seconds (the fake hosts show the real
# machine's uptime).
# Needs root or the current user's sshd access, jq, openssl.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
[[ $# -eq 2 ]] || { sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 2; }
OLD=$(realpath "$1")
NEW=$(realpath "$2")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nm-same-scan.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || :; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || :; done
    "$ROOT/tests/fleet/fleet.sh" stop "$WORK/fleet" >/dev/null 2>&1 || :
    rm -rf "$WORK"
}
trap cleanup EXIT

"$ROOT/tests/fleet/make-cert-host.sh" "$WORK/certs"
P=$WORK/certs/pki
export NM_FLEET_HOSTS_DIR=$WORK/certs/hostdefs
mapfile -t HOSTS < <(ls "$ROOT/tests/fleet/hosts" | grep -vxE "hang|flood")
"$ROOT/tests/fleet/fleet.sh" start "$WORK/fleet" "${HOSTS[@]}" >/dev/null

# tls_server NAME: openssl s_server with P/NAME.pem on a free port; prints it
tls_server() {
    local log=$WORK/$1.log port=""
    timeout 600 openssl s_server -accept 127.0.0.1:0 -www -cert "$P/$1.pem" -key "$P/$1.key" \
        -cert_chain "$P/inter.pem" >"$log" 2>&1 </dev/null &
    PIDS+=($!)
    for ((i = 0; i < 100; i++)); do
        port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log" | head -n 1)
        [[ -n $port ]] && break
        sleep 0.05
    done
    [[ -n $port ]] || { echo "s_server $1 did not start" >&2; exit 1; }
    EP+=("127.0.0.1:$port")
}
EP=()
tls_server srv-valid
tls_server srv-expired
tls_server srv-shop-old
jq --argjson eps "$(printf '%s\n' "${EP[@]}" | jq -R . | jq -s .)" \
    '(.hosts[] | select(.name == "cert-host")).tls = $eps' \
    "$WORK/fleet/inventory.json" >"$WORK/inventory.json"
cat >"$WORK/waivers.json" <<'JSON'
{ "waivers": [
  { "check": "reboot-required-debian", "hosts": "ubuntu-*", "justification": "window on Saturday",
    "approved_by": "ops@example.org", "expires": "never" },
  { "check": "disk-space", "hosts": "rocky-disk", "justification": "was accepted once",
    "expires": "2020-01-31" } ] }
JSON

NOW=${NEARMISS_NOW:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
scan() { # scan BINARY OUTDIR
    local rc=0
    NEARMISS_NOW=$NOW "$1" scan -i "$WORK/inventory.json" \
        -w "$WORK/waivers.json" --tls-ca "$P/root.pem" --tls-timeout 5 --timeout 20 \
        --format json,html,junit,prom -q -o "$2" || rc=$?
    [[ $rc == 0 || $rc == 2 ]] || { echo "$1 exited $rc" >&2; exit 1; }
}
scan "$OLD" "$WORK/old"
scan "$NEW" "$WORK/new"
norm() {
    jq -S 'del(.started_at, .finished_at)
           | walk(if type == "object" then with_entries(select((.key | endswith("_ms")) or .key == "uptime_seconds" or .key == "started_at" or .key == "ended_at" | not)) else . end)' "$1"
}
norm "$WORK/old/latest.json" >"$WORK/old.json"
norm "$WORK/new/latest.json" >"$WORK/new.json"
# Key order matters too: compare unsorted as well.
jq 'del(.started_at, .finished_at)
    | walk(if type == "object" then with_entries(select((.key | endswith("_ms")) or .key == "uptime_seconds" or .key == "started_at" or .key == "ended_at" | not)) else . end)' \
    "$WORK/old/latest.json" >"$WORK/old.ordered.json"
jq 'del(.started_at, .finished_at)
    | walk(if type == "object" then with_entries(select((.key | endswith("_ms")) or .key == "uptime_seconds" or .key == "started_at" or .key == "ended_at" | not)) else . end)' \
    "$WORK/new/latest.json" >"$WORK/new.ordered.json"
echo "hosts: $(jq '.hosts | length' "$WORK/new.json"), findings: $(jq '[.hosts[].findings[]] | length' "$WORK/new.json"), fleet findings: $(jq '.fleet_findings | length' "$WORK/new.json"), bytes: $(wc -c <"$WORK/new/latest.json")"
if diff -u "$WORK/old.ordered.json" "$WORK/new.ordered.json"; then
    echo "same report apart from times (keys in the same order)"
else
    exit 1
fi
