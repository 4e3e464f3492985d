/* ssh_config(5) as ssh reads it, for the keywords of nearmiss/sshconfig.h. */
#include <errno.h>
#include <glob.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nearmiss/sshconfig.h"
#include "nearmiss/util.h"

/* ssh's own limits: READCONF_MAX_DEPTH, and no config file is this big. */
#define MAX_DEPTH 16
#define FILE_CAP  (4u << 20)

enum ent_kind {
    ENT_HOST,
    ENT_MATCH,
    ENT_INCLUDE,
    ENT_OPTION,
};

struct cfile;

struct ent {
    enum ent_kind kind;
    const char *file; /* the cfile's path */
    unsigned line;
    int key; /* enum nm_sshcfg_key for ENT_OPTION */
    char **args;
    size_t n_args;
    struct cfile **inc; /* ENT_INCLUDE: the files it read */
    size_t n_inc;
};

struct cfile {
    char *path;
    struct ent *ents;
    size_t n;
};

struct nm_sshcfg {
    struct cfile **files; /* every file read, owned */
    size_t n_files;
    struct cfile *roots[2];
    size_t n_roots;
    char *local_user;
    char *sources;
};

static const char *const key_names[NM_SSHCFG_N_KEYS] = {
    [NM_SSHCFG_HOSTNAME] = "HostName",
    [NM_SSHCFG_USER] = "User",
    [NM_SSHCFG_PORT] = "Port",
    [NM_SSHCFG_IDENTITYFILE] = "IdentityFile",
    [NM_SSHCFG_IDENTITIESONLY] = "IdentitiesOnly",
    [NM_SSHCFG_USERKNOWNHOSTSFILE] = "UserKnownHostsFile",
    [NM_SSHCFG_PROXYJUMP] = "ProxyJump",
    [NM_SSHCFG_PROXYCOMMAND] = "ProxyCommand",
    [NM_SSHCFG_CONNECTTIMEOUT] = "ConnectTimeout",
    [NM_SSHCFG_HOSTKEYALIAS] = "HostKeyAlias",
};

const char *nm_sshcfg_key_name(enum nm_sshcfg_key k)
{
    return k < NM_SSHCFG_N_KEYS ? key_names[k] : "?";
}

static void cfile_destroy(struct cfile *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        for (size_t k = 0; k < f->ents[i].n_args; k++)
            free(f->ents[i].args[k]);
        free(f->ents[i].args);
        free(f->ents[i].inc);
    }
    free(f->ents);
    free(f->path);
    free(f);
}

void nm_sshcfg_destroy(struct nm_sshcfg *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_files; i++)
        cfile_destroy(cfg->files[i]);
    free(cfg->files);
    free(cfg->local_user);
    free(cfg->sources);
    free(cfg);
}

const char *nm_sshcfg_sources(const struct nm_sshcfg *cfg)
{
    return cfg && cfg->sources ? cfg->sources : "none";
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Splits one line into words as ssh does (argv_split): blanks separate,
 * double or single quotes group, a backslash escapes a quote or itself, and
 * a word starting with '#' ends the line.  The keyword may be followed by
 * '=' instead of (or around) blanks.
 */
static int split_line(const char *p, const char *end, char ***ret, size_t *ret_n, const char **why)
{
    char **av = NULL;
    size_t n = 0;
    struct nm_buf w;
    nm_buf_init(&w, 8192);
    int r = 0;
    for (;;) {
        while (p < end && is_space(*p))
            p++;
        if (n == 1 && p < end && *p == '=') {
            p++;
            while (p < end && is_space(*p))
                p++;
        }
        if (p >= end || *p == '#')
            break;
        nm_buf_reset(&w);
        char quote = 0;
        while (p < end) {
            char c = *p;
            if (quote) {
                if (c == quote) {
                    quote = 0;
                    p++;
                    continue;
                }
            } else if (is_space(c) || (n == 0 && c == '=')) {
                break;
            } else if (c == '"' || c == '\'') {
                quote = c;
                p++;
                continue;
            }
            if (c == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\'' || p[1] == '\\')) {
                p++;
                c = *p;
            }
            if (nm_buf_append(&w, &c, 1) < 0) {
                *why = "line too long";
                r = NM_ERR_TOOBIG;
                goto out;
            }
            p++;
        }
        if (quote) {
            *why = "unterminated quote";
            r = NM_ERR_PARSE;
            goto out;
        }
        av = nm_xreallocarray(av, n + 1, sizeof *av);
        av[n++] = nm_xstrndup(w.data ? w.data : "", w.len);
    }
out:
    nm_buf_finish(&w);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            free(av[i]);
        free(av);
        return r;
    }
    *ret = av;
    *ret_n = n;
    return 0;
}

