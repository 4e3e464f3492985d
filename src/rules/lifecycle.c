/*
 * Release lifecycles (nearmiss/lifecycle.h).  The file is trusted more than
 * host output (it ships with the checks) but is edited by hand between
 * releases, so it is validated as strictly as a check file: a typo in a
 * date must stop the run, not silently move a release out of support.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/check.h"
#include "nearmiss/lifecycle.h"
#include "nearmiss/util.h"

#define LIFECYCLE_FILE_MAX (4u << 20)
#define DAY                86400

struct nm_lifecycle {
    char *origin;
    json_t *root; /* validated */
};

struct lc_loader {
    const char *file;
    nm_diag *d;
};

static int lc_bad(struct lc_loader *l, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int lc_bad(struct lc_loader *l, const char *path, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return nm_diag_set(l->d, NM_ERR_CONFIG, "%s: %s: %s", l->file, path, what);
}

static int lc_only_keys(struct lc_loader *l, const json_t *o, const char *path,
                        const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)o, k, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(k, allowed[i]) == 0;
        if (!ok)
            return lc_bad(l, path, "unknown key \"%s\"", k);
    }
    return 0;
}

/* Days since 1970-01-01 of a Gregorian date: eras of 400 years, with the
 * year starting in March so that the leap day falls last. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int nm_lifecycle_parse_date(const char *s, int64_t *ret)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned v[3] = {0};
    static const size_t width[] = {4, 2, 2};
    const char *p = s;
    for (size_t f = 0; f < 3; f++) {
        for (size_t i = 0; i < width[f]; i++, p++) {
            if (*p < '0' || *p > '9')
                return NM_ERR_PARSE;
            v[f] = v[f] * 10 + (unsigned)(*p - '0');
        }
        if (f < 2 && *p++ != '-')
            return NM_ERR_PARSE;
    }
    if (*p != '\0' || v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > mdays[v[1] - 1])
        return NM_ERR_PARSE;
    bool leap = (v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0;
    if (v[1] == 2 && v[2] == 29 && !leap)
        return NM_ERR_PARSE;
    *ret = days_from_civil(v[0], v[1], v[2]) * DAY;
    return 0;
}

static int get_date(struct lc_loader *l, const json_t *o, const char *key, const char *path,
                    bool required, int64_t *ret)
{
    const json_t *v = json_object_get(o, key);
    if (!v) {
        if (required)
            return lc_bad(l, path, "\"%s\" is required (YYYY-MM-DD)", key);
        *ret = 0;
        return 0;
    }
    if (!json_is_string(v) || nm_lifecycle_parse_date(json_string_value(v), ret) < 0)
        return lc_bad(l, path, "\"%s\" must be a date YYYY-MM-DD", key);
    return 0;
}

static int get_text(struct lc_loader *l, const json_t *o, const char *key, const char *path,
                    bool required, const char **ret)
{
    const json_t *v = json_object_get(o, key);
    *ret = NULL;
    if (!v && !required)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return lc_bad(l, path, "\"%s\" must be a non-empty string", key);
    *ret = json_string_value(v);
    return 0;
}

static int get_source(struct lc_loader *l, const json_t *o, const char *path)
{
    const char *src;
    int r = get_text(l, o, "source", path, true, &src);
    if (r < 0)
        return r;
    if (!nm_str_has_prefix(src, "https://") && !nm_str_has_prefix(src, "http://"))
        return lc_bad(l, path, "\"source\" must be the public URL the dates come from%s", "");
    return 0;
}

static bool marker_ok(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = m; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

static int check_programs(struct lc_loader *l, const char *dist, const json_t *programs)
{
    static const char *const keys[] = {"name", "automatic", "marker", "source", "comment", NULL};
    char path[256];
    const char *id, *s;
    const json_t *p;
    int r;
    if (!programs)
        return 0;
    snprintf(path, sizeof path, "distributions.%s.programs", dist);
    if (!json_is_object(programs))
        return lc_bad(l, path, "must be an object {id: {name, automatic|marker, source}}%s", "");
    json_object_foreach ((json_t *)programs, id, p) {
        snprintf(path, sizeof path, "distributions.%s.programs.%s", dist, id);
        if (!json_is_object(p))
            return lc_bad(l, path, "must be an object%s", "");
        if ((r = lc_only_keys(l, p, path, keys)) < 0 ||
            (r = get_text(l, p, "name", path, true, &s)) < 0 || (r = get_source(l, p, path)) < 0 ||
            (r = get_text(l, p, "marker", path, false, &s)) < 0)
            return r;
        const json_t *a = json_object_get(p, "automatic");
        if (a && !json_is_boolean(a))
            return lc_bad(l, path, "\"automatic\" must be true or false%s", "");
        if (s && !marker_ok(s))
            return lc_bad(l, path, "\"marker\" must be 1-64 characters of [a-z0-9-]%s", "");
        if (!json_is_true(a) && !s)
            return lc_bad(l, path,
                          "needs \"automatic\": true or a \"marker\" the probe prints, "
                          "else no host could ever be on it%s",
                          "");
    }
    return 0;
}

static int check_release(struct lc_loader *l, const char *dist, const json_t *programs, size_t i,
                         const json_t *rel, const json_t *prev)
{
    static const char *const keys[] = {"version",  "codename", "released", "security_end",
                                       "extended", "source",   "comment",  NULL};
    static const char *const xkeys[] = {"program", "end", "comment", NULL};
    char path[256];
    const char *version, *s;
    int64_t released, sec_end, end, last;
    int r;
    snprintf(path, sizeof path, "distributions.%s.releases[%zu]", dist, i);
    if (!json_is_object(rel))
        return lc_bad(l, path, "must be an object%s", "");
    if ((r = lc_only_keys(l, rel, path, keys)) < 0 ||
        (r = get_text(l, rel, "version", path, true, &version)) < 0 ||
        (r = get_text(l, rel, "codename", path, false, &s)) < 0 ||
        (r = get_date(l, rel, "released", path, true, &released)) < 0 ||
        (r = get_date(l, rel, "security_end", path, true, &sec_end)) < 0 ||
        (r = get_source(l, rel, path)) < 0)
        return r;
    for (const char *p = version; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
            return lc_bad(l, path, "\"version\" \"%s\" must be digits and dots, as VERSION_ID",
                          version);
    if (sec_end < released)
        return lc_bad(l, path, "security_end is before the release date%s", "");
    if (prev) {
        const char *pv = json_string_value(json_object_get(prev, "version"));
        int64_t pr = 0;
        nm_lifecycle_parse_date(json_string_value(json_object_get(prev, "released")), &pr);
        if (nm_version_compare(pv, version) >= 0)
            return lc_bad(l, path, "releases must be in ascending order: %s comes after %s", pv,
                          version);
        if (pr > released)
            return lc_bad(l, path, "release %s is dated before %s, which precedes it", version, pv);
    }
    const json_t *ext = json_object_get(rel, "extended");
    if (!ext)
        return 0;
    if (!json_is_array(ext) || json_array_size(ext) == 0)
        return lc_bad(l, path, "\"extended\" must be a non-empty array of {program, end}%s", "");
    last = sec_end;
    for (size_t k = 0; k < json_array_size(ext); k++) {
        const json_t *x = json_array_get(ext, k);
        char xp[300];
        snprintf(xp, sizeof xp, "%s.extended[%zu]", path, k);
        if (!json_is_object(x))
            return lc_bad(l, xp, "must be an object {program, end}%s", "");
        if ((r = lc_only_keys(l, x, xp, xkeys)) < 0 ||
            (r = get_text(l, x, "program", xp, true, &s)) < 0 ||
            (r = get_date(l, x, "end", xp, true, &end)) < 0)
            return r;
        if (!json_object_get(programs, s))
            return lc_bad(l, xp, "program \"%s\" is not declared in distributions.%s.programs", s,
                          dist);
        if (end <= last)
            return lc_bad(l, xp,
                          "must end after the support before it (security_end, then "
                          "each program in order)%s",
                          "");
        last = end;
    }
    return 0;
}

static int validate(struct lc_loader *l, const json_t *root)
{
    static const char *const keys[] = {"schema", "updated", "comment", "distributions", NULL};
    static const char *const dkeys[] = {"name", "programs", "releases", "comment", NULL};
    int64_t t;
    int r;
    if (!json_is_object(root))
        return lc_bad(l, "(top)", "a lifecycle file holds one JSON object%s", "");
    if ((r = lc_only_keys(l, root, "(top)", keys)) < 0)
        return r;
    const json_t *schema = json_object_get(root, "schema");
    if (!json_is_string(schema) || strcmp(json_string_value(schema), "nearmiss.lifecycle/1") != 0)
        return lc_bad(l, "schema", "must be \"nearmiss.lifecycle/1\"%s", "");
    if ((r = get_date(l, root, "updated", "(top)", false, &t)) < 0)
        return r;
    const json_t *dists = json_object_get(root, "distributions");
    if (!json_is_object(dists) || json_object_size(dists) == 0)
        return lc_bad(l, "distributions", "must be a non-empty object {os-release ID: ...}%s", "");
    const char *id;
    const json_t *dist;
    json_object_foreach ((json_t *)dists, id, dist) {
        char path[256];
        const char *name;
        snprintf(path, sizeof path, "distributions.%s", id);
        if (!json_is_object(dist))
            return lc_bad(l, path, "must be an object {name, programs, releases}%s", "");
        if ((r = lc_only_keys(l, dist, path, dkeys)) < 0 ||
            (r = get_text(l, dist, "name", path, true, &name)) < 0)
            return r;
        const json_t *programs = json_object_get(dist, "programs");
        if ((r = check_programs(l, id, programs)) < 0)
            return r;
        const json_t *rels = json_object_get(dist, "releases");
        if (!json_is_array(rels) || json_array_size(rels) == 0)
            return lc_bad(l, path, "\"releases\" must be a non-empty array%s", "");
        for (size_t i = 0; i < json_array_size(rels); i++)
            if ((r = check_release(l, id, programs, i, json_array_get(rels, i),
                                   i ? json_array_get(rels, i - 1) : NULL)) < 0)
                return r;
    }
    return 0;
}

int nm_lifecycle_load_buffer(const char *name, const char *data, size_t len,
                             struct nm_lifecycle **ret, nm_diag *d)
{
    struct lc_loader l = {.file = name, .d = d};
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return nm_diag_set(d, NM_ERR_PARSE, "%s:%d:%d: %s", name, jerr.line, jerr.column,
                           jerr.text);
    int r = validate(&l, root);
    if (r < 0) {
        json_decref(root);
        return r;
    }
    struct nm_lifecycle *lc = nm_xcalloc(1, sizeof *lc);
    lc->origin = nm_xstrdup(name);
    lc->root = root;
    *ret = lc;
    return 0;
}

int nm_lifecycle_load(const char *path, struct nm_lifecycle **ret, nm_diag *d)
{
    char *data = NULL;
    size_t len = 0;
    int r = nm_read_file(path, LIFECYCLE_FILE_MAX, &data, &len, d);
    if (r == 0)
        r = nm_lifecycle_load_buffer(path, data, len, ret, d);
    free(data);
    return r;
}

void nm_lifecycle_destroy(struct nm_lifecycle *lc)
{
    if (!lc)
        return;
    free(lc->origin);
    json_decref(lc->root);
    free(lc);
}

const char *nm_lifecycle_origin(const struct nm_lifecycle *lc)
{
    return lc->origin;
}

/* ---- where a host stands ------------------------------------------------ */

