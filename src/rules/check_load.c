/*
 * Loading checks: one JSON file per check (docs/checks.md) into struct
 * nm_check, validated as a whole.  Every problem is reported as
 * "FILE:LINE: key.path: what is wrong", and a file that fails leaves nothing
 * behind in the check set (not even a probe it introduced).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/check.h"
#include "nearmiss/digest.h"
#include "nearmiss/jsonpos.h"
#include "nearmiss/util.h"

#define CHECK_FILE_MAX        (1u << 20)
#define DEFAULT_PROBE_TIMEOUT 60
#define DEFAULT_PROBE_OUTPUT  (1u << 20)

/*
 * Every key a check file may hold, by where it may appear.  The loader
 * rejects any other key through these lists, and docs/checks.md lists the
 * same keys (a unit test compares the two), so this is the one source.
 */
static const char *const top_keys[] = {"id",
                                       "version",
                                       "title",
                                       "category",
                                       "description",
                                       "references",
                                       "applies",
                                       "probe",
                                       "ok_exit",
                                       "parser",
                                       "select",
                                       "rules",
                                       "subject",
                                       "message",
                                       "remediation",
                                       "ticket",
                                       "record",
                                       "fleet",
                                       "source",
                                       "ledger",
                                       "trend",
                                       "history",
                                       "group",
                                       "links",
                                       "missing_remediation",
                                       "error_remediation",
                                       "lifecycle",
                                       "comment",
                                       NULL};
static const char *const applies_keys[] = {"os",     "os_version",  "commands", "roles",
                                           "labels", "criticality", NULL};
static const char *const probe_keys[] = {"id",         "script",  "needs_root",    "timeout",
                                         "max_output", "comment", "root_commands", NULL};
static const char *const parser_keys[] = {"name", "options", NULL};
static const char *const ticket_keys[] = {"summary", NULL};
static const char *const record_keys[] = {"key", "fields", NULL};
static const char *const rule_keys[] = {"when",         "override", "field",    "op",
                                        "thresholds",   "value",    "severity", "severity_from",
                                        "severity_map", "message",  "comment",  NULL};
static const char *const cond_keys[] = {"field", "op", "value", NULL};
static const char *const group_keys[] = {"by", "member", "notes", "comment", NULL};
static const char *const group_by_keys[] = {"field", "subject", NULL};
static const char *const group_note_keys[] = {"when", "text", NULL};

const struct nm_keyset nm_check_keysets[] = {
    {"", top_keys},
    {"applies.", applies_keys},
    {"probe.", probe_keys},
    {"parser.", parser_keys},
    {"ticket.", ticket_keys},
    {"record.", record_keys},
    {"rules[].", rule_keys},
    {"rules[].when[].", cond_keys},
    {"select[].", cond_keys},
    {"group.", group_keys},
    {"group.by[].", group_by_keys},
    {"group.notes[].", group_note_keys},
    {"group.notes[].when[].", cond_keys},
    {NULL, NULL},
};

/* ---- small loader helpers ------------------------------------------------ */

struct loader {
    const char *file;
    const char *text; /* the file's bytes, to find the line of a key */
    size_t len;
    nm_diag *d;
};

/* The line of a key path as the messages print it ("rules[0].when[1].op",
 * "applies.os"); the loader's keys have no dots or brackets of their own. */
static size_t path_line(const struct loader *l, const char *path)
{
    struct nm_json_seg segs[16];
    char keys[320]; /* the keys of path, each NUL-terminated */
    size_t depth = 0, used = 0;
    if (!l->text || strcmp(path, "(top)") == 0)
        return 1;
    const char *p = path, *end = path + strlen(path);
    while (p < end && depth < sizeof segs / sizeof segs[0]) {
        if (*p == '.') {
            p++;
        } else if (*p == '[') {
            uint64_t i;
            p++;
            if (nm_parse_u64(&p, end, &i) < 0 || p >= end || *p != ']')
                break;
            p++;
            segs[depth++] = (struct nm_json_seg){.index = (size_t)i};
        } else {
            size_t n = strcspn(p, ".[");
            if (used + n + 1 > sizeof keys)
                break;
            memcpy(keys + used, p, n);
            keys[used + n] = '\0';
            segs[depth++] = (struct nm_json_seg){.key = keys + used};
            used += n + 1;
            p += n;
        }
    }
    return nm_json_line_of(l->text, l->len, segs, depth);
}

static int bad(struct loader *l, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct loader *l, const char *path, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return nm_diag_set(l->d, NM_ERR_CONFIG, "%s:%zu: %s: %s", l->file, path_line(l, path), path,
                       what);
}

/* Rejects keys not in allowed (NULL-terminated), naming the first stranger. */
static int only_keys(struct loader *l, const json_t *obj, const char *path,
                     const char *const *allowed)
{
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            ok = ok || strcmp(key, allowed[i]) == 0;
        if (!ok) {
            char p[256];
            snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", key);
            return bad(l, p, "unknown key%s", "");
        }
    }
    return 0;
}

static int get_string(struct loader *l, const json_t *obj, const char *key, bool required,
                      char **ret)
{
    const json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return bad(l, key, "missing (required)%s", "");
        *ret = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return bad(l, key, "must be a string%s", "");
    *ret = nm_xstrdup(json_string_value(v));
    return 0;
}

static int get_string_array(struct loader *l, const json_t *obj, const char *key, const char *path,
                            char ***ret, size_t *ret_n)
{
    const json_t *v = json_object_get(obj, key);
    char p[256];
    snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", key);
    *ret = NULL;
    *ret_n = 0;
    if (!v)
        return 0;
    if (json_is_string(v)) {
        *ret = nm_xcalloc(1, sizeof **ret);
        (*ret)[0] = nm_xstrdup(json_string_value(v));
        *ret_n = 1;
        return 0;
    }
    if (!json_is_array(v))
        return bad(l, p, "must be a string or an array of strings%s", "");
    size_t n = json_array_size(v);
    char **a = nm_xcalloc(n ? n : 1, sizeof *a);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e)) {
            for (size_t j = 0; j < i; j++)
                free(a[j]);
            free(a);
            return bad(l, p, "must contain only strings%s", "");
        }
        a[i] = nm_xstrdup(json_string_value(e));
    }
    *ret = a;
    *ret_n = n;
    return 0;
}

