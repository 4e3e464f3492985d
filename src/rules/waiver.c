#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nearmiss/util.h"
#include "nearmiss/waiver.h"

#define WAIVER_FILE_MAX (4u << 20)

void nm_waivers_init(struct nm_waivers *ws)
{
    ws->w = NULL;
    ws->n = 0;
}

static void waiver_finish(struct nm_waiver *w)
{
    free(w->check);
    free(w->hosts);
    free(w->subject);
    free(w->justification);
    free(w->approved_by);
    free(w->expires);
    free(w->origin);
}

void nm_waivers_finish(struct nm_waivers *ws)
{
    if (!ws)
        return;
    for (size_t i = 0; i < ws->n; i++)
        waiver_finish(&ws->w[i]);
    free(ws->w);
    ws->w = NULL;
    ws->n = 0;
}

/* "YYYY-MM-DD" -> the last second of that day, UTC. */
static int parse_date(const char *s, int64_t *ret)
{
    const char *p = s, *end = s + strlen(s);
    uint64_t y, m, d;
    if (end - s != 10 || nm_parse_u64(&p, end, &y) < 0 || p != s + 4 || *p++ != '-' ||
        nm_parse_u64(&p, end, &m) < 0 || p != s + 7 || *p++ != '-' ||
        nm_parse_u64(&p, end, &d) < 0 || p != end)
        return NM_ERR_PARSE;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > (uint64_t)mdays[m - 1])
        return NM_ERR_PARSE;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return NM_ERR_PARSE;
    struct tm tm = {.tm_year = (int)y - 1900,
                    .tm_mon = (int)m - 1,
                    .tm_mday = (int)d,
                    .tm_hour = 23,
                    .tm_min = 59,
                    .tm_sec = 59};
    *ret = (int64_t)timegm(&tm);
    return 0;
}

static int entry_error(nm_diag *d, const char *name, size_t i, const char *what)
{
    return nm_diag_set(d, NM_ERR_CONFIG, "%s: waivers[%zu]: %s", name, i, what);
}

static int load_entry(const char *name, size_t i, const json_t *e, struct nm_waiver *w, nm_diag *d)
{
    static const char *const keys[] = {"check",       "hosts",   "subject", "justification",
                                       "approved_by", "expires", "comment", NULL};
    const char *k;
    const json_t *v;
    memset(w, 0, sizeof *w);
    if (!json_is_object(e))
        return entry_error(d, name, i, "must be an object");
    json_object_foreach ((json_t *)e, k, v) {
        bool known = false;
        for (size_t j = 0; keys[j]; j++)
            known = known || strcmp(k, keys[j]) == 0;
        if (!known) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "%.64s: unknown key (check hosts subject justification "
                     "approved_by expires comment)",
                     k);
            return entry_error(d, name, i, msg);
        }
        if (!json_is_string(v)) {
            char msg[120];
            snprintf(msg, sizeof msg, "%.64s: must be a string", k);
            return entry_error(d, name, i, msg);
        }
    }
    const char *check = json_string_value(json_object_get(e, "check"));
    const char *hosts = json_string_value(json_object_get(e, "hosts"));
    const char *just = json_string_value(json_object_get(e, "justification"));
    const char *exp = json_string_value(json_object_get(e, "expires"));
    if (!check || !*check)
        return entry_error(d, name, i, "check: required (the check id)");
    if (!just || strlen(just) < 3)
        return entry_error(d, name, i, "justification: required (why this risk is accepted)");
    if (!exp)
        return entry_error(d, name, i, "expires: required (YYYY-MM-DD, or \"never\" on purpose)");
    int64_t at;
    if (strcmp(exp, "never") == 0)
        at = INT64_MAX;
    else if (parse_date(exp, &at) < 0)
        return entry_error(d, name, i, "expires: not a date YYYY-MM-DD (or \"never\")");
    w->check = nm_xstrdup(check);
    w->hosts = nm_xstrdup(hosts ? hosts : "*");
    const char *subj = json_string_value(json_object_get(e, "subject"));
    w->subject = subj ? nm_xstrdup(subj) : NULL;
    w->justification = nm_xstrdup(just);
    const char *by = json_string_value(json_object_get(e, "approved_by"));
    w->approved_by = by ? nm_xstrdup(by) : NULL;
    w->expires = nm_xstrdup(exp);
    w->expires_at = at;
    w->origin = nm_xasprintf("%s#%zu", name, i);
    return 0;
}

int nm_waivers_load_buffer(struct nm_waivers *ws, const char *name, const char *data, size_t len,
                           nm_diag *d)
{
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return nm_diag_set(d, NM_ERR_PARSE, "%s:%d:%d: %s", name, jerr.line, jerr.column,
                           jerr.text);
    int r = 0;
    const json_t *list = json_object_get(root, "waivers");
    if (!json_is_object(root) || !json_is_array(list) || json_object_size(root) != 1) {
        r = nm_diag_set(d, NM_ERR_CONFIG,
                        "%s: a waiver file is {\"waivers\": [...]} and nothing else", name);
        goto out;
    }
    size_t n = json_array_size(list);
    struct nm_waiver *add = nm_xcalloc(n ? n : 1, sizeof *add);
    size_t ok = 0;
    for (; ok < n; ok++) {
        r = load_entry(name, ok, json_array_get(list, ok), &add[ok], d);
        if (r < 0)
            break;
    }
    if (r < 0) {
        for (size_t i = 0; i <= ok && i < n; i++)
            waiver_finish(&add[i]);
        free(add);
        goto out;
    }
    ws->w = nm_xreallocarray(ws->w, ws->n + n, sizeof *ws->w);
    memcpy(ws->w + ws->n, add, n * sizeof *add);
    ws->n += n;
    free(add);
out:
    json_decref(root);
    return r;
}

