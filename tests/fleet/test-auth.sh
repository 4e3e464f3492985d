#!/usr/bin/env bash
# shellcheck disable=SC2015,SC2088 # SC2088: "~/.ssh" in a description
# test-auth.sh BINARY — how the scanner authenticates, against one real sshd
# of the fake fleet (ok-debian): an encrypted key without a passphrase is a
# clear auth_failed (never a hang or a prompt); with --passphrase-file it
# logs in; with no identity anywhere it uses ssh-agent; with no agent and no
# ~/.ssh/id_* it says what it tried. Exit 0 pass, 1 fail, 77 no sshd.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
nm_args_plain "$@"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-auth-test.XXXXXX")
AGENT_PID=
cleanup() {
    [[ -n $AGENT_PID ]] && kill "$AGENT_PID" 2>/dev/null
    nm_fleet_stop
    rm -rf "$DIR"
}
trap cleanup EXIT

status_of() { jq -r '.hosts[] | select(.name == "ok-debian") | .status' "$1/latest.json"; }
check_of() { # OUT HOST CHECK FIELD
    jq -r --arg h "$2" --arg c "$3" '.hosts[] | select(.name == $h) | .checks[] | select(.id == $c) | .'"$4" "$1/latest.json"
}
error_of() { jq -r '.hosts[] | select(.name == "ok-debian") | .error' "$1/latest.json"; }

"$FLEET" start "$DIR/fleet" ok-debian nonroot-debian >"$DIR/fleet.log" 2>&1 || { sed 's/^/# /' "$DIR/fleet.log"; exit 1; }
F=$DIR/fleet
# The same host, reachable with the fleet's key material, but the inventory
# names no identity: each case below supplies (or withholds) one its own way.
jq 'del(.defaults.identity) | .hosts |= map(del(.identity))' "$F/inventory.json" >"$DIR/inv.json"
# An isolated HOME so the machine's own ~/.ssh keys cannot make a case pass.
export HOME=$DIR/home
mkdir -p "$HOME/.ssh"
unset SSH_AUTH_SOCK

# An encrypted copy of the client key.
cp "$F/client_key" "$DIR/enc_key"
chmod 600 "$DIR/enc_key"
ssh-keygen -q -p -N 'correct horse' -f "$DIR/enc_key" >/dev/null
printf 'correct horse\n' >"$DIR/pass"
printf 'wrong\n' >"$DIR/badpass"

run() { # OUTDIR ARGS...
    local out=$1
    shift
    RC=0
    timeout 60 "$BIN" scan -q -i "$DIR/inv.json" --known-hosts "$F/known_hosts" -o "$out" \
        --timeout 10 "$@" >/dev/null 2>&1 || RC=$?
}

run "$DIR/o1" --identity "$DIR/enc_key"
[[ $(status_of "$DIR/o1") == auth_failed && $(error_of "$DIR/o1") == *"encrypted"*"--passphrase-file"* ]] &&
    ok "encrypted key without passphrase: auth_failed saying how to fix it" ||
    not_ok "encrypted key without passphrase: $(status_of "$DIR/o1") / $(error_of "$DIR/o1")"
[[ $RC == 2 ]] && ok "exit 2 when the only host could not be scanned" || not_ok "exit $RC, expected 2"

run "$DIR/o2" --identity "$DIR/enc_key" --passphrase-file "$DIR/pass"
[[ $(status_of "$DIR/o2") == ok && $RC == 0 ]] && ok "encrypted key with --passphrase-file: ok" ||
    not_ok "encrypted key with passphrase: $(status_of "$DIR/o2") / $(error_of "$DIR/o2")"

run "$DIR/o3" --identity "$DIR/enc_key" --passphrase-file "$DIR/badpass"
[[ $(status_of "$DIR/o3") == auth_failed ]] && ok "wrong passphrase: auth_failed" ||
    not_ok "wrong passphrase: $(status_of "$DIR/o3") / $(error_of "$DIR/o3")"

