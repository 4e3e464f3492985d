#!/usr/bin/env bash
# shellcheck disable=SC2015,SC2002 # SC2002: cat makes a pipe, not a file, on purpose
# test-report-cmd.sh BINARY REPORT — `nearmiss report` of a stored report
# file reads its hosts from the file one at a time (keeping only the first
# ones that fit NEARMISS_SPOOL_MEMORY parsed); standard input is copied to
# an unnamed temporary file and read the same way, in as little memory.  All
# of them must give the same bytes, and a broken file must be refused naming
# the file and the line.  REPORT is a real captured report
# (tests/data/reports/fleet-full.json).
set -euo pipefail
BIN=$1 SRC=$2
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-report-cmd.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
fails=0 n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
cp "$SRC" "$DIR/run.json"
hosts=$(jq '.hosts | length' "$DIR/run.json")

# The reference: standard input.
"$BIN" report -q -f html,junit,prom -o "$DIR/stdin" - <"$DIR/run.json"
same_as_stdin() { # DIR
    local f
    for f in report.html junit.xml nearmiss.prom; do
        cmp -s "$DIR/stdin/$f" "$1/$f" || { echo "# $f differs"; return 1; }
    done
}
for mem in 0 1 8 4096; do
    NEARMISS_SPOOL_MEMORY=$mem "$BIN" report -q -f html,junit,prom -o "$DIR/m$mem" "$DIR/run.json"
    same_as_stdin "$DIR/m$mem" &&
        ok "a file read host by host (NEARMISS_SPOOL_MEMORY=$mem) gives the bytes of the file held whole ($hosts hosts)" ||
        not_ok "NEARMISS_SPOOL_MEMORY=$mem differs"
done
for f in html:report.html junit:junit.xml prom:nearmiss.prom; do
    NEARMISS_SPOOL_MEMORY=0 "$BIN" report -f "${f%%:*}" -o - "$DIR/run.json" >"$DIR/one"
    cmp -s "$DIR/one" "$DIR/stdin/${f#*:}" && ok "-o - ${f%%:*}: the same bytes on standard output" ||
        not_ok "-o - ${f%%:*} differs"
done
NEARMISS_SPOOL_MEMORY=0 "$BIN" report -q -f html "$DIR/run.json"
cmp -s "$DIR/run.html" "$DIR/stdin/report.html" && ok "beside the input (run.html): the same bytes" ||
    not_ok "run.html differs"

refused() { # DESC PATTERN FILE
    local RC=0
    rm -rf "$DIR/out"
    "$BIN" report -f html -o "$DIR/out" "$3" >"$DIR/log" 2>&1 || RC=$?
    if [[ $RC == 1 && ! -e $DIR/out/report.html ]] && grep -q -- "$2" "$DIR/log"; then
        ok "refused: $1"
    else
        not_ok "not refused ($RC): $1"; sed 's/^/# /' "$DIR/log"
    fi
}
head -c -300 "$DIR/run.json" >"$DIR/cut.json"
refused "a file cut short, naming the file and its line" "cut.json:[0-9][0-9]*: " "$DIR/cut.json"
# A broken host deep inside: the line is the file's, not the host's own.
python3 - "$DIR/run.json" "$DIR/badhost.json" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
text = json.dumps(rep, indent=2)
# the last host's "name" member loses its colon
i = text.rfind('"name": ')
open(sys.argv[2], "w").write(text[:i] + '"name" ' + text[i + 8:])
print(text[:i].count("\n") + 1, file=open(sys.argv[2] + ".line", "w"))
PY
refused "a malformed host at the file's own line" "badhost.json:$(cat "$DIR/badhost.json.line"): hosts\[" "$DIR/badhost.json"
jq '.hosts = {}' "$DIR/run.json" >"$DIR/nohosts.json"
refused "\"hosts\" not an array" '"hosts" is not an array' "$DIR/nohosts.json"
printf '{"schema":"nearmiss.report/1","hosts":[],"schema":"x"}' >"$DIR/dup.json"
refused "a duplicate top-level member" 'duplicate member "schema"' "$DIR/dup.json"
printf '{"schema":"nearmiss.report/1","hosts":[]} {}' >"$DIR/trail.json"
refused "data after the report" "data after the report" "$DIR/trail.json"
# Standard input from a pipe (no file behind it), read host by host.
cat "$DIR/run.json" | NEARMISS_SPOOL_MEMORY=0 "$BIN" report -q -f html,junit,prom -o "$DIR/pipe" -
same_as_stdin "$DIR/pipe" && ok "standard input from a pipe: the same bytes" || not_ok "a pipe differs"
RC=0; head -c -300 "$DIR/run.json" | "$BIN" report -f html -o "$DIR/out" - >"$DIR/log" 2>&1 || RC=$?
[[ $RC == 1 ]] && grep -q "standard input:[0-9][0-9]*: " "$DIR/log" &&
    ok "standard input cut short: refused, naming standard input and its line" ||
    { not_ok "standard input cut short: exit $RC"; sed 's/^/# /' "$DIR/log"; }

# A report of 1 120 hosts (about 20 MB) on standard input takes no more
# memory than the same file read by name: it is not held whole (that took
# several times the file's size), and it leaves nothing in $TMPDIR.
jq -c '.hosts as $h | .hosts = [range(40) as $k | $h[] | .name = "\(.name)-\($k)"]' "$DIR/run.json" >"$DIR/big.json"
mkdir "$DIR/tmp"
peak() { # OUT ARGS...: peak RSS (KiB) of one `nearmiss report`
    local out=$1
    shift
    TMPDIR=$DIR/tmp NEARMISS_SPOOL_MEMORY=0 /usr/bin/time -f %M -o "$DIR/rss" "$BIN" report -q -f html,junit,prom -o "$out" "$@"
    cat "$DIR/rss"
}
by_name=$(peak "$DIR/big-file" "$DIR/big.json")
by_pipe=$(cat "$DIR/big.json" | peak "$DIR/big-pipe" -)
left=$(find "$DIR/tmp" -mindepth 1 | wc -l)
cmp -s "$DIR/big-file/report.html" "$DIR/big-pipe/report.html" &&
    ((by_pipe * 10 <= by_name * 13 && left == 0)) &&
    ok "$(jq '.hosts | length' "$DIR/big.json") hosts on standard input: peak RSS $by_pipe KiB, by name $by_name KiB, nothing left in TMPDIR" ||
    not_ok "big report on standard input: peak RSS $by_pipe KiB against $by_name KiB by name (at most 1.3x), $left file(s) left in TMPDIR"

RC=0; NEARMISS_SPOOL_MEMORY=lots "$BIN" report -f html -o "$DIR/out" "$DIR/run.json" >"$DIR/log" 2>&1 || RC=$?
[[ $RC == 1 ]] && grep -q NEARMISS_SPOOL_MEMORY "$DIR/log" && ok "a malformed NEARMISS_SPOOL_MEMORY: exit 1, named" ||
    not_ok "NEARMISS_SPOOL_MEMORY=lots: exit $RC"
echo "1..$n"
((fails == 0))
