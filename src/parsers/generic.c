/*
 * Generic parsers: regex, kv, table, lines and json.  They let a check file
 * read the output of any command without new C code, so their options come
 * from the check file and are validated strictly: an unknown or ill-typed
 * option fails with a message that says "option", which the check loader
 * reports against the check file when it tries the parser on empty input.
 * Options, defaults and item fields: docs/parsers-generic.md.
 *
 * All input is hostile: lines are walked with a pointer bounded by their end
 * and cut at MAX_LINE bytes (the item then says "truncated": true), every
 * host string and field name goes through nm_json_string_sanitized, no
 * parser keeps more than NM_PARSER_MAX_ITEMS items, and JSON documents are
 * capped in size (and by jansson in depth).  Spans point into the caller's
 * buffer and live only for the call; the options object is borrowed, and so
 * are the strings taken from it.
 */
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/cursor.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "parsers/builtin.h"

#define MAX_LINE       (64u * 1024) /* bytes of one line (and of one value) kept */
#define MAX_NAME       128          /* field names: keys, headers, captures */
#define MAX_COLUMNS    256          /* table columns */
#define MAX_GROUPS     64           /* capture groups of a regex pattern */
#define MAX_LIST       64           /* skip regexes, comment prefixes */
#define MAX_NUMBER     64           /* longer digit strings stay strings */
#define MAX_KEY_PATH   512          /* flattened JSON keys "a.b.c" */
#define MAX_POINTER    1024         /* bytes of a JSON pointer */
#define JSON_MAX_BYTES (8u << 20)

/* ------------------------------------------------------------------ */
/* Spans and lines                                                     */

struct reader {
    const char *p, *end;
    size_t max; /* bytes of a line kept */
    size_t no;  /* number of the last line read, from 1 */
};

struct line {
    struct nm_span t; /* without "\n" or "\r\n", at most reader.max bytes */
    bool truncated;   /* the line went on past reader.max */
    size_t no;
};

/* An empty section may come without a buffer (data NULL). */
static void reader_init(struct reader *r, const char *data, size_t len, size_t max)
{
    r->p = data ? data : "";
    r->end = data ? data + len : r->p;
    r->max = max;
    r->no = 0;
}

static bool reader_next(struct reader *r, struct line *l)
{
    if (!nm_span_next_line(&r->p, r->end, &l->t))
        return false;
    l->truncated = l->t.n > r->max;
    if (l->truncated)
        l->t.n = r->max;
    l->no = ++r->no;
    return true;
}

/*
 * regexec() wants a NUL-terminated string: the line is copied into buf
 * (MAX_LINE + 1 bytes).  A NUL inside the line becomes DEL so the rest of
 * the line is still matched; both come out of the sanitizer as U+FFFD, so
 * captures taken from the copy read the same as from the original.
 */
static const char *line_cstr(char *buf, struct nm_span t)
{
    size_t n = t.n;
    memcpy(buf, t.p, n);
    buf[n] = '\0';
    for (char *q = memchr(buf, '\0', n); q; q = memchr(q, '\0', n - (size_t)(q - buf)))
        *q = '\x7f';
    return buf;
}

/* ------------------------------------------------------------------ */
/* Values and items                                                    */

static json_t *jspan(struct nm_span t)
{
    return nm_span_json(t, MAX_LINE);
}

/* Fields named by the host (keys, headers, JSON members) may not take these:
 * they are what every item says about itself. */
static bool name_reserved(const char *name)
{
    return strcmp(name, "evidence") == 0 || strcmp(name, "truncated") == 0;
}

struct values {
    bool numbers; /* "-?[0-9]+" -> integer, "-?[0-9]+.[0-9]+" -> real */
    bool percent; /* ... also with one trailing '%' */
};

/* The number a whole span spells exactly ("-?[0-9]+" or "-?[0-9]+.[0-9]+"),
 * or NULL.  Integers beyond 64 bits (serial numbers, say) stay strings
 * rather than lose digits. */
static json_t *exact_number(struct nm_span t)
{
    size_t n = t.n;
    const char *p = t.p, *e = nm_span_end(t);
    if (n == 0 || n > MAX_NUMBER)
        return NULL;
    if (*p == '-')
        p++;
    const char *digits = p;
    while (p < e && nm_is_digit(*p))
        p++;
    /* No leading zeros, as in JSON: "0022" (a umask) and "0644" (a mode)
     * are octal or identifiers, not twenty-two and six hundred forty-four. */
    if (p == digits || (*digits == '0' && p - digits > 1))
        return NULL;
    if (p == e) {
        int64_t v;
        if (nm_span_to_i64(t, &v) < 0)
            return NULL;
        return json_integer((json_int_t)v);
    }
    if (*p != '.')
        return NULL;
    const char *frac = ++p;
    while (p < e && nm_is_digit(*p))
        p++;
    if (p == frac || p != e)
        return NULL;
    char buf[MAX_NUMBER + 1];
    memcpy(buf, t.p, n);
    buf[n] = '\0';
    /* The format is checked above; nearmiss never calls setlocale(), so
     * strtod reads the '.' as the C locale does. */
    return json_real(strtod(buf, NULL));
}

static json_t *value_json(struct nm_span t, const struct values *vo)
{
    if (vo->numbers) {
        json_t *j = exact_number(t);
        if (!j && vo->percent && t.n > 1 && t.p[t.n - 1] == '%')
            j = exact_number((struct nm_span){t.p, t.n - 1});
        if (j)
            return j;
    }
    return jspan(t);
}

/* Sets evidence (the raw text, capped) and the truncated flag. */
static void item_finish(json_t *item, struct nm_span raw, bool truncated)
{
    json_object_set_new(item, "evidence", nm_span_evidence(raw));
    if (truncated)
        json_object_set_new(item, "truncated", json_true());
}

