#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-spof.sh BINARY — the host-level single-point-of-failure checks
# (checks/raid-md.json, zfs-pools.json, bonding.json, dns-resolvers.json,
# time-sync.json, power-supplies.json; docs/checks-spof.md) and the fleet
# rules that read what two of them record, against the fake hosts made for
# them, each a real sshd (README.md here):
#   raid-degraded  md0 raid1 [2/1] with a failed member, md1 raid6 rebuilding
#                  (27.4 %), md2 raid1 resyncing (37.1 %), md3 raid0 (no
#                  finding), md4 one-disk raid1; ZFS pool tank DEGRADED;
#                  PS2 failing; two resolvers and two time sources (pass)
#   net-fragile    one resolver, clock not synchronised, bond0 (802.3ad) with
#                  a link down, bond1 with one slave; ipmitool without a BMC
#   branch-a/b     role branch-office: both hang on 198.51.100.1 for DNS and
#                  time (role-shared-dns, role-shared-ntp); one PSU each
#   ok-debian      zpool and ipmitool absent: notapplicable
# and that the stubs are honest (the real head reads the fixture; anything
# not canned is refused loudly).
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
HOSTS=(raid-degraded net-fragile branch-a branch-b ok-debian net-single-nic)

nm_args "$@"
nm_need_tools jq
CHECKS=$(cd "$HERE/../../checks" && pwd -P)

nm_tempdir nm-spof-test
todo=0

# show_host NAME FILE [CHECK]: that host's entries for CHECK, for the log
# (hjq DESCRIPTION HOST CHECK FILTER, testlib.sh, logs this on failure)
show_host() {
    nm_dump_host "$1" "$2" "${3:-}" 3000 '{status, error, checks: [.checks[] | select($c == "" or .id == $c)],
         findings: [.findings[] | select($c == "" or .check == $c) | del(.item, .evidence, .remediation)],
         metrics: (if $c == "" then null else .metrics[$c] end)}'
}
# fjq DESCRIPTION FILTER: FILTER runs on the whole report
fjq() {
    if ! jcheck "$1" "$2" "$R"; then
        jq -c '.fleet_findings' "$R" 2>/dev/null | cut -c1-2000 | sed 's/^/# /'
    fi
}
# finding HOST CHECK SUBJECT: the jq expression selecting that finding
finding() { printf '[.findings[] | select(.check == "%s" and .subject == "%s")]' "$2" "$3"; }

nm_fleet_start "${HOSTS[@]}"
ok "fleet.sh start ${HOSTS[*]}"

scan() { nm_scan_checks "$1"; }

nm_scan_all_ok
SPOF='^(raid-md|zfs-pools|bonding|dns-resolvers|time-sync|power-supplies)$'
jqt_all() {
    local d=$1 f=$2
    jcheck "$d" --arg re "$SPOF" "$f" "$R" || :
}
# (evidence may be empty only where nothing answered: time-sync's info finding)
jqt_all "every finding of the six checks has category spof, a 64-hex fingerprint, evidence and a remediation" \
    '[.hosts[].findings[] | select(.check | test($re))] | length > 0 and
     all(.category == "spof" and (.fingerprint | test("^[0-9a-f]{64}$")) and
         (.evidence | type == "string") and ((.evidence | length) > 0 or .severity == "info") and (.remediation | type == "string" and length > 0))'

# The test machine's own kernel shows through where no fixture stands in:
# no md or bonding driver there means no arrays or bonds on those hosts.
host_has_md=0 host_has_bonds=0
[[ -e /proc/mdstat ]] && host_has_md=1
[[ -e /sys/class/net/bonding_masters ]] && host_has_bonds=1

# --- raid-md
hjq "raid-degraded: raid-md fails with 5 arrays and 4 findings (md3 raid0 is not one)" raid-degraded raid-md \
    '.checks[] | select(.id == "raid-md") | .result == "fail" and .items == 5 and .findings == 4'
hjq "raid-degraded: /dev/md0 high, 1 failed member sdh1, [U_]" raid-degraded raid-md \
    "$(finding raid-degraded raid-md /dev/md0)"' | length == 1 and (.[0] | .severity == "high" and .value == 1 and
       (.message | test("1 failed member\\(s\\): sdh1")) and (.message | test("1 of 2 members active \\[U_\\]")) and
       (.evidence | test("md0 : active raid1 sdh1\\[1\\]\\(F\\) sda1\\[0\\]")))'