static int find_key(const char *word)
{
    for (int k = 0; k < NM_SSHCFG_N_KEYS; k++)
        if (strcasecmp(word, key_names[k]) == 0)
            return k;
    return -1;
}

static bool parse_yesno(const char *s, int *ret)
{
    if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0) {
        *ret = 1;
        return true;
    }
    if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0) {
        *ret = 0;
        return true;
    }
    return false;
}

/* ssh's time format (convtime): 30, 30s, 2m, 1h30m. */
static bool parse_seconds(const char *s, int *ret)
{
    int64_t total = 0;
    const char *p = s;
    if (!*p)
        return false;
    while (*p) {
        int64_t v = 0;
        const char *start = p;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            if (v > 86400 * 7)
                return false;
            p++;
        }
        if (p == start)
            return false;
        int mult = 1;
        switch (*p) {
        case '\0':
            break;
        case 's':
        case 'S':
            p++;
            break;
        case 'm':
        case 'M':
            mult = 60;
            p++;
            break;
        case 'h':
        case 'H':
            mult = 3600;
            p++;
            break;
        case 'd':
        case 'D':
            mult = 86400;
            p++;
            break;
        default:
            return false;
        }
        total += v * mult;
        if (total > 86400 * 7)
            return false;
    }
    *ret = (int)total;
    return true;
}

static bool parse_port(const char *s, int *ret)
{
    uint64_t v;
    if (nm_str_to_u64(s, &v) < 0 || v < 1 || v > 65535)
        return false;
    *ret = (int)v;
    return true;
}

static const char *const match_criteria[] = {
    "all",   "host",      "originalhost", "user",         "localuser", "exec",
    "final", "canonical", "tagged",       "localnetwork", NULL};

static bool criterion_known(const char *w)
{
    for (size_t i = 0; match_criteria[i]; i++)
        if (strcasecmp(w, match_criteria[i]) == 0)
            return true;
    return false;
}

static bool criterion_takes_arg(const char *w)
{
    return strcasecmp(w, "all") != 0 && strcasecmp(w, "final") != 0 &&
           strcasecmp(w, "canonical") != 0;
}

struct loader {
    struct nm_sshcfg *cfg;
    const char *base_dir; /* relative Include paths: ~/.ssh or /etc/ssh */
};

static int read_cfile(struct loader *l, const char *path, int depth, bool required,
                      struct cfile **ret, nm_diag *d);

/* Checks an option line's arguments now, so that a bad value is reported
 * with its place even for hosts that never use it. */
static int check_option(const struct ent *e, nm_diag *d)
{
    const char *name = key_names[e->key];
    int v;
    if (e->n_args == 0)
        return nm_diag_set(d, NM_ERR_PARSE, "%s:%u: %s: missing argument", e->file, e->line, name);
    switch (e->key) {
    case NM_SSHCFG_PORT:
        if (!parse_port(e->args[0], &v))
            return nm_diag_set(d, NM_ERR_PARSE, "%s:%u: Port: \"%.40s\" is not a port (1-65535)",
                               e->file, e->line, e->args[0]);
        break;
    case NM_SSHCFG_CONNECTTIMEOUT:
        if (strcasecmp(e->args[0], "none") != 0 && !parse_seconds(e->args[0], &v))
            return nm_diag_set(d, NM_ERR_PARSE,
                               "%s:%u: ConnectTimeout: \"%.40s\" is not a time (like 10, 30s, 2m)",
                               e->file, e->line, e->args[0]);
        break;
    case NM_SSHCFG_IDENTITIESONLY:
        if (!parse_yesno(e->args[0], &v))
            return nm_diag_set(d, NM_ERR_PARSE, "%s:%u: IdentitiesOnly: \"%.40s\" is not yes or no",
                               e->file, e->line, e->args[0]);
        break;
    case NM_SSHCFG_PROXYCOMMAND:
        break; /* the whole rest of the line is the command */
    default:
        if (e->n_args > 1 && e->key != NM_SSHCFG_USERKNOWNHOSTSFILE)
            return nm_diag_set(d, NM_ERR_PARSE, "%s:%u: %s: one argument expected, got %zu",
                               e->file, e->line, name, e->n_args);
    }
    return 0;
}