run "$DIR/o4"
[[ $(status_of "$DIR/o4") == auth_failed && $(error_of "$DIR/o4") == *"no agent"* ]] &&
    ok "no identity, no agent, no ~/.ssh keys: auth_failed naming what was tried" ||
    not_ok "no key at all: $(status_of "$DIR/o4") / $(error_of "$DIR/o4")"

eval "$(ssh-agent -s)" >/dev/null
AGENT_PID=$SSH_AGENT_PID
ssh-add -q "$F/client_key" 2>/dev/null
run "$DIR/o5"
[[ $(status_of "$DIR/o5") == ok ]] && ok "ssh-agent key used when no identity is given" ||
    not_ok "agent: $(status_of "$DIR/o5") / $(error_of "$DIR/o5")"
kill "$AGENT_PID"
AGENT_PID=
unset SSH_AUTH_SOCK

cp "$F/client_key" "$HOME/.ssh/id_ed25519"
chmod 600 "$HOME/.ssh/id_ed25519"
run "$DIR/o6"
[[ $(status_of "$DIR/o6") == ok ]] && ok "~/.ssh/id_ed25519 used when there is no agent" ||
    not_ok "default key: $(status_of "$DIR/o6") / $(error_of "$DIR/o6")"

# A login user without root and without sudo: the probes that need root are
# not run and their checks say why; everything else is scanned as usual.
run "$DIR/o7" --identity "$F/client_key"
R7=$DIR/o7/latest.json
[[ $(jq -r '.hosts[] | select(.name == "nonroot-debian") | "\(.status) \(.uid)"' "$R7") == "ok 65534" ]] &&
    ok "non-root login: host scanned as uid 65534" ||
    not_ok "non-root login: $(jq -c '.hosts[] | select(.name == "nonroot-debian") | {status, uid, error}' "$R7")"
for c in smart cert-expiry; do
    [[ $(check_of "$DIR/o7" nonroot-debian "$c" result) == error &&
       $(check_of "$DIR/o7" nonroot-debian "$c" reason) == *"needs root"*"sudo -n"* ]] &&
        ok "non-root login: $c (needs root) is error saying it needs root and sudo -n" ||
        not_ok "non-root login: $c: $(check_of "$DIR/o7" nonroot-debian "$c" result) / $(check_of "$DIR/o7" nonroot-debian "$c" reason)"
done
[[ $(check_of "$DIR/o7" nonroot-debian smart remediation) == *"sudo"* ]] &&
    ok "non-root login: the smart check says what to do (scan as root or grant sudo)" ||
    not_ok "non-root login: smart remediation: $(check_of "$DIR/o7" nonroot-debian smart remediation)"
[[ $(check_of "$DIR/o7" nonroot-debian disk-space result) == pass &&
   $(check_of "$DIR/o7" ok-debian smart result) == pass ]] &&
    ok "non-root login: checks without root still run (disk-space pass); as root smart passes" ||
    not_ok "non-root login: disk-space $(check_of "$DIR/o7" nonroot-debian disk-space result), root smart $(check_of "$DIR/o7" ok-debian smart result)"

# Key formats: an Ed25519 key in PEM (PKCS#8, clear and encrypted) is
# decoded once per run by the scanner itself, an ECDSA key is handed to
# libssh2 from memory. OpenSSH's ssh-keygen cannot read PKCS#8 Ed25519, so
# the public half is put in the SSH wire form here: string "ssh-ed25519",
# string of the 32 key bytes (the tail of the DER SubjectPublicKeyInfo).
pem_pub() { # KEY [PASS]
    { printf '\000\000\000\013ssh-ed25519\000\000\000\040'
      openssl pkey -in "$1" ${2:+-passin "pass:$2"} -pubout -outform DER | tail -c 32; } | base64 -w0
}
openssl genpkey -algorithm ed25519 -out "$DIR/pem_key" 2>/dev/null
openssl pkcs8 -topk8 -v2 aes256 -in "$DIR/pem_key" -out "$DIR/pem_enc_key" -passout 'pass:correct horse'
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$DIR/ecdsa_key"
chmod 600 "$DIR/pem_key" "$DIR/pem_enc_key"
{ echo "ssh-ed25519 $(pem_pub "$DIR/pem_key") pem"; cat "$DIR/ecdsa_key.pub"; } >>"$F/authorized_keys"
run "$DIR/o8" --identity "$DIR/pem_key"
[[ $(status_of "$DIR/o8") == ok ]] && ok "Ed25519 key in PKCS#8 PEM: ok" ||
    not_ok "PKCS#8 key: $(status_of "$DIR/o8") / $(error_of "$DIR/o8")"
