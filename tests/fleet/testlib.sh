# shellcheck shell=bash
# testlib.sh — helpers shared by the integration tests beside this file
# (test-*.sh). Sourced, never executed: `. "$HERE/testlib.sh"` right after
# the script sets HERE (its own directory) and FLEET ($HERE/fleet.sh).
# Sourcing it sets n=0 and failed=0 and defines only functions; nothing runs.
#
# Counters and TAP lines (variables n, failed):
#   ok DESC            n+1, prints "ok N - DESC"
#   not_ok DESC        n+1, failed+1, prints "not ok N - DESC"
#   skip DESC          n+1, prints "ok N - # SKIP DESC"
#   nm_finish          prints "1..N", then "FAIL: F of N checks failed" and
#                      exits 1, or "PASS: N checks" (with a TODO note when the
#                      script counts $todo)
#   nm_finish_counts   prints "1..N" and "P passed, F failed"; returns 1 when
#                      anything failed (call it last: the script's status)
#
# Start-up (exit 1 on a usage or setup error, 77 to skip):
#   nm_need_sshd       exits 77 with a SKIP line when $SSHD is not executable
#                      (SSHD defaults to $NM_FLEET_SSHD or /usr/sbin/sshd)
#   nm_need_tools T... exits 1 with "FAIL: T not found" for a missing tool
#   nm_args "$@"       exactly one argument, the scanner: sets BIN (its real
#                      path), skips without sshd (nm_need_sshd), fails when
#                      BIN is not executable
#   nm_args_plain "$@" the terse form: one argument, BIN=$(realpath -- "$1"),
#                      "SKIP: no /usr/sbin/sshd" (exit 77) without it
#
# Temporary directory and the fleet in it (variables DIR, FLEET):
#   nm_tempdir NAME    DIR=$(mktemp -d $TMPDIR/NAME.XXXXXX); traps EXIT to
#                      nm_cleanup, INT and TERM to exit 130
#   nm_fleet_stop      stops the fleet in $DIR/fleet, quietly, never fails
#   nm_keep_or_remove  removes $DIR unless NM_KEEP is set; after failures
#                      (failed > 0) says that NM_KEEP=1 would keep it
#   nm_cleanup         nm_fleet_stop, then nm_keep_or_remove
#   nm_fleet_start ARGS...
#                      `fleet.sh start $DIR/fleet ARGS...`, log in
#                      $DIR/fleet-start.log; on failure prints the log as
#                      comments, "not ok 1 - fleet.sh start ARGS", "1..1"
#                      (not with NM_NO_PLAN=1) and exits 1; on success
#                      sets F=$DIR/fleet and INV, KH, KEY (its inventory,
#                      known_hosts and client key)
#   S HOST CMD...      ssh to a fleet host through $F/ssh_config, BatchMode
#
# Assertions with jq (output discarded, stderr too):
#   jcheck DESC JQ-ARGS...
#                      ok when `jq -e JQ-ARGS...` succeeds, else not_ok and
#                      returns 1 (use as `if ! jcheck ...; then context; fi`)
#   hjq DESC HOST CHECK FILTER [jq args]
#                      FILTER runs on HOST's object of the report $R (with
#                      $h bound to HOST); on failure calls the script's own
#                      `show_host HOST "$R" CHECK`
#   nm_dump_host HOST FILE C WIDTH FILTER
#                      HOST's object of report FILE through FILTER ($h and $c
#                      = C bound), cut to WIDTH characters, as "# " lines: the
#                      body of the scripts' show_host
#   nm_run_scan TIMEOUT LOG ARGS...
#                      `timeout TIMEOUT $BIN scan ARGS... >LOG 2>&1`; sets RC
#                      (its exit status) and SECS (wall clock, 0.1 s)
#   nm_scan_checks OUT the whole fleet ($INV, $KH, $KEY) with the checks of
#                      $CHECKS into OUT, log OUT.log, --timeout 30 --jobs 8;
#                      prints "# nearmiss scan -> exit RC"
#   nm_need_report DESC
#                      when $R is not a nearmiss.report/1 report: not_ok
#                      DESC, the plan, "FAIL: no usable report; ..." and
#                      exit 1

n=0 failed=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - # SKIP $*"; }

nm_finish() {
    echo "1..$n"
    if ((failed)); then
        echo "FAIL: $failed of $n checks failed"
        exit 1
    fi
    if ((${todo:-0})); then
        echo "PASS: $((n - todo)) checks, $todo TODO (known gaps, see the TODO lines)"
    else
        echo "PASS: $n checks"
    fi
}
nm_finish_counts() {
    echo "1..$n"
    echo "$((n - failed)) passed, $failed failed"
    ((failed == 0))
}

