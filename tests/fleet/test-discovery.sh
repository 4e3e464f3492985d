#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-discovery.sh BINARY — TLS endpoint discovery (--tls-discovery) over
# real sshd fake hosts and real TLS servers, none of them in the inventory:
#   - cert-host (made by make-cert-host.sh: a renewed shop certificate on
#     disk, valid 89 days) runs
#       * "nginx" (a real openssl s_server started under that name) on
#         0.0.0.0, serving the OLD shop certificate (20 days left): probed
#         from the scanner at the host's inventory address;
#       * "haproxy" (s_server) on 127.0.0.1 only, serving an older shop
#         certificate with 3 days left: probed from the host (s_client);
#       * an SMTP service with STARTTLS on port 587 of a loopback address
#         (a perl front speaking the SMTP dialogue, then relaying to a real
#         s_server): probed from the host with s_client -starttls smtp;
#   - ok-debian listens on nothing.
# The fake hosts see only these listeners (tests/fleet/netbin/ss). Checks
# the per-host discovery record, the stale-certificate findings (high;
# critical within 7 days) naming the process and its reload command, the
# modes off and local, and prints what discovery costs per host.
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
CHECKS=$(cd "$HERE/../../checks" && pwd -P)

nm_args "$@"
nm_need_tools jq openssl perl timeout awk
nm_tempdir nm-discovery-test
SERVER_PIDS=()
stop_servers() {
    local p
    for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || :; done
    for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || :; done
}
trap 'stop_servers; nm_cleanup' EXIT
bail() {
    not_ok "$1"
    [[ -f ${2:-} ]] && sed 's/^/# /' "$2" | tail -n 20
    echo "1..$n"
    exit 1
}

"$HERE/make-cert-host.sh" "$DIR" >"$DIR/make-cert-host.log" 2>&1 ||
    bail "make-cert-host.sh: the test PKI and cert-host" "$DIR/make-cert-host.log"
# shellcheck source=/dev/null # written by make-cert-host.sh: NOW, P
. "$DIR/vars.sh"
at() { date -u -d "@$((NOW + $1))" +%Y%m%d%H%M%SZ; }
DAY=86400
# An older shop certificate, 3 days (and a half) left, for the loopback service.
(
    cd "$P"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out shop-3d.key 2>/dev/null
    openssl req -new -key shop-3d.key -subj "/O=nearmiss cert-host test/CN=shop.cert-host.test" \
        -out shop-3d.csr
    printf '[ leaf ]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:shop.cert-host.test, IP:127.0.0.1\nauthorityKeyIdentifier = keyid\n' >shop-3d.ext
    openssl ca -batch -notext -config ca.cnf -cert inter.pem -keyfile inter.key -in shop-3d.csr \
        -out shop-3d.pem -startdate "$(at $((-80 * DAY)))" -enddate "$(at $((3 * DAY + DAY / 2)))" \
        -extfile shop-3d.ext -extensions leaf 2>/dev/null
) >"$DIR/shop-3d.log" 2>&1 && [[ -s $P/shop-3d.pem ]] || bail "openssl: the 3-day shop certificate" "$DIR/shop-3d.log"

# ------------------------------------------------------------ servers --
mkdir -p "$DIR/srv" "$DIR/bin"
ln -s "$(command -v openssl)" "$DIR/bin/nginx"
ln -s "$(command -v openssl)" "$DIR/bin/haproxy"
# server NAME ARGS...: a background server that prints "ACCEPT ADDR:PORT"; sets PORT
server() {
    local name=$1 log=$DIR/srv/$1.log i
    shift
    : >"$log"
    timeout 900 "$@" >>"$log" 2>&1 </dev/null &
    SERVER_PIDS+=($!)
    for ((i = 0; i < 100; i++)); do
        PORT=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$log" | head -n 1) || PORT=""
        [[ -n $PORT ]] && return 0
        sleep 0.05
    done
    bail "test server $name did not start" "$log"
}
server nginx "$DIR/bin/nginx" s_server -accept 0.0.0.0:0 -www -cert "$P/srv-shop-old.pem" \
    -key "$P/srv-shop-old.key" -cert_chain "$P/inter.pem"
NGX=$PORT
server haproxy "$DIR/bin/haproxy" s_server -accept 127.0.0.1:0 -www -cert "$P/shop-3d.pem" \
    -key "$P/shop-3d.key" -cert_chain "$P/inter.pem"
