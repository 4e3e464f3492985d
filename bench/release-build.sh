#!/usr/bin/env bash
# bench/release-build.sh — builds nearmiss as a packager would
# (--buildtype=release: -O3, with link-time optimisation; asserts kept) in
# build-release/, and prints the binary's path.  The benchmarks measure this
# build, not the debugoptimized one the tests use.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
B=$ROOT/build-release
if [[ ! -f $B/build.ninja ]]; then
    meson setup "$B" "$ROOT" --buildtype=release -Db_lto=true >"${TMPDIR:-/tmp}/nm-release-setup.log" 2>&1 ||
        { cat "${TMPDIR:-/tmp}/nm-release-setup.log" >&2; exit 1; }
fi
meson compile -C "$B" nearmiss:executable >"${TMPDIR:-/tmp}/nm-release-build.log" 2>&1 ||
    { tail -40 "${TMPDIR:-/tmp}/nm-release-build.log" >&2; exit 1; }
echo "$B/nearmiss"