hjq "raid-degraded: /dev/md1 raid6 degraded and rebuilding is high, value = progress 27.4, finish 118.3min" raid-degraded raid-md \
    "$(finding raid-degraded raid-md /dev/md1)"' | length == 1 and (.[0] | .severity == "high" and .value == 27.4 and
       (.message | test("raid6")) and (.message | test("5 of 6 members active \\[UUUU_U\\]")) and
       (.message | test("recovery 27.4% done")) and (.message | test("118.3min")))'
hjq "raid-degraded: /dev/md2 raid1 [2/2] resync is low and says why, value = progress 37.1" raid-degraded raid-md \
    "$(finding raid-degraded raid-md /dev/md2)"' | length == 1 and (.[0] | .severity == "low" and .value == 37.1 and
       (.message | test("resync 37.1% done")) and (.message | test("every member is active and holds a copy")))'
hjq "raid-degraded: /dev/md4, a clean raid1 [1/1], is high: single leg" raid-degraded raid-md \
    "$(finding raid-degraded raid-md /dev/md4)"' | length == 1 and (.[0] | .severity == "high" and (.message | test("single leg")) and
       (.message | test("1 of 1 members active \\[U\\]")))'
hjq "raid-degraded: /dev/md3 (raid0) has no finding but is recorded" raid-degraded raid-md \
    "($(finding raid-degraded raid-md /dev/md3) | length == 0) and .metrics[\"raid-md\"].md3.level == \"raid0\""
hjq "raid-degraded: metrics raid-md md1 {action recovery, progress_pct 27.4, members 5/6}, md0 single_leg" raid-degraded raid-md \
    '.metrics["raid-md"] | .md1.action == "recovery" and .md1.progress_pct == 27.4 and .md1.members_active == 5 and
       .md1.members_total == 6 and .md0.single_leg == true and .md0.failed == 1'
if ((host_has_md)); then
    skip "net-fragile/branch-a/ok-debian: raid-md with no arrays (this machine has a real /proc/mdstat)"
else
    for h in net-fragile branch-a ok-debian; do
        hjq "$h: no /proc/mdstat: raid-md passes with 0 items" "$h" raid-md \
            '.checks[] | select(.id == "raid-md") | .result == "pass" and .items == 0'
    done
fi

# --- zfs-pools
hjq "raid-degraded: zfs-pools fails, 2 pools, tank DEGRADED high naming sdl UNAVAIL, rpool no finding" raid-degraded zfs-pools \
    '(.checks[] | select(.id == "zfs-pools") | .result == "fail" and .items == 2 and .findings == 1) and
     ([.findings[] | select(.check == "zfs-pools")] | length == 1 and (.[0] | .subject == "tank" and .severity == "high" and
       .value == "DEGRADED" and (.message | test("sdl UNAVAIL")))) and
     .metrics["zfs-pools"].rpool.healthy == true and .metrics["zfs-pools"].tank.state == "DEGRADED"'
for h in net-fragile branch-a ok-debian; do
    hjq "$h: zfs-pools notapplicable (zpool is not installed)" "$h" zfs-pools \
        '.checks[] | select(.id == "zfs-pools") | .result == "notapplicable" and (.reason | test("zpool"))'
done

# --- power-supplies
hjq "raid-degraded: power-supplies fails: PS2 Status high (Failure detected), PS1 and the summary quiet" raid-degraded power-supplies \
    '(.checks[] | select(.id == "power-supplies") | .result == "fail" and .items == 3 and .findings == 1) and
     ([.findings[] | select(.check == "power-supplies")] | length == 1 and (.[0] | .subject == "PS2 Status" and
       .severity == "high" and (.message | test("Failure detected"))))'
for h in branch-a branch-b; do
    hjq "$h: one PSU in a one-slot chassis: medium for 'power supplies'" "$h" power-supplies \
        '[.findings[] | select(.check == "power-supplies")] | length == 1 and (.[0] | .subject == "power supplies" and
           .severity == "medium" and (.message | test("single power supply")))'
done
hjq "net-fragile: ipmitool without a BMC device: power-supplies passes with 0 items (not an error)" net-fragile power-supplies \
    '.checks[] | select(.id == "power-supplies") | .result == "pass" and .items == 0'
hjq "ok-debian: power-supplies notapplicable (ipmitool is not installed)" ok-debian power-supplies \
    '.checks[] | select(.id == "power-supplies") | .result == "notapplicable" and (.reason | test("ipmitool"))'

# --- bonding
hjq "net-fragile: bonding warns: 2 bonds, 2 findings" net-fragile bonding \
    '.checks[] | select(.id == "bonding") | .result == "warn" and .items == 2 and .findings == 2'