HAP=$PORT
server smtp-backend openssl s_server -accept 127.0.0.1:0 -www -cert "$P/srv-valid.pem" \
    -key "$P/srv-valid.key" -cert_chain "$P/inter.pem"
BACK=$PORT
# A loopback address of its own, so that two runs of this test cannot collide on port 587.
MAILADDR=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
cat >"$DIR/srv/smtp-starttls.pl" <<'PERL'
# SMTP up to STARTTLS, then the bytes relayed to a real TLS server.
use strict; use warnings; use IO::Socket::INET; use IO::Select;
my ($addr, $port, $backend) = @ARGV;
my $l = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => $port, Listen => 8, ReuseAddr => 1)
    or die "listen $addr:$port: $!\n";
$| = 1;
print "ACCEPT $addr:", $l->sockport, "\n";
$SIG{CHLD} = 'IGNORE';
while (1) {
    my $c = $l->accept or next;
    if (fork) { close $c; next }
    $c->autoflush(1);
    print $c "220 mail.cert-host.test ESMTP\r\n";
    my $tls = 0;
    while (defined(my $line = <$c>)) {
        if ($line =~ /^(EHLO|HELO)/i) { print $c "250-mail.cert-host.test\r\n250 STARTTLS\r\n" }
        elsif ($line =~ /^STARTTLS/i) { print $c "220 2.0.0 Ready to start TLS\r\n"; $tls = 1; last }
        elsif ($line =~ /^QUIT/i) { print $c "221 2.0.0 Bye\r\n"; last }
        else { print $c "502 5.5.2 Error: command not recognized\r\n" }
    }
    exit 0 unless $tls;
    my $b = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $backend) or exit 1;
    my $s = IO::Select->new($c, $b);
    while (my @r = $s->can_read(30)) {
        for my $h (@r) {
            my $n = sysread($h, my $buf, 16384);
            exit 0 unless $n;
            syswrite($h == $c ? $b : $c, $buf);
        }
    }
    exit 0;
}
PERL
server smtp perl "$DIR/srv/smtp-starttls.pl" "$MAILADDR" 587 "$BACK"
mkdir -p "$DIR/hostdefs/cert-host/data"
printf '%s\n' "0.0.0.0:$NGX" "127.0.0.1:$HAP" "$MAILADDR:587" >"$DIR/hostdefs/cert-host/data/ss-ports"
ok "servers: nginx on 0.0.0.0:$NGX, haproxy on 127.0.0.1:$HAP, SMTP+STARTTLS on $MAILADDR:587"

export NM_FLEET_HOSTS_DIR=$DIR/hostdefs
nm_fleet_start cert-host ok-debian

show_host() {
    nm_dump_host "$1" "$R" "$3" 3000 \
        '{status, tls_discovery, findings: [(.findings // [])[] | select(.check | test("^tls-|served")) | {check, severity, subject, message, remediation}]}'
}
scan() { # OUT [args]
    local out=$1
    shift
    nm_run_scan 120 "$out.log" -i "$INV" --known-hosts "$KH" --identity "$KEY" -c "$CHECKS" \
        -o "$out" --timeout 60 --jobs 4 --tls-ca "$P/root.pem" "$@"
    echo "# nearmiss scan $* -> exit $RC (${SECS}s)"
    R=$out/latest.json
    nm_need_report "scan $*: a report"
}
ep() { # the discovery record's endpoint on PORT of HOST, as a jq filter prefix
    printf '.tls_discovery.endpoints[] | select(.port == %s)' "$1"
}

# ------------------------------------------------------ default: remote --
scan "$DIR/remote"
S_REMOTE=$SECS
hjq "default mode is remote, listing from ss" cert-host "" \
    '.tls_discovery.mode == "remote" and .tls_discovery.listing == "ss" and .tls_discovery.listeners == 3'
