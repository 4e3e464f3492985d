#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-certs.sh BINARY — the certificate checks (checks/cert-*.json,
# checks/tls-*.json, the built-in cert-served-stale; docs/checks-cert.md)
# against a real sshd fake host and real TLS servers on 127.0.0.1.
#
# Certificates cannot be committed: the scanner judges them against the real
# clock, so a fixture expiring "in 3 days" would be wrong tomorrow. This test
# makes a test CA and every certificate with the openssl CLI relative to the
# time it runs, then:
#   - builds the fake host cert-host in its temp dir with make-cert-host.sh
#     (beside this file; scripts/demo.sh uses it too): the committed
#     definition (tests/fleet/hosts/cert-host: host.json, root/, bin/) plus
#     the generated files under root/ (leaves expiring in 3, 10, 20 and 60
#     days, expired, not yet valid, SHA-1, RSA 1024, EC P-256, self-signed
#     leaf and CA, cert+key files 0644 and 0600, a key alone, a Let's Encrypt
#     live/ directory, nginx and HAProxy configuration naming some of them);
#   - starts TLS servers with `openssl s_server -www` on 127.0.0.1 (valid
#     chain, expired leaf, name mismatch, incomplete chain, the old
#     certificate of a name renewed on disk, TLS 1.1 only, RSA 1024 leaf), a
#     listener that accepts and never answers (perl, from Debian's essential
#     perl-base) and a closed port, and points cert-host's inventory `tls`
#     entries at them;
#   - scans cert-host and ok-debian with --tls-ca (the test CA) and checks
#     every finding one by one, the ones that must not be there, the records
#     cert-served-stale relies on, the deadlines, and that ok-debian is
#     untouched.
# STARTTLS is not served here (s_server has no server side of it): the
# SMTP/IMAP/POP3 dialogues are tested in tests/unit/test-tls.c.
#
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"

nm_args "$@"
nm_need_tools jq openssl perl timeout
CHECKS=$(cd "$HERE/../../checks" && pwd -P)

DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-certs-test.XXXXXX")
FLEET_USED=$FLEET
SERVER_PIDS=()
done=0
cleanup() {
    local rc=$?
    if ((!done)); then
        # errexit stopped the script between checks: say so in TAP
        n=$((n + 1)) failed=$((failed + 1))
        echo "not ok $n - test-certs.sh stopped unexpectedly (status $rc) after check $((n - 1))"
        echo "1..$n"
    fi
    "$FLEET_USED" stop "$DIR/fleet" >/dev/null 2>&1 || :
    local p
    for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || :; done
    for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || :; done
    nm_keep_or_remove
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bail() {
    done=1
    not_ok "$1"
    [[ -f ${2:-} ]] && sed -n '1,40s/^/#   /p' "$2"
    echo "1..$n"
    echo "FAIL: $failed of $n checks failed"
    exit 1
}
# show_host NAME FILE [CHECK-REGEX]: that host's entries, for the log
# (hjq DESCRIPTION HOST CHECK-REGEX FILTER [jq args], testlib.sh, logs this
# on failure)
show_host() {
    nm_dump_host "$1" "$2" "${3:-.}" 4000 '{status, error, checks: [.checks[] | select(.id | test($c))],
         findings: [.findings[] | select(.check | test($c)) | del(.item, .evidence, .remediation, .fingerprint)]}'
}
# finding DESCRIPTION CHECK SUBJECT SEVERITY MESSAGE-REGEX [VALUE [THRESHOLD]]:
# cert-host has exactly one finding of CHECK for SUBJECT, with that severity
# (and value and threshold when given) and a message matching the regex
finding() {
    local d=$1 c=$2 s=$3 sev=$4 re=$5 v=${6:-null} t=${7:-null}
    hjq "$d" cert-host "^$c\$" '[.findings[] | select(.check == $c and .subject == $s)] |
        length == 1 and (.[0] | .severity == $sev and .category == "cert" and (.message | test($re)) and
            ($v == null or .value == $v) and ($t == null or .threshold == $t) and
            (.fingerprint | test("^[0-9a-f]{64}$")) and (.remediation | length) > 0)' \
        --arg c "$c" --arg s "$s" --arg sev "$sev" --arg re "$re" --argjson v "$v" --argjson t "$t"
}