hjq "net-fragile: bond0 (802.3ad) medium, ens1f1 down, 1 of 2 links up" net-fragile bonding \
    "$(finding net-fragile bonding bond0)"' | length == 1 and (.[0] | .severity == "medium" and
       (.message | test("802.3ad")) and (.message | test("ens1f1 down, 1 of 2 links up")) and (.evidence | test("ens1f1")))'
hjq "net-fragile: bond1 with a single slave is low" net-fragile bonding \
    "$(finding net-fragile bonding bond1)"' | length == 1 and (.[0] | .severity == "low" and (.message | test("single slave")))'
hjq "net-fragile: metrics bonding bond0 {slaves_up 1, slaves_total 2, aggregator_ports 1}" net-fragile bonding \
    '.metrics.bonding.bond0 | .slaves_up == 1 and .slaves_total == 2 and .aggregator_ports == 1 and .degraded == true'
if ((host_has_bonds)); then
    skip "raid-degraded/ok-debian: no bonds (this machine has the bonding driver)"
else
    for h in raid-degraded ok-debian; do
        hjq "$h: no bonding driver: bonding passes with 0 items" "$h" bonding \
            '.checks[] | select(.id == "bonding") | .result == "pass" and .items == 0'
    done
fi

# --- dns-resolvers
hjq "net-fragile: dns-resolvers medium for 'name resolution', naming 192.0.2.53" net-fragile dns-resolvers \
    "$(finding net-fragile dns-resolvers "name resolution")"' | length == 1 and (.[0] | .severity == "medium" and
       (.message | test("single DNS server, 192\\.0\\.2\\.53")))'
hjq "net-fragile: recorded metrics dns-resolvers[name resolution] {upstream [192.0.2.53], single true}" net-fragile dns-resolvers \
    '.metrics["dns-resolvers"]["name resolution"] | .upstream == ["192.0.2.53"] and .single == true'
hjq "raid-degraded: two resolvers: dns-resolvers passes; recorded single false, both upstreams" raid-degraded dns-resolvers \
    '(.checks[] | select(.id == "dns-resolvers") | .result == "pass" and .items == 1) and
     .metrics["dns-resolvers"]["name resolution"].single == false and
     .metrics["dns-resolvers"]["name resolution"].upstream == ["192.0.2.53", "192.0.2.54"]'
for h in branch-a branch-b; do
    hjq "$h: dns-resolvers medium naming 198.51.100.1; recorded upstream [198.51.100.1], single true" "$h" dns-resolvers \
        "($(finding "$h" dns-resolvers "name resolution")"' | length == 1 and .[0].severity == "medium" and
           (.[0].message | test("198\\.51\\.100\\.1"))) and
         (.metrics["dns-resolvers"]["name resolution"] | .upstream == ["198.51.100.1"] and .single == true)'
done

# --- time-sync
hjq "net-fragile: time-sync medium for 'clock': not synchronised, chrony, 0 usable of 3 sources" net-fragile time-sync \
    "$(finding net-fragile time-sync clock)"' | length == 1 and (.[0] | .severity == "medium" and
       (.message | test("not synchronised: chrony has 0 usable of 3 sources")) and (.evidence | test("Not synchronised")))'
hjq "net-fragile: recorded time-sync[clock] {synchronized false, 3 sources}" net-fragile time-sync \
    '.metrics["time-sync"].clock | .synchronized == false and (.sources | length) == 3 and .daemon == "chrony"'
hjq "raid-degraded: synchronised on two usable sources: time-sync passes with no finding" raid-degraded time-sync \
    '(.checks[] | select(.id == "time-sync") | .result == "pass" and .findings == 0) and
     .metrics["time-sync"].clock.usable_sources == 2'
for h in branch-a branch-b; do
    hjq "$h: time-sync low: synchronised to its single usable source 198.51.100.1; recorded sources [198.51.100.1], single_source true" "$h" time-sync \
        "($(finding "$h" time-sync clock)"' | length == 1 and .[0].severity == "low" and
           (.[0].message | test("single usable time source \\(198\\.51\\.100\\.1"))) and
         (.metrics["time-sync"].clock | .sources == ["198.51.100.1"] and .single_source == true and .synchronized == true)'
done
hjq "ok-debian: no timedatectl, chronyc or ntpq: time-sync passes with one info finding saying so" ok-debian time-sync \
    '(.checks[] | select(.id == "time-sync") | .result == "pass") and
     ([.findings[] | select(.check == "time-sync")] | length == 1 and .[0].severity == "info" and
       (.[0].message | test("could not be seen")))'
hjq "ok-debian: no spof finding above medium" ok-debian "" \
    '[.findings[] | select(.category == "spof" and (.severity == "high" or .severity == "critical"))] | length == 0'

