#!/usr/bin/env bash
# fleet.sh — a fleet of fake hosts: one real OpenSSH sshd per host on
# 127.0.0.1, each with its own port and host key, whose sessions see that
# host's fixture files and stub commands (see README.md beside this file).
#
#   fleet.sh start  DIR [--set demo|test] [--clones N] [HOST...]
#   fleet.sh stop   DIR
#   fleet.sh status DIR
#
# DIR is a throwaway runtime directory; nothing outside it is written except
# /run/sshd (sshd's privilege-separation directory, when run as root).
set -euo pipefail

PROG=fleet.sh
FLEET_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
HOSTDEFS=$FLEET_HOME/hosts
# Host definitions made elsewhere (a test that generates one at run time):
# looked up before HOSTDEFS, never part of --set test or the default set.
EXTRA_HOSTDEFS=${NM_FLEET_HOSTS_DIR:-}
HOSTSHELL=$FLEET_HOME/hostshell
SSHD=${NM_FLEET_SSHD:-/usr/sbin/sshd}
START_TIMEOUT=${NM_FLEET_START_TIMEOUT:-20}

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
say() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# hostdef NAME: the directory holding the definition of host NAME.
hostdef() {
    if [[ -n $EXTRA_HOSTDEFS && -f $EXTRA_HOSTDEFS/$1/host.json ]]; then
        printf "%s\n" "$EXTRA_HOSTDEFS/$1"
    else
        printf "%s\n" "$HOSTDEFS/$1"
    fi
}

usage() {
    cat <<EOF
usage: $PROG start  DIR [--set demo|test] [--clones N] [HOST...]
       $PROG stop   DIR
       $PROG status DIR

start   starts the named hosts (definitions in $HOSTDEFS/NAME/), or a set
        (sets/NAME; 'test' = every host), plus N copies of ok-debian named
        clone-001..; with nothing named, the test set. Writes DIR/inventory.json,
        DIR/known_hosts, DIR/client_key, DIR/ports and DIR/ssh_config.
        A fleet already running in DIR is stopped first.
stop    kills the sshd processes (and their sessions) this fleet started.
status  one line per host; exit 0 when every host that should run runs.
env:    NM_FLEET_BASE_PORT (first port tried), NM_FLEET_START_TIMEOUT (s),
        NM_FLEET_SSHD (sshd binary, default /usr/sbin/sshd),
        NM_FLEET_HOSTS_DIR (more host definitions, looked up first by name).
EOF
}

# ---------------------------------------------------------------- stop --