# ------------------------------------------------- PKI and fake host --
# make-cert-host.sh makes the test PKI ($DIR/pki) relative to the real clock
# and the host definition $DIR/hostdefs/cert-host; $DIR/vars.sh gives NOW
# (the epoch second every date is relative to) and P (the PKI directory).
DAY=86400
at() { date -u -d "@$((NOW + $1))" +%Y%m%d%H%M%SZ; }
T0=$EPOCHREALTIME
if ! "$HERE/make-cert-host.sh" "$DIR" >"$DIR/make-cert-host.log" 2>&1 || [[ ! -f $DIR/vars.sh ]]; then
    bail "generate the test PKI and cert-host with make-cert-host.sh" "$DIR/make-cert-host.log"
fi
# shellcheck source=/dev/null # written by make-cert-host.sh: NOW, P
. "$DIR/vars.sh"
[[ -n ${NOW:-} && -d ${P:-} ]] || bail "make-cert-host.sh: NOW and P in $DIR/vars.sh" "$DIR/vars.sh"
ok "test PKI generated with openssl in $(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s (NOW $(at 0))"

# ------------------------------------------------------- TLS servers --
# server NAME ARGS...: a background server printing "ACCEPT 127.0.0.1:PORT";
# sets PORT. Wrapped in timeout(1), so that none outlives a killed test.
mkdir -p "$DIR/srv"
server() {
    local name=$1 log=$DIR/srv/$1.log i
    shift
    : >"$log"
    timeout 900 "$@" >>"$log" 2>&1 </dev/null &
    SERVER_PIDS+=($!)
    for ((i = 0; i < 100; i++)); do
        PORT=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log" | head -n 1) || PORT=""
        [[ -n $PORT ]] && return 0
        sleep 0.05
    done
    bail "TLS test server $name did not start" "$log"
}
# s_server NAME CERT [CHAIN] [-- ARGS...]: openssl s_server -www with NAME.pem/.key
s_server() {
    local name=$1 crt=$2 chain=${3:-}
    shift $(($# < 3 ? $# : 3))
    [[ ${1:-} == -- ]] && shift
    server "$name" openssl s_server -accept 127.0.0.1:0 -www -cert "$P/$crt.pem" -key "$P/$crt.key" \
        ${chain:+-cert_chain "$P/$chain.pem"} "$@"
}
declare -A EP=()
s_server valid srv-valid inter;               EP[valid]=127.0.0.1:$PORT
s_server expired srv-expired inter;           EP[expired]=127.0.0.1:$PORT
s_server mismatch srv-mismatch inter;         EP[mismatch]=127.0.0.1:$PORT
s_server incomplete srv-incomplete "";        EP[incomplete]=127.0.0.1:$PORT
s_server stale srv-shop-old inter;            EP[stale]=127.0.0.1:$PORT
s_server tls11 srv-tls11 inter -- -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
EP[tls11]=127.0.0.1:$PORT
s_server weak srv-weak inter -- -cipher 'DEFAULT:@SECLEVEL=0'
EP[weak]=127.0.0.1:$PORT
# Accepts every connection and never says a word (a hung service).
server silent perl -MIO::Socket::INET -e '
    $| = 1;
    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 16, ReuseAddr => 1)
        or die "listen: $!\n";
    print "ACCEPT 127.0.0.1:", $s->sockport, "\n";
    my @held;
    while (my $c = $s->accept) { push @held, $c }'
EP[silent]=127.0.0.1:$PORT
# A port that was free a moment ago and that nobody listens on.
PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1)->sockport')
EP[refused]=127.0.0.1:$PORT
ok "TLS servers up: $(for k in valid expired mismatch incomplete stale tls11 weak silent refused; do printf '%s=%s ' "$k" "${EP[$k]##*:}"; done)"

# ------------------------------------------------------------ fleet --
# cert-host comes from $DIR/hostdefs: fleet.sh looks there first.
export NM_FLEET_HOSTS_DIR=$DIR/hostdefs
how="NM_FLEET_HOSTS_DIR"
if ! "$FLEET_USED" start "$DIR/fleet" cert-host ok-debian >"$DIR/fleet-start.log" 2>&1; then
    bail "fleet.sh start cert-host ok-debian (via $how)" "$DIR/fleet-start.log"
fi
ok "fleet.sh start cert-host ok-debian (cert-host generated, via $how)"
F=$DIR/fleet

d="cert-host sees the generated files at their real paths, with their modes"
out=$(S cert-host 'ls -ln /etc/ssl/site/combined-world.pem /etc/haproxy/certs/admin.pem /etc/letsencrypt/live/shop.cert-host.test/cert.pem' 2>&1) || :
[[ $out == *"-rw-r--r-- "*combined-world.pem* && $out == *"-rw------- "*admin.pem* && $out == *cert.pem* ]] &&
    ok "$d" || { not_ok "$d"; printf '%s\n' "$out" | sed 's/^/#   /'; }

# The inventory: cert-host's tls entries point at the servers (bare ports:
# the host's address, 127.0.0.1, no SNI, names checked against the address).
INV=$DIR/inventory.json
jq --argjson tls "$(for k in valid expired mismatch incomplete stale tls11 weak silent refused; do echo "${EP[$k]##*:}"; done | jq -R . | jq -sc .)" \
    '(.hosts[] | select(.name == "cert-host")).tls = $tls' "$F/inventory.json" >"$INV"

# ------------------------------------------------------------- scan --
TLS_TIMEOUT=3
scan() {
    nm_run_scan 120 "$1.log" -i "$INV" -c "$CHECKS" -o "$1" --timeout 30 --jobs 8 \
        --tls-ca "$P/root.pem" --tls-timeout "$TLS_TIMEOUT"
    echo "# nearmiss scan -> exit $RC in $SECS s"
}
scan "$DIR/out"
R=$DIR/out/latest.json
d="scan: exit 0 (both hosts scanned, no --fail-on)"
[[ $RC == 0 ]] && ok "$d" || { not_ok "$d (got $RC)"; sed -n '1,15s/^/#   /p' "$DIR/out.log"; }
jq -e '.schema == "nearmiss.report/1"' "$R" >/dev/null 2>&1 || bail "scan: a nearmiss.report/1 report" "$DIR/out.log"
d="scan: done in < 25 s although one endpoint never answers (--tls-timeout $TLS_TIMEOUT)"
awk -v s="$SECS" 'BEGIN { exit !(s < 25) }' && ok "$d" || not_ok "$d (took $SECS s)"
for h in cert-host ok-debian; do
    hjq "$h: status ok" "$h" . '.status == "ok"'
done

# ------------------------------------------------- files on the host --
finding "expires in 3 days: cert-expiry critical, value 3 < 7, names CN and SANs" \
    cert-expiry /etc/ssl/site/expires-3d.pem critical \
    '^certificate for d3\.cert-host\.test \(SANs: d3\.cert-host\.test, www\.d3\.cert-host\.test\) expires in 3 days, on 20[0-9-]+T[0-9:]+Z: /etc/ssl/site/expires-3d\.pem$' 3 7
finding "expires in 10 days: cert-expiry high, value 10 < 14" \
    cert-expiry /etc/ssl/site/expires-10d.pem high '^certificate for d10\.cert-host\.test .*expires in 10 days' 10 14
finding "expires in 20 days: cert-expiry medium, value 20 < 28" \
    cert-expiry /etc/ssl/site/expires-20d.pem medium '^certificate for d20\.cert-host\.test .*expires in 20 days' 20 28
finding "expired 4.5 days ago: cert-expiry critical, 'expired on', value -5" \
    cert-expiry /etc/ssl/site/expired.pem critical '^certificate for expired\.cert-host\.test .*expired on 20[0-9-]+T[0-9:]+Z \(-5 days left\)' -5 0
finding "not yet valid: cert-not-yet-valid high, names the start date" \
    cert-not-yet-valid /etc/ssl/site/not-yet-valid.pem high \
    "^certificate for future\\.cert-host\\.test is not valid before $(date -u -d "@$((NOW + 30 * DAY))" +%Y-%m-%d)T"
finding "SHA-1 signature: cert-weak high, names sha1WithRSAEncryption" \
    cert-weak /etc/pki/tls/certs/legacy-sha1.crt high '^certificate for legacy\.cert-host\.test is signed with sha1WithRSAEncryption'
finding "RSA 1024: cert-weak high, value 1024 < 2048" \
    cert-weak /etc/ssl/site/rsa1024.pem high '^certificate for small-key\.cert-host\.test has a 1024-bit RSA key' 1024 2048
finding "self-signed leaf outside a CA store: cert-self-signed low" \
    cert-self-signed /etc/ssl/site/selfsigned.pem low '^certificate for internal\.cert-host\.test is self-signed'
finding "cert + key, mode 0644: cert-key-readable high, names the mode" \
    cert-key-readable /etc/ssl/site/combined-world.pem high 'private key and is readable by every user \(-rw-r--r--\)'
finding "a private key alone, mode 0644: cert-key-readable high" \
    cert-key-readable /etc/ssl/site/key-only.pem high 'private key and is readable by every user'
finding "truncated PEM: cert-unreadable low with the parser's reason" \
    cert-unreadable /etc/ssl/site/broken.pem low '^/etc/ssl/site/broken\.pem: truncated PEM block \(no END line\)$'
finding "nginx names a missing certificate: cert-unreadable medium" \
    cert-unreadable /etc/nginx/ssl/retired.pem medium 'does not exist.*will not start or reload'

# Exactly these, and nothing else, about the files this test made (the
# test machine's own /etc shows through where the host has no fixture).
MINE='^/etc/(ssl/site|nginx|letsencrypt|kubernetes|haproxy)/|^/etc/pki/tls/certs/legacy-sha1\.crt$'
want_files='[
 ["cert-expiry","/etc/ssl/site/expired.pem","critical"],
 ["cert-expiry","/etc/ssl/site/expires-10d.pem","high"],
 ["cert-expiry","/etc/ssl/site/expires-20d.pem","medium"],
 ["cert-expiry","/etc/ssl/site/expires-3d.pem","critical"],
 ["cert-key-readable","/etc/ssl/site/combined-world.pem","high"],
 ["cert-key-readable","/etc/ssl/site/key-only.pem","high"],
 ["cert-not-yet-valid","/etc/ssl/site/not-yet-valid.pem","high"],
 ["cert-self-signed","/etc/ssl/site/selfsigned.pem","low"],
 ["cert-unreadable","/etc/nginx/ssl/retired.pem","medium"],
 ["cert-unreadable","/etc/ssl/site/broken.pem","low"],
 ["cert-weak","/etc/pki/tls/certs/legacy-sha1.crt","high"],
 ["cert-weak","/etc/ssl/site/rsa1024.pem","high"]]'
hjq "files: exactly the 12 expected findings, one per certificate and problem (none for EC P-256, the 60-day API chain, the renewed Let's Encrypt certificate, the Kubernetes CA, the 0600 HAProxy cert+key)" \
    cert-host '^cert-' '[.findings[] | select((.check | startswith("cert-")) and .check != "cert-served-stale" and (.subject | test($mine)))
        | [.check, .subject, .severity]] | sort == ($want | sort)' --arg mine "$MINE" --argjson want "$want_files"
