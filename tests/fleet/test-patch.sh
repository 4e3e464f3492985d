#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-patch.sh BINARY — the patch and reboot checks (checks/patch-apt.json,
# patch-dnf, patch-apk, patch-zypper, reboot-required-rpm) and the JSON-only
# failed-units check against the fake hosts made for them (tests/fleet/hosts/
# debian-patches, ubuntu-patched, rocky-patches, rocky-nodnf, alpine-patches,
# suse-patches, debian-noapt). Their package tools are stubs answering only
# the exact command lines of the probes, with outputs captured from the real
# tools (tests/data/parsers/*/*.in). Per host: the exact findings (packages,
# advisories, severities), the clean host with none, a host without the
# package tool (notapplicable or error with the reason, never pass).
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
REPO=$(cd "$HERE/../.." && pwd -P)
HOSTS=(debian-patches ubuntu-patched rocky-patches rocky-nodnf alpine-patches suse-patches debian-noapt)

nm_args "$@"
nm_need_tools jq

nm_tempdir nm-patch-test

# jqt DESCRIPTION FILTER [jq args]: pass when FILTER yields true on the report
# ($R); on failure show what the filter saw for the host named in $H.
jqt() {
    local d=$1 f=$2
    shift 2
    if ! jcheck "$d" "$@" "$f" "$R"; then
        [[ -z ${H:-} ]] || show_host "$H"
    fi
}
show_host() {
    nm_dump_host "$1" "$R" "" 3000 \
        '{status, error, checks, findings: [(.findings // [])[] | {check, severity, subject, message}]}'
}
# Helpers for the filters: HOST's object, a check's entry, a check's findings.
JQLIB='def host($h): .hosts[] | select(.name == $h);
def check($h; $c): host($h) | .checks[] | select(.id == $c);
def found($h; $c): [host($h) | (.findings // [])[] | select(.check == $c)];
def pairs($h; $c): [found($h; $c)[] | [.subject, .severity]] | sort;'

nm_fleet_start "${HOSTS[@]}"
mkdir -p "$DIR/scripts"

scan() { # OUTDIR LOG [args]: sets RC
    local out=$1 log=$2
    shift 2
    nm_run_scan 120 "$log" -i "$F/inventory.json" --known-hosts "$F/known_hosts" \
        --identity "$F/client_key" -o "$out" --timeout 60 --jobs 8 "$@"
    echo "# nearmiss scan -o $out $* -> exit $RC"
    [[ $RC == 0 ]] || sed -n '1,15s/^/#   /p' "$log"
}

scan "$DIR/out" "$DIR/run1.log" --save-scripts "$DIR/scripts"
R=$DIR/out/latest.json
d="scan: exit 0 (every host scanned)"
[[ $RC == 0 ]] && ok "$d" || not_ok "$d (got $RC)"
if ! jq -e '.schema == "nearmiss.report/1"' "$R" >/dev/null 2>&1; then
    not_ok "scan: a report to read"
    echo "1..$n"
    exit 1
fi
for h in "${HOSTS[@]}"; do
    H=$h jqt "$h: status ok" "$JQLIB"' host($h).status == "ok"' --arg h "$h"
done

# --- debian-patches: 130 pending upgrades, as apt-get -s dist-upgrade printed them
H=debian-patches
APT_IN=$REPO/tests/data/parsers/apt_simulate/debian12-dist-upgrade.in
# The expectation, derived from the captured output by a rule independent of
# the parser: one entry per package of an Inst line, high when the line names
# a -security suite, low otherwise.
awk '$1 == "Inst" && !seen[$2]++ { print $2 "\t" ($0 ~ /-security[] ,]/ ? "high" : "low") }' "$APT_IN" |
    jq -R -s '[split("\n")[] | select(length > 0) | split("\t")] | sort' >"$DIR/apt-expected.json"
if jq -e 'length == 130 and ([.[] | select(.[1] == "high")] | length) == 78' "$DIR/apt-expected.json" >/dev/null; then
    ok "debian-patches: the expectation from the capture has 130 packages, 78 security"
else
    not_ok "debian-patches: the expectation from the capture has 130 packages, 78 security"
fi
jqt "debian-patches: patch-apt findings are exactly the Inst packages (security high, others low)" \
    "$JQLIB"' pairs($h; "patch-apt") == $e[0]' --arg h "$H" --slurpfile e "$DIR/apt-expected.json"
jqt "debian-patches: patch-apt result fail, 130 items, 130 findings" \
    "$JQLIB"' check($h; "patch-apt") | .result == "fail" and .items == 130 and .findings == 130' --arg h "$H"
jqt "debian-patches: libgcrypt20 is high: current → candidate and the security origin in the message" \
    "$JQLIB"' found($h; "patch-apt")[] | select(.subject == "libgcrypt20") |
      .severity == "high" and .category == "patch" and
      (.message | contains("1.10.1-3 → 1.10.1-3+deb12u1")) and
      (.message | contains("Debian-Security:12/oldstable-security"))' --arg h "$H"
jqt "debian-patches: bash (no security origin) is low: 5.2.15-2+b8 → 5.2.15-2+b13 from Debian:12.15/oldstable" \
    "$JQLIB"' found($h; "patch-apt")[] | select(.subject == "bash") |
      .severity == "low" and (.message | contains("5.2.15-2+b8 → 5.2.15-2+b13 from Debian:12.15/oldstable"))' --arg h "$H"
jqt "debian-patches: remediation names apt-get install --only-upgrade PKG and unattended-upgrades" \
    "$JQLIB"' found($h; "patch-apt")[] | select(.subject == "libgcrypt20") |
      (.remediation | contains("apt-get install --only-upgrade libgcrypt20")) and
      (.remediation | contains("unattended-upgrades"))' --arg h "$H"
jqt "debian-patches: every patch-apt finding has a ticket summary and its Inst line as evidence" \
    "$JQLIB"' found($h; "patch-apt") | all(.ticket_summary != null and (.evidence | startswith("Inst ")))' --arg h "$H"
jqt "debian-patches: fingerprints are unique" \
    "$JQLIB"' [host($h).findings[].fingerprint] | length == (unique | length)' --arg h "$H"
jqt "debian-patches: failed-units finds logrotate.service (health, medium, fields from the table parser)" \
    "$JQLIB"' found($h; "failed-units") | length == 1 and (.[0] |
      .subject == "logrotate.service" and .severity == "medium" and .category == "health" and
      .item.load == "loaded" and .item.active == "failed" and .item.sub == "failed" and
      .item.description == "Rotate log files" and (.message | contains("Rotate log files")))' --arg h "$H"
jqt "debian-patches: failed-units result warn" "$JQLIB"' check($h; "failed-units").result == "warn"' --arg h "$H"
jqt "debian-patches: reboot-required-debian pass (no flag file)" \
    "$JQLIB"' check($h; "reboot-required-debian").result == "pass"' --arg h "$H"

# --- ubuntu-patched: nothing to upgrade
H=ubuntu-patched
jqt "ubuntu-patched: os ubuntu 24.04" \
    "$JQLIB"' host($h).os | .id == "ubuntu" and (.version_id | tostring) == "24.04"' --arg h "$H"
jqt "ubuntu-patched: no finding of category patch or reboot" \
    "$JQLIB"' [host($h).findings[] | select(.category == "patch" or .category == "reboot")] | length == 0' --arg h "$H"
jqt "ubuntu-patched: patch-apt pass with 0 items" \
    "$JQLIB"' check($h; "patch-apt") | .result == "pass" and .items == 0' --arg h "$H"
jqt "ubuntu-patched: reboot-required-debian, failed-units, disk-space pass" \
    "$JQLIB"' [check($h; "reboot-required-debian", "failed-units", "disk-space") | .result] == ["pass","pass","pass"]' --arg h "$H"
jqt "ubuntu-patched: the other patch checks are notapplicable (os)" \
    "$JQLIB"' [check($h; "patch-dnf", "patch-apk", "patch-zypper", "reboot-required-rpm") | .result] | all(. == "notapplicable")' --arg h "$H"

# --- rocky-patches: dnf advisories of every severity, a newer kernel installed
H=rocky-patches
cat >"$DIR/dnf-expected.json" <<'EOF'
[["RLSA-2024:2394 kernel", "high"],
 ["RLSA-2024:2394 kernel-core", "high"],
 ["RLSA-2024:2447 openssl", "low"],
 ["RLSA-2024:2447 openssl-libs", "low"],
 ["RLSA-2024:2962 less", "medium"],
 ["RLSA-2024:3339 glibc", "high"],
 ["RLSA-2024:3339 glibc-common", "high"],
 ["RLSA-2024:3501 curl", "critical"],
 ["RLSA-2024:3501 libcurl", "critical"],
 ["RLSA-2024:3766 python3-idna", "low"],
 ["RLBA-2024:2301 tzdata", "low"],
 ["other update NetworkManager", "low"],
 ["other update NetworkManager-libnm", "low"]]
EOF
jqt "rocky-patches: patch-dnf findings: the 10 security advisory+package pairs (Critical→critical, Important→high, Moderate→medium, Low→low, Unknown→low), the bugfix advisory and the 2 updates no advisory names (low)" \
    "$JQLIB"' pairs($h; "patch-dnf") == ($e[0] | sort)' --arg h "$H" --slurpfile e "$DIR/dnf-expected.json"
jqt "rocky-patches: the enhancement advisory for less (RLEA-2024:2500) adds nothing to its security advisory: no finding" \
    "$JQLIB"' [found($h; "patch-dnf")[] | select(.subject | test("RLEA"))] | length == 0' --arg h "$H"
jqt "rocky-patches: NetworkManager from check-update: other update, no advisory covers it" \
    "$JQLIB"' [found($h; "patch-dnf")[] | select(.subject == "other update NetworkManager")] | length == 1 and
      (.[0].message == "other update: NetworkManager 1:1.46.0-8.el9_4 (baseos) is available, no advisory covers it")' --arg h "$H"
jqt "rocky-patches: patch-dnf result fail, 13 items selected (what an advisory already covers is not)" \
    "$JQLIB"' check($h; "patch-dnf") | .result == "fail" and .items == 13 and .findings == 13' --arg h "$H"
jqt "rocky-patches: RLSA-2024:3501 curl: value critical, the NEVRA in the message, dnf upgrade --advisory in the remediation" \
    "$JQLIB"' found($h; "patch-dnf")[] | select(.subject == "RLSA-2024:3501 curl") |
      .value == "critical" and (.message | contains("curl-7.76.1-29.el9_4.x86_64")) and
      (.remediation | contains("dnf upgrade --advisory=RLSA-2024:3501")) and .item.type == "security"' --arg h "$H"
jqt "rocky-patches: reboot-required-rpm fires once, medium, category reboot" \
    "$JQLIB"' found($h; "reboot-required-rpm") | length == 1 and (.[0] | .subject == "reboot" and .severity == "medium" and .category == "reboot")' --arg h "$H"
jqt "rocky-patches: the reboot message says why: running 5.14.0-362.8.1, newest 5.14.0-362.24.1, needs-restarting: glibc, kernel" \
    "$JQLIB"' found($h; "reboot-required-rpm")[0] |
      (.message | contains("running kernel 5.14.0-362.8.1.el9_3.x86_64")) and
      (.message | contains("newest installed 5.14.0-362.24.1.el9_3.x86_64")) and
      (.message | contains("glibc, kernel")) and
      .item.kernel_outdated == true and .item.needs_restarting == true and .item.needs_restarting_rc == 1' --arg h "$H"
jqt "rocky-patches: reboot-required-rpm result warn" "$JQLIB"' check($h; "reboot-required-rpm").result == "warn"' --arg h "$H"

# --- rocky-nodnf: no dnf, no yum, no rpm: never a pass
H=rocky-nodnf
jqt "rocky-nodnf: patch-dnf is an error whose reason says neither dnf nor yum is installed" \
    "$JQLIB"' check($h; "patch-dnf") | .result == "error" and (.reason | contains("neither dnf nor yum is installed"))' --arg h "$H"
jqt "rocky-nodnf: reboot-required-rpm notapplicable: rpm is not installed" \
    "$JQLIB"' check($h; "reboot-required-rpm") | .result == "notapplicable" and .reason == "rpm is not installed"' --arg h "$H"
jqt "rocky-nodnf: no patch finding, and disk-space still ran (pass)" \
    "$JQLIB"' ([host($h).findings[] | select(.category == "patch")] | length == 0) and check($h; "disk-space").result == "pass"' --arg h "$H"

# --- alpine-patches: apk upgradable, all low
H=alpine-patches
jqt "alpine-patches: patch-apk findings are exactly the 8 upgradable packages, all low" \
    "$JQLIB"' pairs($h; "patch-apk") == ([["busybox","busybox-binsh","libcrypto3","libssl3","musl","musl-utils",
      "py3-google-api-python-client-pyc","ssl_client"][] | [., "low"]] | sort)' --arg h "$H"
