#!/usr/bin/env bash
# make-cert-host.sh OUTDIR — generates the fake host cert-host: a test PKI
# made with the openssl CLI relative to the real clock, and a host definition
# using it, for fleet.sh through NM_FLEET_HOSTS_DIR=OUTDIR/hostdefs.
#
# Certificates cannot be committed: the scanner judges them against the real
# clock, so a fixture expiring "in 3 days" would be wrong tomorrow. Writes:
#   OUTDIR/pki/        the test CA (root.pem/.key, inter.pem/.key, ca.cnf,
#                      index.txt, serial, newcerts/) and every certificate as
#                      NAME.pem + NAME.key (+ NAME.csr, NAME.ext): leaves
#                      expiring in 3, 10, 20 and 60 days (d3 d10 d20 api),
#                      expired, notyet, sha1, rsa1024, ec256, selfsigned,
#                      k8s-ca, world, private, shop-new, lonely.key (a key
#                      alone), and the leaves meant for TLS servers on
#                      127.0.0.1 (IP SAN): srv-valid srv-expired srv-mismatch
#                      srv-incomplete srv-shop-old srv-tls11 srv-weak
#   OUTDIR/hostdefs/cert-host/
#                      the committed definition (tests/fleet/hosts/cert-host:
#                      host.json, root/; bin/ a symlink to the committed stubs)
#                      plus the generated files under root/ at their real
#                      paths and modes (cert+key 0644 and 0600, a Let's
#                      Encrypt live/ directory, nginx and HAProxy
#                      configuration naming some of them)
#   OUTDIR/pki.log     what openssl said
#   OUTDIR/vars.sh     NOW (the epoch second every date is relative to) and
#                      P (the absolute path of OUTDIR/pki), for `source`
# Its inventory `tls` entries are the caller's business (test-certs.sh,
# scripts/demo.sh start s_server with the srv-* leaves and add them).
#
# Prints nothing on success; on failure an error on stderr, exit 1.
set -euo pipefail

