/*
 * What only history can tell, added before scores and summaries see the
 * findings: forecasts (checks with "source": "history", e.g. disk-forecast:
 * a least-squares line through a filesystem's free space and free inodes)
 * and trends (checks with "trend": a drive counter that grew since the
 * host's previous scan raises its finding one severity).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history/internal.h"
#include "nearmiss/model.h"
#include "nearmiss/score.h"
#include "nearmiss/util.h"

int nm_fit_line(const double *x, const double *y, size_t n, struct nm_fit *ret)
{
    if (n < 2)
        return NM_ERR_INVAL;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, sxy = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx <= 0)
        return NM_ERR_INVAL;
    struct nm_fit f = {.n = n};
    f.slope = sxy / sxx;
    f.intercept = my - f.slope * mx;
    /* A flat series is explained perfectly by a flat line. */
    f.r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 1.0;
    *ret = f;
    return 0;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static double opt_num(const json_t *o, const char *k, double def)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : def;
}

static double round1(double v)
{
    return round(v * 10.0) / 10.0;
}

static void date_of(int64_t t, char out[16])
{
    char iso[32];
    nm_utc_iso8601(t, iso);
    snprintf(out, 16, "%.10s", iso);
}

/* ---- forecasts ---------------------------------------------------------- */

struct points {
    double *t; /* unix seconds */
    double *v;
    size_t n, alloc;
};

static void points_add(struct points *p, double t, double v)
{
    if (p->n == p->alloc) {
        p->alloc = p->alloc ? 2 * p->alloc : 32;
        p->t = nm_xreallocarray(p->t, p->alloc, sizeof *p->t);
        p->v = nm_xreallocarray(p->v, p->alloc, sizeof *p->v);
    }
    p->t[p->n] = t;
    p->v[p->n] = v;
    p->n++;
}

static int load_points(struct nm_history *h, const char *host, const char *check, const char *item,
                       const char *field, int64_t since, struct points *p, nm_diag *d)
{
    sqlite3_stmt *st = nm_history_stmt(
        h, NM_HSTMT_SERIES_POINTS,
        "SELECT r.started_at, v.value FROM runs r JOIN samples v ON v.run_id = r.id "
        "WHERE v.series_id = (SELECT id FROM series WHERE host = ?1 AND check_id = ?2 "
        "AND item = ?3 AND field = ?4) AND r.started_at >= ?5 AND r.started_at < ?6 "
        "ORDER BY r.started_at");
    if (!st)
        return nm_diag_set(d, NM_ERR_IO, "%s: %s", h->path, sqlite3_errmsg(h->db));
    sqlite3_bind_text(st, 1, host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, check, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, item, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, field, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, since);
    sqlite3_bind_int64(st, 6, h->now);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        points_add(p, (double)sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1));
    if (rc != SQLITE_DONE)
        return nm_diag_set(d, NM_ERR_IO, "%s: %s", h->path, sqlite3_errmsg(h->db));
    return 0;
}

struct forecast {
    bool growing;
    double days_to_full;
    double growth_per_day; /* units of the free field per day, positive = filling */
    double growth_pct_per_day;
    size_t points;
    double span_hours;
    double r2;
    bool enough_history; /* before any clean-up: the filesystem is judged */
};

/* One resource (space or inodes) of one filesystem: the line through the
 * free amount since the last clean-up, and where it reaches zero. */