jqt "alpine-patches: libssl3 3.1.4-r2 → 3.1.4-r5, apk upgrade in the remediation" \
    "$JQLIB"' found($h; "patch-apk")[] | select(.subject == "libssl3") |
      (.message | contains("3.1.4-r2 → 3.1.4-r5")) and (.remediation | contains("apk upgrade libssl3"))' --arg h "$H"
jqt "alpine-patches: patch-apk result warn; failed-units notapplicable (no systemctl)" \
    "$JQLIB"' check($h; "patch-apk").result == "warn" and
      (check($h; "failed-units") | .result == "notapplicable" and .reason == "systemctl is not installed")' --arg h "$H"

# --- suse-patches: a package-manager patch, the others blocked behind it
H=suse-patches
jqt "suse-patches: patch-zypper findings are exactly the 6 needed patches (important→high, moderate→medium, low→low, non-security low)" \
    "$JQLIB"' pairs($h; "patch-zypper") == ([
      ["SUSE-SLE-Module-Basesystem-15-SP5-2024-1871", "high"],
      ["SUSE-SLE-Module-Basesystem-15-SP5-2024-1902", "medium"],
      ["SUSE-SLE-Module-Basesystem-15-SP5-2024-1950", "low"],
      ["SUSE-SLE-Module-Basesystem-15-SP5-2024-2001", "low"],
      ["SUSE-SLE-Module-Basesystem-15-SP5-2024-2100", "low"],
      ["SUSE-SLE-Module-Basesystem-15-SP5-2024-2184", "high"]] | sort)' --arg h "$H"
