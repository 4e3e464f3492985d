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

nm_finish_counts
