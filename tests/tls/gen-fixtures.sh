#!/bin/sh
# Regenerates every certificate fixture of the certificate tests with the
# openssl CLI (OpenSSL 3.x), relative to the fixed "now" the tests use:
#
#     NOW = 2026-11-24T00:00:00Z
#
# Writes:
#   tests/tls/pki/*.pem              CA, intermediate, leaves (+ the keys the
#                                    TLS test servers and the cert+key cases need)
#   tests/data/parsers/x509_files/*.in   probe outputs built from them
#
# Keys are random, so running this again changes every fingerprint: refresh
# the expected sha256/serial values in x509_files/*.json afterwards (the
# parser test prints expected and actual items side by side).
#
# Usage: tests/tls/gen-fixtures.sh          (from anywhere)
#        tests/tls/gen-fixtures.sh renewal  (only x509_files/renewal.in)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
pki=$top/tests/tls/pki
cases=$top/tests/data/parsers/x509_files
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$pki" "$cases"
cd "$work"

# --- a throwaway CA database: serials 1000, 1001, ... in issue order -------
mkdir newcerts
: >index.txt
echo 'unique_subject = no' >index.txt.attr
echo 1000 >serial
cat >ca.cnf <<'CNF'
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
[ root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ inter ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

key() { # NAME TYPE...
    n=$1
    shift
    openssl genpkey "$@" -out "$n.key" 2>/dev/null
}
csr() { # NAME CN
    openssl req -new -key "$1.key" -subj "/O=nearmiss tests/CN=$2" -out "$1.csr"
}
leafext() { # NAME SAN
    printf '[ leaf ]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectAltName = %s\nauthorityKeyIdentifier = keyid\n' "$2" >"$1.ext"
}
sign() { # NAME ISSUER START END [extra ca args]
    n=$1 iss=$2 start=$3 end=$4
    shift 4
    openssl ca -batch -notext -config ca.cnf -cert "$iss.pem" -keyfile "$iss.key" \
        -in "$n.csr" -out "$n.pem" -startdate "$start" -enddate "$end" \
        -extfile "$n.ext" -extensions leaf "$@" 2>/dev/null
}
leaf() { # NAME CN ISSUER START END KEYARGS...
    n=$1 cn=$2 iss=$3 start=$4 end=$5
    shift 5
    key "$n" "$@"
    csr "$n" "$cn"
    leafext "$n" "DNS:$cn"
    sign "$n" "$iss" "$start" "$end"
}
RSA2048='-algorithm RSA -pkeyopt rsa_keygen_bits:2048'
P256='-algorithm EC -pkeyopt ec_paramgen_curve:P-256'

# --- renewal habits (x509_files/renewal.in) ---------------------------------
# Its own CA, standing in for an ACME CA, and serials from 2000, so that
# `gen-fixtures.sh renewal` remakes this case alone and leaves every other
# fixture (and its fingerprints) as it is.  Leaves of 90 days (an ACME
# life, renewal expected at 2/3: day 60), 100 and 101 days (either side of
# the ACME bound) and 398 days (the CA/Browser Forum maximum; renewal
# expected 30 days before expiry), placed around NOW.
gen_renewal() {
    echo 2000 >serial
    key acme-ca $P256
    csr acme-ca 'nearmiss Test ACME CA'
    openssl ca -batch -notext -config ca.cnf -selfsign -keyfile acme-ca.key -in acme-ca.csr \
        -out acme-ca.pem -startdate 20260101000000Z -enddate 20310101000000Z -extensions root 2>/dev/null
    # 90 days: 36 days left, renewal expected 2026-11-30 (in 6 days)
    leaf acme-fresh acme-fresh.example.test acme-ca 20261001000000Z 20261230000000Z $P256
    # 90 days: 28 days left, renewal expected 2026-11-22 (2 days ago): overdue
    leaf acme-overdue acme-overdue.example.test acme-ca 20260923000000Z 20261222000000Z $P256
    # 90 days: 15 days left, renewal expected 2026-11-09: the 28-day tier's
    leaf acme-late acme-late.example.test acme-ca 20260910000000Z 20261209000000Z $P256
    # 90 days less a second, as Let's Encrypt issues them: renewal expected
    # 2026-11-24T10:00:00Z, ten hours after NOW (not overdue yet)
    leaf acme-le acme-le.example.test acme-ca 20260925100000Z 20261224095959Z $P256
    # 100 days (still 2/3: 2026-12-06T16:00:00Z) and 101 days (30 days left:
    # 2026-12-11T00:00:00Z)
    leaf life100 life100.example.test acme-ca 20261001000000Z 20270109000000Z $P256
    leaf life101 life101.example.test acme-ca 20261001000000Z 20270110000000Z $P256
    # 398 days: 49 days left, renewal expected 2026-12-13
    leaf long-fresh long-fresh.example.test acme-ca 20251210000000Z 20270112000000Z $RSA2048
    # 398 days: 30 days left, renewal expected exactly at NOW: overdue
    leaf long-overdue long-overdue.example.test acme-ca 20251121000000Z 20261224000000Z $RSA2048
    {
        frame /etc/letsencrypt/archive/acme-fresh/cert3.pem /etc/letsencrypt/live/acme-fresh/cert.pem acme-fresh.pem
        frame /etc/letsencrypt/archive/acme-overdue/cert2.pem /etc/letsencrypt/live/acme-overdue/cert.pem acme-overdue.pem
        frame /etc/letsencrypt/archive/acme-late/cert5.pem /etc/letsencrypt/live/acme-late/cert.pem acme-late.pem
        frame /etc/letsencrypt/archive/acme-le/cert1.pem /etc/letsencrypt/live/acme-le/cert.pem acme-le.pem
        frame /etc/ssl/life100.crt /etc/ssl/life100.crt life100.pem
        frame /etc/ssl/life101.crt /etc/ssl/life101.crt life101.pem
        frame /etc/ssl/long-fresh.crt /etc/ssl/long-fresh.crt long-fresh.pem
        frame /etc/ssl/long-overdue.crt /etc/ssl/long-overdue.crt long-overdue.pem
    } >"$cases/renewal.in"
}
# frame REALPATH PATH FILE [MODE]: one "--- nm-file" frame as the probe writes it
frame() {
    printf -- '--- nm-file %s %s %s mode=%s uid=0 ---\n' "$(wc -c <"$3" | tr -d ' ')" "$1" "$2" "${4:--rw-r--r--}"
    cat "$3"
    printf '\n'
}
if [ "${1:-}" = renewal ]; then
    gen_renewal
    echo "renewal fixtures written to $cases/renewal.in"
    exit 0
fi

# --- CAs --------------------------------------------------------------------
key root $RSA2048
openssl req -new -key root.key -subj '/O=nearmiss tests/CN=nearmiss Test Root CA' -out root.csr
openssl ca -batch -notext -config ca.cnf -selfsign -keyfile root.key -in root.csr -out root.pem \
    -startdate 20260101000000Z -enddate 20360101000000Z -extensions root 2>/dev/null
key inter -algorithm EC -pkeyopt ec_paramgen_curve:P-384
csr inter 'nearmiss Test Intermediate CA'
openssl ca -batch -notext -config ca.cnf -cert root.pem -keyfile root.key -in inter.csr \
    -out inter.pem -startdate 20260101000000Z -enddate 20310101000000Z -extensions inter 2>/dev/null

# --- TLS test servers (tests/unit/test-tls.c) ------------------------------
key server $P256
csr server localhost
leafext server 'DNS:localhost, IP:127.0.0.1, IP:::1'
sign server inter 20260601000000Z 20280601000000Z
key expired-server $P256
csr expired-server localhost
leafext expired-server 'DNS:localhost, IP:127.0.0.1, IP:::1'
sign expired-server inter 20260101000000Z 20261101000000Z

# --- parser fixtures: expiry relative to NOW --------------------------------
key exp3 $RSA2048
csr exp3 expiring-3.example.test
leafext exp3 'DNS:expiring-3.example.test, DNS:www.expiring-3.example.test, IP:192.0.2.10, IP:2001:db8::10'
sign exp3 inter 20260801000000Z 20261127120000Z                 # 3.5 days -> 3
leaf exp10 expiring-10.example.test inter 20260801000000Z 20261204000000Z $RSA2048 # 10
leaf exp20 expiring-20.example.test inter 20260801000000Z 20261214060000Z $RSA2048 # 20.25 -> 20
leaf exp60 expiring-60.example.test inter 20260801000000Z 20270123000000Z $RSA2048 # 60
leaf expired expired.example.test inter 20260101000000Z 20261120000000Z $RSA2048   # -4
leaf expired-hours expired-hours.example.test inter 20260101000000Z 20261123120000Z $RSA2048 # -0.5 -> -1
leaf notyet not-yet-valid.example.test inter 20261201000000Z 20271201000000Z $RSA2048

# --- parser fixtures: algorithms --------------------------------------------
key sha1 $RSA2048
csr sha1 sha1.example.test
leafext sha1 DNS:sha1.example.test
sign sha1 root 20260601000000Z 20270601000000Z -md sha1
leaf rsa1024 rsa1024.example.test inter 20260601000000Z 20270601000000Z -algorithm RSA -pkeyopt rsa_keygen_bits:1024
leaf ec256 ec256.example.test inter 20260601000000Z 20270601000000Z $P256
leaf p224 p224.example.test inter 20260601000000Z 20270601000000Z -algorithm EC -pkeyopt ec_paramgen_curve:P-224
leaf ed25519 ed25519.example.test inter 20260601000000Z 20270601000000Z -algorithm ED25519
key selfsigned $RSA2048
csr selfsigned selfsigned.example.test
leafext selfsigned DNS:selfsigned.example.test
sed -i '/authorityKeyIdentifier/d' selfsigned.ext
openssl ca -batch -notext -config ca.cnf -selfsign -keyfile selfsigned.key -in selfsigned.csr \
    -out selfsigned.pem -startdate 20260601000000Z -enddate 20270601000000Z \
    -extfile selfsigned.ext -extensions leaf 2>/dev/null
leaf chain chain.example.test inter 20260601000000Z 20270601000000Z $P256
leaf combo combo.example.test inter 20260601000000Z 20270601000000Z $P256

for n in root inter server expired-server exp3 exp10 exp20 exp60 expired expired-hours notyet \
    sha1 rsa1024 ec256 p224 ed25519 selfsigned chain combo; do
    openssl x509 -in "$n.pem" -out "$pki/$n.pem"
done
cat server.pem inter.pem >"$pki/server-chain.pem"
cat expired-server.pem inter.pem >"$pki/expired-server-chain.pem"
cp server.key "$pki/server.key"
cp expired-server.key "$pki/expired-server.key"
cp combo.key "$pki/combo.key"
# DER forms for the probe test's fake tree (make-tree.sh needs no openssl CLI).
openssl x509 -in exp60.pem -outform DER -out "$pki/exp60.der"
openssl pkey -in combo.key -outform DER -out "$pki/combo-key.der"

# --- probe outputs ------------------------------------------------------------
redact() { # what the probe's nm_redact sends for a PEM file
    NM_KEEP='(X509 |X[.]509 |TRUSTED )?CERTIFICATE|PKCS7|CMS|PKCS #7 SIGNED DATA'
    awk -v c="^-----BEGIN ($NM_KEEP)-----" '
        /^-----BEGIN /{ k = $0 ~ c; b = 1; print; next }
        /^-----END /{ b = 0; print; next }
        b && k'
}
p=$pki
{
    frame /etc/letsencrypt/archive/exp3/cert1.pem /etc/letsencrypt/live/exp3/cert.pem $p/exp3.pem
    frame /etc/ssl/exp10.crt /etc/ssl/exp10.crt $p/exp10.pem
    frame /etc/ssl/exp20.crt /etc/ssl/exp20.crt $p/exp20.pem
    frame /etc/ssl/exp60.crt /etc/ssl/exp60.crt $p/exp60.pem
    frame /etc/ssl/expired.crt /etc/ssl/expired.crt $p/expired.pem
    frame /etc/ssl/expired-hours.crt /etc/ssl/expired-hours.crt $p/expired-hours.pem
    frame /etc/ssl/notyet.crt /etc/ssl/notyet.crt $p/notyet.pem
} >"$cases/expiry.in"

{
    frame /etc/ssl/sha1.crt /etc/ssl/sha1.crt $p/sha1.pem
    frame /etc/ssl/rsa1024.crt /etc/ssl/rsa1024.crt $p/rsa1024.pem
    frame /etc/ssl/ec256.crt /etc/ssl/ec256.crt $p/ec256.pem
    frame /etc/ssl/p224.crt /etc/ssl/p224.crt $p/p224.pem
    frame /etc/ssl/ed25519.crt /etc/ssl/ed25519.crt $p/ed25519.pem
    frame /etc/ssl/selfsigned.crt /etc/ssl/selfsigned.crt $p/selfsigned.pem
    frame /etc/kubernetes/pki/ca.crt /etc/kubernetes/pki/ca.crt $p/root.pem
} >"$cases/algorithms.in"

# A chain file, the same leaf alone elsewhere, a symlink to the chain file
# (same realpath) and a byte copy of the leaf (same content): one item per
# certificate, every path listed.
cat $p/chain.pem $p/inter.pem >fullchain.pem
{
    frame /etc/letsencrypt/archive/chain/fullchain1.pem /etc/nginx/ssl/fullchain.pem fullchain.pem
    frame /etc/ssl/chain/cert.pem /etc/ssl/chain/cert.pem $p/chain.pem
    frame /etc/letsencrypt/archive/chain/fullchain1.pem /etc/letsencrypt/live/chain/fullchain.pem fullchain.pem
    frame /etc/pki/tls/certs/chain-copy.crt /etc/pki/tls/certs/chain-copy.crt $p/chain.pem
} >"$cases/chain-and-duplicates.in"

# Other encodings: DER, PKCS#7 (PEM and DER: the same two certificates),
# OpenSSL's TRUSTED CERTIFICATE, and PEM with CRLF line ends.
openssl x509 -in $p/exp60.pem -outform DER -out exp60.der
openssl crl2pkcs7 -nocrl -certfile fullchain.pem -out chain.p7b
openssl crl2pkcs7 -nocrl -certfile fullchain.pem -outform DER -out chain.p7d
openssl x509 -in $p/ec256.pem -trustout -addtrust serverAuth -out trusted.pem
sed 's/$/\r/' $p/rsa1024.pem >crlf.pem
{
    frame /etc/ssl/exp60.der /etc/ssl/exp60.der exp60.der
    frame /etc/ssl/chain.p7b /etc/ssl/chain.p7b chain.p7b
    frame /etc/ssl/chain.p7d /etc/ssl/chain.p7d chain.p7d
    frame /etc/ssl/trusted.pem /etc/ssl/trusted.pem trusted.pem
    frame /etc/ssl/crlf.pem /etc/ssl/crlf.pem crlf.pem
} >"$cases/formats.in"

# Certificate and key in one file (HAProxy style): as the probe sends it
# (key body stripped on the host) and as another feeder might (full key),
# one of them world-readable.  Plus a key-only file and files with no PEM.
redact <$p/combo.key >combo-redacted.key
cat $p/combo.pem combo-redacted.key >combo-redacted.pem
cat $p/ec256.pem $p/combo.key >combo-full.pem
redact <$p/combo.key >key-only.pem
printf 'ssl_protocols TLSv1.2 TLSv1.3;\n' >not-a-cert.crt
: >empty.pem
{
    frame /etc/haproxy/certs/combo.pem /etc/haproxy/certs/combo.pem combo-redacted.pem -rw-------
    frame /etc/ssl/combo-full.pem /etc/ssl/combo-full.pem combo-full.pem -rw-r--r--
    frame /etc/ssl/key-only.pem /etc/ssl/key-only.pem key-only.pem -rw-r--r--
    frame /etc/ssl/not-a-cert.crt /etc/ssl/not-a-cert.crt not-a-cert.crt
    frame /etc/ssl/empty.pem /etc/ssl/empty.pem empty.pem
} >"$cases/keys-and-no-certs.in"

# Broken content: a PEM cut in the middle, a chain whose second block is cut,
# random bytes, NUL bytes around a good certificate, only NULs.
head -c 700 $p/exp10.pem >truncated.pem
{ cat $p/ec256.pem; head -c 300 $p/inter.pem; } >chain-truncated.pem
printf 'garbage \001\002\003\377\376 -----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n\377\n' >garbage.bin
{ printf '\000\000\000'; cat $p/ed25519.pem; printf '\000\000'; } >nul-around.pem
head -c 64 /dev/zero >nul-only.pem
{
    frame /etc/ssl/truncated.pem /etc/ssl/truncated.pem truncated.pem
    frame /etc/ssl/chain-truncated.pem /etc/ssl/chain-truncated.pem chain-truncated.pem
    frame /etc/ssl/garbage.crt /etc/ssl/garbage.crt garbage.bin
    frame /etc/ssl/nul-around.pem /etc/ssl/nul-around.pem nul-around.pem
    frame /etc/ssl/nul-only.pem /etc/ssl/nul-only.pem nul-only.pem
} >"$cases/broken-content.in"

# Framing: stray shell noise around frames, percent-encoded paths with spaces,
# error frames, a malformed header, and last a frame whose size is larger
# than what follows (as when the output was cut): reported, nothing over-read.
{
    printf 'motd: welcome to host1\n'
    frame '/srv/my%20certs/100%25%20real.pem' '/srv/my%20certs/link%09name.pem' $p/exp60.pem
    printf '%s\n' '--- nm-file-error /etc/ssl/huge.pem too-big 5242880 ---'
    printf '%s\n' '--- nm-file-error /etc/ssl/secret%20dir/x.pem unreadable ---'
    printf '%s\n' '--- nm-file-error /etc/nginx/missing.pem not-found ---'
    printf '%s\n' '--- nm-file-error /etc/ssl/zz.pem too-many-files ---'
    printf '%s\n' '--- nm-file-error /etc/ssl/key.der not-a-certificate ---'
    printf '%s\n' '--- nm-file-error /etc/ssl/odd.pem some-new-reason ---'
    printf '%s\n' '--- nm-file twelve /a /b ---'
    printf '%s\n' '--- nm-file 10 /only-two-fields ---'
    frame /etc/ssl/ec256.crt /etc/ssl/ec256.crt $p/ec256.pem
    printf '%s\n' '--- nm-file 100000 /etc/ssl/cut.pem /etc/ssl/cut.pem mode=-rw-r--r-- uid=0 ---'
    head -c 200 $p/exp10.pem
} >"$cases/framing.in"

: >"$cases/empty.in"
printf 'just a shell that printed nothing useful\n' >"$cases/bad-now.in"
gen_renewal
echo "fixtures written to $pki and $cases"