/* "subject" as the text of another field, when the option names one. */
static void item_subject(json_t *item, const char *field)
{
    const json_t *v = field ? json_object_get(item, field) : NULL;
    if (json_is_string(v))
        json_object_set(item, "subject", (json_t *)v);
    else if (json_is_integer(v))
        json_object_set_new(item, "subject",
                            json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)));
    else if (json_is_real(v))
        json_object_set_new(item, "subject", json_sprintf("%g", json_real_value(v)));
}

static bool items_full(const json_t *items)
{
    return json_array_size(items) >= NM_PARSER_MAX_ITEMS;
}

/* ------------------------------------------------------------------ */
/* Options: all errors say "option" (see the top of the file).         */

static const json_t *opt_get(const json_t *o, const char *key)
{
    return o ? json_object_get(o, key) : NULL;
}

/* Text for a diagnostic, kept to printable ASCII and cut at n - 1 bytes:
 * messages end up in reports, which must stay valid UTF-8. */
static void printable(char *out, size_t n, const char *s)
{
    size_t i;
    for (i = 0; i + 1 < n && s[i]; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[i] = '\0';
}

static int opt_known(const json_t *o, const char *const *known, nm_diag *d)
{
    const char *key;
    json_t *v;
    if (!o)
        return 0;
    if (!json_is_object(o))
        return nm_diag_set(d, NM_ERR_INVAL, "parser options must be an object");
    json_object_foreach ((json_t *)o, key, v) {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = strcmp(key, known[i]) == 0;
        if (!ok) {
            struct nm_buf list;
            char name[65];
            nm_buf_init(&list, 512);
            for (size_t i = 0; known[i]; i++)
                nm_buf_appendf(&list, "%s%s", i ? ", " : "", known[i]);
            printable(name, sizeof name, key);
            int r = nm_diag_set(d, NM_ERR_INVAL, "unknown option \"%s\" (known: %s)", name,
                                list.data ? list.data : "");
            nm_buf_finish(&list);
            return r;
        }
    }
    return 0;
}

static int opt_bool(const json_t *o, const char *key, bool def, bool *ret, nm_diag *d)
{
    const json_t *v = opt_get(o, key);
    if (!v) {
        *ret = def;
        return 0;
    }
    if (!json_is_boolean(v))
        return nm_diag_set(d, NM_ERR_INVAL, "option %s: must be true or false", key);
    *ret = json_is_true(v);
    return 0;
}

/* A string option; *ret is borrowed from the options (def when absent). */
static int opt_string(const json_t *o, const char *key, const char *def, const char **ret,
                      nm_diag *d)
{
    const json_t *v = opt_get(o, key);
    if (!v) {
        *ret = def;
        return 0;
    }
    if (!json_is_string(v))
        return nm_diag_set(d, NM_ERR_INVAL, "option %s: must be a string", key);
    *ret = json_string_value(v);
    return 0;
}

static int opt_uint(const json_t *o, const char *key, size_t def, size_t min, size_t max,
                    size_t *ret, nm_diag *d)
{
    const json_t *v = opt_get(o, key);
    if (!v) {
        *ret = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
        json_integer_value(v) > (json_int_t)max)
        return nm_diag_set(d, NM_ERR_INVAL, "option %s: must be an integer from %zu to %zu", key,
                           min, max);
    *ret = (size_t)json_integer_value(v);
    return 0;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= MAX_NAME && !name_reserved(s);
}

/* An option naming an item field (NULL when absent and def is NULL). */
static int opt_name(const json_t *o, const char *key, const char *def, const char **ret, nm_diag *d)
{
    int r = opt_string(o, key, def, ret, d);
    if (r < 0)
        return r;
    if (*ret && !name_ok(*ret))
        return nm_diag_set(d, NM_ERR_INVAL,
                           "option %s: must be a field name of 1 to %d bytes, not evidence "
                           "or truncated",
                           key, MAX_NAME);
    return 0;
}

static int opt_values(const json_t *o, struct values *vo, nm_diag *d)
{
    int r = opt_bool(o, "numbers", true, &vo->numbers, d);
    if (r == 0)
        r = opt_bool(o, "percent", true, &vo->percent, d);
    return r;
}

/* Compiled "skip" regexes: a line matching any of them is ignored. */
struct relist {
    regex_t re[MAX_LIST];
    size_t n;
};

static void relist_finish(struct relist *rl)
{
    for (size_t i = 0; i < rl->n; i++)
        regfree(&rl->re[i]);
    rl->n = 0;
}

static int compile_ere(regex_t *re, const char *pattern, int flags, const char *what, nm_diag *d)
{
    int rc = regcomp(re, pattern, REG_EXTENDED | flags);
    if (rc != 0) {
        char err[160];
        regerror(rc, re, err, sizeof err);
        return nm_diag_set(d, NM_ERR_INVAL, "option %s: bad regular expression: %s", what, err);
    }
    return 0;
}

/* A string or an array of strings; *ret points into the options. */
static int opt_strings(const json_t *o, const char *key, const char **ret, size_t *ret_n,
                       nm_diag *d)
{
    const json_t *v = opt_get(o, key);
    *ret_n = 0;
    if (!v)
        return 0;
    if (json_is_string(v)) {
        ret[0] = json_string_value(v);
        *ret_n = 1;
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) > MAX_LIST)
        return nm_diag_set(d, NM_ERR_INVAL,
                           "option %s: must be a string or an array of at most %d strings", key,
                           MAX_LIST);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e))
            return nm_diag_set(d, NM_ERR_INVAL, "option %s[%zu]: must be a string", key, i);
        ret[i] = json_string_value(e);
    }
    *ret_n = json_array_size(v);
    return 0;
}

static int relist_compile(const json_t *o, const char *key, struct relist *rl, nm_diag *d)
{
    const char *pat[MAX_LIST];
    size_t n;
    int r = opt_strings(o, key, pat, &n, d);
    rl->n = 0;
    for (size_t i = 0; r == 0 && i < n; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s[%zu]", key, i);
        r = compile_ere(&rl->re[i], pat[i], REG_NOSUB, what, d);
        if (r == 0)
            rl->n++;
    }
    if (r < 0)
        relist_finish(rl);
    return r;
}

