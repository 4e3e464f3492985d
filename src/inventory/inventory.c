/*
 * Inventory loading: native JSON and `ansible-inventory --list` JSON.
 *
 * jansson borrows on get and steals on _new/set_new: every json_t reached
 * here through json_object_get()/json_array_get() is borrowed from the parsed
 * document, which lives until the load ends; only `root` and the name indexes
 * are owned (and decref'd) by this file.
 *
 * Each file is loaded into a private inventory first and merged only when the
 * whole file checked out, so a bad file never leaves half of itself behind.
 * jansson reports no positions for values, so semantic errors carry an exact
 * key path and the line is found by walking the raw text along that path
 * (nm_json_line_of).
 */
#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nearmiss/inventory.h"
#include "nearmiss/safetext.h"
#include "nearmiss/sshargs.h"
#include "nearmiss/jsonpos.h"
#include "nearmiss/util.h"

/* Far above any real fleet; only there so a wrong -i (a disk image) fails fast. */
#define INVENTORY_MAX_BYTES ((size_t)64 << 20)
/* Deepest path any message needs is _meta.hostvars.H.nearmiss_labels.K. */
#define PATH_MAX_SEGS 8
/* Quoted values in messages are cut so one silly string cannot hide the rest. */
#define QUOTE_MAX 80

static const char *const criticalities[] = {"low", "medium", "high", "critical", NULL};

struct loader {
    const char *file;
    char *origin;
    const char *text;
    size_t len;
    nm_diag *d;
    /* Where the value being checked sits; left at the failing spot on error. */
    struct nm_json_seg path[PATH_MAX_SEGS];
    size_t depth;
    const struct nm_inventory *inv; /* already loaded: read only */
    struct nm_inventory tmp;        /* this file, until it all checked out */
    json_t *names;                  /* host name -> index into inv hosts, then tmp hosts */
    struct nm_buf quoted[2];
    unsigned next_quoted;
};

/* ---- memory ---- */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void host_finish(struct nm_host *h)
{
    free(h->name);
    free(h->address);
    free(h->user);
    free(h->identity);
    free(h->known_hosts);
    free(h->proxy_jump);
    free(h->proxy_command);
    free(h->reach_note);
    free(h->reach_error);
    free_strv(h->roles, h->n_roles);
    for (size_t i = 0; i < h->n_labels; i++) {
        free(h->labels[i].key);
        free(h->labels[i].value);
    }
    free(h->labels);
    free(h->criticality);
    free_strv(h->tls, h->n_tls);
    free(h->origin);
    free(h->become_user);
    free(h->become_method);
    memset(h, 0, sizeof *h);
}

static void role_finish(struct nm_role *r)
{
    free(r->name);
    free_strv(r->spread, r->n_spread);
    free(r->origin);
    memset(r, 0, sizeof *r);
}

void nm_inventory_init(struct nm_inventory *inv)
{
    memset(inv, 0, sizeof *inv);
}

void nm_inventory_finish(struct nm_inventory *inv)
{
    if (!inv)
        return;
    for (size_t i = 0; i < inv->n_hosts; i++)
        host_finish(&inv->hosts[i]);
    free(inv->hosts);
    for (size_t i = 0; i < inv->n_unselected; i++)
        host_finish(&inv->unselected[i]);
    free(inv->unselected);
    for (size_t i = 0; i < inv->n_roles; i++)
        role_finish(&inv->roles[i]);
    free(inv->roles);
    nm_inventory_init(inv);
}

static void strv_push(char ***v, size_t *n, const char *s)
{
    *v = nm_xreallocarray(*v, *n + 1, sizeof **v);
    (*v)[(*n)++] = nm_xstrdup(s);
}

