#!/usr/bin/env bash
# test-install.sh MESON BUILD_DIR SOURCE_DIR PREFIX BINDIR DATADIR — which
# checks an installed nearmiss reads (include/nearmiss/install.h).  Installs
# the build with `meson install --destdir` into a temporary directory and
# runs the installed binary: it reads DESTDIR/PREFIX/DATADIR/nearmiss/checks,
# never the source tree's checks/ (which still exists beside it), not even
# when its own copy is gone; the build directory's binary reads the source
# tree's; NEARMISS_CHECKS_DIR overrides both.
# Exit 0 pass, 1 fail.
set -euo pipefail
[[ $# -eq 6 ]] || { echo "usage: $0 MESON BUILD_DIR SOURCE_DIR PREFIX BINDIR DATADIR" >&2; exit 1; }
MESON=$1 BUILD=$2 SRC=$3 PREFIX=$4 BINDIR=$5 DATADIR=$6
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
T=$(mktemp -d "${TMPDIR:-/tmp}/nm-install-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
unset NEARMISS_CHECKS_DIR

if ! "$MESON" install -C "$BUILD" --destdir "$T/root" --no-rebuild --quiet >"$T/install.log" 2>&1; then
    sed 's/^/# /' "$T/install.log"
    not_ok "meson install --destdir"
    echo "1..$n"
    exit 1
fi
ok "meson install --destdir $T/root"
BIN=$T/root$PREFIX/$BINDIR/nearmiss
SHARE=$(realpath -m "$T/root$PREFIX/$DATADIR/nearmiss/checks")
[[ -x $BIN && -d $SHARE ]] && ok "installed: $BINDIR/nearmiss and $DATADIR/nearmiss/checks" ||
    not_ok "installed: $BIN and $SHARE"

# origin CHECKS_SHOW_OUTPUT: the "file:" line of `checks show`
file_of() { sed -n 's/^  file: //p'; }
f=$("$BIN" checks show disk-space 2>&1 | file_of) || :
[[ $f == "$SHARE/disk-space.json" ]] && ok "installed binary reads $DATADIR/nearmiss/checks ($f)" ||
    not_ok "installed binary reads $SHARE/disk-space.json, not $f"
want=$(find "$SRC/checks" -maxdepth 1 -name '*.json' | wc -l)
got=$("$BIN" checks list | tail -n +2 | wc -l)
[[ $got == "$want" ]] && ok "checks list: all $want installed checks" || not_ok "checks list: $got of $want"

# A check only the installed copy has shows; so the listing is the install's.
jq '.id = "installed-only" | .title = "only in the installed copy"' "$SHARE/disk-space.json" >"$SHARE/installed-only.json"
"$BIN" checks list | grep -q '^installed-only ' && ok "checks list shows a check only the installed copy has" ||
    not_ok "checks list does not show installed-only"
"$BUILD/nearmiss" checks list | grep -q '^installed-only ' && not_ok "the build tree's binary read the installed copy" ||
    ok "the build tree's binary does not see it"
f=$("$BUILD/nearmiss" checks show disk-space | file_of)
[[ $f == "$SRC/checks/disk-space.json" ]] && ok "build tree's binary reads the source tree's checks/" ||
    not_ok "build tree's binary reads $f"

# Its own copy gone: an error naming the installed path, never the source tree.
mv "$SHARE" "$SHARE.gone"
rc=0
out=$("$BIN" checks list 2>&1) || rc=$?
# (A real install of nearmiss on this machine is what it may read then.)
REAL=$PREFIX/$DATADIR/nearmiss/checks
if [[ -d $REAL ]]; then
    f=$("$BIN" checks show disk-space 2>&1 | file_of) || :
    [[ $f == "$REAL/"* ]] && ok "without its checks, the installed binary reads $REAL (installed here)" ||
        not_ok "without its checks, the installed binary read $f"
elif [[ $rc == 1 && $out != *"$SRC/checks"* && $out == *"$REAL"* ]]; then
    ok "without its checks, the installed binary fails naming $REAL (exit 1)"
else
    echo "# exit $rc: $out" | head -c 600
    not_ok "without its checks, the installed binary must fail, not read the source tree"
fi
# A copy of the binary outside a bin directory does not look around it.
mkdir -p "$T/loose/checks"
cp "$BIN" "$T/loose/nearmiss"
cp "$SHARE.gone/disk-space.json" "$T/loose/checks/"
rc=0
out=$("$T/loose/nearmiss" checks list 2>&1) || rc=$?
f=$("$T/loose/nearmiss" checks show disk-space 2>/dev/null | file_of) || :
[[ $f != "$T/loose/"* && $f != "$SRC/"* && ($rc == 1 || -d $REAL) ]] &&
    ok "a loose copy ignores a checks/ folder beside it and the source tree" ||
    not_ok "a loose copy read $f: exit $rc: $out"
mv "$SHARE.gone" "$SHARE"

f=$(NEARMISS_CHECKS_DIR=$T/loose/checks "$BIN" checks show disk-space | file_of)
[[ $f == "$T/loose/checks/disk-space.json" ]] && ok "NEARMISS_CHECKS_DIR overrides" ||
    not_ok "NEARMISS_CHECKS_DIR: read $f"

echo "1..$n"
((failed == 0)) || { echo "FAIL: $failed of $n checks failed"; exit 1; }
echo "PASS: $n checks"
