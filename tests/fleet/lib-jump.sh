# shellcheck shell=bash
# Jump hosts for the fleet tests that reach hosts through them (sourced by
# test-jump.sh, test-jump-share.sh and test-trust.sh after testlib.sh; they set DIR, F, ME
# and JUMP_PIDS=(), and kill JUMP_PIDS on exit).  JUMP_PID maps a jump
# host's name to its pid, for the tests that stop one mid-scan.
declare -A JUMP_PID
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A jump host: a plain sshd that forwards and runs nothing, in a private
# mount namespace whose /etc/hosts knows the names given.
HAVE_PENALTIES=1
out=$(/usr/sbin/sshd -t -f /dev/null -o PerSourcePenalties=no 2>&1) || :
[[ $out == *PerSourcePenalties* ]] && HAVE_PENALTIES=0
start_jump() { # NAME PORT NAMES...
    local name=$1 port=$2 jd=$DIR/jump/$1
    shift 2
    mkdir -p "$jd"
    ssh-keygen -q -t ed25519 -N '' -C "nm-jump-$name" -f "$jd/host_key" </dev/null
    { cat /etc/hosts; for h in "$@"; do echo "127.0.0.1 $h"; done; } >"$jd/hosts"
    cat >"$jd/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $jd/host_key
PidFile $jd/sshd.pid
AuthorizedKeysFile $F/authorized_keys
AllowUsers $ME
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
PermitOpen any
ForceCommand /bin/false
LogLevel DEBUG1
MaxStartups 100:30:200
EOF
    ((HAVE_PENALTIES)) && echo "PerSourcePenalties no" >>"$jd/sshd_config"
    /usr/sbin/sshd -t -f "$jd/sshd_config"
    local ns=(unshare -m --propagation private)
    ((EUID == 0)) || ns=(unshare -Um --map-current-user --keep-caps --propagation private)
    # shellcheck disable=SC2016 # expanded by the inner sh
    "${ns[@]}" sh -c 'mount --bind "$1" /etc/hosts && exec /usr/sbin/sshd -D -f "$2" -E "$3"' \
        sh "$jd/hosts" "$jd/sshd_config" "$jd/sshd.log" &
    JUMP_PIDS+=($!)
    JUMP_PID[$name]=$!
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q "Server listening" "$jd/sshd.log" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "# jump host $name did not start:"
    sed 's/^/# /' "$jd/sshd.log"
    exit 1
}
