#!/usr/bin/env bash
# Checks read `[[ condition ]] && ok "$d" || not_ok "$d"`; ok never fails.
# shellcheck disable=SC2015,SC2016
#
# test-history.sh BINARY — history, forecasts, trends and the ledger over
# eight nightly scans (NEARMISS_NOW 2026-12-01T02:00:00Z + N days) of two
# fake hosts whose fixtures change between the scans (docs/history.md,
# docs/ledger.md):
#   hist-a  /srv/data fills 5 % a day from 70 % and is cleaned on day 4
#           (forecast 4.0 then 3.0 days, resolved at once); renew.pem counts
#           down from 10 days and is renewed on day 7 with 4 left (near
#           miss, margin 4 days, 168 h to fix); lapse.pem expires on day 3
#           and is left to lapse (miss); /dev/sda's reallocated sectors grow
#           from 2 to 6 on day 2 (raised medium -> high, "grew from 2 to 6")
#   hist-b  /var at 91 % (high) throughout; unreachable on day 2 (nothing
#           resolved, nothing reopened), waived from day 3 (still there,
#           never resolved)
# Exit 0 pass, 1 fail, 77 skip (only when /usr/sbin/sshd is absent).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"

nm_args "$@"
nm_need_tools jq openssl sqlite3
CHECKS=$(cd "$HERE/../../checks" && pwd -P)
LIB=$HERE/lib

nm_tempdir nm-history-test

BASE=1796090400 # 2026-12-01T02:00:00Z
DAY=86400
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
at() { date -u -d "@$1" +%Y%m%d%H%M%SZ; }

# ---- host definitions, made here so their data can change between scans --
HD=$DIR/hostdefs
make_host() { # NAME DESCRIPTION
    local h=$HD/$1
    mkdir -p "$h"
    cp -r "$HERE/hosts/ok-debian/root" "$HERE/hosts/ok-debian/data" "$h/"
    mkdir -p "$h/bin"
    # The committed stubs find lib/ relative to hosts/; these are elsewhere.
    for s in "$HERE"/hosts/ok-debian/bin/*; do
        sed "s#\"\$d/../../lib/#\"$LIB/#" "$s" >"$h/bin/${s##*/}"
        chmod 755 "$h/bin/${s##*/}"
    done
    printf '{ "description": "%s", "labels": { "zone": "a" } }\n' "$2" >"$h/host.json"
}
make_host hist-a "history test: filling filesystem, certificates, a worsening drive"
make_host hist-b "history test: a host that goes away for a night"
cp -r "$HERE/hosts/nvme-worn/data/smartctl/." "$HD/hist-a/data/smartctl/"
printf '/dev/sda -d sat # /dev/sda [SAT], ATA device\n' >"$HD/hist-a/data/smartctl/scan-open"
rm -f "$HD/hist-a/data/smartctl/nvme0.json"
sed "s#\"\$d/../../lib/fakesmartctl\"#\"$LIB/fakesmartctl-json\"#" \
    "$HERE/hosts/ok-debian/bin/smartctl" >"$HD/hist-a/bin/smartctl"

# df row helper: MOUNT SIZE USED-KiB IUSED (GNU df columns, fakedf)
df_rows() { # HOST LINE...
    local f=$HD/$1/data/df
    shift
    {
        echo '# source   fstype       KiB     used    avail   inodes  iused   ifree  mountpoint'
        echo '/dev/sda1  ext4     30787492  6124812 23074488 1966080 120385 1845695  /'
        printf '%s\n' "$@"
    } >"$f"
}
fs_line() { # DEV MOUNT SIZE USED
    printf '%s ext4 %s %s %s 655360 1000 654360 %s\n' "$1" "$3" "$4" $(($3 - $4)) "$2"
}
realloc() { # N: /dev/sda's Reallocated_Sector_Ct raw value
    local f=$HD/hist-a/data/smartctl/sda.json
    jq -c --argjson n "$1" '(.ata_smart_attributes.table[] | select(.id == 5) | .raw)
        |= {value: $n, string: ($n | tostring)}' "$f" >"$f.new" && mv "$f.new" "$f"
}

