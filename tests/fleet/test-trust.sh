#!/usr/bin/env bash
# test-trust.sh BINARY — where host keys are trusted from, and Ansible's way
# of naming a bastion, against real OpenSSH sshd:
#
#  1. the global known_hosts file (ssh's GlobalKnownHostsFile, here through
#     NEARMISS_GLOBAL_KNOWN_HOSTS) next to the user's: for each case the
#     OpenSSH client is run on the same two files first, and nearmiss must
#     reach the same verdict (a key in either file verifies; a changed key
#     only in the global file is a change; @revoked in either rejects);
#     --accept-new appends to the user file only;
#  2. @cert-authority: an sshd with a HostCertificate signed by a CA trusted
#     for [127.0.0.1]:PORT.  The OpenSSH client verifies the certificate and
#     logs in; libssh2 never negotiates a certificate host key algorithm
#     (the sshd log shows which one each client got), so nearmiss sees the
#     plain key and says why the host is unknown;
#  3. an `ansible-inventory --list` inventory whose hosts are reachable only
#     through a bastion named in ansible_ssh_common_args/extra_args (-o
#     ProxyJump=, -o ProxyCommand="ssh -W %h:%p ..."): their names resolve
#     only in the bastion's own /etc/hosts.
# Exit 0 pass, 1 fail, 77 no sshd.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
nm_args_plain "$@"
nm_need_tools jq unshare mount python3 ssh ssh-keygen getent sha256sum

DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-trust-test.XXXXXX")
EXTRA_PIDS=() JUMP_PIDS=()
cleanup() {
    local p
    for p in "${EXTRA_PIDS[@]}" "${JUMP_PIDS[@]}"; do kill "$p" 2>/dev/null || :; done
    nm_fleet_stop
    if ((failed)) || [[ -n ${NM_KEEP:-} ]]; then
        echo "# kept $DIR"
    else
        rm -rf "$DIR"
    fi
}
trap cleanup EXIT

"$FLEET" start "$DIR/fleet" ok-debian alpine-ok ubuntu-patched rocky-disk >"$DIR/fleet.log" 2>&1 ||
    { sed 's/^/# /' "$DIR/fleet.log"; exit 1; }
F=$DIR/fleet
KEY=$F/client_key
port_of() { awk -v h="$1" '$1 == h { print $2 }' "$F/ports"; }
P_DEB=$(port_of ok-debian) P_ALP=$(port_of alpine-ok) P_UBU=$(port_of ubuntu-patched)
P_ROC=$(port_of rocky-disk)
ME=$(id -un)
export HOME=$DIR/home
mkdir -p "$HOME/.ssh"
unset SSH_AUTH_SOCK
key_of() { cut -d' ' -f1,2 "$1"; }
hostkey() { key_of "$F/hosts/$1/ssh_host_ed25519_key.pub"; }
ssh-keygen -q -t ed25519 -N '' -C nm-other -f "$DIR/other_key" </dev/null
OTHER=$(key_of "$DIR/other_key.pub")
. "$HERE/lib-jump.sh"
st() { jq -r --arg h "$1" '.hosts[] | select(.name == $h) | .status' "$R"; }
err() { jq -r --arg h "$1" '.hosts[] | select(.name == $h) | .error // ""' "$R"; }
show() { jq -c --arg h "$1" '.hosts[] | select(.name == $h) | {status, error, scan}' "$R" | sed 's/^/# /'; }
# The OpenSSH client on the same files: 0 when it logs in.
real_ssh() { # PORT USERFILE GLOBALFILE
    ssh -F none -i "$KEY" -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=20 \
        -o UserKnownHostsFile="$2" -o GlobalKnownHostsFile="$3" -p "$1" "$ME@127.0.0.1" true \
        </dev/null >"$DIR/ssh.out" 2>&1
}

