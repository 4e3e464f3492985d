#!/usr/bin/env bash
# release-build.sh SOURCE_DIR BUILD_DIR — what a packager runs first:
# `meson setup --buildtype=release` and a full compile (binary, tests and
# fuzz replay) with the project's -Werror.  -O3 enables warnings that the
# default -O2 build never sees (gcc's -Wdangling-pointer, -Wstringop-*), so
# this build is part of the test suite.  BUILD_DIR is kept between runs: after
# the first run only what changed is recompiled.
set -euo pipefail
src=${1:?source dir}
dir=${2:?build dir}
if [[ ! -f $dir/meson-private/coredata.dat ]]; then
    rm -rf "$dir"
    meson setup --buildtype=release "$dir" "$src"
fi
meson compile -C "$dir"
# The optimised binary must also start.
"$dir/nearmiss" --version