hjq "nginx on 0.0.0.0:$NGX: probed from the scanner at the inventory address, TLS" cert-host "" \
    "[$(ep "$NGX")] | length == 1 and (.[0] | .probed_from == \"scanner\" and .result == \"tls\" and
      .programs == [\"nginx\"] and .subject == \"127.0.0.1:$NGX\" and .loopback_only == false)"
hjq "haproxy on 127.0.0.1:$HAP (loopback only): probed from the host, TLS" cert-host "" \
    "[$(ep "$HAP")] | length == 1 and (.[0] | .probed_from == \"host\" and .result == \"tls\" and
      .programs == [\"haproxy\"] and .loopback_only == true)"
hjq "SMTP on $MAILADDR:587: STARTTLS from the host" cert-host "" \
    "[$(ep 587)] | length == 1 and (.[0] | .probed_from == \"host\" and .protocol == \"smtp\" and
      .result == \"tls\" and .address == \"$MAILADDR\")"
hjq "the discovered endpoints are judged like inventory ones (.tls items, marked discovered)" cert-host "" \
    "[.tls[] | select(.discovered == true) | .subject] | sort == ([\"127.0.0.1:$NGX\", \"127.0.0.1:$HAP\", \"$MAILADDR:587\"] | sort)"
hjq "the SMTP item: starttls smtp, the relayed server's certificate (valid.cert-host.test), verified" cert-host "" \
    ".tls[] | select(.subject == \"$MAILADDR:587\") | .starttls == \"smtp\" and .cn == \"valid.cert-host.test\" and .verified == true and (.protocol | startswith(\"TLSv1\"))"
hjq "nginx serves the old certificate, the renewed one is on disk: cert-served-stale high, reload nginx" \
    cert-host cert-served-stale \
    "[.findings[] | select(.check == \"cert-served-stale\" and .subject == \"127.0.0.1:$NGX\")] | length == 1 and
     (.[0] | .severity == \"high\" and .value == 20 and .process == \"nginx\" and
      (.remediation | contains(\"systemctl reload nginx\")) and
      (.message | contains(\"/etc/letsencrypt/live/shop.cert-host.test/\")))"
hjq "haproxy serves one expiring in 3 days: cert-served-stale critical, reload haproxy" \
    cert-host cert-served-stale \
    "[.findings[] | select(.check == \"cert-served-stale\" and .subject == \"127.0.0.1:$HAP\")] | length == 1 and
     (.[0] | .severity == \"critical\" and .value == 3 and (.remediation | contains(\"systemctl reload haproxy\")))"
hjq "tls-expiry judges them too: 20 days medium, 3 days critical" cert-host tls-expiry \
    "[.findings[] | select(.check == \"tls-expiry\") | [.subject, .severity]] | sort == ([[\"127.0.0.1:$NGX\", \"medium\"], [\"127.0.0.1:$HAP\", \"critical\"]] | sort)"
hjq "no name to check (host name is not a DNS name): no tls-hostname finding" cert-host tls-hostname \
    '[.findings[] | select(.check == "tls-hostname")] | length == 0'
hjq "ok-debian listens on nothing: listed as such, no endpoint, tls checks notapplicable" ok-debian "" \
    '.tls_discovery.listeners == 0 and .tls_discovery.endpoints == [] and .tls_discovery.listing == "ss" and
     ([.checks[] | select(.id == "tls-expiry") | .result] == ["notapplicable"])'

# ------------------------------------------------------------- local --
scan "$DIR/local" --tls-discovery local
hjq "local: nginx probed from the host as well (no connection from the scanner)" cert-host "" \
    "[$(ep "$NGX")] | length == 1 and (.[0] | .probed_from == \"host\" and .result == \"tls\" and .subject == \"127.0.0.1:$NGX\")"
hjq "local: the same stale findings" cert-host cert-served-stale \
    '[.findings[] | select(.check == "cert-served-stale") | .severity] | sort == ["critical", "high"]'

# --------------------------------------------------------------- off --
scan "$DIR/off" --tls-discovery off
S_OFF=$SECS
hjq "off: no discovery record, no discovered endpoint, no stale finding" cert-host "" \
    '(has("tls_discovery") | not) and ([(.tls // [])[] | select(.discovered)] | length == 0) and
     ([.findings[] | select(.check == "cert-served-stale")] | length == 0)'
d="usage: --tls-discovery sometimes is refused (exit 1)"
rc=0
"$BIN" scan -i "$INV" --tls-discovery sometimes >"$DIR/usage.log" 2>&1 || rc=$?
[[ $rc == 1 ]] && grep -q 'not off, local or remote' "$DIR/usage.log" && ok "$d" || not_ok "$d (exit $rc)"
echo "# scan of 2 hosts: ${S_OFF}s without discovery, ${S_REMOTE}s with (remote)"

nm_finish