# ---- 1. the global known_hosts ----
U=$DIR/user_known_hosts G=$DIR/global_known_hosts
{
    echo "# the user's"
    echo "[127.0.0.1]:$P_ALP $OTHER"         # alpine-ok: a stale key here ...
    echo "[127.0.0.1]:$P_UBU $(hostkey ubuntu-patched)"
} >"$U"
{
    echo "# the machine's"
    echo "[127.0.0.1]:$P_DEB $(hostkey ok-debian)"     # ok-debian: known here only
    echo "[127.0.0.1]:$P_ALP $(hostkey alpine-ok)"     # ... and the right one here
    echo "@revoked * $(hostkey ubuntu-patched)"        # ubuntu-patched: revoked here
    echo "[127.0.0.1]:$P_ROC $OTHER"                   # rocky-disk: changed, here only
} >"$G"
cat >"$DIR/inv-kh.json" <<EOF
{"defaults": {"identity": "$KEY", "user": "$ME", "known_hosts": "$U"},
 "hosts": [{"name": "ok-debian", "address": "127.0.0.1", "port": $P_DEB},
           {"name": "alpine-ok", "address": "127.0.0.1", "port": $P_ALP},
           {"name": "ubuntu-patched", "address": "127.0.0.1", "port": $P_UBU},
           {"name": "rocky-disk", "address": "127.0.0.1", "port": $P_ROC}]}
EOF
declare -A SSH_RC WANT=([ok-debian]=ok [alpine-ok]=ok [ubuntu-patched]=hostkey_mismatch
    [rocky-disk]=hostkey_mismatch)
declare -A PORT_OF=([ok-debian]=$P_DEB [alpine-ok]=$P_ALP [ubuntu-patched]=$P_UBU [rocky-disk]=$P_ROC)
for h in ok-debian alpine-ok ubuntu-patched rocky-disk; do
    rc=0
    real_ssh "${PORT_OF[$h]}" "$U" "$G" || rc=$?
    SSH_RC[$h]=$rc
    cp "$DIR/ssh.out" "$DIR/ssh-$h.out"
done
G_SUM=$(sha256sum <"$G")
R=$DIR/kh/latest.json
NEARMISS_GLOBAL_KNOWN_HOSTS="$DIR/missing_file $G" nm_run_scan 120 "$DIR/kh.log" \
    -i "$DIR/inv-kh.json" -F none -o "$DIR/kh" --timeout 30 --format json
nm_need_report "scan with a global known_hosts wrote a report (exit $RC)"
for h in ok-debian alpine-ok ubuntu-patched rocky-disk; do
    want=${WANT[$h]}
    if [[ $want == ok ]]; then ssh_ok=$((SSH_RC[$h] == 0)); else ssh_ok=$((SSH_RC[$h] != 0)); fi
    if [[ $(st "$h") == "$want" ]] && ((ssh_ok)); then
        ok "$h: $want, as the OpenSSH client decides on the same two files (ssh exit ${SSH_RC[$h]})"
    else
        not_ok "$h: $want, as the OpenSSH client decides (ssh exit ${SSH_RC[$h]})"
        show "$h"
        sed 's/^/# ssh: /' "$DIR/ssh-$h.out" | head -5
    fi
done
if grep -q "REVOKED HOST KEY" "$DIR/ssh-ubuntu-patched.out" &&
    [[ $(err ubuntu-patched) == *"marked @revoked in $G:4"* ]]; then
    ok "@revoked in the global file rejects the key the user file lists (both clients; file:line named)"
else
    not_ok "@revoked in the global file: named with file:line"
    show ubuntu-patched
fi
if grep -q "IDENTIFICATION HAS CHANGED" "$DIR/ssh-rocky-disk.out" &&
    [[ $(err rocky-disk) == *"HOST KEY CHANGED"*"$G:5 holds another key"* ]]; then
    ok "a changed key listed only in the global file: HOST KEY CHANGED naming $G:5"
else
    not_ok "a changed key in the global file names it"
    show rocky-disk
fi