# ---- certificates with fixed dates (openssl ca), under /etc/ssl/site ------
P=$DIR/pki
mkdir -p "$P/newcerts"
: >"$P/index.txt"
echo 'unique_subject = no' >"$P/index.txt.attr"
echo 3000 >"$P/serial"
printf '%s\n' '[ ca ]' 'default_ca = nm' '[ nm ]' 'dir = .' 'database = ./index.txt' \
    'new_certs_dir = ./newcerts' 'serial = ./serial' 'default_md = sha256' 'policy = any' \
    'unique_subject = no' '[ any ]' 'commonName = supplied' '[ ca_ext ]' \
    'basicConstraints = critical, CA:TRUE' 'keyUsage = critical, keyCertSign, cRLSign' >"$P/ca.cnf"
(
    cd "$P"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
    openssl req -new -key ca.key -subj "/CN=history test CA" -out ca.csr 2>/dev/null
    openssl ca -batch -notext -config ca.cnf -selfsign -keyfile ca.key -in ca.csr -out ca.pem \
        -startdate "$(at $((BASE - 365 * DAY)))" -enddate "$(at $((BASE + 3650 * DAY)))" \
        -extensions ca_ext 2>/dev/null
)
# cert NAME CN NOT_AFTER(unix): a leaf valid from 60 days before BASE
cert() {
    (
        cd "$P"
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
        openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
        printf '[ leaf ]\nbasicConstraints = CA:FALSE\nsubjectAltName = DNS:%s\n' "$2" >"$1.ext"
        openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key \
            -in "$1.csr" -out "$1.pem" -startdate "$(at $((BASE - 60 * DAY)))" \
            -enddate "$(at "$3")" -extfile "$1.ext" -extensions leaf 2>/dev/null
    )
}
# Half a day of slack: at BASE + N days a certificate ending BASE + D days +
# 12 h has D - N days left.
cert renew-old renew.example.org $((BASE + 10 * DAY + DAY / 2))
cert renew-new renew.example.org $((BASE + 97 * DAY + DAY / 2))
cert lapse lapse.example.org $((BASE + 3 * DAY + DAY / 2))
for c in renew-old renew-new lapse; do
    [[ -s $P/$c.pem ]] || { echo "not ok 1 - openssl made $c"; echo 1..1; exit 1; }
done
mkdir -p "$HD/hist-a/root/etc/ssl/site"
cp "$P/renew-old.pem" "$HD/hist-a/root/etc/ssl/site/renew.pem"
cp "$P/lapse.pem" "$HD/hist-a/root/etc/ssl/site/lapse.pem"

df_rows hist-a "$(fs_line /dev/sdb1 /srv/data 10000000 7000000)"
df_rows hist-b "$(fs_line /dev/vdb1 /var 10000000 9100000)"
realloc 2

export NM_FLEET_HOSTS_DIR=$HD
nm_fleet_start hist-a hist-b
# Certificates live under root/, which the fleet copied into each host's
# plan at start: later changes go to the copy.
SITE=$F/plans/hist-a/lower/etc/ssl/site
[[ -f $SITE/renew.pem ]] && ok "the certificates are in hist-a's plan" ||
    not_ok "the certificates are in hist-a's plan ($(find "$F/plans/hist-a/lower" | head -20))"

OUT=$DIR/out
mkdir -p "$OUT"
WAIVERS=$DIR/waivers.json
cat >"$WAIVERS" <<'EOF'
{ "waivers": [ { "check": "disk-space", "hosts": "hist-b", "subject": "/var",
    "justification": "log volume being migrated", "expires": "never" } ] }
EOF

