#!/usr/bin/env bash
# bench/merge.sh N [SHARDS] — peak memory and time of `nearmiss merge` of N
# hosts cut in SHARDS shard reports (default 4), written in all four
# formats, twice in the same run: with the default spool (hosts read one at
# a time from each shard file and kept in memory up to 8 MiB) and with
# NEARMISS_SPOOL_MEMORY=65536 (every host held in memory, as a merge that
# loads its shards whole would).  Then the same two ways for `nearmiss
# report` re-rendering the merged latest.json (HTML, JUnit, Prometheus).
# Checks that both ways write the same bytes.
#
# The shard reports are real ones, made fast: `scan --shard K/N` of an
# inventory of N hosts that all refuse the connection (127.0.0.1 port 9),
# then every host replaced by a copy of a judged host from a captured
# report (tests/data/reports/fleet-full.json, "alpine-patches": nine
# findings) under the host's own name.  Needs jq and python3, no root.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
N=${1:?usage: bench/merge.sh N [SHARDS]}
S=${2:-4}
BIN=${NM_BENCH_BIN:-$ROOT/build/nearmiss}
[[ -x $BIN ]] || { echo "merge.sh: build nearmiss first" >&2; exit 1; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/nm-merge-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT

python3 - "$N" "$DIR/inv.json" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
hosts = [{"name": "h%06d" % i, "address": "127.0.0.1", "port": 9,
          "labels": {"zone": "abc"[i % 3], "rack": "r%d" % (i % 7)}, "roles": ["app"]}
         for i in range(n)]
json.dump({"defaults": {"user": "root"}, "hosts": hosts}, open(out, "w"))
PY
for ((k = 1; k <= S; k++)); do
    "$BIN" scan -q -i "$DIR/inv.json" -o "$DIR/s$k" --shard "$k/$S" -j 200 \
        >/dev/null 2>&1 || :
    python3 - "$DIR/s$k/latest.json" "$ROOT/tests/data/reports/fleet-full.json" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
tpl = next(h for h in json.load(open(sys.argv[2]))["hosts"] if h["name"] == "alpine-patches")
out = []
for h in rep["hosts"]:
    c = json.loads(json.dumps(tpl))
    for key in ("name", "address", "port", "roles", "labels", "criticality"):
        if key in h:
            c[key] = h[key]
    out.append(c)
rep["hosts"] = out
json.dump(rep, open(sys.argv[1], "w"), indent=2)
PY
done
SIZE=$(cat "$DIR"/s*/latest.json | wc -c)

run() { # NAME ENV... -- COMMAND...
    local name=$1
    shift
    local -a env=()
    while [[ $1 != -- ]]; do env+=("$1"); shift; done
    shift
    rm -rf "$DIR/out-$name"
    env "${env[@]}" /usr/bin/time -f '%e %U %S %M' -o "$DIR/time-$name" "$@" >/dev/null 2>&1 || :
    read -r wall user sys rss <"$DIR/time-$name"
    printf '%-28s wall %6.2f s  CPU %6.2f s  peak RSS %7.1f MiB\n' "$name" "$wall" \
        "$(echo "$user + $sys" | bc)" "$(echo "scale=1; $rss / 1024" | bc)"
    echo "$rss" >"$DIR/rss-$name"
}
echo "merge of $N hosts in $S shards ($((SIZE / 1048576)) MiB of shard reports), $(nproc) cores"
for m in spooled:8 in-memory:65536; do
    run "merge-${m%%:*}" NEARMISS_SPOOL_MEMORY="${m#*:}" -- "$BIN" merge -q -i "$DIR/inv.json" \
        -o "$DIR/out-merge-${m%%:*}" --format json,html,junit,prom "$DIR"/s*/latest.json
done
same=yes
for f in latest.json report.html junit.xml nearmiss.prom; do
    cmp -s "$DIR/out-merge-spooled/$f" "$DIR/out-merge-in-memory/$f" || same=no
done
ratio() { echo "scale=3; $(cat "$DIR/rss-$1") / $(cat "$DIR/rss-$2")" | bc; }
echo "merge: same four files: $same; peak RSS spooled / in memory: $(ratio merge-spooled merge-in-memory)"
for m in host-by-host:8 in-memory:65536; do
    run "report-${m%%:*}" NEARMISS_SPOOL_MEMORY="${m#*:}" -- "$BIN" report -q -f html,junit,prom \
        -o "$DIR/out-report-${m%%:*}" "$DIR/out-merge-spooled/latest.json"
done
for f in report.html junit.xml nearmiss.prom; do
    cmp -s "$DIR/out-report-host-by-host/$f" "$DIR/out-report-in-memory/$f" || same=no
done
echo "report: same three files: $same; peak RSS host by host / in memory: $(ratio report-host-by-host report-in-memory)"
[[ $same == yes ]]