static void free_strings(char **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

static const struct {
    const char *name;
    enum nm_op op;
} op_names[] = {
    {"lt", NM_OP_LT},          {"le", NM_OP_LE},          {"gt", NM_OP_GT},
    {"ge", NM_OP_GE},          {"eq", NM_OP_EQ},          {"ne", NM_OP_NE},
    {"match", NM_OP_MATCH},    {"nmatch", NM_OP_NMATCH},  {"version_lt", NM_OP_VLT},
    {"version_le", NM_OP_VLE}, {"version_gt", NM_OP_VGT}, {"version_ge", NM_OP_VGE},
    {"in", NM_OP_IN},          {"exists", NM_OP_EXISTS},
};

static int parse_op(struct loader *l, const char *path, const json_t *v, enum nm_op *ret)
{
    if (!json_is_string(v))
        return bad(l, path, "must be an operator name%s", "");
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (strcmp(op_names[i].name, json_string_value(v)) == 0) {
            *ret = op_names[i].op;
            return 0;
        }
    return bad(l, path,
               "unknown operator \"%s\" (lt le gt ge eq ne match nmatch version_lt version_le "
               "version_gt version_ge in exists)",
               json_string_value(v));
}

static int compile_re(struct loader *l, const char *path, const json_t *v, regex_t *re)
{
    if (!json_is_string(v))
        return bad(l, path, "a match operator needs a string regex%s", "");
    int rc = regcomp(re, json_string_value(v), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char err[200];
        regerror(rc, re, err, sizeof err);
        return bad(l, path, "bad regular expression: %s", err);
    }
    return 0;
}

static void cond_finish(struct nm_cond *c)
{
    free(c->field);
    json_decref(c->value);
    if (c->has_re)
        regfree(&c->re);
}

/* On failure c holds nothing: conditions that failed half-way are not kept. */
static int parse_cond(struct loader *l, const char *path, const json_t *v, struct nm_cond *c)
{
    char p[300];
    int r;
    memset(c, 0, sizeof *c);
    if (!json_is_object(v))
        return bad(l, path, "must be an object {field, op, value}%s", "");
    if ((r = only_keys(l, v, path, cond_keys)) < 0)
        return r;
    const json_t *f = json_object_get(v, "field");
    if (!json_is_string(f))
        return bad(l, path, "needs \"field\" (string)%s", "");
    snprintf(p, sizeof p, "%s.op", path);
    if ((r = parse_op(l, p, json_object_get(v, "op"), &c->op)) < 0)
        return r;
    c->value = json_incref(json_object_get(v, "value"));
    if (!c->value && c->op != NM_OP_EXISTS) {
        r = bad(l, path, "needs \"value\"%s", "");
        goto out;
    }
    if (c->op == NM_OP_MATCH || c->op == NM_OP_NMATCH) {
        snprintf(p, sizeof p, "%s.value", path);
        if ((r = compile_re(l, p, c->value, &c->re)) < 0)
            goto out;
        c->has_re = true;
    }
    if (c->op == NM_OP_IN && !json_is_array(c->value)) {
        r = bad(l, path, "\"in\" needs an array value%s", "");
        goto out;
    }
    c->field = nm_xstrdup(json_string_value(f));
    r = 0;
out:
    if (r < 0) {
        cond_finish(c);
        memset(c, 0, sizeof *c);
    }
    return r;
}

static int parse_conds(struct loader *l, const char *path, const json_t *v, struct nm_cond **ret,
                       size_t *ret_n)
{
    *ret = NULL;
    *ret_n = 0;
    if (!v)
        return 0;
    if (json_is_object(v)) {
        *ret = nm_xcalloc(1, sizeof **ret);
        int r = parse_cond(l, path, v, *ret);
        if (r < 0) {
            free(*ret);
            *ret = NULL;
            return r;
        }
        *ret_n = 1;
        return 0;
    }
    if (!json_is_array(v))
        return bad(l, path, "must be a condition or an array of conditions%s", "");
    size_t n = json_array_size(v);
    struct nm_cond *a = nm_xcalloc(n ? n : 1, sizeof *a);
    for (size_t i = 0; i < n; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        int r = parse_cond(l, p, json_array_get(v, i), &a[i]);
        if (r < 0) {
            for (size_t j = 0; j < i; j++)
                cond_finish(&a[j]);
            free(a);
            return r;
        }
    }
    *ret = a;
    *ret_n = n;
    return 0;
}

static void rule_finish(struct nm_rule *r)
{
    for (size_t i = 0; i < r->n_when; i++)
        cond_finish(&r->when[i]);
    free(r->when);
    free(r->field);
    for (size_t i = 0; i < r->n_thresholds; i++) {
        json_decref(r->thresholds[i].value);
        if (r->thresholds[i].has_re)
            regfree(&r->thresholds[i].re);
    }
    free(r->thresholds);
    free(r->severity_from);
    json_decref(r->severity_map);
    free(r->message);
}

static int parse_rule(struct loader *l, const char *path, const json_t *v, struct nm_rule *r)
{
    char p[300];
    int rc = 0;
    memset(r, 0, sizeof *r);
    r->severity = NM_SEV_NONE;
    if (!json_is_object(v))
        return bad(l, path, "must be an object%s", "");
    if ((rc = only_keys(l, v, path, rule_keys)) < 0)
        return rc;
    snprintf(p, sizeof p, "%s.when", path);
    if ((rc = parse_conds(l, p, json_object_get(v, "when"), &r->when, &r->n_when)) < 0)
        return rc;
    r->override = json_is_true(json_object_get(v, "override"));
    const json_t *msg = json_object_get(v, "message");
    if (msg) {
        if (!json_is_string(msg))
            return bad(l, path, "message must be a string%s", "");
        r->message = nm_xstrdup(json_string_value(msg));
    }
    const json_t *sev = json_object_get(v, "severity");
    const json_t *field = json_object_get(v, "field");
    const json_t *sfrom = json_object_get(v, "severity_from");
    if (sfrom) {
        const json_t *map = json_object_get(v, "severity_map");
        if (!json_is_string(sfrom) || !json_is_object(map))
            return bad(l, path, "severity_from needs a field name and severity_map an object%s",
                       "");
        const char *k;
        const json_t *mv;
        json_object_foreach ((json_t *)map, k, mv) {
            if (!json_is_string(mv) || nm_severity_from_name(json_string_value(mv)) == NM_SEV_NONE)
                return bad(l, path, "severity_map values must be severities, not at \"%s\"", k);
        }
        r->severity_from = nm_xstrdup(json_string_value(sfrom));
        r->severity_map = json_incref((json_t *)map);
        return 0;
    }
    if (!field) {
        /* A constant rule: every selected item gets this severity. */
        if (!json_is_string(sev) ||
            (r->severity = nm_severity_from_name(json_string_value(sev))) == NM_SEV_NONE)
            return bad(l, path,
                       "needs \"field\" with \"op\"/\"thresholds\", \"severity_from\", or a "
                       "constant \"severity\" (info low medium high critical)%s",
                       "");
        return 0;
    }
    if (!json_is_string(field))
        return bad(l, path, "field must be a string%s", "");
    r->field = nm_xstrdup(json_string_value(field));
    snprintf(p, sizeof p, "%s.op", path);
    if ((rc = parse_op(l, p, json_object_get(v, "op"), &r->op)) < 0)
        return rc;
    const json_t *th = json_object_get(v, "thresholds");
    if (th) {
        if (!json_is_object(th) || json_object_size(th) == 0)
            return bad(l, path, "thresholds must be an object {severity: value}%s", "");
        r->thresholds = nm_xcalloc(json_object_size(th), sizeof *r->thresholds);
        /* Stored most severe first: the first that holds wins. */
        for (int s = NM_SEV_CRITICAL; s >= NM_SEV_INFO; s--) {
            const json_t *tv = json_object_get(th, nm_severity_name((enum nm_severity)s));
            if (!tv)
                continue;
            struct nm_threshold *t = &r->thresholds[r->n_thresholds++];
            t->severity = (enum nm_severity)s;
            t->value = json_incref((json_t *)tv);
            if (r->op == NM_OP_MATCH || r->op == NM_OP_NMATCH) {
                snprintf(p, sizeof p, "%s.thresholds.%s", path, nm_severity_name(t->severity));
                if ((rc = compile_re(l, p, tv, &t->re)) < 0)
                    return rc;
                t->has_re = true;
            }
        }
        if (r->n_thresholds != json_object_size(th))
            return bad(l, path,
                       "thresholds keys must be severities (info low medium high "
                       "critical)%s",
                       "");
        return 0;
    }
    /* field + op + value + severity: a single threshold. */
    const json_t *val = json_object_get(v, "value");
    enum nm_severity s =
        json_is_string(sev) ? nm_severity_from_name(json_string_value(sev)) : NM_SEV_NONE;
    if ((!val && r->op != NM_OP_EXISTS) || s == NM_SEV_NONE)
        return bad(l, path, "needs \"thresholds\", or \"value\" with \"severity\"%s", "");
    r->thresholds = nm_xcalloc(1, sizeof *r->thresholds);
    r->n_thresholds = 1;
    r->thresholds[0].severity = s;
    r->thresholds[0].value = val ? json_incref((json_t *)val) : json_true();
    if (r->op == NM_OP_MATCH || r->op == NM_OP_NMATCH) {
        snprintf(p, sizeof p, "%s.value", path);
        if ((rc = compile_re(l, p, val, &r->thresholds[0].re)) < 0)
            return rc;
        r->thresholds[0].has_re = true;
    }
    return 0;
}

static void probe_free(struct nm_probe_def *p)
{
    if (!p)
        return;
    free(p->id);
    free(p->script);
    free(p->origin);
    for (size_t i = 0; i < p->n_root_commands; i++)
        free(p->root_commands[i]);
    free(p->root_commands);
    free(p);
}

/*
 * One entry of "root_commands": the command line as a sudoers drop-in allows
 * it and as `sudo` sees it (words joined by one space): an absolute path, then
 * arguments.  `*` is refused: in sudoers it also matches spaces, so any
 * argument could be added after it.  Bounded classes such as [a-z] are fine.
 */
static bool root_command_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 256 || s[0] != '/' || s[n - 1] == ' ')
        return false;
    bool in_path = true;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ') {
            if (s[i + 1] == ' ')
                return false;
            in_path = false;
            continue;
        }
        if (c < ' ' || c > '~' || c == '*' || c == '"' || c == '\\')
            return false;
        if (in_path &&
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '.' || c == '_' || c == '-' || c == '+'))
            return false;
    }
    return true;
}