hjq "files: no subject carries a changing value (days)" cert-host '^cert-' \
    '[.findings[] | select(.check | startswith("cert-")) | .subject | test("[0-9]+ days")] | any | not'
want_fp=$(printf 'cert-expiry\0cert-host\0/etc/ssl/site/expires-3d.pem' | openssl dgst -sha256 -r | cut -d' ' -f1)
hjq "files: the fingerprint is SHA-256 of check, host and path only (nothing that changes daily)" cert-host '^cert-expiry$' \
    '.findings[] | select(.check == "cert-expiry" and .subject == "/etc/ssl/site/expires-3d.pem") | .fingerprint == $fp' \
    --arg fp "$want_fp"
hjq "files: the 0600 HAProxy cert+key (found through haproxy.cfg) is judged and not flagged" cert-host '^cert-' \
    '(.metrics["cert-expiry"] | [.[] | select(.subject == "/etc/haproxy/certs/admin.pem")] | length == 1) and
     ([.findings[] | select(.subject == "/etc/haproxy/certs/admin.pem")] | length == 0)'
hjq "files: the Kubernetes self-signed CA is not a cert-self-signed finding" cert-host '^cert-' \
    '([.findings[] | select(.subject == "/etc/kubernetes/pki/ca.crt")] | length == 0) and
     (.metrics["cert-expiry"] | [.[] | select(.subject == "/etc/kubernetes/pki/ca.crt")] | length == 1)'
