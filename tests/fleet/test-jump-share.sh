#!/usr/bin/env bash
# test-jump-share.sh BINARY — hosts behind the same jump host share
# connections to it: one login for six hosts, two for nine hosts that hold
# their channels at once (8 channels per connection), one attempt for hosts
# behind a jump host whose key is wrong (each host still told, naming the
# hop), a jump host killed mid-scan (its hosts fail at once, naming it; the
# other hosts of the scan are untouched), both hops of a two-hop chain
# shared, a target the jump host cannot reach (its connect hangs) not
# holding up the hosts behind the same jump host, and a connection the jump
# host closed while it sat idle replaced by a new one.
#
# As in test-jump.sh, each jump host is a real sshd in its own mount
# namespace whose /etc/hosts alone knows the targets' names (*.invalid), so
# a target can only be reached through it; its sshd log (LogLevel DEBUG1)
# counts the logins ("Accepted publickey") and shows each channel
# ("channel N: new direct-tcpip": sshd gives a new channel the lowest free
# number, so N + 1 is how many were open at once on that connection).
# Exit 0 pass, 1 fail, 77 no sshd.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
nm_args_plain "$@"
nm_need_tools jq unshare mount python3

DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-jump-share.XXXXXX")
JUMP_PIDS=()
HOLE_PID=
# The processes below a jump host's sshd (one per connection), then it.
kill_jump() {
    local pid=$1 kids c
    kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null) || :
    for c in $kids; do kill_jump "$c"; done
    kill -9 "$pid" 2>/dev/null || :
}
cleanup() {
    local p
    for p in "${JUMP_PIDS[@]}"; do kill_jump "$p"; done
    [[ -n $HOLE_PID ]] && kill "$HOLE_PID" 2>/dev/null
    nm_fleet_stop
    if ((failed)) || [[ -n ${NM_KEEP:-} ]]; then
        echo "# kept $DIR"
    else
        rm -rf "$DIR"
    fi
}
trap cleanup EXIT

"$FLEET" start "$DIR/fleet" ok-debian alpine-ok hang >"$DIR/fleet.log" 2>&1 ||
    { sed 's/^/# /' "$DIR/fleet.log"; exit 1; }
F=$DIR/fleet
port_of() { awk -v h="$1" '$1 == h { print $2 }' "$F/ports"; }
P_DEB=$(port_of ok-debian) P_ALP=$(port_of alpine-ok) P_HANG=$(port_of hang)
ME=$(id -un)
export HOME=$DIR/home
mkdir -p "$HOME/.ssh"
unset SSH_AUTH_SOCK

. "$HERE/lib-jump.sh"
logins() { grep -c "Accepted publickey" "$DIR/jump/$1/sshd.log" || :; }
connections() { grep -c "^Connection from" "$DIR/jump/$1/sshd.log" || :; }
forwards() { grep -c "server_request_direct_tcpip" "$DIR/jump/$1/sshd.log" || :; }
# The highest channel number the jump host gave a forwarding: one less than
# the most channels open at once on one of its connections.
top_channel() {
    sed -n 's/.*channel \([0-9]*\): new direct-tcpip.*/\1/p' "$DIR/jump/$1/sshd.log" | sort -n | tail -1
}

names=()
for i in 1 2 3 4 5 6; do names+=("nm-t$i.invalid"); done
for i in 1 2 3 4 5 6 7 8 9; do names+=("nm-h$i.invalid"); done
names+=(nm-b2.invalid nm-f1.invalid)
PB1=$(free_port)
start_jump b1 "$PB1" "${names[@]}"
PB2=$(free_port)
start_jump b2 "$PB2" nm-u1.invalid nm-u2.invalid nm-u3.invalid
PBW=$(free_port)
start_jump bw "$PBW" nm-w1.invalid nm-w2.invalid nm-w3.invalid nm-w4.invalid
PBK=$(free_port)
start_jump bk "$PBK" nm-k1.invalid nm-k2.invalid nm-k3.invalid
PBI=$(free_port)
start_jump bi "$PBI" nm-i1.invalid nm-i2.invalid