static bool relist_any(const struct relist *rl, const char *s)
{
    for (size_t i = 0; i < rl->n; i++)
        if (regexec(&rl->re[i], s, 0, NULL, 0) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* regex                                                               */

struct rx {
    regex_t re;
    bool compiled;
    char *names[MAX_GROUPS + 1]; /* by group number; NULL: not reported */
    size_t n_groups;             /* re_nsub */
    size_t subject_group;        /* 0: none */
    bool first_only;
    struct relist skip;
    struct values vo;
};

static void rx_finish(struct rx *x)
{
    if (x->compiled)
        regfree(&x->re);
    for (size_t i = 0; i <= MAX_GROUPS; i++)
        free(x->names[i]);
    relist_finish(&x->skip);
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || nm_is_digit(c) || c == '_';
}

/* Past the end of the bracket expression that starts at p ("[...]"): a ']'
 * right after "[" or "[^" is a member, and so is anything in "[:alpha:]",
 * "[.x.]" and "[=e=]".  Stops at the NUL when the expression is open. */
static const char *bracket_end(const char *p)
{
    p++;
    if (*p == '^')
        p++;
    if (*p == ']')
        p++;
    while (*p && *p != ']') {
        if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
            char kind = p[1];
            const char *q = p + 2;
            while (*q && !(q[0] == kind && q[1] == ']'))
                q++;
            if (!*q)
                return q;
            p = q + 2;
            continue;
        }
        p++;
    }
    return *p ? p + 1 : p;
}

static int rx_set_name(struct rx *x, size_t group, const char *name, size_t n, nm_diag *d)
{
    if (group > MAX_GROUPS)
        return nm_diag_set(d, NM_ERR_INVAL, "option pattern: more than %d groups", MAX_GROUPS);
    char *s = nm_xstrndup(name, n);
    if (!name_ok(s)) {
        free(s);
        return nm_diag_set(d, NM_ERR_INVAL,
                           "option pattern: group %zu: names are 1 to %d bytes, not evidence "
                           "or truncated",
                           group, MAX_NAME);
    }
    for (size_t g = 1; g <= MAX_GROUPS; g++)
        if (x->names[g] && strcmp(x->names[g], s) == 0) {
            int r = nm_diag_set(d, NM_ERR_INVAL, "option pattern: two groups named \"%s\"", s);
            free(s);
            return r;
        }
    x->names[group] = s;
    return 0;
}

/*
 * POSIX ERE has no named groups: "(?<name>" (and Python's "(?P<name>") become
 * "(" and the name is recorded against the group's number.  Groups are
 * numbered by their opening parenthesis, as regcomp() does; "\(" and
 * parentheses inside bracket expressions ("[()]") are not groups.
 */
static int rx_rewrite(struct rx *x, const char *pat, struct nm_buf *out, nm_diag *d)
{
    size_t group = 0;
    const char *p = pat;
    while (*p) {
        if (*p == '\\') {
            size_t n = p[1] ? 2 : 1;
            nm_buf_append(out, p, n);
            p += n;
            continue;
        }
        if (*p == '[') {
            const char *q = bracket_end(p);
            nm_buf_append(out, p, (size_t)(q - p));
            p = q;
            continue;
        }
        if (*p == '(') {
            group++;
            if (p[1] == '?') {
                const char *n = p + 2;
                if (*n == 'P')
                    n++;
                if (*n != '<')
                    return nm_diag_set(d, NM_ERR_INVAL,
                                       "option pattern: \"(?\" at offset %zu: only "
                                       "(?<name>...) is understood, the rest is not POSIX ERE",
                                       (size_t)(p - pat));
                const char *name = ++n;
                while (name_char(*n))
                    n++;
                if (*n != '>' || n == name || nm_is_digit(*name))
                    return nm_diag_set(d, NM_ERR_INVAL,
                                       "option pattern: bad group name at offset %zu (letters, "
                                       "digits and _, not starting with a digit)",
                                       (size_t)(p - pat));
                int r = rx_set_name(x, group, name, (size_t)(n - name), d);
                if (r < 0)
                    return r;
                nm_buf_append(out, "(", 1);
                p = n + 1;
                continue;
            }
        }
        nm_buf_append(out, p, 1);
        p++;
    }
    return 0;
}

static int rx_options(const json_t *o, struct rx *x, nm_diag *d)
{
    static const char *const known[] = {"pattern", "names",   "skip",    "first_match_only",
                                        "subject", "numbers", "percent", NULL};
    const char *pattern = NULL, *subject = NULL;
    int r;
    if ((r = opt_known(o, known, d)) < 0 || (r = opt_string(o, "pattern", NULL, &pattern, d)) < 0)
        return r;
    if (!pattern || !*pattern)
        return nm_diag_set(d, NM_ERR_INVAL,
                           "option pattern: required (a POSIX extended regular expression)");
    if ((r = opt_bool(o, "first_match_only", false, &x->first_only, d)) < 0 ||
        (r = opt_values(o, &x->vo, d)) < 0 || (r = opt_name(o, "subject", NULL, &subject, d)) < 0)
        return r;

    struct nm_buf pat;
    nm_buf_init(&pat, strlen(pattern) + 1);
    r = rx_rewrite(x, pattern, &pat, d);
    if (r == 0)
        r = compile_ere(&x->re, pat.data ? pat.data : "", 0, "pattern", d);
    nm_buf_finish(&pat);
    if (r < 0)
        return r;
    x->compiled = true;
    x->n_groups = x->re.re_nsub;
    if (x->n_groups > MAX_GROUPS)
        return nm_diag_set(d, NM_ERR_INVAL, "option pattern: more than %d groups", MAX_GROUPS);

    const json_t *names = opt_get(o, "names");
    if (names) {
        if (!json_is_array(names) || json_array_size(names) > x->n_groups)
            return nm_diag_set(d, NM_ERR_INVAL,
                               "option names: must be an array of at most %zu names (the "
                               "pattern's groups)",
                               x->n_groups);
        for (size_t g = 1; g <= MAX_GROUPS; g++)
            if (x->names[g])
                return nm_diag_set(d, NM_ERR_INVAL,
                                   "option names: cannot be used with (?<name>...) groups");
        for (size_t i = 0; i < json_array_size(names); i++) {
            const json_t *e = json_array_get(names, i);
            if (json_is_null(e))
                continue; /* a group used only for grouping */
            if (!json_is_string(e))
                return nm_diag_set(d, NM_ERR_INVAL, "option names[%zu]: must be a string or null",
                                   i);
            const char *s = json_string_value(e);
            if ((r = rx_set_name(x, i + 1, s, strlen(s), d)) < 0)
                return nm_diag_set(d, NM_ERR_INVAL,
                                   "option names[%zu]: must be a distinct field name of 1 to %d "
                                   "bytes, not evidence or truncated",
                                   i, MAX_NAME);
        }
    }
    if (subject) {
        for (size_t g = 1; g <= x->n_groups && !x->subject_group; g++)
            if (x->names[g] && strcmp(x->names[g], subject) == 0)
                x->subject_group = g;
        if (!x->subject_group)
            return nm_diag_set(d, NM_ERR_INVAL, "option subject: no group named \"%s\"", subject);
    }
    return relist_compile(o, "skip", &x->skip, d);
}

int nm_parse_regex(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d)
{
    struct rx x;
    memset(&x, 0, sizeof x);
    int r = rx_options(options, &x, d);
    if (r < 0) {
        rx_finish(&x);
        return r;
    }
    json_t *items = json_array();
    char *buf = nm_xmalloc(MAX_LINE + 1);
    regmatch_t m[MAX_GROUPS + 1];
    struct reader rd;
    struct line l;
    reader_init(&rd, data, len, MAX_LINE);
    while (!items_full(items) && reader_next(&rd, &l)) {
        const char *s = line_cstr(buf, l.t);
        if (relist_any(&x.skip, s) || regexec(&x.re, s, x.n_groups + 1, m, 0) != 0)
            continue;
        json_t *item = json_object();
        for (size_t g = 1; g <= x.n_groups; g++) {
            bool set = m[g].rm_so >= 0; /* -1: an optional group that did not take part */
            struct nm_span c =
                set ? (struct nm_span){s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so)}
                    : (struct nm_span){s, 0};
            if (x.names[g])
                json_object_set_new(item, x.names[g], set ? value_json(c, &x.vo) : json_null());
            if (g == x.subject_group)
                json_object_set_new(item, "subject", set ? jspan(c) : json_null());
        }
        item_finish(item, l.t, l.truncated);
        json_array_append_new(items, item);
        if (x.first_only)
            break;
    }
    free(buf);
    rx_finish(&x);
    *ret_items = items;
    return 0;
}