static int forecast_one(struct nm_history *h, const json_t *opts, const char *host, const char *of,
                        const char *mount, const json_t *rec, const json_t *spec,
                        struct forecast *ret, nm_diag *d)
{
    const char *free_f = jstr(spec, "free"), *total_f = jstr(spec, "total");
    const json_t *cur = json_object_get(rec, free_f), *tot = json_object_get(rec, total_f);
    memset(ret, 0, sizeof *ret);
    if (!free_f || !total_f || !json_is_number(cur) || !json_is_number(tot) ||
        json_number_value(tot) <= 0)
        return 0;
    double total = json_number_value(tot);
    int64_t window = (int64_t)(opt_num(opts, "window_days", 30) * 86400);
    struct points p = {0};
    int r = load_points(h, host, of, mount, free_f, h->now - window, &p, d);
    if (r < 0)
        goto out;
    points_add(&p, (double)h->now, json_number_value(cur));
    /* A rise of free space beyond noise is a clean-up (or a bigger
     * filesystem): the past before it says nothing about the future, and a
     * filesystem just cleaned stops forecasting at once. */
    double reset = opt_num(opts, "reset_on_free_rise_pct", 2) / 100.0 * total;
    size_t start = 0;
    for (size_t i = 1; i < p.n; i++)
        if (p.v[i] - p.v[i - 1] > reset)
            start = i;
    size_t n = p.n - start;
    /* Enough history makes the filesystem judged (a pass after a clean-up
     * resolves its forecast); enough points since the clean-up make a line. */
    ret->enough_history = p.n >= (size_t)opt_num(opts, "min_points", 3) &&
                          (p.t[p.n - 1] - p.t[0]) / 3600.0 >= opt_num(opts, "min_span_hours", 12);
    ret->points = n;
    ret->span_hours = n ? (p.t[p.n - 1] - p.t[start]) / 3600.0 : 0;
    if (n < (size_t)opt_num(opts, "min_points", 3) ||
        ret->span_hours < opt_num(opts, "min_span_hours", 12))
        goto out;
    double *x = nm_xcalloc(n, sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (p.t[start + i] - (double)h->now) / 86400.0; /* days, now = 0 */
    struct nm_fit fit;
    r = nm_fit_line(x, p.v + start, n, &fit);
    free(x);
    if (r < 0) {
        r = 0;
        goto out;
    }
    ret->r2 = fit.r2;
    ret->growth_per_day = -fit.slope;
    ret->growth_pct_per_day = -fit.slope / total * 100.0;
    if (fit.slope < 0) {
        ret->growing = true;
        /* free(x) = a + b x reaches 0 at x = -a / b days from now. */
        ret->days_to_full = -fit.intercept / fit.slope;
        if (ret->days_to_full < 0)
            ret->days_to_full = 0;
    }
out:
    free(p.t);
    free(p.v);
    return r;
}

static bool judged_critical(const json_t *host, const char *check, const char *subject)
{
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(host, "findings"), i, f) {
        const char *c = jstr(f, "check"), *s = jstr(f, "subject"), *sev = jstr(f, "severity");
        if (c && s && sev && strcmp(c, check) == 0 && strcmp(s, subject) == 0 &&
            strcmp(sev, "critical") == 0)
            return true;
    }
    return false;
}

/* The items of a "linear-forecast" check for one host. */
static int forecast_items(struct nm_history *h, const struct nm_check *c, const json_t *host,
                          json_t *items, nm_diag *d)
{
    const json_t *opts = c->history;
    const char *of = jstr(opts, "of"), *name = jstr(host, "name");
    const json_t *series = json_object_get(opts, "series");
    const json_t *per_item = json_object_get(json_object_get(host, "metrics"), of ? of : "");
    double horizon = opt_num(opts, "horizon_days", 14);
    const char *key;
    json_t *rec;
    if (!of || !json_is_array(series))
        return 0;
    json_object_foreach ((json_t *)per_item, key, rec) {
        struct forecast best = {0};
        const char *best_res = NULL, *best_free = NULL;
        bool considered = false;
        size_t i;
        json_t *spec;
        json_array_foreach (series, i, spec) {
            struct forecast fc;
            int r = forecast_one(h, opts, name, of, key, rec, spec, &fc, d);
            if (r < 0)
                return r;
            considered = considered || fc.enough_history;
            if (fc.growing && (!best.growing || fc.days_to_full < best.days_to_full)) {
                best = fc;
                best_res = jstr(spec, "resource");
                best_free = jstr(spec, "free");
            }
        }
        if (!considered)
            continue;
        json_t *it = json_object();
        json_object_set_new(it, "subject", json_string(key));
        json_object_set_new(it, "mount", json_string(key));
        const char *skip = jstr(opts, "unless_critical");
        bool skipped = skip && judged_critical(host, skip, key);
        if (skipped)
            json_object_set_new(it, "skipped",
                                json_sprintf("%s already judges %s critical", skip, key));
        if (best.growing && !skipped && best.days_to_full <= horizon) {
            char full_at[32];
            nm_utc_iso8601(h->now + (int64_t)(best.days_to_full * 86400), full_at);
            json_object_set_new(it, "resource", json_string(best_res ? best_res : "space"));
            json_object_set_new(it, "days_to_full", json_real(round1(best.days_to_full)));
            json_object_set_new(it, "full_at", json_string(full_at));
            json_object_set_new(it, "points", json_integer((json_int_t)best.points));
            json_object_set_new(it, "span_hours", json_real(round1(best.span_hours)));
            json_object_set_new(it, "slope_per_day", json_real(round(-best.growth_per_day)));
            json_object_set_new(it, "growth_pct_per_day",
                                json_real(round(best.growth_pct_per_day * 100) / 100));
            json_object_set_new(it, "r2", json_real(round(best.r2 * 1000) / 1000));
            json_object_set_new(
                it, "evidence",
                json_sprintf("least-squares fit of %s (%s) over %zu successful scans spanning "
                             "%.1f h: slope %.0f per day (%.2f %% of the filesystem per day, "
                             "filling), r2 = %.3f; the line reaches 0 free on %s",
                             best_free ? best_free : "free", best_res ? best_res : "space",
                             best.points, best.span_hours, -best.growth_per_day,
                             best.growth_pct_per_day, best.r2, full_at));
        } else {
            json_object_set_new(it, "days_to_full", json_null());
        }
        json_array_append_new(items, it);
    }
    return 0;
}

