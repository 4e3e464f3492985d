#!/usr/bin/env bash
# test-privilege.sh BINARY — root checks on hosts scanned by a login user
# that is not root (nobody), against real sshd fake hosts and the real sudo
# of this machine, inside each host's mount namespace:
#   sudo-full     exactly the drop-in `nearmiss sudoers --user nobody` prints,
#                 installed as /etc/sudoers.d/nearmiss, with the commands at
#                 their real paths (/usr/sbin/smartctl, /usr/bin/dmesg,
#                 /usr/bin/ipmitool): every check whose probe runs exact
#                 commands as root succeeds; the whole-script probe (x509)
#                 is error saying why;
#   sudo-partial  a drop-in allowing only some of them: the refused command
#                 lines are named in the check's error;
#   sudo-all      sudo for everything: the whole-script probe runs too;
#   nonroot-debian no sudo rights at all: error with the lines to allow;
# and Ansible's become variables (become false, become_method su,
# become_user root and another user). The
# drop-in passes `visudo -c`. Exit 0 pass, 1 fail, 77 no sshd or no sudo.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
nm_args "$@"
if ! command -v sudo >/dev/null || ! command -v visudo >/dev/null; then
    echo "1..0 # SKIP sudo and visudo are needed (scripts/deps.sh installs them)"
    exit 77
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "1..0 # SKIP the hosts scanned as nobody need the fleet to run as root"
    exit 77
fi
nm_tempdir nm-privilege-test

HD=$DIR/hostdefs
show_host() {
    nm_dump_host "$1" "$2" "${3:-}" 3000 '{status, error, checks: [.checks[] | select($c == "" or .id == $c)],
         findings: [.findings[] | select($c == "" or .check == $c) | del(.item, .evidence)]}'
}
LIB=$HERE/lib

