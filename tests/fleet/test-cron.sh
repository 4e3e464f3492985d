#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-cron.sh BINARY — what a scan prints for the people around it, on the
# fake fleet (ok-debian, smart-failing with critical findings, down, hang):
#   -q        silent when nothing needs a person: the first run names the
#             new criticals, an unchanged second run prints nothing on
#             stdout or stderr, a host that cannot be scanned is named with
#             its status and reason (host text escaped), an undelivered
#             ticket event is named; exit statuses as without -q (scan and
#             merge)
#   -v        one timing line per host (reach, login, run, judge, total;
#             the phases add up to the report's duration_ms) and one per
#             step of the run; without it nothing is timed in the report
#   progress  on a real pseudo-terminal of 100 and 40 columns the line names
#             the host still running near the end (the hanging one), never
#             wider than the terminal; nothing of it on a file
#   modes     history.sqlite, its -wal and -shm (looked at while a run
#             holds them) and dir: ticket files get --file-mode (default
#             0600) whatever the umask, a created ticket directory 0700
#             (0750 for a group-readable mode); an old 0644 history is set
#             to the mode
# Exit 0 pass, 1 fail, 77 skip (no /usr/sbin/sshd).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"

nm_args "$@"
nm_need_tools jq python3 stat
nm_tempdir nm-cron-test
nm_fleet_start ok-debian smart-failing down hang
umask 022

TWO=ok-debian,smart-failing
scan() { # NAME ARGS...: stdout NAME.out, stderr NAME.err, status RC (stderr is a file)
    local name=$1
    shift
    RC=0
    timeout 120 "$BIN" scan -i "$INV" --timeout 20 "$@" >"$DIR/$name.out" 2>"$DIR/$name.err" </dev/null ||
        RC=$?
}
show() { # NAME: both streams as comments
    sed 's/^/# out: /' "$DIR/$1.out"
    sed 's/^/# err: /' "$DIR/$1.err"
}
check() { # DESC CONDITION-STATUS NAME
    if [[ $2 == 0 ]]; then ok "$1"; else
        not_ok "$1"
        show "$3"
    fi
}
has() { grep -q -- "$2" "$DIR/$1.out"; }

# ---- -q -------------------------------------------------------------------
scan q1 -q --hosts "$TWO" -o "$DIR/q" --fail-on critical
scan loud1 --hosts "$TWO" -o "$DIR/loud" --fail-on critical
check "-q first run: exit 100 as without -q (got $RC)" "$([[ $RC == 100 ]]; echo $?)" q1
crit=$(jq '[.hosts[].findings[] | select(.severity == "critical")] | length' "$DIR/q/latest.json")
named=$(grep -c '^  new critical: smart-failing: ' "$DIR/q1.out" || :)
check "-q first run: names each of the $crit new criticals on smart-failing ($named lines)" \
    "$([[ $crit -ge 1 && $named == "$crit" ]]; echo $?)" q1
first=$(jq -r '[.hosts[].findings[] | select(.severity == "critical")][0].message' "$DIR/q/latest.json")
check "-q first run: the message of a critical is printed" "$(grep -qF -- "$first" "$DIR/q1.out"; echo $?)" q1
check "-q first run: a head line counts them, the report path ends it" \
    "$(has q1 "^$crit new critical findings\$" && has q1 "^report: $DIR/q/nearmiss-"; echo $?)" q1
check "-q first run: nothing on stderr" "$([[ ! -s $DIR/q1.err ]]; echo $?)" q1
check "-q first run: nothing about ok-debian, no summary line" \
    "$(! has q1 ok-debian && ! has q1 '^scanned '; echo $?)" q1

scan q2 -q --hosts "$TWO" -o "$DIR/q" --fail-on critical
check "-q unchanged second run: exit 100 still (got $RC)" "$([[ $RC == 100 ]]; echo $?)" q2
check "-q unchanged second run: empty stdout and stderr" \
    "$([[ ! -s $DIR/q2.out && ! -s $DIR/q2.err ]]; echo $?)" q2
jcheck "-q second run: the criticals are persisting in the report" \
    '[.hosts[].findings[] | select(.severity == "critical") | .change] | length > 0 and all(. == "persisting")' \
    "$DIR/q/latest.json" || :