/* floor((t - now) / DAY), also below zero. */
static int64_t days_until(int64_t now, int64_t t)
{
    int64_t diff = t - now;
    return diff >= 0 ? diff / DAY : -((-diff + DAY - 1) / DAY);
}

/* The release whose version is VERSION_ID or its longest dotted prefix:
 * "9.3" is Rocky 9, "3.19.1" Alpine 3.19, while "15.6" stays SLES 15.6. */
static const json_t *find_release(const json_t *rels, const char *vid)
{
    const json_t *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < json_array_size(rels); i++) {
        const json_t *r = json_array_get(rels, i);
        const char *v = json_string_value(json_object_get(r, "version"));
        size_t n = strlen(v);
        if (strncmp(vid, v, n) == 0 && (vid[n] == '\0' || vid[n] == '.') && n > best_len) {
            best = r;
            best_len = n;
        }
    }
    return best;
}

static bool has_marker(const json_t *markers, const char *m)
{
    for (size_t i = 0; m && i < json_array_size(markers); i++)
        if (json_is_string(json_array_get(markers, i)) &&
            strcmp(json_string_value(json_array_get(markers, i)), m) == 0)
            return true;
    return false;
}

/* The last day of support, the instant it ends (next midnight) is what
 * days are counted to. */
static int64_t end_instant(const json_t *date)
{
    int64_t t = 0;
    nm_lifecycle_parse_date(json_string_value(date), &t);
    return t + DAY;
}