# scan DAY [ARGS...]: one nightly scan; R = its report, RC = exit status
scan() {
    local day=$1
    shift
    NEARMISS_NOW=$(iso $((BASE + day * DAY))) nm_run_scan 120 "$DIR/scan-$day.log" \
        -i "$1" -c "$CHECKS" -o "$OUT" --timeout 30 --format json,html,prom "${@:2}"
    R=$OUT/latest.json
    echo "# day $day: nearmiss scan -> exit $RC"
    sed 's/^/#   /' "$DIR/scan-$day.log" | head -12
}
fp() { jq -r --arg h "$1" --arg c "$2" --arg s "$3" \
    '.hosts[] | select(.name == $h) | .findings[] | select(.check == $c and .subject == $s) | .fingerprint' "$R"; }
f() { # HOST CHECK SUBJECT FILTER: jq -e on that finding
    jq -e --arg h "$1" --arg c "$2" --arg s "$3" \
        ".hosts[] | select(.name == \$h) | .findings[] | select(.check == \$c and .subject == \$s) | $4" \
        "$R" >/dev/null 2>&1
}
show() { jq -c --arg h "$1" '.hosts[] | select(.name == $h) | {status, findings: [.findings[]
    | {check, subject, severity, value, change, first_seen, waived, message}]}' "$R" | cut -c1-3000 | sed 's/^/# /'; }

INV=$F/inventory.json
# The night hist-b is away: its port points at nothing.
jq '(.hosts[] | select(.name == "hist-b") | .port) = 1' "$INV" >"$DIR/inventory-b-down.json"