static bool same_strv(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

static bool probe_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > NM_PROBE_ID_MAX)
        return false;
    for (const char *s = id; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

static int parse_probe(struct loader *l, struct nm_checkset *cs, const json_t *v,
                       struct nm_probe_def **ret)
{
    int rc = 0;
    if (!json_is_object(v))
        return bad(l, "probe", "must be an object {id, script, ...}%s", "");
    if ((rc = only_keys(l, v, "probe", probe_keys)) < 0)
        return rc;
    const json_t *id = json_object_get(v, "id"), *script = json_object_get(v, "script");
    const json_t *root = json_object_get(v, "needs_root"), *to = json_object_get(v, "timeout");
    const json_t *cap = json_object_get(v, "max_output");
    const json_t *rootcmds = json_object_get(v, "root_commands");
    if (!json_is_string(id) || !probe_id_ok(json_string_value(id)))
        return bad(l, "probe.id", "must be 1-64 characters of [A-Za-z0-9._-]%s", "");
    if (nm_str_has_prefix(json_string_value(id), "nm."))
        return bad(l, "probe.id", "the nm. prefix is reserved for built-in probes%s", "");
    /* A script may be one string or an array of lines (easier to read in JSON). */
    struct nm_buf sb;
    nm_buf_init(&sb, 256u << 10);
    if (json_is_string(script)) {
        nm_buf_appends(&sb, json_string_value(script));
    } else if (json_is_array(script) && json_array_size(script) > 0) {
        for (size_t i = 0; i < json_array_size(script); i++) {
            const json_t *line = json_array_get(script, i);
            if (!json_is_string(line)) {
                nm_buf_finish(&sb);
                return bad(l, "probe.script", "array must contain only strings%s", "");
            }
            nm_buf_appends(&sb, json_string_value(line));
            nm_buf_appends(&sb, "\n");
        }
    } else {
        nm_buf_finish(&sb);
        return bad(l, "probe.script", "must be a non-empty string or array of lines%s", "");
    }
    if ((root && !json_is_boolean(root)) ||
        (to &&
         (!json_is_integer(to) || json_integer_value(to) < 1 || json_integer_value(to) > 3600)) ||
        (cap && (!json_is_integer(cap) || json_integer_value(cap) < 1 ||
                 json_integer_value(cap) > (json_int_t)NM_PROBE_MAX_OUTPUT))) {
        nm_buf_finish(&sb);
        return bad(l, "probe",
                   "needs_root is a boolean, timeout 1..3600 seconds, max_output 1..8388608 "
                   "bytes%s",
                   "");
    }
    struct nm_probe_def *p = nm_xcalloc(1, sizeof *p);
    p->id = nm_xstrdup(json_string_value(id));
    p->script = nm_buf_steal(&sb, NULL);
    p->needs_root = json_is_true(root);
    p->timeout_s = to ? (unsigned)json_integer_value(to) : DEFAULT_PROBE_TIMEOUT;
    p->max_output = cap ? (size_t)json_integer_value(cap) : DEFAULT_PROBE_OUTPUT;
    p->origin = nm_xstrdup(l->file);
    if (rootcmds) {
        if (!json_is_true(root) || !json_is_array(rootcmds) || json_array_size(rootcmds) == 0 ||
            json_array_size(rootcmds) > 64) {
            probe_free(p);
            return bad(l, "probe.root_commands",
                       "is a non-empty array (at most 64) of command lines, and only with "
                       "\"needs_root\": true%s",
                       "");
        }
        p->root_commands = nm_xcalloc(json_array_size(rootcmds), sizeof *p->root_commands);
        for (size_t i = 0; i < json_array_size(rootcmds); i++) {
            const char *c = json_string_value(json_array_get(rootcmds, i));
            if (!c || !root_command_ok(c)) {
                probe_free(p);
                return bad(l, "probe.root_commands",
                           "entry %zu must be an absolute path and arguments separated by "
                           "single spaces, printable ASCII without * \" or \\, at most 256 "
                           "bytes",
                           i);
            }
            p->root_commands[p->n_root_commands++] = nm_xstrdup(c);
        }
    }

    /* Checks sharing a probe id share one run, so they must agree on it. */
    for (size_t i = 0; i < cs->n_probes; i++) {
        struct nm_probe_def *q = cs->probes[i];
        if (strcmp(q->id, p->id) != 0)
            continue;
        bool same =
            strcmp(q->script, p->script) == 0 && q->needs_root == p->needs_root &&
            q->timeout_s == p->timeout_s && q->max_output == p->max_output &&
            same_strv(q->root_commands, q->n_root_commands, p->root_commands, p->n_root_commands);
        char qo[256];
        snprintf(qo, sizeof qo, "%s", q->origin);
        probe_free(p);
        if (!same)
            return bad(l, "probe.id",
                       "probe \"%s\" is defined differently here and in another check "
                       "file; shared probes must be identical",
                       qo);
        *ret = q;
        return 0;
    }
    cs->probes = nm_xreallocarray(cs->probes, cs->n_probes + 1, sizeof *cs->probes);
    cs->probes[cs->n_probes++] = p;
    *ret = p;
    return 0;
}

void nm_ledger_def_finish(struct nm_ledger_def *def)
{
    if (!def)
        return;
    for (size_t i = 0; i < def->n_failure; i++)
        cond_finish(&def->failure[i]);
    free(def->failure);
    free(def->unit);
    free_strings(def->fields, def->n_fields);
    free(def->minus);
    free(def->item);
    memset(def, 0, sizeof *def);
}

/* "ledger": {"failure": [conditions] | "always", "margin": {unit, field,
 * from, minus} | null, "item": "details"}: docs/checks.md. */
static int parse_ledger(struct loader *l, const json_t *v, struct nm_ledger_def *def)
{
    static const char *const keys[] = {"failure", "margin", "item", "comment", NULL};
    static const char *const mkeys[] = {"unit", "field", "from", "minus", NULL};
    int rc = 0;
    memset(def, 0, sizeof *def);
    if (!v)
        return 0;
    if (!json_is_object(v))
        return bad(l, "ledger", "must be an object {failure, margin}%s", "");
    if ((rc = only_keys(l, v, "ledger", keys)) < 0)
        return rc;
    def->declared = true;
    const json_t *fail = json_object_get(v, "failure");
    if (json_is_string(fail)) {
        if (strcmp(json_string_value(fail), "always") != 0)
            return bad(l, "ledger.failure", "is a condition, an array of them, or \"always\"%s",
                       "");
        def->failure_always = true;
    } else if (!fail) {
        return bad(l, "ledger.failure", "is required: what counts as the failure itself%s", "");
    } else if ((rc = parse_conds(l, "ledger.failure", fail, &def->failure, &def->n_failure)) < 0) {
        return rc;
    }
    if ((rc = get_string(l, v, "item", false, &def->item)) < 0)
        return rc;
    const json_t *m = json_object_get(v, "margin");
    if (!m || json_is_null(m))
        return 0;
    if (!json_is_object(m))
        return bad(l, "ledger.margin", "must be an object {unit, field} or null%s", "");
    if ((rc = only_keys(l, m, "ledger.margin", mkeys)) < 0 ||
        (rc = get_string(l, m, "unit", true, &def->unit)) < 0 ||
        (rc = get_string(l, m, "minus", false, &def->minus)) < 0)
        return rc;
    const json_t *f = json_object_get(m, "field");
    if (json_is_string(f)) {
        def->fields = nm_xcalloc(1, sizeof *def->fields);
        def->fields[0] = nm_xstrdup(json_string_value(f));
        def->n_fields = 1;
    } else if ((rc = get_string_array(l, m, "field", "ledger.margin", &def->fields,
                                      &def->n_fields)) < 0) {
        return rc;
    }
    if (def->n_fields == 0)
        return bad(l, "ledger.margin.field", "must name an item field (or several)%s", "");
    const json_t *from = json_object_get(m, "from");
    if (from) {
        if (!json_is_number(from))
            return bad(l, "ledger.margin.from", "must be a number%s", "");
        def->has_from = true;
        def->from = json_number_value(from);
    }
    return 0;
}

int nm_ledger_def_parse(const char *origin, const json_t *v, struct nm_ledger_def *ret, nm_diag *d)
{
    struct loader l = {.file = origin, .d = d};
    struct nm_ledger_def def;
    int rc = parse_ledger(&l, v, &def);
    if (rc < 0) {
        nm_ledger_def_finish(&def);
        return rc;
    }
    *ret = def;
    return 0;
}

/* "trend": {"raise": {"field": min_growth, ...}}; the fields must be
 * recorded, since the previous value comes from the history's samples. */
static int parse_trend(struct loader *l, const json_t *v, struct nm_check *c)
{
    static const char *const keys[] = {"raise", "comment", NULL};
    int rc = 0;
    if (!v)
        return 0;
    if (!json_is_object(v))
        return bad(l, "trend", "must be an object {raise}%s", "");
    if ((rc = only_keys(l, v, "trend", keys)) < 0)
        return rc;
    const json_t *raise = json_object_get(v, "raise");
    if (!json_is_object(raise) || json_object_size(raise) == 0)
        return bad(l, "trend.raise", "must be an object {field: least growth}%s", "");
    c->trend = nm_xcalloc(json_object_size(raise), sizeof *c->trend);
    const char *k;
    const json_t *g;
    json_object_foreach ((json_t *)raise, k, g) {
        bool recorded = false;
        for (size_t i = 0; i < c->n_record_fields; i++)
            recorded = recorded || strcmp(c->record_fields[i], k) == 0;
        if (!json_is_number(g) || json_number_value(g) <= 0)
            return bad(l, "trend.raise", "\"%s\": the least growth is a number above 0", k);
        if (!recorded)
            return bad(l, "trend.raise",
                       "\"%s\" is not in record.fields: only recorded fields have a past", k);
        c->trend[c->n_trend].field = nm_xstrdup(k);
        c->trend[c->n_trend].min_growth = json_number_value(g);
        c->n_trend++;
    }
    return 0;
}

static void group_free(struct nm_group_def *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_by; i++) {
        free(g->by[i].field);
        free(g->by[i].subject);
    }
    free(g->by);
    free(g->member);
    for (size_t i = 0; i < g->n_notes; i++) {
        for (size_t j = 0; j < g->notes[i].n_when; j++)
            cond_finish(&g->notes[i].when[j]);
        free(g->notes[i].when);
        free(g->notes[i].text);
    }
    free(g->notes);
    free(g);
}