run "$DIR/o9" --identity "$DIR/pem_enc_key" --passphrase-file "$DIR/pass"
[[ $(status_of "$DIR/o9") == ok ]] && ok "encrypted PKCS#8 Ed25519 key with --passphrase-file: ok" ||
    not_ok "encrypted PKCS#8 key: $(status_of "$DIR/o9") / $(error_of "$DIR/o9")"
run "$DIR/o10" --identity "$DIR/pem_enc_key"
[[ $(status_of "$DIR/o10") == auth_failed && $(error_of "$DIR/o10") == *"encrypted"* ]] &&
    ok "encrypted PKCS#8 key without passphrase: auth_failed saying it is encrypted" ||
    not_ok "encrypted PKCS#8 key, no passphrase: $(status_of "$DIR/o10") / $(error_of "$DIR/o10")"
run "$DIR/o11" --identity "$DIR/ecdsa_key"
[[ $(status_of "$DIR/o11") == ok ]] && ok "ECDSA key (decoded by libssh2 from memory): ok" ||
    not_ok "ECDSA key: $(status_of "$DIR/o11") / $(error_of "$DIR/o11")"

# The identity is read once per run, not once per host: two hosts, one open.
if command -v strace >/dev/null; then
    strace -f -qq -e trace=open,openat -o "$DIR/strace.log" "$BIN" scan -q -i "$DIR/inv.json" \
        --known-hosts "$F/known_hosts" -o "$DIR/o12" --timeout 30 --identity "$F/client_key" \
        >/dev/null 2>&1 || :
    opens=$(grep -c "\"$F/client_key\"" "$DIR/strace.log" || :)
    scanned=$(jq '[.hosts[] | select(.status == "ok")] | length' "$DIR/o12/latest.json")
    [[ $opens == 1 && $scanned == 2 ]] && ok "identity file opened once for a run of 2 hosts" ||
        not_ok "identity file opened $opens times for $scanned hosts scanned (expected 1 for 2)"
else
    skip "strace not installed"
fi

# A host whose script idles for 3 s: the waiting thread sleeps until output
# comes or its deadline, with no idle wakeups (polls that end with nothing).
if command -v strace >/dev/null; then
    mkdir -p "$DIR/idle-checks"
    cat >"$DIR/idle-checks/idle.json" <<'JSON'
{ "id": "idle", "title": "T", "category": "health", "subject": "{line}", "message": "{line}",
  "probe": { "id": "idle", "script": "sleep 3; echo done" },
  "parser": "lines", "rules": [ { "field": "line", "op": "match", "value": "never", "severity": "low" } ] }
JSON
    strace -f -qq -e trace=poll -o "$DIR/poll.log" "$BIN" scan -q -i "$DIR/inv.json" \
        --known-hosts "$F/known_hosts" -c "$DIR/idle-checks" -o "$DIR/o16" --timeout 30 \
        --identity "$F/client_key" --hosts ok-debian >/dev/null 2>&1 || :
    idle=$(grep -c '= 0 (Timeout)' "$DIR/poll.log" || :)
    [[ $(status_of "$DIR/o16") == ok && $idle == 0 ]] &&
        ok "a host idle for 3 s: no poll woke up for nothing" ||
        not_ok "idle host: $(status_of "$DIR/o16"), $idle polls ended with nothing (expected 0)"
else
    skip "strace not installed"
fi