static bool strv_contains(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static void label_push(struct nm_host *h, const char *key, const char *value)
{
    h->labels = nm_xreallocarray(h->labels, h->n_labels + 1, sizeof *h->labels);
    h->labels[h->n_labels].key = nm_xstrdup(key);
    h->labels[h->n_labels].value = nm_xstrdup(value);
    h->n_labels++;
}

static void replace_str(char **dst, char *src)
{
    free(*dst);
    *dst = src;
}

/* ---- messages ---- */

static void append_quoted(struct nm_buf *b, const char *s, size_t max)
{
    nm_buf_append(b, "\"", 1);
    size_t n = 0;
    for (; *s && n < max; s++, n++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            nm_buf_appendf(b, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            nm_buf_appendf(b, "\\u%04x", c);
        else if (c == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f)
            nm_buf_appendf(b, "\\u%04x", (unsigned char)*++s);
        else
            nm_buf_append(b, s, 1);
    }
    if (*s)
        nm_buf_appends(b, "...");
    nm_buf_append(b, "\"", 1);
}

/* A quoted, escaped copy valid until the next-but-one call. */
static const char *q(struct loader *l, const char *s)
{
    struct nm_buf *b = &l->quoted[l->next_quoted++ % 2];
    nm_buf_reset(b);
    append_quoted(b, s, QUOTE_MAX);
    return b->data;
}

static bool is_ident(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

static void format_path(const struct loader *l, struct nm_buf *b)
{
    if (l->depth == 0) {
        nm_buf_appends(b, "top level");
        return;
    }
    for (size_t i = 0; i < l->depth; i++) {
        const struct nm_json_seg *s = &l->path[i];
        if (!s->key) {
            nm_buf_appendf(b, "[%zu]", s->index);
        } else if (is_ident(s->key)) {
            nm_buf_appendf(b, "%s%s", i ? "." : "", s->key);
        } else {
            /* Dots in Ansible host names would make a dotted path ambiguous. */
            nm_buf_append(b, "[", 1);
            append_quoted(b, s->key, QUOTE_MAX);
            nm_buf_append(b, "]", 1);
        }
    }
}

static int fail(struct loader *l, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct loader *l, int code, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    nm_utf8_fix(what);

    struct nm_buf path;
    nm_buf_init(&path, 512);
    format_path(l, &path);
    nm_diag_set(l->d, code, "%s:%zu: %s: %s", l->file,
                nm_json_line_of(l->text, l->len, l->path, l->depth), path.data, what);
    nm_buf_finish(&path);
    return code;
}

static void push_key(struct loader *l, const char *key)
{
    if (l->depth == PATH_MAX_SEGS)
        abort(); /* a path deeper than any format has: a bug here, not bad input */
    l->path[l->depth++] = (struct nm_json_seg){.key = key};
}

static void push_index(struct loader *l, size_t index)
{
    if (l->depth == PATH_MAX_SEGS)
        abort();
    l->path[l->depth++] = (struct nm_json_seg){.index = index};
}

static void pop(struct loader *l)
{
    l->depth--;
}

static const char *type_desc(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a fractional number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

static int wrong_type(struct loader *l, const json_t *v, const char *expected)
{
    return fail(l, NM_ERR_INVAL, "expected %s, found %s", expected, type_desc(v));
}

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* The key is already on the path. */
static int unknown_key(struct loader *l, const char *const *allowed)
{
    char list[256];
    size_t off = 0;
    list[0] = '\0';
    for (const char *const *a = allowed; *a; a++) {
        int n = snprintf(list + off, sizeof list - off, "%s%s", a == allowed ? "" : ", ", *a);
        if (n < 0 || (size_t)n >= sizeof list - off)
            break;
        off += (size_t)n;
    }
    return fail(l, NM_ERR_INVAL, "unknown key (expected one of: %s)", list);
}

/* ---- value checks ---- */

enum text_kind {
    TEXT_NAME,  /* host names, addresses, users, roles, label keys: ASCII, no spaces */
    TEXT_PATH,  /* file paths: non-empty, no control characters */
    TEXT_VALUE, /* label values: no control characters */
};

/* Everything here ends up in reports, terminals and known_hosts lookups. */
static int check_text(struct loader *l, const char *s, enum text_kind kind)
{
    if (!*s && kind != TEXT_VALUE)
        return fail(l, NM_ERR_INVAL, "must not be empty");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *what = NULL;
        /* C1 controls (U+0080..U+009F) are two bytes in UTF-8. */
        if (*p < 0x20 || *p == 0x7f || (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
            what = "a control character";
        else if (kind == TEXT_NAME && *p == ' ')
            what = "a space";
        else if (kind == TEXT_NAME && *p >= 0x80)
            what = "a non-ASCII character";
        if (what)
            return fail(l, NM_ERR_INVAL, "%s contains %s", q(l, s), what);
    }
    if (kind == TEXT_NAME && s[0] == '-')
        return fail(l, NM_ERR_INVAL, "%s must not start with '-'", q(l, s));
    return 0;
}

static int get_text(struct loader *l, const json_t *v, enum text_kind kind, const char **ret)
{
    if (!json_is_string(v))
        return wrong_type(l, v, "a string");
    const char *s = json_string_value(v);
    int r = check_text(l, s, kind);
    if (r < 0)
        return r;
    *ret = s;
    return 0;
}

static int set_text(struct loader *l, const json_t *v, enum text_kind kind, char **dst)
{
    const char *s = NULL;
    int r = get_text(l, v, kind, &s);
    if (r < 0)
        return r;
    replace_str(dst, kind == TEXT_PATH ? nm_expand_home(s) : nm_xstrdup(s));
    return 0;
}

/* Ansible values pass through YAML, where `443` or `zone: 1` become integers. */
static int get_scalar_text(struct loader *l, const json_t *v, enum text_kind kind, char *buf,
                           size_t size, const char **ret)
{
    if (json_is_integer(v)) {
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *ret = buf;
        return check_text(l, buf, kind);
    }
    if (!json_is_string(v))
        return wrong_type(l, v, "a string or an integer");
    return get_text(l, v, kind, ret);
}

static int get_int_range(struct loader *l, const json_t *v, bool numeric_string, long long lo,
                         long long hi, const char *what, int *ret)
{
    long long n;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (numeric_string && json_is_string(v)) {
        int64_t s;
        if (nm_str_to_i64(json_string_value(v), &s) < 0)
            return fail(l, NM_ERR_INVAL, "expected %s, found %s", what, q(l, json_string_value(v)));
        n = s;
    } else {
        return wrong_type(l, v, numeric_string ? "an integer or a numeric string" : "an integer");
    }
    if (n < lo || n > hi)
        return fail(l, NM_ERR_INVAL, "%lld is out of range (expected %s)", n, what);
    *ret = (int)n;
    return 0;
}

static int set_port(struct loader *l, const json_t *v, bool numeric_string, int *port)
{
    return get_int_range(l, v, numeric_string, 1, 65535, "a port 1..65535", port);
}

static int set_criticality(struct loader *l, const json_t *v, char **dst)
{
    if (!json_is_string(v))
        return wrong_type(l, v, "a string");
    const char *s = json_string_value(v);
    if (!in_list(criticalities, s))
        return fail(l, NM_ERR_INVAL, "%s is not one of low, medium, high, critical", q(l, s));
    replace_str(dst, nm_xstrdup(s));
    return 0;
}

/* Array of strings; duplicates are refused since they can only be a slip. */
static int set_strv(struct loader *l, const json_t *v, enum text_kind kind, bool allow_int,
                    char ***ret, size_t *ret_n)
{
    if (!json_is_array(v))
        return wrong_type(l, v,
                          allow_int ? "an array of strings or integers" : "an array of strings");
    char **out = NULL;
    size_t n = 0, i;
    json_t *e;
    int r = 0;
    json_array_foreach (v, i, e) {
        char num[32];
        const char *s = NULL;
        push_index(l, i);
        r = allow_int ? get_scalar_text(l, e, kind, num, sizeof num, &s) : get_text(l, e, kind, &s);
        if (r < 0)
            goto out;
        if (strv_contains(out, n, s)) {
            r = fail(l, NM_ERR_INVAL, "%s is listed twice", q(l, s));
            goto out;
        }
        strv_push(&out, &n, s);
        pop(l);
    }
    free_strv(*ret, *ret_n);
    *ret = out;
    *ret_n = n;
    out = NULL;
out:
    if (out)
        free_strv(out, n);
    return r;
}

static int set_labels(struct loader *l, const json_t *v, bool allow_int, struct nm_host *h)
{
    if (!json_is_object(v))
        return wrong_type(l, v, "an object of label names to values");
    struct nm_host tmp = {0};
    const char *key;
    json_t *val;
    int r = 0;
    json_object_foreach ((json_t *)v, key, val) {
        char num[32];
        const char *s = NULL;
        push_key(l, key);
        r = check_text(l, key, TEXT_NAME);
        if (r == 0)
            r = allow_int ? get_scalar_text(l, val, TEXT_VALUE, num, sizeof num, &s)
                          : get_text(l, val, TEXT_VALUE, &s);
        if (r < 0)
            goto out;
        label_push(&tmp, key, s);
        pop(l);
    }
    for (size_t i = 0; i < h->n_labels; i++) {
        free(h->labels[i].key);
        free(h->labels[i].value);
    }
    free(h->labels);
    h->labels = tmp.labels;
    h->n_labels = tmp.n_labels;
    tmp.labels = NULL;
    tmp.n_labels = 0;
out:
    host_finish(&tmp);
    return r;
}

/* ---- adding hosts and roles to the file's private inventory ---- */

/* The path points at where this file names the host. */
static int check_new_host(struct loader *l, const char *name)
{
    json_t *seen = json_object_get(l->names, name);
    if (!seen)
        return 0;
    size_t i = (size_t)json_integer_value(seen);
    if (i < l->inv->n_hosts)
        return fail(l, NM_ERR_EXISTS, "host %s is already defined in %s", q(l, name),
                    l->inv->hosts[i].origin);
    /* Only native files get here (Ansible names are object keys), where
     * hosts[] maps one to one onto tmp. */
    return fail(l, NM_ERR_EXISTS, "host %s is defined twice in this file (also at hosts[%zu])",
                q(l, name), i - l->inv->n_hosts);
}

static void add_host(struct loader *l, struct nm_host *h)
{
    size_t index = l->inv->n_hosts + l->tmp.n_hosts;
    json_object_set_new(l->names, h->name, json_integer((json_int_t)index));
    l->tmp.hosts = nm_xreallocarray(l->tmp.hosts, l->tmp.n_hosts + 1, sizeof *l->tmp.hosts);
    l->tmp.hosts[l->tmp.n_hosts++] = *h;
    memset(h, 0, sizeof *h);
}

static bool same_set(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!strv_contains(b, nb, a[i]))
            return false;
    return true;
}

/*
 * The same role may be spelled out in several files (say one per site) as
 * long as they agree; disagreeing would make the verdict depend on -i order.
 */
static int add_role(struct loader *l, struct nm_role *role)
{
    const struct nm_role *old = nm_inventory_find_role(l->inv, role->name);
    if (old) {
        if (old->min_healthy == role->min_healthy &&
            same_set(old->spread, old->n_spread, role->spread, role->n_spread)) {
            role_finish(role);
            return 0;
        }
        struct nm_buf spread;
        nm_buf_init(&spread, 256);
        for (size_t i = 0; i < old->n_spread; i++)
            nm_buf_appendf(&spread, "%s%s", i ? ", " : "", old->spread[i]);
        int r =
            fail(l, NM_ERR_CONFIG,
                 "role %s is already defined differently in %s (min_healthy %d, spread [%s])",
                 q(l, role->name), old->origin, old->min_healthy, spread.data ? spread.data : "");
        nm_buf_finish(&spread);
        role_finish(role);
        return r;
    }
    role->origin = nm_xstrdup(l->origin);
    l->tmp.roles = nm_xreallocarray(l->tmp.roles, l->tmp.n_roles + 1, sizeof *l->tmp.roles);
    l->tmp.roles[l->tmp.n_roles++] = *role;
    memset(role, 0, sizeof *role);
    return 0;
}

/* ---- native format ---- */

static const char *const top_keys[] = {"defaults", "hosts", "roles", NULL};
static const char *const host_keys[] = {"name",     "address",     "port",       "user",
                                        "identity", "known_hosts", "proxy_jump", "roles",
                                        "labels",   "criticality", "tls",        NULL};
static const char *const default_keys[] = {"user",       "port",        "identity", "known_hosts",
                                           "proxy_jump", "criticality", "labels",   NULL};
static const char *const role_keys[] = {"min_healthy", "spread", "description", NULL};

/* Fields shared by hosts and defaults; `key` is on the path already. */
static int native_field(struct loader *l, const char *key, const json_t *v, struct nm_host *h)
{
    if (strcmp(key, "address") == 0)
        return set_text(l, v, TEXT_NAME, &h->address);
    if (strcmp(key, "port") == 0)
        return set_port(l, v, false, &h->port);
    if (strcmp(key, "user") == 0)
        return set_text(l, v, TEXT_NAME, &h->user);
    if (strcmp(key, "identity") == 0)
        return set_text(l, v, TEXT_PATH, &h->identity);
    if (strcmp(key, "known_hosts") == 0)
        return set_text(l, v, TEXT_PATH, &h->known_hosts);
    if (strcmp(key, "proxy_jump") == 0)
        return set_text(l, v, TEXT_NAME, &h->proxy_jump);
    if (strcmp(key, "roles") == 0)
        return set_strv(l, v, TEXT_NAME, false, &h->roles, &h->n_roles);
    if (strcmp(key, "labels") == 0)
        return set_labels(l, v, false, h);
    if (strcmp(key, "criticality") == 0)
        return set_criticality(l, v, &h->criticality);
    if (strcmp(key, "tls") == 0)
        return set_strv(l, v, TEXT_NAME, false, &h->tls, &h->n_tls);
    if (strcmp(key, "name") == 0)
        return set_text(l, v, TEXT_NAME, &h->name);
    abort(); /* callers only pass keys from their allowed list */
}

static int native_defaults(struct loader *l, const json_t *v, struct nm_host *def)
{
    if (!json_is_object(v))
        return wrong_type(l, v, "an object");
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *)v, key, val) {
        push_key(l, key);
        int r = in_list(default_keys, key) ? native_field(l, key, val, def)
                                           : unknown_key(l, default_keys);
        if (r < 0)
            return r;
        pop(l);
    }
    return 0;
}

static void apply_defaults(struct nm_host *h, const struct nm_host *def)
{
    if (!h->user && def->user) {
        h->user = nm_xstrdup(def->user);
        h->from_defaults |= NM_HOST_DEFAULT_USER;
    }
    if (!h->port && def->port) {
        h->port = def->port;
        h->from_defaults |= NM_HOST_DEFAULT_PORT;
    }
    if (!h->identity && def->identity) {
        h->identity = nm_xstrdup(def->identity);
        h->from_defaults |= NM_HOST_DEFAULT_IDENTITY;
    }
    if (!h->known_hosts && def->known_hosts) {
        h->known_hosts = nm_xstrdup(def->known_hosts);
        h->from_defaults |= NM_HOST_DEFAULT_KNOWN_HOSTS;
    }
    if (!h->proxy_jump && def->proxy_jump) {
        h->proxy_jump = nm_xstrdup(def->proxy_jump);
        h->from_defaults |= NM_HOST_DEFAULT_PROXY_JUMP;
    }
    if (!h->criticality && def->criticality)
        h->criticality = nm_xstrdup(def->criticality);
    for (size_t i = 0; i < def->n_labels; i++)
        if (!nm_host_label(h, def->labels[i].key))
            label_push(h, def->labels[i].key, def->labels[i].value);
}

/* The path is at hosts[index]. */
static int native_host(struct loader *l, const json_t *v, const struct nm_host *def)
{
    struct nm_host h = {0};
    const char *key;
    json_t *val;
    int r = 0;

    if (!json_is_object(v))
        return wrong_type(l, v, "an object (a host)");
    json_object_foreach ((json_t *)v, key, val) {
        push_key(l, key);
        r = in_list(host_keys, key) ? native_field(l, key, val, &h) : unknown_key(l, host_keys);
        if (r < 0)
            goto out;
        pop(l);
    }
    if (!h.name) {
        r = fail(l, NM_ERR_INVAL, "missing required key \"name\"");
        goto out;
    }
    push_key(l, "name");
    if ((r = check_new_host(l, h.name)) < 0)
        goto out;
    pop(l);
    if (!h.address) {
        h.address = nm_xstrdup(h.name);
        h.from_defaults |= NM_HOST_ADDRESS_FROM_NAME;
    }
    apply_defaults(&h, def);
    h.origin = nm_xstrdup(l->origin);
    add_host(l, &h);
out:
    host_finish(&h);
    return r;
}

/* The path is at roles.NAME. */
static int native_role(struct loader *l, const char *name, const json_t *v)
{
    struct nm_role role = {0};
    const char *key;
    json_t *val;
    int r = check_text(l, name, TEXT_NAME);
    if (r < 0)
        return r;
    if (!json_is_object(v))
        return wrong_type(l, v, "an object (a role)");
    role.name = nm_xstrdup(name);
    json_object_foreach ((json_t *)v, key, val) {
        push_key(l, key);
        if (strcmp(key, "min_healthy") == 0) {
            r = get_int_range(l, val, false, 0, INT_MAX, "an integer >= 0", &role.min_healthy);
        } else if (strcmp(key, "spread") == 0) {
            r = set_strv(l, val, TEXT_NAME, false, &role.spread, &role.n_spread);
        } else if (strcmp(key, "description") == 0) {
            /* Documentation for people reading the file; nothing uses it. */
            r = json_is_string(val) ? 0 : wrong_type(l, val, "a string");
        } else {
            r = unknown_key(l, role_keys);
        }
        if (r < 0)
            goto out;
        pop(l);
    }
    r = add_role(l, &role);
out:
    role_finish(&role);
    return r;
}

static int load_native(struct loader *l, const json_t *root)
{
    struct nm_host def = {0};
    const char *key;
    json_t *val;
    int r = 0;

    /* Unknown keys are reported in document order before anything else. */
    json_object_foreach ((json_t *)root, key, val) {
        if (!in_list(top_keys, key)) {
            push_key(l, key);
            return unknown_key(l, top_keys);
        }
    }
    /* Defaults first: they must be known before any host, wherever they are written. */
    val = json_object_get(root, "defaults");
    if (val) {
        push_key(l, "defaults");
        r = native_defaults(l, val, &def);
        if (r < 0)
            goto out;
        pop(l);
    }
    val = json_object_get(root, "hosts");
    if (val) {
        push_key(l, "hosts");
        if (!json_is_array(val)) {
            r = wrong_type(l, val, "an array of hosts");
            goto out;
        }
        size_t i;
        json_t *h;
        json_array_foreach (val, i, h) {
            push_index(l, i);
            r = native_host(l, h, &def);
            if (r < 0)
                goto out;
            pop(l);
        }
        pop(l);
    }
    val = json_object_get(root, "roles");
    if (val) {
        push_key(l, "roles");
        if (!json_is_object(val)) {
            r = wrong_type(l, val, "an object of role names to settings");
            goto out;
        }
        json_t *rv;
        json_object_foreach (val, key, rv) {
            push_key(l, key);
            r = native_role(l, key, rv);
            if (r < 0)
                goto out;
            pop(l);
        }
        pop(l);
    }
out:
    host_finish(&def);
    return r;
}

/* ---- Ansible format ---- */

struct agroup {
    const char *name;
    json_t *hosts, *children, *vars; /* borrowed; each may be NULL */
    size_t depth;
};

struct ahost {
    const char *name;
    json_t *vars;   /* _meta.hostvars entry, borrowed; may be NULL */
    size_t *groups; /* every group holding it, directly or through children */
    size_t n_groups;
    size_t mark;             /* last group (+1) that added itself, to skip repeats */
    const char *first_group; /* NULL: first seen in _meta.hostvars */
    size_t first_index;
};

struct ansible {
    struct agroup *groups;
    size_t n_groups;
    struct ahost *hosts;
    size_t n_hosts;
    json_t *group_index; /* name -> index, owned */
    json_t *host_index;  /* name -> index, owned */
};

static const char *const group_keys[] = {"hosts", "children", "vars", NULL};
static const char *const meta_keys[] = {"hostvars", NULL};

/* Every key of both formats, as docs/inventory.md lists them (a unit test
 * compares the two); the loaders reject other keys with these same lists.
 * ROLE and GROUP stand for names the file chooses. */
const struct nm_keyset nm_inventory_keysets[] = {
    {"", top_keys},
    {"defaults.", default_keys},
    {"hosts[].", host_keys},
    {"roles.ROLE.", role_keys},
    {"GROUP.", group_keys},
    {"_meta.", meta_keys},
    {NULL, NULL},
};

static bool is_pseudo_group(const char *name)
{
    return strcmp(name, "all") == 0 || strcmp(name, "ungrouped") == 0;
}

/* Everything ansible-inventory prints in a group is one of hosts/children/vars. */
static bool looks_like_group(const json_t *v)
{
    const char *key;
    json_t *val;
    if (!json_is_object(v))
        return false;
    json_object_foreach ((json_t *)v, key, val)
        if (!in_list(group_keys, key))
            return false;
    return true;
}

static bool looks_like_ansible(const json_t *root)
{
    const char *key;
    json_t *val;
    if (json_is_array(json_object_get(root, "hosts")))
        return false;
    if (json_object_get(root, "_meta"))
        return true;
    if (json_object_size(root) == 0)
        return false;
    json_object_foreach ((json_t *)root, key, val)
        if (!looks_like_group(val))
            return false;
    return true;
}

static void ansible_finish(struct ansible *a)
{
    for (size_t i = 0; i < a->n_hosts; i++)
        free(a->hosts[i].groups);
    free(a->hosts);
    free(a->groups);
    json_decref(a->group_index);
    json_decref(a->host_index);
}

/* The path is at the place that names the host. */
static int ansible_see_host(struct loader *l, struct ansible *a, const char *name, json_t *vars,
                            const char *group, size_t index)
{
    json_t *seen = json_object_get(a->host_index, name);
    if (seen) {
        if (vars)
            a->hosts[json_integer_value(seen)].vars = vars;
        return 0;
    }
    int r = check_text(l, name, TEXT_NAME);
    if (r < 0)
        return r;
    a->hosts = nm_xreallocarray(a->hosts, a->n_hosts + 1, sizeof *a->hosts);
    a->hosts[a->n_hosts] =
        (struct ahost){.name = name, .vars = vars, .first_group = group, .first_index = index};
    json_object_set_new(a->host_index, name, json_integer((json_int_t)a->n_hosts));
    a->n_hosts++;
    return 0;
}

static int ansible_structure(struct loader *l, const json_t *root, struct ansible *a)
{
    const char *key, *k2;
    json_t *val, *v2;

    json_object_foreach ((json_t *)root, key, val) {
        push_key(l, key);
        if (!json_is_object(val))
            return wrong_type(l, val,
                              strcmp(key, "_meta") == 0 ? "an object" : "an object (a group)");
        if (strcmp(key, "_meta") == 0) {
            json_object_foreach (val, k2, v2) {
                push_key(l, k2);
                if (!in_list(meta_keys, k2))
                    return unknown_key(l, meta_keys);
                if (!json_is_object(v2))
                    return wrong_type(l, v2, "an object of host names to variables");
                const char *hn;
                json_t *hv;
                json_object_foreach (v2, hn, hv) {
                    push_key(l, hn);
                    if (!json_is_object(hv))
                        return wrong_type(l, hv, "an object (host variables)");
                    int r = ansible_see_host(l, a, hn, hv, NULL, 0);
                    if (r < 0)
                        return r;
                    pop(l);
                }
                pop(l);
            }
            pop(l);
            continue;
        }
        int r = check_text(l, key, TEXT_NAME);
        if (r < 0)
            return r;
        struct agroup g = {.name = key};
        json_object_foreach (val, k2, v2) {
            push_key(l, k2);
            if (strcmp(k2, "hosts") == 0 || strcmp(k2, "children") == 0) {
                if (!json_is_array(v2))
                    return wrong_type(l, v2, "an array of strings");
                size_t i;
                json_t *e;
                json_array_foreach (v2, i, e) {
                    push_index(l, i);
                    if (!json_is_string(e))
                        return wrong_type(l, e, "a string");
                    r = check_text(l, json_string_value(e), TEXT_NAME);
                    if (r < 0)
                        return r;
                    pop(l);
                }
                if (strcmp(k2, "hosts") == 0)
                    g.hosts = v2;
                else
                    g.children = v2;
            } else if (strcmp(k2, "vars") == 0) {
                if (!json_is_object(v2))
                    return wrong_type(l, v2, "an object (group variables)");
                g.vars = v2;
            } else {
                return unknown_key(l, group_keys);
            }
            pop(l);
        }
        json_object_set_new(a->group_index, key, json_integer((json_int_t)a->n_groups));
        a->groups = nm_xreallocarray(a->groups, a->n_groups + 1, sizeof *a->groups);
        a->groups[a->n_groups++] = g;
        pop(l);
    }

    /* Hosts named only in groups (no variables) exist just the same. */
    for (size_t gi = 0; gi < a->n_groups; gi++) {
        struct agroup *g = &a->groups[gi];
        size_t i;
        json_t *e;
        json_array_foreach (g->hosts, i, e) {
            push_key(l, g->name);
            push_key(l, "hosts");
            push_index(l, i);
            int r = ansible_see_host(l, a, json_string_value(e), NULL, g->name, i);
            if (r < 0)
                return r;
            l->depth -= 3;
        }
    }
    return 0;
}

static struct agroup *child_group(struct ansible *a, const json_t *name)
{
    json_t *i = json_object_get(a->group_index, json_string_value(name));
    return i ? &a->groups[json_integer_value(i)] : NULL;
}

/*
 * Ansible's variable precedence among groups: deeper groups (further from
 * "all") win, ties go to the later name.  depth is the longest path from
 * "all", every group being at least a child of it; cycles are cut by the cap.
 */
static void ansible_depths(struct ansible *a)
{
    for (size_t i = 0; i < a->n_groups; i++)
        a->groups[i].depth = strcmp(a->groups[i].name, "all") == 0 ? 0 : 1;
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < a->n_groups; i++) {
            size_t j;
            json_t *c;
            json_array_foreach (a->groups[i].children, j, c) {
                struct agroup *child = child_group(a, c);
                size_t d = a->groups[i].depth + 1;
                if (child && strcmp(child->name, "all") != 0 && child->depth < d &&
                    d <= a->n_groups) {
                    child->depth = d;
                    changed = true;
                }
            }
        }
    }
}