/* "group": {"by": [{field, subject}], "member": field, "notes": [{when, text}]} */
static int parse_group(struct loader *l, const json_t *v, struct nm_check *c)
{
    int rc = 0;
    if (!v)
        return 0;
    if (!json_is_object(v))
        return bad(l, "group", "must be an object {by, member, notes}%s", "");
    if ((rc = only_keys(l, v, "group", group_keys)) < 0)
        return rc;
    struct nm_group_def *g = nm_xcalloc(1, sizeof *g);
    c->group = g; /* check_finish frees what is here on failure */
    const json_t *by = json_object_get(v, "by");
    if (!json_is_array(by) || json_array_size(by) == 0)
        return bad(l, "group.by", "must be a non-empty array of {field, subject}%s", "");
    g->by = nm_xcalloc(json_array_size(by), sizeof *g->by);
    for (size_t i = 0; i < json_array_size(by); i++) {
        char p[64];
        const json_t *e = json_array_get(by, i);
        snprintf(p, sizeof p, "group.by[%zu]", i);
        if (!json_is_object(e))
            return bad(l, p, "must be an object {field, subject}%s", "");
        if ((rc = only_keys(l, e, p, group_by_keys)) < 0)
            return rc;
        struct nm_group_by *b = &g->by[g->n_by++];
        if ((rc = get_string(l, e, "field", true, &b->field)) < 0 ||
            (rc = get_string(l, e, "subject", true, &b->subject)) < 0)
            return rc;
        /* The fingerprint comes from the subject: only the naming field may
         * change it, never a member that comes or goes. */
        for (const char *t = strchr(b->subject, '{'); t; t = strchr(t + 1, '{')) {
            size_t fl = strlen(b->field);
            if (strncmp(t + 1, b->field, fl) != 0 || t[1 + fl] != '}')
                return bad(l, p,
                           "subject may use only {%s}: the group's fingerprint must not "
                           "change when a member joins or leaves",
                           b->field);
        }
    }
    if ((rc = get_string(l, v, "member", true, &g->member)) < 0)
        return rc;
    const json_t *notes = json_object_get(v, "notes");
    if (notes && !json_is_array(notes))
        return bad(l, "group.notes", "must be an array of {when, text}%s", "");
    g->notes = nm_xcalloc(json_array_size(notes) + 1, sizeof *g->notes);
    for (size_t i = 0; i < json_array_size(notes); i++) {
        char p[64];
        const json_t *e = json_array_get(notes, i);
        snprintf(p, sizeof p, "group.notes[%zu]", i);
        if (!json_is_object(e))
            return bad(l, p, "must be an object {when, text}%s", "");
        if ((rc = only_keys(l, e, p, group_note_keys)) < 0)
            return rc;
        struct nm_group_note *n = &g->notes[g->n_notes++];
        if ((rc = get_string(l, e, "text", true, &n->text)) < 0)
            return rc;
        char wp[80];
        snprintf(wp, sizeof wp, "%s.when", p);
        if (!json_object_get(e, "when"))
            return bad(l, p, "needs \"when\": the conditions a member meets%s", "");
        if ((rc = parse_conds(l, wp, json_object_get(e, "when"), &n->when, &n->n_when)) < 0)
            return rc;
    }
    return 0;
}

