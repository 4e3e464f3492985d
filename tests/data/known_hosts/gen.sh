#!/bin/sh
# Regenerates the known_hosts fixtures with the local OpenSSH (see README).
# The unit test reads keys from the .pub files and fingerprints from the .fp
# files, so new keys need no test change; line numbers in known_hosts do.
set -eu
cd "$(dirname "$0")"
rm -f -- *.pub *.fp known_hosts known_hosts.hashed known_hosts.hashed.old

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen() { # type bits name
    ssh-keygen -q -t "$1" -b "$2" -N '' -C "nearmiss-test-$3" -f "$tmp/$3"
    cp "$tmp/$3.pub" "$3.pub"     # private halves are not kept
    ssh-keygen -lf "$3.pub" > "$3.fp"
}
gen ed25519 256 host_ed25519
gen ecdsa 256 host_ecdsa
gen rsa 3072 host_rsa
gen ed25519 256 revoked_ed25519
gen ed25519 256 ca_ed25519

key() { cut -d' ' -f1,2 "$1.pub"; }
b64() { cut -d' ' -f2 "$1.pub"; }
ED=$(key host_ed25519)
EC=$(key host_ecdsa)
RSA=$(key host_rsa)
REV=$(key revoked_ed25519)
CA=$(key ca_ed25519)

# Valid lines first: this part is also the input of the hashed copy.
{
    echo "# nearmiss known_hosts fixture, made by gen.sh (see README)"
    echo ""
    echo "alpha.example.com,192.0.2.10 $ED trailing comment"
    echo "alpha.example.com $EC"
    echo "alpha.example.com	$RSA  two  spaces and a tab before the key"
    echo "127.0.0.1 $ED"
    echo "[127.0.0.1]:2222 $EC"
    echo "[beta.example.com]:22 $ED"
    echo "*.web.example.com,!secret.web.example.com $ED"
    echo "db?.example.com $RSA"
    echo "Gamma.Example.COM $ED"
    echo "delta.example.com $REV"
    echo "@revoked * $REV"
    echo "@cert-authority *.example.com $CA"
    echo "   	# indented comment"
} > "$tmp/valid"

cp "$tmp/valid" known_hosts.hashed
ssh-keygen -H -f known_hosts.hashed 2> "$tmp/hash.log"
rm -f known_hosts.hashed.old

# Then the malformed lines, each of which must be skipped and counted.
{
    cat "$tmp/valid"
    echo "bad1.example.com ssh-ed25519 AAAA!!!!"
    echo "bad2.example.com ssh-rsa $(b64 host_ed25519)"
    echo "bad3.example.com ssh-ed25519"
    echo "bad4.example.com"
    echo "@bogus bad5.example.com $ED"
    echo "bad6.example.com 1024 35 1234567890123"
    echo "|1|bm90IGEgc2FsdA==|AAAA $ED"
    echo "@revoked @revoked bad8.example.com $REV"
    echo "bad9.example.com ssh-ed25519 AAAA=AAA"
    echo "bad10.example.com # $ED"
    printf 'last.example.com %s' "$ED"      # no final newline
} > known_hosts
