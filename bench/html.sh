#!/bin/sh
# bench/html.sh NEARMISS_BIN BENCH_HTML_BIN [HOSTS FINDINGS]...
#
# The HTML report at scale: for each size (default 2000 hosts / 20 000
# findings, 10 000 / 30 000 and 10 000 / 100 000) a synthetic report
# (tests/browser/gen-big-report.js) is rendered
#   - by `nearmiss report` (CPU and peak RSS of the whole command, which
#     loads the JSON report first), and
#   - by bench-html (the writer alone: its CPU and the growth of peak RSS
#     above the loaded report),
# then loaded in headless Chromium (check-report.js --perf: first paint,
# load, elements, sort, filter, opening a host). Prints one block per size;
# bench/RESULTS.md quotes them. Measures, never judges.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 NEARMISS_BIN BENCH_HTML_BIN [HOSTS FINDINGS]..." >&2
    exit 2
fi
bin=$1
bench=$2
shift 2
[ $# -ge 2 ] || set -- 2000 20000 10000 30000 10000 100000
here=$(cd "$(dirname "$0")" && pwd -P)
browser=$here/../tests/browser
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nm-html-bench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
while [ $# -ge 2 ]; do
    hosts=$1 findings=$2
    shift 2
    echo "== $hosts hosts, $findings findings"
    node "$browser/gen-big-report.js" "$tmp/big.json" "$hosts" "$findings"
    /usr/bin/time -f "nearmiss report -f html: %U s user, %S s sys, %M KiB peak RSS, %e s wall" \
        "$bin" report -q -f html -o "$tmp/out/" "$tmp/big.json"
    "$bench" "$tmp/big.json" "$tmp/writer.html"
    printf 'report.html: %d bytes, %d gzipped\n' "$(wc -c < "$tmp/out/report.html")" \
        "$(gzip -c "$tmp/out/report.html" | wc -c)"
    NM_CHROMIUM=${NM_CHROMIUM:-/usr/bin/chromium} NODE_PATH="$browser/node_modules" \
        node "$browser/check-report.js" --perf "$tmp/out/report.html"
    rm -rf "$tmp/out" "$tmp/big.json" "$tmp/writer.html"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
