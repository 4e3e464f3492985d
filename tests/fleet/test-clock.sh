#!/usr/bin/env bash
# shellcheck disable=SC2016
#
# test-clock.sh BINARY — one clock per run (NEARMISS_NOW, CONTRACT.md "The
# clock"): the same host and the same TLS endpoint, scanned under two
# moments, give the verdicts of those moments.  cert-host is generated now
# by make-cert-host.sh (real certificates, dates relative to its NOW); one
# openssl s_server serves srv-valid (valid for 200 days).
#   clock A = NOW + 1 minute:  expires-10d.pem has 10 days left (high), the
#             endpoint verifies and is far from expiry, the waiver on
#             expires-10d.pem (until NOW + 30 days) is active;
#   clock B = NOW + 201 days:  the file certificate and the endpoint's are
#             expired (critical), chain validation fails with "certificate
#             has expired" (the verification time is the run's), the waiver
#             has expired.
# Also: started_at is the clock, finished_at not before it, and a malformed
# NEARMISS_NOW exits 1 before anything is scanned or written.
#
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"

nm_args "$@"
nm_need_tools jq openssl timeout
SERVER_PIDS=()
nm_tempdir nm-clock-test
cleanup() {
    local p
    for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || :; done
    for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || :; done
    nm_cleanup
}
trap cleanup EXIT
show_host() {
    nm_dump_host "$1" "$2" "${3:-.}" 3000 '{status, error, checks: [.checks[] | select(.id | test($c))],
         findings: [.findings[] | select(.check | test($c)) | del(.item, .evidence, .remediation, .fingerprint)]}'
}

if ! "$HERE/make-cert-host.sh" "$DIR" >"$DIR/make-cert-host.log" 2>&1; then
    sed 's/^/# /' "$DIR/make-cert-host.log"
    not_ok "make-cert-host.sh"
    nm_finish
fi
# shellcheck source=/dev/null # written by make-cert-host.sh: NOW, P
. "$DIR/vars.sh"
export NM_FLEET_HOSTS_DIR=$DIR/hostdefs
nm_fleet_start cert-host

log=$DIR/s_server.log
timeout 900 openssl s_server -accept 127.0.0.1:0 -www -cert "$P/srv-valid.pem" \
    -key "$P/srv-valid.key" -cert_chain "$P/inter.pem" >"$log" 2>&1 </dev/null &
SERVER_PIDS+=($!)
PORT=""
for ((i = 0; i < 100; i++)); do
    PORT=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log" | head -n 1) || PORT=""
    [[ -n $PORT ]] && break
    sleep 0.05
done
[[ -n $PORT ]] || { not_ok "openssl s_server started"; nm_finish; }
jq --arg ep "127.0.0.1:$PORT" '(.hosts[] | select(.name == "cert-host")).tls = [$ep]' "$INV" \
    >"$DIR/inventory.json"

# jcheck returns 1 on failure; the test goes on to the next assertion
check() { jcheck "$@" || :; }
DAY=86400
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
cat >"$DIR/waivers.json" <<JSON
{ "waivers": [ { "check": "cert-expiry", "hosts": "cert-host", "subject": "/etc/ssl/site/expires-10d.pem",
  "justification": "renewal booked", "expires": "$(date -u -d "@$((NOW + 30 * DAY))" +%Y-%m-%d)" } ] }
JSON

# scan_at NAME MOMENT: scan cert-host believing it is MOMENT; R = the report
scan_at() {
    local out=$DIR/$1
    RC=0
    NEARMISS_NOW=$2 timeout 120 "$BIN" scan -i "$DIR/inventory.json" -w "$DIR/waivers.json" \
        --tls-ca "$P/root.pem" --tls-timeout 5 --timeout 30 -q -o "$out" >"$out.log" 2>&1 || RC=$?
    R=$out/latest.json
    echo "# NEARMISS_NOW=$2 nearmiss scan -> exit $RC"
    [[ -s $R ]] || { sed 's/^/# /' "$out.log"; not_ok "scan at $2 wrote a report"; nm_finish; }
}
# file_cert DESC SEVERITY VALUE-FILTER: the cert-expiry finding of expires-10d.pem
file_cert() {
    hjq "$1" cert-host cert-expiry '[.findings[] | select(.check == "cert-expiry" and
        .subject == "/etc/ssl/site/expires-10d.pem")] | length == 1 and (.[0] | .severity == $sev and '"$3"')' \
        --arg sev "$2"
}

A=$(iso $((NOW + 60)))
scan_at a "$A"
check "clock A: started_at is NEARMISS_NOW ($A)" --arg t "$A" '.started_at == $t' "$R"
check "clock A: finished_at is not before started_at" '.finished_at >= .started_at' "$R"
file_cert "clock A: expires-10d.pem has 10 days left, high" high '.value == 10'
file_cert "clock A: its waiver is active" high '.waived == true and (has("waiver_expired") | not)'
hjq "clock A: the endpoint's certificate has 199 days left: no tls-expiry finding" cert-host tls \
    '([.findings[] | select(.check == "tls-expiry")] | length == 0)
     and (.tls[0].chain[0].days_left == 199)'
hjq "clock A: the chain verifies at the run's time" cert-host tls \
    '.tls[0].verified == true and (.checks[] | select(.id == "tls-verify") | .result == "pass")'
check "clock A: the waiver is listed active" '.waivers[0].status == "active"' "$R"

B=$(iso $((NOW + 201 * DAY)))
scan_at b "$B"
check "clock B: started_at is NEARMISS_NOW ($B)" --arg t "$B" '.started_at == $t' "$R"
file_cert "clock B: expires-10d.pem expired, critical" critical '.value < 0'
file_cert "clock B: its waiver has expired" critical '(.waived | not) and has("waiver_expired")'
hjq "clock B: the endpoint's certificate expired: tls-expiry critical" cert-host tls-expiry \
    '[.findings[] | select(.check == "tls-expiry")] | length == 1 and .[0].severity == "critical"'
# (tls-verify leaves a served expired certificate to tls-expiry: the item says it)
hjq "clock B: chain validation at the run's time fails on the expiry" cert-host tls-verify \
    '.tls[0].verified == false and .tls[0].verify_error == "certificate has expired"'
check "clock B: the waiver is listed expired" '.waivers[0].status == "expired"' "$R"

# A malformed clock: nothing scanned, nothing written.
for bad in "yesterday" "2026-12-01 02:00:00" "2026-13-01T02:00:00Z"; do
    RC=0
    NEARMISS_NOW=$bad "$BIN" scan -i "$DIR/inventory.json" -o "$DIR/bad" >"$DIR/bad.log" 2>&1 || RC=$?
    if [[ $RC == 1 && ! -e $DIR/bad ]] && grep -q 'NEARMISS_NOW=.*is not a time like' "$DIR/bad.log"; then
        ok "NEARMISS_NOW=\"$bad\": exit 1, says why, writes nothing"
    else
        sed 's/^/# /' "$DIR/bad.log"
        not_ok "NEARMISS_NOW=\"$bad\": exit 1, says why, writes nothing (exit $RC)"
    fi
done
nm_finish
