#!/bin/sh
# test-version.sh BINARY — `nearmiss --version` names each library with the
# version loaded at run time: libssh2, OpenSSL, jansson, libxml2; and a
# start loads no libcurl (it is opened only to deliver over HTTP: its 26
# dependencies cost every start about 5 ms).
set -eu
out=$("$1" --version)
echo "$out"
echo "$out" | grep -Eq '^nearmiss [0-9]+\.[0-9]+\.[0-9]+$' || { echo "FAIL: first line"; exit 1; }
lib=$(echo "$out" | sed -n 2p)
for pat in 'libssh2 [0-9]+\.[0-9]+' 'OpenSSL [0-9]+\.[0-9]+' 'jansson [0-9]+\.[0-9]+' 'libxml2 [0-9]+\.[0-9]+\.[0-9]+'; do
    echo "$lib" | grep -Eq "$pat" || { echo "FAIL: no \"$pat\" in: $lib"; exit 1; }
done
loaded=$(LD_DEBUG=libs "$1" --version 2>&1 >/dev/null | grep -c 'calling init:.*libcurl') || :
[ "$loaded" = 0 ] || { echo "FAIL: --version loaded libcurl"; exit 1; }
LD_DEBUG=libs "$1" --version 2>&1 >/dev/null | grep -q 'calling init:.*libssh2' ||
    { echo "FAIL: LD_DEBUG=libs shows no library being loaded: the check above proves nothing"; exit 1; }
echo "PASS"
