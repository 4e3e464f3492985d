#!/bin/sh
# run-big-report-test.sh NEARMISS_BIN [HOSTS] [FINDINGS]
#
# The HTML report of a large fleet in a real headless Chromium: a synthetic
# report (gen-big-report.js, default 10 000 hosts and 30 000 findings) is
# rendered with `NEARMISS_BIN report` and checked by `check-report.js --big`:
# at most 20 000 elements at first paint, sort and filters right over every
# host, a host's findings built when it is opened, the no-JS fallback.
# Timings are printed for bench/, never judged here.
#
# Exit 77 (skipped) only when Chromium or Node.js is not installed.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 NEARMISS_BIN [HOSTS] [FINDINGS]" >&2
    exit 2
fi
bin=$1
hosts=${2:-10000}
findings=${3:-30000}
here=$(cd "$(dirname "$0")" && pwd -P)

. "$here/browser-env.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nm-big-browser-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$node" "$here/gen-big-report.js" "$tmp/big.json" "$hosts" "$findings"
"$bin" report -q -f html -o "$tmp/report.html" "$tmp/big.json"
echo "report.html: $(wc -c < "$tmp/report.html") bytes"
NM_CHROMIUM=$chromium NODE_PATH="$here/node_modules" \
    "$node" "$here/check-report.js" --big "$tmp/report.html" "$tmp/big.json"