static int check_match(const struct ent *e, nm_diag *d)
{
    if (e->n_args == 0)
        return nm_diag_set(d, NM_ERR_PARSE, "%s:%u: Match: missing criteria", e->file, e->line);
    for (size_t i = 0; i < e->n_args; i++) {
        const char *w = e->args[i];
        if (*w == '!')
            w++;
        if (!criterion_known(w))
            return nm_diag_set(d, NM_ERR_PARSE, "%s:%u: Match: unknown criterion \"%.40s\"",
                               e->file, e->line, w);
        if (strcasecmp(w, "all") == 0 && e->n_args > 1) {
            /* ssh allows "all" only alone or after canonical/final */
            bool ok = true;
            for (size_t k = 0; k < e->n_args; k++)
                if (k != i && strcasecmp(e->args[k], "final") != 0 &&
                    strcasecmp(e->args[k], "canonical") != 0)
                    ok = false;
            if (!ok)
                return nm_diag_set(d, NM_ERR_PARSE,
                                   "%s:%u: Match: \"all\" cannot be combined with other criteria",
                                   e->file, e->line);
        }
        if (criterion_takes_arg(w)) {
            if (i + 1 >= e->n_args)
                return nm_diag_set(d, NM_ERR_PARSE, "%s:%u: Match %s: missing argument", e->file,
                                   e->line, w);
            i++;
        }
    }
    return 0;
}

static int do_include(struct loader *l, struct ent *e, int depth, nm_diag *d)
{
    for (size_t i = 0; i < e->n_args; i++) {
        char *pat;
        const char *a = e->args[i];
        if (a[0] == '~')
            pat = nm_expand_home(a);
        else if (a[0] == '/')
            pat = nm_xstrdup(a);
        else
            pat = nm_xasprintf("%s/%s", l->base_dir, a);
        glob_t g;
        memset(&g, 0, sizeof g);
        int gr = glob(pat, 0, NULL, &g);
        free(pat);
        if (gr == GLOB_NOMATCH) {
            globfree(&g);
            continue; /* ssh skips a pattern that matches nothing */
        }
        if (gr != 0) {
            globfree(&g);
            return nm_diag_set(d, NM_ERR_IO, "%s:%u: Include: cannot expand \"%.200s\"", e->file,
                               e->line, a);
        }
        for (size_t k = 0; k < g.gl_pathc; k++) {
            struct cfile *f = NULL;
            int r = read_cfile(l, g.gl_pathv[k], depth + 1, false, &f, d);
            if (r < 0) {
                globfree(&g);
                return r;
            }
            if (!f)
                continue;
            e->inc = nm_xreallocarray(e->inc, e->n_inc + 1, sizeof *e->inc);
            e->inc[e->n_inc++] = f;
        }
        globfree(&g);
    }
    return 0;
}

static int parse_cfile(struct loader *l, struct cfile *f, const char *data, size_t len, int depth,
                       nm_diag *d)
{
    const char *p = data, *end = data + len;
    unsigned line = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        line++;
        char **av = NULL;
        size_t n = 0;
        const char *why = NULL;
        if (split_line(p, eol, &av, &n, &why) < 0)
            return nm_diag_set(d, NM_ERR_PARSE, "%s:%u: %s", f->path, line, why);
        p = eol < end ? eol + 1 : end;
        if (n == 0) {
            free(av);
            continue;
        }
        struct ent e = {.file = f->path, .line = line, .args = av + 1, .n_args = n - 1};
        int r = 0;
        if (strcasecmp(av[0], "Host") == 0) {
            e.kind = ENT_HOST;
            if (e.n_args == 0)
                r = nm_diag_set(d, NM_ERR_PARSE, "%s:%u: Host: no pattern", f->path, line);
        } else if (strcasecmp(av[0], "Match") == 0) {
            e.kind = ENT_MATCH;
            r = check_match(&e, d);
        } else if (strcasecmp(av[0], "Include") == 0) {
            e.kind = ENT_INCLUDE;
            if (e.n_args == 0)
                r = nm_diag_set(d, NM_ERR_PARSE, "%s:%u: Include: missing argument", f->path, line);
        } else {
            int k = find_key(av[0]);
            if (k < 0) {
                /* Another ssh keyword: it does not change how we connect. */
                for (size_t i = 0; i < n; i++)
                    free(av[i]);
                free(av);
                continue;
            }
            e.kind = ENT_OPTION;
            e.key = k;
            r = check_option(&e, d);
        }
        /* The entry owns its arguments; the keyword goes. */
        free(av[0]);
        memmove(av, av + 1, (n - 1) * sizeof *av);
        e.args = av;
        if (e.kind == ENT_OPTION && e.key == NM_SSHCFG_PROXYCOMMAND && e.n_args > 1) {
            /* The command is the rest of the line, one value. */
            struct nm_buf b;
            nm_buf_init(&b, 65536);
            for (size_t i = 0; i < e.n_args; i++) {
                nm_buf_appendf(&b, "%s%s", i ? " " : "", e.args[i]);
                free(e.args[i]);
            }
            e.args[0] = nm_buf_steal(&b, NULL);
            e.n_args = 1;
        }
        f->ents = nm_xreallocarray(f->ents, f->n + 1, sizeof *f->ents);
        f->ents[f->n++] = e;
        if (r == 0 && e.kind == ENT_INCLUDE)
            r = do_include(l, &f->ents[f->n - 1], depth, d);
        if (r < 0)
            return r;
    }
    return 0;
}