/* ---- trends --------------------------------------------------------------- */

static int last_sample(struct nm_history *h, const char *host, const char *check, const char *item,
                       const char *field, double *ret_v, int64_t *ret_at, bool *ret_found,
                       nm_diag *d)
{
    sqlite3_stmt *st = nm_history_stmt(
        h, NM_HSTMT_LAST_SAMPLE,
        "SELECT v.value, r.started_at FROM runs r JOIN samples v ON v.run_id = r.id "
        "WHERE v.series_id = (SELECT id FROM series WHERE host = ?1 AND check_id = ?2 "
        "AND item = ?3 AND field = ?4) AND r.started_at < ?5 "
        "ORDER BY r.started_at DESC LIMIT 1");
    if (!st)
        return nm_diag_set(d, NM_ERR_IO, "%s: %s", h->path, sqlite3_errmsg(h->db));
    sqlite3_bind_text(st, 1, host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, check, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, item, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, field, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, h->now);
    int rc = sqlite3_step(st);
    *ret_found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        *ret_v = sqlite3_column_double(st, 0);
        *ret_at = sqlite3_column_int64(st, 1);
    } else if (rc != SQLITE_DONE) {
        return nm_diag_set(d, NM_ERR_IO, "%s: %s", h->path, sqlite3_errmsg(h->db));
    }
    return 0;
}

static json_t *find_item_finding(json_t *host, const struct nm_check *c, const char *key)
{
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(host, "findings"), i, f) {
        const char *k = jstr(json_object_get(f, "item"), c->record_key);
        if (k && strcmp(jstr(f, "check") ? jstr(f, "check") : "", c->id) == 0 &&
            strcmp(k, key) == 0)
            return f;
    }
    return NULL;
}

static void append_text(json_t *f, const char *field, const char *sep, const char *add)
{
    const char *old = jstr(f, field);
    json_object_set_new(f, field,
                        old && *old ? json_sprintf("%s%s%s", old, sep, add) : json_string(add));
}

/* Raises (or, below every rule, creates) the finding of each item whose
 * trend fields grew.  Returns 1 when the host changed. */