/* Adds group gi to every host under it, walking children with a visited set. */
static void ansible_members(struct ansible *a, size_t gi, bool *visited, size_t *stack)
{
    size_t top = 0;
    memset(visited, 0, a->n_groups * sizeof *visited);
    visited[gi] = true;
    stack[top++] = gi;
    while (top > 0) {
        const struct agroup *g = &a->groups[stack[--top]];
        size_t i;
        json_t *e;
        json_array_foreach (g->hosts, i, e) {
            struct ahost *h =
                &a->hosts[json_integer_value(json_object_get(a->host_index, json_string_value(e)))];
            if (h->mark == gi + 1)
                continue;
            h->mark = gi + 1;
            h->groups = nm_xreallocarray(h->groups, h->n_groups + 1, sizeof *h->groups);
            h->groups[h->n_groups++] = gi;
        }
        json_array_foreach (g->children, i, e) {
            struct agroup *c = child_group(a, e);
            if (c && !visited[c - a->groups]) {
                visited[c - a->groups] = true;
                stack[top++] = (size_t)(c - a->groups);
            }
        }
    }
}

static bool group_before(const struct agroup *x, const struct agroup *y)
{
    return x->depth != y->depth ? x->depth < y->depth : strcmp(x->name, y->name) < 0;
}