static int read_cfile(struct loader *l, const char *path, int depth, bool required,
                      struct cfile **ret, nm_diag *d)
{
    if (depth > MAX_DEPTH)
        return nm_diag_set(d, NM_ERR_PARSE, "%s: Include nested deeper than %d levels (a loop?)",
                           path, MAX_DEPTH);
    char *data = NULL;
    size_t len = 0;
    nm_diag why = {{0}};
    int r = nm_read_file(path, FILE_CAP, &data, &len, &why);
    if (r < 0) {
        if (!required && errno == ENOENT) {
            *ret = NULL;
            return 0;
        }
        return nm_diag_set(d, r, "ssh config: %s", why.msg);
    }
    struct cfile *f = nm_xcalloc(1, sizeof *f);
    f->path = nm_xstrdup(path);
    /* Owned by the set from now on, so an error below frees it too. */
    l->cfg->files = nm_xreallocarray(l->cfg->files, l->cfg->n_files + 1, sizeof *l->cfg->files);
    l->cfg->files[l->cfg->n_files++] = f;
    r = parse_cfile(l, f, data, len, depth, d);
    free(data);
    if (r < 0)
        return r;
    *ret = f;
    return 0;
}

static char *local_user_name(void)
{
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name)
        return nm_xstrdup(pw->pw_name);
    const char *u = getenv("USER");
    return nm_xstrdup(u && *u ? u : "root");
}

int nm_sshcfg_load_files(const char *user_path, bool user_required, const char *system_path,
                         struct nm_sshcfg **ret, nm_diag *d)
{
    struct nm_sshcfg *cfg = nm_xcalloc(1, sizeof *cfg);
    struct nm_buf src;
    int r = 0;
    nm_buf_init(&src, 8192);
    cfg->local_user = local_user_name();
    char *ssh_dir = nm_expand_home("~/.ssh");
    const struct {
        const char *path;
        bool required;
        const char *base;
    } order[] = {{user_path, user_required, ssh_dir}, {system_path, false, "/etc/ssh"}};
    for (size_t i = 0; i < 2; i++) {
        if (!order[i].path)
            continue;
        struct loader l = {.cfg = cfg, .base_dir = order[i].base};
        struct cfile *f = NULL;
        r = read_cfile(&l, order[i].path, 0, order[i].required, &f, d);
        if (r < 0)
            goto out;
        if (f) {
            cfg->roots[cfg->n_roots++] = f;
            nm_buf_appendf(&src, "%s%s", src.len ? ", " : "", order[i].path);
        }
    }
    cfg->sources = src.len ? nm_buf_steal(&src, NULL) : NULL;
out:
    free(ssh_dir);
    nm_buf_finish(&src);
    if (r < 0) {
        nm_sshcfg_destroy(cfg);
        return r;
    }
    *ret = cfg;
    return 0;
}

int nm_sshcfg_load(const char *path, struct nm_sshcfg **ret, nm_diag *d)
{
    if (path && strcmp(path, "none") == 0)
        return nm_sshcfg_load_files(NULL, false, NULL, ret, d);
    if (path) {
        char *p = nm_expand_home(path);
        int r = nm_sshcfg_load_files(p, true, NULL, ret, d);
        free(p);
        return r;
    }
    char *user = nm_expand_home("~/.ssh/config");
    int r = nm_sshcfg_load_files(user, false, NM_SSHCFG_SYSTEM_FILE, ret, d);
    free(user);
    return r;
}