hjq "files: a key alone is not reported as an unparsable certificate" cert-host '^cert-unreadable$' \
    '[.findings[] | select(.check == "cert-unreadable" and .subject == "/etc/ssl/site/key-only.pem")] | length == 0'
hjq "files: the checks' results (cert-expiry fail, cert-self-signed warn, cert-unreadable warn)" cert-host '^cert-' \
    '[.checks[] | select(.id | startswith("cert-")) | {key: .id, value: .result}] | from_entries |
     .["cert-expiry"] == "fail" and .["cert-weak"] == "fail" and .["cert-not-yet-valid"] == "fail" and
     .["cert-key-readable"] == "fail" and .["cert-self-signed"] == "warn" and .["cert-unreadable"] == "warn"'

# What cert-expiry records for cert-served-stale: every certificate, by SHA-256.
fp() { openssl x509 -in "$P/$1.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
SHOP_NEW=$(fp shop-new) INTER=$(fp inter) API=$(fp api)
hjq "record: metrics[\"cert-expiry\"][sha256 of the renewed shop certificate] has cn, sans, not_after_unix, not_after, paths, subject" \
    cert-host '^cert-expiry$' '.metrics["cert-expiry"][$sha] as $r |
     $r.cn == "shop.cert-host.test" and $r.sans == ["shop.cert-host.test", "www.shop.cert-host.test"] and
     ($r.not_after_unix | type) == "number" and ($r.not_after | test("Z$")) and
     $r.subject == "/etc/letsencrypt/live/shop.cert-host.test/cert.pem" and
     $r.paths == ["/etc/letsencrypt/live/shop.cert-host.test/cert.pem", "/etc/letsencrypt/live/shop.cert-host.test/fullchain.pem"]' \
    --arg sha "$SHOP_NEW"
hjq "record: certificates without findings are recorded too (API leaf found via a relative nginx path, the shared intermediate once)" \
    cert-host '^cert-expiry$' '.metrics["cert-expiry"] as $m |
     $m[$api].subject == "/etc/nginx/ssl/api-fullchain.pem" and
     $m[$inter].subject == "/etc/letsencrypt/live/shop.cert-host.test/fullchain.pem#1" and
     $m[$inter].paths == ["/etc/letsencrypt/live/shop.cert-host.test/fullchain.pem", "/etc/nginx/ssl/api-fullchain.pem"]' \
    --arg api "$API" --arg inter "$INTER"
d="files: no private key body leaves the host (probe redaction)"
body=$(sed -n 2p "$P/world.key")
grep -qF -- "$body" "$R" && not_ok "$d" || ok "$d"

# -------------------------------------------------------- endpoints --
efinding() { # DESCRIPTION CHECK ENDPOINT SEVERITY MESSAGE-REGEX [VALUE [THRESHOLD]]
    local d=$1 c=$2 e=${EP[$3]}
    shift 3
    finding "$d" "$c" "$e" "$@"
}
hjq "valid chain (--tls-ca test root): verified, name matches, TLS 1.3, no finding at all" cert-host '^tls-' \
    '(.tls[] | select(.subject == $e) | .verified == true and .hostname_ok == true and .protocol == "TLSv1.3" and .error == null) and
     ([.findings[] | select(.subject == $e)] | length == 0) and
     (.checks[] | select(.id == "tls-expiry") | .items == 7)' --arg e "${EP[valid]}"
efinding "expired leaf: tls-expiry critical, 'expired on', value -3" tls-expiry expired critical \
    "^${EP[expired]} serves a certificate for expired-srv\\.cert-host\\.test that expired on 20[0-9-]+T[0-9:]+Z \\(-3 days left\\)$" -3 0
hjq "expired leaf: not reported twice (no tls-verify 'certificate has expired')" cert-host '^tls-' \
    '(.tls[] | select(.subject == $e) | .verify_error == "certificate has expired") and
     ([.findings[] | select(.subject == $e)] | length == 1)' --arg e "${EP[expired]}"
efinding "name mismatch: tls-hostname high" tls-hostname mismatch high \
    'certificate \(for other\.example\.test\) does not name the address'
efinding "incomplete chain: tls-verify high, 'unable to get local issuer certificate'" tls-verify incomplete high \
    'does not verify: unable to get local issuer certificate$'
efinding "old certificate still served: tls-expiry medium, value 20 < 28" tls-expiry stale medium \
    'certificate for shop\.cert-host\.test that expires in 20 days' 20 28
hjq "renewed on disk, old one served: cert-served-stale high (20 days left), naming the renewed file" cert-host 'cert-served-stale' \
    '[.findings[] | select(.check == "cert-served-stale")] | length == 1 and (.[0] | .subject == $e and
        .severity == "high" and .category == "cert" and
        (.message | contains("/etc/letsencrypt/live/shop.cert-host.test/cert.pem")) and
        (.message | test("not reloaded")) and .value == 20)' --arg e "${EP[stale]}"
