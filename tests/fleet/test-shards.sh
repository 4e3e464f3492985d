#!/usr/bin/env bash
# shellcheck disable=SC2015
# test-shards.sh BINARY — scan --shard and merge on a real sshd fleet: the
# fleet scanned once whole and once as 3 shards (run at the same time, as a
# batch engine would), the shards merged; the merged report must equal the
# whole one (same-report.sh: everything but times), its fleet findings must
# come from hosts of different shards (computed over all hosts, not per
# shard), and every host must sit in the shard the documented hash names.
# Then what merge must refuse (exit 1, nothing written): a missing shard, a
# shard given twice, another inventory, another check set, a plain report,
# shards of different cuts; and --shard values that are not K/N.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
nm_args "$@"
nm_need_tools jq python3
nm_tempdir nm-shards
nm_fleet_start ok-debian ubuntu-reboot rocky-disk alpine-ok unknown-key down rocky-patches \
    smart-failing raid-degraded branch-a branch-b net-fragile
# One clock for every run: certificate days and waiver states cannot drift.
export NEARMISS_NOW=2026-12-01T02:00:00Z
scan() { "$BIN" scan -q -i "$INV" --timeout 30 -j 8 "$@"; }

RC=0; scan -o "$DIR/whole" || RC=$?
[[ $RC == 0 || $RC == 2 ]] && ok "whole scan: exit $RC" || not_ok "whole scan: exit $RC"
pids=()
for k in 1 2 3; do
    scan -o "$DIR/s$k" --shard "$k/3" >"$DIR/s$k.log" 2>&1 &
    pids+=($!)
done
for k in 1 2 3; do
    RC=0; wait "${pids[k - 1]}" || RC=$?
    [[ $RC == 0 || $RC == 2 ]] && ok "shard $k/3: exit $RC" ||
        { not_ok "shard $k/3: exit $RC"; sed 's/^/# /' "$DIR/s$k.log"; }
done

# The documented hash, computed apart from the scanner.
python3 - "$INV" "$DIR" >"$DIR/hash.out" <<'PY' && ok "every host is in the shard SHA-256(name)[0:8] big-endian mod 3 names, each once" || { not_ok "hash check"; sed 's/^/# /' "$DIR/hash.out"; }
import hashlib, json, sys
inv = json.load(open(sys.argv[1]))
names = [h["name"] for h in inv["hosts"]]
seen = []
for k in (1, 2, 3):
    rep = json.load(open(f"{sys.argv[2]}/s{k}/latest.json"))
    got = [h["name"] for h in rep["hosts"]]
    want = [n for n in names
            if int.from_bytes(hashlib.sha256(n.encode()).digest()[:8], "big") % 3 + 1 == k]
    sh = rep["shard"]
    if got != want or sh["index"] != k or sh["count"] != 3 or sh["hosts_total"] != len(names):
        print("shard", k, "has", got, "expected", want, "record", sh); sys.exit(1)
    seen += got
sys.exit(0 if sorted(seen) == sorted(names) else 1)
PY
jcheck "shard reports carry no fleet findings (those are the merge's)" \
    -s 'all(.[]; .fleet_findings == [])' "$DIR"/s{1,2,3}/latest.json || :

RC=0; "$BIN" merge -i "$INV" -o "$DIR/merged" --format json,html,junit,prom \
    "$DIR/s3/latest.json" "$DIR/s1/latest.json" "$DIR/s2/latest.json" >"$DIR/merge.log" 2>&1 || RC=$?
[[ $RC == 0 || $RC == 2 ]] && ok "merge (shards in any order): exit $RC" ||
    { not_ok "merge: exit $RC"; sed 's/^/# /' "$DIR/merge.log"; }
W=$DIR/whole/latest.json M=$DIR/merged/latest.json
if "$HERE/same-report.sh" "$W" "$M" >"$DIR/diff.out"; then
    ok "merged report equals the whole run: hosts, findings, scores, fleet findings, summary"
else
    not_ok "merged report differs from the whole run"; cat "$DIR/diff.out"
fi
jcheck "the whole run has fleet findings to compare (role rules fired)" \
    '(.fleet_findings | length) >= 2' "$W" || :
