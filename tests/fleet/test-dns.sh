#!/usr/bin/env bash
# shellcheck disable=SC2015,SC2016 # SC2016: the namespace's sh expands its own $1
# test-dns.sh BINARY — name resolution inside the host's deadline. The scan
# runs in a private mount namespace whose /etc/resolv.conf names one server:
# a UDP socket on a loopback address, port 53, that reads every query and never answers (so
# the lookup hangs instead of failing fast on a closed port), with resolver
# retries of 30 s x 5. A host whose address is a DNS name must end
# `timeout` within its --timeout plus a small margin, saying it was the
# resolver, while a host reached by address in the same run is scanned as
# usual. Needs root (mount namespace, port 53); exit 77 without sshd or root.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
nm_args "$@"
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (mount namespace, UDP port 53)"; exit 77; }
nm_need_tools unshare python3 jq getent timeout
nm_tempdir nm-dns
SILENT_PID=
trap '[[ -n $SILENT_PID ]] && kill "$SILENT_PID" 2>/dev/null; nm_cleanup' EXIT
nm_fleet_start ok-debian

# The resolver that never answers: bound before the scan starts, so queries
# are swallowed, never refused. A loopback address of its own, so that runs
# of this test side by side do not collide on port 53.
python3 -c '
import random, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(50):
    addr = "127.%d.%d.53" % (random.randint(20, 250), random.randint(1, 250))
    try:
        s.bind((addr, 53))
        break
    except OSError:
        continue
print("ready", addr, flush=True)
while True:
    s.recvfrom(4096)
' >"$DIR/silent.out" 2>&1 &
SILENT_PID=$!
for _ in $(seq 50); do grep -q ready "$DIR/silent.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$DIR/silent.out" || { echo "not ok 1 - silent resolver did not start: $(cat "$DIR/silent.out")"; echo "1..1"; exit 1; }
NS=$(awk '/^ready/ {print $2}' "$DIR/silent.out")

printf 'nameserver %s\noptions timeout:30 attempts:5\n' "$NS" >"$DIR/resolv.conf"
F=$DIR/fleet
# Two entries for the same sshd: one by address, one by a name only DNS
# could know (.test is reserved, RFC 2606: no real zone answers for it).
jq '.hosts += [.hosts[0] | .name = "by-name" | .address = "ok-debian.nearmiss.test"]' \
    "$F/inventory.json" >"$DIR/inv.json"

in_ns() { # the command with the silent resolver as the only one
    unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
        sh "$DIR/resolv.conf" "$@"
}

# The environment is what the test says: a plain lookup there hangs.
rc=0
in_ns timeout 4 getent ahosts ok-debian.nearmiss.test >/dev/null 2>&1 || rc=$?
[[ $rc == 124 ]] && ok "a plain lookup hangs with this resolver (getent still waiting after 4 s)" ||
    not_ok "a plain lookup with the silent resolver ended with $rc instead of hanging"

TIMEOUT=4
start=$(date +%s%N)
rc=0
in_ns timeout 120 "$BIN" scan -q -i "$DIR/inv.json" -o "$DIR/out" -j 2 --timeout "$TIMEOUT" \
    >"$DIR/scan.log" 2>&1 || rc=$?
wall_ms=$((($(date +%s%N) - start) / 1000000))
R=$DIR/out/latest.json
[[ -s $R ]] || { not_ok "no report (exit $rc): $(head -c 600 "$DIR/scan.log")"; nm_finish_counts; exit 1; }
host() { jq -r --arg h "$1" ".hosts[] | select(.name == \$h) | $2" "$R"; }

[[ $(host by-name .status) == timeout && $(host by-name .error) == *"resolv"* ]] &&
    ok "the host known by name ends timeout, naming the resolver" ||
    not_ok "by-name: $(host by-name .status) / $(host by-name .error)"
ms=$(host by-name .scan.duration_ms)
((ms <= TIMEOUT * 1000 + 1500)) &&
    ok "it ended within its ${TIMEOUT} s deadline plus 1.5 s (${ms} ms)" ||
    not_ok "it took ${ms} ms with a ${TIMEOUT} s deadline"
[[ $(host ok-debian .status) == ok ]] && ok "the host reached by address in the same run: ok" ||
    not_ok "ok-debian: $(host ok-debian .status) / $(host ok-debian .error)"
# The lookup thread outlives the host; the run must not wait for it.
((wall_ms < 60000)) && ok "the run ended without waiting for the resolver (${wall_ms} ms)" ||
    not_ok "the run took ${wall_ms} ms: it waited for the resolver's retries"
nm_finish_counts