int nm_waivers_load_file(struct nm_waivers *ws, const char *path, nm_diag *d)
{
    char *data = NULL;
    size_t len = 0;
    int r = nm_read_file(path, WAIVER_FILE_MAX, &data, &len, d);
    if (r == 0)
        r = nm_waivers_load_buffer(ws, path, data, len, d);
    free(data);
    return r;
}

int nm_waivers_from_report(struct nm_waivers *ws, const json_t *list, const char *name, nm_diag *d)
{
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return nm_diag_set(d, NM_ERR_PARSE, "%s: waivers is not an array", name);
    size_t n = json_array_size(list);
    struct nm_waiver *add = nm_xcalloc(n ? n : 1, sizeof *add);
    size_t ok = 0;
    int r = 0;
    for (; ok < n; ok++) {
        const json_t *e = json_array_get(list, ok);
        const char *source = json_string_value(json_object_get(e, "source"));
        /* The report's form, back into the file's: the keys a file holds. */
        json_t *file_form = json_object();
        static const char *const keys[] = {"check",   "hosts",       "subject",
                                           "expires", "approved_by", "justification"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            json_t *v = json_object_get(e, keys[k]);
            if (v && !json_is_null(v))
                json_object_set(file_form, keys[k], v);
        }
        r = json_is_object(e) && source
                ? load_entry(name, ok, file_form, &add[ok], d)
                : entry_error(d, name, ok, "not a waiver as a report lists it (no source)");
        json_decref(file_form);
        if (r < 0)
            break;
        /* Where the waiver was written, as the findings it marks say. */
        free(add[ok].origin);
        add[ok].origin = nm_xstrdup(source);
    }
    if (r < 0) {
        for (size_t i = 0; i < ok; i++)
            waiver_finish(&add[i]);
        free(add);
        return r;
    }
    ws->w = nm_xreallocarray(ws->w, ws->n + n, sizeof *ws->w);
    memcpy(ws->w + ws->n, add, n * sizeof *add);
    ws->n += n;
    free(add);
    return 0;
}

static bool matches(const struct nm_waiver *w, const char *host, const char *check,
                    const char *subject)
{
    return strcmp(w->check, check) == 0 && nm_glob_match(w->hosts, host) &&
           (!w->subject || (subject && nm_glob_match(w->subject, subject)));
}

static json_t *waiver_json(const struct nm_waiver *w)
{
    json_t *j = json_pack("{s:s, s:s, s:s}", "justification", w->justification, "expires",
                          w->expires, "source", w->origin);
    json_object_set_new(j, "approved_by",
                        w->approved_by ? json_string(w->approved_by) : json_null());
    return j;
}

void nm_waivers_apply(const struct nm_waivers *ws, json_t *host, int64_t now)
{
    const char *name = json_string_value(json_object_get(host, "name"));
    json_t *findings = json_object_get(host, "findings");
    size_t i;
    json_t *f;
    if (!ws || ws->n == 0 || !name)
        return;
    json_array_foreach (findings, i, f) {
        const char *check = json_string_value(json_object_get(f, "check"));
        const char *subject = json_string_value(json_object_get(f, "subject"));
        const struct nm_waiver *active = NULL, *expired = NULL;
        for (size_t k = 0; k < ws->n && !active; k++) {
            if (!check || !matches(&ws->w[k], name, check, subject))
                continue;
            if (ws->w[k].expires_at >= now)
                active = &ws->w[k];
            else if (!expired)
                expired = &ws->w[k];
        }
        if (active) {
            json_object_set_new(f, "waived", json_true());
            json_object_set_new(f, "waiver", waiver_json(active));
        } else if (expired) {
            /* Say so: an expired waiver is how accepted risks come back. */
            json_object_set_new(f, "waiver_expired", waiver_json(expired));
        }
    }
    /* A check whose every finding is waived reads "waived", not "fail". */
    json_array_foreach (json_object_get(host, "checks"), i, f) {
        const char *id = json_string_value(json_object_get(f, "id"));
        const char *res = json_string_value(json_object_get(f, "result"));
        if (!id || !res || (strcmp(res, "fail") != 0 && strcmp(res, "warn") != 0))
            continue;
        size_t total = 0, waived = 0, j;
        json_t *g;
        json_array_foreach (findings, j, g) {
            const char *c = json_string_value(json_object_get(g, "check"));
            if (!c || strcmp(c, id) != 0)
                continue;
            total++;
            if (json_is_true(json_object_get(g, "waived")))
                waived++;
        }
        if (total > 0 && waived == total)
            json_object_set_new(f, "result", json_string("waived"));
    }
}

json_t *nm_waivers_report(const struct nm_waivers *ws, int64_t now)
{
    json_t *arr = json_array();
    for (size_t i = 0; ws && i < ws->n; i++) {
        json_t *j = waiver_json(&ws->w[i]);
        json_object_set_new(j, "check", json_string(ws->w[i].check));
        json_object_set_new(j, "hosts", json_string(ws->w[i].hosts));
        json_object_set_new(j, "subject",
                            ws->w[i].subject ? json_string(ws->w[i].subject) : json_null());
        json_object_set_new(j, "status",
                            json_string(ws->w[i].expires_at >= now ? "active" : "expired"));
        json_array_append_new(arr, j);
    }
    return arr;
}