static void check_finish(struct nm_check *c)
{
    nm_lifecycle_destroy(c->lifecycle);
    free(c->id);
    free(c->title);
    free(c->category);
    free(c->description);
    json_decref(c->references);
    free(c->origin);
    free_strings(c->os, c->n_os);
    free_strings(c->os_version, c->n_os_version);
    free_strings(c->commands, c->n_commands);
    free_strings(c->roles, c->n_roles);
    free_strings(c->criticality, c->n_criticality);
    for (size_t i = 0; i < c->n_labels; i++) {
        free(c->labels[i].key);
        free(c->labels[i].value);
    }
    free(c->labels);
    free(c->ok_exit);
    json_decref(c->parser_options);
    for (size_t i = 0; i < c->n_select; i++)
        cond_finish(&c->select[i]);
    free(c->select);
    for (size_t i = 0; i < c->n_rules; i++)
        rule_finish(&c->rules[i]);
    free(c->rules);
    free(c->subject);
    free(c->message);
    free(c->remediation);
    free(c->missing_remediation);
    free(c->error_remediation);
    free(c->ticket_summary);
    free(c->record_key);
    free_strings(c->record_fields, c->n_record_fields);
    nm_ledger_def_finish(&c->ledger);
    json_decref(c->history);
    for (size_t i = 0; i < c->n_trend; i++)
        free(c->trend[i].field);
    free(c->trend);
    if (c->fleet) {
        free(c->fleet->rule);
        free(c->fleet->finding);
        free(c->fleet->single);
        free(c->fleet->server);
        free(c->fleet->what);
        free(c->fleet);
    }
    group_free(c->group);
    free_strings(c->links, c->n_links);
    json_decref(c->definition);
    memset(c, 0, sizeof *c);
}