scan q3 -q --hosts "$TWO,down" -o "$DIR/q"
check "-q with a host down: exit 2 as without -q (got $RC)" "$([[ $RC == 2 ]]; echo $?)" q3
check "-q with a host down: it is named with its status and reason" \
    "$(has q3 '^1 host could not be scanned$' &&
        has q3 '^  not scanned: down (unreachable): cannot connect to 127.0.0.1 port .*refused'; echo $?)" q3
check "-q with a host down: the persisting criticals are not repeated" "$(! has q3 'new critical'; echo $?)" q3

# A host whose SSH port answers with terminal escapes: the reason quotes it,
# escaped.
python3 - "$DIR/evil.port" <<'EOF' &
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
s.settimeout(120)
try:
    while True:
        c, _ = s.accept()
        c.sendall(b"\x1b]0;owned\x07\x1b[2J not ssh\r\n"); c.close()
except OSError:
    pass
EOF
EVIL_PID=$!
for _ in $(seq 50); do [[ -s $DIR/evil.port ]] && break; sleep 0.1; done
jq --argjson p "$(cat "$DIR/evil.port")" \
    '.hosts += [{"name": "banner-host", "address": "127.0.0.1", "port": $p}]' "$INV" >"$DIR/evil.json"
RC=0
timeout 120 "$BIN" scan -q -i "$DIR/evil.json" --hosts banner-host -o "$DIR/evil" --timeout 10 \
    >"$DIR/q4.out" 2>"$DIR/q4.err" || RC=$?
kill "$EVIL_PID" 2>/dev/null || :
check "-q, a host sending escapes: named, its words escaped, no raw ESC or BEL printed" \
    "$(has q4 '^  not scanned: banner-host (error): .*\\x1b' && ! grep -q $'[\x1b\x07]' "$DIR/q4.out" "$DIR/q4.err"; echo $?)" q4

scan q5 -q --hosts "$TWO" -o "$DIR/q" --ticket 'exec:exit 3'
check "-q with a ticket target that refuses: exit 0 (got $RC)" "$([[ $RC == 0 ]]; echo $?)" q5
check "-q with a ticket target that refuses: the undelivered events are named" \
    "$(has q5 'ticket events\? not delivered' && has q5 '^  tickets: [0-9]* events\? could not be delivered .*exec'; echo $?)" q5

# merge -q: the same rule on a sharded run.
for k in 1 2; do
    scan "s$k" --hosts "$TWO" --shard "$k/2" -o "$DIR/shard$k"
done
RC=0
timeout 120 "$BIN" merge -q -i "$INV" -o "$DIR/merged" "$DIR/shard1/latest.json" "$DIR/shard2/latest.json" \
    >"$DIR/m1.out" 2>"$DIR/m1.err" || RC=$?
check "merge -q first run: exit 0, the new criticals named (got $RC)" \
    "$([[ $RC == 0 ]] && has m1 '^  new critical: smart-failing: '; echo $?)" m1
RC=0
timeout 120 "$BIN" merge -q -i "$INV" -o "$DIR/merged" "$DIR/shard1/latest.json" "$DIR/shard2/latest.json" \
    >"$DIR/m2.out" 2>"$DIR/m2.err" || RC=$?
check "merge -q of the same shards again: silent (exit $RC)" \
    "$([[ $RC == 0 && ! -s $DIR/m2.out && ! -s $DIR/m2.err ]]; echo $?)" m2