T0=$(iso $BASE)
# From here every step is a check that reports itself; a failing one must
# not end the script before the others ran.
set +e
for day in 0 1 2 3 4 5 6 7; do
    used=$((7000000 + day * 500000))
    ((day >= 4)) && used=4000000
    df_rows hist-a "$(fs_line /dev/sdb1 /srv/data 10000000 $used)"
    ((day == 2)) && realloc 6
    ((day == 7)) && cp "$P/renew-new.pem" "$SITE/renew.pem"
    inv=$INV args=()
    ((day == 2)) && inv=$DIR/inventory-b-down.json
    ((day >= 3)) && args=(-w "$WAIVERS")
    scan "$day" "$inv" "${args[@]}"
    nm_need_report "day $day: a report"
    d="day $day: scan exit status 0 (2 when hist-b is away)"
    [[ $RC == $((day == 2 ? 2 : 0)) ]] && ok "$d" || not_ok "$d (got $RC)"
    D=$(iso $((BASE + day * DAY)))
    case $day in
    0)
        jcheck "day 0: every finding is new, first seen now" \
            --arg t "$T0" '[.hosts[].findings[]] | length > 0 and all(.change == "new" and .first_seen == $t)' "$R"
        jcheck "day 0: summary.changes counts them, nothing resolved" \
            '.summary.changes.new == ([.hosts[].findings[]] + .fleet_findings | length)
             and .summary.changes.resolved == 0 and .resolved == []' "$R"
        f hist-a cert-expiry /etc/ssl/site/renew.pem '.severity == "high" and .value == 10' &&
            ok "day 0: renew.pem 10 days left (high)" || { not_ok "day 0: renew.pem 10 days left (high)"; show hist-a; }
        f hist-a smart "/dev/sda $(jq -r '.model_name + " " + .serial_number' "$HD/hist-a/data/smartctl/sda.json")" '.severity == "medium"' &&
            ok "day 0: /dev/sda with 2 reallocated sectors is medium" || { not_ok "day 0: /dev/sda medium"; show hist-a; }
        B_VAR=$(fp hist-b disk-space /var)
        ;;
    1)
        jcheck "day 1: everything persists, first seen on day 0" \
            --arg t "$T0" '[.hosts[].findings[]] | all(.change == "persisting" and .first_seen == $t)' "$R"
        jcheck "day 1: the history knows the previous run" --arg t "$T0" '.history.previous_run == $t' "$R"
        f hist-a disk-forecast /srv/data 'true' && not_ok "day 1: no forecast from 2 scans" || ok "day 1: no forecast from 2 scans"
        ;;
    2)
        f hist-a disk-forecast /srv/data '.value == 4 and .severity == "medium" and .change == "new"' &&
            ok "day 2: /srv/data forecast full in 4.0 days (medium, new)" || { not_ok "day 2: forecast 4.0 days"; show hist-a; }
        f hist-a disk-forecast /srv/data '(.evidence | test("over 3 successful scans spanning 48.0 h")) and (.evidence | test("r2 = 1.000"))' &&
            ok "day 2: the fit is in the evidence" || { not_ok "day 2: the fit is in the evidence"; show hist-a; }
        jcheck "day 2: /dev/sda raised medium -> high, grew from 2 to 6 since day 1" \
            '.hosts[] | select(.name == "hist-a") | .findings[] | select(.check == "smart")
             | .severity == "high" and .raised_from == "medium"
               and (.message | test("ata_5_raw grew from 2 to 6 since 2026-12-02"))' "$R" || show hist-a
        jcheck "day 2: hist-b unreachable, nothing resolved" \
            '(.hosts[] | select(.name == "hist-b") | .status == "unreachable") and .resolved == []' "$R"
        ;;
    3)
        jcheck "day 3: hist-b's /var persists, first seen day 0, waived, not resolved" \
            --arg t "$T0" --arg fp "$B_VAR" '(.hosts[] | select(.name == "hist-b") | .findings[]
             | select(.fingerprint == $fp) | .change == "persisting" and .first_seen == $t and .waived == true)
             and .resolved == []' "$R" || show hist-b
        f hist-a disk-forecast /srv/data '.value == 3 and .change == "persisting"' &&
            ok "day 3: forecast 3.0 days" || { not_ok "day 3: forecast 3.0 days"; show hist-a; }
        f hist-a cert-expiry /etc/ssl/site/lapse.pem '.severity == "critical" and .value == 0' &&
            ok "day 3: lapse.pem at 0 days (critical)" || { not_ok "day 3: lapse.pem 0 days"; show hist-a; }
        f hist-a smart "$(jq -r '"/dev/sda " + .model_name + " " + .serial_number' "$HD/hist-a/data/smartctl/sda.json")" '.severity == "medium"' &&
            ok "day 3: no growth since day 2, no raise" || { not_ok "day 3: no raise"; show hist-a; }
        ;;
    4)
        jcheck "day 4: cleaned /srv/data: forecast and disk-space resolved, nothing else" \
            '[.resolved[] | .check + " " + .subject] | sort == ["disk-forecast /srv/data", "disk-space /srv/data"]' "$R"
        f hist-a disk-forecast /srv/data 'true' && not_ok "day 4: no forecast after the clean-up" ||
            ok "day 4: no forecast after the clean-up"
        jcheck "day 4: the resolved entries carry the contract's fields" --arg t "$D" \
            '.resolved | all(.host == "hist-a" and .resolved_at == $t and (.fingerprint | length) == 64
             and .severity != null and .first_seen != null and .category == "disk")' "$R"
        ;;
    6)
        f hist-a cert-expiry /etc/ssl/site/renew.pem '.value == 4 and .severity == "critical" and .previous_severity == null' &&
            ok "day 6: renew.pem at 4 days left" || { not_ok "day 6: renew.pem 4 days"; show hist-a; }
        ;;
    7)
        jcheck "day 7: renew.pem resolved (renewed), first seen day 0" --arg t "$T0" --arg now "$D" \
            '[.resolved[] | select(.subject == "/etc/ssl/site/renew.pem")] | length == 1 and .[0].first_seen == $t
             and .[0].resolved_at == $now and .[0].severity == "critical"' "$R"
        jcheck "day 7: lapse.pem still there (expired)" \
            '[.hosts[].findings[] | select(.subject == "/etc/ssl/site/lapse.pem" and .check == "cert-expiry")] | length == 1' "$R"
        grep -q 'What changed since 2026-12-07T02:00:00Z' "$OUT/report.html" &&
            grep -q 'id="changes-resolved"' "$OUT/report.html" && grep -q 'id="ledger-entries"' "$OUT/report.html" &&
            ok "day 7: report.html shows what changed and the ledger" || not_ok "day 7: report.html history sections"
        grep -qx 'nearmiss_findings_changes{change="resolved"} 1' "$OUT/nearmiss.prom" &&
            ok "day 7: nearmiss.prom counts by change" || not_ok "day 7: nearmiss.prom counts by change"
        jcheck "day 7: the report's 30-day ledger lists the near miss with its margin" \
            '.history.ledger.entries | any(.subject == "/etc/ssl/site/renew.pem" and .outcome == "near_miss" and .margin.value == 4 and .margin.unit == "days")' "$R"
        ;;
    esac
