/* How to reach each host: the precedence of nearmiss/reach.h, in one place. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>

#include "nearmiss/reach.h"
#include "nearmiss/sshconfig.h"
#include "nearmiss/util.h"

#define PASSPHRASE_CAP 4096
#define DEFAULT_PORT   22

static const char *const field_names[NM_REACH_N_FIELDS] = {
    [NM_REACH_ADDRESS] = "address",
    [NM_REACH_PORT] = "port",
    [NM_REACH_USER] = "user",
    [NM_REACH_IDENTITY] = "identity",
    [NM_REACH_KNOWN_HOSTS] = "known_hosts",
    [NM_REACH_JUMP] = "proxy_jump",
    [NM_REACH_HOSTKEY_ALIAS] = "hostkey_alias",
    [NM_REACH_CONNECT_TIMEOUT] = "connect_timeout",
};

const char *nm_reach_field_name(enum nm_reach_field f)
{
    return f < NM_REACH_N_FIELDS ? field_names[f] : "?";
}

struct ctx {
    struct nm_reach_set *rs;
    const struct nm_reach_options *o;
    const struct nm_sshcfg *cfg;
    const char *user_builtin;
    const char *kh_builtin;
    const char *kh_cli;
    const char *id_cli;
};

/* A copy owned by the set; NULL stays NULL. */
static const char *keep(struct nm_reach_set *rs, char *s)
{
    if (!s)
        return NULL;
    rs->strings = nm_xreallocarray(rs->strings, rs->n_strings + 1, sizeof *rs->strings);
    rs->strings[rs->n_strings++] = s;
    return s;
}

