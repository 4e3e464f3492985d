# bash completion for nearmiss(1).
# Installed as bash-completion's completions/nearmiss (loaded on first use);
# without bash-completion, source it from ~/.bashrc.  The option lists are
# held to each command's --help by tests/docs/test-completion.py.

_nearmiss_commands="scan gate merge report checks ledger tickets sudoers"
_nearmiss_severities="info low medium high critical"

_nearmiss_opts_scan="-i --inventory -c --checks -w --waivers -o --out -j --jobs --max-per
    --timeout --known-hosts --identity --passphrase-file --user -F --ssh-config -J --jump
    --explain-host --accept-new --hosts --role --shard --format --fail-on --drain
    --unhealthy-at --max-output --tls-ca --tls-timeout --tls-discovery --save-scripts
    --keep-runs --keep-days --file-mode --allow-empty --ticket --ticket-min --ticket-timeout
    --pagerduty-url --github-url --jira-url --jira-issue-type -q --quiet -v --verbose -h --help"
_nearmiss_opts_gate="-i --inventory --hosts --role --drain --fail-on --checks --unhealthy-at
    --junit --json -c --checks-dir -w --waivers -F --ssh-config -J --jump -j --jobs --timeout
    --known-hosts --identity --passphrase-file --user --accept-new -q --quiet -h --help"
_nearmiss_opts_merge="-i --inventory -c --checks -o --out --format --keep-runs --keep-days
    --ticket --ticket-min --ticket-timeout --pagerduty-url --github-url --jira-url
    --jira-issue-type -q --quiet -h --help"
_nearmiss_opts_report="-f --format -o --out -q --quiet -h --help"
_nearmiss_opts_checks="-c --checks -h --help"
_nearmiss_opts_ledger="-o --out --format --since --from -h --help"
_nearmiss_opts_tickets="-o --out --format -h --help"
_nearmiss_opts_sudoers="-c --checks-dir --user --runas --checks -i --inventory --hosts --role -h --help"

# Files, or directories with -d, with or without bash-completion loaded.
_nearmiss_files()
{
    if declare -F _filedir >/dev/null; then
        _filedir "$@"
        return
    fi
    compopt -o filenames 2>/dev/null
    if [[ $1 == -d ]]; then
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}

# One more value of a comma-separated list (--format json,html,...).
_nearmiss_list()
{
    local done_part="" last=$cur
    if [[ $cur == *,* ]]; then
        done_part=${cur%,*},
        last=${cur##*,}
    fi
    mapfile -t COMPREPLY < <(compgen -P "$done_part" -W "$*" -- "$last")
    compopt -o nospace 2>/dev/null
}

_nearmiss_words()
{
    mapfile -t COMPREPLY < <(compgen -W "$*" -- "$cur")
}

_nearmiss_check_ids()
{
    local bin=${COMP_WORDS[0]}
    "$bin" checks list 2>/dev/null | awk 'NR > 1 { print $1 }'
}

# The value of option $prev of command $cmd: 0 when completed (or known to
# take a value), 1 when $prev takes none.
_nearmiss_value()
{
    case $cmd:$prev in
    *:-i | *:--inventory | *:-w | *:--waivers | *:--known-hosts | *:--identity | \
        *:--passphrase-file | *:--tls-ca | gate:--junit | gate:--json)
        _nearmiss_files ;;
    scan:-c | scan:--checks | merge:-c | merge:--checks | checks:-c | checks:--checks | \
        gate:-c | gate:--checks-dir | sudoers:-c | sudoers:--checks-dir | scan:--save-scripts | scan:-o | scan:--out | \
        merge:-o | merge:--out | ledger:-o | ledger:--out | tickets:-o | tickets:--out)
        _nearmiss_files -d ;;
    report:-o | report:--out)
        _nearmiss_files ;;
    *:-F | *:--ssh-config)
        _nearmiss_files
        [[ none == "$cur"* ]] && COMPREPLY+=(none) ;;
    scan:--format | merge:--format)
        _nearmiss_list json html junit prom ;;
    report:-f | report:--format)
        _nearmiss_list html junit prom ;;
    ledger:--format)
        _nearmiss_words json csv md ;;
    tickets:--format)
        _nearmiss_words text json ;;
    *:--fail-on | *:--ticket-min | *:--unhealthy-at | ledger:--from)
        _nearmiss_words $_nearmiss_severities ;;
    scan:--tls-discovery)
        _nearmiss_words off local remote ;;
    *:--ticket)
        _nearmiss_words exec: dir: pagerduty: github: jira:
        compopt -o nospace 2>/dev/null ;;
    gate:--checks | sudoers:--checks)
        _nearmiss_list $(_nearmiss_check_ids) ;;
    sudoers:--user | sudoers:--runas)
        mapfile -t COMPREPLY < <(compgen -u -- "$cur") ;;
    *:-j | *:--jobs | *:--max-per | *:--timeout | *:--user | *:-J | *:--jump | \
        *:--explain-host | *:--hosts | *:--role | *:--shard | *:--drain | *:--max-output | \
        *:--tls-timeout | *:--keep-runs | *:--keep-days | *:--file-mode | \
        *:--ticket-timeout | *:--pagerduty-url | *:--github-url | *:--jira-url | \
        *:--jira-issue-type | ledger:--since)
        COMPREPLY=() ;;
    *)
        return 1 ;;
    esac
    return 0
}

_nearmiss()
{
    local cur prev words cword split=false
    if declare -F _init_completion >/dev/null; then
        _init_completion -s || return
    else
        COMPREPLY=()
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        if [[ $cur == --*=* ]]; then
            prev=${cur%%=*}
            cur=${cur#*=}
            split=true
        fi
    fi

    if ((cword == 1)); then
        if [[ $cur == -* ]]; then
            _nearmiss_words --help --version
        else
            _nearmiss_words $_nearmiss_commands help
        fi
        return
    fi

    local cmd=${words[1]}
    local optsvar=_nearmiss_opts_$cmd
    case $cmd in
    scan | gate | merge | report | checks | ledger | tickets | sudoers) ;;
    *) return ;;
    esac

    _nearmiss_value && return
    $split && return

    if [[ $cur == -* ]]; then
        _nearmiss_words ${!optsvar}
        return
    fi
    case $cmd in
    checks)
        local i sub=""
        for ((i = 2; i < cword; i++)); do
            case ${words[i]} in
            -c | --checks) ((i++)) ;;
            -*) ;;
            *) sub=${words[i]} && break ;;
            esac
        done
        if [[ -z $sub ]]; then
            _nearmiss_words list show parsers
        elif [[ $sub == show ]]; then
            _nearmiss_words $(_nearmiss_check_ids)
        fi
        ;;
    report | merge)
        _nearmiss_files ;; # REPORT.json
    esac
} &&
    complete -F _nearmiss nearmiss