SSHD=${NM_FLEET_SSHD:-/usr/sbin/sshd}
nm_need_sshd() {
    if [[ ! -x $SSHD ]]; then
        echo "SKIP: $SSHD not installed (apt-get install openssh-server, or scripts/deps.sh)"
        exit 77
    fi
}
nm_need_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (scripts/deps.sh)"; exit 1; }
    done
}
nm_args() {
    [[ $# -eq 1 ]] || { echo "usage: $0 path/to/nearmiss" >&2; exit 1; }
    BIN=$(realpath -- "$1" 2>/dev/null) || BIN=$1
    nm_need_sshd
    [[ -x $BIN ]] || { echo "FAIL: scanner binary $1 not found or not executable"; exit 1; }
}
nm_args_plain() {
    [[ $# -eq 1 ]] || { echo "usage: $0 path/to/nearmiss" >&2; exit 1; }
    BIN=$(realpath -- "$1")
    [[ -x /usr/sbin/sshd ]] || { echo "SKIP: no /usr/sbin/sshd"; exit 77; }
}

nm_tempdir() {
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    trap nm_cleanup EXIT
    trap 'exit 130' INT TERM
}
nm_fleet_stop() { "$FLEET" stop "$DIR/fleet" >/dev/null 2>&1 || :; }
nm_keep_or_remove() {
    if ((failed)) && [[ -z ${NM_KEEP:-} ]]; then
        echo "# (set NM_KEEP=1 to keep $DIR for a look)"
    fi
    [[ -n ${NM_KEEP:-} ]] || rm -rf "$DIR"
}
nm_cleanup() {
    nm_fleet_stop
    nm_keep_or_remove
}
nm_fleet_start() {
    if ! "$FLEET" start "$DIR/fleet" "$@" >"$DIR/fleet-start.log" 2>&1; then
        sed 's/^/# /' "$DIR/fleet-start.log"
        echo "not ok 1 - fleet.sh start $*"
        [[ -n ${NM_NO_PLAN:-} ]] || echo "1..1"
        exit 1
    fi
    # shellcheck disable=SC2034 # for the sourcing script
    F=$DIR/fleet INV=$DIR/fleet/inventory.json KH=$DIR/fleet/known_hosts KEY=$DIR/fleet/client_key
}
S() { ssh -F "$F/ssh_config" -o BatchMode=yes "$@"; }

jcheck() {
    local d=$1
    shift
    if jq -e "$@" >/dev/null 2>&1; then ok "$d"; else
        not_ok "$d"
        return 1
    fi
}
hjq() {
    local d=$1 h=$2 c=$3 f=$4
    shift 4
    if ! jcheck "$d" --arg h "$h" "$@" ".hosts[] | select(.name == \$h) | $f" "$R"; then
        show_host "$h" "$R" "$c"
    fi
}
nm_dump_host() {
    jq -c --arg h "$1" --arg c "$3" ".hosts[] | select(.name == \$h) | $5" "$2" 2>/dev/null | cut -c1-"$4" | sed 's/^/# /'
}
# shellcheck disable=SC2034 # RC and SECS are for the sourcing script
nm_run_scan() {
    local tmo=$1 log=$2 t0=$EPOCHREALTIME
    shift 2
    RC=0
    timeout "$tmo" "$BIN" scan "$@" >"$log" 2>&1 || RC=$?
    SECS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
}
nm_scan_checks() {
    nm_run_scan 120 "$1.log" -i "$INV" --known-hosts "$KH" --identity "$KEY" -c "$CHECKS" \
        -o "$1" --timeout 30 --jobs 8
    echo "# nearmiss scan -> exit $RC"
}
# nm_scan_all_ok: the opening of the check suites (disk, spof): scan every
# host into $DIR/out with nm_scan_checks, set R, then assert exit 0, a usable
# report, and status ok for each host in the array HOSTS.
nm_scan_all_ok() {
    nm_scan_checks "$DIR/out"
    R=$DIR/out/latest.json
    local d="scan: exit 0 (every host scanned, no --fail-on)" h
    if [[ $RC == 0 ]]; then ok "$d"; else
        not_ok "$d (got $RC)"
        sed -n '1,15s/^/#   /p' "$DIR/out.log"
    fi
    nm_need_report "scan: a nearmiss.report/1 report"
    for h in "${HOSTS[@]}"; do
        hjq "$h: status ok" "$h" "" '.status == "ok"'
    done
}
# nm_send_groups LOG: from `strace -f -qq -e trace=sendto,setsockopt,poll,close`
# of a one-host scan, how the SSH socket's packets left: "sends=N groups=G
# held_waits=W", where a group is what one push sends (the sends held with
# MSG_MORE since the last TCP_NODELAY push or close, or one send without
# MSG_MORE) and a held wait is a poll on the socket while a held send was
# not pushed (the host may be waiting for it: up to 200 ms lost).  The
# socket is the one the sends go to whose packets begin with "SSH-".
nm_send_groups() {
    awk '
        /sendto\(/ && /"SSH-/ && !fd { match($0, /sendto\([0-9]+/); fd = substr($0, RSTART + 7, RLENGTH - 7) }
        !fd { next }
        index($0, "sendto(" fd ",") {
            sends++
            if (/MSG_MORE/) held = 1; else { groups++; held = 0 }
            next
        }
        index($0, "setsockopt(" fd ",") && /TCP_NODELAY/ { if (held) groups++; held = 0; next }
        index($0, "close(" fd ")") { if (held) groups++; held = 0; fd = 0; next }
        index($0, "{fd=" fd ",") && /poll\(/ { if (held) waits++ }
        END { printf "sends=%d groups=%d held_waits=%d", sends, groups, waits }
    ' "$1"
}
nm_need_report() {
    if ! jq -e '.schema == "nearmiss.report/1"' "$R" >/dev/null 2>&1; then
        not_ok "$1"
        echo "1..$n"
        echo "FAIL: no usable report; $failed of $n checks failed"
        exit 1
    fi
}
