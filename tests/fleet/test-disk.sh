#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-disk.sh BINARY — the disk and SMART checks (checks/disk-space.json,
# fs-readonly.json, kernel-errors.json, smart.json; docs/checks-disk.md)
# against the fake hosts made for them, each a real sshd (README.md here):
#   rocky-disk     /var at 97 % (critical); metrics recorded for every mount
#   smart-failing  SATA disk SMART FAILED (5 Reallocated_Sector_Ct 1975, 197
#                  pending 8) and NVMe with media errors: one critical each
#   nvme-worn      healthy SATA disk, NVMe 85 % used (medium); Docker storage
#                  at 86 % (critical under the /var/lib/docker override)
#   no-smartctl    smart notapplicable (smartctl is not installed)
#   smart-denied   smartctl refused the disk: a finding saying so, never a pass
#   ro-mount       /srv really mounted read-only while fstab says rw (high);
#                  a real dmesg capture: EXT4-fs/BTRFS/I/O errors, an OOM kill
# and that the stubs fail loudly for calls the probes do not make.
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
HOSTS=(rocky-disk smart-failing nvme-worn no-smartctl smart-denied ro-mount)

nm_args "$@"
nm_need_tools jq
CHECKS=$(cd "$HERE/../../checks" && pwd -P)

nm_tempdir nm-disk-test

# show_host NAME FILE [CHECK]: that host's findings and check entries, for the log
# (hjq DESCRIPTION HOST CHECK FILTER, testlib.sh, logs this on failure)
show_host() {
    nm_dump_host "$1" "$2" "${3:-}" 3000 '{status, error, checks: [.checks[] | select($c == "" or .id == $c)],
         findings: [.findings[] | select($c == "" or .check == $c) | del(.item, .evidence)]}'
}

nm_fleet_start "${HOSTS[@]}"
ok "fleet.sh start ${HOSTS[*]}"

scan() { nm_scan_checks "$1"; }

# --- the scan
nm_scan_all_ok

# --- disk-space
hjq "rocky-disk: critical disk-space finding for /var with value 97" rocky-disk disk-space \
    '[.findings[] | select(.check == "disk-space" and .subject == "/var" and .severity == "critical" and .value == 97)] | length == 1'
hjq "rocky-disk: metrics[\"disk-space\"][\"/var\"].avail_kb is recorded (647740)" rocky-disk disk-space \
    '.metrics["disk-space"]["/var"].avail_kb == 647740'
hjq "rocky-disk: metrics recorded for every local mount, findings or not (/ /boot /var /home /srv)" rocky-disk disk-space \
    '.metrics["disk-space"] as $m | ["/", "/boot", "/var", "/home", "/srv"] |
     all(. as $k | $m[$k] | (.avail_kb | type) == "number" and (.use_pct | type) == "number")'
hjq "rocky-disk: /boot and /home are recorded although they have no finding" rocky-disk disk-space \
    '([.findings[] | select(.check == "disk-space") | .subject] | index("/boot") == null and index("/home") == null) and
     (.metrics["disk-space"] | has("/boot") and has("/home"))'
hjq "rocky-disk: pseudo and network filesystems neither judged nor recorded (/mnt/backup nfs4 at 99 %, tmpfs)" rocky-disk disk-space \
    '([.findings[] | select(.check == "disk-space" and (.subject == "/mnt/backup" or .subject == "/run"))] | length == 0) and
     (.metrics["disk-space"] | has("/mnt/backup") or has("/run") or has("/dev/shm") | not)'
hjq "nvme-worn: /var/lib/docker at 86 % is critical under the override (default rules: medium)" nvme-worn disk-space \
    '[.findings[] | select(.check == "disk-space" and .subject == "/var/lib/docker" and .severity == "critical" and .value == 86 and .threshold == 85 and (.message | test("Docker")))] | length == 1'
hjq "nvme-worn: other mounts keep the default thresholds (no finding below 85 %)" nvme-worn disk-space \
    '[.findings[] | select(.check == "disk-space" and .subject != "/var/lib/docker")] | length == 0'

# --- smart
hjq "smart-failing: smart check fails, 2 devices, 2 findings" smart-failing smart \
    '.checks[] | select(.id == "smart") | .result == "fail" and .items == 2 and .findings == 2'