done

# ---- the ledger -----------------------------------------------------------
L=$DIR/ledger.json
NEARMISS_NOW=$(iso $((BASE + 8 * DAY))) "$BIN" ledger -o "$OUT" >"$L" 2>"$DIR/ledger.err" &&
    ok "nearmiss ledger" || not_ok "nearmiss ledger ($(cat "$DIR/ledger.err"))"
e() { jq -e --arg s "$1" ".entries[] | select(.subject == \$s) | $2" "$L" >/dev/null 2>&1; }
e /etc/ssl/site/renew.pem '.outcome == "near_miss" and .margin == {value: 4, unit: "days", at: "2026-12-07T02:00:00Z"}
    and .hours_to_fix == 168 and .worst_severity == "critical" and .first_seen == "2026-12-01T02:00:00Z"
    and .cleared_at == "2026-12-08T02:00:00Z" and .host == "hist-a" and .check == "cert-expiry"' &&
    ok "ledger: renew.pem near miss, margin 4 days, 168 h to fix" || { not_ok "ledger: renew.pem near miss"; jq -c '.entries[]' "$L" | sed 's/^/# /'; }
e /etc/ssl/site/lapse.pem '.outcome == "miss" and .failed_at == "2026-12-04T02:00:00Z" and .cleared_at == null and .margin.unit == "days" and .margin.value < 0' &&
    ok "ledger: lapse.pem miss (failed on day 3)" || not_ok "ledger: lapse.pem miss"
e /var '.outcome == "open" and .host == "hist-b" and .margin == {value: 9, unit: "percent", at: "2026-12-01T02:00:00Z"} and .hours_to_fix == null' &&
    ok "ledger: hist-b /var open, margin 9 percent" || not_ok "ledger: hist-b /var open"
jcheck "ledger: the medium forecast is below --from high" '[.entries[] | select(.check == "disk-forecast")] == []' "$L"
jcheck "ledger: the raised drive is open" '[.entries[] | select(.check == "smart")] | length == 1 and .[0].outcome == "open"' "$L"
NEARMISS_NOW=$(iso $((BASE + 8 * DAY))) "$BIN" ledger -o "$OUT" --from medium --format csv >"$DIR/ledger.csv"
grep -q '^"near_miss","hist-a","disk-forecast","disk","/srv/data",.*,"48","3","days"$' "$DIR/ledger.csv" &&
    ok "ledger --from medium --format csv: the forecast near miss, 48 h, margin 3 days" ||
    { not_ok "ledger csv forecast row"; sed 's/^/# /' "$DIR/ledger.csv"; }
NEARMISS_NOW=$(iso $((BASE + 8 * DAY))) "$BIN" ledger -o "$OUT" --format md --since 2026-12-08T00:00:00Z >"$DIR/ledger.md"
grep -q '^| near_miss | hist-a | cert-expiry | /etc/ssl/site/renew.pem | critical |' "$DIR/ledger.md" &&
    grep -q '^| open | hist-b | disk-space | /var | high |' "$DIR/ledger.md" && ok "ledger --format md --since" || { not_ok "ledger md"; sed 's/^/# /' "$DIR/ledger.md"; }