# ---- -v -------------------------------------------------------------------
scan v1 -v --hosts "$TWO,down" -o "$DIR/v"
R=$DIR/v/latest.json
check "-v: exit 2 (a host down; got $RC)" "$([[ $RC == 2 ]]; echo $?)" v1
for h in ok-debian smart-failing down; do
    line=$(grep "^timing: $h: " "$DIR/v1.err" || :)
    re="^timing: $h: reach ([0-9]+) ms, login ([0-9]+) ms, run ([0-9]+) ms, judge ([0-9]+) ms; total ([0-9]+) ms \\(([a-z_]+)\\)\$"
    if [[ $line =~ $re ]]; then
        status=$(jq -r --arg h "$h" '.hosts[] | select(.name == $h) | .status' "$R")
        sum=$(jq --arg h "$h" '.hosts[] | select(.name == $h) | .scan | [.reach_ms, .login_ms, .run_ms] | add' "$R")
        dur=$(jq --arg h "$h" '.hosts[] | select(.name == $h) | .scan.duration_ms' "$R")
        [[ ${BASH_REMATCH[6]} == "$status" && ${BASH_REMATCH[1]} -ge 0 && ${BASH_REMATCH[5]} -ge $dur &&
            $((BASH_REMATCH[1] + BASH_REMATCH[2] + BASH_REMATCH[3])) == "$sum" && $sum == "$dur" ]] &&
            ok "-v: $h: phases parse, status $status, reach+login+run = duration_ms ($dur), total >= it" ||
            not_ok "-v: $h: '$line' against the report (sum $sum, duration $dur, status $status)"
    else
        not_ok "-v: one timing line for $h"
        show v1
    fi
done
jcheck "-v: the scanned hosts logged in and ran (login_ms > 0, run_ms > 0)" \
    '[.hosts[] | select(.status == "ok") | .scan | .login_ms > 0 and .run_ms > 0] | length == 2 and all' "$R" || :
jcheck "-v: the host down never got past reaching it" \
    '.hosts[] | select(.name == "down") | .scan | .login_ms == 0 and .run_ms == 0' "$R" || :
steps=$(grep -cE '^timing: step [a-z-]+ [0-9]+ ms$' "$DIR/v1.err" || :)
check "-v: one line per step that ran (16 for a whole run: the step table with its per-host pass; got $steps), scan, hosts and write among them" \
    "$([[ $steps == 16 ]] && grep -q "^timing: step scan " "$DIR/v1.err" && grep -q "^timing: step hosts " "$DIR/v1.err" &&
        grep -q '^timing: step write ' "$DIR/v1.err" && grep -qE '^timing: steps [0-9]+ ms in all$' "$DIR/v1.err"; echo $?)" v1
check "-v on a file: no progress line" "$(! grep -q 'scanning:' "$DIR/v1.err"; echo $?)" v1
check "without -v: no timing lines" "$(! grep -q '^timing:' "$DIR/loud1.err"; echo $?)" loud1
jcheck "without -v: no phase fields in the report" \
    '[.hosts[].scan | has("reach_ms") or has("judge_ms")] | any | not' "$DIR/loud/latest.json" || :

# ---- progress on a terminal --------------------------------------------------
cat >"$DIR/onterm.py" <<'EOF'
import os, pty, select, struct, sys, fcntl, termios
cols, out, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
data = b""
while True:
    r, _, _ = select.select([fd], [], [], 120)
    if not r:
        break
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
_, st = os.waitpid(pid, 0)
open(out, "wb").write(data)
sys.exit(os.waitstatus_to_exitcode(st))
EOF
# The hang host a second time, under a name longer than a narrow line.
LONG=hang-under-a-name-much-longer-than-forty-columns
jq --arg n "$LONG" '.hosts += [.hosts[] | select(.name == "hang") | .name = $n]' "$INV" >"$DIR/long.json"
for cols in 100 40; do
    RC=0
    python3 "$DIR/onterm.py" "$cols" "$DIR/pty$cols.raw" "$BIN" scan -i "$DIR/long.json" \
        -o "$DIR/pty$cols" --timeout 5 || RC=$?
    # The frames the line was drawn with (each begins with CR, erase line),
    # one per line.
    python3 -c 'import sys; d = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(b"".join(f.split(b"\n")[0].replace(b"\r", b"") + b"\n" for f in d.split(b"\r\x1b[K")[1:]))' \
        "$DIR/pty$cols.raw" >"$DIR/frames$cols"
    widest=$(python3 -c 'import sys; print(max((len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")), default=0))' "$DIR/frames$cols")
    [[ $RC == 2 && -s $DIR/frames$cols && $widest -lt $cols ]] &&
        ok "pty $cols columns: exit 2, progress drawn, no frame wider than $((cols - 1)) (widest $widest)" ||
        { not_ok "pty $cols columns: exit $RC, widest frame $widest"; sed 's/^/# /' "$DIR/frames$cols" | tail -5; }
    last=$(grep -v 'hosts done' "$DIR/frames$cols" | tail -1 || :)
    # Inventory order: hang, then its long-named twin.
    if ((cols == 100)); then want="still running: hang, $LONG"; else want="running: hang +1 more"; fi
    # (The twins end within milliseconds of each other: a frame between
    # them may name one.)
    grep -qF -- "$want" "$DIR/frames$cols" && [[ $last == *"running: hang"* ]] &&
        ok "pty $cols: near the end the line names the hanging hosts: $last" ||
        { not_ok "pty $cols: near the end '$want'"; tail -3 "$DIR/frames$cols" | sed 's/^/# /'; }
