/*
 * Reach: how to connect to each host of a run, resolved once, before the
 * scan, from four sources.  For each of user, port, identity and
 * known_hosts the first of these that sets it wins:
 *
 *   1. the host's own entry in the inventory (native keys, or ansible_user,
 *      ansible_port, ansible_ssh_private_key_file);
 *   2. the command line (--user, --identity, --known-hosts);
 *   3. the "defaults" of the inventory file the host comes from;
 *   4. built in: port 22, user $USER (else root), known_hosts
 *      ~/.ssh/known_hosts, identity none (the transport then tries ssh-agent,
 *      then ~/.ssh/id_ed25519, id_ecdsa, id_rsa).
 *
 * The address is the inventory's (its name when it has none).  "~/" in a
 * path is the scanner's $HOME: inventory paths are expanded when the file is
 * loaded, command-line ones here.  The passphrase of an encrypted identity
 * is the first line of --passphrase-file, read once, for every host.
 * A later source (an ssh_config file) belongs between 3 and 4, here only.
 *
 * Every string is owned by the nm_reach_set (nm_reach_set_finish frees it,
 * wiping the passphrase first).
 */
#ifndef NEARMISS_REACH_H
#define NEARMISS_REACH_H

#include <stddef.h>

#include "nearmiss/error.h"
#include "nearmiss/inventory.h"

/* The command line's part; NULL or 0 = not given. */
struct nm_reach_options {
    const char *user;
    int port;
    const char *identity;
    const char *known_hosts;
    const char *passphrase_file;
};

/* How to reach one host. */
struct nm_reach {
    const char *address;
    int port;
    const char *user;
    const char *identity; /* NULL = none given: agent, then the usual key files */
    const char *known_hosts;
};

struct nm_reach_set {
    struct nm_reach *hosts; /* hosts[i] is for the inventory's hosts[i] */
    size_t n_hosts;
    char *passphrase; /* NULL = none */
    char **strings;   /* owned copies the entries point into */
    size_t n_strings;
};

/* Resolves every host of inv.  On error (an unreadable passphrase file)
 * *ret is untouched and d says why. */
int nm_reach_resolve(const struct nm_inventory *inv, const struct nm_reach_options *o,
                     struct nm_reach_set *ret, nm_diag *d);
void nm_reach_set_finish(struct nm_reach_set *rs);

#endif
