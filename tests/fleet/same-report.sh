#!/usr/bin/env bash
# same-report.sh A.json B.json — exit 0 when two reports of the same fleet
# say the same thing; otherwise print the first differences as "# " lines
# and exit 1.  Left out of the comparison, and only these:
#   - times: started_at, finished_at, hosts[].scan.duration_ms/connect_ms/
#     start_ms/end_ms/started_at/ended_at, hosts[].tls_discovery.remote_ms,
#     hosts[].uptime_seconds (the test machine's uptime shows through);
#   - what merge adds about itself: "merged";
#   - live numbers of the test machine's own filesystems, which the fake
#     hosts show through between two runs (avail_kb, use_pct, ifree,
#     iuse_pct of every disk-space metric, and hence hosts[].scan.bytes).
#     A finding about them would still be compared.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 A.json B.json" >&2; exit 1; }
norm='del(.started_at, .finished_at, .merged)
  | .hosts[] |= (del(.scan.duration_ms, .scan.connect_ms, .scan.bytes, .scan.start_ms, .scan.end_ms,
                    .scan.started_at, .scan.ended_at, .tls_discovery.remote_ms?, .uptime_seconds)
      | if .metrics["disk-space"] then .metrics["disk-space"] |= map_values(del(.avail_kb, .use_pct, .ifree, .iuse_pct)) else . end)'
if diff <(jq -S "$norm" "$1") <(jq -S "$norm" "$2") >"${TMPDIR:-/tmp}/same-report.$$" 2>&1; then
    rm -f "${TMPDIR:-/tmp}/same-report.$$"
    exit 0
fi
head -40 "${TMPDIR:-/tmp}/same-report.$$" | sed 's/^/# /'
rm -f "${TMPDIR:-/tmp}/same-report.$$"
exit 1
