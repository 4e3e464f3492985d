#!/bin/sh
# run-browser-test.sh REPORT_JSON NEARMISS_BIN
#
# Renders REPORT_JSON to HTML with `NEARMISS_BIN report` and drives it in a
# real headless Chromium (check-report.js, playwright-core from
# tests/browser/node_modules). Screenshots go to $NM_SCREENSHOT_DIR, else to a
# directory in the test's temporary directory (printed).
#
# Exit 77 (skipped) only when Chromium or Node.js is not installed. A missing
# playwright-core is installed from package-lock.json (npm ci); if that is not
# possible the test fails, since the tools it needs are there.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 REPORT_JSON NEARMISS_BIN" >&2
    exit 2
fi
report=$1
bin=$2
here=$(cd "$(dirname "$0")" && pwd -P)

. "$here/browser-env.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nm-browser-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
shots=${NM_SCREENSHOT_DIR:-}
if [ -z "$shots" ]; then
    # Kept after the run, so a person can look at them.
    shots=$(mktemp -d "${TMPDIR:-/tmp}/nm-screenshots-XXXXXX")
fi
mkdir -p "$shots"

"$bin" report -q -f html -o "$tmp/report.html" "$report"
NM_CHROMIUM=$chromium NODE_PATH="$here/node_modules" \
    "$node" "$here/check-report.js" "$tmp/report.html" "$report" "$shots"