static const char *keepf(struct nm_reach_set *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *keepf(struct nm_reach_set *rs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    return keep(rs, s);
}

/* Lookup results borrow from the configuration, which goes once all hosts
 * are resolved: what the reach set keeps is copied. */
static const char *dup(struct ctx *x, const char *s)
{
    return keep(x->rs, nm_xstrdup(s));
}

static void *keep_block(struct nm_reach_set *rs, void *p)
{
    rs->blocks = nm_xreallocarray(rs->blocks, rs->n_blocks + 1, sizeof *rs->blocks);
    rs->blocks[rs->n_blocks++] = p;
    return p;
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

static const char *from_cfg(struct ctx *x, const struct nm_sshcfg_value *v)
{
    return keepf(x->rs, "ssh_config %s:%u", v->file, v->line);
}

static const char *from_host(struct ctx *x, const struct nm_host *h)
{
    return keepf(x->rs, "inventory %s (host %s)", h->origin ? h->origin : "?", h->name);
}

static const char *from_defaults(struct ctx *x, const struct nm_host *h)
{
    return keepf(x->rs, "inventory %s (defaults)", h->origin ? h->origin : "?");
}

static int expand(struct ctx *x, enum nm_sshcfg_key k, const struct nm_sshcfg_value *v,
                  const struct nm_sshcfg_tokens *t, bool tilde, const char **ret, nm_diag *d)
{
    char *s = NULL;
    int r = nm_sshcfg_expand(nm_sshcfg_key_name(k), v, t, tilde, &s, d);
    if (r < 0)
        return r;
    *ret = keep(x->rs, s);
    return 0;
}

/* The identities of ssh_config, expanded; the agent comes first unless
 * IdentitiesOnly says yes. */
static int cfg_identities(struct ctx *x, const struct nm_sshcfg_result *c,
                          const struct nm_sshcfg_tokens *t, struct nm_reach *r, nm_diag *d)
{
    const char **ids = keep_block(x->rs, nm_xcalloc(c->n_identity_files, sizeof *ids));
    for (size_t i = 0; i < c->n_identity_files; i++) {
        int e = expand(x, NM_SSHCFG_IDENTITYFILE, &c->identity_files[i], t, true, &ids[i], d);
        if (e < 0)
            return e;
    }
    r->identities = ids;
    r->n_identities = c->n_identity_files;
    r->identity = ids[0];
    r->use_agent = c->identities_only != 1;
    r->from[NM_REACH_IDENTITY] =
        c->n_identity_files > 1
            ? keepf(x->rs, "ssh_config %s:%u and %zu more IdentityFile lines%s",
                    c->identity_files[0].file, c->identity_files[0].line, c->n_identity_files - 1,
                    r->use_agent ? "" : " (IdentitiesOnly yes)")
            : keepf(x->rs, "ssh_config %s:%u%s", c->identity_files[0].file,
                    c->identity_files[0].line, r->use_agent ? "" : " (IdentitiesOnly yes)");
    return 0;
}

static void one_identity(struct ctx *x, struct nm_reach *r, const char *path, const char *from)
{
    const char **ids = keep_block(x->rs, nm_xcalloc(1, sizeof *ids));
    ids[0] = path;
    r->identities = ids;
    r->n_identities = 1;
    r->identity = path;
    r->use_agent = false;
    r->from[NM_REACH_IDENTITY] = from;
}

/* ssh's "[user@]host[:port]" (also ssh://user@host:port, [v6]:port). */
struct hop_spec {
    char *user;
    char *host;
    int port;
};

static int parse_hop(const char *spec, struct hop_spec *ret)
{
    const char *s = spec;
    if (nm_str_has_prefix(s, "ssh://"))
        s += 6;
    char *copy = nm_xstrdup(s);
    char *at = strrchr(copy, '@');
    char *host = copy, *user = NULL;
    int port = 0;
    if (at) {
        *at = '\0';
        user = copy;
        host = at + 1;
    }
    if (*host == '[') {
        char *close = strchr(host, ']');
        if (!close)
            goto bad;
        *close = '\0';
        char *rest = close + 1;
        host++;
        if (*rest == ':') {
            uint64_t v;
            if (nm_str_to_u64(rest + 1, &v) < 0 || v < 1 || v > 65535)
                goto bad;
            port = (int)v;
        } else if (*rest) {
            goto bad;
        }
    } else {
        char *colon = strchr(host, ':');
        if (colon && !strchr(colon + 1, ':')) {
            uint64_t v;
            *colon = '\0';
            if (nm_str_to_u64(colon + 1, &v) < 0 || v < 1 || v > 65535)
                goto bad;
            port = (int)v;
        }
    }
    if (!*host || (user && !*user))
        goto bad;
    ret->user = user ? nm_xstrdup(user) : NULL;
    ret->host = nm_xstrdup(host);
    ret->port = port;
    free(copy);
    return 0;
bad:
    free(copy);
    return NM_ERR_PARSE;
}

/*
 * `ssh [options] -W %h:%p HOST` is what ProxyJump replaced; read it as
 * ProxyJump [-J hops,][user@]HOST[:port].  NULL for any other command.
 */
static char *proxycommand_as_jump(const char *cmd)
{
    char *copy = nm_xstrdup(cmd);
    char *words[64];
    size_t n = 0;
    for (char *p = copy; *p && n < 64;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        words[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    char *out = NULL;
    const char *host = NULL, *user = NULL, *port = NULL, *jump = NULL;
    bool w_ok = false;
    const char *base = n ? strrchr(words[0], '/') : NULL;
    base = base ? base + 1 : (n ? words[0] : "");
    if (strcmp(base, "ssh") != 0)
        goto out;
    for (size_t i = 1; i < n; i++) {
        const char *w = words[i];
        if (w[0] != '-') {
            if (host)
                goto out; /* a remote command: not a plain forwarder */
            host = w;
            continue;
        }
        /* Flags with an argument (ssh(1) synopsis). */
        if (strchr("BbcDEeFIiJLlmOoPpQRSWw", w[1]) && w[1] && !w[2]) {
            if (i + 1 >= n)
                goto out;
            const char *a = words[++i];
            if (w[1] == 'W')
                w_ok = strcmp(a, "%h:%p") == 0 || strcmp(a, "[%h]:%p") == 0;
            else if (w[1] == 'l')
                user = a;
            else if (w[1] == 'p')
                port = a;
            else if (w[1] == 'J')
                jump = a;
            else if (w[1] == 'F' || w[1] == 'i' || w[1] == 'o')
                goto out; /* changes how the jump host is reached: not ours to guess */
        }
    }
    if (!w_ok || !host)
        goto out;
    out = nm_xasprintf("%s%s%s%s%s%s%s", jump ? jump : "", jump ? "," : "", user ? user : "",
                       user ? "@" : "", host, port ? ":" : "", port ? port : "");
out:
    free(copy);
    return out;
}

static int resolve_hop(struct ctx *x, const struct nm_host *h, const struct nm_reach *t,
                       const char *spec, const char *spec_from, struct nm_reach *j, nm_diag *d)
{
    struct hop_spec hs = {0};
    if (parse_hop(spec, &hs) < 0)
        return nm_diag_set(d, NM_ERR_CONFIG,
                           "%s: ProxyJump: \"%.200s\" is not [user@]host[:port] (host %s)",
                           spec_from, spec, h->name);
    unsigned fd = h->from_defaults;
    struct nm_sshcfg_result c;
    int r = 0;
    nm_sshcfg_lookup(x->cfg, hs.host, hs.user ? hs.user : x->o->user, &c);
    const char *hop_from = keepf(x->rs, "ProxyJump of %s (%s)", h->name, spec_from);
    j->name = keep(x->rs, nm_xstrdup(hs.host));
    struct nm_sshcfg_tokens tok = {.host = hs.host, .original = hs.host, .port = 0, .ruser = ""};
    if (c.v[NM_SSHCFG_HOSTNAME].value) {
        if ((r = expand(x, NM_SSHCFG_HOSTNAME, &c.v[NM_SSHCFG_HOSTNAME], &tok, false, &j->address,
                        d)) < 0)
            goto out;
        j->from[NM_REACH_ADDRESS] = from_cfg(x, &c.v[NM_SSHCFG_HOSTNAME]);
    } else {
        j->address = j->name;
        j->from[NM_REACH_ADDRESS] = hop_from;
    }
    if (hs.port) {
        j->port = hs.port;
        j->from[NM_REACH_PORT] = hop_from;
    } else if (c.port) {
        j->port = c.port;
        j->from[NM_REACH_PORT] = from_cfg(x, &c.v[NM_SSHCFG_PORT]);
    } else {
        j->port = DEFAULT_PORT;
        j->from[NM_REACH_PORT] = "built in";
    }
    if (hs.user) {
        j->user = keep(x->rs, nm_xstrdup(hs.user));
        j->from[NM_REACH_USER] = hop_from;
    } else if (x->o->user) {
        j->user = x->o->user;
        j->from[NM_REACH_USER] = "command line (--user)";
    } else if (c.v[NM_SSHCFG_USER].value) {
        j->user = dup(x, c.v[NM_SSHCFG_USER].value);
        j->from[NM_REACH_USER] = from_cfg(x, &c.v[NM_SSHCFG_USER]);
    } else if (h->user && (fd & NM_HOST_DEFAULT_USER)) {
        j->user = h->user;
        j->from[NM_REACH_USER] = from_defaults(x, h);
    } else {
        j->user = x->user_builtin;
        j->from[NM_REACH_USER] = "built in ($USER)";
    }
    tok = (struct nm_sshcfg_tokens){
        .host = j->address, .original = j->name, .port = j->port, .ruser = j->user};
    if (x->id_cli) {
        one_identity(x, j, x->id_cli, "command line (--identity)");
    } else if (c.n_identity_files) {
        if ((r = cfg_identities(x, &c, &tok, j, d)) < 0)
            goto out;
    } else if (h->identity && (fd & NM_HOST_DEFAULT_IDENTITY)) {
        one_identity(x, j, h->identity, from_defaults(x, h));
    } else {
        j->use_agent = true;
        j->from[NM_REACH_IDENTITY] = "built in (ssh-agent, then ~/.ssh/id_*)";
    }
    if (x->kh_cli) {
        j->known_hosts = x->kh_cli;
        j->from[NM_REACH_KNOWN_HOSTS] = "command line (--known-hosts)";
    } else if (c.v[NM_SSHCFG_USERKNOWNHOSTSFILE].value) {
        if ((r = expand(x, NM_SSHCFG_USERKNOWNHOSTSFILE, &c.v[NM_SSHCFG_USERKNOWNHOSTSFILE], &tok,
                        true, &j->known_hosts, d)) < 0)
            goto out;
        j->from[NM_REACH_KNOWN_HOSTS] = from_cfg(x, &c.v[NM_SSHCFG_USERKNOWNHOSTSFILE]);
    } else {
        j->known_hosts = t->known_hosts;
        j->from[NM_REACH_KNOWN_HOSTS] = keepf(x->rs, "the target's (%s)", h->name);
    }
    if (c.v[NM_SSHCFG_HOSTKEYALIAS].value) {
        j->hostkey_alias = dup(x, c.v[NM_SSHCFG_HOSTKEYALIAS].value);
        j->from[NM_REACH_HOSTKEY_ALIAS] = from_cfg(x, &c.v[NM_SSHCFG_HOSTKEYALIAS]);
    }
    if (c.connect_timeout) {
        j->connect_timeout_s = c.connect_timeout;
        j->from[NM_REACH_CONNECT_TIMEOUT] = from_cfg(x, &c.v[NM_SSHCFG_CONNECTTIMEOUT]);
    }
    if (c.note[0])
        j->note = keep(x->rs, nm_xstrdup(c.note));
out:
    nm_sshcfg_result_finish(&c);
    free(hs.user);
    free(hs.host);
    return r;
}

static int resolve_jumps(struct ctx *x, const struct nm_host *h, struct nm_reach *t,
                         const char *spec, nm_diag *d)
{
    if (!spec || strcmp(spec, "none") == 0)
        return 0;
    char *copy = nm_xstrdup(spec);
    size_t n = 1;
    for (const char *p = copy; *p; p++)
        n += *p == ',';
    int r = 0;
    if (n > NM_REACH_MAX_JUMPS) {
        r = nm_diag_set(d, NM_ERR_CONFIG, "%s: ProxyJump: %zu hops for host %s, at most %d",
                        t->from[NM_REACH_JUMP], n, h->name, NM_REACH_MAX_JUMPS);
        goto out;
    }
    t->jumps = keep_block(x->rs, nm_xcalloc(n, sizeof *t->jumps));
    for (char *p = copy, *c; p; p = c ? c + 1 : NULL) {
        c = strchr(p, ',');
        if (c)
            *c = '\0';
        r = resolve_hop(x, h, t, p, t->from[NM_REACH_JUMP], &t->jumps[t->n_jumps], d);
        if (r < 0)
            goto out;
        t->n_jumps++;
    }
out:
    free(copy);
    return r;
}

static int resolve_host(struct ctx *x, const struct nm_host *h, struct nm_reach *t, nm_diag *d)
{
    const struct nm_reach_options *o = x->o;
    unsigned fd = h->from_defaults;
    bool own_address = !(fd & NM_HOST_ADDRESS_FROM_NAME);
    const char *own_user = h->user && !(fd & NM_HOST_DEFAULT_USER) ? h->user : NULL;
    struct nm_sshcfg_result c;
    int r = 0;

    t->name = own_address ? h->address : h->name;
    nm_sshcfg_lookup(x->cfg, t->name, own_user ? own_user : o->user, &c);
    struct nm_sshcfg_tokens tok = {.host = t->name, .original = t->name, .port = 0, .ruser = ""};

    if (own_address) {
        t->address = h->address;
        t->from[NM_REACH_ADDRESS] = from_host(x, h);
    } else if (c.v[NM_SSHCFG_HOSTNAME].value) {
        if ((r = expand(x, NM_SSHCFG_HOSTNAME, &c.v[NM_SSHCFG_HOSTNAME], &tok, false, &t->address,
                        d)) < 0)
            goto out;
        t->from[NM_REACH_ADDRESS] = from_cfg(x, &c.v[NM_SSHCFG_HOSTNAME]);
    } else {
        t->address = h->address;
        t->from[NM_REACH_ADDRESS] = keepf(x->rs, "inventory %s (the host's name)", h->origin);
    }

    if (h->port && !(fd & NM_HOST_DEFAULT_PORT)) {
        t->port = h->port;
        t->from[NM_REACH_PORT] = from_host(x, h);
    } else if (o->port > 0) {
        t->port = o->port;
        t->from[NM_REACH_PORT] = "command line (--port)";
    } else if (c.port) {
        t->port = c.port;
        t->from[NM_REACH_PORT] = from_cfg(x, &c.v[NM_SSHCFG_PORT]);
    } else if (h->port) {
        t->port = h->port;
        t->from[NM_REACH_PORT] = from_defaults(x, h);
    } else {
        t->port = DEFAULT_PORT;
        t->from[NM_REACH_PORT] = "built in";
    }

    if (own_user) {
        t->user = own_user;
        t->from[NM_REACH_USER] = from_host(x, h);
    } else if (o->user) {
        t->user = o->user;
        t->from[NM_REACH_USER] = "command line (--user)";
    } else if (c.v[NM_SSHCFG_USER].value) {
        t->user = dup(x, c.v[NM_SSHCFG_USER].value);
        t->from[NM_REACH_USER] = from_cfg(x, &c.v[NM_SSHCFG_USER]);
    } else if (h->user) {
        t->user = h->user;
        t->from[NM_REACH_USER] = from_defaults(x, h);
    } else {
        t->user = x->user_builtin;
        t->from[NM_REACH_USER] = "built in ($USER)";
    }

    tok = (struct nm_sshcfg_tokens){
        .host = t->address, .original = t->name, .port = t->port, .ruser = t->user};
    if (h->identity && !(fd & NM_HOST_DEFAULT_IDENTITY)) {
        one_identity(x, t, h->identity, from_host(x, h));
    } else if (x->id_cli) {
        one_identity(x, t, x->id_cli, "command line (--identity)");
    } else if (c.n_identity_files) {
        if ((r = cfg_identities(x, &c, &tok, t, d)) < 0)
            goto out;
    } else if (h->identity) {
        one_identity(x, t, h->identity, from_defaults(x, h));
    } else {
        t->use_agent = true;
        t->from[NM_REACH_IDENTITY] = "built in (ssh-agent, then ~/.ssh/id_*)";
    }

    if (h->known_hosts && !(fd & NM_HOST_DEFAULT_KNOWN_HOSTS)) {
        t->known_hosts = h->known_hosts;
        t->from[NM_REACH_KNOWN_HOSTS] = from_host(x, h);
    } else if (x->kh_cli) {
        t->known_hosts = x->kh_cli;
        t->from[NM_REACH_KNOWN_HOSTS] = "command line (--known-hosts)";
    } else if (c.v[NM_SSHCFG_USERKNOWNHOSTSFILE].value) {
        if ((r = expand(x, NM_SSHCFG_USERKNOWNHOSTSFILE, &c.v[NM_SSHCFG_USERKNOWNHOSTSFILE], &tok,
                        true, &t->known_hosts, d)) < 0)
            goto out;
        t->from[NM_REACH_KNOWN_HOSTS] = from_cfg(x, &c.v[NM_SSHCFG_USERKNOWNHOSTSFILE]);
    } else if (h->known_hosts) {
        t->known_hosts = h->known_hosts;
        t->from[NM_REACH_KNOWN_HOSTS] = from_defaults(x, h);
    } else {
        t->known_hosts = x->kh_builtin;
        t->from[NM_REACH_KNOWN_HOSTS] = "built in";
    }

    if (c.v[NM_SSHCFG_HOSTKEYALIAS].value) {
        t->hostkey_alias = dup(x, c.v[NM_SSHCFG_HOSTKEYALIAS].value);
        t->from[NM_REACH_HOSTKEY_ALIAS] = from_cfg(x, &c.v[NM_SSHCFG_HOSTKEYALIAS]);
    }
    if (c.connect_timeout) {
        t->connect_timeout_s = c.connect_timeout;
        t->from[NM_REACH_CONNECT_TIMEOUT] = from_cfg(x, &c.v[NM_SSHCFG_CONNECTTIMEOUT]);
    }
    if (c.note[0])
        t->note = keep(x->rs, nm_xstrdup(c.note));

    const char *jump = NULL;
    t->warning = h->reach_note;
    if (h->proxy_jump && !(fd & NM_HOST_DEFAULT_PROXY_JUMP)) {
        jump = h->proxy_jump;
        t->from[NM_REACH_JUMP] = from_host(x, h);
    } else if (h->proxy_command) {
        char *as_jump = strcasecmp(h->proxy_command, "none") == 0
                            ? nm_xstrdup("none")
                            : proxycommand_as_jump(h->proxy_command);
        t->from[NM_REACH_JUMP] =
            keepf(x->rs, "inventory %s (host %s: ProxyCommand read as ProxyJump)",
                  h->origin ? h->origin : "?", h->name);
        if (as_jump)
            jump = keep(x->rs, as_jump);
        else
            t->error = keepf(x->rs,
                             "host %s: ProxyCommand \"%.200s\" from the inventory is not "
                             "supported (nearmiss runs no local commands); use -o ProxyJump=HOST "
                             "or -J HOST, or ProxyCommand ssh -W %%h:%%p HOST",
                             h->name, h->proxy_command);
    } else if (o->proxy_jump) {
        jump = o->proxy_jump;
        t->from[NM_REACH_JUMP] = "command line (--jump)";
    } else if (c.v[NM_SSHCFG_PROXYJUMP].value) {
        jump = dup(x, c.v[NM_SSHCFG_PROXYJUMP].value);
        t->from[NM_REACH_JUMP] = from_cfg(x, &c.v[NM_SSHCFG_PROXYJUMP]);
    } else if (c.v[NM_SSHCFG_PROXYCOMMAND].value &&
               strcasecmp(c.v[NM_SSHCFG_PROXYCOMMAND].value, "none") != 0) {
        char *as_jump = proxycommand_as_jump(c.v[NM_SSHCFG_PROXYCOMMAND].value);
        t->from[NM_REACH_JUMP] =
            keepf(x->rs, "ssh_config %s:%u (ProxyCommand read as ProxyJump)",
                  c.v[NM_SSHCFG_PROXYCOMMAND].file, c.v[NM_SSHCFG_PROXYCOMMAND].line);
        if (as_jump) {
            jump = keep(x->rs, as_jump);
        } else {
            t->error = keepf(x->rs,
                             "%s:%u: ProxyCommand \"%.200s\" is not supported (nearmiss runs no "
                             "local commands); use ProxyJump, or ProxyCommand ssh -W %%h:%%p HOST",
                             c.v[NM_SSHCFG_PROXYCOMMAND].file, c.v[NM_SSHCFG_PROXYCOMMAND].line,
                             c.v[NM_SSHCFG_PROXYCOMMAND].value);
            t->from[NM_REACH_JUMP] = from_cfg(x, &c.v[NM_SSHCFG_PROXYCOMMAND]);
        }
    } else if (h->proxy_jump) {
        jump = h->proxy_jump;
        t->from[NM_REACH_JUMP] = from_defaults(x, h);
    }
    if (jump && strcmp(jump, "none") == 0 && !t->from[NM_REACH_JUMP])
        t->from[NM_REACH_JUMP] = "built in";
    nm_diag jd = {{0}};
    r = resolve_jumps(x, h, t, jump, &jd);
    if (r < 0 && jump == h->proxy_jump && (fd & NM_HOST_JUMP_FROM_SSH_ARGS)) {
        t->error = keepf(x->rs, "%s", jd.msg);
        t->n_jumps = 0;
        r = 0;
    } else if (r < 0) {
        nm_diag_set(d, r, "%s", jd.msg);
    }
    if (h->reach_error)
        t->error = keepf(x->rs, "host %s: %s", h->name, h->reach_error);
out:
    nm_sshcfg_result_finish(&c);
    return r;
}

int nm_reach_resolve(const struct nm_inventory *inv, const struct nm_reach_options *o,
                     struct nm_reach_set *ret, nm_diag *d)
{
    struct nm_reach_set rs = {0};
    struct nm_sshcfg *cfg = NULL;
    int r = 0;
    if (o->passphrase_file) {
        r = read_passphrase(o->passphrase_file, &rs.passphrase, d);
        if (r < 0)
            return r;
    }
    r = nm_sshcfg_load(o->ssh_config, &cfg, d);
    if (r < 0)
        goto out;
    rs.ssh_config_sources = nm_xstrdup(nm_sshcfg_sources(cfg));
    const char *env_user = getenv("USER");
    struct ctx x = {
        .rs = &rs,
        .o = o,
        .cfg = cfg,
        .user_builtin = keep(&rs, nm_xstrdup(env_user ? env_user : "root")),
        .kh_builtin = keep(&rs, nm_expand_home("~/.ssh/known_hosts")),
        .kh_cli = o->known_hosts ? keep(&rs, nm_expand_home(o->known_hosts)) : NULL,
        .id_cli = o->identity ? keep(&rs, nm_expand_home(o->identity)) : NULL,
    };
    rs.n_hosts = inv->n_hosts;
    rs.hosts = nm_xcalloc(inv->n_hosts ? inv->n_hosts : 1, sizeof *rs.hosts);
    for (size_t i = 0; i < inv->n_hosts && r == 0; i++)
        r = resolve_host(&x, &inv->hosts[i], &rs.hosts[i], d);
out:
    nm_sshcfg_destroy(cfg);
    if (r < 0) {
        nm_reach_set_finish(&rs);
        return r;
    }
    *ret = rs;
    return 0;
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
    for (size_t i = 0; i < rs->n_blocks; i++)
        free(rs->blocks[i]);
    free(rs->blocks);
    free(rs->ssh_config_sources);
    free(rs->hosts);
    memset(rs, 0, sizeof *rs);
}