done
check "no progress on a file (stderr not a terminal)" "$(! grep -q 'scanning' "$DIR/loud1.err"; echo $?)" loud1

# ---- file modes ---------------------------------------------------------------
mode() { stat -c %a "$1" 2>/dev/null || echo none; }
# While a run holds the history (the hanging host keeps it busy), its -wal
# and -shm exist.
watch_run() { # OUT ARGS...: modes of the three files while the scan runs, in WATCHED
    local out=$1
    shift
    "$BIN" scan -i "$INV" --hosts hang --timeout 8 -o "$out" -q "$@" >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 100); do [[ -e $out/history.sqlite-shm && -e $out/history.sqlite-wal ]] && break; sleep 0.1; done
    WATCHED="$(mode "$out/history.sqlite") $(mode "$out/history.sqlite-wal") $(mode "$out/history.sqlite-shm")"
    wait "$pid" || :
}
watch_run "$DIR/m600"
[[ $WATCHED == "600 600 600" ]] && ok "umask 022, default mode: history, -wal, -shm are 0600 while the run holds them" ||
    not_ok "history modes while running: $WATCHED (want 600 600 600)"
[[ $(mode "$DIR/m600/history.sqlite") == 600 ]] && ok "history.sqlite 0600 after the run" ||
    not_ok "history.sqlite after the run: $(mode "$DIR/m600/history.sqlite")"
watch_run "$DIR/m640" --file-mode 0640
[[ $WATCHED == "640 640 640" ]] && ok "--file-mode 0640: history, -wal, -shm are 0640" ||
    not_ok "--file-mode 0640: $WATCHED (want 640 640 640)"
(umask 077 && watch_run "$DIR/m660" --file-mode 0660 && [[ $WATCHED == "660 660 660" ]]) &&
    ok "umask 077, --file-mode 0660: the history files are 0660 (the mode, not the umask)" ||
    not_ok "umask 077, --file-mode 0660: history files not 0660"
chmod 0644 "$DIR/q/history.sqlite"
scan mold -q --hosts "$TWO" -o "$DIR/q"
[[ $(mode "$DIR/q/history.sqlite") == 600 ]] && ok "an old 0644 history is set to 0600 by the next run" ||
    not_ok "old history after a run: $(mode "$DIR/q/history.sqlite")"

scan t1 -q --hosts "$TWO" -o "$DIR/t" --ticket "dir:$DIR/tickets/new" --ticket-min critical
files=$(find "$DIR/tickets/new" -type f | wc -l)
modes=$(find "$DIR/tickets/new" -type f -printf '%m\n' | sort -u | tr '\n' ' ')
[[ $files -ge 2 && $modes == "600 " && $(mode "$DIR/tickets/new") == 700 ]] &&
    ok "dir: tickets: $files files 0600, the directory made 0700" ||
    { not_ok "dir: tickets: $files files, modes '$modes', directory $(mode "$DIR/tickets/new")"; show t1; }
scan t2 -q --hosts "$TWO" -o "$DIR/t2" --ticket "dir:$DIR/tickets/group" --ticket-min critical --file-mode 0640
modes=$(find "$DIR/tickets/group" -type f -printf '%m\n' | sort -u | tr '\n' ' ')
[[ $modes == "640 " && $(mode "$DIR/tickets/group") == 750 ]] &&
    ok "dir: tickets with --file-mode 0640: files 0640, directory 0750" ||
    { not_ok "dir: tickets 0640: modes '$modes', directory $(mode "$DIR/tickets/group")"; show t2; }

nm_finish