static int parse_applies(struct loader *l, const json_t *v, struct nm_check *c)
{
    int rc = 0;
    if (!v)
        return 0;
    if (!json_is_object(v))
        return bad(l, "applies", "must be an object%s", "");
    if ((rc = only_keys(l, v, "applies", applies_keys)) < 0 ||
        (rc = get_string_array(l, v, "os", "applies", &c->os, &c->n_os)) < 0 ||
        (rc = get_string_array(l, v, "os_version", "applies", &c->os_version, &c->n_os_version)) <
            0 ||
        (rc = get_string_array(l, v, "commands", "applies", &c->commands, &c->n_commands)) < 0 ||
        (rc = get_string_array(l, v, "roles", "applies", &c->roles, &c->n_roles)) < 0 ||
        (rc = get_string_array(l, v, "criticality", "applies", &c->criticality,
                               &c->n_criticality)) < 0)
        return rc;
    for (size_t i = 0; i < c->n_criticality; i++) {
        const char *k = c->criticality[i];
        if (strcmp(k, "low") && strcmp(k, "medium") && strcmp(k, "high") && strcmp(k, "critical"))
            return bad(l, "applies.criticality", "\"%s\" is not low, medium, high or critical", k);
    }
    /* os and os_version globs are also written into the remote script as
     * sh case patterns (see scan.c), so only plain glob characters. */
    for (size_t i = 0; i < c->n_os + c->n_os_version; i++) {
        const char *g = i < c->n_os ? c->os[i] : c->os_version[i - c->n_os];
        for (const char *s = g; *s; s++)
            if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-' || *s == '*' ||
                  *s == '?'))
                return bad(l, i < c->n_os ? "applies.os" : "applies.os_version",
                           "\"%s\": only letters, digits, . _ - * ? are allowed", g);
    }
    for (size_t i = 0; i < c->n_commands; i++) {
        const char *s = c->commands[i];
        for (; *s; s++)
            if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-' || *s == '+'))
                return bad(l, "applies.commands", "\"%s\" is not a plain command name",
                           c->commands[i]);
    }
    const json_t *labels = json_object_get(v, "labels");
    if (labels) {
        if (!json_is_object(labels))
            return bad(l, "applies.labels", "must be an object {key: glob}%s", "");
        c->labels = nm_xcalloc(json_object_size(labels) + 1, sizeof *c->labels);
        const char *k;
        const json_t *lv;
        json_object_foreach ((json_t *)labels, k, lv) {
            if (!json_is_string(lv))
                return bad(l, "applies.labels", "value of \"%s\" must be a string", k);
            c->labels[c->n_labels].key = nm_xstrdup(k);
            c->labels[c->n_labels].value = nm_xstrdup(json_string_value(lv));
            c->n_labels++;
        }
    }
    return 0;
}

static bool is_recorded(const struct nm_check *c, const char *field)
{
    for (size_t i = 0; i < c->n_record_fields; i++)
        if (strcmp(c->record_fields[i], field) == 0)
            return true;
    return false;
}

/* "fleet": after "record", whose fields it names. */
static int parse_fleet(struct loader *l, const json_t *v, struct nm_check *c)
{
    static const char *const keys[] = {"rule", "finding", "single", "server", "what", NULL};
    int rc = 0;
    if (!v)
        return 0;
    if (!json_is_object(v) || (rc = only_keys(l, v, "fleet", keys)) < 0)
        return rc < 0 ? rc
                      : bad(l, "fleet", "must be an object {rule, finding, single, server, what}%s",
                            "");
    if (!c->record_key)
        return bad(l, "fleet", "needs \"record\": fleet rules read the recorded fields%s", "");
    struct nm_check_fleet *f = nm_xcalloc(1, sizeof *f);
    c->fleet = f;
    if ((rc = get_string(l, v, "rule", true, &f->rule)) < 0 ||
        (rc = get_string(l, v, "finding", true, &f->finding)) < 0 ||
        (rc = get_string(l, v, "single", true, &f->single)) < 0 ||
        (rc = get_string(l, v, "server", true, &f->server)) < 0 ||
        (rc = get_string(l, v, "what", true, &f->what)) < 0)
        return rc;
    if (strcmp(f->rule, "shared-server") != 0)
        return bad(l, "fleet.rule", "\"%s\" is not a fleet rule (shared-server)", f->rule);
    if (!probe_id_ok(f->finding))
        return bad(l, "fleet.finding", "must be 1-64 characters of [A-Za-z0-9._-]%s", "");
    if (!is_recorded(c, f->single))
        return bad(l, "fleet.single", "\"%s\" is not one of record.fields", f->single);
    if (!is_recorded(c, f->server))
        return bad(l, "fleet.server", "\"%s\" is not one of record.fields", f->server);
    return 0;
}

/* "lifecycle": "data/lifecycle.json", beside the check file (so the data
 * travels with the checks directory), loaded and validated now: a bad date
 * stops the run before anything is scanned. */
static int parse_lifecycle(struct loader *l, const json_t *v, struct nm_check *c)
{
    if (!v)
        return 0;
    const char *rel = json_string_value(v);
    if (!rel || !*rel || rel[0] == '/' || strstr(rel, ".."))
        return bad(l, "lifecycle",
                   "must be a path inside the checks directory, such as "
                   "\"data/lifecycle.json\"%s",
                   "");
    if (c->source_tls)
        return bad(l, "lifecycle", "a check with \"source\": \"tls\" has no lifecycle%s", "");
    const char *slash = strrchr(l->file, '/');
    char *path =
        slash ? nm_xasprintf("%.*s/%s", (int)(slash - l->file), l->file, rel) : nm_xstrdup(rel);
    nm_diag ld = {{0}};
    int rc = nm_lifecycle_load(path, &c->lifecycle, &ld);
    free(path);
    if (rc < 0)
        return bad(l, "lifecycle", "%s", ld.msg);
    return 0;
}