# A fleet finding naming hosts of two shards proves the rules saw every host.
python3 - "$M" <<'PY' && ok "a merged fleet finding names hosts of different shards" || not_ok "no fleet finding spans shards"
import hashlib, json, sys
rep = json.load(open(sys.argv[1]))
shard = lambda n: int.from_bytes(hashlib.sha256(n.encode()).digest()[:8], "big") % 3
sys.exit(0 if any(len({shard(h) for h in f["hosts"]}) > 1 for f in rep["fleet_findings"]) else 1)
PY
jcheck "merged report lists its shards and the cut" \
    '.merged.count == 3 and ([.merged.shards[].index] == [1,2,3]) and .merged.hash == "sha256-be64-mod"' "$M" || :
[[ -s $DIR/merged/report.html && -s $DIR/merged/junit.xml && -s $DIR/merged/nearmiss.prom ]] &&
    [[ $(find "$DIR/merged" -name 'nearmiss-*.json' | wc -l) == 1 ]] &&
    ok "merge writes as scan does: latest.json, the timestamped file, --format outputs" ||
    not_ok "merge outputs missing: $(ls "$DIR/merged")"
jcheck "the timestamped file is named after the earliest shard start" \
    --arg f "$(basename "$(ls "$DIR"/merged/nearmiss-*.json)")" \
    '("nearmiss-" + (.started_at | gsub("[-:]"; "")) + ".json") == $f' "$M" || :

# --- refusals: exit 1 and nothing written
refuse() { # DESC PATTERN ARGS...
    local desc=$1 pat=$2 out=$DIR/refused RC=0
    shift 2
    rm -rf "$out"
    "$BIN" merge -o "$out" "$@" >"$DIR/refuse.log" 2>&1 || RC=$?
    if [[ $RC == 1 && ! -e $out/latest.json ]] && grep -q -- "$pat" "$DIR/refuse.log"; then
        ok "refused: $desc"
    else
        not_ok "not refused ($RC): $desc"; sed 's/^/# /' "$DIR/refuse.log"
    fi
}
S1=$DIR/s1/latest.json S2=$DIR/s2/latest.json S3=$DIR/s3/latest.json
refuse "a missing shard is named" "shard 2/3 missing" -i "$INV" "$S1" "$S3"
refuse "a shard given twice" "shard 1/3 given twice" -i "$INV" "$S1" "$S1" "$S2" "$S3"
jq '.hosts |= .[1:]' "$INV" >"$DIR/other-inv.json"
refuse "another inventory" "not the one the shards scanned" -i "$DIR/other-inv.json" "$S1" "$S2" "$S3"
mkdir -p "$DIR/checks"
cp "$HERE"/../../checks/*.json "$DIR/checks/"
rm "$DIR/checks/$(ls "$DIR/checks" | head -1)"
refuse "another check set" "check set given is not" -i "$INV" -c "$DIR/checks" "$S1" "$S2" "$S3"
refuse "a report written without --shard" "not a shard report" -i "$INV" "$W"
scan -o "$DIR/c2" --shard 1/2 >/dev/null 2>&1 || :
refuse "shards of different cuts" "different cuts" -i "$INV" "$S1" "$DIR/c2/latest.json" "$S3"
jq '.shard.checks_digest = ("0" * 64)' "$S2" >"$DIR/s2-other.json"
refuse "shards judged by different check sets" "different check sets" -i "$INV" "$S1" "$DIR/s2-other.json" "$S3"
jq '.hosts += [.hosts[0]]' "$S1" >"$DIR/s1-dup.json"
refuse "a host twice in one shard" "appears twice" -i "$INV" "$DIR/s1-dup.json" "$S2" "$S3"
for bad in 0/3 4/3 3 1/0 a/b 1/3x; do
    RC=0; scan -o "$DIR/bad" --shard "$bad" >/dev/null 2>&1 || RC=$?
    [[ $RC == 1 && ! -e $DIR/bad/latest.json ]] && ok "--shard $bad: usage error" || not_ok "--shard $bad: exit $RC"
done
nm_finish
