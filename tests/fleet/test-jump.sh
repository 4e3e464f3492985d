#!/usr/bin/env bash
# test-jump.sh BINARY — hosts reached as ssh_config says: ProxyJump through
# real OpenSSH jump hosts (one hop, two hops, a hop with a changed key, a hop
# nobody knows, a hung target behind a hop), Host aliases with HostName, Port,
# User, IdentityFile, UserKnownHostsFile, tokens and Include.
#
# Proof that the tunnel is used: each jump host's sshd runs in its own mount
# namespace with its own /etc/hosts, and the targets' HostNames
# (*.invalid) resolve only there. The scanner cannot resolve them (the
# direct attempt with --jump none fails), the jump host's sshd log shows the
# forwarding request, and the scan through it succeeds.
# Exit 0 pass, 1 fail, 77 no sshd.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
nm_args_plain "$@"
nm_need_tools jq unshare mount python3

DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-jump-test.XXXXXX")
JUMP_PIDS=()
cleanup() {
    local p
    for p in "${JUMP_PIDS[@]}"; do kill "$p" 2>/dev/null || :; done
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
mkdir -p "$HOME/.ssh" "$DIR/kh" "$DIR/cfg.d"
unset SSH_AUTH_SOCK

. "$HERE/lib-jump.sh"
PB1=$(free_port)
start_jump b1 "$PB1" nm-b2.invalid nm-target1.invalid nm-hang.invalid
PB2=$(free_port)
start_jump b2 "$PB2" nm-target2.invalid

# known_hosts: the targets under the names ssh looks up (HostKeyAlias
# verbatim, else [HostName]:port); hops likewise; a wrong key for "b3"
# and nothing for "b4".
key_of() { cut -d' ' -f1,2 "$1"; }
{
    echo "target1-key $(key_of "$F/hosts/ok-debian/ssh_host_ed25519_key.pub")"
    echo "[nm-target2.invalid]:$P_ALP $(key_of "$F/hosts/alpine-ok/ssh_host_ed25519_key.pub")"
    echo "[nm-hang.invalid]:$P_HANG $(key_of "$F/hosts/hang/ssh_host_ed25519_key.pub")"
    echo "[127.0.0.1]:$PB1 $(key_of "$DIR/jump/b1/host_key.pub")"
    echo "[nm-b2.invalid]:$PB2 $(key_of "$DIR/jump/b2/host_key.pub")"
    echo "b3-alias $(key_of "$DIR/jump/b2/host_key.pub")"
} >"$DIR/known_hosts"
# The alias's own known_hosts, named by the %n token.
echo "[127.0.0.1]:$P_DEB $(key_of "$F/hosts/ok-debian/ssh_host_ed25519_key.pub")" >"$DIR/kh/aliased-debian"
# Its key, named by the %r token.
cp "$F/client_key" "$DIR/id_for_$ME"

cat >"$DIR/cfg.d/10-alias.conf" <<EOF
# Included: an alias with everything from ssh_config and tokens.
Host aliased-debian
    HostName 127.0.0.1
    Port $P_DEB
    User $ME
    IdentityFile $DIR/id_for_%r
    IdentitiesOnly yes
    UserKnownHostsFile $DIR/kh/%n
EOF
cat >"$DIR/ssh_config" <<EOF
Include $DIR/cfg.d/*.conf
Host target1
    HostName nm-target1.invalid
    Port $P_DEB
    HostKeyAlias target1-key
    ProxyJump b1
Host target2
    HostName nm-target2.invalid
    Port $P_ALP
    ProxyJump $ME@b1,b2
Host behind-hang
    HostName nm-hang.invalid
    Port $P_HANG
    ProxyJump b1
Host badhop
    HostName nm-target1.invalid
    Port $P_DEB
    HostKeyAlias target1-key
    ProxyJump b3
Host unknownhop
    HostName nm-target1.invalid
    Port $P_DEB
    HostKeyAlias target1-key
    ProxyJump b4
Host b1 b3 b4
    HostName 127.0.0.1
    Port $PB1
Host b3
    HostKeyAlias b3-alias
Host b4
    HostKeyAlias b4-alias
Host b2
    HostName nm-b2.invalid
    Port $PB2
Host *
    IdentityFile $F/client_key
    UserKnownHostsFile $DIR/known_hosts
EOF
cat >"$DIR/inv.json" <<EOF
{"hosts": [{"name": "target1"}, {"name": "target2"}, {"name": "aliased-debian"},
           {"name": "badhop"}, {"name": "unknownhop"}]}
EOF
R=$DIR/out/latest.json
st() { jq -r --arg h "$1" '.hosts[] | select(.name == $h) | .status' "$R"; }
err() { jq -r --arg h "$1" '.hosts[] | select(.name == $h) | .error // ""' "$R"; }
show() { jq -c --arg h "$1" '.hosts[] | select(.name == $h) | {status, error, scan}' "$R" | sed 's/^/# /'; }

nm_run_scan 120 "$DIR/scan.log" -i "$DIR/inv.json" -F "$DIR/ssh_config" -o "$DIR/out" \
    --timeout 30 --format json
if [[ ! -s $R ]]; then
    not_ok "scan through the jump hosts wrote a report (exit $RC)"
    sed 's/^/# /' "$DIR/scan.log"
    nm_finish
fi
if [[ $(st target1) == ok && $(jq -r '.hosts[] | select(.name == "target1") | .os.id' "$R") == debian ]]; then
    ok "one hop: target1 scanned through b1 (HostName only b1 can resolve, HostKeyAlias)"
else
    not_ok "one hop: target1 scanned through b1"
    show target1
fi
if jq -e --arg v "$ME@127.0.0.1:$PB1" '.hosts[] | select(.name == "target1") | .scan.via == [$v]' "$R" >/dev/null; then
    ok "the report names the hop (scan.via)"
else
    not_ok "the report names the hop"
    show target1
fi
if grep -q "direct_tcpip.*nm-target1.invalid port $P_DEB" "$DIR/jump/b1/sshd.log"; then
    ok "b1's sshd opened the forwarding to nm-target1.invalid"
else
    not_ok "b1's sshd log shows the forwarding"
    grep -i tcpip "$DIR/jump/b1/sshd.log" | sed 's/^/# /' | head -5
fi
if [[ $(st target2) == ok ]] &&
    jq -e '.hosts[] | select(.name == "target2") | (.scan.via | length) == 2 and .os.id == "alpine"' "$R" >/dev/null; then
    ok "two hops: target2 through b1 then b2 (each name resolvable only by the hop before)"
else
    not_ok "two hops: target2 through b1 then b2"
    show target2
fi
if grep -q "direct_tcpip.*nm-target2.invalid" "$DIR/jump/b2/sshd.log" &&
    grep -q "direct_tcpip.*nm-b2.invalid" "$DIR/jump/b1/sshd.log"; then
    ok "b1 forwarded to b2 and b2 to the target"
else
    not_ok "b1 forwarded to b2 and b2 to the target"
fi
if [[ $(st aliased-debian) == ok ]]; then
    ok "alias: HostName, Port, User, IdentityFile %r, UserKnownHostsFile %n from an Included file"
else
    not_ok "alias from an Included file"
    show aliased-debian
fi
e=$(err badhop)
if [[ $(st badhop) == hostkey_mismatch && $e == *"jump host b3"* && $e == *"HOST KEY CHANGED"* ]]; then
    ok "a hop with a changed key: hostkey_mismatch naming the hop"
else
    not_ok "a hop with a changed key: hostkey_mismatch naming the hop"
    show badhop
fi
e=$(err unknownhop)
if [[ $(st unknownhop) == hostkey_unknown && $e == *"jump host b4"* && $e == *b4-alias* ]]; then
    ok "an unknown hop: hostkey_unknown naming the hop and its HostKeyAlias"
else
    not_ok "an unknown hop: hostkey_unknown naming the hop"
    show unknownhop
fi
if [[ $RC == 2 ]]; then ok "exit 2: some hosts could not be scanned"; else not_ok "exit 2 (got $RC)"; fi

# Without the jump host the name does not resolve here: the tunnel was needed.
nm_run_scan 120 "$DIR/direct.log" -i "$DIR/inv.json" -F "$DIR/ssh_config" -o "$DIR/direct" \
    --timeout 15 --format json --hosts target1 --jump none
if jq -e '.hosts[0].status == "unreachable" and (.hosts[0].error | test("nm-target1.invalid"))' \
    "$DIR/direct/latest.json" >/dev/null; then
    ok "--jump none: target1 is unreachable directly (its name resolves only at b1)"
else
    not_ok "--jump none: target1 is unreachable directly"
    jq -c '.hosts[0] | {status, error}' "$DIR/direct/latest.json" | sed 's/^/# /'
fi

# A target that hangs behind a hop: the host's one deadline covers the
# tunnelled session too.
echo '{"hosts": [{"name": "behind-hang"}]}' >"$DIR/inv-hang.json"
nm_run_scan 60 "$DIR/hang.log" -i "$DIR/inv-hang.json" -F "$DIR/ssh_config" -o "$DIR/hang" \
    --timeout 4 --format json
if jq -e '.hosts[0].status == "timeout" and .hosts[0].scan.duration_ms < 6500' "$DIR/hang/latest.json" >/dev/null; then
    ok "a hung target behind a hop: timeout within its 4 s deadline plus margin"
else
    not_ok "a hung target behind a hop times out within its deadline"
    jq -c '.hosts[0] | {status, error, scan}' "$DIR/hang/latest.json" | sed 's/^/# /'
fi

# --explain-host: every value and its origin, nothing scanned.
"$BIN" scan -i "$DIR/inv.json" -F "$DIR/ssh_config" --explain-host target2 >"$DIR/explain.txt" 2>&1 || :
if grep -q "^  address  *nm-target2.invalid  *ssh_config $DIR/ssh_config:8" "$DIR/explain.txt" &&
    grep -q "^  proxy_jump  *b1 -> b2  *ssh_config $DIR/ssh_config:10" "$DIR/explain.txt" &&
    grep -q "^jump host 2 of 2: b2" "$DIR/explain.txt" &&
    grep -q "^  known_hosts  *$DIR/known_hosts  *ssh_config $DIR/ssh_config:" "$DIR/explain.txt"; then
    ok "--explain-host prints each value with its file and line"
else
    not_ok "--explain-host prints each value with its file and line"
    sed 's/^/# /' "$DIR/explain.txt"
fi
"$BIN" scan -i "$DIR/inv.json" -F "$DIR/ssh_config" --explain-host aliased-debian >"$DIR/explain2.txt" 2>&1 || :
if grep -q "^  identity  *$DIR/id_for_$ME, .*ssh_config $DIR/cfg.d/10-alias.conf:6 and 1 more IdentityFile lines (IdentitiesOnly yes)" "$DIR/explain2.txt"; then
    ok "--explain-host names the Included file and line"
else
    not_ok "--explain-host names the Included file and line"
    sed 's/^/# /' "$DIR/explain2.txt"
fi
# A broken ssh_config stops the run before anything, naming FILE:LINE.
printf 'Host x\n  Port nope\n' >"$DIR/bad_config"
nm_run_scan 30 "$DIR/bad.log" -i "$DIR/inv.json" -F "$DIR/bad_config" -o "$DIR/bad"
if [[ $RC == 1 ]] && grep -q "bad_config:2: Port" "$DIR/bad.log" && [[ ! -e $DIR/bad/latest.json ]]; then
    ok "a bad ssh_config: exit 1, FILE:LINE, nothing written"
else
    not_ok "a bad ssh_config: exit 1 naming FILE:LINE (exit $RC)"
    sed 's/^/# /' "$DIR/bad.log"
fi
nm_finish
