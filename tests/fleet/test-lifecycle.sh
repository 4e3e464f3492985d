#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-lifecycle.sh BINARY — the os-lifecycle check (checks/os-lifecycle.json
# with checks/data/lifecycle.json) over real sshd fake hosts whose
# /etc/os-release says Debian 12, Ubuntu 22.04 and 24.04, Rocky 9.3, Alpine
# 3.19.1 and SLES 15 SP5, plus two hosts made here: an Ubuntu 22.04 attached
# to Ubuntu Pro (esm.ubuntu.com in its apt sources) and a Debian whose
# release the data file does not know. Two scans on the run's clock
# (NEARMISS_NOW): 2026-12-01 and 2027-06-01, each host's exact verdict and
# days left.
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
CHECKS=$(cd "$HERE/../../checks" && pwd -P)

nm_args "$@"
nm_need_tools jq
nm_tempdir nm-lifecycle-test

# Two hosts built from committed ones: the fleet looks them up first here.
HD=$DIR/hostdefs
mkdir -p "$HD"
cp -a "$HERE/hosts/ubuntu-reboot" "$HD/ubuntu-esm"
mkdir -p "$HD/ubuntu-esm/root/etc/apt/sources.list.d"
# What `pro attach` writes (deb822 form, Ubuntu 22.04).
cat >"$HD/ubuntu-esm/root/etc/apt/sources.list.d/ubuntu-esm-infra.sources" <<'SRC'
Types: deb
URIs: https://esm.ubuntu.com/infra/ubuntu
Suites: jammy-infra-security jammy-infra-updates
Components: main
Signed-By: /usr/share/keyrings/ubuntu-pro-esm-infra.gpg
SRC
cp -a "$HERE/hosts/ok-debian" "$HD/debian-future"
sed -i 's/^VERSION_ID=.*/VERSION_ID="14"/; s/bookworm/forky/g' "$HD/debian-future/root/etc/os-release"
export NM_FLEET_HOSTS_DIR=$HD

HOSTS=(ok-debian ubuntu-reboot ubuntu-patched rocky-disk alpine-ok suse-patches ubuntu-esm debian-future)
nm_fleet_start "${HOSTS[@]}"

show_host() {
    nm_dump_host "$1" "$R" os-lifecycle 1500 \
        '{status, check: [.checks[] | select(.id == $c)], findings: [(.findings // [])[] | select(.check == $c) | {severity, subject, message, value, item}]}'
}
scan_at() { # NOW OUT
    NEARMISS_NOW=$1 nm_run_scan 120 "$2.log" -i "$INV" --known-hosts "$KH" --identity "$KEY" \
        -c "$CHECKS" -o "$2" --timeout 30 --jobs 8
    echo "# NEARMISS_NOW=$1 nearmiss scan -> exit $RC (${SECS}s)"
    R=$2/latest.json
    nm_need_report "scan at $1: a report"
}
# verdict HOST SEVERITY VALUE PHASE [TEXT]: exactly one os-lifecycle finding
verdict() {
    local h=$1 sev=$2 val=$3 phase=$4 text=${5:-}
    hjq "$NOWTAG $h: one os-lifecycle finding, $sev, $val days, phase $phase${text:+, \"$text\"}" \
        "$h" os-lifecycle \
        '[.findings[] | select(.check == "os-lifecycle")] as $f | ($f | length) == 1 and
         $f[0].severity == $sev and $f[0].value == ($val | tonumber) and
         $f[0].item.phase == $phase and ($f[0].message | contains($t))' \
        --arg sev "$sev" --arg val "$val" --arg phase "$phase" --arg t "$text"
}
none() {
    hjq "$NOWTAG $1: os-lifecycle pass, no finding" "$1" os-lifecycle \
        '([.findings[] | select(.check == "os-lifecycle")] | length) == 0 and
         ([.checks[] | select(.id == "os-lifecycle") | .result] == ["pass"])'
}

NOWTAG=2026-12-01
scan_at 2026-12-01T02:00:00Z "$DIR/out1"
d="scan: exit 0"
[[ $RC == 0 ]] && ok "$d" || not_ok "$d (got $RC)"
for h in "${HOSTS[@]}"; do hjq "$h: status ok" "$h" "" '.status == "ok"'; done
# Debian 12: standard security support ended 2026-07-11, Debian LTS (no
# enrolment needed) runs to 2028-06-30.
verdict ok-debian low 577 extended "Debian LTS"
hjq "ok-debian: subject names the release, source recorded" ok-debian os-lifecycle \
    '[.findings[] | select(.check == "os-lifecycle")][0] |
     .subject == "debian 12" and .item.source == "https://endoflife.date/debian"'
verdict ubuntu-reboot medium 121 standard "leaves security support on 2027-04-01"
verdict ubuntu-esm medium 121 standard
hjq "ubuntu-esm: the probe found the Ubuntu Pro ESM sources" ubuntu-esm os-lifecycle \
    '[.findings[] | select(.check == "os-lifecycle")][0].item.extended_markers == ["ubuntu-esm"]'
hjq "ubuntu-reboot: no extended marker" ubuntu-reboot os-lifecycle \
    '[.findings[] | select(.check == "os-lifecycle")][0].item.extended_markers == []'
none ubuntu-patched
none rocky-disk
verdict alpine-ok critical -395 ended "past every support date"
verdict suse-patches high -700 unsupported "Long Term Service Pack Support (LTSS) until 2027-12-31"
hjq "debian-future: info finding naming the missing release" debian-future os-lifecycle \
    '[.findings[] | select(.check == "os-lifecycle")] as $f | ($f | length) == 1 and
     $f[0].severity == "info" and ($f[0].message | contains("Debian 14 is not in"))'

NOWTAG=2027-06-01
scan_at 2027-06-01T02:00:00Z "$DIR/out2"
verdict ubuntu-reboot high -61 unsupported "no security support since 2027-04-01"
verdict ubuntu-esm low 1774 extended "Ubuntu Pro"
verdict ok-debian low 395 extended

nm_finish