static int parse_check(struct loader *l, struct nm_checkset *cs, json_t *root, struct nm_check *c)
{
    int rc = 0;
    if (!json_is_object(root))
        return bad(l, "(top)", "a check file holds one JSON object%s", "");
    if ((rc = only_keys(l, root, "", top_keys)) < 0)
        return rc;
    c->origin = nm_xstrdup(l->file);
    c->definition = json_incref(root);
    if ((rc = get_string(l, root, "id", true, &c->id)) < 0 ||
        (rc = get_string(l, root, "title", true, &c->title)) < 0 ||
        (rc = get_string(l, root, "category", true, &c->category)) < 0 ||
        (rc = get_string(l, root, "description", false, &c->description)) < 0 ||
        (rc = get_string(l, root, "subject", true, &c->subject)) < 0 ||
        (rc = get_string(l, root, "message", true, &c->message)) < 0 ||
        (rc = get_string(l, root, "remediation", false, &c->remediation)) < 0 ||
        (rc = get_string(l, root, "missing_remediation", false, &c->missing_remediation)) < 0 ||
        (rc = get_string(l, root, "error_remediation", false, &c->error_remediation)) < 0)
        return rc;
    if (!probe_id_ok(c->id))
        return bad(l, "id", "must be 1-64 characters of [A-Za-z0-9._-]%s", "");
    if (!nm_category_valid(c->category))
        return bad(l, "category", "\"%s\" is not one of patch reboot cert disk smart spof health",
                   c->category);
    const json_t *ver = json_object_get(root, "version");
    if (ver && !json_is_integer(ver))
        return bad(l, "version", "must be an integer%s", "");
    c->version = ver ? (long)json_integer_value(ver) : 1;
    const json_t *refs = json_object_get(root, "references");
    if (refs) {
        bool ok = json_is_array(refs);
        for (size_t i = 0; ok && i < json_array_size(refs); i++)
            ok = json_is_string(json_array_get(refs, i));
        if (!ok)
            return bad(l, "references", "must be an array of strings%s", "");
        c->references = json_incref((json_t *)refs);
    } else {
        c->references = json_array();
    }
    const json_t *ticket = json_object_get(root, "ticket");
    if (ticket) {
        if (!json_is_object(ticket))
            return bad(l, "ticket", "must be an object {summary}%s", "");
        if ((rc = only_keys(l, ticket, "ticket", ticket_keys)) < 0 ||
            (rc = get_string(l, ticket, "summary", false, &c->ticket_summary)) < 0)
            return rc;
    }
    if ((rc = parse_applies(l, json_object_get(root, "applies"), c)) < 0)
        return rc;
    const json_t *rec = json_object_get(root, "record");
    if (rec) {
        /* Kept for every item, finding or not, so history can forecast
         * ("full in N days") from the nightly reports. */
        if (!json_is_object(rec))
            return bad(l, "record", "must be an object {key, fields}%s", "");
        if ((rc = only_keys(l, rec, "record", record_keys)) < 0)
            return rc;
        if ((rc = get_string(l, rec, "key", true, &c->record_key)) < 0 ||
            (rc = get_string_array(l, rec, "fields", "record", &c->record_fields,
                                   &c->n_record_fields)) < 0)
            return rc;
        if (c->n_record_fields == 0)
            return bad(l, "record.fields", "must name at least one item field%s", "");
    }
    if ((rc = parse_fleet(l, json_object_get(root, "fleet"), c)) < 0)
        return rc;
    const json_t *source = json_object_get(root, "source");
    if (source) {
        const char *sv = json_is_string(source) ? json_string_value(source) : "";
        if (strcmp(sv, "tls") != 0 && strcmp(sv, "history") != 0)
            return bad(l, "source",
                       "the other item sources are \"tls\" (the inventory's TLS endpoints, "
                       "probed by the scanner) and \"history\" (forecasts from the history "
                       "database)%s",
                       "");
        static const char *const excl[] = {"probe", "parser", "ok_exit"};
        for (size_t i = 0; i < sizeof excl / sizeof excl[0]; i++)
            if (json_object_get(root, excl[i]))
                return bad(l, excl[i], "a check with \"source\": \"%s\" has no %s", sv, excl[i]);
        c->source_tls = strcmp(sv, "tls") == 0;
        c->source_history = !c->source_tls;
        const json_t *hist = json_object_get(root, "history");
        const char *kind = json_string_value(json_object_get(hist, "kind"));
        if (c->source_history &&
            (!json_is_object(hist) || !kind || strcmp(kind, "linear-forecast") != 0))
            return bad(l, "history",
                       "a check with \"source\": \"history\" declares how its items are made: "
                       "{\"kind\": \"linear-forecast\", ...} (docs/checks.md)%s",
                       "");
        if (c->source_history)
            c->history = json_incref((json_t *)hist);
    } else {
        if ((rc = parse_probe(l, cs, json_object_get(root, "probe"), &c->probe)) < 0)
            return rc;

        const json_t *okx = json_object_get(root, "ok_exit");
        if (okx) {
            if (!json_is_array(okx) || json_array_size(okx) == 0)
                return bad(l, "ok_exit", "must be a non-empty array of exit codes%s", "");
            c->ok_exit = nm_xcalloc(json_array_size(okx), sizeof *c->ok_exit);
            for (size_t i = 0; i < json_array_size(okx); i++) {
                const json_t *e = json_array_get(okx, i);
                if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 255)
                    return bad(l, "ok_exit", "exit codes are integers 0..255%s", "");
                c->ok_exit[c->n_ok_exit++] = (int)json_integer_value(e);
            }
        } else {
            c->ok_exit = nm_xcalloc(1, sizeof *c->ok_exit);
            c->n_ok_exit = 1;
        }

        const json_t *parser = json_object_get(root, "parser");
        const char *pname = NULL;
        if (json_is_string(parser)) {
            pname = json_string_value(parser);
        } else if (json_is_object(parser)) {
            if ((rc = only_keys(l, parser, "parser", parser_keys)) < 0)
                return rc;
            pname = json_string_value(json_object_get(parser, "name"));
            const json_t *opt = json_object_get(parser, "options");
            if (opt && !json_is_object(opt))
                return bad(l, "parser.options", "must be an object%s", "");
            c->parser_options = opt ? json_incref((json_t *)opt) : NULL;
        }
        if (!pname)
            return bad(l, "parser",
                       "must name a parser (\"df\" or {\"name\": ..., \"options\": "
                       "{...}})%s",
                       "");
        c->parser = nm_parser_find(pname);
        if (!c->parser)
            return bad(l, "parser", "unknown parser \"%s\" (see `nearmiss checks parsers`)", pname);
        /* Let the parser reject bad options now, not on every host at scan time:
         * an empty input must parse (to zero items) with valid options. */
        json_t *probe_items = NULL;
        nm_diag pd = {{0}};
        rc = c->parser->fn("", 0, c->parser_options, &probe_items, &pd);
        if (rc == 0)
            json_decref(probe_items);
        if (rc < 0 && strstr(pd.msg, "option"))
            return bad(l, "parser.options", "%s", pd.msg);
        if (c->probe && nm_parser_reads_bytes(c->parser))
            c->probe->raw_output = true;
    }

    if ((rc = parse_ledger(l, json_object_get(root, "ledger"), &c->ledger)) < 0 ||
        (rc = parse_trend(l, json_object_get(root, "trend"), c)) < 0 ||
        (rc = parse_group(l, json_object_get(root, "group"), c)) < 0)
        return rc;
    if (json_object_get(root, "links") &&
        (rc = get_string_array(l, root, "links", "", &c->links, &c->n_links)) < 0)
        return rc;
    if ((rc = parse_lifecycle(l, json_object_get(root, "lifecycle"), c)) < 0)
        return rc;
    if ((rc = parse_conds(l, "select", json_object_get(root, "select"), &c->select, &c->n_select)) <
        0)
        return rc;
    const json_t *rules = json_object_get(root, "rules");
    if (!json_is_array(rules) || json_array_size(rules) == 0)
        return bad(l, "rules", "must be a non-empty array%s", "");
    c->rules = nm_xcalloc(json_array_size(rules), sizeof *c->rules);
    for (size_t i = 0; i < json_array_size(rules); i++) {
        char p[64];
        snprintf(p, sizeof p, "rules[%zu]", i);
        rc = parse_rule(l, p, json_array_get(rules, i), &c->rules[i]);
        c->n_rules = i + 1; /* so check_finish frees the partial rule too */
        if (rc < 0)
            return rc;
    }
    return 0;
}