/* ------------------------------------------------------------------ */
/* kv                                                                  */

enum kv_multi { KV_FIRST, KV_LAST, KV_ARRAY };

struct kvo {
    const char *sep; /* NULL: the first run of blanks */
    size_t sep_len;
    bool trim, strip_quotes, lowercase, records;
    enum kv_multi multi;
    const char *comments[MAX_LIST];
    size_t n_comments;
    const char *subject;
    struct values vo;
};

static int kv_options(const json_t *o, struct kvo *k, nm_diag *d)
{
    static const char *const known[] = {"separator", "trim",           "comments", "strip_quotes",
                                        "multi",     "lowercase_keys", "records",  "subject",
                                        "numbers",   "percent",        NULL};
    const char *sep = "=", *multi = "last", *records = "single";
    int r;
    if ((r = opt_known(o, known, d)) < 0 || (r = opt_string(o, "separator", "=", &sep, d)) < 0 ||
        (r = opt_bool(o, "trim", true, &k->trim, d)) < 0 ||
        (r = opt_bool(o, "strip_quotes", true, &k->strip_quotes, d)) < 0 ||
        (r = opt_bool(o, "lowercase_keys", false, &k->lowercase, d)) < 0 ||
        (r = opt_string(o, "multi", "last", &multi, d)) < 0 ||
        (r = opt_string(o, "records", "single", &records, d)) < 0 ||
        (r = opt_name(o, "subject", NULL, &k->subject, d)) < 0 ||
        (r = opt_values(o, &k->vo, d)) < 0)
        return r;
    if (strcmp(sep, "whitespace") == 0) {
        k->sep = NULL;
    } else if (*sep && strlen(sep) <= 16 && !strpbrk(sep, "\n\r")) {
        k->sep = sep;
        k->sep_len = strlen(sep);
    } else {
        return nm_diag_set(d, NM_ERR_INVAL,
                           "option separator: must be \"whitespace\" or 1 to 16 characters "
                           "on one line");
    }
    if (strcmp(multi, "first") == 0)
        k->multi = KV_FIRST;
    else if (strcmp(multi, "last") == 0)
        k->multi = KV_LAST;
    else if (strcmp(multi, "array") == 0)
        k->multi = KV_ARRAY;
    else
        return nm_diag_set(d, NM_ERR_INVAL,
                           "option multi: must be \"first\", \"last\" or "
                           "\"array\"");
    if (strcmp(records, "single") == 0)
        k->records = false;
    else if (strcmp(records, "blank_line") == 0)
        k->records = true;
    else
        return nm_diag_set(d, NM_ERR_INVAL, "option records: must be \"single\" or \"blank_line\"");
    if (!opt_get(o, "comments")) {
        k->comments[0] = "#";
        k->n_comments = 1;
        return 0;
    }
    if ((r = opt_strings(o, "comments", k->comments, &k->n_comments, d)) < 0)
        return r;
    for (size_t i = 0; i < k->n_comments; i++)
        if (!*k->comments[i])
            return nm_diag_set(d, NM_ERR_INVAL, "option comments[%zu]: must not be empty", i);
    return 0;
}

static bool kv_comment(const struct kvo *k, struct nm_span t)
{
    t = nm_span_trim(t);
    for (size_t i = 0; i < k->n_comments; i++)
        if (nm_span_has_prefix(t, k->comments[i]))
            return true;
    return false;
}