hjq "smart-failing: /dev/sda (model, serial) critical, message names 5 Reallocated_Sector_Ct, value 1975" smart-failing smart \
    '[.findings[] | select(.check == "smart" and .category == "smart" and .severity == "critical" and
        .subject == "/dev/sda Hitachi HDS721050DLE630 MSK423Y20S3HBC" and .value == 1975 and
        (.message | test("ATA 5 Reallocated_Sector_Ct")))] | length == 1'
hjq "smart-failing: /dev/sda item keeps the other reasons (FAILED verdict, 197 pending 8)" smart-failing smart \
    '[.findings[] | select(.check == "smart" and (.subject | startswith("/dev/sda "))) | .item.reasons[].attribute] |
     index("smart_status.passed") != null and index("ata_197_raw") != null'
hjq "smart-failing: /dev/nvme0 (model, serial) critical for 7 media errors" smart-failing smart \
    '[.findings[] | select(.check == "smart" and .severity == "critical" and
        .subject == "/dev/nvme0 Samsung SSD 970 EVO 500GB S466NX0M776250H" and .value == 7 and
        (.message | test("media")))] | length == 1'
hjq "smart-failing: every smart finding has evidence and a remediation" smart-failing smart \
    '[.findings[] | select(.check == "smart")] | all((.evidence | length) > 0 and (.remediation | test("replace")))'
hjq "nvme-worn: /dev/nvme0 medium at 85 % used, the healthy /dev/sda has no finding" nvme-worn smart \
    '[.findings[] | select(.check == "smart")] as $f |
     ($f | length == 1) and ($f[0] | .severity == "medium" and .value == 85 and (.subject | startswith("/dev/nvme0 INTEL"))) and
     (.checks[] | select(.id == "smart") | .result == "warn" and .items == 2)'
hjq "nvme-worn: SMART metrics recorded per device (percentage_used 85, healthy sda too)" nvme-worn smart \
    '.metrics.smart | (.["/dev/nvme0 INTEL SSDPEKNW010T8 BTNH93710FS91P0B"].percentage_used == 85) and
     (.["/dev/sda WDC WD140EDFZ-11A0VA0 9RK1XXXX"].severity == "ok")'
hjq "no-smartctl: smart is notapplicable with the reason and says to install smartmontools" no-smartctl smart \
    '(.checks[] | select(.id == "smart") | .result == "notapplicable" and (.reason | test("smartctl"))
       and (.remediation | test("install smartmontools"; "i"))) and
     ([.findings[] | select(.check == "smart")] | length == 0)'
hjq "smart-denied: smartctl's Permission denied is a finding that says grant sudo for smartctl, not a pass" smart-denied smart \
    '(.checks[] | select(.id == "smart") | .result != "pass") and
     ([.findings[] | select(.check == "smart" and .subject == "/dev/vda" and .severity == "medium" and
        (.message | test("Permission denied")) and (.message | test("grant sudo for smartctl")))] | length == 1)'

# --- fs-readonly
f0=$failed
hjq "ro-mount: fs-readonly high for /srv, message names the mount and the device" ro-mount fs-readonly \
    '[.findings[] | select(.check == "fs-readonly" and .category == "disk" and .severity == "high" and .subject == "/srv" and
        (.message | test("^/srv \\(/dev/|^/srv \\([^)]*\\)")) and (.message | test("read-only")) and (.remediation | test("fsck")))] | length == 1'
if ((failed > f0)); then
    # The bind's type is that of the filesystem the repository is on: a
    # pseudo one (tmpfs, overlay) is ignored by the check, as it should be.
    echo "# ro-mount sees: $(S ro-mount 'cat /proc/mounts' 2>&1 | grep ' /srv ' | head -1)"
fi
hjq "ro-mount: the evidence is the kernel's /proc/mounts line (ro) and the fstab line" ro-mount fs-readonly \
    '[.findings[] | select(.check == "fs-readonly") | .evidence] | length == 1 and
     (.[0] | test(" /srv [^ ]+ ro[, ]") and test("UUID=fcf72662-2328-414d-bed7-7bac9378c3f7 +/srv"))'
