#!/usr/bin/env bash
# scripts/deps.sh [--browser] [--slurm] [--bench] [--fuzz] — install, with apt, what building nearmiss,
# its tests and the demo need on Debian 12. Installs only what is missing
# (so a second run is quick and needs no network), never starts the system's
# sshd (the tests run their own), and works as root on a fresh machine
# (with sudo otherwise).
#   --browser   also chromium (and Node.js/npm if absent), for the browser suite
#   --slurm     also slurm-wlm and munge, for the slurm suite (a one-machine
#               cluster the test starts and stops itself; no service is enabled)
#   --bench     also the peers bench/peers.sh compares with (pssh, ansible-core)
#   --fuzz      also clang (libFuzzer), for scripts/fuzz.sh
set -euo pipefail

PROG=deps.sh
pkgs=(
    gcc libc6-dev pkg-config meson ninja-build                  # build
    libssh2-1-dev libssl-dev libxml2-dev libjansson-dev         # libraries
    libsqlite3-dev sqlite3 libcurl4-openssl-dev                 # history (and its CLI), tickets
    openssh-server openssh-client                               # the fake fleet
    jq util-linux iproute2 procps openssl time                  # test scripts
    python3                          # tests/hostile/peers.py: hostile TCP peers
    valgrind                                                    # valgrind setup
    strace                       # test-auth.sh: the identity is read once per run
    sudo                # test-privilege.sh: root checks through a drop-in; visudo -c
    prometheus                 # promtool: checks the textfile and contrib/ rules
    python3 python3-yaml       # contrib/kubernetes manifests parsed and checked
    man-db groff-base mandoc   # the manual rendered and linted (tests/docs/test-man.py)
    bash-completion zsh        # the completions loaded and run (tests/docs/test-completion.py)
    systemd                    # systemd-analyze verify on the installed units
    busybox                    # test-script, test-tls: the probe script under busybox sh
    dropbear-bin               # test-dropbear.sh: a host served by Dropbear (small window)
)
for arg in "$@"; do
    case $arg in
    --browser)
        pkgs+=(chromium)
        # Node may come from elsewhere (nodesource's nodejs bundles npm and
        # conflicts with Debian's npm): ask apt only for what is missing.
        command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
        command -v npm >/dev/null 2>&1 || pkgs+=(npm)
        ;;
    --slurm) pkgs+=(slurm-wlm munge) ;;
    --bench) pkgs+=(pssh ansible-core) ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;  # libFuzzer and the sanitizer runtimes
    -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "$PROG: unknown option $arg (try --help)" >&2; exit 1 ;;
    esac
done

installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    echo "$PROG: this script installs with apt on Debian 12; install by hand: ${pkgs[*]}" >&2
    exit 1
fi
missing=()
for p in "${pkgs[@]}"; do
    installed "$p" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    echo "$PROG: all ${#pkgs[@]} packages present"
    exit 0
fi

SUDO=()
if (($(id -u) != 0)); then
    command -v sudo >/dev/null || {
        echo "$PROG: missing packages: ${missing[*]} — run as root (or install sudo)" >&2
        exit 1
    }
    SUDO=(sudo)
fi

echo "$PROG: installing ${missing[*]}"
# Keep package scripts from starting services (openssh-server would start
# the system sshd on port 22); remove the guard only if we put it there.
guard=""
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# nearmiss scripts/deps.sh: no service starts during install\nexit 101\n' |
        "${SUDO[@]}" tee "$guard" >/dev/null
    "${SUDO[@]}" chmod 0755 "$guard"
    trap '"${SUDO[@]}" rm -f "$guard"' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
"${apt[@]}" update
"${apt[@]}" install -y --no-install-recommends "${missing[@]}"

still=()
for p in "${missing[@]}"; do installed "$p" || still+=("$p"); done
if ((${#still[@]})); then
    echo "$PROG: still missing after install: ${still[*]}" >&2
    exit 1
fi
echo "$PROG: installed ${#missing[@]} package(s)"