# A port whose connects hang: a listener that never accepts, its queue
# full, so the kernel drops further SYNs (a filtered host, on loopback).
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
fill = []
for i in range(3):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(s.getsockname())
    except BlockingIOError:
        pass
    fill.append(c)
print(s.getsockname()[1], flush=True)
time.sleep(3600)
' >"$DIR/hole.port" &
HOLE_PID=$!
for ((i = 0; i < 50; i++)); do [[ -s $DIR/hole.port ]] && break; sleep 0.1; done
P_HOLE=$(cat "$DIR/hole.port")
key_of() { cut -d' ' -f1,2 "$1"; }
{
    echo "deb-key $(key_of "$F/hosts/ok-debian/ssh_host_ed25519_key.pub")"
    echo "alp-key $(key_of "$F/hosts/alpine-ok/ssh_host_ed25519_key.pub")"
    echo "hang-key $(key_of "$F/hosts/hang/ssh_host_ed25519_key.pub")"
    echo "[127.0.0.1]:$PB1 $(key_of "$DIR/jump/b1/host_key.pub")"
    echo "[127.0.0.1]:$PBK $(key_of "$DIR/jump/bk/host_key.pub")"
    echo "[127.0.0.1]:$PBI $(key_of "$DIR/jump/bi/host_key.pub")"
    echo "[nm-b2.invalid]:$PB2 $(key_of "$DIR/jump/b2/host_key.pub")"
    # bw is known under another key: every host behind it must refuse it.
    echo "[127.0.0.1]:$PBW $(key_of "$DIR/jump/b1/host_key.pub")"
} >"$DIR/known_hosts"

{
    for i in 1 2 3 4 5 6; do
        if ((i % 2)); then p=$P_DEB k=deb-key; else p=$P_ALP k=alp-key; fi
        printf 'Host t%d\n    HostName nm-t%d.invalid\n    Port %d\n    HostKeyAlias %s\n    ProxyJump b1\n' \
            "$i" "$i" "$p" "$k"
    done
    for i in 1 2 3 4 5 6 7 8 9; do
        printf 'Host h%d\n    HostName nm-h%d.invalid\n    Port %d\n    HostKeyAlias hang-key\n    ProxyJump b1\n' \
            "$i" "$i" "$P_HANG"
    done
    for i in 1 2 3 4; do
        printf 'Host w%d\n    HostName nm-w%d.invalid\n    Port %d\n    HostKeyAlias deb-key\n    ProxyJump bw\n' \
            "$i" "$i" "$P_DEB"
    done
    for i in 1 2 3; do
        printf 'Host k%d\n    HostName nm-k%d.invalid\n    Port %d\n    HostKeyAlias hang-key\n    ProxyJump bk\n' \
            "$i" "$i" "$P_HANG"
    done
    for i in 1 2 3; do
        printf 'Host u%d\n    HostName nm-u%d.invalid\n    Port %d\n    HostKeyAlias deb-key\n    ProxyJump b1,b2\n' \
            "$i" "$i" "$P_DEB"
    done
    for i in 1 2; do
        printf 'Host i%d\n    HostName nm-i%d.invalid\n    Port %d\n    HostKeyAlias deb-key\n    ProxyJump bi\n' \
            "$i" "$i" "$P_DEB"
    done
    cat <<EOF
Host direct-hole
    HostName 127.0.0.1
    Port $P_HOLE
    ConnectTimeout 8
Host f1
    HostName nm-f1.invalid
    Port $P_HOLE
    ProxyJump b1
Host b2
    HostName nm-b2.invalid
    Port $PB2
Host direct-debian
    HostName 127.0.0.1
    Port $P_DEB
    HostKeyAlias deb-key
Host b1 bw bk bi
    HostName 127.0.0.1
Host b1
    Port $PB1
Host bw
    Port $PBW
Host bk
    Port $PBK
Host bi
    Port $PBI
Host *
    IdentityFile $F/client_key
    UserKnownHostsFile $DIR/known_hosts
EOF
} >"$DIR/ssh_config"