static void set_unknown(json_t *item, const char *reason)
{
    /* Subject and messages still name what the host runs. */
    const char *vid = json_string_value(json_object_get(item, "version_id"));
    json_object_set_new(item, "release", json_string(vid && *vid ? vid : "unknown"));
    json_object_set_new(item, "known", json_false());
    json_object_set_new(item, "phase", json_string("unknown"));
    json_object_set_new(item, "reason", json_string(reason));
}

static void annotate_one(const struct nm_lifecycle *lc, json_t *item, int64_t now)
{
    const char *os = json_string_value(json_object_get(item, "os"));
    const char *vid = json_string_value(json_object_get(item, "version_id"));
    const json_t *dist =
        os ? json_object_get(json_object_get(lc->root, "distributions"), os) : NULL;
    char why[512];
    if (!os || !*os) {
        set_unknown(item, "the host's os-release names no ID");
        return;
    }
    if (!dist) {
        snprintf(why, sizeof why, "no lifecycle data for distribution \"%.64s\" in %s", os,
                 lc->origin);
        set_unknown(item, why);
        return;
    }
    if (!vid || !*vid) {
        snprintf(why, sizeof why,
                 "os-release has no VERSION_ID (a testing, unstable or rolling release has no "
                 "end of support date)");
        set_unknown(item, why);
        return;
    }
    const json_t *rel = find_release(json_object_get(dist, "releases"), vid);
    const char *dname = json_string_value(json_object_get(dist, "name"));
    json_object_set_new(item, "distribution", json_string(dname));
    if (!rel) {
        snprintf(why, sizeof why, "%s %.64s is not in %s (add it, with its source)", dname, vid,
                 lc->origin);
        set_unknown(item, why);
        return;
    }
    const char *version = json_string_value(json_object_get(rel, "version"));
    const char *codename = json_string_value(json_object_get(rel, "codename"));
    json_object_set_new(item, "known", json_true());
    json_object_set_new(item, "release", json_string(version));
    if (codename)
        json_object_set_new(item, "codename", json_string(codename));
    json_object_set_new(item, "release_label",
                        codename ? json_sprintf("%s %s (%s)", dname, version, codename)
                                 : json_sprintf("%s %s", dname, version));
    json_object_set(item, "source", json_object_get(rel, "source"));
    json_object_set(item, "security_end", json_object_get(rel, "security_end"));

    const json_t *programs = json_object_get(dist, "programs");
    const json_t *ext = json_object_get(rel, "extended");
    const json_t *markers = json_object_get(item, "extended_markers");
    int64_t sec_end = end_instant(json_object_get(rel, "security_end"));
    const json_t *last = json_object_get(rel, "security_end");
    const json_t *covering = NULL; /* the latest-ending program in place, still running */
    const json_t *lapsed = NULL;   /* the latest program in place that has ended */
    struct nm_buf avail;
    nm_buf_init(&avail, 1024);
    for (size_t i = 0; i < json_array_size(ext); i++) {
        const json_t *x = json_array_get(ext, i);
        const json_t *prog =
            json_object_get(programs, json_string_value(json_object_get(x, "program")));
        last = json_object_get(x, "end");
        bool in_place = json_is_true(json_object_get(prog, "automatic")) ||
                        has_marker(markers, json_string_value(json_object_get(prog, "marker")));
        if (end_instant(last) <= now) {
            if (in_place)
                lapsed = x;
            continue;
        }
        if (in_place)
            covering = x;
        else
            nm_buf_appendf(&avail, "%s%s until %s", avail.len ? "; " : "",
                           json_string_value(json_object_get(prog, "name")),
                           json_string_value(json_object_get(x, "end")));
    }
    json_object_set(item, "last_end", (json_t *)last);

    const char *phase;
    const json_t *support_end;
    if (now < sec_end) {
        phase = "standard";
        support_end = json_object_get(rel, "security_end");
    } else if (covering) {
        phase = "extended";
        support_end = json_object_get(covering, "end");
        const json_t *prog =
            json_object_get(programs, json_string_value(json_object_get(covering, "program")));
        json_object_set(item, "program", json_object_get(prog, "name"));
    } else if (end_instant(last) > now) {
        /* Counted from the last support the host actually had. */
        phase = "unsupported";
        support_end =
            lapsed ? json_object_get(lapsed, "end") : json_object_get(rel, "security_end");
    } else {
        phase = "ended";
        support_end = last;
    }
    if (avail.len && strcmp(phase, "standard") != 0)
        json_object_set_new(item, "available", json_stringn(avail.data, avail.len));
    nm_buf_finish(&avail);
    json_object_set_new(item, "phase", json_string(phase));
    json_object_set(item, "support_end", (json_t *)support_end);
    json_object_set_new(item, "days_left",
                        json_integer((json_int_t)days_until(now, end_instant(support_end))));
}

void nm_lifecycle_annotate(const struct nm_lifecycle *lc, json_t *items, int64_t now)
{
    for (size_t i = 0; lc && i < json_array_size(items); i++) {
        json_t *item = json_array_get(items, i);
        if (json_is_object(item))
            annotate_one(lc, item, now);
    }
}