static int trend_host(struct nm_history *h, const struct nm_check *c, json_t *host, nm_diag *d)
{
    const char *name = jstr(host, "name"), *key;
    json_t *rec;
    int changed = 0;
    json_object_foreach (json_object_get(json_object_get(host, "metrics"), c->id), key, rec) {
        struct nm_buf notes;
        json_t *growth = json_array();
        nm_buf_init(&notes, 4096);
        for (size_t i = 0; i < c->n_trend; i++) {
            const json_t *cur = json_object_get(rec, c->trend[i].field);
            double prev;
            int64_t at;
            bool found;
            if (!json_is_number(cur))
                continue;
            int r = last_sample(h, name, c->id, key, c->trend[i].field, &prev, &at, &found, d);
            if (r < 0) {
                json_decref(growth);
                nm_buf_finish(&notes);
                return r;
            }
            double now_v = json_number_value(cur);
            if (!found || now_v - prev < c->trend[i].min_growth)
                continue;
            char day[16];
            date_of(at, day);
            nm_buf_appendf(&notes, "%s%s grew from %g to %g since %s", notes.len ? "; " : "",
                           c->trend[i].field, prev, now_v, day);
            json_array_append_new(growth,
                                  json_pack("{s:s, s:f, s:f, s:s}", "field", c->trend[i].field,
                                            "from", prev, "to", now_v, "since", day));
        }
        if (json_array_size(growth) == 0) {
            json_decref(growth);
            nm_buf_finish(&notes);
            continue;
        }
        json_t *f = find_item_finding(host, c, key);
        if (f) {
            enum nm_severity s = nm_severity_from_name(jstr(f, "severity"));
            enum nm_severity up = s < NM_SEV_CRITICAL ? s + 1 : NM_SEV_CRITICAL;
            if (up != s)
                json_object_set_new(f, "raised_from", json_string(nm_severity_name(s)));
            json_object_set_new(f, "severity", json_string(nm_severity_name(up)));
            char *add = nm_xasprintf("worsening: %s", notes.data);
            append_text(f, "message", " — ", add);
            append_text(f, "evidence", "\n", add);
            free(add);
            json_object_set_new(f, "trend", growth);
            changed = 1;
        } else if (c->subject && strcmp(c->subject, "{subject}") == 0 &&
                   strcmp(c->record_key, "subject") == 0) {
            /* Growth below every threshold is still news: one step above
             * nothing. */
            char fp[65];
            nm_finding_fingerprint(c->id, name, key, fp);
            char *msg = nm_xasprintf("%s: worsening: %s", key, notes.data);
            json_t *item = json_deep_copy(rec);
            json_object_set_new(item, "subject", json_string(key));
            json_t *nf =
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:s, s:s, s:o, s:o}", "check", c->id,
                          "category", c->category, "severity", "low", "subject", key, "message",
                          msg, "value", "threshold", "fingerprint", fp, "evidence", notes.data,
                          "item", item, "trend", growth);
            if (c->remediation)
                json_object_set_new(nf, "remediation", json_string(c->remediation));
            json_array_append_new(json_object_get(host, "findings"), nf);
            free(msg);
            changed = 1;
        } else {
            json_decref(growth);
        }
        nm_buf_finish(&notes);
    }
    return changed;
}

int nm_history_enrich(struct nm_history *h, const struct nm_history_ctx *ctx, json_t *report,
                      nm_diag *d)
{
    size_t i;
    json_t *host;
    json_array_foreach (json_object_get(report, "hosts"), i, host) {
        const char *name = jstr(host, "name"), *status = jstr(host, "status");
        if (!name || !status || strcmp(status, "ok") != 0)
            continue;
        const struct nm_host *nh = ctx->inv ? nm_inventory_find_host(ctx->inv, name) : NULL;
        bool touched = false;
        for (size_t k = 0; ctx->cs && k < ctx->cs->n_checks; k++) {
            const struct nm_check *c = &ctx->cs->checks[k];
            if (c->n_trend && c->record_key) {
                int r = trend_host(h, c, host, d);
                if (r < 0)
                    return r;
                touched = touched || r > 0;
            }
            if (!c->source_history || !nh)
                continue;
            json_t *entry;
            if (!nm_check_applies_to_host(c, nh, NULL, 0)) {
                entry =
                    nm_check_result_entry(c, NM_RESULT_NOTAPPLICABLE,
                                          "host roles/labels/criticality do not match the check");
            } else {
                json_t *items = json_array();
                int r = forecast_items(h, c, host, items, d);
                if (r < 0) {
                    json_decref(items);
                    return r;
                }
                if (json_array_size(items) == 0) {
                    char why[200];
                    snprintf(why, sizeof why,
                             "not enough history yet: needs %g successful scans spanning %g h",
                             opt_num(c->history, "min_points", 3),
                             opt_num(c->history, "min_span_hours", 12));
                    entry = nm_check_result_entry(c, NM_RESULT_NOTAPPLICABLE, why);
                } else {
                    entry =
                        nm_check_judge_items(c, nh, items, json_object_get(host, "findings"), NULL);
                    touched = true;
                }
                json_decref(items);
            }
            json_array_append_new(json_object_get(host, "checks"), entry);
        }
        if (touched) {
            /* New and raised findings are waived and scored like the others. */
            if (ctx->waivers)
                nm_waivers_apply(ctx->waivers, host, ctx->now);
            nm_score_host(host);
        }
    }
    return 0;
}