jqt "suse-patches: the blocked security patch 2024-1871 counts (blocked, openssl-3 in the message)" \
    "$JQLIB"' found($h; "patch-zypper")[] | select(.subject == "SUSE-SLE-Module-Basesystem-15-SP5-2024-1871") |
      .item.blocked == true and (.message | contains("Security update for openssl-3")) and
      (.remediation | contains("zypper install -t patch SUSE-SLE-Module-Basesystem-15-SP5-2024-1871"))' --arg h "$H"
jqt "suse-patches: patch-zypper result fail" "$JQLIB"' check($h; "patch-zypper").result == "fail"' --arg h "$H"

# --- debian-noapt: apt-get hidden
H=debian-noapt
jqt "debian-noapt: patch-apt notapplicable with the reason \"apt-get is not installed\"" \
    "$JQLIB"' check($h; "patch-apt") | .result == "notapplicable" and .reason == "apt-get is not installed"' --arg h "$H"
jqt "debian-noapt: the other checks still ran (disk-space, reboot-required-debian, failed-units pass)" \
    "$JQLIB"' [check($h; "disk-space", "reboot-required-debian", "failed-units") | .result] == ["pass","pass","pass"]' --arg h "$H"
jqt "debian-noapt: no patch finding" \
    "$JQLIB"' [host($h).findings[] | select(.category == "patch")] | length == 0' --arg h "$H"