# --accept-new: a host neither file knows is recorded in the user file only.
cat >"$DIR/inv-new.json" <<EOF
{"defaults": {"identity": "$KEY", "user": "$ME", "known_hosts": "$U"},
 "hosts": [{"name": "fresh", "address": "localhost", "port": $P_DEB}]}
EOF
U_LINES=$(wc -l <"$U")
R=$DIR/new/latest.json
NEARMISS_GLOBAL_KNOWN_HOSTS=$G nm_run_scan 120 "$DIR/new.log" -i "$DIR/inv-new.json" -F none \
    -o "$DIR/new" --timeout 30 --format json --accept-new
if [[ $(st fresh) == ok && $(wc -l <"$U") == $((U_LINES + 1)) ]] &&
    grep -q "^\[localhost\]:$P_DEB ssh-ed25519 " "$U" && [[ $(sha256sum <"$G") == "$G_SUM" ]]; then
    ok "--accept-new appends to the user file; the global file is never written"
else
    not_ok "--accept-new appends to the user file only"
    show fresh
    sed 's/^/# user: /' "$U"
fi
NEARMISS_GLOBAL_KNOWN_HOSTS=$G "$BIN" scan -i "$DIR/inv-new.json" -F none --explain-host fresh \
    >"$DIR/explain-kh.txt" 2>&1 || :
if grep -q "^  global_kh  *$G  *environment (NEARMISS_GLOBAL_KNOWN_HOSTS)" "$DIR/explain-kh.txt"; then
    ok "--explain-host names the global known_hosts files"
else
    not_ok "--explain-host names the global known_hosts files"
    sed 's/^/# /' "$DIR/explain-kh.txt"
fi

# ---- 2. @cert-authority and a real HostCertificate ----
C=$DIR/certhost
mkdir -p "$C"
ssh-keygen -q -t ed25519 -N '' -C nm-test-host-ca -f "$DIR/host_ca" </dev/null
cp "$F/hosts/ok-debian/ssh_host_ed25519_key.pub" "$C/host.pub"
ssh-keygen -q -s "$DIR/host_ca" -I nm-certhost -h -n 127.0.0.1,certhost.test -V -5m:+1h \
    "$C/host.pub" 2>"$C/keygen.log"
PC=$(free_port)
# The ok-debian host (its keys, shell and plan) on another port, with the
# certificate of its ed25519 key.
sed -e "s|^ListenAddress .*|ListenAddress 127.0.0.1:$PC|" -e "s|^PidFile .*|PidFile $C/sshd.pid|" \
    -e "s|^LogLevel .*|LogLevel DEBUG1|" "$F/hosts/ok-debian/sshd_config" >"$C/sshd_config"
grep -q '^LogLevel' "$C/sshd_config" || echo "LogLevel DEBUG1" >>"$C/sshd_config"
echo "HostCertificate $C/host-cert.pub" >>"$C/sshd_config"
/usr/sbin/sshd -t -f "$C/sshd_config"
/usr/sbin/sshd -D -f "$C/sshd_config" -E "$C/sshd.log" </dev/null &
EXTRA_PIDS+=($!)
for ((i = 0; i < 100; i++)); do
    grep -q "Server listening" "$C/sshd.log" 2>/dev/null && break
    sleep 0.1
done
CA_G=$DIR/ca_known_hosts CA_U=$DIR/ca_user_known_hosts
{
    echo "# a CA trusted for the host"
    echo "@cert-authority [127.0.0.1]:$PC,certhost.test $(key_of "$DIR/host_ca.pub")"
} >"$CA_G"
: >"$CA_U"
rc=0
real_ssh "$PC" "$CA_U" "$CA_G" || rc=$?
cp "$DIR/ssh.out" "$DIR/ssh-cert.out"
if ((rc == 0)) && grep -q "kex: host key algorithm: ssh-ed25519-cert-v01@openssh.com" "$C/sshd.log"; then
    ok "the OpenSSH client logs in on the @cert-authority line alone (ssh-ed25519-cert-v01 negotiated)"