/* Splits a line at the separator; false when it has none. */
static bool kv_split(const struct kvo *k, struct nm_span t, struct nm_span *key,
                     struct nm_span *val)
{
    if (!k->sep) {
        /* the value keeps its trailing blanks unless trim is on */
        struct nm_span rest = t;
        if (!nm_span_next_tok(&rest, key) || rest.n == 0)
            return false;
        *val = nm_span_ltrim(rest);
    } else {
        const char *at = nm_span_find(t, k->sep);
        if (!at)
            return false;
        *key = nm_span_range(t.p, at);
        *val = nm_span_range(at + k->sep_len, nm_span_end(t));
    }
    if (k->trim) {
        *key = nm_span_trim(*key);
        *val = nm_span_trim(*val);
    }
    return true;
}

/* A value wrapped in matching quotes loses them and stays a string (quotes
 * say "text": VERSION_ID="22.04" is not a number).  Inside double quotes the
 * backslash escapes of shell-style files (os-release(5)) are undone. */
static json_t *kv_value(const struct kvo *k, struct nm_span v)
{
    size_t n = v.n;
    if (!k->strip_quotes || n < 2 || (v.p[0] != '"' && v.p[0] != '\'') || v.p[n - 1] != v.p[0])
        return value_json(v, &k->vo);
    struct nm_span in = {v.p + 1, n - 2};
    if (v.p[0] == '\'')
        return jspan(in);
    struct nm_buf b;
    nm_buf_init(&b, MAX_LINE);
    const char *ie = nm_span_end(in);
    for (const char *p = in.p; p < ie; p++) {
        if (*p == '\\' && p + 1 < ie && strchr("\\\"$`", p[1]))
            p++;
        nm_buf_append(&b, p, 1);
    }
    json_t *j = nm_json_string_sanitized(b.data ? b.data : "", b.len, MAX_LINE);
    nm_buf_finish(&b);
    return j;
}

static void kv_put(const struct kvo *k, json_t *item, const char *key, json_t *val)
{
    json_t *old = json_object_get(item, key);
    if (!old || k->multi == KV_LAST) {
        json_object_set_new(item, key, val);
    } else if (k->multi == KV_FIRST) {
        json_decref(val);
    } else if (json_is_array(old)) {
        /* kv values are never arrays themselves, so an array is our list. */
        if (json_array_size(old) < NM_PARSER_MAX_ITEMS)
            json_array_append_new(old, val);
        else
            json_decref(val);
    } else {
        json_t *list = json_array();
        json_array_append(list, old);
        json_array_append_new(list, val);
        json_object_set_new(item, key, list);
    }
}

struct kv_block {
    json_t *item;
    struct nm_buf evidence;
    bool truncated;
};

static void kv_block_flush(const struct kvo *k, struct kv_block *b, json_t *items)
{
    if (b->item && json_object_size(b->item) > 0 && !items_full(items)) {
        item_subject(b->item, k->subject);
        item_finish(b->item, (struct nm_span){b->evidence.data, b->evidence.len}, b->truncated);
        json_array_append(items, b->item);
    }
    json_decref(b->item);
    b->item = NULL;
    nm_buf_reset(&b->evidence);
    b->truncated = false;
}

int nm_parse_kv(const char *data, size_t len, const json_t *options, json_t **ret_items, nm_diag *d)
{
    struct kvo k;
    memset(&k, 0, sizeof k);
    int r = kv_options(options, &k, d);
    if (r < 0)
        return r;
    json_t *items = json_array();
    struct kv_block b = {NULL, {0}, false};
    nm_buf_init(&b.evidence, NM_PARSER_MAX_EVIDENCE);
    struct reader rd;
    struct line l;
    reader_init(&rd, data, len, MAX_LINE);
    while (reader_next(&rd, &l)) {
        struct nm_span key, val;
        if (nm_span_is_blank(l.t)) {
            if (k.records)
                kv_block_flush(&k, &b, items);
            continue;
        }
        if (kv_comment(&k, l.t) || !kv_split(&k, l.t, &key, &val) || key.n == 0 || key.n > MAX_NAME)
            continue;
        char name[MAX_NAME + 1];
        memcpy(name, key.p, key.n);
        name[key.n] = '\0';
        for (size_t i = 0; k.lowercase && i < key.n; i++)
            name[i] = nm_ascii_lower(name[i]);
        json_t *jkey = nm_json_string_sanitized(name, key.n, MAX_NAME);
        if (!name_reserved(json_string_value(jkey))) {
            if (!b.item)
                b.item = json_object();
            kv_put(&k, b.item, json_string_value(jkey), kv_value(&k, val));
            nm_evidence_add(&b.evidence, l.t);
            b.truncated = b.truncated || l.truncated;
        }
        json_decref(jkey);
    }
    kv_block_flush(&k, &b, items);
    nm_buf_finish(&b.evidence);
    *ret_items = items;
    return 0;
}

/* ------------------------------------------------------------------ */
/* table                                                               */

struct tbo {
    bool header, last_rest, lowercase, trim;
    char sep; /* 0: runs of blanks */
    size_t skip_lines, min_columns;
    const char *subject;
    struct relist skip;
    struct values vo;
    char *columns[MAX_COLUMNS];
    size_t n_columns;
};

static void tbo_finish(struct tbo *t)
{
    for (size_t i = 0; i < t->n_columns; i++)
        free(t->columns[i]);
    t->n_columns = 0;
    relist_finish(&t->skip);
}

static bool column_taken(const struct tbo *t, const char *name)
{
    if (name_reserved(name))
        return true;
    for (size_t i = 0; i < t->n_columns; i++)
        if (strcmp(t->columns[i], name) == 0)
            return true;
    return false;
}