/* ssh's match_pattern: '*' and '?' globbing, here case-insensitive as for
 * host names. */
static bool pattern_match(const char *pat, const char *s, bool fold)
{
    while (*pat) {
        if (*pat == '*') {
            pat++;
            if (!*pat)
                return true;
            for (; *s; s++)
                if (pattern_match(pat, s, fold))
                    return true;
            return false;
        }
        if (!*s)
            return false;
        char a = *pat, b = *s;
        if (fold) {
            a = (char)(a >= 'A' && a <= 'Z' ? a + 32 : a);
            b = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
        }
        if (a != '?' && a != b)
            return false;
        pat++;
        s++;
    }
    return !*s;
}

/* A list of patterns (words of a Host line, or a comma list of Match): a
 * negated pattern that matches wins over everything; else any positive. */
static bool list_match(char *const *pats, size_t n, const char *s, bool fold)
{
    bool hit = false;
    for (size_t i = 0; i < n; i++) {
        const char *p = pats[i];
        bool neg = *p == '!';
        if (neg)
            p++;
        if (pattern_match(p, s, fold)) {
            if (neg)
                return false;
            hit = true;
        }
    }
    return hit;
}

static bool comma_list_match(const char *list, const char *s, bool fold)
{
    char *copy = nm_xstrdup(list);
    char **pats = NULL;
    size_t n = 0;
    for (char *p = copy, *c; p; p = c ? c + 1 : NULL) {
        c = strchr(p, ',');
        if (c)
            *c = '\0';
        if (*p) {
            pats = nm_xreallocarray(pats, n + 1, sizeof *pats);
            pats[n++] = p;
        }
    }
    bool hit = list_match(pats, n, s, fold);
    free(pats);
    free(copy);
    return hit;
}

struct lookup {
    const struct nm_sshcfg *cfg;
    const char *host; /* as given */
    const char *user; /* decided before the configuration */
    struct nm_sshcfg_result *res;
};

/* The host name `Match host` sees: HostName (its %h expanded) once set. */
static char *current_host(const struct lookup *lk)
{
    const char *hn = lk->res->v[NM_SSHCFG_HOSTNAME].value;
    if (!hn)
        return nm_xstrdup(lk->host);
    struct nm_buf b;
    nm_buf_init(&b, 4096);
    for (const char *p = hn; *p; p++) {
        if (p[0] == '%' && p[1] == 'h') {
            nm_buf_appends(&b, lk->host);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            nm_buf_append(&b, "%", 1);
            p++;
        } else {
            nm_buf_append(&b, p, 1);
        }
    }
    return nm_buf_steal(&b, NULL);
}

static bool match_line(const struct lookup *lk, const struct ent *e)
{
    bool all = true;
    for (size_t i = 0; i < e->n_args; i++) {
        const char *w = e->args[i];
        bool neg = *w == '!';
        if (neg)
            w++;
        bool hit;
        const char *arg = criterion_takes_arg(w) ? e->args[++i] : NULL;
        if (strcasecmp(w, "all") == 0 || strcasecmp(w, "final") == 0) {
            hit = true; /* one pass, which is the final one */
        } else if (strcasecmp(w, "canonical") == 0) {
            hit = false; /* no canonicalisation pass */
        } else if (strcasecmp(w, "host") == 0) {
            char *h = current_host(lk);
            hit = comma_list_match(arg, h, true);
            free(h);
        } else if (strcasecmp(w, "originalhost") == 0) {
            hit = comma_list_match(arg, lk->host, true);
        } else if (strcasecmp(w, "user") == 0) {
            const char *u = lk->user ? lk->user : lk->res->v[NM_SSHCFG_USER].value;
            hit = comma_list_match(arg, u ? u : lk->cfg->local_user, false);
        } else if (strcasecmp(w, "localuser") == 0) {
            hit = comma_list_match(arg, lk->cfg->local_user, false);
        } else {
            /* exec, tagged, localnetwork: never run or known here. */
            if (!lk->res->note[0])
                snprintf(lk->res->note, sizeof lk->res->note,
                         "%s:%u: Match %s is not evaluated by nearmiss and did not match", e->file,
                         e->line, w);
            hit = false;
            neg = false; /* a negated unknown does not match either */
        }
        if (neg)
            hit = !hit;
        if (!hit)
            all = false; /* go on: later criteria may still note things */
    }
    return all;
}