inv() { # FILE HOST...: an inventory of those names
    local f=$1
    shift
    printf '%s\n' "$@" | jq -R '{name: .}' | jq -s '{hosts: .}' >"$f"
}
R=
st() { jq -r --arg h "$1" '.hosts[] | select(.name == $h) | .status' "$R"; }
err() { jq -r --arg h "$1" '.hosts[] | select(.name == $h) | .error // ""' "$R"; }
show() { jq -c --arg h "$1" '.hosts[] | select(.name == $h) | {status, error, scan}' "$R" | sed 's/^/# /'; }
all_status() { # WANT HOST...: every host has status WANT
    local want=$1 h bad=0
    shift
    for h in "$@"; do
        if [[ $(st "$h") != "$want" ]]; then
            bad=1
            show "$h"
        fi
    done
    return $bad
}

# 1. Six hosts behind b1, scanned at once: one login to b1 carries them all.
inv "$DIR/inv-six.json" t1 t2 t3 t4 t5 t6
nm_run_scan 120 "$DIR/six.log" -i "$DIR/inv-six.json" -F "$DIR/ssh_config" -o "$DIR/six" \
    --timeout 30 --format json
R=$DIR/six/latest.json
if [[ -s $R ]] && all_status ok t1 t2 t3 t4 t5 t6; then
    ok "six hosts behind one jump host: all scanned (exit $RC)"
else
    not_ok "six hosts behind one jump host: all scanned (exit $RC)"
    sed 's/^/# /' "$DIR/six.log" | head -20
fi
if [[ $(jq '[.hosts[] | select(.os.id == "debian")] | length' "$R") == 3 &&
    $(jq '[.hosts[] | select(.os.id == "alpine")] | length' "$R") == 3 ]]; then
    ok "each host reached its own target through the shared connection (3 debian, 3 alpine)"
else
    not_ok "each host reached its own target through the shared connection"
    jq -c '.hosts[] | {name, os: .os.id}' "$R" | sed 's/^/# /'
fi
L=$(logins b1) FW=$(forwards b1)
if [[ $L == 1 && $FW == 6 ]]; then
    ok "b1's sshd: 1 login, 6 forwardings (was one login per host)"
else
    not_ok "b1's sshd: 1 login for 6 forwardings (got $L logins, $FW forwardings)"
fi

# 2. Nine hosts behind b1 that all hold their channel until their deadline
# (the target logs in and never answers): 8 share the first connection, the
# ninth opens a second one; never more than 8 channels on one connection.
before=$(logins b1)
inv "$DIR/inv-nine.json" h1 h2 h3 h4 h5 h6 h7 h8 h9
nm_run_scan 120 "$DIR/nine.log" -i "$DIR/inv-nine.json" -F "$DIR/ssh_config" -o "$DIR/nine" \
    --timeout 6 --jobs 16 --format json
R=$DIR/nine/latest.json
if [[ -s $R ]] && all_status timeout h1 h2 h3 h4 h5 h6 h7 h8 h9 &&
    jq -e '[.hosts[] | .scan.duration_ms < 8500] | all' "$R" >/dev/null; then
    ok "nine hung hosts behind b1: each timed out within its 6 s deadline plus margin"
else
    not_ok "nine hung hosts behind b1 time out within their deadlines"
    jq -c '.hosts[] | {name, status, ms: .scan.duration_ms}' "$R" | sed 's/^/# /'
fi
if jq -e '[.hosts[] | .error | test("jump host") | not] | all' "$R" >/dev/null; then
    ok "their timeouts are the targets' own, not a wait for the jump host"
else
    not_ok "their timeouts are the targets' own"
    jq -c '.hosts[] | {name, error}' "$R" | sed 's/^/# /'