efinding "TLS 1.1 only: tls-protocol high, names TLSv1.1" tls-protocol tls11 high 'negotiates TLSv1\.1 at best'
efinding "RSA 1024 leaf served: tls-weak high" tls-weak weak high 'weak key'
efinding "accepts and never answers: tls-unreachable high, timed out" tls-unreachable silent high 'does not answer: .*timed out'
efinding "nothing listens: tls-unreachable high, connection refused" tls-unreachable refused high 'does not answer: .*[Rr]efused'
hjq "the silent endpoint is cut at the --tls-timeout deadline (error_kind timeout)" cert-host '^tls-unreachable$' \
    '.tls[] | select(.subject == $e) | .error_kind == "timeout"' --arg e "${EP[silent]}"
want_tls=$(jq -nc --argjson ep "$(for k in "${!EP[@]}"; do printf '{"%s":"%s"}' "$k" "${EP[$k]}"; done | jq -sc add)" '[
    ["cert-served-stale", $ep.stale, "high"],
    ["tls-expiry", $ep.expired, "critical"],
    ["tls-expiry", $ep.stale, "medium"],
    ["tls-hostname", $ep.mismatch, "high"],
    ["tls-protocol", $ep.tls11, "high"],
    ["tls-unreachable", $ep.refused, "high"],
    ["tls-unreachable", $ep.silent, "high"],
    ["tls-verify", $ep.incomplete, "high"],
    ["tls-weak", $ep.weak, "high"]] | sort')
