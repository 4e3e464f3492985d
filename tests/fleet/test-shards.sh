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
# shards of different cuts; and --shard values that are not K/N.  A shard
# that the cut leaves empty is a valid shard and merges.
# History and tickets run once, on the merged report: a shard writes no
# history.sqlite and refuses --ticket/--keep-runs; merging again into the same
# directory, after rocky-disk's /var was cleaned and /home filled up and its
# shard scanned again a day later, marks findings new, persisting and
# resolved on the merged report, and merge opens tickets from it.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FLEET=$HERE/fleet.sh
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$HERE/testlib.sh"
nm_args "$@"
nm_need_tools jq python3 sqlite3
nm_tempdir nm-shards
# rocky-disk from a copy whose df rows change between the two merges.
HD=$DIR/hostdefs
mkdir -p "$HD/rocky-disk/bin"
cp -r "$HERE/hosts/rocky-disk/root" "$HERE/hosts/rocky-disk/data" "$HERE/hosts/rocky-disk/host.json" \
    "$HD/rocky-disk/"
for s in "$HERE"/hosts/rocky-disk/bin/*; do
    # The committed stubs find lib/ relative to hosts/; the copy is elsewhere.
    sed "s#\"\$d/../../lib/#\"$HERE/lib/#" "$s" >"$HD/rocky-disk/bin/${s##*/}"
    chmod 755 "$HD/rocky-disk/bin/${s##*/}"
done
export NM_FLEET_HOSTS_DIR=$HD
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
# The same merge with every host through the spool's file instead of memory
# (the path a merge of thousands of hosts takes): the same bytes.
RC=0; NEARMISS_SPOOL_MEMORY=0 "$BIN" merge -q -i "$INV" -o "$DIR/merged-file" \
    --format json,html,junit,prom "$DIR/s3/latest.json" "$DIR/s1/latest.json" "$DIR/s2/latest.json" \
    >"$DIR/merge-file.log" 2>&1 || RC=$?
same=1
for f in latest.json report.html junit.xml nearmiss.prom; do
    cmp -s "$DIR/merged/$f" "$DIR/merged-file/$f" || { same=0; echo "# $f differs"; }
done
[[ ($RC == 0 || $RC == 2) && $same == 1 ]] &&
    ok "merge with its hosts spooled to disk (NEARMISS_SPOOL_MEMORY=0) writes the same four files" ||
    { not_ok "spooled merge: exit $RC"; sed 's/^/# /' "$DIR/merge-file.log"; }
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
cp -r "$HERE"/../../checks/. "$DIR/checks/"
rm "$DIR/checks/$(cd "$DIR/checks" && ls -- *.json | head -1)"
refuse "another check set" "check set given is not" -i "$INV" -c "$DIR/checks" "$S1" "$S2" "$S3"
refuse "a report written without --shard" "not a shard report" -i "$INV" "$W"
scan -o "$DIR/c2" --shard 1/2 >/dev/null 2>&1 || :
refuse "shards of different cuts" "different cuts" -i "$INV" "$S1" "$DIR/c2/latest.json" "$S3"
jq '.shard.checks_digest = ("0" * 64)' "$S2" >"$DIR/s2-other.json"
refuse "shards judged by different check sets" "different check sets" -i "$INV" "$S1" "$DIR/s2-other.json" "$S3"
jq '.hosts += [.hosts[0]]' "$S1" >"$DIR/s1-dup.json"
refuse "a host twice in one shard" "appears twice" -i "$INV" "$DIR/s1-dup.json" "$S2" "$S3"
# Shard files are read host by host: a file cut short, or a host without a
# name deep inside it, is still refused with the file (and line) named.
jq . "$S1" | head -c -200 >"$DIR/s1-cut.json"
refuse "a shard report cut short names the file and its line" "s1-cut.json:[0-9]*: " \
    -i "$INV" "$DIR/s1-cut.json" "$S2" "$S3"
jq '.hosts[-1] |= del(.name)' "$S1" >"$DIR/s1-noname.json"
refuse "a host without a name" "s1-noname.json: hosts\[[0-9]*\] has no name" \
    -i "$INV" "$DIR/s1-noname.json" "$S2" "$S3"
jq '.hosts[0].name += "\u0000x"' "$S1" >"$DIR/s1-nul.json"
refuse "a host whose name holds a NUL (it would pass for another)" "a NUL in the host's name" \
    -i "$INV" "$DIR/s1-nul.json" "$S2" "$S3"
# --- an empty shard is a valid shard: one host cut in two
scan -o "$DIR/one-whole" --hosts ok-debian >/dev/null 2>&1 || :
for k in 1 2; do scan -o "$DIR/one$k" --hosts ok-debian --shard "$k/2" >/dev/null 2>&1 || :; done
jcheck "one host cut in two: one shard report is empty, the other holds the host" \
    -s '([.[].hosts | length] | sort) == [0, 1] and all(.[]; .shard.hosts_total == 1)' \
    "$DIR"/one{1,2}/latest.json || :
RC=0; "$BIN" merge -q -i "$INV" -o "$DIR/one-merged" "$DIR"/one{1,2}/latest.json >"$DIR/one.log" 2>&1 || RC=$?
if [[ $RC == 0 ]] && "$HERE/same-report.sh" "$DIR/one-whole/latest.json" "$DIR/one-merged/latest.json" >"$DIR/one.diff"; then
    ok "an empty shard merges: the merged report equals the whole scan of that host"
else
    not_ok "empty shard merge: exit $RC"; sed 's/^/# /' "$DIR/one.log" "$DIR/one.diff"