fi
L=$(($(logins b1) - before)) TOP=$(top_channel b1)
if [[ $L == 2 && $TOP == 7 ]]; then
    ok "cap: 9 hosts at once made 2 logins to b1, at most 8 channels on one connection"
else
    not_ok "cap: 9 hosts at once -> 2 logins, at most 8 channels each (got $L logins, top channel $TOP)"
fi

# 3. A jump host with the wrong key: every host behind it refuses it and
# names it; the refusal is shared, so bw sees one connection, not four.
inv "$DIR/inv-wrong.json" w1 w2 w3 w4 direct-debian
nm_run_scan 120 "$DIR/wrong.log" -i "$DIR/inv-wrong.json" -F "$DIR/ssh_config" -o "$DIR/wrong" \
    --timeout 30 --format json
R=$DIR/wrong/latest.json
bad=0
for h in w1 w2 w3 w4; do
    e=$(err "$h")
    if [[ $(st "$h") != hostkey_mismatch || $e != *"jump host bw (hop 1 of 1 to $h)"* || $e != *"HOST KEY CHANGED"* ]]; then
        bad=1
        show "$h"
    fi
done
if ((bad == 0)); then
    ok "wrong key on the jump host: all 4 hosts behind it hostkey_mismatch, each naming bw and itself"
else
    not_ok "wrong key on the jump host: every host behind it hostkey_mismatch naming bw"
fi
C=$(connections bw)
if [[ $C == 1 && $(logins bw) == 0 ]]; then
    ok "bw was contacted once for the 4 hosts, and never logged in to"
else
    not_ok "bw contacted once, never logged in to (got $C connections, $(logins bw) logins)"
fi
if [[ $(st direct-debian) == ok ]]; then
    ok "a host reached directly in the same scan is scanned"
else
    not_ok "a host reached directly in the same scan is scanned"
    show direct-debian
fi

# 4. A jump host killed mid-scan: the hosts behind it (hung targets, so
# their channels are open when it dies) fail at once, naming it; hosts behind
# another jump host and direct ones are scanned as usual.
inv "$DIR/inv-kill.json" k1 k2 k3 t1 t2 direct-debian
RC=0
timeout 120 "$BIN" scan -i "$DIR/inv-kill.json" -F "$DIR/ssh_config" -o "$DIR/kill" \
    --timeout 30 --format json >"$DIR/kill.log" 2>&1 &
scan_pid=$!
for ((i = 0; i < 300; i++)); do
    (($(forwards bk) >= 3)) && break
    sleep 0.1
done
# Their targets log in (3 more logins on the hang host) before bk dies.
hang_before=$(grep -c "Accepted publickey" "$F/hosts/hang/sshd.log" || :)
sleep 2
kill_jump "${JUMP_PID[bk]}"
wait "$scan_pid" || RC=$?
R=$DIR/kill/latest.json
bad=0
for h in k1 k2 k3; do
    e=$(err "$h")
    s=$(st "$h")
    if [[ $s == ok || $s == timeout || $e != *"jump host bk"* ]] ||
        ! jq -e --arg h "$h" '.hosts[] | select(.name == $h) | .scan.duration_ms < 30000' "$R" >/dev/null; then
        bad=1
        show "$h"
    fi
done
if [[ -s $R ]] && ((bad == 0)); then
    ok "jump host killed mid-scan: its 3 hosts failed before their deadline, naming bk (exit $RC)"
else
    not_ok "jump host killed mid-scan: its hosts fail before their deadline, naming bk (exit $RC)"
    echo "# hang host logins seen before the kill: $hang_before"
fi
if [[ -s $R ]] && all_status ok t1 t2 direct-debian; then
    ok "the other hosts of that scan (behind b1, direct) are scanned"
else
    not_ok "the other hosts of that scan are scanned"