static int tb_options(const json_t *o, struct tbo *t, nm_diag *d)
{
    static const char *const known[] = {
        "header",           "columns",           "separator",   "skip_lines", "skip",
        "last_column_rest", "lowercase_headers", "min_columns", "trim",       "subject",
        "numbers",          "percent",           NULL};
    const char *sep = "whitespace";
    int r;
    if ((r = opt_known(o, known, d)) < 0 || (r = opt_bool(o, "header", true, &t->header, d)) < 0 ||
        (r = opt_bool(o, "last_column_rest", true, &t->last_rest, d)) < 0 ||
        (r = opt_bool(o, "lowercase_headers", true, &t->lowercase, d)) < 0 ||
        (r = opt_bool(o, "trim", true, &t->trim, d)) < 0 ||
        (r = opt_string(o, "separator", "whitespace", &sep, d)) < 0 ||
        (r = opt_uint(o, "skip_lines", 0, 0, 1000000, &t->skip_lines, d)) < 0 ||
        (r = opt_uint(o, "min_columns", 0, 1, MAX_COLUMNS, &t->min_columns, d)) < 0 ||
        (r = opt_name(o, "subject", NULL, &t->subject, d)) < 0 ||
        (r = opt_values(o, &t->vo, d)) < 0)
        return r;
    if (strcmp(sep, "whitespace") == 0)
        t->sep = 0;
    else if (strlen(sep) == 1 && *sep != '\n' && *sep != '\r')
        t->sep = *sep;
    else
        return nm_diag_set(d, NM_ERR_INVAL,
                           "option separator: must be \"whitespace\" or one character");
    const json_t *cols = opt_get(o, "columns");
    if (cols) {
        if (!json_is_array(cols) || json_array_size(cols) == 0 ||
            json_array_size(cols) > MAX_COLUMNS)
            return nm_diag_set(d, NM_ERR_INVAL, "option columns: must be an array of 1 to %d names",
                               MAX_COLUMNS);
        for (size_t i = 0; i < json_array_size(cols); i++) {
            const json_t *e = json_array_get(cols, i);
            if (!json_is_string(e) || !name_ok(json_string_value(e)) ||
                column_taken(t, json_string_value(e)))
                return nm_diag_set(d, NM_ERR_INVAL,
                                   "option columns[%zu]: must be a distinct field name of 1 to "
                                   "%d bytes, not evidence or truncated",
                                   i, MAX_NAME);
            t->columns[t->n_columns++] = nm_xstrdup(json_string_value(e));
        }
        if (t->min_columns > t->n_columns)
            return nm_diag_set(d, NM_ERR_INVAL,
                               "option min_columns: %zu is more than the %zu columns",
                               t->min_columns, t->n_columns);
    } else if (!t->header) {
        return nm_diag_set(d, NM_ERR_INVAL, "option columns: required when header is false");
    }
    return relist_compile(o, "skip", &t->skip, d);
}

/* Splits a row into at most max cells; with rest, the last cell runs to the
 * end of the line.  Returns the number of cells. */
static size_t tb_split(const struct tbo *t, struct nm_span line, struct nm_span *cells, size_t max,
                       bool rest)
{
    size_t n = 0;
    if (!t->sep) {
        struct nm_span r = nm_span_trim(line);
        while (n < max && r.n > 0) {
            if (rest && n == max - 1) {
                cells[n++] = r;
                break;
            }
            nm_span_next_tok(&r, &cells[n++]);
            r = nm_span_ltrim(r);
        }
        return n;
    }
    struct nm_span r = line, cell;
    while (n < max) {
        bool more = false;
        if (rest && n == max - 1)
            cell = r;
        else
            more = nm_span_cut(&r, t->sep, &cell);
        cells[n++] = t->trim ? nm_span_trim(cell) : cell;
        if (!more)
            break;
    }
    return n;
}

/* Column names from the header line: lower case with ' ' and '-' as '_'
 * (unless lowercase_headers is false); an empty or taken name becomes
 * "NAME_2", "column_3"... so every cell keeps a field of its own. */
static void tb_header(struct tbo *t, struct nm_span line)
{
    struct nm_span cells[MAX_COLUMNS];
    size_t n = tb_split(t, line, cells, MAX_COLUMNS, false);
    for (size_t i = 0; i < n; i++) {
        char raw[MAX_NAME + 1];
        size_t len = cells[i].n < MAX_NAME ? cells[i].n : MAX_NAME;
        memcpy(raw, cells[i].p, len);
        for (size_t j = 0; t->lowercase && j < len; j++)
            raw[j] = raw[j] == ' ' || raw[j] == '-' ? '_' : nm_ascii_lower(raw[j]);
        json_t *js = nm_json_string_sanitized(raw, len, MAX_NAME);
        const char *base = json_string_value(js);
        char *name = *base ? nm_xstrdup(base) : nm_xasprintf("column_%zu", i + 1);
        for (unsigned k = 2; column_taken(t, name); k++) {
            free(name);
            name = *base ? nm_xasprintf("%s_%u", base, k) : nm_xasprintf("column_%zu_%u", i + 1, k);
        }
        t->columns[t->n_columns++] = name;
        json_decref(js);
    }
}

int nm_parse_table(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d)
{
    struct tbo t;
    memset(&t, 0, sizeof t);
    int r = tb_options(options, &t, d);
    if (r < 0) {
        tbo_finish(&t);
        return r;
    }
    json_t *items = json_array();
    char *buf = nm_xmalloc(MAX_LINE + 1);
    struct nm_span cells[MAX_COLUMNS];
    bool need_header = t.header;
    struct reader rd;
    struct line l;
    reader_init(&rd, data, len, MAX_LINE);
    while (!items_full(items) && reader_next(&rd, &l)) {
        if (l.no <= t.skip_lines || nm_span_is_blank(l.t) ||
            (t.skip.n && relist_any(&t.skip, line_cstr(buf, l.t))))
            continue;
        if (need_header) {
            /* With columns given, the header line is only dropped. */
            if (t.n_columns == 0)
                tb_header(&t, l.t);
            need_header = false;
            continue;
        }
        if (t.n_columns == 0)
            break;
        size_t n = tb_split(&t, l.t, cells, t.n_columns, t.last_rest);
        size_t need = t.min_columns && t.min_columns < t.n_columns ? t.min_columns : t.n_columns;
        if (n < need)
            continue;
        json_t *item = json_object();
        for (size_t i = 0; i < t.n_columns; i++)
            json_object_set_new(item, t.columns[i],
                                i < n ? value_json(cells[i], &t.vo) : json_null());
        item_subject(item, t.subject);
        item_finish(item, l.t, l.truncated);
        json_array_append_new(items, item);
    }
    free(buf);
    tbo_finish(&t);
    *ret_items = items;
    return 0;
}

