#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
# test-fleet-smoke.sh — self-test of the fake fleet alone (no scanner): starts
# the test set, looks at it through the plain OpenSSH client, stops it, and
# checks that nothing of ours is left running and nothing outside was touched.
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"

nm_need_sshd
nm_need_tools ssh jq timeout

DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-fleet-smoke.XXXXXX")
cleanup() {
    "$FLEET" stop "$DIR" >/dev/null 2>&1 || :
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() {   # check DESCRIPTION COMMAND... (the command's output is not shown)
    local d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi
}

# What must not change outside the fleet's namespaces.
real_osr=$(sha256sum </etc/os-release)
real_hostname=$(cat /etc/hostname 2>/dev/null || :)
had_reboot_flag=0
[[ -e /run/reboot-required ]] && had_reboot_flag=1

t0=$SECONDS
if ! "$FLEET" start "$DIR" --set test >"$DIR.start.log" 2>&1; then
    cat "$DIR.start.log"
    rm -f "$DIR.start.log"
    echo "not ok 1 - fleet.sh start --set test"
    exit 1
fi
rm -f "$DIR.start.log"
ok "fleet.sh start --set test ($((SECONDS - t0)) s)"

port() { awk -v h="$1" '$1 == h { print $2 }' "$DIR/ports"; }
# plain ssh, nothing from ~/.ssh: our key, our known_hosts, strict checking
nssh() {
    local host=$1
    shift
    ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -i "$DIR/client_key" \
        -o UserKnownHostsFile="$DIR/known_hosts" -o GlobalKnownHostsFile=/dev/null \
        -o StrictHostKeyChecking=yes -o ConnectTimeout=5 -o LogLevel=ERROR \
        -l "$(id -un)" -p "$(port "$host")" 127.0.0.1 "$@"
}

check "status: every host that should run runs" "$FLEET" status "$DIR"
n_defs=$(find "$HERE/hosts" -mindepth 1 -maxdepth 1 -type d | wc -l)
check "inventory.json lists the $n_defs hosts with ports" \
    jq -e --argjson n "$n_defs" '(.hosts | length) == $n and all(.hosts[]; .port > 1024 and .address == "127.0.0.1")
           and .defaults.identity != null and .roles.web.min_healthy == 2' "$DIR/inventory.json"
d="known_hosts: ubuntu-reboot has two keys, unknown-key none"
[[ $(grep -c "^\[127.0.0.1\]:$(port ubuntu-reboot) " "$DIR/known_hosts") == 2 &&
             $(grep -c "^\[127.0.0.1\]:$(port unknown-key) " "$DIR/known_hosts") == 0 ]] && ok "$d" || not_ok "$d"

out=$(nssh ok-debian 'cat /etc/os-release' 2>&1) || :
d="ok-debian: /etc/os-release is Debian 12"
[[ $out == *"ID=debian"* && $out == *"VERSION_ID=\"12\""* ]] && ok "$d" || not_ok "$d"
out=$(nssh ok-debian 'cat /etc/hostname; hostname' 2>&1) || :
d="ok-debian: /etc/hostname and hostname say ok-debian"
[[ $out == "ok-debian"$'\n'"ok-debian" ]] && ok "$d" || not_ok "$d"
out=$(ssh -F "$DIR/ssh_config" ubuntu-reboot '. /etc/os-release; echo "$ID $VERSION_ID"; cat /var/run/reboot-required.pkgs' 2>&1) || :
d="ubuntu-reboot (via DIR/ssh_config): Ubuntu 22.04, reboot-required.pkgs through /var/run"
[[ $out == "ubuntu 22.04"$'\n'"linux-image-5.15.0-91-generic"$'\n'"libc6" ]] && ok "$d" || not_ok "$d"
out=$(nssh rocky-disk 'df -P' 2>&1) || :
d="rocky-disk: df -P shows /var at 97 % and / at 88 %"
[[ $out =~ [[:space:]]97%[[:space:]]+/var($|$'\n') && $out =~ [[:space:]]88%[[:space:]]+/($|$'\n') ]] && ok "$d" || not_ok "$d"
out=$(nssh rocky-disk 'df -P -i' 2>&1) || :
d="rocky-disk: df -P -i shows an inode line at 91 %"
[[ $out == *" 91% /srv"* ]] && ok "$d" || not_ok "$d"
out=$(printf 'echo "script on stdin: $((6 * 7))"\ncommand -v dnf || echo "no dnf"\n' | nssh alpine-ok /bin/sh -s 2>&1) || :
d="alpine-ok: a script sent on stdin to /bin/sh -s runs, real dnf is hidden"
[[ $out == "script on stdin: 42"$'\n'"no dnf" ]] && ok "$d" || not_ok "$d"

rc=0
out=$(nssh unknown-key true 2>&1) || rc=$?
d="unknown-key: rejected with StrictHostKeyChecking=yes"
[[ $rc == 255 && $out == *"verification failed"* ]] && ok "$d" || not_ok "$d"
rc=0
out=$(nssh wrong-key true 2>&1) || rc=$?
d="wrong-key: rejected, the key in known_hosts differs"
[[ $rc == 255 && $out == *"IDENTIFICATION HAS CHANGED"* ]] && ok "$d" || not_ok "$d"
rc=0
out=$(nssh no-auth true 2>&1) || rc=$?
d="no-auth: our key is refused"
[[ $rc == 255 && $out == *"Permission denied"* ]] && ok "$d" || not_ok "$d"
rc=0
out=$(nssh down true 2>&1) || rc=$?
d="down: nothing listens"
[[ $rc == 255 && $out == *"refused"* ]] && ok "$d" || not_ok "$d"

t0=$SECONDS rc=0
out=$(timeout 3 bash -c "$(declare -f nssh port); DIR=$DIR; nssh hang 'echo answered'" 2>&1) || rc=$?
d="hang: logs in, then no answer within 3 s"
[[ $rc == 124 && -z $out ]] && ok "$d" || not_ok "$d"

t0=$SECONDS
bytes=$(nssh flood 'sh -s' </dev/null 2>/dev/null | wc -c) || :
d="flood: 100 MiB on stdout, in $((SECONDS - t0)) s"
[[ $bytes == 104857600 && $((SECONDS - t0)) -lt 30 ]] && ok "$d" || not_ok "$d"

d="the real /etc/os-release is untouched"
[[ $(sha256sum </etc/os-release) == "$real_osr" ]] && ok "$d" || not_ok "$d"
d="the real /etc/hostname is untouched"
[[ $(cat /etc/hostname 2>/dev/null || :) == "$real_hostname" ]] && ok "$d" || not_ok "$d"
d="no /run/reboot-required appeared outside"
[[ $had_reboot_flag == 1 || ! -e /run/reboot-required ]] && ok "$d" || not_ok "$d"

# Stop while the hang host still has a session open: stop must end it too.
timeout 20 bash -c "$(declare -f nssh port); DIR=$DIR; nssh hang 'echo answered'" >/dev/null 2>&1 &
hangpid=$!
sleep 1
# every process of the fleet: the listeners and all below them
tops=$(cat "$DIR"/hosts/*/sshd.pid 2>/dev/null | tr '\n' ' ')
ours=$(ps -e -o pid=,ppid= | awk -v tops=" $tops " '
    { parent[$1] = $2 }
    END {
        for (p in parent)
            for (q = p; q != "" && q > 1; q = parent[q])
                if (index(tops, " " q " ")) { print p; break }
    }' | tr '\n' ' ')
d="the fleet has processes before stop (listeners, the hanging session)"
[[ $(wc -w <<<"$ours") -gt 9 ]] && ok "$d" || not_ok "$d"
"$FLEET" stop "$DIR" >/dev/null 2>&1
leftover=""
for p in $ours; do
    st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    st=${st##*) }
    [[ ${st%% *} == Z ]] || leftover="$leftover $p($(tr '\0' ' ' <"/proc/$p/cmdline"))"
done
leftover="$leftover$(pgrep -a -f "sshd.*-f $DIR/|hostshell.*$DIR/" || :)"
d="stop: no sshd, hostshell or session of ours is left"
[[ -z $leftover ]] && ok "$d" || not_ok "$d"
[[ -z $leftover ]] || echo "# left over: $leftover"
wait "$hangpid" 2>/dev/null || :
check "stop: again is fine (idempotent)" "$FLEET" stop "$DIR"
d="status after stop reports stopped hosts"
! "$FLEET" status "$DIR" >/dev/null 2>&1 && ok "$d" || not_ok "$d"

nm_finish
