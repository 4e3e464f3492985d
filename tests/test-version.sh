#!/bin/sh
# test-version.sh BINARY — `nearmiss --version` names each library with the
# version loaded at run time: libssh2, OpenSSL, jansson, libxml2.
set -eu
out=$("$1" --version)
echo "$out"
echo "$out" | grep -Eq '^nearmiss [0-9]+\.[0-9]+\.[0-9]+$' || { echo "FAIL: first line"; exit 1; }
lib=$(echo "$out" | sed -n 2p)
for pat in 'libssh2 [0-9]+\.[0-9]+' 'OpenSSL [0-9]+\.[0-9]+' 'jansson [0-9]+\.[0-9]+' 'libxml2 [0-9]+\.[0-9]+\.[0-9]+'; do
    echo "$lib" | grep -Eq "$pat" || { echo "FAIL: no \"$pat\" in: $lib"; exit 1; }
done
echo "PASS"
