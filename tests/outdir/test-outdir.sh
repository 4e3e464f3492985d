#!/usr/bin/env bash
# test-outdir.sh NEARMISS CHECKS_DIR TCP_HOLD — the report directory, end to
# end with the real binary: checked before any host is contacted, modes
# whatever the umask, one run at a time (flock; a second run exits 1 at once),
# kill -9 at several moments leaves the earlier reports whole, a full disk
# publishes nothing, stale temporaries swept, empty inventories refused,
# --save-scripts confined to its directory.  Hosts are either a closed port
# (unreachable at once) or TCP_HOLD, a peer that accepts and stays silent.
# The full-disk case needs root (a small tmpfs); without it that case is
# reported as skipped, the rest still runs.
set -uo pipefail
BIN=$(realpath -- "$1")
CHECKS=$(realpath -- "$2")
HOLD=$(realpath -- "$3")
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - # SKIP $*"; }
check() { # check DESC CMD...
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-outdir.XXXXXX")
HOLD_PID=
MOUNTED=
cleanup() {
    [[ -n $HOLD_PID ]] && kill "$HOLD_PID" 2>/dev/null
    [[ -n $MOUNTED ]] && umount "$MOUNTED" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT
cd "$DIR" || exit 1
: >kh
printf '{"hosts":[{"name":"down","address":"127.0.0.1","port":1}]}\n' >down.json
printf '{"hosts":[]}\n' >empty.json
printf '{"_meta":{"hostvars":{}},"all":{"children":["ungrouped"]},"ungrouped":{"hosts":[]}}\n' \
    >ansible-empty.json

"$HOLD" hold.port hold.log 300 &
HOLD_PID=$!
for _ in $(seq 100); do [[ -s hold.port ]] && break; sleep 0.1; done
PORT=$(cat hold.port 2>/dev/null)
[[ -n $PORT ]] || { echo "Bail out! tcp-hold did not start"; exit 1; }
printf '{"hosts":[{"name":"slow","address":"127.0.0.1","port":%s}]}\n' "$PORT" >slow.json
conns() { if [[ -f hold.log ]]; then wc -l <hold.log; else echo 0; fi; }

scan() { # scan OUT INVENTORY [ARGS...]: exit status in RC, stderr in err.txt
    local out=$1 inv=$2
    shift 2
    RC=0
    "$BIN" scan -q -c "$CHECKS" --known-hosts "$DIR/kh" -i "$inv" -o "$out" --timeout 60 "$@" \
        >"$DIR/out.txt" 2>"$DIR/err.txt" || RC=$?
}
valid_report() { jq -e '.schema == "nearmiss.report/1"' "$1" >/dev/null 2>&1; }
temps_in() { find "$1" -maxdepth 1 -name '*.nmtmp-*' | wc -l; }

# --- -o must be a usable directory, found out before any host is contacted -------
echo notadir >plain
scan plain slow.json
check "-o naming a regular file: exit 1" test "$RC" = 1
check "-o naming a regular file: says so" grep -q "not a directory" err.txt
check "-o naming a regular file: no host contacted" test "$(conns)" = 0
check "-o naming a regular file: the file is untouched" grep -qx notadir plain
scan plain/below slow.json
check "-o below a regular file: exit 1, no host contacted" test "$RC:$(conns)" = "1:0"
mkdir ro && chmod 0500 ro
if [[ $(id -u) != 0 ]]; then
    scan ro slow.json
    check "-o not writable: exit 1, no host contacted" test "$RC:$(conns)" = "1:0"
else
    skip "-o not writable (root writes anywhere)"
fi

# --- modes: 0600 files, 0700 created directory, whatever the umask ---------------
(umask 000 && "$BIN" scan -q -c "$CHECKS" --known-hosts kh -i down.json -o new/reports \
    --format json,html,junit,prom >/dev/null 2>&1)
check "new report directory (and its parent) created 0700 under umask 000" \
    test "$(stat -c %a new/reports):$(stat -c %a new)" = "700:700"
modes=$(stat -c %a new/reports/latest.json new/reports/nearmiss-*.json new/reports/report.html \
    new/reports/junit.xml new/reports/nearmiss.prom | sort -u | tr '\n' ' ')
check "every report file 0600 under umask 000 (got: $modes)" test "$modes" = "600 "
mkdir -m 0755 shared
(umask 000 && "$BIN" scan -q -c "$CHECKS" --known-hosts kh -i down.json -o shared \
    --file-mode 0640 >/dev/null 2>&1)
check "--file-mode 0640: files 0640, an existing directory keeps its mode" \
    test "$(stat -c %a shared/latest.json):$(stat -c %a shared)" = "640:755"
"$BIN" scan -q -c "$CHECKS" --known-hosts kh -i down.json -o shared --file-mode 0755 \
    >/dev/null 2>err.txt
check "--file-mode with execute bits refused" test $? = 1
(umask 000 && "$BIN" report -q -f html,prom -o rendered new/reports/latest.json >/dev/null 2>&1)
check "nearmiss report -o DIR: directory 0700, files 0600" \
    test "$(stat -c %a rendered rendered/report.html rendered/nearmiss.prom | tr '\n' ' ')" = \
    "700 600 600 "
(umask 000 && "$BIN" report -q -f html -o one/page.html new/reports/latest.json >/dev/null 2>&1)
check "nearmiss report -o FILE: 0600" test "$(stat -c %a one/page.html)" = 600

# --- empty inventories and empty selections: exit 1, nothing overwritten ---------
mkdir keep
scan keep down.json
before=$(sha256sum keep/latest.json)
for inv in empty.json ansible-empty.json; do
    scan keep "$inv"
    check "$inv: exit 1" test "$RC" = 1
    check "$inv: says the inventory has no hosts" grep -q "no hosts" err.txt
done
scan keep down.json --hosts 'nomatch*'
check "--hosts selecting nothing: exit 1" test "$RC" = 1
scan keep down.json --role nosuchrole
check "--role selecting nothing: exit 1" test "$RC" = 1
check "the last report is untouched by all four" test "$(sha256sum keep/latest.json)" = "$before"
scan keep empty.json --allow-empty
check "--allow-empty: exit 0 and an empty report" test "$RC" = 0
check "--allow-empty: the report says 0 hosts" jq -e '.summary.hosts == 0' keep/latest.json

# --- one run at a time ------------------------------------------------------------
mkdir locked
scan locked down.json --format json,html
good_json=$(sha256sum <locked/latest.json)
good_html=$(sha256sum <locked/report.html)
"$BIN" scan -q -c "$CHECKS" --known-hosts kh -i slow.json -o locked --timeout 120 \
    --format json,html >a.out 2>a.err &
A=$!
for _ in $(seq 200); do [[ $(conns) -ge 1 ]] && break; sleep 0.1; done
check "first scan is connected to the silent host" test "$(conns)" = 1
scan locked slow.json
check "second scan into the held directory: exit 1" test "$RC" = 1
check "second scan names the holder (pid $A)" grep -q "another nearmiss run (pid $A)" err.txt
check "second scan contacted no host" test "$(conns)" = 1
check "first scan still running" kill -0 "$A"
kill -9 "$A"
wait "$A" 2>/dev/null
check "kill -9 mid-scan: latest.json as before" test "$(sha256sum <locked/latest.json)" = "$good_json"
check "kill -9 mid-scan: report.html as before" test "$(sha256sum <locked/report.html)" = "$good_html"
scan locked down.json
check "after kill -9 the directory is free again (exit 2: host down)" test "$RC" = 2

# kill -9 at many moments of whole runs (start, scan, render, publish): each
# time latest.json parses, report.html exists, and nothing of a half run shows.
bad=0
for delay in 0 0.002 0.005 0.01 0.015 0.02 0.03 0.04 0.06 0.08 0.1 0.13 0.16 0.2 0.3; do
    "$BIN" scan -q -c "$CHECKS" --known-hosts kh -i down.json \
        -o locked --format json,html,junit,prom >/dev/null 2>&1 &
    K=$!
    sleep "$delay"
    kill -9 "$K" 2>/dev/null
    wait "$K" 2>/dev/null
    if ! valid_report locked/latest.json || [[ ! -s locked/report.html ]]; then
        echo "# after kill -9 at ${delay}s: latest.json or report.html unusable"
        bad=$((bad + 1))
    fi
done
check "kill -9 at 15 moments: latest.json always valid, report.html always there" test "$bad" = 0
scan locked down.json
check "next run after the kills succeeds" test "$RC" = 2
check "and leaves no temporary behind" test "$(temps_in locked)" = 0

# --- stale temporaries of earlier runs ---------------------------------------------
mkdir stale
scan stale down.json
sh -c 'exit 0' &
wait $!
gone=$!
echo x >"stale/.latest.json.nmtmp-$gone-abcdef"
echo x >"stale/.report.html.nmtmp-$$-abcdef"
echo x >"stale/.junit.xml.nmtmp-$$-qwerty"
touch -d '3 hours ago' "stale/.junit.xml.nmtmp-$$-qwerty"
echo x >stale/report.html.tmp.Ab3dEf
touch -d '3 hours ago' stale/report.html.tmp.Ab3dEf
echo x >stale/my-notes.tmp.txt
touch -d '3 hours ago' stale/my-notes.tmp.txt
scan stale down.json
check "a dead writer's temporary removed" test ! -e "stale/.latest.json.nmtmp-$gone-abcdef"
check "a live writer's recent temporary kept" test -e "stale/.report.html.nmtmp-$$-abcdef"
check "a temporary older than an hour removed" test ! -e "stale/.junit.xml.nmtmp-$$-qwerty"
check "an old temporary of the older naming removed" test ! -e stale/report.html.tmp.Ab3dEf
check "a file that is not nearmiss's kept" test -e stale/my-notes.tmp.txt

# --- --save-scripts: one safe mapping, failures reported ---------------------------
mkdir -p deep/a/scripts
printf '{"hosts":[{"name":"../../x","address":"127.0.0.1","port":1},
  {"name":"web1","address":"127.0.0.1","port":1}]}\n' >evil.json