else
    not_ok "the OpenSSH client logs in on the certificate (ssh exit $rc)"
    sed 's/^/# ssh: /' "$DIR/ssh.out" | head -5
    grep 'host key algorithm' "$C/sshd.log" | sed 's/^/# sshd: /'
fi
cat >"$DIR/inv-cert.json" <<EOF
{"hosts": [{"name": "certhost", "address": "127.0.0.1", "port": $PC, "identity": "$KEY",
            "user": "$ME", "known_hosts": "$CA_U"}]}
EOF
ALG_LINES=$(grep -c "kex: host key algorithm:" "$C/sshd.log")
R=$DIR/cert/latest.json
NEARMISS_GLOBAL_KNOWN_HOSTS=$CA_G nm_run_scan 120 "$DIR/cert.log" -i "$DIR/inv-cert.json" -F none \
    -o "$DIR/cert" --timeout 30 --format json
e=$(err certhost)
V=$(dpkg-query -W -f '${Version}' libssh2-1 2>/dev/null | sed 's/-.*//') || V=
if [[ $(st certhost) == hostkey_unknown && $e == *"trusted through @cert-authority in $CA_G:2"* &&
    $e == *"cannot verify (no certificate host key algorithms)"* && $e == *"libssh2 ${V}"* ]]; then
    ok "nearmiss: hostkey_unknown, naming the @cert-authority line and why libssh2 cannot use it"
else
    not_ok "nearmiss explains the @cert-authority host"
    show certhost
fi
if tail -n +"$((ALG_LINES + 1))" "$C/sshd.log" | grep "kex: host key algorithm:" | grep -vq cert; then
    ok "the sshd log shows libssh2 got the plain key, not the certificate"
else
    not_ok "the sshd log shows a plain host key algorithm for nearmiss"
    grep 'host key algorithm' "$C/sshd.log" | sed 's/^/# sshd: /'
fi
# Trusting the plain key (the remedy the message gives) makes it scannable.
NEARMISS_GLOBAL_KNOWN_HOSTS=$CA_G nm_run_scan 120 "$DIR/cert2.log" -i "$DIR/inv-cert.json" -F none \
    -o "$DIR/cert2" --timeout 30 --format json --accept-new
R=$DIR/cert2/latest.json
if [[ $(st certhost) == ok ]] && grep -q "^\[127.0.0.1\]:$PC ssh-ed25519 " "$CA_U" &&
    [[ $(grep -c . "$CA_G") == 2 ]]; then
    ok "--accept-new records its plain key in the user file, then it scans"
else
    not_ok "--accept-new on the certificate host"
    show certhost
fi

# ---- 3. Ansible: hosts behind a bastion named in ansible_ssh_*_args ----
PB=$(free_port)
start_jump bastion "$PB" nm-web1.invalid nm-web2.invalid nm-web3.invalid
B=$DIR/jump/bastion
# As on an Ansible control node: the key and known_hosts in ~/.ssh; the hop
# reaches the bastion with them (ssh -J passes no -i to the hop either).
cp "$KEY" "$HOME/.ssh/id_ed25519"
{
    echo "[127.0.0.1]:$PB $(key_of "$B/host_key.pub")"
    echo "[nm-web1.invalid]:$P_DEB $(hostkey ok-debian)"
    echo "[nm-web2.invalid]:$P_ALP $(hostkey alpine-ok)"
} >"$HOME/.ssh/known_hosts"
python3 - "$DIR/ansible.json" "$ME" "$PB" "$P_DEB" "$P_ALP" <<'EOF'
import json, sys
out, me, pb, p_deb, p_alp = sys.argv[1:]
hv = {
    "web1": {"ansible_host": "nm-web1.invalid", "ansible_port": int(p_deb),
             "ansible_ssh_common_args":
                 f"-o ProxyJump={me}@127.0.0.1:{pb} -o StrictHostKeyChecking=no"},
    "web2": {"ansible_host": "nm-web2.invalid", "ansible_port": p_alp,
             "ansible_ssh_extra_args": f"-o ProxyCommand=\"ssh -W %h:%p -q -p {pb} {me}@127.0.0.1\""},
    "web3": {"ansible_host": "nm-web3.invalid", "ansible_port": int(p_deb),
             "ansible_ssh_common_args": "-o 'ProxyCommand=nc -X connect -x proxy:3128 %h %p'"},
}
doc = {"_meta": {"hostvars": hv}, "all": {"children": ["ungrouped", "web"]},
       "web": {"hosts": ["web1", "web2", "web3"]}}