void nm_checkset_init(struct nm_checkset *cs)
{
    memset(cs, 0, sizeof *cs);
}

void nm_checkset_finish(struct nm_checkset *cs)
{
    if (!cs)
        return;
    for (size_t i = 0; i < cs->n_checks; i++)
        check_finish(&cs->checks[i]);
    free(cs->checks);
    for (size_t i = 0; i < cs->n_probes; i++)
        probe_free(cs->probes[i]);
    free(cs->probes);
    memset(cs, 0, sizeof *cs);
}

int nm_checkset_load_buffer(struct nm_checkset *cs, const char *name, const char *data, size_t len,
                            nm_diag *d)
{
    struct loader l = {.file = name, .text = data, .len = len, .d = d};
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return nm_diag_set(d, NM_ERR_PARSE, "%s:%d:%d: %s", name, jerr.line, jerr.column,
                           jerr.text);
    struct nm_check c;
    memset(&c, 0, sizeof c);
    size_t probes_before = cs->n_probes;
    int rc = parse_check(&l, cs, root, &c);
    json_decref(root);
    if (rc == 0 && nm_checkset_find(cs, c.id))
        rc = bad(&l, "id", "check \"%s\" is defined twice (also in %s)", c.id,
                 nm_checkset_find(cs, c.id)->origin);
    if (rc < 0) {
        check_finish(&c);
        /* Drop probes this file introduced: nothing of a failed file stays. */
        while (cs->n_probes > probes_before)
            probe_free(cs->probes[--cs->n_probes]);
        return rc;
    }
    cs->checks = nm_xreallocarray(cs->checks, cs->n_checks + 1, sizeof *cs->checks);
    cs->checks[cs->n_checks++] = c;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int nm_checkset_load_dir(struct nm_checkset *cs, const char *dir, nm_diag *d)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return nm_diag_set(d, NM_ERR_IO, "%s: cannot open checks directory: %s", dir,
                           strerror(errno));
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(dh));) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        names = nm_xreallocarray(names, n + 1, sizeof *names);
        names[n++] = nm_xstrdup(e->d_name);
    }
    closedir(dh);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *path = nm_xasprintf("%s/%s", dir, names[i]);
        char *data = NULL;
        size_t len = 0;
        rc = nm_read_file(path, CHECK_FILE_MAX, &data, &len, d);
        if (rc == 0)
            rc = nm_checkset_load_buffer(cs, path, data, len, d);
        free(data);
        free(path);
    }
    free_strings(names, n);
    if (rc == 0 && cs->n_checks == 0)
        rc = nm_diag_set(d, NM_ERR_CONFIG, "%s: no check files (*.json) found", dir);
    return rc;
}

const struct nm_check *nm_checkset_find(const struct nm_checkset *cs, const char *id)
{
    for (size_t i = 0; i < cs->n_checks; i++)
        if (strcmp(cs->checks[i].id, id) == 0)
            return &cs->checks[i];
    return NULL;
}

int nm_checkset_keep(struct nm_checkset *cs, char *const *ids, size_t n_ids, nm_diag *d)
{
    for (size_t k = 0; k < n_ids; k++) {
        bool found = false;
        for (size_t i = 0; i < cs->n_checks && !found; i++)
            found = strcmp(cs->checks[i].id, ids[k]) == 0;
        if (!found)
            return nm_diag_set(d, NM_ERR_NOTFOUND, "no check \"%s\" in the check set", ids[k]);
    }
    size_t w = 0;
    for (size_t i = 0; i < cs->n_checks; i++) {
        bool keep = false;
        for (size_t k = 0; k < n_ids && !keep; k++)
            keep = strcmp(cs->checks[i].id, ids[k]) == 0;
        if (keep)
            cs->checks[w++] = cs->checks[i];
        else
            check_finish(&cs->checks[i]);
    }
    /* Probes no kept check uses stay loaded; the scan sends only the
     * probes some applicable check needs. */
    cs->n_checks = w;
    return 0;
}
