/*
 * Reach: how to connect to each host of a run, resolved once, before the
 * scan.  For each value the first of these that sets it wins:
 *
 *   1. the host's own entry in the inventory (native keys, or ansible_user,
 *      ansible_port, ansible_ssh_private_key_file, then what
 *      ansible_ssh_common_args/ansible_ssh_extra_args say: nearmiss/sshargs.h);
 *   2. the command line (--user, --identity, --known-hosts, --jump);
 *   3. the OpenSSH client configuration (nearmiss/sshconfig.h): HostName,
 *      Port, User, IdentityFile, UserKnownHostsFile, ProxyJump,
 *      HostKeyAlias, ConnectTimeout;
 *   4. the "defaults" of the inventory file the host comes from;
 *   5. built in: port 22, user $USER (else root), known_hosts
 *      ~/.ssh/known_hosts, identity none (the transport then tries ssh-agent,
 *      then ~/.ssh/id_ed25519, id_ecdsa, id_rsa).
 *
 * The name ssh_config's Host lines see is the one ssh would be given: the
 * inventory's address when it sets one, else the host's name.  The address
 * is the inventory's own, else HostName, else the name.  "~/" and the
 * ssh_config tokens are expanded here, once the final values are known.
 *
 * Jump hosts (ProxyJump, "[user@]host[:port]" comma lists, "none" for
 * none) are resolved through ssh_config by their own names, like ssh -J:
 * the hop's user and port as written, then its ssh_config, then the command
 * line and the inventory defaults; its known_hosts is its ssh_config's,
 * else the target's.  A hop's own ProxyJump is not followed (the chain is
 * the target's).  A ProxyCommand of the form `ssh [opts] -W %h:%p HOST` is
 * read as ProxyJump HOST; any other ProxyCommand makes the host
 * unreachable with `error` saying why (nearmiss runs no commands).  The
 * same holds for an Ansible host's -o ProxyCommand, which counts as the
 * host's own ProxyJump.  What the inventory's ssh arguments held that is not
 * used is the host's `warning`.
 *
 * The passphrase of an encrypted identity is the first line of
 * --passphrase-file, read once, for every host.  Every string is owned by
 * the nm_reach_set (nm_reach_set_finish frees it, wiping the passphrase).
 */
#ifndef NEARMISS_REACH_H
#define NEARMISS_REACH_H

#include <stdbool.h>
#include <stddef.h>

#include "nearmiss/error.h"
#include "nearmiss/inventory.h"

#define NM_REACH_MAX_JUMPS 8

/* The command line's part; NULL or 0 = not given. */
struct nm_reach_options {
    const char *user;
    int port;
    const char *identity;
    const char *known_hosts;
    const char *proxy_jump;
    const char *passphrase_file;
    /* -F: NULL = ~/.ssh/config and /etc/ssh/ssh_config; "none" = none. */
    const char *ssh_config;
};

/* The values whose origin is recorded (explain_host). */
enum nm_reach_field {
    NM_REACH_ADDRESS,
    NM_REACH_PORT,
    NM_REACH_USER,
    NM_REACH_IDENTITY,
    NM_REACH_KNOWN_HOSTS,
    NM_REACH_JUMP,
    NM_REACH_HOSTKEY_ALIAS,
    NM_REACH_CONNECT_TIMEOUT,
    NM_REACH_N_FIELDS
};

/* How to reach one host (or one jump host). */
struct nm_reach {
    const char *name; /* the name ssh_config was asked about */
    const char *address;
    int port;
    const char *user;
    const char *identity;    /* identities[0]; NULL = none given */
    const char **identities; /* tried in order */
    size_t n_identities;
    bool use_agent; /* ssh-agent before the identities */
    const char *known_hosts;
    const char *hostkey_alias; /* known_hosts name instead of address; NULL = none */
    int connect_timeout_s;     /* TCP connect limit of each hop; 0 = the host deadline */
    struct nm_reach *jumps;    /* ProxyJump hops, first to last */
    size_t n_jumps;
    const char *error;   /* set: cannot be reached as configured, and why */
    const char *note;    /* what ssh_config had that was not evaluated; NULL = none */
    const char *warning; /* what the inventory asked for that is not used, and why; NULL = none */
    const char *from[NM_REACH_N_FIELDS]; /* where each value came from */
};

struct nm_reach_set {
    struct nm_reach *hosts; /* hosts[i] is for the inventory's hosts[i] */
    size_t n_hosts;
    char *passphrase;         /* NULL = none */
    char *ssh_config_sources; /* the ssh_config files read, or "none" */
    char **strings;           /* owned copies the entries point into */
    size_t n_strings;
    void **blocks; /* owned arrays (identities, jumps) */
    size_t n_blocks;
};

/* Resolves every host of inv.  On error (an unreadable passphrase file, a
 * bad ssh_config, an unknown token) *ret is untouched and d says why. */
int nm_reach_resolve(const struct nm_inventory *inv, const struct nm_reach_options *o,
                     struct nm_reach_set *ret, nm_diag *d);
void nm_reach_set_finish(struct nm_reach_set *rs);

/* Field name for explain output ("address", "port"...). */
const char *nm_reach_field_name(enum nm_reach_field f);

#endif