PROG=make-cert-host.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TEMPLATE=$HERE/hosts/cert-host

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
[[ $# -eq 1 ]] || { echo "usage: $PROG OUTDIR" >&2; exit 1; }
for tool in openssl date; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh)"
done
[[ -f $TEMPLATE/host.json ]] || die "no committed definition $TEMPLATE/host.json"
mkdir -p -- "$1" || die "can not create $1"
OUT=$(cd -- "$1" && pwd -P)
[[ ! -e $OUT/pki && ! -e $OUT/hostdefs/cert-host ]] ||
    die "$OUT already holds pki/ or hostdefs/cert-host/ (use a fresh directory)"

# ------------------------------------------------------------------ PKI --
# Dates are relative to NOW, with half a day of slack: a certificate that
# ends NOW + 3 days + 12 hours has 3 days left for the next 12 hours.
NOW=$(date -u +%s)
DAY=86400 HALF=43200
at() { date -u -d "@$((NOW + $1))" +%Y%m%d%H%M%SZ; }
P=$OUT/pki
mkdir -p "$P/newcerts"
: >"$P/index.txt"
echo 'unique_subject = no' >"$P/index.txt.attr"
echo 2000 >"$P/serial"
cat >"$P/ca.cnf" <<'CNF'
[ ca ]
default_ca = nm
[ nm ]
dir = .
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
default_md = sha256
policy = any
email_in_dn = no
preserve = yes
unique_subject = no
[ any ]
organizationName = optional
commonName = supplied
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ inter_ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
RSA2048='-algorithm RSA -pkeyopt rsa_keygen_bits:2048'
RSA1024='-algorithm RSA -pkeyopt rsa_keygen_bits:1024'
P256='-algorithm EC -pkeyopt ec_paramgen_curve:P-256'
# key NAME KEYARGS...; csr NAME CN
key() { local k=$1; shift; openssl genpkey "$@" -out "$k.key" 2>/dev/null; }
csr() { openssl req -new -key "$1.key" -subj "/O=nearmiss cert-host test/CN=$2" -out "$1.csr"; }
# leaf NAME ISSUER FROM TO SANS KEYARGS... [-- CA-ARGS...]: a server
# certificate valid from NOW+FROM to NOW+TO seconds
leaf() {
    local name=$1 iss=$2 from=$3 to=$4 sans=$5 cn
    shift 5
    local -a kargs=() cargs=()
    while (($#)) && [[ $1 != -- ]]; do kargs+=("$1"); shift; done
    (($#)) && shift && cargs=("$@")
    cn=${sans%%,*}
    cn=${cn#DNS:}
    key "$name" "${kargs[@]}"
    csr "$name" "$cn"
    printf '[ leaf ]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectAltName = %s\n%s\n' \
        "$sans" "$([[ $iss == self ]] || echo 'authorityKeyIdentifier = keyid')" >"$name.ext"
    if [[ $iss == self ]]; then
        openssl ca -batch -notext -config ca.cnf -selfsign -keyfile "$name.key" -in "$name.csr" \
            -out "$name.pem" -startdate "$(at "$from")" -enddate "$(at "$to")" \
            -extfile "$name.ext" -extensions leaf "${cargs[@]}" 2>/dev/null
    else
        openssl ca -batch -notext -config ca.cnf -cert "$iss.pem" -keyfile "$iss.key" -in "$name.csr" \
            -out "$name.pem" -startdate "$(at "$from")" -enddate "$(at "$to")" \
            -extfile "$name.ext" -extensions leaf "${cargs[@]}" 2>/dev/null
    fi
}
# ca NAME CN ISSUER|self EXTENSIONS KEYARGS...
ca() {
    local name=$1 cn=$2 iss=$3 ext=$4
    shift 4
    key "$name" "$@"
    csr "$name" "$cn"
    if [[ $iss == self ]]; then
        openssl ca -batch -notext -config ca.cnf -selfsign -keyfile "$name.key" -in "$name.csr" \
            -out "$name.pem" -startdate "$(at $((-365 * DAY)))" -enddate "$(at $((3650 * DAY)))" \
            -extensions "$ext" 2>/dev/null
    else
        openssl ca -batch -notext -config ca.cnf -cert "$iss.pem" -keyfile "$iss.key" -in "$name.csr" \
            -out "$name.pem" -startdate "$(at $((-365 * DAY)))" -enddate "$(at $((1825 * DAY)))" \
            -extensions "$ext" 2>/dev/null
    fi
}
# (a subshell, for its cd; errexit would not hold inside a condition, so
# every file is checked afterwards)
(
    cd "$P"
    # shellcheck disable=SC2086 # the key arguments are meant to split
    {
        ca root 'nearmiss cert-host Test Root CA' self ca_ext $RSA2048
        ca inter 'nearmiss cert-host Test Intermediate CA' root inter_ext $P256
        B=$((-30 * DAY))
        # files on the host
        leaf d3 inter $B $((3 * DAY + HALF)) 'DNS:d3.cert-host.test, DNS:www.d3.cert-host.test' $P256
        leaf d10 inter $B $((10 * DAY + HALF)) 'DNS:d10.cert-host.test' $P256
        leaf d20 inter $B $((20 * DAY + HALF)) 'DNS:d20.cert-host.test' $P256
        leaf api inter $B $((60 * DAY + HALF)) 'DNS:api.cert-host.test' $P256
        leaf expired inter $((-100 * DAY)) $((-4 * DAY - HALF)) 'DNS:expired.cert-host.test' $P256
        leaf notyet inter $((30 * DAY)) $((400 * DAY)) 'DNS:future.cert-host.test' $P256
        leaf sha1 root $B $((200 * DAY)) 'DNS:legacy.cert-host.test' $RSA2048 -- -md sha1
        leaf rsa1024 inter $B $((200 * DAY)) 'DNS:small-key.cert-host.test' $RSA1024
        leaf ec256 inter $B $((200 * DAY)) 'DNS:ec.cert-host.test' $P256
        leaf selfsigned self $B $((200 * DAY)) 'DNS:internal.cert-host.test' $P256
        ca k8s-ca kubernetes self ca_ext $P256
        leaf world inter $B $((200 * DAY)) 'DNS:world.cert-host.test' $P256
        leaf private inter $B $((200 * DAY)) 'DNS:admin.cert-host.test' $P256
        key lonely $P256
        leaf shop-new inter $((-1 * DAY)) $((89 * DAY + HALF)) 'DNS:shop.cert-host.test, DNS:www.shop.cert-host.test' $P256
        # served by the TLS servers (IP SAN: the inventory reaches them by address)
        leaf srv-valid inter $B $((200 * DAY)) 'DNS:valid.cert-host.test, IP:127.0.0.1' $P256
        leaf srv-expired inter $((-100 * DAY)) $((-2 * DAY - HALF)) 'DNS:expired-srv.cert-host.test, IP:127.0.0.1' $P256
        leaf srv-mismatch inter $B $((200 * DAY)) 'DNS:other.example.test' $P256
        leaf srv-incomplete inter $B $((200 * DAY)) 'DNS:incomplete.cert-host.test, IP:127.0.0.1' $P256
        leaf srv-shop-old inter $((-70 * DAY)) $((20 * DAY + HALF)) 'DNS:shop.cert-host.test, DNS:www.shop.cert-host.test, IP:127.0.0.1' $P256
        leaf srv-tls11 inter $B $((200 * DAY)) 'DNS:tls11.cert-host.test, IP:127.0.0.1' $P256
        leaf srv-weak inter $B $((200 * DAY)) 'DNS:weak.cert-host.test, IP:127.0.0.1' $RSA1024
    } >"$OUT/pki.log" 2>&1
) || :
# pki_fail WHAT: the error, then what openssl said
pki_fail() {
    {
        printf '%s: error: generating the test PKI with openssl (NOW %s): %s\n' "$PROG" "$(at 0)" "$1"
        sed -n '1,60s/^/  /p' "$OUT/pki.log"
    } >&2
    exit 1
}
for c in root inter d3 d10 d20 api expired notyet sha1 rsa1024 ec256 selfsigned k8s-ca world private \
    shop-new srv-valid srv-expired srv-mismatch srv-incomplete srv-shop-old srv-tls11 srv-weak; do
    if ! openssl x509 -in "$P/$c.pem" -noout 2>/dev/null || [[ ! -s $P/$c.key ]]; then
        pki_fail "no $c.pem"
    fi
done
[[ -s $P/lonely.key ]] || pki_fail "no lonely.key"

# ------------------------------------------------------ the fake host --
# The committed definition plus the generated files; bin/ links to the
# committed stubs (they find tests/fleet/lib from their real location).
H=$OUT/hostdefs/cert-host
mkdir -p "$H"
cp "$TEMPLATE/host.json" "$H/"
cp -R "$TEMPLATE/root" "$H/root"
ln -s "$TEMPLATE/bin" "$H/bin"
put() { # put MODE DEST FILE... : concatenation of FILEs at root/DEST
    local mode=$1 dest=$H/root$2
    shift 2
    mkdir -p "$(dirname "$dest")"
    (cd "$P" && cat "$@") >"$dest"
    chmod "$mode" "$dest"
}
put 644 /etc/ssl/site/expires-3d.pem d3.pem
put 644 /etc/ssl/site/expires-10d.pem d10.pem
put 644 /etc/ssl/site/expires-20d.pem d20.pem
put 644 /etc/ssl/site/expired.pem expired.pem
put 644 /etc/ssl/site/not-yet-valid.pem notyet.pem
put 644 /etc/pki/tls/certs/legacy-sha1.crt sha1.pem
put 644 /etc/ssl/site/rsa1024.pem rsa1024.pem
put 644 /etc/ssl/site/ec-p256.pem ec256.pem
put 644 /etc/ssl/site/selfsigned.pem selfsigned.pem
put 644 /etc/kubernetes/pki/ca.crt k8s-ca.pem
put 644 /etc/ssl/site/combined-world.pem world.pem world.key
put 644 /etc/ssl/site/key-only.pem lonely.key
put 600 /etc/haproxy/certs/admin.pem private.pem private.key
put 644 /etc/nginx/ssl/api-fullchain.pem api.pem inter.pem
put 644 /etc/letsencrypt/live/shop.cert-host.test/cert.pem shop-new.pem
put 644 /etc/letsencrypt/live/shop.cert-host.test/chain.pem inter.pem
put 644 /etc/letsencrypt/live/shop.cert-host.test/fullchain.pem shop-new.pem inter.pem
mkdir -p "$H/root/etc/nginx/sites-enabled" "$H/root/etc/haproxy"
cat >"$H/root/etc/nginx/sites-enabled/cert-host" <<'EOF'
server {
    listen 443 ssl;
    server_name shop.cert-host.test www.shop.cert-host.test;
    ssl_certificate /etc/letsencrypt/live/shop.cert-host.test/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/shop.cert-host.test/privkey.pem;
}
server {
    listen 8443 ssl;
    server_name api.cert-host.test;
    ssl_certificate ssl/api-fullchain.pem;
    ssl_certificate_key ssl/api.key;
}
server {
    listen 9443 ssl;
    server_name old-api.cert-host.test;
    # left behind when old-api was retired: nginx -t fails on the next reload
    ssl_certificate /etc/nginx/ssl/retired.pem;
    ssl_certificate_key /etc/nginx/ssl/retired.key;
}
EOF
cat >"$H/root/etc/haproxy/haproxy.cfg" <<'EOF'
global
    log /dev/log local0
frontend admin
    bind 127.0.0.1:8444 ssl crt /etc/haproxy/certs/admin.pem
    default_backend admin
backend admin
    server admin1 127.0.0.1:8081
EOF
chmod 644 "$H/root/etc/nginx/sites-enabled/cert-host" "$H/root/etc/haproxy/haproxy.cfg"

# ------------------------------------------------------------ vars.sh --
printf '# written by make-cert-host.sh: source it\nNOW=%q\nP=%q\n' "$NOW" "$P" >"$OUT/vars.sh"
