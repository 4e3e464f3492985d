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

chromium=${NM_CHROMIUM:-}
if [ -z "$chromium" ]; then
    for c in /usr/bin/chromium chromium chromium-browser; do
        if command -v "$c" >/dev/null 2>&1; then
            chromium=$(command -v "$c")
            break
        fi
    done
fi
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
    echo "chromium is not installed (Debian: apt-get install chromium): skipped"
    exit 77
fi
node=$(command -v node || command -v nodejs || true)
if [ -z "$node" ]; then
    echo "Node.js is not installed (Debian: apt-get install nodejs npm): skipped"
    exit 77
fi
if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "playwright-core is missing and npm is not installed" >&2
        exit 1
    fi
    (
        flock 9
        [ -f "$here/node_modules/playwright-core/package.json" ] ||
            (cd "$here" && npm ci --no-audit --no-fund)
    ) 9>"$here/.npm-install.lock" || {
        echo "npm ci failed: cannot get playwright-core" >&2
        exit 1
    }
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nm-big-browser-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$node" "$here/gen-big-report.js" "$tmp/big.json" "$hosts" "$findings"
"$bin" report -q -f html -o "$tmp/report.html" "$tmp/big.json"
echo "report.html: $(wc -c < "$tmp/report.html") bytes"
NM_CHROMIUM=$chromium NODE_PATH="$here/node_modules" \
    "$node" "$here/check-report.js" --big "$tmp/report.html" "$tmp/big.json"
