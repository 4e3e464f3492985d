/*
 * OpenSSH client configuration (ssh_config(5)), read as ssh reads it for the
 * keywords that decide how a host is reached: HostName, User, Port,
 * IdentityFile (several), IdentitiesOnly, UserKnownHostsFile, ProxyJump,
 * ProxyCommand (recognised, see reach.h), ConnectTimeout, HostKeyAlias.
 * Other keywords are accepted and ignored.
 *
 *   - Files: `~/.ssh/config` then `/etc/ssh/ssh_config` (a missing one is
 *     empty); `-F FILE` reads FILE alone (it must exist) and `-F none`
 *     nothing, as ssh does.
 *   - `Host` patterns (`*`, `?`, `!negation`, case-insensitive) and
 *     `Match all|host|originalhost|user|localuser|final|canonical|exec`
 *     (each criterion may be negated with `!`); `exec` is never run: it
 *     does not match, and the lookup notes so.
 *   - The first value obtained for a keyword wins; IdentityFile adds up.
 *   - `Include` with globs, relative to ~/.ssh (user file) or /etc/ssh
 *     (system file), inside Host/Match blocks too; 16 levels at most.
 *   - Tokens (`%h %p %r %u %n %d %i %%`) and `~/` are expanded by
 *     nm_sshcfg_expand once the connection's final values are known.
 *
 * Every parse error names "FILE:LINE: Keyword: problem".  The parsed files
 * are kept in memory, so lookups never touch the disk.  Strings in a lookup
 * result are borrowed from the nm_sshcfg.
 */
#ifndef NEARMISS_SSHCONFIG_H
#define NEARMISS_SSHCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "nearmiss/error.h"

#define NM_SSHCFG_SYSTEM_FILE "/etc/ssh/ssh_config"

struct nm_sshcfg;

enum nm_sshcfg_key {
    NM_SSHCFG_HOSTNAME,
    NM_SSHCFG_USER,
    NM_SSHCFG_PORT,
    NM_SSHCFG_IDENTITYFILE, /* the first one; all are in identity_files */
    NM_SSHCFG_IDENTITIESONLY,
    NM_SSHCFG_USERKNOWNHOSTSFILE, /* its first file */
    NM_SSHCFG_PROXYJUMP,
    NM_SSHCFG_PROXYCOMMAND,
    NM_SSHCFG_CONNECTTIMEOUT,
    NM_SSHCFG_HOSTKEYALIAS,
    NM_SSHCFG_N_KEYS
};

/* A value and the line it came from; value NULL = not set. */
struct nm_sshcfg_value {
    const char *value;
    const char *file;
    unsigned line;
};

struct nm_sshcfg_result {
    struct nm_sshcfg_value v[NM_SSHCFG_N_KEYS];
    struct nm_sshcfg_value *identity_files; /* owned array, in order */
    size_t n_identity_files;
    int port;            /* 0 = not set */
    int connect_timeout; /* seconds; 0 = not set */
    int identities_only; /* -1 not set, 0 no, 1 yes */
    char note[256];      /* what was skipped (Match exec...); "" when nothing */
};

/*
 * path NULL: the user's ~/.ssh/config and the system file; "none": nothing;
 * anything else: that file alone, which must be readable.
 */
int nm_sshcfg_load(const char *path, struct nm_sshcfg **ret, nm_diag *d);
/* The files explicitly (tests): user_path is required when user_required;
 * either may be NULL. */
int nm_sshcfg_load_files(const char *user_path, bool user_required, const char *system_path,
                         struct nm_sshcfg **ret, nm_diag *d);
void nm_sshcfg_destroy(struct nm_sshcfg *cfg);
/* The files read, "none" or "FILE, FILE", for messages. */
const char *nm_sshcfg_sources(const struct nm_sshcfg *cfg);

/*
 * What the configuration says for `host` (the name as it would be given to
 * ssh).  `user` is the login user already decided elsewhere (NULL: none;
 * `Match user` then sees the configuration's own User, else the local
 * user).  cfg may be NULL (nothing set).  Returns 0.
 */
int nm_sshcfg_lookup(const struct nm_sshcfg *cfg, const char *host, const char *user,
                     struct nm_sshcfg_result *ret);
void nm_sshcfg_result_finish(struct nm_sshcfg_result *r);

/* The values tokens stand for. */
struct nm_sshcfg_tokens {
    const char *host;     /* %h: the host name connected to */
    const char *original; /* %n: the name as given */
    int port;             /* %p */
    const char *ruser;    /* %r */
};

/*
 * Expands the tokens (and, with tilde, a leading "~/" or "~") of a value
 * from `from` (its file and line are the error's place).  An unknown
 * token is an error naming the place and the keyword.
 */
int nm_sshcfg_expand(const char *keyword, const struct nm_sshcfg_value *from,
                     const struct nm_sshcfg_tokens *t, bool tilde, char **ret, nm_diag *d);

/* Keyword name as ssh_config(5) spells it. */
const char *nm_sshcfg_key_name(enum nm_sshcfg_key k);

#endif
