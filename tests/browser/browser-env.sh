# shellcheck shell=sh
# Sourced by the browser test scripts (with $here set to this folder): finds
# Chromium and Node.js (exit 77 when either is missing: the test is then
# skipped, and scripts/deps.sh --browser installs both) and installs
# playwright-core from package-lock.json once.  Sets $chromium and $node.
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
        echo "playwright-core is missing and npm is not installed: apt-get install npm, then" \
             "npm ci --prefix $here" >&2
        exit 1
    fi
    # Both browser tests may start at once: one installs, the other waits
    # for it (flock), then finds the package there.
    echo "installing playwright-core (npm ci in $here)"
    (
        flock 9
        [ -f "$here/node_modules/playwright-core/package.json" ] ||
            (cd "$here" && npm ci --no-audit --no-fund)
    ) 9>"$here/.npm-install.lock" || {
        echo "npm ci failed: cannot get playwright-core" >&2
        exit 1
    }
fi
