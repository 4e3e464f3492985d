#!/bin/sh
# bench/big-report.sh NEARMISS_BIN [HOSTS] [FINDINGS] — size and speed of the
# report writers and of the HTML in Chromium on a synthetic fleet (default
# 2 000 hosts, 20 000 findings). The work is done by the browser suite's
# measuring script, so both always drive the page the same way.
exec "$(dirname "$0")/../tests/browser/measure-big-report.sh" "$@"
