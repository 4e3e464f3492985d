# nearmiss probe script
nm_put() {
    [ -n "$1" ] || return 0
    if [ -n "$nm_cat" ]; then
        case $1 in $nm_q*"
")
            { cat <<nm_EOF
${1%?}
nm_EOF
            } 2>/dev/null && return 0 ;;
        esac
    fi
    printf '%s' "$1"
}
nm_probe() {
    nm_id=$1 nm_nr=$2 nm_t=$3 nm_raw=$4
    shift 4
    set -- sh -c -- "$1"
    if [ "$nm_t" != 0 ] && [ -n "$nm_to" ]; then
        set -- "$nm_to" -k 2 "$nm_t" "$@"
    fi
    if [ "$nm_nr" != 0 ]; then
        nm_why=
        case $nm_sudo in
        root) ;;
        all)
            [ "$nm_nr" = 1 ] &&
                set -- sudo -n ${NM_SUDO_USER:+-u "$NM_SUDO_USER"} "$@"
            ;;
        some) [ "$nm_nr" = 1 ] && nm_why=partial ;;
        *) nm_why=$nm_sudo ;;
        esac
        if [ -n "$nm_why" ]; then
            nm_eo="$nm_eo$nm_m S $nm_id $nm_why
"
            return 0
        fi
    fi
    NM_PROBE_ID=$nm_id; export NM_PROBE_ID
    if [ -n "$nm_ef" ] && [ "$nm_raw" != 1 ]; then
        if [ "$nm_nr" = 2 ]; then { nm_o=$("$@" 9>&1 2>"$nm_ef"); } 2>/dev/null
        else { nm_o=$("$@" 2>"$nm_ef"); } 2>/dev/null; fi
        nm_rc=$?
        nm_eo="$nm_eo$nm_m B $nm_id
${nm_o:+$nm_o
}
$nm_m E $nm_id $nm_rc
"
        nm_o=
    else
        nm_eo="$nm_eo$nm_m B $nm_id
"
        nm_put "$nm_eo"
        if [ -n "$nm_ef" ]; then
            if [ "$nm_nr" = 2 ]; then "$@" 9>&1 2>"$nm_ef"; else "$@" 2>"$nm_ef"; fi
        else
            nm_ee="$nm_ee$nm_m B $nm_id
"
            nm_put "$nm_ee" >&2
            if [ "$nm_nr" = 2 ]; then "$@" 9>&1; else "$@"; fi
        fi
        nm_rc=$?
        nm_eo="
$nm_m E $nm_id $nm_rc
"
        if [ -z "$nm_ef" ]; then
            nm_ee="
$nm_m E $nm_id
"
            return 0
        fi
    fi
    if [ -s "$nm_ef" ]; then
        { nm_x=$(dd if="$nm_ef" bs=8388609 count=1); } 2>/dev/null
        nm_es="$nm_es$nm_m B $nm_id
${nm_x:+$nm_x
}
$nm_m E $nm_id
"
        nm_x=
    fi
    if [ -n "$nm_up" ] && read nm_up nm_x </proc/uptime; then
        nm_up=${nm_up%.*}
        [ $((nm_up - nm_last)) -lt 1 ] && return 0
        nm_last=$nm_up
    fi
    nm_put "$nm_eo"
    nm_put "$nm_es" >&2
    nm_eo= nm_es=
}
nm_main() {
set +e
umask 077
LC_ALL=C; export LC_ALL
PATH="${PATH:-/usr/bin:/bin}:/usr/sbin:/sbin:/usr/local/sbin"; export PATH
nm_root=0
[ "$(id -u 2>/dev/null)" = 0 ] && nm_root=1
nm_sudo=root
nm_to=
nm_eo=
nm_ee=
nm_ef= nm_en= nm_up= nm_last=0 nm_es=
nm_cat= nm_q=
if [ -n "${BASH_VERSION-}" ] && command -v cat >/dev/null 2>&1; then
    nm_cat=1 nm_q='?'
    nm_q=$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q
    nm_q=$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q
    nm_q=$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q
fi
[ -r /proc/uptime ] && read nm_up nm_x </proc/uptime && nm_last=${nm_up%.*}
if nm_en=$(mktemp "${TMPDIR:-/tmp}/nearmiss.XXXXXXXX" 2>/dev/null) && [ -f "$nm_en" ]; then
    nm_ef=$nm_en
    if exec 7>"$nm_en" && [ -w "/proc/$$/fd/7" ]; then
        rm -f "$nm_en"; nm_en= nm_ef=/proc/$$/fd/7
    fi
else
    nm_en=
fi
command -v renice >/dev/null 2>&1 && renice -n 10 -p $$ >/dev/null 2>&1
command -v ionice >/dev/null 2>&1 && ionice -c 3 -p $$ >/dev/null 2>&1
nm_m=0123456789abcdef0123456789abcdef
NM_SNI=''; export NM_SNI
nm_become=1
NM_SUDO_USER=
if [ "$nm_root" != 1 ]; then
    if [ "$nm_become" = 0 ]; then nm_sudo=off
    elif ! command -v sudo >/dev/null 2>&1; then nm_sudo=nosudo
    elif sudo -n -l >/dev/null 2>&1; then
        nm_sudo=some
        sudo -n ${NM_SUDO_USER:+-u "$NM_SUDO_USER"} -l true >/dev/null 2>&1 &&
            sudo -n ${NM_SUDO_USER:+-u "$NM_SUDO_USER"} true >/dev/null 2>&1 &&
            nm_sudo=all
    elif nm_se=$(sudo -n ${NM_SUDO_USER:+-u "$NM_SUDO_USER"} true 2>&1); then nm_sudo=all
    else
        case $nm_se in
        *'not allowed'* | *'not in the sudoers'* | *'may not run sudo'*)
            nm_sudo=notallowed ;;
        *) nm_sudo=password ;;
        esac
    fi
fi
NM_SUDO=$nm_sudo NM_M=$nm_m; export NM_SUDO NM_M
nm_to=$(command -v timeout 2>/dev/null)
if [ -n "$nm_to" ] && ! "$nm_to" -k 1 5 true >/dev/null 2>&1; then nm_to=; fi
NM_TO=$nm_to; export NM_TO
nm_probe 'os-release' 0 10 0 'cat /etc/os-release'
nm_probe 'shadow-perms' 1 0 0 'stat -c '\''%a %U'\'' /etc/shadow'
nm_put "$nm_eo"
nm_put "$nm_es$nm_ee" >&2
[ -n "$nm_en" ] && rm -f "$nm_en"
}
nm_main </dev/null
exit 0
