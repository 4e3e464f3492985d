# nearmiss probe script
nm_probe() {
    nm_id=$1 nm_nr=$2 nm_t=$3
    shift 3
    set -- sh -c -- "$1"
    if [ "$nm_t" != 0 ] && [ -n "$nm_to" ]; then
        set -- "$nm_to" -k 2 "$nm_t" "$@"
    fi
    if [ "$nm_nr" = 1 ] && [ "$nm_root" != 1 ]; then
        if [ "$nm_sudo" != 1 ]; then
            printf '%s%s S %s noroot\n' "$nm_eo" "$nm_m" "$nm_id"
            nm_eo=
            return 0
        fi
        set -- sudo -n "$@"
    fi
    printf '%s%s B %s\n' "$nm_eo" "$nm_m" "$nm_id"
    printf '%s%s B %s\n' "$nm_ee" "$nm_m" "$nm_id" >&2
    "$@"
    nm_rc=$?
    nm_eo="
$nm_m E $nm_id $nm_rc
"
    nm_ee="
$nm_m E $nm_id
"
}
nm_main() {
set +e
umask 077
LC_ALL=C; export LC_ALL
PATH="${PATH:-/usr/bin:/bin}:/usr/sbin:/sbin:/usr/local/sbin"; export PATH
nm_root=0
[ "$(id -u 2>/dev/null)" = 0 ] && nm_root=1
nm_sudo=0
nm_to=
nm_eo=
nm_ee=
command -v renice >/dev/null 2>&1 && renice -n 10 -p $$ >/dev/null 2>&1
command -v ionice >/dev/null 2>&1 && ionice -c 3 -p $$ >/dev/null 2>&1
nm_m=0123456789abcdef0123456789abcdef
if [ "$nm_root" != 1 ] && command -v sudo >/dev/null 2>&1 &&
    sudo -n true >/dev/null 2>&1; then nm_sudo=1; fi
nm_to=$(command -v timeout 2>/dev/null)
if [ -n "$nm_to" ] && ! "$nm_to" -k 1 5 true >/dev/null 2>&1; then nm_to=; fi
nm_probe 'os-release' 0 10 'cat /etc/os-release'
nm_probe 'shadow-perms' 1 0 'stat -c '\''%a %U'\'' /etc/shadow'
printf '%s' "$nm_eo"
printf '%s' "$nm_ee" >&2
}
nm_main </dev/null
exit 0