for h in smart-failing nvme-worn no-smartctl smart-denied rocky-disk; do
    hjq "$h: no fs-readonly finding (nothing there is ro against fstab)" "$h" fs-readonly \
        '(.checks[] | select(.id == "fs-readonly") | .result == "pass") and ([.findings[] | select(.check == "fs-readonly")] | length == 0)'
done

# --- kernel-errors
hjq "ro-mount: kernel-errors fs_error on loop3, medium, count 2 in the message" ro-mount kernel-errors \
    '[.findings[] | select(.check == "kernel-errors" and .category == "health" and .subject == "fs_error:loop3" and
        .severity == "medium" and .value == 2 and (.message | test("^2 filesystem errors on loop3")))] | length == 1'
hjq "ro-mount: kernel-errors io_error on loop5, medium, count 17" ro-mount kernel-errors \
    '[.findings[] | select(.check == "kernel-errors" and .subject == "io_error:loop5" and .severity == "medium" and
        .value == 17 and (.message | test("17 I/O errors")))] | length == 1'
hjq "ro-mount: one OOM kill is low" ro-mount kernel-errors \
    '[.findings[] | select(.check == "kernel-errors" and .subject == "oom:oom" and .severity == "low" and .value == 1)] | length == 1'
hjq "ro-mount: kernel-errors warns with 4 findings (ext4 loop3, btrfs loop4, I/O loop5, OOM)" ro-mount kernel-errors \
    '.checks[] | select(.id == "kernel-errors") | .result == "warn" and .findings == 4'
hjq "smart-failing: kernel-errors notapplicable without dmesg (hidden, no stub)" smart-failing kernel-errors \
    '.checks[] | select(.id == "kernel-errors") | .result == "notapplicable" and (.reason | test("dmesg"))'

# --- stable fingerprints: a second scan gives the same ones
scan "$DIR/out2"
fp() { jq -c '[.hosts[] | .name as $h | .findings[] | select(.check | test("^(smart|fs-readonly|kernel-errors|disk-space)$")) | [$h, .check, .subject, .fingerprint]] | sort' "$1" 2>/dev/null; }
d="second scan: the same findings with the same fingerprints"
a=$(fp "$R") b=$(fp "$DIR/out2/latest.json")
[[ -n $a && $a != "[]" && $a == "$b" ]] && ok "$d" || not_ok "$d"

# --- the fake hosts themselves: real state, loud stubs
d="ro-mount: /srv is a real read-only mount inside the host (writing fails with EROFS)"
out=$(S ro-mount 'cat /proc/mounts >/dev/null; touch /srv/nearmiss-probe 2>&1; grep " /srv " /proc/mounts' 2>&1) || :
[[ $out == *"Read-only file system"* && $out == *" /srv "*" ro,"* ]] && ok "$d" || { not_ok "$d"; printf '%s\n' "$out" | sed 's/^/#   /'; }
d="ro-mount: outside the host, /srv is untouched"
! grep -q "^[^ ]* /srv [^ ]* ro," /proc/self/mounts && [[ ! -e $HERE/hosts/ro-mount/data/srv/nearmiss-probe ]] && ok "$d" || not_ok "$d"
d="smart-failing: smartctl stub fails loudly for a call the probe does not make (smartctl -a /dev/sda)"
rc=0 out=$(S smart-failing 'smartctl -a /dev/sda' 2>&1) || rc=$?
[[ $rc == 2 && $out == *fakesmartctl-json*unsupported* ]] && ok "$d" || not_ok "$d (exit $rc: $out)"
d="ro-mount: dmesg stub fails loudly for plain dmesg (only dmesg -T is known)"
rc=0 out=$(S ro-mount 'dmesg' 2>&1) || rc=$?
[[ $rc == 2 && $out == *fakedmesg*unsupported* ]] && ok "$d" || not_ok "$d (exit $rc: $out)"
d="no-smartctl: smartctl is absent inside the host"
rc=0 S no-smartctl 'command -v smartctl' >/dev/null 2>&1 || rc=$?
[[ $rc != 0 ]] && ok "$d" || not_ok "$d"

nm_finish