static void apply(struct lookup *lk, const struct ent *e)
{
    struct nm_sshcfg_result *res = lk->res;
    struct nm_sshcfg_value here = {.value = e->args[0], .file = e->file, .line = e->line};
    if (e->key == NM_SSHCFG_IDENTITYFILE) {
        if (strcasecmp(e->args[0], "none") == 0)
            return;
        res->identity_files = nm_xreallocarray(res->identity_files, res->n_identity_files + 1,
                                               sizeof *res->identity_files);
        res->identity_files[res->n_identity_files++] = here;
        if (!res->v[e->key].value)
            res->v[e->key] = here;
        return;
    }
    if (res->v[e->key].value)
        return; /* the first obtained value wins */
    res->v[e->key] = here;
    switch (e->key) {
    case NM_SSHCFG_PORT:
        parse_port(e->args[0], &res->port);
        break;
    case NM_SSHCFG_CONNECTTIMEOUT:
        if (strcasecmp(e->args[0], "none") != 0)
            parse_seconds(e->args[0], &res->connect_timeout);
        break;
    case NM_SSHCFG_IDENTITIESONLY:
        parse_yesno(e->args[0], &res->identities_only);
        break;
    default:
        break;
    }
}

static void walk(struct lookup *lk, const struct cfile *f, bool active)
{
    for (size_t i = 0; i < f->n; i++) {
        const struct ent *e = &f->ents[i];
        switch (e->kind) {
        case ENT_HOST:
            active = list_match(e->args, e->n_args, lk->host, true);
            break;
        case ENT_MATCH:
            active = match_line(lk, e);
            break;
        case ENT_INCLUDE:
            /* An included file's Host lines end with it; the block around
             * the Include goes on after it. */
            if (active)
                for (size_t k = 0; k < e->n_inc; k++)
                    walk(lk, e->inc[k], true);
            break;
        case ENT_OPTION:
            if (active)
                apply(lk, e);
            break;
        }
    }
}

int nm_sshcfg_lookup(const struct nm_sshcfg *cfg, const char *host, const char *user,
                     struct nm_sshcfg_result *ret)
{
    struct nm_sshcfg_result res;
    memset(&res, 0, sizeof res);
    res.identities_only = -1;
    if (cfg) {
        struct lookup lk = {.cfg = cfg, .host = host, .user = user, .res = &res};
        for (size_t i = 0; i < cfg->n_roots; i++)
            walk(&lk, cfg->roots[i], true);
    }
    *ret = res;
    return 0;
}

void nm_sshcfg_result_finish(struct nm_sshcfg_result *r)
{
    if (!r)
        return;
    free(r->identity_files);
    memset(r, 0, sizeof *r);
    r->identities_only = -1;
}

int nm_sshcfg_expand(const char *keyword, const struct nm_sshcfg_value *from,
                     const struct nm_sshcfg_tokens *t, bool tilde, char **ret, nm_diag *d)
{
    const char *s = from->value;
    struct nm_buf b;
    nm_buf_init(&b, 8192);
    int r = 0;
    const char *home = getenv("HOME");
    if (!home || !*home)
        home = "/";
    if (tilde && s[0] == '~' && (s[1] == '/' || s[1] == '\0')) {
        nm_buf_appends(&b, home);
        s++;
    }
    for (const char *p = s; *p; p++) {
        if (*p != '%') {
            nm_buf_append(&b, p, 1);
            continue;
        }
        char tok = p[1];
        switch (tok) {
        case '%':
            nm_buf_append(&b, "%", 1);
            break;
        case 'h':
            nm_buf_appends(&b, t->host);
            break;
        case 'n':
            nm_buf_appends(&b, t->original);
            break;
        case 'p':
            nm_buf_appendf(&b, "%d", t->port);
            break;
        case 'r':
            nm_buf_appends(&b, t->ruser);
            break;
        case 'u': {
            char *lu = local_user_name();
            nm_buf_appends(&b, lu);
            free(lu);
            break;
        }
        case 'd':
            nm_buf_appends(&b, home);
            break;
        case 'i':
            nm_buf_appendf(&b, "%u", (unsigned)getuid());
            break;
        default:
            r = nm_diag_set(d, NM_ERR_PARSE, "%s:%u: %s: unknown token %%%c in \"%.200s\"",
                            from->file ? from->file : "?", from->line, keyword, tok ? tok : ' ',
                            from->value);
            goto out;
        }
        p++;
    }
    *ret = nm_buf_steal(&b, NULL);
out:
    nm_buf_finish(&b);
    return r;
}
