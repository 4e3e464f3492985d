#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/check.h"
#include "nearmiss/util.h"

#define CHECK_FILE_MAX        (1u << 20)
#define DEFAULT_PROBE_TIMEOUT 60
#define DEFAULT_PROBE_OUTPUT  (1u << 20)
#define MAX_PROBE_OUTPUT      (8u << 20)

/* ---- small loader helpers ------------------------------------------------ */

struct loader {
    const char *file;
    nm_diag *d;
};

static int bad(struct loader *l, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct loader *l, const char *path, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return nm_diag_set(l->d, NM_ERR_CONFIG, "%s: %s: %s", l->file, path, what);
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

static int parse_cond(struct loader *l, const char *path, const json_t *v, struct nm_cond *c)
{
    static const char *const keys[] = {"field", "op", "value", NULL};
    char p[300];
    memset(c, 0, sizeof *c);
    if (!json_is_object(v))
        return bad(l, path, "must be an object {field, op, value}%s", "");
    int r = only_keys(l, v, path, keys);
    if (r < 0)
        return r;
    const json_t *f = json_object_get(v, "field");
    if (!json_is_string(f))
        return bad(l, path, "needs \"field\" (string)%s", "");
    snprintf(p, sizeof p, "%s.op", path);
    r = parse_op(l, p, json_object_get(v, "op"), &c->op);
    if (r < 0)
        return r;
    /* Every refusal comes before the reference is taken: the caller does
     * not finish a condition that failed to parse. */
    if (!json_object_get(v, "value") && c->op != NM_OP_EXISTS)
        return bad(l, path, "needs \"value\"%s", "");
    if (c->op == NM_OP_IN && !json_is_array(json_object_get(v, "value")))
        return bad(l, path, "\"in\" needs an array value%s", "");
    c->value = json_incref(json_object_get(v, "value"));
    if (c->op == NM_OP_MATCH || c->op == NM_OP_NMATCH) {
        snprintf(p, sizeof p, "%s.value", path);
        r = compile_re(l, p, c->value, &c->re);
        if (r < 0) {
            json_decref(c->value);
            c->value = NULL;
            return r;
        }
        c->has_re = true;
    }
    c->field = nm_xstrdup(json_string_value(f));
    return 0;
}

static void cond_finish(struct nm_cond *c)
{
    free(c->field);
    json_decref(c->value);
    if (c->has_re)
        regfree(&c->re);
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
    static const char *const keys[] = {"when",         "override", "field",    "op",
                                       "thresholds",   "value",    "severity", "severity_from",
                                       "severity_map", "message",  "comment",  NULL};
    char p[300];
    int rc;
    memset(r, 0, sizeof *r);
    r->severity = NM_SEV_NONE;
    if (!json_is_object(v))
        return bad(l, path, "must be an object%s", "");
    if ((rc = only_keys(l, v, path, keys)) < 0)
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
    free(p);
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
    static const char *const keys[] = {"id",         "script",  "needs_root", "timeout",
                                       "max_output", "comment", NULL};
    int rc;
    if (!json_is_object(v))
        return bad(l, "probe", "must be an object {id, script, ...}%s", "");
    if ((rc = only_keys(l, v, "probe", keys)) < 0)
        return rc;
    const json_t *id = json_object_get(v, "id"), *script = json_object_get(v, "script");
    const json_t *root = json_object_get(v, "needs_root"), *to = json_object_get(v, "timeout");
    const json_t *cap = json_object_get(v, "max_output");
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
                 json_integer_value(cap) > (json_int_t)MAX_PROBE_OUTPUT))) {
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

    /* Checks sharing a probe id share one run, so they must agree on it. */
    for (size_t i = 0; i < cs->n_probes; i++) {
        struct nm_probe_def *q = cs->probes[i];
        if (strcmp(q->id, p->id) != 0)
            continue;
        bool same = strcmp(q->script, p->script) == 0 && q->needs_root == p->needs_root &&
                    q->timeout_s == p->timeout_s && q->max_output == p->max_output;
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

static void check_finish(struct nm_check *c)
{
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
    if (c->fleet) {
        free(c->fleet->rule);
        free(c->fleet->finding);
        free(c->fleet->single);
        free(c->fleet->server);
        free(c->fleet->what);
        free(c->fleet);
    }
    json_decref(c->definition);
    memset(c, 0, sizeof *c);
}

static int parse_applies(struct loader *l, const json_t *v, struct nm_check *c)
{
    static const char *const keys[] = {"os",     "os_version",  "commands", "roles",
                                       "labels", "criticality", NULL};
    int rc;
    if (!v)
        return 0;
    if (!json_is_object(v))
        return bad(l, "applies", "must be an object%s", "");
    if ((rc = only_keys(l, v, "applies", keys)) < 0 ||
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

static int parse_check(struct loader *l, struct nm_checkset *cs, json_t *root, struct nm_check *c)
{
    static const char *const keys[] = {"id",
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
                                       "missing_remediation",
                                       "error_remediation",
                                       "comment",
                                       NULL};
    int rc;
    if (!json_is_object(root))
        return bad(l, "(top)", "a check file holds one JSON object%s", "");
    if ((rc = only_keys(l, root, "", keys)) < 0)
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
        static const char *const tkeys[] = {"summary", NULL};
        if (!json_is_object(ticket))
            return bad(l, "ticket", "must be an object {summary}%s", "");
        if ((rc = only_keys(l, ticket, "ticket", tkeys)) < 0 ||
            (rc = get_string(l, ticket, "summary", false, &c->ticket_summary)) < 0)
            return rc;
    }
    if ((rc = parse_applies(l, json_object_get(root, "applies"), c)) < 0)
        return rc;
    const json_t *rec = json_object_get(root, "record");
    if (rec) {
        /* Kept for every item, finding or not, so history can forecast
         * ("full in N days") from the nightly reports. */
        static const char *const rkeys[] = {"key", "fields", NULL};
        if (!json_is_object(rec) || (rc = only_keys(l, rec, "record", rkeys)) < 0)
            return rc < 0 ? rc : bad(l, "record", "must be an object {key, fields}%s", "");
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
        if (!json_is_string(source) || strcmp(json_string_value(source), "tls") != 0)
            return bad(l, "source",
                       "the only other item source is \"tls\" (the inventory's "
                       "TLS endpoints, probed by the scanner)%s",
                       "");
        static const char *const excl[] = {"probe", "parser", "ok_exit"};
        for (size_t i = 0; i < sizeof excl / sizeof excl[0]; i++)
            if (json_object_get(root, excl[i]))
                return bad(l, excl[i], "a check with \"source\": \"tls\" has no %s", excl[i]);
        c->source_tls = true;
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
            static const char *const pkeys[] = {"name", "options", NULL};
            if ((rc = only_keys(l, parser, "parser", pkeys)) < 0)
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
    }

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
    struct loader l = {.file = name, .d = d};
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
        rc = nm_diag_set(d, NM_ERR_CONFIG, "%s: id: check \"%s\" is defined twice (also in %s)",
                         name, c.id, nm_checkset_find(cs, c.id)->origin);
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

/* ---- applicability ------------------------------------------------------- */

static bool os_matches(const char *glob, const json_t *os)
{
    const char *id = json_string_value(json_object_get(os, "id"));
    if (id && nm_glob_match(glob, id))
        return true;
    const json_t *like = json_object_get(os, "id_like");
    for (size_t i = 0; i < json_array_size(like); i++) {
        const char *w = json_string_value(json_array_get(like, i));
        if (w && nm_glob_match(glob, w))
            return true;
    }
    return false;
}

bool nm_check_applies(const struct nm_check *c, const struct nm_host *h, const json_t *facts,
                      char *why, size_t why_len)
{
    const json_t *os = json_object_get(facts, "os");
    const char *os_id = json_string_value(json_object_get(os, "id"));
    const char *ver = json_string_value(json_object_get(os, "version_id"));
    bool ok = c->n_os == 0;
    for (size_t i = 0; i < c->n_os && !ok; i++)
        ok = os_matches(c->os[i], os);
    if (!ok) {
        struct nm_buf list;
        nm_buf_init(&list, 256);
        for (size_t i = 0; i < c->n_os; i++)
            nm_buf_appendf(&list, "%s%s", i ? ", " : "", c->os[i]);
        snprintf(why, why_len, "os is %s; the check is for %s", os_id ? os_id : "unknown",
                 list.data);
        nm_buf_finish(&list);
        return false;
    }
    ok = c->n_os_version == 0;
    for (size_t i = 0; i < c->n_os_version && !ok; i++)
        ok = ver && nm_glob_match(c->os_version[i], ver);
    if (!ok) {
        snprintf(why, why_len, "os version %s is not one the check is for", ver ? ver : "unknown");
        return false;
    }
    if (!nm_check_applies_to_host(c, h, why, why_len))
        return false;
    const char *missing = nm_check_missing_command(c, facts);
    if (missing) {
        snprintf(why, why_len, "%s is not installed", missing);
        return false;
    }
    return true;
}

bool nm_check_applies_to_host(const struct nm_check *c, const struct nm_host *h, char *why,
                              size_t why_len)
{
    bool ok = c->n_roles == 0;
    for (size_t i = 0; i < c->n_roles && !ok; i++)
        ok = nm_host_has_role(h, c->roles[i]);
    if (!ok) {
        snprintf(why, why_len, "host has none of the roles the check is for");
        return false;
    }
    ok = c->n_criticality == 0;
    for (size_t i = 0; i < c->n_criticality && !ok; i++)
        ok = strcmp(c->criticality[i], h->criticality ? h->criticality : "medium") == 0;
    if (!ok) {
        snprintf(why, why_len, "host criticality is %s; the check is for %s%s",
                 h->criticality ? h->criticality : "medium", c->criticality[0],
                 c->n_criticality > 1 ? " and up" : "");
        return false;
    }
    for (size_t i = 0; i < c->n_labels; i++) {
        const char *v = nm_host_label(h, c->labels[i].key);
        if (!v || !nm_glob_match(c->labels[i].value, v)) {
            snprintf(why, why_len, "label %s is %s, the check wants %s", c->labels[i].key,
                     v ? v : "unset", c->labels[i].value);
            return false;
        }
    }
    return true;
}

/* ---- evaluation ---------------------------------------------------------- */

int nm_version_compare(const char *a, const char *b)
{
    while (*a || *b) {
        /* '~' sorts before anything, even the end (1.0~rc1 < 1.0). */
        if (*a == '~' || *b == '~') {
            if (*a != '~')
                return 1;
            if (*b != '~')
                return -1;
            a++;
            b++;
            continue;
        }
        bool da = *a >= '0' && *a <= '9', db = *b >= '0' && *b <= '9';
        if (da && db) {
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            const char *sa = a, *sb = b;
            while (*a >= '0' && *a <= '9')
                a++;
            while (*b >= '0' && *b <= '9')
                b++;
            size_t la = (size_t)(a - sa), lb = (size_t)(b - sb);
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(sa, sb, la);
            if (c)
                return c < 0 ? -1 : 1;
            continue;
        }
        if (!*a || !*b)
            return *a ? 1 : -1;
        if (da != db)
            return da ? 1 : -1; /* a number segment is newer than letters */
        bool aa = (*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z');
        bool ab = (*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z');
        if (aa != ab)
            return aa ? 1 : -1; /* letters sort after separators */
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return 0;
}

/* The string form of a JSON scalar for matching and templates. */
static char *scalar_text(const json_t *v)
{
    if (json_is_string(v))
        return nm_xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return nm_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    if (json_is_real(v))
        return nm_xasprintf("%g", json_real_value(v));
    if (json_is_true(v))
        return nm_xstrdup("true");
    if (json_is_false(v))
        return nm_xstrdup("false");
    if (json_is_array(v) || json_is_object(v)) {
        /* Arrays of strings (package lists) read best comma-separated. */
        if (json_is_array(v)) {
            struct nm_buf b;
            nm_buf_init(&b, 4096);
            for (size_t i = 0; i < json_array_size(v); i++) {
                char *e = scalar_text(json_array_get(v, i));
                nm_buf_appendf(&b, "%s%s", i ? ", " : "", e);
                free(e);
            }
            return nm_buf_steal(&b, NULL);
        }
        char *dump = json_dumps(v, JSON_COMPACT);
        return dump ? dump : nm_xstrdup("");
    }
    return nm_xstrdup("");
}

static bool compare(enum nm_op op, const json_t *have, const json_t *want, const regex_t *re)
{
    if (op == NM_OP_EXISTS) {
        bool present = have && !json_is_null(have);
        return json_is_false(want) ? !present : present;
    }
    if (!have || json_is_null(have))
        return op == NM_OP_NE || op == NM_OP_NMATCH; /* absent is "not equal" */
    switch (op) {
    case NM_OP_LT:
    case NM_OP_LE:
    case NM_OP_GT:
    case NM_OP_GE: {
        if (!json_is_number(have) || !json_is_number(want))
            return false;
        double a = json_number_value(have), b = json_number_value(want);
        return op == NM_OP_LT ? a < b : op == NM_OP_LE ? a <= b : op == NM_OP_GT ? a > b : a >= b;
    }
    case NM_OP_EQ:
    case NM_OP_NE: {
        bool eq;
        if (json_is_number(have) && json_is_number(want))
            eq = json_number_value(have) == json_number_value(want);
        else
            eq = json_equal((json_t *)have, (json_t *)want);
        return op == NM_OP_EQ ? eq : !eq;
    }
    case NM_OP_MATCH:
    case NM_OP_NMATCH: {
        char *s = scalar_text(have);
        bool m = re && regexec(re, s, 0, NULL, 0) == 0;
        free(s);
        return op == NM_OP_MATCH ? m : !m;
    }
    case NM_OP_VLT:
    case NM_OP_VLE:
    case NM_OP_VGT:
    case NM_OP_VGE: {
        char *a = scalar_text(have), *b = scalar_text(want);
        int c = nm_version_compare(a, b);
        free(a);
        free(b);
        return op == NM_OP_VLT   ? c < 0
               : op == NM_OP_VLE ? c <= 0
               : op == NM_OP_VGT ? c > 0
                                 : c >= 0;
    }
    case NM_OP_IN:
        for (size_t i = 0; i < json_array_size(want); i++)
            if (compare(NM_OP_EQ, have, json_array_get(want, i), NULL))
                return true;
        return false;
    case NM_OP_EXISTS:
        break;
    }
    return false;
}

static bool conds_hold(const struct nm_cond *c, size_t n, const json_t *item)
{
    for (size_t i = 0; i < n; i++)
        if (!compare(c[i].op, json_object_get(item, c[i].field), c[i].value,
                     c[i].has_re ? &c[i].re : NULL))
            return false;
    return true;
}

struct verdict {
    enum nm_severity severity;
    const struct nm_rule *rule;
    const json_t *value;     /* borrowed from item */
    const json_t *threshold; /* borrowed from the rule */
};

static struct verdict rule_judge(const struct nm_rule *r, const json_t *item)
{
    struct verdict v = {.severity = NM_SEV_NONE, .rule = r};
    if (r->severity_from) {
        const json_t *f = json_object_get(item, r->severity_from);
        char *key = f ? scalar_text(f) : NULL;
        const json_t *m = key ? json_object_get(r->severity_map, key) : NULL;
        if (!m && key)
            m = json_object_get(r->severity_map, "*");
        if (m) {
            v.severity = nm_severity_from_name(json_string_value(m));
            v.value = f;
        }
        free(key);
        return v;
    }
    if (!r->field) {
        v.severity = r->severity;
        return v;
    }
    const json_t *have = json_object_get(item, r->field);
    for (size_t i = 0; i < r->n_thresholds; i++) {
        const struct nm_threshold *t = &r->thresholds[i];
        if (compare(r->op, have, t->value, t->has_re ? &t->re : NULL)) {
            v.severity = t->severity;
            v.value = have;
            v.threshold = t->value;
            break;
        }
    }
    return v;
}

static struct verdict judge_item(const struct nm_check *c, const json_t *item)
{
    struct verdict best = {.severity = NM_SEV_NONE};
    bool any_override = false;
    for (size_t i = 0; i < c->n_rules; i++)
        if (c->rules[i].override && conds_hold(c->rules[i].when, c->rules[i].n_when, item))
            any_override = true;
    for (size_t i = 0; i < c->n_rules; i++) {
        const struct nm_rule *r = &c->rules[i];
        if (any_override && !r->override)
            continue;
        if (!conds_hold(r->when, r->n_when, item))
            continue;
        struct verdict v = rule_judge(r, item);
        if (v.severity > best.severity)
            best = v;
    }
    return best;
}

char *nm_template_expand(const char *tpl, const json_t *item, const json_t *extra)
{
    struct nm_buf b;
    nm_buf_init(&b, 16384);
    for (const char *p = tpl; *p;) {
        const char *close = *p == '{' ? strchr(p + 1, '}') : NULL;
        if (close && close - p > 1 && close - p < 64) {
            char key[64];
            memcpy(key, p + 1, (size_t)(close - p - 1));
            key[close - p - 1] = '\0';
            const json_t *v = extra ? json_object_get(extra, key) : NULL;
            if (!v)
                v = json_object_get(item, key);
            if (v) {
                char *s = scalar_text(v);
                nm_buf_appends(&b, s);
                free(s);
                p = close + 1;
                continue;
            }
        }
        nm_buf_append(&b, p, 1);
        p++;
    }
    return nm_buf_steal(&b, NULL);
}

void nm_finding_fingerprint(const char *check, const char *host, const char *subject, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    /* NUL separators: "a"+"bc" and "ab"+"c" must not collide. */
    EVP_DigestUpdate(ctx, check, strlen(check) + 1);
    EVP_DigestUpdate(ctx, host, strlen(host) + 1);
    EVP_DigestUpdate(ctx, subject, strlen(subject));
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

const char *nm_check_missing_command(const struct nm_check *c, const json_t *facts)
{
    const json_t *cmds = json_object_get(facts, "commands");
    for (size_t i = 0; i < c->n_commands; i++)
        if (!json_is_true(json_object_get(cmds, c->commands[i])))
            return c->commands[i];
    return NULL;
}

json_t *nm_check_result_entry(const struct nm_check *c, enum nm_check_result r, const char *reason)
{
    json_t *e = json_pack("{s:s, s:s}", "id", c->id, "result", nm_check_result_name(r));
    if (reason && *reason)
        json_object_set_new(e, "reason", json_string(reason));
    /* What to do about a check that could not run is as useful as what to
     * do about a finding. */
    if (r == NM_RESULT_ERROR && c->error_remediation)
        json_object_set_new(e, "remediation", json_string(c->error_remediation));
    return e;
}

static bool exit_ok(const struct nm_check *c, int code)
{
    for (size_t i = 0; i < c->n_ok_exit; i++)
        if (c->ok_exit[i] == code)
            return true;
    return false;
}

static json_t *make_finding(const struct nm_check *c, const struct nm_host *h, const json_t *item,
                            const struct verdict *v)
{
    json_t *extra = json_pack("{s:s, s:s, s:s}", "host", h->name, "severity",
                              nm_severity_name(v->severity), "check", c->id);
    if (v->value)
        json_object_set(extra, "value", (json_t *)v->value);
    if (v->threshold)
        json_object_set(extra, "threshold", (json_t *)v->threshold);
    char *subject = nm_template_expand(c->subject, item, extra);
    char *message = nm_template_expand(v->rule && v->rule->message ? v->rule->message : c->message,
                                       item, extra);
    char fp[65];
    nm_finding_fingerprint(c->id, h->name, subject, fp);
    json_t *f = json_object();
    json_object_set_new(f, "check", json_string(c->id));
    json_object_set_new(f, "category", json_string(c->category));
    json_object_set_new(f, "severity", json_string(nm_severity_name(v->severity)));
    json_object_set_new(f, "subject", nm_json_string_sanitized(subject, strlen(subject), 4096));
    json_object_set_new(f, "message", nm_json_string_sanitized(message, strlen(message), 4096));
    json_object_set(f, "value",
                    v->value && !json_is_object(v->value) ? (json_t *)v->value : json_null());
    json_object_set(f, "threshold", v->threshold ? (json_t *)v->threshold : json_null());
    json_object_set_new(f, "fingerprint", json_string(fp));
    const json_t *ev = json_object_get(item, "evidence");
    if (json_is_string(ev))
        json_object_set(f, "evidence", (json_t *)ev);
    else
        json_object_set_new(f, "evidence", json_null());
    if (c->remediation) {
        char *rem = nm_template_expand(c->remediation, item, extra);
        json_object_set_new(f, "remediation", nm_json_string_sanitized(rem, strlen(rem), 4096));
        free(rem);
    } else {
        json_object_set_new(f, "remediation", json_null());
    }
    if (c->ticket_summary) {
        char *t = nm_template_expand(c->ticket_summary, item, extra);
        json_object_set_new(f, "ticket_summary", nm_json_string_sanitized(t, strlen(t), 1024));
        free(t);
    }
    /* The item itself, so the report explains the verdict with all its facts. */
    json_t *facts = json_deep_copy(item);
    json_object_del(facts, "evidence");
    json_object_set_new(f, "item", facts);
    free(subject);
    free(message);
    json_decref(extra);
    return f;
}

static void record_item(const struct nm_check *c, const json_t *item, json_t *metrics)
{
    const json_t *key = json_object_get(item, c->record_key);
    if (!metrics || !json_is_string(key))
        return;
    json_t *per_check = json_object_get(metrics, c->id);
    if (!per_check) {
        per_check = json_object();
        json_object_set_new(metrics, c->id, per_check);
    }
    if (json_object_size(per_check) >= 4096)
        return; /* a host with absurdly many items must not bloat the report */
    json_t *rec = json_object();
    for (size_t i = 0; i < c->n_record_fields; i++) {
        json_t *v = json_object_get(item, c->record_fields[i]);
        /* Scalars, and short lists of them (resolver or time server lists). */
        if (v && !json_is_object(v) && (!json_is_array(v) || json_array_size(v) <= 64))
            json_object_set_new(rec, c->record_fields[i], json_deep_copy(v));
    }
    json_object_set_new(per_check, json_string_value(key), rec);
}

json_t *nm_check_evaluate(const struct nm_check *c, const struct nm_host *h,
                          const struct nm_section *sec, int64_t now, json_t *findings,
                          json_t *metrics)
{
    char why[1400];
    if (!sec || sec->state == NM_SECTION_MISSING)
        return nm_check_result_entry(c, NM_RESULT_ERROR,
                                     "the probe did not run (host output ended before it)");
    if (sec->state == NM_SECTION_SKIPPED) {
        snprintf(why, sizeof why,
                 "probe %s needs root: the login user is not root and sudo -n is not "
                 "available (%s); grant passwordless sudo for it or scan as root",
                 c->probe->id, sec->skip_reason);
        return nm_check_result_entry(c, NM_RESULT_ERROR, why);
    }
    if (sec->state == NM_SECTION_TIMEOUT) {
        snprintf(why, sizeof why, "probe %s exceeded its %u s timeout", c->probe->id,
                 c->probe->timeout_s);
        return nm_check_result_entry(c, NM_RESULT_ERROR, why);
    }
    if (sec->state == NM_SECTION_PARTIAL)
        return nm_check_result_entry(c, NM_RESULT_ERROR,
                                     "probe output was cut off (host deadline or output cap)");
    if (sec->exit_code == NM_PROBE_EXIT_NOTAPPLICABLE && !exit_ok(c, sec->exit_code)) {
        /* The probe found the host has nothing to check (docs/checks.md);
         * its last line on stderr says why. */
        size_t e = sec->err.len, b;
        while (e > 0 && (sec->err.data[e - 1] == '\n' || sec->err.data[e - 1] == ' '))
            e--;
        for (b = e; b > 0 && sec->err.data[b - 1] != '\n'; b--)
            ;
        size_t n = e - b < 300 ? e - b : 300, k = 0;
        for (size_t i = 0; i < n; i++) {
            char ch = sec->err.data[b + i];
            why[k++] = ch >= 0x20 && ch < 0x7f ? ch : ' ';
        }
        why[k] = '\0';
        return nm_check_result_entry(c, NM_RESULT_NOTAPPLICABLE,
                                     k ? why : "the probe says it does not apply to this host");
    }
    if (!exit_ok(c, sec->exit_code)) {
        /* Show the start of stderr: it usually says why. */
        size_t n = sec->err.len < 200 ? sec->err.len : 200;
        char err[256] = "";
        for (size_t i = 0; i < n; i++)
            err[i] = (sec->err.data[i] >= 0x20 && sec->err.data[i] < 0x7f) ? sec->err.data[i] : ' ';
        err[n] = '\0';
        snprintf(why, sizeof why, "probe %s exited %d%s%s", c->probe->id, sec->exit_code,
                 n ? ": " : "", err);
        return nm_check_result_entry(c, NM_RESULT_ERROR, why);
    }
    json_t *items = NULL;
    nm_diag d = {{0}};
    /* The run's clock, unless the check file pins its own "now". */
    json_t *opts = json_incref(c->parser_options);
    if (nm_parser_reads_clock(c->parser) && !json_object_get(opts, "now")) {
        json_t *o = opts ? json_copy(opts) : json_object();
        json_object_set_new(o, "now", json_integer((json_int_t)now));
        json_decref(opts);
        opts = o;
    }
    int pr = c->parser->fn(sec->out.data ? sec->out.data : "", sec->out.len, opts, &items, &d);
    json_decref(opts);
    if (pr < 0) {
        snprintf(why, sizeof why, "parser %s: %s", c->parser->name, d.msg);
        return nm_check_result_entry(c, NM_RESULT_ERROR, why);
    }
    json_t *e = nm_check_judge_items(c, h, items, findings, metrics);
    json_decref(items);
    if (sec->out_truncated)
        json_object_set_new(e, "truncated",
                            json_sprintf("probe output %" PRIu64 " bytes, only %zu kept",
                                         sec->out_total, sec->out.len));
    return e;
}

json_t *nm_check_judge_items(const struct nm_check *c, const struct nm_host *h, const json_t *items,
                             json_t *findings, json_t *metrics)
{
    enum nm_severity worst = NM_SEV_NONE;
    size_t n_items = 0, n_findings = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *item = json_array_get(items, i);
        if (!json_is_object(item) || !conds_hold(c->select, c->n_select, item))
            continue;
        n_items++;
        if (c->record_key)
            record_item(c, item, metrics);
        struct verdict v = judge_item(c, item);
        if (v.severity == NM_SEV_NONE)
            continue;
        json_array_append_new(findings, make_finding(c, h, item, &v));
        n_findings++;
        if (v.severity > worst)
            worst = v.severity;
    }
    enum nm_check_result r = worst >= NM_SEV_HIGH  ? NM_RESULT_FAIL
                             : worst >= NM_SEV_LOW ? NM_RESULT_WARN
                                                   : NM_RESULT_PASS;
    json_t *e = nm_check_result_entry(c, r, NULL);
    json_object_set_new(e, "items", json_integer((json_int_t)n_items));
    json_object_set_new(e, "findings", json_integer((json_int_t)n_findings));
    return e;
}