# ---- the database, as users query it --------------------------------------
runs=$(sqlite3 "$OUT/history.sqlite" 'SELECT count(*) FROM runs')
[[ $runs == 8 ]] && ok "history.sqlite: 8 runs" || not_ok "history.sqlite: 8 runs (got $runs)"
away=$(sqlite3 "$OUT/history.sqlite" "SELECT status FROM host_scans JOIN runs ON runs.id = run_id WHERE host = 'hist-b' AND started_at = $((BASE + 2 * DAY))")
[[ $away == unreachable ]] && ok "host_scans: hist-b unreachable on day 2" || not_ok "host_scans: hist-b day 2 ($away)"
pts=$(sqlite3 "$OUT/history.sqlite" "SELECT count(*) FROM metrics WHERE host = 'hist-a' AND item = '/srv/data' AND field = 'avail_kb'")
[[ $pts == 8 ]] && ok "metrics view: 8 samples of /srv/data" || not_ok "metrics view: /srv/data samples ($pts)"

# ---- retention, then a damaged history -------------------------------------
before=$(ls "$OUT"/nearmiss-*.json | wc -l)
scan 8 "$INV" -w "$WAIVERS" --keep-runs 3
runs=$(sqlite3 "$OUT/history.sqlite" 'SELECT count(*) FROM runs')
[[ $RC == 0 && $runs == 3 ]] && ok "--keep-runs 3 keeps 3 runs" || not_ok "--keep-runs 3 (rc $RC, $runs runs)"
after=$(ls "$OUT"/nearmiss-*.json | wc -l)
[[ $after == 3 ]] && ok "--keep-runs 3 removes the pruned runs' reports ($before -> $after)" ||
    not_ok "--keep-runs 3 reports ($before -> $after)"
NEARMISS_NOW=$(iso $((BASE + 9 * DAY))) "$BIN" ledger -o "$OUT" >"$L"
e /etc/ssl/site/renew.pem '.outcome == "near_miss" and .margin.value == 4 and .hours_to_fix == 168' &&
    ok "the ledger keeps renew.pem after its runs were pruned" || not_ok "ledger after pruning"

cp "$OUT/history.sqlite" "$DIR/good.sqlite"
sum_latest=$(sha256sum <"$OUT/latest.json")
head -c 5000 "$DIR/good.sqlite" >"$OUT/history.sqlite"
sum_db=$(sha256sum <"$OUT/history.sqlite")
scan 9 "$INV"
[[ $RC == 1 ]] && grep -q 'history.sqlite.*damaged\|history.sqlite.*malformed' "$DIR/scan-9.log" &&
    ok "a half-written history: exit 1, says so" || not_ok "half-written history (rc $RC)"
[[ $(sha256sum <"$OUT/latest.json") == "$sum_latest" && $(sha256sum <"$OUT/history.sqlite") == "$sum_db" ]] &&
    ok "a half-written history: nothing overwritten" || not_ok "half-written history: files changed"
cp "$DIR/good.sqlite" "$OUT/history.sqlite"
sqlite3 "$OUT/history.sqlite" "UPDATE schema_version SET version = 7 WHERE component = 'history'"
sum_db=$(sha256sum <"$OUT/history.sqlite")
scan 9 "$INV"
[[ $RC == 1 ]] && grep -q 'newer nearmiss (history schema 7' "$DIR/scan-9.log" &&
    [[ $(sha256sum <"$OUT/history.sqlite") == "$sum_db" && $(sha256sum <"$OUT/latest.json") == "$sum_latest" ]] &&
    ok "a newer history: exit 1, says so, nothing overwritten" || not_ok "newer history (rc $RC)"

nm_finish
