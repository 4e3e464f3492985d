/*
 * The ssh command-line arguments Ansible inventories carry for a host
 * (ansible_ssh_common_args, ansible_ssh_extra_args), read for what they say
 * about reaching it: -J / -o ProxyJump, -o ProxyCommand, -p / -o Port,
 * -l / -o User, -i / -o IdentityFile, -o UserKnownHostsFile and
 * -o StrictHostKeyChecking.  Ansible splits these strings with POSIX shell
 * rules (shlex) and hands them to ssh, which keeps the first value it gets
 * for each option; so does this.  Nothing is run and nothing is silently
 * dropped: what is not used is named in `note`, what makes the host
 * unreachable as written in `error`.
 */
#ifndef NEARMISS_SSHARGS_H
#define NEARMISS_SSHARGS_H

#include <stddef.h>

#include "nearmiss/error.h"

#define NM_SSH_ARGS_MAX_LEN   4096 /* longer strings are refused whole */
#define NM_SSH_ARGS_MAX_WORDS 128

struct nm_ssh_args {
    char *proxy_jump;    /* -J / -o ProxyJump ("none" included) */
    char *proxy_command; /* -o ProxyCommand, as written, when it came before any ProxyJump */
    int port;            /* 0 = none */
    char *user;
    char *identity;    /* "~/" expanded */
    char *known_hosts; /* the first UserKnownHostsFile, "~/" expanded; never /dev/null */
    char *note;        /* "; "-separated: options not used and why; NULL = none */
    char *error;       /* set: these arguments cannot be followed (bad quoting, bad value) */
};

/*
 * Splits s into words as Python's shlex.split (what Ansible uses) does:
 * blanks separate words, '...' is literal, inside "..." a backslash escapes
 * only " and \, and an unquoted backslash escapes the next character.  *ret is one allocation
 * (free(*ret) frees the words too).  NM_ERR_PARSE with *why set on an
 * unterminated quote or a trailing backslash, NM_ERR_TOOBIG past max_words
 * or NM_SSH_ARGS_MAX_LEN.
 */
int nm_shell_words(const char *s, size_t max_words, char ***ret, size_t *ret_n, const char **why);

/*
 * Adds what value (the variable var, for messages) says to *a.  Values
 * already in *a win, as ssh keeps the first: call it for
 * ansible_ssh_common_args, then ansible_ssh_extra_args (Ansible's order).
 * Never fails: problems go to a->error and a->note.
 */
void nm_ssh_args_parse(const char *var, const char *value, struct nm_ssh_args *a);
void nm_ssh_args_finish(struct nm_ssh_args *a);

#endif