json.dump(doc, open(out, "w"), indent=2)
EOF
if ! getent hosts nm-web1.invalid >/dev/null && ! getent hosts nm-web2.invalid >/dev/null; then
    ok "the targets' names do not resolve here (only the bastion's /etc/hosts has them)"
else
    not_ok "the targets' names must not resolve outside the bastion"
fi
R=$DIR/ans/latest.json
NEARMISS_GLOBAL_KNOWN_HOSTS='' nm_run_scan 120 "$DIR/ans.log" -i "$DIR/ansible.json" -F none \
    -o "$DIR/ans" --timeout 30 --format json
nm_need_report "scan of the Ansible inventory wrote a report (exit $RC)"
if [[ $(st web1) == ok ]] && jq -e '.hosts[] | select(.name == "web1") | .os.id == "debian"' "$R" >/dev/null &&
    grep -q "direct_tcpip.*nm-web1.invalid port $P_DEB" "$B/sshd.log"; then
    ok "web1: -o ProxyJump= in ansible_ssh_common_args: scanned through the bastion"
else
    not_ok "web1 through the bastion (-o ProxyJump=)"
    show web1
fi
if [[ $(st web2) == ok ]] && jq -e '.hosts[] | select(.name == "web2") | .os.id == "alpine"' "$R" >/dev/null &&
    grep -q "direct_tcpip.*nm-web2.invalid port $P_ALP" "$B/sshd.log"; then
    ok "web2: -o ProxyCommand=\"ssh -W %h:%p -q -p PORT user@bastion\" read as a jump"
else
    not_ok "web2 through the bastion (ProxyCommand ssh -W)"
    show web2
fi
e=$(err web3)
if [[ $(st web3) == unreachable && $e == *"host web3"* && $e == *"nc -X connect -x proxy:3128 %h %p"* ]] &&
    ! grep -q "nm-web3.invalid" "$B/sshd.log"; then
    ok "web3: another ProxyCommand: unreachable, naming the host and the command; no direct attempt"
else
    not_ok "web3: an unsupported ProxyCommand is an error naming it"
    show web3
fi
if grep -q "warning: host web1: ansible_ssh_common_args: -o StrictHostKeyChecking=no not followed" "$DIR/ans.log"; then
    ok "StrictHostKeyChecking=no is reported as not followed (the key was verified anyway)"
else
    not_ok "StrictHostKeyChecking=no is reported"
    sed 's/^/# /' "$DIR/ans.log" | head -10
fi
"$BIN" scan -i "$DIR/ansible.json" -F none --explain-host web2 >"$DIR/explain-ans.txt" 2>&1 || :
if grep -q "^  proxy_jump  *127.0.0.1  *inventory .*(host web2: ProxyCommand read as ProxyJump)" "$DIR/explain-ans.txt" &&
    grep -q "^  port  *$PB  *ProxyJump of web2" "$DIR/explain-ans.txt" &&
    grep -q "^  user  *$ME  *ProxyJump of web2" "$DIR/explain-ans.txt"; then
    ok "--explain-host web2 shows the ProxyCommand read as ProxyJump"
else
    not_ok "--explain-host web2 shows the jump"
    sed 's/^/# /' "$DIR/explain-ans.txt"
fi
nm_finish