(cd deep/a && scan "$DIR/saved" "$DIR/evil.json" --save-scripts scripts)
check "host ../../x: script saved inside the directory" test -s "deep/a/scripts/%2E.%2F..%2Fx.sh"
check "host ../../x: nothing written outside it" \
    test "$(find "$DIR" -name 'x.sh' | wc -l):$(find deep -type f | wc -l)" = "0:2"
rm -f deep/a/scripts/web1.sh
mkdir deep/a/scripts/web1.sh && echo keep >deep/a/scripts/web1.sh/f
(cd deep/a && scan "$DIR/saved" "$DIR/evil.json" --save-scripts scripts)
check "a failed save is reported on stderr" grep -q -- "--save-scripts: .*web1.sh" err.txt
check "and in the host's scan record" \
    jq -e '.hosts[] | select(.name == "web1") | .scan.script_save_error | test("web1.sh")' \
    saved/latest.json
scan saved evil.json --save-scripts "$DIR/plain"
check "--save-scripts naming a file: exit 1 before any scan" test "$RC" = 1

# --- a full disk: the JSON would fit, the HTML does not -> nothing published -------
# The run also needs room for its history (OUT/history.sqlite's WAL) before it
# writes, so the right amount of free space is found by trying: from one page
# up, until a run gets past the history and the timestamped JSON but not the
# HTML.  Every run that fails on the way must leave the reports as they were.
if [[ $(id -u) == 0 ]] && mkdir full && mount -t tmpfs -o size=1m tmpfs full 2>/dev/null; then
    MOUNTED=$DIR/full
    scan full down.json --format json,html
    first_rc=$RC
    old_runs=$(cd full && sha256sum nearmiss-*.json)
    old_json=$(sha256sum <full/latest.json)
    old_html=$(sha256sum <full/report.html)
    hpages=$((($(stat -c %s full/report.html) + 4095) / 4096))
    # A new second, so a run's timestamped file would have a new name.
    sleep 1.1
    found=0 touched=0 tries=0
    for room in $(seq 1 $((hpages + 48))); do
        rm -f full/filler
        free_b=$(($(stat -f -c '%a * %S' full)))
        ((free_b > room * 4096)) || break
        head -c $((free_b - room * 4096)) /dev/zero >full/filler 2>/dev/null
        scan full down.json --format json,html
        tries=$((tries + 1))
        if [[ $RC != 1 || $(sha256sum <full/latest.json) != "$old_json" ||
            $(sha256sum <full/report.html) != "$old_html" ||
            $(cd full && sha256sum nearmiss-*.json) != "$old_runs" || $(temps_in full) != 0 ]]; then
            touched=1
            echo "# room $room pages: exit $RC, the reports changed or a temporary was left"
            sed 's/^/#   /' err.txt
            break
        fi
        if grep -qi "no space" err.txt && grep -q "report.html" err.txt; then
            found=1
            break
        fi
    done
    check "full disk: $tries runs that failed (history, JSON, HTML) left the reports as they were" \
        test "$first_rc:$touched" = "2:0"
    check "full disk: a run got past the JSON and failed on the HTML (exit 1, no space)" \
        test "$found" = 1
    rm -f full/filler
    scan full down.json --format json,html
    check "space back: the run publishes (exit 2: host down)" test "$RC" = 2
    check "space back: a new latest.json and a second timestamped report" \
        test "$(sha256sum <full/latest.json):$(ls full/nearmiss-*.json | wc -l)" != "$old_json:1"
    check "space back: report files 0600, no temporary" \
        test "$(stat -c %a full/latest.json full/report.html | sort -u):$(temps_in full)" = "600:0"
    umount full && MOUNTED=
else
    skip "full disk: needs root to mount a small tmpfs"
fi

echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
((failed == 0))
