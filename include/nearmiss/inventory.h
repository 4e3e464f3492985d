/*
 * Inventory: which hosts to scan and what their files say about reaching
 * them (how that combines with the command line: nearmiss/reach.h).
 *
 * Accepts the native JSON format (see docs/inventory.md) and the output of
 * `ansible-inventory --list`.  Several files merge into one inventory; a host
 * name defined twice is an error naming both places.  Every string here is
 * owned by the inventory and freed by nm_inventory_finish().
 */
#ifndef NEARMISS_INVENTORY_H
#define NEARMISS_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "nearmiss/error.h"
#include "nearmiss/util.h"

struct nm_label {
    char *key;
    char *value;
};

enum nm_become {
    NM_BECOME_DEFAULT = 0, /* not said: use sudo -n for root probes when not root */
    NM_BECOME_OFF,         /* ansible_become false: never run sudo on this host */
    NM_BECOME_UNSUPPORTED, /* a become method other than sudo: not run either */
};

struct nm_host {
    char *name;        /* required, unique across all files */
    char *address;     /* defaults to name */
    int port;          /* 0 = not set here (use default, finally 22) */
    char *user;        /* NULL = not set (see nearmiss/reach.h) */
    char *identity;    /* private key path, "~/" expanded; NULL = not set */
    char *known_hosts; /* NULL = not set */
    char *proxy_jump;  /* ssh's ProxyJump: "[user@]host[:port],..." or "none"; NULL = not set */
    /* An Ansible host's -o ProxyCommand (nearmiss/sshargs.h), as written;
     * nearmiss/reach.h says what becomes of it.  NULL = none. */
    char *proxy_command;
    char *reach_note;  /* what the inventory asked for that is not used, and why; NULL = none */
    char *reach_error; /* set: the inventory's ssh settings for this host cannot be followed */
    char **roles;
    size_t n_roles;
    struct nm_label *labels;
    size_t n_labels;
    char *criticality; /* "low" | "medium" | "high" | "critical"; NULL = "medium" */
    char **tls;        /* TLS endpoint specs as written */
    size_t n_tls;
    char *origin;           /* "FILE" (native) or "FILE (ansible)", for messages */
    unsigned from_defaults; /* NM_HOST_DEFAULT_* bits: filled from the file's "defaults" */
    /* Privilege, from Ansible's become variables (docs/inventory.md). */
    enum nm_become become;
    char *become_user;   /* sudo -u USER for root probes; NULL = sudo's default, root */
    char *become_method; /* the unsupported method (NM_BECOME_UNSUPPORTED), else NULL */
};

/* Fields filled from the file's "defaults", not set by the host itself: a
 * command-line option overrides those (nm_reach_resolve). */
enum {
    NM_HOST_DEFAULT_USER = 1u << 0,
    NM_HOST_DEFAULT_PORT = 1u << 1,
    NM_HOST_DEFAULT_IDENTITY = 1u << 2,
    NM_HOST_DEFAULT_KNOWN_HOSTS = 1u << 3,
    NM_HOST_DEFAULT_PROXY_JUMP = 1u << 4,
    /* No address was given: it is the name (ssh_config's HostName may say another). */
    NM_HOST_ADDRESS_FROM_NAME = 1u << 5,
    /* proxy_jump came from an Ansible host's ssh arguments: a value that
     * cannot be followed is that host's error, not the run's. */
    NM_HOST_JUMP_FROM_SSH_ARGS = 1u << 6,
};

struct nm_role {
    char *name;
    int min_healthy; /* 0 = not set */
    char **spread;   /* label keys whose values must differ among healthy hosts */
    size_t n_spread;
    char *origin; /* file that defined it, for messages */
};

struct nm_inventory {
    struct nm_host *hosts;
    size_t n_hosts;
    struct nm_host *unselected; /* left out by nm_inventory_select: not scanned */
    size_t n_unselected;
    struct nm_role *roles;
    size_t n_roles;
};

void nm_inventory_init(struct nm_inventory *inv);
void nm_inventory_finish(struct nm_inventory *inv);

/*
 * Loads one file and merges it into inv.  The format is detected from the
 * content: an object with "hosts" as an array is native; an object with
 * "_meta" (or only group objects) is Ansible.  A file's "defaults" apply to
 * the hosts of that file only, and are resolved into each host on load.
 * On error nothing is added to inv and d says "FILE:LINE: key path: problem".
 */
int nm_inventory_load_file(struct nm_inventory *inv, const char *path, nm_diag *d);
/* Same from memory; name is used in messages. */
int nm_inventory_load_buffer(struct nm_inventory *inv, const char *name, const char *data,
                             size_t len, nm_diag *d);

/*
 * Keeps only hosts whose name matches host_glob (fnmatch; a comma-separated
 * list of globs is allowed) and that have role `role`; NULL means no filter.
 * The others move to inv->unselected (never scanned; the fleet rules know
 * them as members of their roles).
 * Returns NM_ERR_NOTFOUND (with diag) if nothing is left.
 */
int nm_inventory_select(struct nm_inventory *inv, const char *host_glob, const char *role,
                        nm_diag *d);

/* Keeps the hosts for which keep() is true, in order; may leave none. */
void nm_inventory_keep_if(struct nm_inventory *inv, bool (*keep)(const struct nm_host *, void *),
                          void *ctx);
/* Moves the unselected hosts that share a role with a selected host back
 * into hosts (after them, in inventory order); returns how many. */
size_t nm_inventory_add_role_peers(struct nm_inventory *inv);

const struct nm_host *nm_inventory_find_host(const struct nm_inventory *inv, const char *name);
const struct nm_role *nm_inventory_find_role(const struct nm_inventory *inv, const char *name);
/* Every key an inventory file may hold (see struct nm_keyset). */
extern const struct nm_keyset nm_inventory_keysets[];

const char *nm_host_label(const struct nm_host *h, const char *key);
bool nm_host_has_role(const struct nm_host *h, const char *role);

#endif