# Packets libssh2 sends back to back leave together: each send is held
# (MSG_MORE) until the session waits for the host, and pushed then.  So
# NEWKEYS and the service request share a segment, as do the script and its
# EOF: at least two groups fewer than sends.  No wait may begin with a packet
# still held (the host could be waiting for it: a 200 ms stall).
if command -v strace >/dev/null; then
    strace -f -qq -e trace=sendto,setsockopt,poll,close -o "$DIR/send.log" "$BIN" scan -q \
        -i "$DIR/inv.json" --known-hosts "$F/known_hosts" -o "$DIR/o17" --timeout 30 \
        --identity "$F/client_key" --hosts ok-debian >/dev/null 2>&1 || :
    got=$(nm_send_groups "$DIR/send.log")
    [[ $(status_of "$DIR/o17") == ok && $got =~ ^sends=([0-9]+)\ groups=([0-9]+)\ held_waits=0$ &&
        ${BASH_REMATCH[1]} -ge 10 && ${BASH_REMATCH[2]} -le $((BASH_REMATCH[1] - 2)) ]] &&
        ok "back-to-back packets leave together, none held over a wait ($got)" ||
        not_ok "sends: $(status_of "$DIR/o17"), $got (expected at least 10 sends in at least 2 fewer groups, no held wait)"
else
    skip "strace not installed"
fi

# The one identity asked for does not exist: said so, not "refused".
run "$DIR/o13" --identity "$DIR/no-such-key"
[[ $(status_of "$DIR/o13") == auth_failed && $(error_of "$DIR/o13") == *"no-such-key is not readable"* ]] &&
    ok "missing identity file: auth_failed naming the file" ||
    not_ok "missing identity: $(status_of "$DIR/o13") / $(error_of "$DIR/o13")"

# The last cases change the host's sshd (reloaded by SIGHUP): its log at
# DEBUG1 names the method of every auth request.
CFG=$F/hosts/ok-debian/sshd_config
LOG=$F/hosts/ok-debian/sshd.log
reload_sshd() {
    kill -HUP "$(cat "$F/hosts/ok-debian/sshd.pid")"
    sleep 1
}
methods_since() { # LINE: the auth methods the client asked for after that log line
    tail -n +"$(($1 + 1))" "$LOG" | sed -nE 's/.*userauth-request for user [^ ]+ service [^ ]+ method ([a-z-]+).*/\1/p' |
        sort -u | tr '\n' ' '
}
sed -i 's/^LogLevel VERBOSE/LogLevel DEBUG1/' "$CFG"
reload_sshd

# A login with the right key asks for nothing else: no "none" request, whose
# only use is the list of methods, costs a round trip.
mark=$(wc -l <"$LOG")
run "$DIR/o15" --identity "$F/client_key"
asked=$(methods_since "$mark")
[[ $(status_of "$DIR/o15") == ok && $asked == "publickey " ]] &&
    ok "a good key logs in with publickey requests alone" ||
    not_ok "good key: $(status_of "$DIR/o15"), methods asked: '$asked' (expected 'publickey ')"

# A server that takes passwords only: the keys are tried first, then the
# methods are asked for ("none") to say why.
sed -i 's/^PubkeyAuthentication yes/PubkeyAuthentication no/; s/^PasswordAuthentication no/PasswordAuthentication yes/' "$CFG"
reload_sshd
mark=$(wc -l <"$LOG")
run "$DIR/o14" --identity "$F/client_key"
asked=$(methods_since "$mark")
[[ $(status_of "$DIR/o14") == auth_failed && $(error_of "$DIR/o14") == *'accepts only "password'*'public keys only'* ]] &&
    ok "password-only server: auth_failed saying which methods it accepts" ||
    not_ok "password-only server: $(status_of "$DIR/o14") / $(error_of "$DIR/o14")"
[[ $asked == "none publickey " ]] && ok "password-only server: the key first, then the methods asked for" ||
    not_ok "password-only server: methods asked: '$asked' (expected 'none publickey ')"

nm_finish_counts