/* ------------------------------------------------------------------ */
/* lines                                                               */

int nm_parse_lines(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d)
{
    static const char *const known[] = {"skip", "trim", "field", NULL};
    struct relist skip = {.n = 0};
    const char *field = "line";
    bool trim = true;
    int r;
    if ((r = opt_known(options, known, d)) < 0 ||
        (r = opt_bool(options, "trim", true, &trim, d)) < 0 ||
        (r = opt_name(options, "field", "line", &field, d)) < 0 ||
        (r = relist_compile(options, "skip", &skip, d)) < 0)
        return r;
    json_t *items = json_array();
    char *buf = nm_xmalloc(MAX_LINE + 1);
    struct reader rd;
    struct line l;
    reader_init(&rd, data, len, MAX_LINE);
    while (!items_full(items) && reader_next(&rd, &l)) {
        if (nm_span_is_blank(l.t) || (skip.n && relist_any(&skip, line_cstr(buf, l.t))))
            continue;
        json_t *item = json_object();
        json_t *v = jspan(trim ? nm_span_trim(l.t) : l.t);
        json_object_set(item, "subject", v);
        json_object_set_new(item, field, v);
        item_finish(item, l.t, l.truncated);
        json_array_append_new(items, item);
    }
    free(buf);
    relist_finish(&skip);
    *ret_items = items;
    return 0;
}

/* ------------------------------------------------------------------ */
/* json                                                                */

struct jso {
    char *ptr[MAX_POINTER]; /* decoded reference tokens (each takes a '/') */
    size_t n_ptr;
    bool each, each_member, flatten, lines;
    size_t max_bytes;
    const char *subject;
};

static void jso_finish(struct jso *j)
{
    for (size_t i = 0; i < j->n_ptr; i++)
        free(j->ptr[i]);
    j->n_ptr = 0;
}

/* RFC 6901: "" is the whole document, otherwise "/"-separated reference
 * tokens in which "~1" stands for "/" and "~0" for "~". */
static int jso_pointer(struct jso *j, const char *ptr, nm_diag *d)
{
    size_t n = strlen(ptr);
    if (n == 0)
        return 0;
    if (ptr[0] != '/' || n > MAX_POINTER)
        return nm_diag_set(d, NM_ERR_INVAL,
                           "option pointer: must be \"\" or start with \"/\" (RFC 6901), at "
                           "most %d bytes",
                           MAX_POINTER);
    const char *p = ptr + 1, *end = ptr + n;
    for (;;) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        if (!q)
            q = end;
        char *tok = nm_xmalloc((size_t)(q - p) + 1);
        size_t k = 0;
        for (const char *c = p; c < q; c++) {
            if (*c == '~') {
                if (c + 1 >= q || (c[1] != '0' && c[1] != '1')) {
                    free(tok);
                    return nm_diag_set(d, NM_ERR_INVAL,
                                       "option pointer: \"~\" at offset %zu must be followed by "
                                       "0 or 1 (RFC 6901)",
                                       (size_t)(c - ptr));
                }
                tok[k++] = c[1] == '0' ? '~' : '/';
                c++;
            } else {
                tok[k++] = *c;
            }
        }
        tok[k] = '\0';
        j->ptr[j->n_ptr++] = tok;
        if (q == end)
            return 0;
        p = q + 1;
    }
}

static int jso_options(const json_t *o, struct jso *j, nm_diag *d)
{
    static const char *const known[] = {"pointer", "each",      "each_member", "flatten",
                                        "lines",   "max_bytes", "subject",     NULL};
    const char *ptr = "";
    int r;
    if ((r = opt_known(o, known, d)) < 0 || (r = opt_string(o, "pointer", "", &ptr, d)) < 0 ||
        (r = opt_bool(o, "each", true, &j->each, d)) < 0 ||
        (r = opt_bool(o, "each_member", false, &j->each_member, d)) < 0 ||
        (r = opt_bool(o, "flatten", true, &j->flatten, d)) < 0 ||
        (r = opt_bool(o, "lines", false, &j->lines, d)) < 0 ||
        (r = opt_uint(o, "max_bytes", JSON_MAX_BYTES, 1, JSON_MAX_BYTES, &j->max_bytes, d)) < 0 ||
        (r = opt_name(o, "subject", NULL, &j->subject, d)) < 0)
        return r;
    return jso_pointer(j, ptr, d);
}

/* An array index token: "0" or digits without a leading zero. */
static bool array_index(const char *tok, size_t *ret)
{
    uint64_t v;
    if (!nm_is_digit(tok[0]) || (tok[0] == '0' && tok[1]) || nm_str_to_u64(tok, &v) < 0 ||
        v > SIZE_MAX)
        return false;
    *ret = (size_t)v;
    return true;
}

/* The value the pointer names, or NULL when the document has none there. */
static const json_t *jso_resolve(const struct jso *j, const json_t *v)
{
    for (size_t i = 0; v && i < j->n_ptr; i++) {
        size_t idx;
        if (json_is_object(v))
            v = json_object_get(v, j->ptr[i]);
        else if (json_is_array(v) && array_index(j->ptr[i], &idx))
            v = json_array_get(v, idx);
        else
            v = NULL;
    }
    return v;
}

/* Host text in JSON is as hostile as any: strings (and member names) are
 * sanitized like lines, which jansson's own checks (valid UTF-8, no \u0000)
 * do not make unnecessary: "\u001b" is valid JSON and a terminal escape. */