/* Lowest precedence first, like Ansible's own sort. */
static void sort_by_precedence(const struct ansible *a, size_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        size_t x = v[i], j = i;
        for (; j > 0 && group_before(&a->groups[x], &a->groups[v[j - 1]]); j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/*
 * Finds the winning value of a variable for a host (host vars, then its
 * groups from the highest precedence down) and puts its source on the path.
 * `alias` is the pre-2.0 spelling, accepted where the modern one is absent.
 */
static json_t *ansible_var(struct loader *l, const struct ansible *a, const struct ahost *h,
                           const char *name, const char *alias)
{
    json_t *v;
    const char *which;
    for (size_t k = 0; k <= h->n_groups; k++) {
        const json_t *vars;
        const struct agroup *g = NULL;
        if (k == 0) {
            vars = h->vars;
        } else {
            g = &a->groups[h->groups[h->n_groups - k]];
            vars = g->vars;
        }
        if (!vars)
            continue;
        which = name;
        v = json_object_get(vars, name);
        if (!v && alias) {
            which = alias;
            v = json_object_get(vars, alias);
        }
        if (!v)
            continue;
        if (g) {
            push_key(l, g->name);
            push_key(l, "vars");
        } else {
            push_key(l, "_meta");
            push_key(l, "hostvars");
            push_key(l, h->name);
        }
        push_key(l, which);
        return v;
    }
    return NULL;
}

/* Ansible's booleans: YAML true/false, or the strings an INI file gives. */
static int get_ansible_bool(struct loader *l, const json_t *v, bool *ret)
{
    static const char *const yes[] = {"true", "yes", "on", "1", "y", "t", NULL};
    static const char *const no[] = {"false", "no", "off", "0", "n", "f", NULL};
    if (json_is_boolean(v)) {
        *ret = json_is_true(v);
        return 0;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *ret = json_integer_value(v) == 1;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (size_t i = 0; yes[i]; i++)
            if (strcasecmp(s, yes[i]) == 0) {
                *ret = true;
                return 0;
            }
        for (size_t i = 0; no[i]; i++)
            if (strcasecmp(s, no[i]) == 0) {
                *ret = false;
                return 0;
            }
    }
    return wrong_type(l, v, "a boolean (true/false, yes/no)");
}

/*
 * ansible_become false: root probes never go through sudo on this host.
 * ansible_become_user: sudo -u USER.  ansible_become_method other than sudo
 * (su, doas, pbrun, ...): nearmiss cannot use it, so the host's root checks
 * say so instead of being run another way.  Unset, nearmiss tries sudo -n
 * whatever Ansible's own default (no become) is: reading as root is what
 * those checks need, and a refused sudo costs nothing but a log line.
 */
static int ansible_become(struct loader *l, struct ansible *a, struct ahost *ah, struct nm_host *h)
{
    size_t base = l->depth;
    const json_t *v;
    bool on = true;
    int r;
    if ((v = ansible_var(l, a, ah, "ansible_become", "ansible_sudo"))) {
        if ((r = get_ansible_bool(l, v, &on)) < 0)
            return r;
        l->depth = base;
    }
    if (!on) {
        h->become = NM_BECOME_OFF;
        return 0;
    }
    if ((v = ansible_var(l, a, ah, "ansible_become_user", "ansible_sudo_user"))) {
        if ((r = set_text(l, v, TEXT_NAME, &h->become_user)) < 0)
            return r;
        l->depth = base;
    }
    if ((v = ansible_var(l, a, ah, "ansible_become_method", NULL))) {
        const char *m = NULL;
        if ((r = get_text(l, v, TEXT_NAME, &m)) < 0)
            return r;
        l->depth = base;
        if (strcmp(m, "sudo") != 0) {
            h->become = NM_BECOME_UNSUPPORTED;
            h->become_method = nm_xstrdup(m);
        }
    }
    return 0;
}

/* What the host's own variables did not set already. */
static void ansible_take_ssh_args(struct nm_host *h, struct nm_ssh_args *sa)
{
    if (!h->port)
        h->port = sa->port;
#define TAKE(dst, src)                                                                             \
    do {                                                                                           \
        if (!(dst)) {                                                                              \
            (dst) = (src);                                                                         \
            (src) = NULL;                                                                          \
        }                                                                                          \
    } while (0)
    TAKE(h->user, sa->user);
    TAKE(h->identity, sa->identity);
    TAKE(h->known_hosts, sa->known_hosts);
    if (!h->proxy_jump && sa->proxy_jump)
        h->from_defaults |= NM_HOST_JUMP_FROM_SSH_ARGS;
    TAKE(h->proxy_jump, sa->proxy_jump);
    TAKE(h->proxy_command, sa->proxy_command);
    TAKE(h->reach_note, sa->note);
    TAKE(h->reach_error, sa->error);
#undef TAKE
}

static int ansible_host(struct loader *l, struct ansible *a, struct ahost *ah)
{
    struct nm_host h = {0};
    json_t *v;
    int r = 0;
    size_t base = l->depth;

    /* Where the file first names the host, for a duplicate-host message. */
    if (ah->first_group) {
        push_key(l, ah->first_group);
        push_key(l, "hosts");
        push_index(l, ah->first_index);
    } else {
        push_key(l, "_meta");
        push_key(l, "hostvars");
        push_key(l, ah->name);
    }
    r = check_new_host(l, ah->name);
    if (r < 0)
        goto out;
    l->depth = base;

    /*
     * Plain --list copies group variables into every host, so a role setting
     * seen here cannot be tied back to its group; --export keeps them apart.
     */
    static const char *const role_vars[] = {"nearmiss_min_healthy", "nearmiss_spread", NULL};
    for (const char *const *rv = role_vars; *rv; rv++) {
        if (ah->vars && json_object_get(ah->vars, *rv)) {
            push_key(l, "_meta");
            push_key(l, "hostvars");
            push_key(l, ah->name);
            push_key(l, *rv);
            r = fail(l, NM_ERR_INVAL,
                     "role settings are group variables; load the output of "
                     "`ansible-inventory --list --export`, which keeps them with their group");
            goto out;
        }
    }

    sort_by_precedence(a, ah->groups, ah->n_groups);
    h.name = nm_xstrdup(ah->name);

    if ((v = ansible_var(l, a, ah, "ansible_host", "ansible_ssh_host"))) {
        if ((r = set_text(l, v, TEXT_NAME, &h.address)) < 0)
            goto out;
        l->depth = base;
    }
    if ((v = ansible_var(l, a, ah, "ansible_port", "ansible_ssh_port"))) {
        if ((r = set_port(l, v, true, &h.port)) < 0)
            goto out;
        l->depth = base;
    }
    if ((v = ansible_var(l, a, ah, "ansible_user", "ansible_ssh_user"))) {
        if ((r = set_text(l, v, TEXT_NAME, &h.user)) < 0)
            goto out;
        l->depth = base;
    }
    if ((v = ansible_var(l, a, ah, "ansible_ssh_private_key_file", "ansible_private_key_file"))) {
        if ((r = set_text(l, v, TEXT_PATH, &h.identity)) < 0)
            goto out;
        l->depth = base;
    }
    if ((r = ansible_become(l, a, ah, &h)) < 0)
        goto out;
    l->depth = base;
    /* After ansible_port and ansible_user: Ansible puts those on the ssh
     * command line first, and ssh keeps the first value. */
    static const char *const args_vars[] = {"ansible_ssh_common_args", "ansible_ssh_extra_args"};
    struct nm_ssh_args sa = {0};
    for (size_t k = 0; k < 2; k++) {
        const char *s = NULL;
        if (!(v = ansible_var(l, a, ah, args_vars[k], NULL)))
            continue;
        r = get_text(l, v, TEXT_VALUE, &s);
        l->depth = base;
        if (r < 0)
            break;
        nm_ssh_args_parse(args_vars[k], s, &sa);
    }
    if (r == 0)
        ansible_take_ssh_args(&h, &sa);
    nm_ssh_args_finish(&sa);
    if (r < 0)
        goto out;
    if ((v = ansible_var(l, a, ah, "nearmiss_labels", NULL))) {
        if ((r = set_labels(l, v, true, &h)) < 0)
            goto out;
        l->depth = base;
    }
    if ((v = ansible_var(l, a, ah, "nearmiss_criticality", NULL))) {
        if ((r = set_criticality(l, v, &h.criticality)) < 0)
            goto out;
        l->depth = base;
    }
    if ((v = ansible_var(l, a, ah, "nearmiss_tls", NULL))) {
        if ((r = set_strv(l, v, TEXT_NAME, true, &h.tls, &h.n_tls)) < 0)
            goto out;
        l->depth = base;
    }

    /* Roles in the order the file lists the groups, not by precedence. */
    for (size_t gi = 0; gi < a->n_groups; gi++) {
        const char *g = a->groups[gi].name;
        bool member = false;
        for (size_t k = 0; k < ah->n_groups && !member; k++)
            member = ah->groups[k] == gi;
        if (member && !is_pseudo_group(g))
            strv_push(&h.roles, &h.n_roles, g);
    }
    if (!h.address) {
        h.address = nm_xstrdup(h.name);
        h.from_defaults |= NM_HOST_ADDRESS_FROM_NAME;
    }
    h.origin = nm_xstrdup(l->origin);
    add_host(l, &h);
out:
    host_finish(&h);
    return r;
}

/* Only groups that say something about redundancy become defined roles. */
static int ansible_role(struct loader *l, const struct agroup *g)
{
    json_t *min = g->vars ? json_object_get(g->vars, "nearmiss_min_healthy") : NULL;
    json_t *spread = g->vars ? json_object_get(g->vars, "nearmiss_spread") : NULL;
    struct nm_role role = {0};
    size_t base = l->depth;
    int r = 0;
    if (!min && !spread)
        return 0;
    push_key(l, g->name);
    push_key(l, "vars");
    if (is_pseudo_group(g->name)) {
        push_key(l, min ? "nearmiss_min_healthy" : "nearmiss_spread");
        return fail(l, NM_ERR_INVAL, "%s is not a role; set this on the group of the role",
                    g->name);
    }
    role.name = nm_xstrdup(g->name);
    if (min) {
        push_key(l, "nearmiss_min_healthy");
        /* INI group variables arrive as strings. */
        r = get_int_range(l, min, true, 0, INT_MAX, "an integer >= 0", &role.min_healthy);
        if (r < 0)
            goto out;
        pop(l);
    }
    if (spread) {
        push_key(l, "nearmiss_spread");
        r = set_strv(l, spread, TEXT_NAME, false, &role.spread, &role.n_spread);
        if (r < 0)
            goto out;
        pop(l);
    }
    r = add_role(l, &role);
    if (r == 0)
        l->depth = base;
out:
    role_finish(&role);
    return r;
}

static int load_ansible(struct loader *l, const json_t *root)
{
    struct ansible a = {.group_index = json_object(), .host_index = json_object()};
    bool *visited = NULL;
    size_t *stack = NULL;
    int r = ansible_structure(l, root, &a);
    if (r < 0)
        goto out;
    ansible_depths(&a);
    visited = nm_xcalloc(a.n_groups, sizeof *visited);
    stack = nm_xcalloc(a.n_groups, sizeof *stack);
    for (size_t gi = 0; gi < a.n_groups; gi++)
        ansible_members(&a, gi, visited, stack);
    for (size_t hi = 0; hi < a.n_hosts; hi++)
        if ((r = ansible_host(l, &a, &a.hosts[hi])) < 0)
            goto out;
    for (size_t gi = 0; gi < a.n_groups; gi++)
        if ((r = ansible_role(l, &a.groups[gi])) < 0)
            goto out;
out:
    free(visited);
    free(stack);
    ansible_finish(&a);
    return r;
}

/* ---- entry points ---- */

static void merge(struct nm_inventory *inv, struct nm_inventory *tmp)
{
    if (tmp->n_hosts) {
        inv->hosts = nm_xreallocarray(inv->hosts, inv->n_hosts + tmp->n_hosts, sizeof *inv->hosts);
        memcpy(inv->hosts + inv->n_hosts, tmp->hosts, tmp->n_hosts * sizeof *tmp->hosts);
        inv->n_hosts += tmp->n_hosts;
    }
    if (tmp->n_roles) {
        inv->roles = nm_xreallocarray(inv->roles, inv->n_roles + tmp->n_roles, sizeof *inv->roles);
        memcpy(inv->roles + inv->n_roles, tmp->roles, tmp->n_roles * sizeof *tmp->roles);
        inv->n_roles += tmp->n_roles;
    }
    /* The entries moved; only the arrays are left to free. */
    free(tmp->hosts);
    free(tmp->roles);
    nm_inventory_init(tmp);
}

static bool all_space(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return false;
    return true;
}

/*
 * An Ansible source inventory given where its JSON rendering belongs: "INI"
 * when the first line that says something is a [group] header or a host
 * line with key=value variables, "YAML" when it is "---" or a top-level
 * "key:" mapping.  NULL otherwise (a broken JSON file gets the JSON error).
 */
static const char *ansible_source_kind(const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *s = p, *e = eol;
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        p = eol < end ? eol + 1 : end;
        if (s == e || *s == '#' || *s == ';')
            continue;
        if (*s == '{' || *s == '"')
            return NULL;
        if (*s == '[') {
            /* "[web]" or "[web:children]", never JSON's [" or [{ */
            const char *c = s + 1;
            while (c < e &&
                   (isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == ':' || *c == '.'))
                c++;
            return c > s + 1 && c + 1 == e && *c == ']' ? "INI" : NULL;
        }
        if (e - s == 3 && memcmp(s, "---", 3) == 0)
            return "YAML";
        const char *c = s;
        while (c < e && (isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.'))
            c++;
        if (c > s && c < e && *c == ':' && (c + 1 == e || c[1] == ' '))
            return "YAML";
        if (c > s && memchr(c, '=', (size_t)(e - c)))
            return "INI";
        return NULL;
    }
    return NULL;
}

int nm_inventory_load_buffer(struct nm_inventory *inv, const char *name, const char *data,
                             size_t len, nm_diag *d)
{
    json_error_t jerr;
    json_t *root = NULL;
    int r;

    if (all_space(data, len))
        return nm_diag_set(d, NM_ERR_PARSE, "%s:1: empty file (expected a JSON object)", name);
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        const char *kind = ansible_source_kind(data, len);
        if (kind)
            return nm_diag_set(d, NM_ERR_PARSE,
                               "%s: this is an Ansible %s inventory, not JSON: give nearmiss what "
                               "Ansible makes of it: ansible-inventory -i %s --list > "
                               "inventory.json, then -i inventory.json",
                               name, kind, name);
        if (jerr.line > 0)
            return nm_diag_set(d, NM_ERR_PARSE, "%s:%d:%d: JSON syntax error: %s", name, jerr.line,
                               jerr.column, jerr.text);
        return nm_diag_set(d, NM_ERR_PARSE, "%s: JSON syntax error: %s", name, jerr.text);
    }

    struct loader l = {.file = name, .text = data, .len = len, .d = d, .inv = inv};
    nm_inventory_init(&l.tmp);
    nm_buf_init(&l.quoted[0], QUOTE_MAX * 6 + 16);
    nm_buf_init(&l.quoted[1], QUOTE_MAX * 6 + 16);
    l.names = json_object();
    for (size_t i = 0; i < inv->n_hosts; i++)
        json_object_set_new(l.names, inv->hosts[i].name, json_integer((json_int_t)i));

    if (!json_is_object(root)) {
        r = fail(&l, NM_ERR_INVAL, "expected an object, found %s", type_desc(root));
    } else if (looks_like_ansible(root)) {
        l.origin = nm_xasprintf("%s (ansible)", name);
        r = load_ansible(&l, root);
    } else {
        l.origin = nm_xstrdup(name);
        r = load_native(&l, root);
    }
    if (r == 0)
        merge(inv, &l.tmp);

    nm_inventory_finish(&l.tmp);
    nm_buf_finish(&l.quoted[0]);
    nm_buf_finish(&l.quoted[1]);
    json_decref(l.names);
    free(l.origin);
    json_decref(root);
    return r;
}

int nm_inventory_load_file(struct nm_inventory *inv, const char *path, nm_diag *d)
{
    char *data = NULL;
    size_t len = 0;
    int r = nm_read_file(path, INVENTORY_MAX_BYTES, &data, &len, d);
    if (r < 0)
        return r;
    r = nm_inventory_load_buffer(inv, path, data, len, d);
    free(data);
    return r;
}

/* ---- selection and lookups ---- */

static bool matches_any(char *const *globs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (nm_glob_match(globs[i], name))
            return true;
    return false;
}

static int split_globs(const char *list, char ***ret, size_t *ret_n, nm_diag *d)
{
    char **v = NULL;
    size_t n = 0;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *e = comma ? comma : p + strlen(p);
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (s == e) {
            free_strv(v, n);
            return nm_diag_set(d, NM_ERR_INVAL, "empty pattern in host list \"%s\"", list);
        }
        v = nm_xreallocarray(v, n + 1, sizeof *v);
        v[n++] = nm_xstrndup(s, (size_t)(e - s));
        if (!comma)
            break;
        p = comma + 1;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

int nm_inventory_select(struct nm_inventory *inv, const char *host_glob, const char *role,
                        nm_diag *d)
{
    char **globs = NULL;
    size_t n_globs = 0, by_name = 0, kept = 0;
    int r = 0;

    if (host_glob && (r = split_globs(host_glob, &globs, &n_globs, d)) < 0)
        return r;
    for (size_t i = 0; i < inv->n_hosts; i++) {
        const struct nm_host *h = &inv->hosts[i];
        if (globs && !matches_any(globs, n_globs, h->name))
            continue;
        by_name++;
        if (!role || nm_host_has_role(h, role))
            kept++;
    }
    if (kept == 0) {
        /* Leave inv untouched, and say which filter emptied it. */
        if (inv->n_hosts == 0)
            r = nm_diag_set(d, NM_ERR_NOTFOUND, "the inventory has no hosts");
        else if (by_name == 0)
            r = nm_diag_set(d, NM_ERR_NOTFOUND, "no host matches \"%s\"", host_glob);
        else if (globs)
            r = nm_diag_set(d, NM_ERR_NOTFOUND, "%zu host%s match \"%s\" but none has role \"%s\"",
                            by_name, by_name == 1 ? "" : "s", host_glob, role);
        else
            r = nm_diag_set(d, NM_ERR_NOTFOUND, "no host has role \"%s\"", role);
        goto out;
    }
    size_t w = 0;
    for (size_t i = 0; i < inv->n_hosts; i++) {
        struct nm_host *h = &inv->hosts[i];
        if ((!globs || matches_any(globs, n_globs, h->name)) &&
            (!role || nm_host_has_role(h, role))) {
            inv->hosts[w++] = *h;
        } else {
            /* Kept aside: their roles must not be judged as if they were
             * gone (nearmiss/fleet.h). */
            inv->unselected =
                nm_xreallocarray(inv->unselected, inv->n_unselected + 1, sizeof *inv->unselected);
            inv->unselected[inv->n_unselected++] = *h;
        }
    }
    inv->n_hosts = w;
out:
    free_strv(globs, n_globs);
    return r;
}

size_t nm_inventory_add_role_peers(struct nm_inventory *inv)
{
    size_t selected = inv->n_hosts, added = 0, w = 0;
    for (size_t i = 0; i < inv->n_unselected; i++) {
        struct nm_host *u = &inv->unselected[i];
        bool peer = false;
        for (size_t k = 0; k < selected && !peer; k++)
            for (size_t r = 0; r < u->n_roles && !peer; r++)
                peer = nm_host_has_role(&inv->hosts[k], u->roles[r]);
        if (peer) {
            inv->hosts = nm_xreallocarray(inv->hosts, inv->n_hosts + 1, sizeof *inv->hosts);
            inv->hosts[inv->n_hosts++] = *u;
            added++;
        } else {
            inv->unselected[w++] = *u;
        }
    }
    inv->n_unselected = w;
    return added;
}

const struct nm_host *nm_inventory_find_host(const struct nm_inventory *inv, const char *name)
{
    for (size_t i = 0; i < inv->n_hosts; i++)
        if (strcmp(inv->hosts[i].name, name) == 0)
            return &inv->hosts[i];
    return NULL;
}

const struct nm_role *nm_inventory_find_role(const struct nm_inventory *inv, const char *name)
{
    for (size_t i = 0; i < inv->n_roles; i++)
        if (strcmp(inv->roles[i].name, name) == 0)
            return &inv->roles[i];
    return NULL;
}

const char *nm_host_label(const struct nm_host *h, const char *key)
{
    for (size_t i = 0; i < h->n_labels; i++)
        if (strcmp(h->labels[i].key, key) == 0)
            return h->labels[i].value;
    return NULL;
}

bool nm_host_has_role(const struct nm_host *h, const char *role)
{
    return strv_contains(h->roles, h->n_roles, role);
}

void nm_inventory_keep_if(struct nm_inventory *inv, bool (*keep)(const struct nm_host *, void *),
                          void *ctx)
{
    size_t w = 0;
    for (size_t i = 0; i < inv->n_hosts; i++) {
        struct nm_host *h = &inv->hosts[i];
        if (keep(h, ctx))
            inv->hosts[w++] = *h;
        else
            host_finish(h);
    }
    inv->n_hosts = w;
}
