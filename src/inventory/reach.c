/* How to reach each host: the precedence of nearmiss/reach.h, in one place. */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/reach.h"
#include "nearmiss/util.h"

#define PASSPHRASE_CAP 4096
#define DEFAULT_PORT   22

/* A copy owned by the set; NULL stays NULL. */
static const char *keep(struct nm_reach_set *rs, char *s)
{
    if (!s)
        return NULL;
    rs->strings = nm_xreallocarray(rs->strings, rs->n_strings + 1, sizeof *rs->strings);
    rs->strings[rs->n_strings++] = s;
    return s;
}

/* The host's value when it set one itself; a file default yields to the
 * command line. */
static const char *pick(const char *host_value, unsigned from_defaults, unsigned bit,
                        const char *cli, const char *builtin)
{
    if (host_value && !(from_defaults & bit))
        return host_value;
    if (cli)
        return cli;
    if (host_value)
        return host_value;
    return builtin;
}

static int read_passphrase(const char *path, char **ret, nm_diag *d)
{
    char *p = NULL;
    size_t len = 0;
    nm_diag why = {{0}};
    int r = nm_read_file(path, PASSPHRASE_CAP, &p, &len, &why);
    if (r < 0)
        return nm_diag_set(d, r, "--passphrase-file: %s", why.msg);
    p[strcspn(p, "\r\n")] = '\0';
    *ret = p;
    return 0;
}

int nm_reach_resolve(const struct nm_inventory *inv, const struct nm_reach_options *o,
                     struct nm_reach_set *ret, nm_diag *d)
{
    struct nm_reach_set rs = {0};
    int r = 0;
    if (o->passphrase_file) {
        r = read_passphrase(o->passphrase_file, &rs.passphrase, d);
        if (r < 0)
            return r;
    }
    const char *env_user = getenv("USER");
    const char *user_builtin = keep(&rs, nm_xstrdup(env_user ? env_user : "root"));
    const char *kh_builtin = keep(&rs, nm_expand_home("~/.ssh/known_hosts"));
    const char *kh_cli = o->known_hosts ? keep(&rs, nm_expand_home(o->known_hosts)) : NULL;
    const char *id_cli = o->identity ? keep(&rs, nm_expand_home(o->identity)) : NULL;

    rs.n_hosts = inv->n_hosts;
    rs.hosts = nm_xcalloc(inv->n_hosts ? inv->n_hosts : 1, sizeof *rs.hosts);
    for (size_t i = 0; i < inv->n_hosts; i++) {
        const struct nm_host *h = &inv->hosts[i];
        struct nm_reach *t = &rs.hosts[i];
        unsigned fd = h->from_defaults;
        t->address = h->address;
        if (h->port && !(fd & NM_HOST_DEFAULT_PORT))
            t->port = h->port;
        else if (o->port > 0)
            t->port = o->port;
        else
            t->port = h->port ? h->port : DEFAULT_PORT;
        t->user = pick(h->user, fd, NM_HOST_DEFAULT_USER, o->user, user_builtin);
        t->identity = pick(h->identity, fd, NM_HOST_DEFAULT_IDENTITY, id_cli, NULL);
        t->known_hosts = pick(h->known_hosts, fd, NM_HOST_DEFAULT_KNOWN_HOSTS, kh_cli, kh_builtin);
    }
    *ret = rs;
    return r;
}

void nm_reach_set_finish(struct nm_reach_set *rs)
{
    if (!rs)
        return;
    if (rs->passphrase) {
        /* Do not leave the secret in freed heap memory. */
        memset(rs->passphrase, 0, strlen(rs->passphrase));
        free(rs->passphrase);
    }
    for (size_t i = 0; i < rs->n_strings; i++)
        free(rs->strings[i]);
    free(rs->strings);
    free(rs->hosts);
    memset(rs, 0, sizeof *rs);
}
