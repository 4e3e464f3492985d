# shellcheck shell=bash
# lib.sh — shared by the hostile-peer tests beside this file. Sourced after
# tests/fleet/testlib.sh (TAP counters, nm_tempdir, nm_fleet_start, ...).
#
#   peers_start NAME SPEC...  starts peers.py (NAME=KIND[:ARG...] specs) with
#                             its ready file $DIR/NAME.ports; records its pid
#                             for cleanup; fails the test when it does not come up
#   inventory_with OUT PORTS  the fleet inventory plus one host per "NAME PORT"
#                             line of PORTS (127.0.0.1), written to OUT
#   kh_alias PORTFILE HOST    known_hosts lines giving every port of PORTFILE the
#                             host key of fleet host HOST (for proxies)
#   same_as_baseline DESC BASE NEW HOST...
#                             ok when each HOST's object is the same in both
#                             reports, minus what changes between runs (times and
#                             first_seen, which is the run's own time,
#                             uptime, the output size that holds the uptime)
#   no_raw_esc DESC FILE      ok when FILE holds no ESC byte (terminal safe)
#   within DESC SECS LIMIT    ok when SECS <= LIMIT

PEER_PIDS=()
peers_cleanup() {
    local p
    for p in "${PEER_PIDS[@]}"; do kill "$p" 2>/dev/null || :; done
    for p in "${PEER_PIDS[@]}"; do wait "$p" 2>/dev/null || :; done
}
peers_start() {
    local name=$1 i
    shift
    python3 "$HERE/peers.py" "$DIR/$name.ports" "$@" 2>"$DIR/$name.err" &
    PEER_PIDS+=($!)
    for ((i = 0; i < 100; i++)); do
        [[ -s $DIR/$name.ports ]] && return 0
        kill -0 "${PEER_PIDS[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    sed 's/^/# /' "$DIR/$name.err"
    not_ok "peers $name started"
    nm_finish
}
inventory_with() {
    jq --rawfile r "$2" '.hosts += [$r | split("\n")[] | select(length > 0) | split(" ") |
        {name: .[0], address: "127.0.0.1", port: (.[1] | tonumber)}]' "$INV" >"$1"
}
kh_alias() {
    local port p
    port=$(awk -v h="$2" '$1 == h { print $2 }' "$F/ports")
    while read -r _ p; do
        sed -n "s/^\[127\.0\.0\.1\]:$port /[127.0.0.1]:$p /p" "$KH"
    done <"$1"
}
JQ_STABLE='del(.scan.duration_ms, .scan.connect_ms, .scan.bytes, .uptime_seconds, .findings[]?.first_seen)'
same_as_baseline() {
    local d=$1 base=$2 new=$3 h a b
    shift 3
    for h in "$@"; do
        a=$(jq -S --arg h "$h" ".hosts[] | select(.name == \$h) | $JQ_STABLE" "$base" 2>&1)
        b=$(jq -S --arg h "$h" ".hosts[] | select(.name == \$h) | $JQ_STABLE" "$new" 2>&1)
        if [[ -n $a && $a == "$b" ]]; then ok "$d: $h"; else
            not_ok "$d: $h"
            diff <(echo "$a") <(echo "$b") | head -20 | sed 's/^/# /'
        fi
    done
}
no_raw_esc() {
    if LC_ALL=C grep -q $'\x1b' "$2"; then
        not_ok "$1"
        LC_ALL=C grep -n $'\x1b' "$2" | head -3 | cat -v | sed 's/^/# /'
    else ok "$1"; fi
}
within() {
    if awk -v s="$2" -v l="$3" 'BEGIN { exit !(s <= l) }'; then ok "$1 ($2 s)"; else
        not_ok "$1 (took $2 s, limit $3 s)"
    fi
}