hjq "endpoints: exactly the 9 expected findings, one per endpoint and problem" cert-host '^tls-|cert-served-stale' \
    '[.findings[] | select(.check | test("^tls-|^cert-served-stale$")) | [.check, .subject, .severity]] | sort == $want' \
    --argjson want "$want_tls"

# ------------------------------------------------------- ok-debian --
hjq "ok-debian: no certificate or TLS finding" ok-debian '^(cert|tls)-' \
    '[.findings[] | select(.category == "cert" or (.check | test("^(cert|tls)-")))] | length == 0'
hjq "ok-debian: the file checks pass with nothing found, the endpoint checks are notapplicable" ok-debian '^(cert|tls)-' \
    '([.checks[] | select(.id | startswith("cert-"))] | length == 6 and all(.result == "pass" and .items == 0)) and
     ([.checks[] | select(.id | startswith("tls-"))] | length == 6 and all(.result == "notapplicable"))'

# ------------------------------------------------ a second scan --
scan "$DIR/out2"
fps() { jq -c '[.hosts[] | .name as $h | .findings[] | select(.category == "cert") | [$h, .check, .subject, .fingerprint]] | sort' "$1" 2>/dev/null; }
d="second scan: the same certificate findings with the same fingerprints"
a=$(fps "$R") b=$(fps "$DIR/out2/latest.json")
[[ -n $a && $a != "[]" && $a == "$b" ]] && ok "$d" || not_ok "$d"

done=1
nm_finish