H=

# --- the probes sent: no index refresh anywhere
d="no probe script refreshes package lists (apt-get update, apk update, zypper refresh, makecache)"
if [[ $(find "$DIR/scripts" -name '*.sh' | wc -l) -eq ${#HOSTS[@]} ]] &&
    ! sed 's/#.*//' "$DIR/scripts"/*.sh |
    grep -Eq 'apt-get +update|apt +update|apk +update|zypper( +[-a-z]+)* +(refresh|ref)( |$)|makecache'; then
    ok "$d"
else
    not_ok "$d"
fi
d="the stubs refuse command lines the probes do not use (apt-get update: exit 2, named)"
set +e
msg=$(ssh -F "$F/ssh_config" debian-patches apt-get update 2>&1)
rc=$?
set -e
[[ $rc == 2 && $msg == *"no canned answer"* ]] && ok "$d" || not_ok "$d (exit $rc: $msg)"

# --- failed-units is a check written only as JSON
d="failed-units exists only as checks/failed-units.json: no C source or header names it"
if ! grep -rIl -e 'failed-units' "$REPO/src" "$REPO/include" >/dev/null 2>&1; then ok "$d"; else
    not_ok "$d ($(grep -rIl -e 'failed-units' "$REPO/src" "$REPO/include" | tr '\n' ' '))"
fi
d="checks show failed-units: the generic table parser on systemctl list-units --failed"
out=$("$BIN" checks show failed-units 2>&1) || :
[[ $out == *"parser: table"* && $out == *"systemctl list-units --failed"* ]] && ok "$d" || not_ok "$d"

# --- checks show patch-dnf prints the thresholds
out=$("$BIN" checks show patch-dnf 2>&1) || :
d="checks show patch-dnf: the severity map (critical→critical, important→high, moderate→medium, low→low, else low)"
[[ $out == *'severity from field "severity"'* && $out == *'"critical":"critical"'* &&
    $out == *'"important":"high"'* && $out == *'"moderate":"medium"'* &&
    $out == *'"low":"low"'* && $out == *'"*":"low"'* ]] && ok "$d" || {
    not_ok "$d"
    printf '%s\n' "$out" | sed 's/^/#   /'
}
d="checks show patch-dnf: the probe with its dnf and yum branches and check-update"
[[ $out == *"t=dnf; u='updateinfo list --available'"* && $out == *"t=yum; u='updateinfo list available'"* &&
   $out == *"\$t \$c check-update"* ]] &&
    ok "$d" || not_ok "$d"

# --- a second scan: same findings, same fingerprints
scan "$DIR/out2" "$DIR/run2.log"
d="a second scan gives the same fingerprints (nothing changing in subjects)"
a=$(jq -r '[.hosts[].findings[].fingerprint] | sort | join(",")' "$R")
b=$(jq -r '[.hosts[].findings[].fingerprint] | sort | join(",")' "$DIR/out2/latest.json" 2>/dev/null) || b=""
[[ -n $a && $a == "$b" ]] && ok "$d" || not_ok "$d"

nm_finish
