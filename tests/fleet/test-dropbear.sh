#!/usr/bin/env bash
# shellcheck disable=SC2015
# test-dropbear.sh BINARY — a host whose SSH server is Dropbear (routers,
# appliances, initramfs), not OpenSSH: it is scanned, and a script larger
# than its small channel window (24 KiB by default, where OpenSSH offers
# 2 MiB) goes out without a stall.  The part sent before the window is
# full must be pushed before the scan waits for the window (the kernel would
# hold a MSG_MORE tail 200 ms, and Dropbear cannot open the packet or grow
# the window without it).
# Needs root (Dropbear reads root's ~/.ssh/authorized_keys: a private
# directory is mounted over /root for it alone), strace, dropbear-bin.
# Exit 0 pass, 1 fail, 77 no dropbear.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
BIN=$(realpath -- "${1:?usage: test-dropbear.sh BINARY}")
DROPBEAR=${NM_DROPBEAR:-/usr/sbin/dropbear}
[[ -x $DROPBEAR ]] || { echo "SKIP: no $DROPBEAR (package dropbear-bin)"; exit 77; }
nm_need_tools dropbearkey ssh-keygen ssh-keyscan strace unshare jq python3

DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-dropbear-test.XXXXXX")
cleanup() {
    [[ -s $DIR/pid ]] && kill "$(cat "$DIR/pid")" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT

mkdir -m 700 "$DIR/home" "$DIR/home/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$DIR/key"
install -m 600 "$DIR/key.pub" "$DIR/home/.ssh/authorized_keys"
dropbearkey -t ed25519 -f "$DIR/hostkey" >/dev/null 2>&1
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# -F: in the foreground of its own mount namespace, where /root is ours.
# shellcheck disable=SC2016 # expanded by the inner sh
unshare -m sh -c 'mount --bind "$1" /root && exec "$2" -F -E -s -p "127.0.0.1:$3" -P "$4" -r "$5"' sh \
    "$DIR/home" "$DROPBEAR" "$PORT" "$DIR/pid" "$DIR/hostkey" >"$DIR/dropbear.log" 2>&1 &
for _ in $(seq 50); do
    ssh-keyscan -p "$PORT" 127.0.0.1 >"$DIR/known_hosts" 2>/dev/null && [[ -s $DIR/known_hosts ]] && break
    sleep 0.1
done
[[ -s $DIR/known_hosts ]] || { echo "FAIL: dropbear did not start"; sed 's/^/# /' "$DIR/dropbear.log"; exit 1; }
echo "{\"hosts\": [{\"name\": \"db1\", \"address\": \"127.0.0.1\", \"port\": $PORT, \"user\": \"root\"}]}" >"$DIR/inv.json"

# One check whose probe is 40 KB of shell (a comment), so that the script
# is larger than Dropbear's window; it prints one line.
mkdir "$DIR/checks"
python3 - "$DIR/checks/big.json" <<'PY'
import json, sys
script = "# " + "x" * 40000 + "\necho ok-from-dropbear\n"
json.dump({"id": "big", "title": "T", "category": "health", "subject": "{line}",
           "message": "{line}", "probe": {"id": "big", "script": script},
           "parser": "lines",
           "rules": [{"field": "line", "op": "match", "value": "^ok-from", "severity": "low"}]},
          open(sys.argv[1], "w"))
PY

strace -f -qq -tt -e trace=sendto,setsockopt,poll,close -o "$DIR/send.log" "$BIN" scan -q \
    -i "$DIR/inv.json" --known-hosts "$DIR/known_hosts" --identity "$DIR/key" -c "$DIR/checks" \
    -o "$DIR/out" --timeout 60 >"$DIR/scan.log" 2>&1 || :
R=$DIR/out/latest.json
st=$(jq -r '.hosts[0].status' "$R" 2>/dev/null || echo none)
[[ $st == ok ]] && ok "a Dropbear host is scanned (status ok)" ||
    { not_ok "Dropbear host: status $st"; sed 's/^/# /' "$DIR/scan.log"; }
jq -e '.hosts[0].findings[] | select(.check == "big" and .subject == "ok-from-dropbear")' "$R" >/dev/null 2>&1 &&
    ok "the probe behind the 40 KB script ran and was judged" ||
    not_ok "no finding from the big probe"

# The sends that carry the script (over 1 000 bytes), in order: "TIME
# BYTES"; the script is split by the window, so there are at least two.
awk '/sendto\(/ && $NF + 0 > 1000 { split($2, t, ":"); print t[1] * 3600 + t[2] * 60 + t[3], $NF + 0 }' \
    "$DIR/send.log" >"$DIR/parts"
parts=$(wc -l <"$DIR/parts")
gap=$(awk 'NR == 1 {a = $1} {b = $1} END {printf "%d", (b - a) * 1000}' "$DIR/parts")
[[ $parts -ge 2 ]] && ok "the script went out in $parts parts (the window is smaller than it)" ||
    not_ok "the script went out in $parts part(s): Dropbear's window did not split it"
# That no part is held 200 ms is checked by what the scan did, not by the
# clock: a wait that begins with a send held back is what would stall (on
# a loaded machine the parts can leave 100 ms apart with nothing held).
groups=$(nm_send_groups "$DIR/send.log")
[[ $groups == *held_waits=0 ]] &&
    ok "every part was pushed before the scan waited for the window ($groups)" ||
    not_ok "a wait began with a part held back ($groups)"
echo "# the parts left $gap ms apart"
nm_finish
