#!/bin/sh
# test-sudoers.sh BINARY CHECKS-DIR — `nearmiss sudoers` prints drop-ins that
# visudo accepts: for every check alone and for all of them, with another
# run-as user, and for a check whose arguments hold the characters sudoers
# gives a meaning to (escaped). Bad options are usage errors. Whether sudo
# really allows what the probes run is test-privilege.sh's (sshd suite).
# Exit 0 pass, 1 fail, 77 without visudo.
set -eu
BIN=$1
CHECKS=$2
VISUDO=$(command -v visudo || echo /usr/sbin/visudo)
[ -x "$VISUDO" ] || { echo "SKIP: no visudo (scripts/deps.sh installs sudo)"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/nm-sudoers.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0 n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }
valid() { "$VISUDO" -cf "$1" >/dev/null 2>&1; }

"$BIN" sudoers -c "$CHECKS" --user scan >"$T/all" && valid "$T/all" &&
    grep -q '^scan ALL=(root) NOPASSWD: NEARMISS_ROOT$' "$T/all" &&
    ok "all checks: valid, one NOPASSWD rule for scan" || not_ok "all checks: $(cat "$T/all")"
grep -v '^#' "$T/all" | grep -q '[*]' && not_ok "a '*' in the drop-in" || ok "no '*' anywhere"
for id in $("$BIN" checks list -c "$CHECKS" | awk 'NR > 1 && $4 == "yes" { print $1 }'); do
    "$BIN" sudoers -c "$CHECKS" --user scan --checks "$id" >"$T/one" && valid "$T/one" ||
        not_ok "--checks $id: $(cat "$T/one")"
done
ok "each root check alone gives a valid drop-in"
"$BIN" sudoers -c "$CHECKS" --user scan --runas ops --checks smart >"$T/ops" && valid "$T/ops" &&
    grep -q '^scan ALL=(ops) NOPASSWD: NEARMISS_ROOT$' "$T/ops" &&
    ok "--runas ops" || not_ok "--runas: $(cat "$T/ops")"
"$BIN" sudoers -c "$CHECKS" --checks disk-space >"$T/none" && valid "$T/none" &&
    grep -q 'None of the selected checks' "$T/none" &&
    ok "a check without root commands: a valid file that grants nothing" || not_ok "none: $(cat "$T/none")"

# Characters sudoers reads specially inside a command's arguments.
mkdir "$T/checks"
cat >"$T/checks/odd.json" <<'JSON'
{ "id": "odd", "title": "T", "category": "health", "subject": "{line}", "message": "{line}",
  "probe": { "id": "odd", "script": "nm_root tool", "needs_root": true,
             "root_commands": ["/usr/bin/tool --a=b,c:d #e !f (g)", "/usr/bin/tool"] },
  "parser": "lines", "rules": [ { "field": "line", "op": "match", "value": "x", "severity": "low" } ] }
JSON
"$BIN" sudoers -c "$T/checks" --user scan >"$T/odd" && valid "$T/odd" &&
    grep -Fq '/usr/bin/tool --a\=b\,c\:d \#e \!f (g)' "$T/odd" &&
    grep -Fq '/usr/bin/tool ""' "$T/odd" &&
    ok "= , : # ! escaped; no arguments is \"\"" || not_ok "escaping: $(cat "$T/odd")"

# -i: the inventory's login user and become_user; checks by roles; hosts
# where sudo is never used are named.
cat >"$T/inv.json" <<'JSON'
{ "_meta": { "hostvars": {
    "db1": { "ansible_user": "scan" }, "db2": { "ansible_user": "scan" },
    "app1": { "ansible_user": "scan", "ansible_become_user": "ops" },
    "web1": { "ansible_user": "deploy", "ansible_become": false } } },
  "all": { "children": ["db", "app", "web"] }, "db": { "hosts": ["db1", "db2"] },
  "app": { "hosts": ["app1"] }, "web": { "hosts": ["web1"] } }
JSON
sed 's/"parser": "lines"/"applies": { "roles": ["db"] }, "parser": "lines"/' "$T/checks/odd.json" >"$T/odd-db.json"
mv "$T/odd-db.json" "$T/checks/odd.json"
"$BIN" sudoers -c "$T/checks" -i "$T/inv.json" --role db >"$T/db" && valid "$T/db" &&
    grep -q '^scan ALL=(root) NOPASSWD: NEARMISS_ROOT$' "$T/db" && grep -q 'NEARMISS_ODD' "$T/db" &&
    ok "-i --role db: the hosts' login user, the check for role db" || not_ok "-i --role db: $(cat "$T/db")"
"$BIN" sudoers -c "$T/checks" -i "$T/inv.json" --role app >"$T/app" && valid "$T/app" &&
    grep -q 'None of the selected checks' "$T/app" &&
    ok "-i --role app: a check that applies to role db only is left out" || not_ok "-i --role app: $(cat "$T/app")"
"$BIN" sudoers -c "$CHECKS" -i "$T/inv.json" --hosts app1 --checks smart >"$T/app1" && valid "$T/app1" &&
    grep -q '^scan ALL=(ops) NOPASSWD: NEARMISS_ROOT$' "$T/app1" &&
    ok "-i --hosts app1: ansible_become_user ops is the run-as user" || not_ok "-i app1: $(cat "$T/app1")"
"$BIN" sudoers -c "$CHECKS" -i "$T/inv.json" --checks smart >"$T/inv" && valid "$T/inv" &&
    grep -q '^#   web1: ansible_become is false$' "$T/inv" &&
    grep -q '^scan ALL=(root) NOPASSWD: NEARMISS_ROOT$' "$T/inv" &&
    ok "-i: hosts that never use sudo are named, not counted; users that differ fall back to root" ||
    not_ok "-i all: $(cat "$T/inv")"
"$BIN" sudoers -c "$CHECKS" --role db >/dev/null 2>&1 && not_ok "--role without -i accepted" ||
    ok "--role without -i is a usage error"

"$BIN" sudoers -c "$CHECKS" --user '-oops' >/dev/null 2>&1 && not_ok "--user -oops accepted" ||
    ok "a user name sudoers can not take is a usage error"
"$BIN" sudoers -c "$CHECKS" --checks nosuch >/dev/null 2>&1 && not_ok "--checks nosuch accepted" ||
    ok "an unknown check is a usage error"
"$BIN" sudoers --help | grep -q -- '--runas' && ok "--help" || not_ok "--help"

echo "1..$n"
[ "$fail" -eq 0 ] && echo "PASS" || { echo "FAIL: $fail of $n"; exit 1; }