static json_t *clean_copy(const json_t *v, bool *truncated)
{
    const char *key;
    json_t *m;
    size_t i;
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        *truncated = *truncated || n > MAX_LINE;
        return nm_json_string_sanitized(json_string_value(v), n, MAX_LINE);
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        json_object_foreach ((json_t *)v, key, m) {
            json_t *k = nm_json_string_sanitized(key, strlen(key), MAX_KEY_PATH);
            json_object_set_new(o, json_string_value(k), clean_copy(m, truncated));
            json_decref(k);
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        json_array_foreach (v, i, m)
            json_array_append_new(a, clean_copy(m, truncated));
        return a;
    }
    return json_incref((json_t *)v); /* numbers, true, false, null */
}

static void put_field(json_t *item, const char *name, size_t len, json_t *v)
{
    json_t *k = nm_json_string_sanitized(name, len, MAX_KEY_PATH);
    if (!name_reserved(json_string_value(k)))
        json_object_set_new(item, json_string_value(k), v);
    else
        json_decref(v);
    json_decref(k);
}

/* Nested objects become dotted names ("a.b.c"); arrays (of anything) and
 * empty objects are kept as they are. */
static void flatten(json_t *item, const json_t *obj, struct nm_buf *path, bool *truncated)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        size_t mark = path->len;
        if (mark)
            nm_buf_append(path, ".", 1);
        nm_buf_append(path, key, strlen(key));
        if (json_is_object(v) && json_object_size(v) > 0)
            flatten(item, v, path, truncated);
        else
            put_field(item, path->data, path->len, clean_copy(v, truncated));
        nm_buf_append(path, "", 0); /* data is allocated from here on */
        path->len = mark;
        path->data[mark] = '\0';
    }
}

static int dump_capped(const char *buf, size_t size, void *data)
{
    struct nm_buf *b = data;
    nm_buf_append(b, buf, size);
    return b->len >= NM_PARSER_MAX_EVIDENCE ? -1 : 0; /* -1 stops the dump: enough */
}

static void json_add_item(const struct jso *j, json_t *items, const json_t *v, const char *key)
{
    if (items_full(items))
        return;
    json_t *item = json_object();
    bool truncated = false;
    if (json_is_object(v) && j->flatten) {
        struct nm_buf path;
        nm_buf_init(&path, MAX_KEY_PATH);
        flatten(item, v, &path, &truncated);
        nm_buf_finish(&path);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach ((json_t *)v, k, m)
            put_field(item, k, strlen(k), clean_copy(m, &truncated));
    } else {
        json_object_set_new(item, "value", clean_copy(v, &truncated));
    }
    if (key)
        json_object_set_new(item, "key", nm_json_string_sanitized(key, strlen(key), MAX_KEY_PATH));
    item_subject(item, j->subject);
    struct nm_buf ev;
    nm_buf_init(&ev, NM_PARSER_MAX_EVIDENCE);
    json_dump_callback(v, dump_capped, &ev, JSON_COMPACT | JSON_ENCODE_ANY);
    item_finish(item, (struct nm_span){ev.data, ev.len}, truncated);
    nm_buf_finish(&ev);
    json_array_append_new(items, item);
}

static void json_emit(const struct jso *j, json_t *items, const json_t *doc)
{
    const json_t *v = jso_resolve(j, doc), *e;
    const char *key;
    size_t i;
    if (!v)
        return; /* nothing there: no items */
    if (json_is_array(v) && j->each) {
        json_array_foreach (v, i, e)
            json_add_item(j, items, e, NULL);
    } else if (json_is_object(v) && j->each_member) {
        json_object_foreach ((json_t *)v, key, e)
            json_add_item(j, items, e, key);
    } else {
        json_add_item(j, items, v, NULL);
    }
}

/* jansson's message quotes the input near the error: keep it printable ASCII. */
static int json_error(nm_diag *d, size_t line, const json_error_t *err)
{
    char text[sizeof err->text];
    printable(text, sizeof text, err->text);
    return nm_diag_set(d, NM_ERR_PARSE, "json: line %zu: %s", line, text);
}

static int json_parse_one(const struct jso *j, json_t *items, const char *s, size_t n, size_t line,
                          nm_diag *d)
{
    json_error_t err;
    /* JSON_DECODE_ANY: a pointer may well name a scalar document.  Without
     * JSON_ALLOW_NUL, "\u0000" is refused; duplicate members: the last wins. */
    json_t *doc = json_loadb(s, n, JSON_DECODE_ANY, &err);
    if (!doc)
        return json_error(d, line + (err.line > 0 ? (size_t)err.line - 1 : 0), &err);
    json_emit(j, items, doc);
    json_decref(doc);
    return 0;
}

int nm_parse_json(const char *data, size_t len, const json_t *options, json_t **ret_items,
                  nm_diag *d)
{
    struct jso j;
    memset(&j, 0, sizeof j);
    int r = jso_options(options, &j, d);
    if (r < 0) {
        jso_finish(&j);
        return r;
    }
    if (!data) {
        data = "";
        len = 0;
    }
    json_t *items = json_array();
    if (j.lines) {
        struct reader rd;
        struct line l;
        reader_init(&rd, data, len, j.max_bytes);
        while (r == 0 && !items_full(items) && reader_next(&rd, &l)) {
            if (nm_span_is_blank(l.t))
                continue;
            if (l.truncated)
                r = nm_diag_set(d, NM_ERR_TOOBIG, "json: line %zu: longer than max_bytes (%zu)",
                                l.no, j.max_bytes);
            else
                r = json_parse_one(&j, items, l.t.p, l.t.n, l.no, d);
        }
    } else if (len > j.max_bytes) {
        r = nm_diag_set(d, NM_ERR_TOOBIG, "json: the document is %zu bytes, max_bytes is %zu", len,
                        j.max_bytes);
    } else if (nm_span_trim_crlf((struct nm_span){data, len}).n > 0) {
        r = json_parse_one(&j, items, data, len, 1, d);
    }
    jso_finish(&j);
    if (r < 0) {
        json_decref(items);
        return r;
    }
    *ret_items = items;
    return 0;
}