fi
# 5. Two hops: hosts behind b1 then b2 share a connection to b2, which
# itself runs over one channel of a shared connection to b1.
b1_before=$(logins b1)
inv "$DIR/inv-two.json" u1 u2 u3
nm_run_scan 120 "$DIR/two.log" -i "$DIR/inv-two.json" -F "$DIR/ssh_config" -o "$DIR/two" \
    --timeout 30 --format json
R=$DIR/two/latest.json
if [[ -s $R ]] && all_status ok u1 u2 u3; then
    ok "two hops: 3 hosts behind b1 then b2 scanned"
else
    not_ok "two hops: 3 hosts behind b1 then b2 scanned"
fi
L1=$(($(logins b1) - b1_before)) L2=$(logins b2) FW2=$(forwards b2)
if [[ $L1 == 1 && $L2 == 1 && $FW2 == 3 ]]; then
    ok "two hops: 1 login to b1, 1 login to b2 (over b1), 3 forwardings from b2"
else
    not_ok "two hops: 1 login each to b1 and b2 (got $L1 and $L2 logins, $FW2 forwardings from b2)"
fi

# 6. A target b1 cannot reach (its TCP connect hangs): libssh2 opens one
# channel at a time per connection, so the hosts behind b1 must not wait
# for that open; they open theirs on another connection after a second.
b1_before=$(logins b1)
fw_before=$(forwards b1)
inv "$DIR/inv-hole.json" f1 t1 t2 t3
nm_run_scan 120 "$DIR/hole.log" -i "$DIR/inv-hole.json" -F "$DIR/ssh_config" -o "$DIR/hole" \
    --timeout 15 --format json
R=$DIR/hole/latest.json
e=$(err f1)
if [[ -s $R ]] && all_status ok t1 t2 t3 && [[ $(st f1) == timeout && $e == *"through the jump host"* ]]; then
    ok "a target b1 cannot reach times out alone; the 3 other hosts behind b1 are scanned"
else
    not_ok "a target b1 cannot reach times out alone; the 3 other hosts behind b1 are scanned"
    show f1
fi
first=$(grep "server_request_direct_tcpip" "$DIR/jump/b1/sshd.log" | tail -n +"$((fw_before + 1))" | head -1)
echo "# b1 logins in that scan: $(($(logins b1) - b1_before)); first forwarding: ${first##*target }"

# 7. One host at a time: i1 through bi, then a host whose connect hangs
# for its 8 s ConnectTimeout, then i2 through bi.  While the second host
# waits, bi's connection sits idle and its sshd process is killed (the
# listener stays): i2 finds the dropped connection, which is not reused,
# logs in again and is scanned.
inv "$DIR/inv-idle.json" i1 direct-hole i2
RC=0
timeout 180 "$BIN" scan -i "$DIR/inv-idle.json" -F "$DIR/ssh_config" -o "$DIR/idle" \
    --timeout 60 --jobs 1 --format json >"$DIR/idle.log" 2>&1 &
scan_pid=$!
for ((i = 0; i < 600; i++)); do
    grep -q "free: direct-tcpip" "$DIR/jump/bi/sshd.log" && break
    sleep 0.1
done
for c in $(cat /proc/"${JUMP_PID[bi]}"/task/*/children 2>/dev/null); do kill_jump "$c"; done
wait "$scan_pid" || RC=$?
R=$DIR/idle/latest.json
if [[ -s $R ]] && all_status ok i1 i2; then
    ok "a connection dropped while idle is replaced: both hosts behind bi scanned (exit $RC)"
else
    not_ok "a connection dropped while idle is replaced (exit $RC)"
fi
L=$(logins bi)
if [[ $L == 2 ]]; then
    ok "bi saw a second login after its first connection was killed"
else
    not_ok "bi saw a second login after its first connection was killed (got $L logins)"
    grep -E "Accepted publickey|Connection from|direct_tcpip" "$DIR/jump/bi/sshd.log" | sed 's/^/# /' | head
fi
nm_finish