fi

# --- history and tickets: once, on the merged report
[[ ! -e $DIR/s1/history.sqlite && ! -e $DIR/s2/history.sqlite && ! -e $DIR/s3/history.sqlite ]] &&
    ok "shards write no history" || not_ok "a shard wrote history: $(ls "$DIR"/s*/history.sqlite 2>&1)"
jcheck "shard reports carry no change marks" \
    -s 'all(.[]; ([.hosts[].findings[] | select(has("change"))] | length) == 0 and (has("resolved") | not))' \
    "$DIR"/s{1,2,3}/latest.json || :
for opt in "--ticket dir:$DIR/t" "--keep-runs 3" "--keep-days 3"; do
    RC=0; read -ra o <<<"$opt"
    scan -o "$DIR/s-once" --shard 1/3 "${o[@]}" >"$DIR/once.log" 2>&1 || RC=$?
    [[ $RC == 1 && ! -e $DIR/s-once/latest.json ]] && grep -q "belong to .nearmiss merge" "$DIR/once.log" &&
        ok "scan --shard $opt: refused (history and tickets are the merge's)" ||
        { not_ok "scan --shard $opt: exit $RC"; sed 's/^/# /' "$DIR/once.log"; }
done
jcheck "first merge: every finding new, nothing resolved, no previous run" \
    '([.hosts[].findings[], .fleet_findings[] | .change] | unique) == ["new"]
     and .summary.changes.resolved == 0 and .history.previous_run == null' "$M" || :
RK=$(python3 -c 'import hashlib,sys; print(int.from_bytes(hashlib.sha256(sys.argv[1].encode()).digest()[:8], "big") % 3 + 1)' rocky-disk)
# /var cleaned to 50 %, /home filled to 97 %.
sed -i -e 's#^\(/dev/mapper/rl-var .*xfs \+20961280\) \+20248916 \+647740#\1 10480640 10480640#' \
    -e 's#^\(/dev/mapper/rl-home .*xfs \+10475520\) \+1253388 \+9222132#\1 10161254 314266#' \
    "$HD/rocky-disk/data/df"
grep -q ' 10480640 10480640 ' "$HD/rocky-disk/data/df" && grep -q ' 10161254 314266 ' "$HD/rocky-disk/data/df" &&
    ok "rocky-disk's df rows changed" || not_ok "df rows not changed: $(cat "$HD/rocky-disk/data/df")"
RC=0; NEARMISS_NOW=2026-12-02T02:00:00Z scan -o "$DIR/r$RK" --shard "$RK/3" >"$DIR/r.log" 2>&1 || RC=$?
[[ $RC == 0 || $RC == 2 ]] && ok "rocky-disk's shard $RK/3 scanned again a day later" ||
    { not_ok "rescan: exit $RC"; sed 's/^/# /' "$DIR/r.log"; }
again=()
for k in 1 2 3; do
    if [[ $k == "$RK" ]]; then again+=("$DIR/r$k/latest.json"); else again+=("$DIR/s$k/latest.json"); fi
done
RC=0; "$BIN" merge -i "$INV" -o "$DIR/merged" --ticket "dir:$DIR/tickets" --ticket-min high \
    "${again[@]}" >"$DIR/merge2.log" 2>&1 || RC=$?
[[ $RC == 0 || $RC == 2 ]] && ok "second merge into the same directory: exit $RC" ||
    { not_ok "second merge: exit $RC"; sed 's/^/# /' "$DIR/merge2.log"; }
jcheck "second merge: the previous run is the first merge's" \
    '.history.previous_run == "2026-12-01T02:00:00Z"' "$M" || :
jcheck "second merge: rocky-disk's /home is new, its / persists" \
    '[.hosts[] | select(.name == "rocky-disk") | .findings[] | select(.check == "disk-space")
      | {(.subject): .change}] | add | .["/home"] == "new" and .["/"] == "persisting"' "$M" || :
jcheck "second merge: rocky-disk's /var is resolved" \
    '[.resolved[] | select(.host == "rocky-disk" and .check == "disk-space" and .subject == "/var")] | length == 1' "$M" || :
jcheck "second merge: another shard's findings persist" \
    '[.hosts[] | select(.name == "smart-failing") | .findings[].change] | length > 0 and all(. == "persisting")' "$M" || :
jcheck "second merge: summary.changes counts them" \
    '.summary.changes.new >= 1 and .summary.changes.resolved >= 1 and .summary.changes.persisting >= 1' "$M" || :
[[ $(sqlite3 "$DIR/merged/history.sqlite" 'SELECT count(*) FROM runs') == 2 ]] &&
    ok "the merged directory's history holds the two merged runs" ||
    not_ok "runs in history: $(sqlite3 "$DIR/merged/history.sqlite" 'SELECT * FROM runs' 2>&1)"
grep -q '^tickets: [1-9][0-9]* opened' "$DIR/merge2.log" && [[ -n $(ls -A "$DIR/tickets" 2>/dev/null) ]] &&
    ok "merge opened tickets from the merged report (dir: target)" ||
    { not_ok "no tickets from merge"; sed 's/^/# /' "$DIR/merge2.log"; }

for bad in 0/3 4/3 3 1/0 a/b 1/3x; do
    RC=0; scan -o "$DIR/bad" --shard "$bad" >/dev/null 2>&1 || RC=$?
    [[ $RC == 1 && ! -e $DIR/bad/latest.json ]] && ok "--shard $bad: usage error" || not_ok "--shard $bad: exit $RC"
done
nm_finish