# --- default route over one physical NIC, on critical hosts only
hjq "net-single-nic (criticality high): low default-route-nic, subject \"default route via eth0\", names the NIC" \
    net-single-nic default-route-nic \
    "($(finding x default-route-nic "default route via eth0") | length == 1 and
      (.[0] | .severity == \"low\" and .category == \"spof\" and (.message | test(\"single physical NIC eth0\")))) and
     (.checks[] | select(.id == \"default-route-nic\") | .result == \"warn\" and .items == 1)"
hjq "ok-debian (criticality high, no ip command on the fake host): default-route-nic notapplicable, says ip is missing" \
    ok-debian default-route-nic \
    '.checks[] | select(.id == "default-route-nic") | .result == "notapplicable" and (.reason | test("ip is not installed"))'
hjq "branch-a (criticality medium): default-route-nic notapplicable by criticality" branch-a default-route-nic \
    '.checks[] | select(.id == "default-route-nic") | .result == "notapplicable" and (.reason | test("criticality"))'

# --- fleet rules fed by the recorded metrics
fjq "role-shared-dns: role branch-office, medium, names branch-a and branch-b and the server 198.51.100.1" \
    '[.fleet_findings[] | select(.check == "role-shared-dns" and .subject == "role branch-office")] | length == 1 and
     (.[0] | .severity == "medium" and .category == "spof" and (.hosts | sort) == ["branch-a", "branch-b"] and
      .details.server == "198.51.100.1" and (.message | test("single DNS resolver 198\\.51\\.100\\.1")))'
fjq "role-shared-ntp: role branch-office, medium, names branch-a and branch-b and the source 198.51.100.1" \
    '[.fleet_findings[] | select(.check == "role-shared-ntp" and .subject == "role branch-office")] | length == 1 and
     (.[0] | .severity == "medium" and (.hosts | sort) == ["branch-a", "branch-b"] and
      .details.server == "198.51.100.1" and (.message | test("single time source 198\\.51\\.100\\.1")))'
fjq "no role-shared-dns/ntp for a role with fewer than two scanned hosts (web: ok-debian only)" \
    '[.fleet_findings[] | select((.check == "role-shared-dns" or .check == "role-shared-ntp") and .subject != "role branch-office")] | length == 0'

# --- stable fingerprints: a second scan gives the same ones
scan "$DIR/out2"
fp() { jq -c --arg re "$SPOF" '[.hosts[] | .name as $h | .findings[] | select(.check | test($re)) | [$h, .check, .subject, .fingerprint]] | sort' "$1" 2>/dev/null; }
d="second scan: the same spof findings with the same fingerprints"
a=$(fp "$R") b=$(fp "$DIR/out2/latest.json")
[[ -n $a && $a != "[]" && $a == "$b" ]] && ok "$d" || not_ok "$d"

# --- the fake hosts themselves: real tools on served files, loud stubs
d="raid-degraded: the real head reads the served /proc/mdstat (head -n 2) and other files untouched"
out=$(S raid-degraded 'head -n 2 /proc/mdstat; head -n 1 /etc/debian_version' 2>&1) || :
[[ $out == $'Personalities : [raid1] [raid6] [raid5] [raid4] [linear] [multipath] [raid0] [raid10] \nmd4 : active raid1 nvme2n1p1[0]\n12'* ]] &&
    ok "$d" || { not_ok "$d"; printf '%s\n' "$out" | sed 's/^/#   /'; }
d="net-fragile: cat serves bonding_masters, head the bond files"
out=$(S net-fragile 'cat /sys/class/net/bonding_masters; head -n 3 /proc/net/bonding/bond1 | tail -n 1' 2>&1) || :
[[ $out == $'bond0 bond1\nBonding Mode: fault-tolerance (active-backup)' ]] && ok "$d" || { not_ok "$d"; printf '%s\n' "$out" | sed 's/^/#   /'; }
d="raid-degraded: zpool stub refuses a call the probe does not make (zpool status)"
rc=0 out=$(S raid-degraded 'zpool status' 2>&1) || rc=$?
[[ $rc == 2 && $out == *"no canned answer"* ]] && ok "$d" || not_ok "$d (exit $rc: $out)"
d="ok-debian: ipmitool, zpool, mdadm, timedatectl are absent inside the host"
rc=0 S ok-debian 'command -v ipmitool || command -v zpool || command -v mdadm || command -v timedatectl' >/dev/null 2>&1 || rc=$?
[[ $rc != 0 ]] && ok "$d" || not_ok "$d"

nm_finish