# Is PID still running? (A zombie is not: the listener is re-parented to
# init once its launcher exits, and some inits reap late.)
alive() {
    local st
    { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
    st=${st##*) }
    [[ ${st%% *} != Z ]]
}

# Kill one sshd listener and everything below it (connections, sessions,
# hostshells, hanging sleeps). The listener is stopped first so that it can
# not fork new children while we collect the tree.
kill_tree() {
    local top=$1 pids p i
    kill -STOP "$top" 2>/dev/null || return 0
    pids=$(ps -e -o pid=,ppid= | awk -v top="$top" '
        { parent[$1] = $2 }
        END {
            for (p in parent) {
                q = p
                for (n = 0; n < 64 && q != "" && q != 0; n++) {
                    if (q == top) { print p; break }
                    q = parent[q]
                }
            }
        }')
    # shellcheck disable=SC2086 # word splitting of the pid list is wanted
    kill -TERM $pids 2>/dev/null || :
    kill -CONT "$top" 2>/dev/null || :
    for ((i = 0; i < 250; i++)); do
        local left=""
        for p in $pids; do
            alive "$p" && left="$left $p"
        done
        [[ -z $left ]] && return 0
        sleep 0.02
    done
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || :
}

# Is PID the sshd listener that runs with config CFG? (pid files outlive
# processes, and pids are reused.)
is_our_sshd() {
    local pid=$1 cfg=$2 cmd
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *sshd* && $cmd == *" -f $cfg "* ]]
}

stop_fleet() {
    local dir=$1 pidf pid n=0
    [[ -d $dir/hosts ]] || return 0
    for pidf in "$dir"/hosts/*/sshd.pid; do
        [[ -e $pidf ]] || continue
        { read -r pid <"$pidf"; } 2>/dev/null || pid=""
        if is_our_sshd "$pid" "${pidf%/sshd.pid}/sshd_config"; then
            kill_tree "$pid"
            n=$((n + 1))
        fi
        rm -f "$pidf"
    done
    echo "$n"
}

cmd_stop() {
    [[ $# -eq 1 ]] || { usage >&2; exit 1; }
    local dir=$1 n
    [[ -d $dir ]] || { say "no fleet in $dir (nothing to stop)"; return 0; }
    dir=$(cd "$dir" && pwd -P)
    n=$(stop_fleet "$dir")
    say "stopped $n sshd in $dir"
}

# -------------------------------------------------------------- status --

cmd_status() {
    [[ $# -eq 1 ]] || { usage >&2; exit 1; }
    local dir=$1 name port hd pid state bad=0
    [[ -f $dir/ports ]] || { say "no fleet in $dir"; return 1; }
    dir=$(cd "$dir" && pwd -P)
    printf '%-16s %6s %8s  %s\n' HOST PORT PID STATE
    while read -r name port; do
        hd=$dir/hosts/$name
        pid=-
        if [[ -e $hd/absent ]]; then
            state="absent (no sshd by design)"
        else
            pid=$(cat "$hd/sshd.pid" 2>/dev/null) || pid=-
            if is_our_sshd "$pid" "$hd/sshd_config"; then
                state=running
            else
                state=stopped
                bad=1
            fi
        fi
        printf '%-16s %6s %8s  %s\n' "$name" "$port" "$pid" "$state"
    done <"$dir/ports"
    return "$bad"
}

# --------------------------------------------------------------- start --

declare -A TAKEN=()   # ports handed out by this run
LISTENING=""          # ports listening on this machine when we looked

refresh_listening() {
    if command -v ss >/dev/null 2>&1; then
        LISTENING=" $(ss -Htln 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | tr '\n' ' ') "
    else
        LISTENING=""
    fi
}

port_busy() {
    local p=$1
    [[ -n ${TAKEN[$p]:-} ]] && return 0
    if command -v ss >/dev/null 2>&1; then
        [[ $LISTENING == *" $p "* ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
    fi
}

NEXT_PORT=0
ALLOCATED=0
alloc_port() {   # sets ALLOCATED (not echoed: TAKEN must outlive a subshell)
    local p=$NEXT_PORT
    while port_busy "$p"; do
        p=$((p + 1))
        ((p < 65000)) || die "no free port found at or above $NEXT_PORT"
    done
    TAKEN[$p]=1
    NEXT_PORT=$((p + 1))
    ALLOCATED=$p
}

# Turn a host definition's root/ tree into a mount plan that hostshell can
# apply with no thinking per session:
#   overlay DIR LOWER   mount an overlay of LOWER over real DIR (new files)
#   bind SRC DST        bind SRC read-only over the existing file DST
# Paths are resolved on this machine (so root/var/run/x lands on /run/x where
# /var/run is a symlink, and root/etc/os-release on /usr/lib/os-release where
# /etc/os-release is one). Fixtures are copied into PLAN/lower, so a session
# can never write into the repository.
compile_plan() {
    local def=$1 plan=$2 behaviour=$3 f rel real anc o keep cmd d
    local -a binds=() overlays=() kept=()
    mkdir -p "$plan/lower"
    echo "$behaviour" >"$plan/behaviour"
    if [[ -d $def/root ]]; then
        while IFS= read -r -d '' f; do
            rel=${f#"$def/root"}
            [[ -f $f && ! -L $f ]] || die "$f: fixtures must be regular files"
            [[ $rel =~ ^[A-Za-z0-9._/+@,=-]+$ ]] ||
                die "$f: fixture paths may not contain spaces or special characters"
            if [[ -d $rel ]]; then
                die "$f: $rel is a directory on this machine"
            elif [[ -e $rel ]]; then
                real=$(realpath -e -- "$rel")
                binds+=("$real")
            else
                real=$(realpath -m -- "$rel")
                anc=$(dirname -- "$real")
                while [[ ! -d $anc ]]; do anc=$(dirname -- "$anc"); done
                case $anc in
                / | /proc | /proc/* | /sys | /sys/* | /dev | /dev/*)
                    die "$f: $rel does not exist here and can not be added under $anc" ;;
                esac
                overlays+=("$anc")
            fi
            mkdir -p "$plan/lower$(dirname -- "$real")"
            cp -- "$f" "$plan/lower$real"
        done < <(find "$def/root" -mindepth 1 ! -type d -print0 | sort -z)
    fi
    # Hide the real commands listed in hidden-commands (plus the host's
    # "hide", less its "show") behind overlay whiteouts in their directories.
    local show
    show=" $(jq -r '(.show // []) | join(" ")' "$def/host.json") "
    for cmd in $( (grep -v '^[[:space:]]*\(#\|$\)' "$FLEET_HOME/hidden-commands" || :
        jq -r '(.hide // [])[]' "$def/host.json") | sort -u); do
        [[ $show == *" $cmd "* ]] && continue
        for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
            [[ -e $d/$cmd || -L $d/$cmd ]] || continue
            real=$(realpath -e -- "$d")
            [[ -e $plan/lower$real/$cmd || -L $plan/lower$real/$cmd ]] && continue
            mkdir -p "$plan/lower$real"
            mknod "$plan/lower$real/$cmd" c 0 0 ||
                die "can not create an overlay whiteout (mknod c 0 0) in $plan (kernel < 5.8?)"
            overlays+=("$real")
        done
    done
    # Keep only the outermost overlay directories; files under one of them
    # are served by its lower layer and need no bind mount.
    if ((${#overlays[@]})); then
        while IFS= read -r anc; do
            keep=1
            for o in "${kept[@]}"; do
                [[ $anc == "$o"/* ]] && keep=0
            done
            ((keep)) && kept+=("$anc")
        done < <(printf '%s\n' "${overlays[@]}" | sort -u)
    fi
    {
        echo "# mount plan for $(basename "$def"), made by fleet.sh from $def/root"
        for o in "${kept[@]}"; do
            echo "overlay $o $plan/lower$o"
        done
        for real in "${binds[@]}"; do
            keep=1
            for o in "${kept[@]}"; do
                [[ $real == "$o"/* ]] && keep=0
            done
            ((keep)) && echo "bind $plan/lower$real $real"
        done
    } >"$plan/mounts"
    return 0
}


write_sshd_config() {
    local name=$1 def=$2 plan=$3 port=$4 authfile=$5 hd=$DIR/hosts/$1 k
    shift 5
    # (no quoting needed: every path here was checked to be free of spaces,
    # quotes and shell specials)
    {
        echo "# sshd_config of fake host $name, written by tests/fleet/fleet.sh"
        echo "ListenAddress 127.0.0.1:$port"
        for k in "$@"; do echo "HostKey $k"; done
        echo "PidFile $hd/sshd.pid"
        echo "AuthorizedKeysFile $authfile"
        echo "ForceCommand $HOSTSHELL $(hostdef "$def") $DIR/plans/$plan $name"
        cat <<EOF
AllowUsers $FLEET_USER
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
LogLevel VERBOSE
MaxStartups 200:30:400
MaxSessions 20
LoginGraceTime 30
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
PermitUserEnvironment no
# The login shell runs the ForceCommand; bash would source the test
# machine's ~/.bashrc when started by sshd at shell level 1 (pyenv, conda and
# the like: slow, noisy, and not the fake host's business).
SetEnv SHLVL=1
EOF
        if ((HAVE_PENALTIES)); then echo "PerSourcePenalties no"; fi
    } >"$hd/sshd_config"
}

# Launch one sshd in the background (it daemonises itself once bound).
launch_sshd() {
    local hd=$DIR/hosts/$1
    rm -f "$hd/sshd.pid"
    : >"$hd/sshd.log"
    "$SSHD" -f "$hd/sshd_config" -E "$hd/sshd.log" </dev/null >"$hd/sshd.stderr" 2>&1 &
}

START_OK=0
on_start_exit() {
    local rc=$?
    ((START_OK)) && return 0
    local n
    n=$(stop_fleet "$DIR" 2>/dev/null) || n="?"
    say "start failed (status $rc); stopped the $n sshd already started in $DIR"
    exit "$((rc == 0 ? 1 : rc))"
}

cmd_start() {
    local set="" clones=0 name out
    local -a names=()
    [[ $# -ge 1 ]] || { usage >&2; exit 1; }
    DIR=$1
    shift
    while [[ $# -gt 0 ]]; do
        case $1 in
        --set) set=${2:?--set needs a name}; shift 2 ;;
        --set=*) set=${1#--set=}; shift ;;
        --clones) clones=${2:?--clones needs a number}; shift 2 ;;
        --clones=*) clones=${1#--clones=}; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) names+=("$1"); shift ;;
        esac
    done
    if ! [[ $clones =~ ^[0-9]+$ ]] || ((clones > 1000)); then
        die "--clones wants a number 0..1000, not '$clones'"
    fi
    if [[ -n $EXTRA_HOSTDEFS ]]; then
        [[ -d $EXTRA_HOSTDEFS ]] || die "NM_FLEET_HOSTS_DIR: $EXTRA_HOSTDEFS is not a directory"
        EXTRA_HOSTDEFS=$(cd "$EXTRA_HOSTDEFS" && pwd -P)
        [[ $EXTRA_HOSTDEFS =~ ^[A-Za-z0-9._/+@,=-]+$ ]] ||
            die "NM_FLEET_HOSTS_DIR: '$EXTRA_HOSTDEFS' may not contain spaces or special characters"
    fi
    if [[ -n $set ]]; then
        if [[ -f $FLEET_HOME/sets/$set ]]; then
            while read -r name _; do
                [[ -n $name && $name != \#* ]] && names+=("$name")
            done <"$FLEET_HOME/sets/$set"
        elif [[ $set == test || $set == all ]]; then
            for name in "$HOSTDEFS"/*/host.json; do
                names+=("$(basename "$(dirname "$name")")")
            done
        else
            die "unknown set '$set' (sets: test, $(cd "$FLEET_HOME/sets" && echo *))"
        fi
    fi
    if ((${#names[@]} == 0 && clones == 0)); then
        for name in "$HOSTDEFS"/*/host.json; do
            names+=("$(basename "$(dirname "$name")")")
        done
    fi
    declare -A seen=() H_BEHAV=() H_AUTH=() H_KNOWN=() H_KEYTYPES=() H_LIKE=()
    local b a k kts like kt def
    for name in "${names[@]}"; do
        [[ $name =~ ^[a-z0-9][a-z0-9.-]*$ ]] || die "bad host name '$name' (a-z 0-9 . -)"
        def=$(hostdef "$name")
        [[ -f $def/host.json ]] || die "no host definition $def/host.json"
        [[ -z ${seen[$name]:-} ]] || die "host $name named twice"
        seen[$name]=1
        IFS='|' read -r b a k kts like < <(jq -r '
            if type != "object" then error("not a JSON object") else . end |
            [ (.behaviour // "normal"), (.auth // "ok"),
              (if has("known") then .known else true end | tostring),
              ((.hostkeys // ["ed25519"]) | join(" ")), (.like // "") ] | join("|")' \
            "$def/host.json" 2>&1) || :
        case $b in normal | unprivileged | hang | flood | absent | noop | drop) ;; *)
            die "$def/host.json: bad \"behaviour\" '$b' (normal, unprivileged, hang, flood, absent, noop, drop)" ;;
        esac
        case $a in ok | refuse) ;; *) die "$name: bad \"auth\" '$a' (ok, refuse)" ;; esac
        case $k in true | false | wrong) ;; *) die "$name: bad \"known\" '$k' (true, false, \"wrong\")" ;; esac
        for kt in $kts; do
            case $kt in ed25519 | ecdsa | rsa) ;; *) die "$name: bad host key type '$kt' (ed25519, ecdsa, rsa)" ;; esac
        done
        like=${like:-$name}
        [[ -f $(hostdef "$like")/host.json ]] || die "$name: \"like\": no host definition $like"
        H_BEHAV[$name]=$b H_AUTH[$name]=$a H_KNOWN[$name]=$k H_KEYTYPES[$name]=$kts H_LIKE[$name]=$like
    done

    # --- the machine
    [[ -x $SSHD ]] || die "$SSHD not found (install openssh-server: scripts/deps.sh)"
    local tool
    for tool in ssh-keygen jq unshare mount ps realpath; do
        command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh installs what the fleet needs)"
    done
    FLEET_USER=$(id -un)
    if (($(id -u) == 0)); then
        # sshd as root wants its privilege separation directory; a fresh
        # Debian without systemd running has none.
        [[ -d /run/sshd ]] || mkdir -m 0755 /run/sshd
        getent passwd sshd >/dev/null || die "user 'sshd' missing (reinstall openssh-server)"
    fi

    [[ -d $DIR ]] || mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd -P)
    [[ $DIR =~ ^[A-Za-z0-9._/+@,=-]+$ ]] ||
        die "runtime dir '$DIR' may not contain spaces or special characters"
    case $FLEET_HOME in *[!A-Za-z0-9._/+@,=-]*)
        die "the fleet can not run from '$FLEET_HOME' (spaces or special characters in the path)" ;;
    esac

    if [[ -d $DIR/hosts ]]; then
        local n
        n=$(stop_fleet "$DIR")
        ((n == 0)) || say "stopped the $n sshd of the fleet already running in $DIR"
    fi
    rm -rf "$DIR/hosts" "$DIR/plans" "$DIR/keys"
    rm -f "$DIR/inventory.json" "$DIR/known_hosts" "$DIR/ports" "$DIR/ssh_config" \
        "$DIR/authorized_keys" "$DIR/client_key" "$DIR/client_key.pub"
    mkdir -p "$DIR/hosts" "$DIR/plans" "$DIR/keys"
    trap on_start_exit EXIT
    trap 'exit 130' INT TERM HUP

    # Newer sshd (9.8+) punishes sources that fail auth; our negative hosts
    # would make 127.0.0.1 a punished source. Older ones reject the option.
    HAVE_PENALTIES=1
    out=$("$SSHD" -t -f /dev/null -o PerSourcePenalties=no 2>&1) || :
    [[ $out == *PerSourcePenalties* ]] && HAVE_PENALTIES=0

    # --- every host: fixture, plan, behaviour, keys, authorized_keys
    local -a all=()
    declare -A FIX=() PLAN=() BEHAV=() KEYS=() AUTHF=() KNOWN=()
    for name in "${names[@]}"; do
        all+=("$name")
        FIX[$name]=${H_LIKE[$name]}
        PLAN[$name]=$name
        BEHAV[$name]=${H_BEHAV[$name]}
        KNOWN[$name]=${H_KNOWN[$name]}
        KEYS[$name]=""
        for kt in ${H_KEYTYPES[$name]}; do
            KEYS[$name]+=" $DIR/hosts/$name/ssh_host_${kt}_key"
        done
        if [[ ${H_AUTH[$name]} == refuse ]]; then
            AUTHF[$name]=$DIR/hosts/$name/authorized_keys
        else
            AUTHF[$name]=$DIR/authorized_keys
        fi
    done
    local i
    for ((i = 1; i <= clones; i++)); do
        printf -v name 'clone-%03d' "$i"
        [[ -z ${seen[$name]:-} ]] || die "host $name named twice"
        all+=("$name")
        FIX[$name]=ok-debian PLAN[$name]=clones BEHAV[$name]=normal KNOWN[$name]=true
        KEYS[$name]=" $DIR/keys/clone_host_ed25519_key"
        AUTHF[$name]=$DIR/authorized_keys
    done
    for name in "${all[@]}"; do mkdir -p "$DIR/hosts/$name"; done

    # --- keys, generated in parallel (the clones share one host key)
    local -a kpids=()
    local key
    keygen() { ssh-keygen -q -t "$1" -N '' -C "$2" -f "$3" </dev/null >/dev/null; }
    keygen ed25519 nearmiss-fleet-client "$DIR/client_key" & kpids+=($!)
    keygen ed25519 nearmiss-fleet-stranger "$DIR/keys/stranger" & kpids+=($!)
    if ((clones > 0)); then
        keygen ed25519 nearmiss-fleet-clones "$DIR/keys/clone_host_ed25519_key" & kpids+=($!)
    fi
    for name in "${names[@]}"; do
        for key in ${KEYS[$name]}; do
            kt=${key##*/ssh_host_}
            keygen "${kt%_key}" "nearmiss-fleet-$name" "$key" & kpids+=($!)
        done
    done
    local j
    for j in "${kpids[@]}"; do wait "$j" || die "ssh-keygen failed"; done
    cp "$DIR/client_key.pub" "$DIR/authorized_keys"
    for name in "${names[@]}"; do
        # a real authorized_keys, just not with our key in it
        [[ ${H_AUTH[$name]} == refuse ]] && cp "$DIR/keys/stranger.pub" "${AUTHF[$name]}"
    done

    # --- mount plans (one per named host, one shared by all clones) and a
    # dry run of each, so that a host that can not work fails here, loudly
    declare -A planned=()
    for name in "${all[@]}"; do
        [[ ${BEHAV[$name]} == absent || -n ${planned[${PLAN[$name]}]:-} ]] && continue
        planned[${PLAN[$name]}]=1
        compile_plan "$(hostdef "${FIX[$name]}")" "$DIR/plans/${PLAN[$name]}" "${BEHAV[$name]}"
        if ! out=$(SSH_ORIGINAL_COMMAND=true NM_HOSTSHELL_BEHAVIOUR=normal \
            "$HOSTSHELL" "$(hostdef "${FIX[$name]}")" "$DIR/plans/${PLAN[$name]}" "$name" 2>&1 </dev/null); then
            die "the fake host $name can not set up its private view of the files:
$out
(the fleet needs root, or unprivileged user namespaces with overlayfs)"
        fi
    done

    # --- ports and sshd configs
    if [[ -n ${NM_FLEET_BASE_PORT:-} ]]; then
        if ! [[ $NM_FLEET_BASE_PORT =~ ^[0-9]+$ ]] || ((NM_FLEET_BASE_PORT < 1024 || NM_FLEET_BASE_PORT >= 64000)); then
            die "NM_FLEET_BASE_PORT must be a port 1024..63999"
        fi
        NEXT_PORT=$NM_FLEET_BASE_PORT
    else
        # Below the usual ephemeral range (32768+), spread by pid so that
        # fleets started side by side rarely probe the same ports.
        NEXT_PORT=$((20000 + ($$ % 96) * 128))
    fi
    refresh_listening
    declare -A PORT=()
    for name in "${all[@]}"; do
        alloc_port
        PORT[$name]=$ALLOCATED
        if [[ ${BEHAV[$name]} == absent ]]; then
            touch "$DIR/hosts/$name/absent"
            continue
        fi
        # shellcheck disable=SC2086 # KEYS holds a list of paths without spaces
        write_sshd_config "$name" "${FIX[$name]}" "${PLAN[$name]}" "${PORT[$name]}" "${AUTHF[$name]}" ${KEYS[$name]}
    done

    # --- check configs (all clones share one shape: check the first only)
    local checked_clone=0 hd
    for name in "${all[@]}"; do
        hd=$DIR/hosts/$name
        [[ -e $hd/absent ]] && continue
        if [[ ${PLAN[$name]} == clones ]]; then
            ((checked_clone)) && continue
            checked_clone=1
        fi
        out=$("$SSHD" -t -f "$hd/sshd_config" 2>&1) ||
            die "sshd -t rejects the config of $name ($hd/sshd_config):
$out"
    done

    # --- launch, then wait for every port; a port taken meanwhile by someone
    # else gets the host moved to another port (up to 5 times)
    local -a pending=() still
    declare -A tries=()
    for name in "${all[@]}"; do
        [[ -e $DIR/hosts/$name/absent ]] && continue
        launch_sshd "$name"
        pending+=("$name")
        tries[$name]=1
    done
    local deadline=$((SECONDS + START_TIMEOUT)) pid
    while ((${#pending[@]})); do
        sleep 0.05
        refresh_listening
        still=()
        for name in "${pending[@]}"; do
            hd=$DIR/hosts/$name
            { read -r pid <"$hd/sshd.pid"; } 2>/dev/null || pid=""
            if [[ -n $pid && $LISTENING == *" ${PORT[$name]} "* ]] && is_our_sshd "$pid" "$hd/sshd_config"; then
                continue
            fi
            if grep -q 'Cannot bind any address\|Address already in use' "$hd/sshd.log" 2>/dev/null &&
                ! is_our_sshd "$pid" "$hd/sshd_config"; then
                ((tries[$name] < 5)) || die "$name: no port could be bound; sshd log:
$(tail -n 20 "$hd/sshd.log")"
                tries[$name]=$((tries[$name] + 1))
                alloc_port
                PORT[$name]=$ALLOCATED
                sed -i "s/^ListenAddress .*/ListenAddress 127.0.0.1:${PORT[$name]}/" "$hd/sshd_config"
                say "$name: port taken meanwhile, moving to ${PORT[$name]}"
                launch_sshd "$name"
            fi
            still+=("$name")
        done
        pending=("${still[@]}")
        if ((${#pending[@]} && SECONDS >= deadline)); then
            name=${pending[0]}
            die "sshd of $name did not listen on 127.0.0.1:${PORT[$name]} within ${START_TIMEOUT}s (${#pending[@]} host(s) late); its log ($DIR/hosts/$name/sshd.log):
$(tail -n 20 "$DIR/hosts/$name/sshd.log" 2>/dev/null; cat "$DIR/hosts/$name/sshd.stderr" 2>/dev/null)"
        fi
    done
    wait || :   # reap the launchers (each sshd daemonised itself)

    # --- known_hosts, ports, ssh_config, inventory
    local entry _c
    local named=$DIR/keys/named.jsonl clonelist=$DIR/keys/clones.txt
    : >"$DIR/known_hosts"
    : >"$DIR/ports"
    : >"$DIR/ssh_config"
    : >"$named"
    : >"$clonelist"
    for name in "${all[@]}"; do
        printf '%s %s\n' "$name" "${PORT[$name]}" >>"$DIR/ports"
        case ${KNOWN[$name]} in
        true)
            for key in ${KEYS[$name]}; do
                read -r kt entry _c <"$key.pub"
                printf '[127.0.0.1]:%s %s %s\n' "${PORT[$name]}" "$kt" "$entry" >>"$DIR/known_hosts"
            done ;;
        wrong)
            read -r kt entry _c <"$DIR/keys/stranger.pub"
            printf '[127.0.0.1]:%s %s %s\n' "${PORT[$name]}" "$kt" "$entry" >>"$DIR/known_hosts" ;;
        esac
        printf '%s\n' "Host $name" "    HostName 127.0.0.1" "    Port ${PORT[$name]}" \
            "    User $FLEET_USER" "    IdentityFile $DIR/client_key" "    IdentitiesOnly yes" \
            "    UserKnownHostsFile $DIR/known_hosts" "    GlobalKnownHostsFile /dev/null" \
            "    StrictHostKeyChecking yes" "    BatchMode yes" >>"$DIR/ssh_config"
        if [[ ${PLAN[$name]} == clones ]]; then
            printf '%s %s\n' "$name" "${PORT[$name]}" >>"$clonelist"
        else
            jq -c --arg name "$name" --argjson port "${PORT[$name]}" --arg user "$FLEET_USER" '
                { name: $name, address: "127.0.0.1", port: $port, user: $user }
                + (if .roles then { roles } else {} end)
                + (if .labels then { labels } else {} end)
                + (if .criticality then { criticality } else {} end)
                + (.inventory // {})' "$(hostdef "$name")/host.json" >>"$named"
        fi
    done
    # Clones: role "app", spread over three zones and ten racks.
    jq -Rc --arg user "$FLEET_USER" '
        split(" ") | (.[0] | ltrimstr("clone-") | tonumber - 1) as $n |
        { name: .[0], address: "127.0.0.1", port: (.[1] | tonumber), user: $user,
          roles: ["app"],
          labels: { zone: (["a", "b", "c"][$n % 3]), rack: ("r" + ($n % 10 + 1 | tostring)) },
          criticality: "medium" }' "$clonelist" >>"$named"
    jq -s --arg user "$FLEET_USER" --arg dir "$DIR" --slurpfile roles "$FLEET_HOME/roles.json" '
        . as $hosts |
        ([$hosts[] | (.roles // [])[]] | unique) as $used |
        { defaults: { user: $user, port: 22, identity: ($dir + "/client_key"),
                      known_hosts: ($dir + "/known_hosts") },
          hosts: $hosts }
        + (($roles[0] | with_entries(select(.key as $k | $used | index($k)))) as $r |
           if ($r | length) > 0 then { roles: $r } else {} end)' \
        "$named" >"$DIR/inventory.json"

    START_OK=1
    trap - EXIT INT TERM HUP
    local running=0 absent=0
    for name in "${all[@]}"; do
        if [[ -e $DIR/hosts/$name/absent ]]; then absent=$((absent + 1)); else running=$((running + 1)); fi
    done
    echo "fleet: ${#all[@]} host(s) in $DIR: $running sshd running, $absent absent by design"
    echo "fleet: inventory $DIR/inventory.json  known_hosts $DIR/known_hosts  key $DIR/client_key"
    echo "fleet: try  ssh -F $DIR/ssh_config ${all[0]} cat /etc/os-release"
}

# ---------------------------------------------------------------- main --

[[ $# -ge 1 ]] || { usage >&2; exit 1; }
cmd=$1
shift
case $cmd in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
status) cmd_status "$@" ;;
-h | --help | help) usage ;;
*) usage >&2; exit 1 ;;
esac
