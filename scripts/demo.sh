#!/usr/bin/env bash
# scripts/demo.sh [--keep] — the demo, from a fresh Debian 12 to a report:
# installs what is missing, builds, starts a throwaway fleet of fake hosts
# (real OpenSSH sshd processes on 127.0.0.1; tests/fleet/README.md), scans
# it, and says where the reports are. Some demo hosts are broken on purpose
# (an unknown host key, a host that is down): the scan's exit status 2 is
# expected here. cert-host's certificates are generated for the occasion
# (tests/fleet/make-cert-host.sh: expiring, expired, ... relative to today),
# and one TLS endpoint (openssl s_server on 127.0.0.1, an expired
# certificate) is in its inventory entry. It scans twice, as two nights: the
# first scan is dated yesterday (NEARMISS_NOW); then cert-host's certificate
# expiring in 3 days is renewed and rocky-disk's /var (97 %) cleaned, and the
# second scan's report shows what changed and the near misses in its ledger.
#   --keep   leave the fleet running afterwards, to look around with ssh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
keep=0
for arg in "$@"; do
    case $arg in
    --keep) keep=1 ;;
    -h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
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
# WORK/fleet: the fleet's runtime directory; WORK/certs: cert-host's PKI and
# host definition (make-cert-host.sh); WORK/inventory.json: the fleet's
# inventory plus cert-host's TLS endpoint.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nearmiss-demo.XXXXXX")
FLEET=$WORK/fleet
TLS_PID=""
stop_fleet() {
    if [[ -n $TLS_PID ]]; then
        kill "$TLS_PID" 2>/dev/null || :
        wait "$TLS_PID" 2>/dev/null || :
    fi
    if ((keep)); then
        echo "the demo fleet is still running: ssh -F $FLEET/ssh_config ok-debian"
        echo "stop it with: tests/fleet/fleet.sh stop $FLEET (its TLS endpoint is stopped already)"
    else
        tests/fleet/fleet.sh stop "$FLEET" >/dev/null 2>&1 || :
        rm -rf "$WORK"
    fi
}
trap stop_fleet EXIT
trap 'exit 130' INT TERM
# cert-host (in sets/demo) is found in WORK/certs/hostdefs first, generated
# now; without NM_FLEET_HOSTS_DIR fleet.sh would take the committed skeleton.
tests/fleet/make-cert-host.sh "$WORK/certs" || die "tests/fleet/make-cert-host.sh failed"
PKI=$WORK/certs/pki
export NM_FLEET_HOSTS_DIR=$WORK/certs/hostdefs
# rocky-disk from a copy whose df table the demo can change between scans
# (its stubs point at tests/fleet/lib by absolute path).
RD=$NM_FLEET_HOSTS_DIR/rocky-disk
mkdir -p "$RD/bin"
cp -r tests/fleet/hosts/rocky-disk/host.json tests/fleet/hosts/rocky-disk/root \
    tests/fleet/hosts/rocky-disk/data "$RD/"
for stub in tests/fleet/hosts/rocky-disk/bin/*; do
    sed "s#\"\$d/../../lib/#\"$ROOT/tests/fleet/lib/#" "$stub" >"$RD/bin/${stub##*/}"
    chmod 755 "$RD/bin/${stub##*/}"
done
tests/fleet/fleet.sh start "$FLEET" --set demo
tests/fleet/fleet.sh status "$FLEET" || :

# One TLS endpoint for cert-host: s_server on a free loopback port serving a
# leaf that expired two and a half days ago (with its intermediate). In
# timeout(1), so that it can not outlive a killed demo by long.
timeout 600 openssl s_server -accept 127.0.0.1:0 -www -cert "$PKI/srv-expired.pem" \
    -key "$PKI/srv-expired.key" -cert_chain "$PKI/inter.pem" >"$WORK/s_server.log" 2>&1 </dev/null &
TLS_PID=$!
TLS_PORT=""
for ((i = 0; i < 100; i++)); do
    TLS_PORT=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$WORK/s_server.log" | head -n 1)
    [[ -n $TLS_PORT ]] && break
    kill -0 "$TLS_PID" 2>/dev/null || break
    sleep 0.05
done
[[ -n $TLS_PORT ]] || die "openssl s_server did not start: $(head -c 300 "$WORK/s_server.log")"
echo "TLS endpoint for cert-host: 127.0.0.1:$TLS_PORT (openssl s_server, expired certificate)"
INV=$WORK/inventory.json
jq --arg port "$TLS_PORT" '(.hosts[] | select(.name == "cert-host")).tls = [$port]' \
    "$FLEET/inventory.json" >"$INV" || die "could not add the TLS endpoint to the inventory"

OUT=reports/demo
# A fresh history for the demo: two nights, not every demo ever run.
rm -f "$OUT"/history.sqlite "$OUT"/history.sqlite-wal "$OUT"/history.sqlite-shm
scan() {
    rc=0
    build/nearmiss scan -i "$INV" --known-hosts "$FLEET/known_hosts" \
        --identity "$FLEET/client_key" --tls-ca "$PKI/root.pem" --tls-timeout 5 \
        -o "$OUT" --timeout 20 --format json,html,prom || rc=$?
}
say "scan 1 (as of yesterday)"
NEARMISS_NOW=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ) scan
case $rc in 0 | 2) ;; *) die "the first scan failed (exit $rc)" ;; esac

say "overnight: cert-host's certificate renewed, rocky-disk's /var cleaned"
cp "$PKI/api.pem" "$FLEET/plans/cert-host/lower/etc/ssl/site/expires-3d.pem" ||
    die "could not renew cert-host's certificate"
awk '$NF == "/var" { $4 = 12580000; $5 = 8381280 } { print }' "$RD/data/df" >"$RD/data/df.new" &&
    mv "$RD/data/df.new" "$RD/data/df" || die "could not clean rocky-disk's /var"

say "scan 2 (now)"
scan
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
jq -r '"since \(.history.previous_run): \(.summary.changes.new) new, \(.summary.changes.resolved) resolved",
    (.resolved[] | "  resolved: \(.host // "fleet") \(.check) \(.subject) (\(.severity), open since \(.first_seen))")' \
    "$OUT/latest.json"
echo "near misses (nearmiss ledger -o $OUT --format md):"
build/nearmiss ledger -o "$OUT" --format md | sed -n '/^| near_miss/p' | sed 's/^/  /'
# the certificates with a deadline: files (cert-expiry), endpoints (tls-expiry)
jq -r '[.hosts[] | .name as $h | (.findings // [])[] | select(.check == "cert-expiry" or .check == "tls-expiry")
        | {h: $h, check, severity, value, subject}] | sort_by(.value)[]
    | [.h, .check, .severity, "\(.value) days left", .subject] | @tsv' "$OUT/latest.json" |
    awk -F'\t' '{ printf "  %-15s %-11s %-8s %13s  %s\n", $1, $2, $3, $4, $5 }'
echo
echo "JSON report: $ROOT/$OUT/latest.json"
html=$(find "$OUT" -maxdepth 1 -name '*.html' -newer "$INV" 2>/dev/null | sort | tail -n 1)
[[ -z $html && -f $OUT/report.html ]] && html=$OUT/report.html
if [[ -n $html ]]; then
    echo "HTML report: $ROOT/$html"
fi