# A fake host whose root commands sit at their real paths, so that the
# drop-in's full paths are the ones the probes run; DROPIN is installed as
# /etc/sudoers.d/nearmiss inside the host only.
make_host() { # NAME DROPIN-FILE
    local h=$HD/$1
    mkdir -p "$h"
    cp -r "$HERE/hosts/smart-failing/root" "$HERE/hosts/smart-failing/data" "$h/"
    mkdir -p "$h/bin" "$h/root/usr/sbin" "$h/root/usr/bin" "$h/root/etc/sudoers.d" "$h/data/ipmitool"
    for c in df uname apt-get systemctl; do cp "$HERE/hosts/smart-failing/bin/$c" "$h/bin/"; done
    # The stubs in bin/ find lib/ relative to themselves: point them at ours.
    sed -i "s|^d=\${0%/\*}/..\$|d=$HERE/hosts/smart-failing|" "$h"/bin/*
    cp "$HERE/hosts/branch-a/data/ipmitool/"* "$h/data/ipmitool/"
    cp "$HERE/hosts/ro-mount/data/dmesg" "$h/data/dmesg"
    printf '#!/bin/sh\nexec %s/fakesmartctl-json %s/data/smartctl "$@"\n' "$LIB" "$h" >"$h/root/usr/sbin/smartctl"
    printf '#!/bin/sh\nexec %s/fakedmesg %s/data/dmesg "$@"\n' "$LIB" "$h" >"$h/root/usr/bin/dmesg"
    printf '#!/bin/sh\nexec %s/fakecanned ipmitool %s/data/ipmitool/cases "$@"\n' "$LIB" "$h" >"$h/root/usr/bin/ipmitool"
    chmod 0755 "$h/root/usr/sbin/smartctl" "$h/root/usr/bin/dmesg" "$h/root/usr/bin/ipmitool"
    install -m 0440 "$2" "$h/root/etc/sudoers.d/nearmiss"
    # sudo looks its host name up (the fake host's own, set in its UTS
    # namespace): known locally, as on a real host, so no DNS wait.
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$1" >"$h/root/etc/hosts"
    jq -n --arg d "$1: smart-failing's disks, a kernel log and a power supply, scanned as nobody through sudo" \
        '{description: $d, labels: {zone: "c"}, criticality: "medium", behaviour: "unprivileged"}' >"$h/host.json"
}

"$BIN" sudoers --user nobody >"$DIR/dropin" 2>"$DIR/dropin.err" &&
    ok "nearmiss sudoers --user nobody prints a drop-in" ||
    not_ok "nearmiss sudoers: $(cat "$DIR/dropin.err")"
visudo -cf "$DIR/dropin" >/dev/null 2>&1 &&
    ok "the drop-in passes visudo -c" ||
    not_ok "visudo -cf: $(visudo -cf "$DIR/dropin" 2>&1)"
grep -Eq '^nobody ALL=\(root\) NOPASSWD: NEARMISS_ROOT$' "$DIR/dropin" &&
    ! grep -Ev '^#' "$DIR/dropin" | grep -Eq '(/sh|/bash|ALL$|[*])' &&
    ok "the drop-in is NOPASSWD for exact commands: no shell, no ALL command, no '*'" ||
    not_ok "drop-in: $(tr '\n' '|' <"$DIR/dropin")"
grep -Fq '/usr/sbin/smartctl --json\=c -x /dev/sd[a-z] -d sat' "$DIR/dropin" &&
    grep -Fq '/usr/bin/dmesg -T' "$DIR/dropin" && grep -Fq '/bin/dmesg -T' "$DIR/dropin" &&
    grep -Fq '/usr/bin/dmesg ""' "$DIR/dropin" &&
    grep -q 'dmesg is at /usr/bin/dmesg or /bin/dmesg' "$DIR/dropin" &&
    ok "full paths as the probes run them, each distribution's variant with a comment, \"\" for no arguments" ||
    not_ok "drop-in lines: $(tr '\n' '|' <"$DIR/dropin")"
"$BIN" sudoers --user nobody --checks smart >"$DIR/dropin-smart" &&
    grep -q smartctl "$DIR/dropin-smart" && ! grep -q dmesg "$DIR/dropin-smart" &&
    visudo -cf "$DIR/dropin-smart" >/dev/null 2>&1 &&
    ok "--checks smart: only smartctl's lines, still valid" ||
    not_ok "--checks smart: $(tr '\n' '|' <"$DIR/dropin-smart")"

# Some commands only: smartctl may list the devices but not read them, and
# ipmitool is not allowed at all.
printf '%s\n' 'nobody ALL=(root) NOPASSWD: /usr/sbin/smartctl --scan-open, /usr/bin/dmesg -T' >"$DIR/partial"
visudo -cf "$DIR/partial" >/dev/null

printf '%s\n' 'nobody ALL=(ALL) NOPASSWD: ALL' >"$DIR/all"

make_host sudo-full "$DIR/dropin"
make_host sudo-partial "$DIR/partial"
make_host sudo-all "$DIR/all"
NM_FLEET_HOSTS_DIR=$HD nm_fleet_start sudo-full sudo-partial sudo-all nonroot-debian

R=$DIR/o1/latest.json
nm_run_scan 120 "$DIR/o1.log" -i "$INV" -o "$DIR/o1" --timeout 60
echo "# nearmiss scan -> exit $RC"
res() { jq -r --arg h "$1" --arg c "$2" '.hosts[] | select(.name == $h) | .checks[] | select(.id == $c) | "\(.result) \(.reason // "")"' "$R"; }

[[ $(jq -r '.hosts[] | select(.name == "sudo-full") | "\(.status) \(.uid)"' "$R") == "ok 65534" ]] &&
    ok "sudo-full scanned as uid 65534" ||
    not_ok "sudo-full: $(jq -c '.hosts[] | select(.name == "sudo-full") | {status, uid, error}' "$R")"
for c in smart kernel-errors power-supplies; do
    r=$(res sudo-full "$c")
    [[ $r != error* && -n $r ]] && ok "with exactly the drop-in: $c runs as root through sudo (${r%% *})" ||
        not_ok "with the drop-in: $c: $r"
done
hjq "sudo-full: smart sees smart-failing's disks through sudo (critical findings, not an empty pass)" sudo-full smart \
    '[.findings[] | select(.check == "smart" and .severity == "critical")] | length >= 2'
r=$(res sudo-full cert-expiry)
[[ $r == error*"whole script as root"* ]] &&
    ok "cert-expiry (a whole-script probe) says no exact command can allow it" ||
    not_ok "sudo-full cert-expiry: $r"

r=$(res sudo-all cert-expiry)$(res sudo-all smart)
[[ $r != *error* && $r == *fail* ]] &&
    ok "sudo for everything: whole-script probes (cert-expiry) run too, and smart" ||
    not_ok "sudo-all: $r"

r=$(res sudo-partial smart)
[[ $r == error*"sudo -n refused to run '/usr/sbin/smartctl --json=c -x /dev/sda -d sat'"* &&
   $r == *"/usr/sbin/smartctl --json=c -x /dev/sd[a-z] -d sat"* ]] &&
    ok "some commands allowed: smart is error naming the refused command line and the lines to allow" ||
    not_ok "sudo-partial smart: $r"
r=$(res sudo-partial power-supplies)
[[ $r == error*"'/usr/bin/ipmitool sdr type Power Supply'"* ]] &&
    ok "some commands allowed: power-supplies names ipmitool's exact line" ||
    not_ok "sudo-partial power-supplies: $r"
r=$(res sudo-partial kernel-errors)
[[ $r != error* && -n $r ]] && ok "some commands allowed: kernel-errors (dmesg -T allowed) runs" ||
    not_ok "sudo-partial kernel-errors: $r"

r=$(res nonroot-debian smart)
[[ $r == error*"needs root"*"sudo -n refuses: it wants a password"*"/usr/sbin/smartctl --scan-open"* ]] &&
    ok "no sudo rights: smart is error saying sudo wants a password, with the commands to allow" ||
    not_ok "nonroot-debian smart: $r"

# Ansible's become variables, on the host that has the full drop-in.
port=$(awk '$1 == "sudo-full" { print $2 }' "$F/ports")
for become in false su root daemon; do
    case $become in
    false) vars='{"ansible_become": false}' ;;
    su) vars='{"ansible_become_method": "su"}' ;;
    *) vars="{\"ansible_become_user\": \"$become\"}" ;;
    esac
    jq -n --argjson v "$vars" --arg p "$port" --arg k "$KEY" \
        '{_meta: {hostvars: {"sudo-full": ({ansible_host: "127.0.0.1", ansible_port: $p,
          ansible_ssh_private_key_file: $k} + $v)}}, all: {children: ["ungrouped"]},
          ungrouped: {hosts: ["sudo-full"]}}' >"$DIR/ansible-$become.json"
    nm_run_scan 120 "$DIR/a-$become.log" -i "$DIR/ansible-$become.json" --known-hosts "$KH" \
        -o "$DIR/a-$become" --timeout 60
    R=$DIR/a-$become/latest.json
    r=$(res sudo-full smart)
    case $become in
    false)
        [[ $r == error*"ansible_become to false"* ]] &&
            ok "ansible_become false: sudo is never run, and the error says so" ||
            not_ok "become false: $r ($(tail -3 "$DIR/a-$become.log"))" ;;
    su)
        [[ $r == error*"ansible_become_method to su"* ]] &&
            ok "ansible_become_method su: the error names the method nearmiss does not use" ||
            not_ok "become_method su: $r ($(tail -3 "$DIR/a-$become.log"))" ;;
    root)
        [[ $r == fail* ]] &&
            ok "ansible_become_user root: sudo -n -u root, allowed by the (root) drop-in" ||
            not_ok "become_user root: $r ($(tail -3 "$DIR/a-$become.log"))" ;;
    daemon)
        [[ $r == error*"sudo -n refused to run '/usr/sbin/smartctl --scan-open'"* ]] &&
            ok "ansible_become_user daemon: sudo -n -u daemon is not what the drop-in allows, and the error says which command" ||
            not_ok "become_user daemon: $r ($(tail -3 "$DIR/a-$become.log"))" ;;
    esac
done

nm_finish
