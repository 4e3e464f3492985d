#!/bin/sh
# measure-big-report.sh NEARMISS_BIN [HOSTS] [FINDINGS]
#
# Scale check of the writers: generates a synthetic report (default 2 000
# hosts, 20 000 findings; gen-big-report.js), renders HTML, JUnit and
# Prometheus with NEARMISS_BIN and prints their sizes and the render time,
# then loads the HTML in headless Chromium and prints load, sort, filter and
# expand timings (check-report.js --perf). Not part of `meson test`: it
# takes about a minute and measures, it does not judge.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 NEARMISS_BIN [HOSTS] [FINDINGS]" >&2
    exit 2
fi
bin=$1
hosts=${2:-2000}
findings=${3:-20000}
here=$(cd "$(dirname "$0")" && pwd -P)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nm-big-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

node "$here/gen-big-report.js" "$tmp/big.json" "$hosts" "$findings"
start=$(date +%s%N)
"$bin" report -q -f html,junit,prom -o "$tmp/out/" "$tmp/big.json"
end=$(date +%s%N)
echo "render (html+junit+prom, written atomically): $(( (end - start) / 1000000 )) ms"
for f in report.html junit.xml nearmiss.prom; do
    printf '%-14s %10d bytes, %9d gzipped\n' "$f" "$(wc -c < "$tmp/out/$f")" \
        "$(gzip -c "$tmp/out/$f" | wc -c)"
done
NM_CHROMIUM=${NM_CHROMIUM:-/usr/bin/chromium} node "$here/check-report.js" --perf "$tmp/out/report.html"
