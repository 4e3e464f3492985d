#!/usr/bin/env bash
# test-install.sh MESON BUILD_DIR SOURCE_DIR PREFIX BINDIR DATADIR MANDIR
# [UNITDIR BASHDIR ZSHDIR] — the installed layout, and which checks an
# installed nearmiss reads (include/nearmiss/install.h).  Installs
# the build with `meson install --destdir` into a temporary directory and
# runs the installed binary: it reads DESTDIR/PREFIX/DATADIR/nearmiss/checks,
# never the source tree's checks/ (which still exists beside it), not even
# when its own copy is gone; the build directory's binary reads the source
# tree's; NEARMISS_CHECKS_DIR overrides both.  Everything else lands in its
# FHS place under PREFIX (UNITDIR, BASHDIR, ZSHDIR: the meson options, empty
# for their defaults): the manual where man finds it, the bash completion
# where bash-completion's loader finds it, the zsh function in site-functions,
# the example inventories under the documentation, the systemd units where
# systemd looks for a PREFIX install, and `systemd-analyze verify` finds no
# fault in them (their binary and Documentation= man page the installed ones).
# Exit 0 pass, 1 fail.
set -euo pipefail
[[ $# -eq 7 || $# -eq 10 ]] || {
    echo "usage: $0 MESON BUILD_DIR SOURCE_DIR PREFIX BINDIR DATADIR MANDIR [UNITDIR BASHDIR ZSHDIR]" >&2
    exit 1
}
MESON=$1 BUILD=$2 SRC=$3 PREFIX=$4 BINDIR=$5 DATADIR=$6 MANDIR=$7
UNITDIR=${8:-} BASHDIR=${9:-} ZSHDIR=${10:-}
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

# The rest of the layout.
R=$T/root
under() { [[ $1 == /* ]] && echo "$R$1" || echo "$R$PREFIX/$1"; }
MAN=$(under "$MANDIR")
[[ $UNITDIR == "" ]] && UNITDIR=$PREFIX/lib/systemd/system
[[ $BASHDIR == "" ]] && BASHDIR=$DATADIR/bash-completion/completions
[[ $ZSHDIR == "" ]] && ZSHDIR=$DATADIR/zsh/site-functions
for f in "$MAN/man1/nearmiss.1" "$MAN/man5/nearmiss-checks.5" \
    "$(under "$DATADIR")/doc/nearmiss/examples/inventory/example.json" \
    "$(under "$DATADIR")/doc/nearmiss/examples/inventory/example-ansible.json" \
    "$(under "$BASHDIR")/nearmiss" "$(under "$ZSHDIR")/_nearmiss" \
    "$(under "$UNITDIR")/nearmiss.service" "$(under "$UNITDIR")/nearmiss.timer"; do
    [[ -f $f && ! -x $f ]] && ok "installed ${f#"$R"} (mode $(stat -c %a "$f"))" || not_ok "not installed (or executable): ${f#"$R"}"
done
cmp -s "$(under "$DATADIR")/doc/nearmiss/examples/inventory/example.json" "$SRC/inventory/example.json" &&
    ok "the example inventory is the source tree's" || not_ok "the installed example inventory differs"
# man finds both pages in the installed manual tree.
if command -v man >/dev/null; then
    p1=$(man -M "$MAN" -w nearmiss 2>&1) || :
    p5=$(man -M "$MAN" -w 5 nearmiss-checks 2>&1) || :
    [[ $p1 == "$MAN/man1/nearmiss.1"* && $p5 == "$MAN/man5/nearmiss-checks.5"* ]] &&
        ok "man -M MANDIR finds nearmiss(1) and nearmiss-checks(5)" || not_ok "man -w: $p1 / $p5"
    grep -q "$PREFIX/$DATADIR/nearmiss/checks" "$MAN/man1/nearmiss.1" &&
        ok "nearmiss(1) names the installed checks directory $PREFIX/$DATADIR/nearmiss/checks" ||
        not_ok "nearmiss(1) does not name $PREFIX/$DATADIR/nearmiss/checks"
fi
# bash-completion's own loader (XDG_DATA_DIRS) finds and loads the file.
if [[ -f /usr/share/bash-completion/bash_completion ]]; then
    out=$(XDG_DATA_DIRS=$(under "$DATADIR") bash --norc --noprofile -c '
        source /usr/share/bash-completion/bash_completion
        __load_completion nearmiss && complete -p nearmiss' 2>&1) || :
    [[ $BASHDIR != "$DATADIR/bash-completion/completions" || $out == "complete -F _nearmiss nearmiss" ]] &&
        ok "bash-completion loads the installed completion on demand ($out)" ||
        not_ok "bash-completion did not load it: $out"
else
    not_ok "bash-completion is not installed (scripts/deps.sh installs it)"
fi
if command -v zsh >/dev/null; then
    out=$(zsh -f -c "fpath=($(under "$ZSHDIR") \$fpath); autoload -Uz _nearmiss; whence -w _nearmiss" 2>&1) || :
    [[ $out == "_nearmiss: function" ]] && ok "zsh autoloads _nearmiss from site-functions" ||
        not_ok "zsh: $out"
fi
# The units: paths of this install, hardening, and systemd's own verdict.
SVC=$(under "$UNITDIR")/nearmiss.service TMR=$(under "$UNITDIR")/nearmiss.timer
grep -q "^ExecStart=$PREFIX/$BINDIR/nearmiss scan -q" "$SVC" && ok "nearmiss.service runs $PREFIX/$BINDIR/nearmiss scan -q" ||
    not_ok "nearmiss.service ExecStart: $(grep ^ExecStart "$SVC")"
for kv in Type=oneshot DynamicUser=yes StateDirectory=nearmiss ProtectSystem=strict ProtectHome=yes \
    PrivateTmp=yes NoNewPrivileges=yes 'CapabilityBoundingSet=' 'LoadCredential=identity:'; do
    grep -q "^$kv" "$SVC" && ok "nearmiss.service: $kv" || not_ok "nearmiss.service lacks $kv"
done
for kv in 'OnCalendar=' 'RandomizedDelaySec=' Persistent=true WantedBy=timers.target; do
    grep -q "^$kv" "$TMR" && ok "nearmiss.timer: $kv" || not_ok "nearmiss.timer lacks $kv"
done
if command -v systemd-analyze >/dev/null; then
    # verify wants the ExecStart binary and the Documentation= page to exist:
    # the installed ones, at their DESTDIR paths.
    mkdir -p "$T/units"
    sed "s|$PREFIX/$BINDIR/nearmiss|$R$PREFIX/$BINDIR/nearmiss|" "$SVC" >"$T/units/nearmiss.service"
    cp "$TMR" "$T/units/nearmiss.timer"
    out=$(cd "$T/units" && MANPATH=$MAN systemd-analyze verify ./nearmiss.service ./nearmiss.timer 2>&1) && rc=0 || rc=$?
    [[ $rc == 0 && -z $out ]] && ok "systemd-analyze verify: no complaint about the service or the timer" ||
        { echo "$out" | sed 's/^/# /'; not_ok "systemd-analyze verify (exit $rc)"; }
    out=$(cd "$T/units" && systemd-analyze security --offline=true ./nearmiss.service 2>&1) || :
    level=$(echo "$out" | sed -n 's/.*Overall exposure level for nearmiss.service: \([0-9.]*\).*/\1/p')
    [[ -n $level ]] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' &&
        ok "systemd-analyze security: exposure $level (at most 2.0)" ||
        { echo "$out" | tail -5 | sed 's/^/# /'; not_ok "systemd-analyze security: exposure ${level:-unknown}, want at most 2.0"; }
else
    not_ok "systemd-analyze is not installed (scripts/deps.sh installs systemd)"
fi

echo "1..$n"
((failed == 0)) || { echo "FAIL: $failed of $n checks failed"; exit 1; }
echo "PASS: $n checks"
