/*
 * What changed since the last run: every finding marked new or persisting,
 * what was resolved, and the run recorded.  Fingerprints are the key: one
 * open episode per fingerprint (a unique partial index enforces it), closed
 * when the finding is gone from a successful scan whose check really ran.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history/internal.h"
#include "nearmiss/model.h"
#include "nearmiss/util.h"

struct diff {
    struct nm_history *h;
    const struct nm_history_ctx *ctx;
    json_t *marks;    /* fingerprint -> "new"/"persisting" for this run */
    json_t *resolved; /* the report's "resolved" */
    long n_new, n_persisting, n_resolved;
    nm_diag *d;
};

static int sql_fail(struct diff *df, const char *what)
{
    return nm_diag_set(df->d, NM_ERR_IO, "%s: %s: %s", df->h->path, what,
                       sqlite3_errmsg(df->h->db));
}

/*
 * Text is bound SQLITE_STATIC, not copied: it points into the host's JSON
 * (or the report's, the check set's, a local buffer), alive until the
 * statement is reset.  The statements stay prepared for the run and the
 * host's JSON is freed after the host, so each is reset as soon as it is
 * done (step_done(), or after reading its rows), not at its next
 * nm_history_stmt(): none is left mid-way over freed text.  A reset
 * statement still has the pointers bound, but SQLite reads a binding only
 * while stepping, and the next use clears or rebinds every parameter.
 */
static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Runs a statement that returns no rows, then resets it. */
static int step_done(struct diff *df, sqlite3_stmt *st, const char *what)
{
    int r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_fail(df, what);
    sqlite3_reset(st);
    return r;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *iso(int64_t t)
{
    char buf[32];
    nm_utc_iso8601(t, buf);
    return json_string(buf);
}

static const struct nm_ledger_def *ledger_def(const struct diff *df, const char *check)
{
    const struct nm_check *c = df->ctx->cs ? nm_checkset_find(df->ctx->cs, check) : NULL;
    if (c && c->ledger.declared)
        return &c->ledger;
    return nm_ledger_fleet_def(check);
}

/* One finding of this run: find or open its episode, keep its worst
 * severity and smallest margin, and mark it in the report. */
static int mark(struct diff *df, const char *host, json_t *f)
{
    struct nm_history *h = df->h;
    const char *fp = jstr(f, "fingerprint"), *check = jstr(f, "check");
    const char *sev = jstr(f, "severity");
    if (!fp || !check || !sev)
        return 0; /* not a finding this code can key */
    const json_t *seen = json_object_get(df->marks, fp);
    sqlite3_stmt *st = nm_history_stmt(
        h, NM_HSTMT_FIND_OPEN,
        "SELECT id, first_seen, severity, worst_severity, margin, failed_at FROM findings "
        "WHERE fingerprint = ?1 AND resolved_at IS NULL");
    if (!st)
        return sql_fail(df, "looking up a finding");
    sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        int r = sql_fail(df, "looking up a finding");
        sqlite3_reset(st);
        return r;
    }
    int64_t now = h->now, first_seen = now, id = 0;
    char prev_sev[16] = "", worst[16] = "";
    bool had_margin = false;
    double old_margin = 0;
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        first_seen = sqlite3_column_int64(st, 1);
        snprintf(prev_sev, sizeof prev_sev, "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(worst, sizeof worst, "%s", (const char *)sqlite3_column_text(st, 3));
        had_margin = sqlite3_column_type(st, 4) != SQLITE_NULL;
        old_margin = sqlite3_column_double(st, 4);
    }
    sqlite3_reset(st);

    const struct nm_ledger_def *def = ledger_def(df, check);
    double margin = NAN;
    bool failed = false;
    if (def) {
        const json_t *item = json_object_get(f, def->item ? def->item : "item");
        nm_ledger_measure(def, item, &margin, &failed);
    }
    bool waived = json_is_true(json_object_get(f, "waived"));
    const char *msg = jstr(f, "message");
    enum nm_severity s = nm_severity_from_name(sev);

    if (rc == SQLITE_ROW) {
        bool smaller = !isnan(margin) && (!had_margin || margin < old_margin);
        bool worse = s > nm_severity_from_name(worst);
        if (!seen && strcmp(prev_sev, sev) != 0) {
            json_object_set_new(f, "previous_severity", json_string(prev_sev));
            sqlite3_stmt *sc = nm_history_stmt(h, NM_HSTMT_SEV_CHANGE,
                                               "INSERT INTO severity_changes(finding_id, at, "
                                               "from_severity, to_severity) VALUES (?1,?2,?3,?4)");
            if (!sc)
                return sql_fail(df, "recording a severity change");
            sqlite3_bind_int64(sc, 1, id);
            sqlite3_bind_int64(sc, 2, now);
            sqlite3_bind_text(sc, 3, prev_sev, -1, SQLITE_STATIC);
            sqlite3_bind_text(sc, 4, sev, -1, SQLITE_STATIC);
            int r = step_done(df, sc, "recording a severity change");
            if (r < 0)
                return r;
        }
        sqlite3_stmt *up =
            nm_history_stmt(h, NM_HSTMT_UPDATE_FINDING,
                            "UPDATE findings SET last_seen = ?2, severity = ?3,"
                            " worst_severity = CASE WHEN ?4 THEN ?3 ELSE worst_severity END,"
                            " worst_at = CASE WHEN ?4 THEN ?2 ELSE worst_at END,"
                            " waived = ?5, message = ?6, failed_at = coalesce(failed_at, ?7),"
                            " margin = CASE WHEN ?8 THEN ?9 ELSE margin END,"
                            " margin_unit = CASE WHEN ?8 THEN ?10 ELSE margin_unit END,"
                            " margin_at = CASE WHEN ?8 THEN ?2 ELSE margin_at END WHERE id = ?1");
        if (!up)
            return sql_fail(df, "updating a finding");
        sqlite3_bind_int64(up, 1, id);
        sqlite3_bind_int64(up, 2, now);
        sqlite3_bind_text(up, 3, sev, -1, SQLITE_STATIC);
        sqlite3_bind_int(up, 4, worse);
        sqlite3_bind_int(up, 5, waived);
        bind_text_or_null(up, 6, msg);
        if (failed)
            sqlite3_bind_int64(up, 7, now);
        sqlite3_bind_int(up, 8, smaller);
        if (smaller)
            sqlite3_bind_double(up, 9, margin);
        bind_text_or_null(up, 10, def ? def->unit : NULL);
        int r = step_done(df, up, "updating a finding");
        if (r < 0)
            return r;
    } else {
        sqlite3_stmt *in = nm_history_stmt(
            h, NM_HSTMT_INSERT_FINDING,
            "INSERT INTO findings(fingerprint, host, check_id, category, subject, first_seen,"
            " last_seen, severity, worst_severity, worst_at, waived, message, failed_at, margin,"
            " margin_unit, margin_at) VALUES (?1,?2,?3,?4,?5,?6,?6,?7,?7,?6,?8,?9,?10,?11,?12,"
            " CASE WHEN ?11 IS NULL THEN NULL ELSE ?6 END)");
        if (!in)
            return sql_fail(df, "recording a finding");
        const char *category = jstr(f, "category"), *subject = jstr(f, "subject");
        sqlite3_bind_text(in, 1, fp, -1, SQLITE_STATIC);
        bind_text_or_null(in, 2, host);
        sqlite3_bind_text(in, 3, check, -1, SQLITE_STATIC);
        bind_text_or_null(in, 4, category ? category : "health");
        bind_text_or_null(in, 5, subject ? subject : "");
        sqlite3_bind_int64(in, 6, now);
        sqlite3_bind_text(in, 7, sev, -1, SQLITE_STATIC);
        sqlite3_bind_int(in, 8, waived);
        bind_text_or_null(in, 9, msg);
        if (failed)
            sqlite3_bind_int64(in, 10, now);
        if (!isnan(margin))
            sqlite3_bind_double(in, 11, margin);
        bind_text_or_null(in, 12, def ? def->unit : NULL);
        int r = step_done(df, in, "recording a finding");
        if (r < 0)
            return r;
    }
    /* The same fingerprint twice in one report is one finding seen twice. */
    const char *change = seen ? json_string_value(seen) : rc == SQLITE_ROW ? "persisting" : "new";
    if (!seen) {
        json_object_set_new(df->marks, fp, json_string(change));
        if (strcmp(change, "new") == 0)
            df->n_new++;
        else
            df->n_persisting++;
    }
    json_object_set_new(f, "change", json_string(change));
    json_object_set_new(f, "first_seen", iso(first_seen));
    return 0;
}

/* Whether the host's scan (NULL: the fleet's part, where every check can)
 * vouches for the findings of check: the check ran (pass, warn, fail or
 * waived).  A check that errored (or did not apply) says nothing about its
 * old findings.  Asked only for an open finding the run did not see, which
 * is rare, rather than building a set of the checks that ran for every
 * host. */
static bool vouches(const json_t *scan, const char *check)
{
    size_t i;
    json_t *c;
    if (!scan)
        return true;
    if (!check)
        return false;
    json_array_foreach (json_object_get(scan, "checks"), i, c) {
        const char *id = jstr(c, "id"), *res = jstr(c, "result");
        if (id && res && strcmp(id, check) == 0 &&
            (strcmp(res, "pass") == 0 || strcmp(res, "warn") == 0 || strcmp(res, "fail") == 0 ||
             strcmp(res, "waived") == 0))
            return true;
    }
    return false;
}

/* Open episodes of host (NULL: the fleet's) that this run did not see and
 * whose check really ran (scan: the host's entry of the report, NULL for
 * the fleet) are resolved. */
static int resolve_missing(struct diff *df, const char *host, const json_t *scan)
{
    struct nm_history *h = df->h;
    sqlite3_stmt *st =
        nm_history_stmt(h, NM_HSTMT_HOST_OPEN,
                        "SELECT id, fingerprint, check_id, category, subject, severity, first_seen "
                        "FROM findings WHERE host IS ?1 AND resolved_at IS NULL ORDER BY id");
    if (!st)
        return sql_fail(df, "reading open findings");
    bind_text_or_null(st, 1, host);
    json_t *gone = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *fp = (const char *)sqlite3_column_text(st, 1);
        const char *check = (const char *)sqlite3_column_text(st, 2);
        if (json_object_get(df->marks, fp) || !vouches(scan, check))
            continue;
        json_t *r = json_object();
        json_object_set_new(r, "host", host ? json_string(host) : json_null());
        json_object_set_new(r, "check", json_string(check));
        json_object_set_new(r, "category", json_string((const char *)sqlite3_column_text(st, 3)));
        json_object_set_new(r, "subject", json_string((const char *)sqlite3_column_text(st, 4)));
        json_object_set_new(r, "fingerprint", json_string(fp));
        json_object_set_new(r, "severity", json_string((const char *)sqlite3_column_text(st, 5)));
        json_object_set_new(r, "first_seen", iso(sqlite3_column_int64(st, 6)));
        json_object_set_new(r, "resolved_at", iso(h->now));
        json_object_set_new(r, "_id", json_integer(sqlite3_column_int64(st, 0)));
        json_array_append_new(gone, r);
    }
    if (rc != SQLITE_DONE) {
        int r = sql_fail(df, "reading open findings");
        sqlite3_reset(st);
        json_decref(gone);
        return r;
    }
    sqlite3_reset(st);
    size_t i;
    json_t *r;
    json_array_foreach (gone, i, r) {
        sqlite3_stmt *up = nm_history_stmt(h, NM_HSTMT_RESOLVE,
                                           "UPDATE findings SET resolved_at = ?2 WHERE id = ?1");
        if (!up) {
            json_decref(gone);
            return sql_fail(df, "resolving a finding");
        }
        sqlite3_bind_int64(up, 1, json_integer_value(json_object_get(r, "_id")));
        sqlite3_bind_int64(up, 2, h->now);
        int e = step_done(df, up, "resolving a finding");
        if (e < 0) {
            json_decref(gone);
            return e;
        }
        json_object_del(r, "_id");
        json_array_append(df->resolved, r);
        df->n_resolved++;
    }
    json_decref(gone);
    return 0;
}

/* A number the host reported, and the series it is recorded in. */
struct metric {
    const char *check, *item, *field; /* keys in the host's JSON */
    double value;
    struct metric *same; /* the one of its key that holds the series */
    int64_t series;      /* 0: not in the database yet */
};

/* strcmp() order: the same as the keys are bound, as C strings. */
static int metric_cmp(const struct metric *a, const struct metric *b)
{
    int c = strcmp(a->check, b->check);
    if (c == 0)
        c = strcmp(a->item, b->item);
    if (c == 0)
        c = strcmp(a->field, b->field);
    return c;
}

static int metric_pcmp(const void *a, const void *b)
{
    return metric_cmp(*(struct metric *const *)a, *(struct metric *const *)b);
}

/* Column i as a key the per-metric lookup (text bound from a C string)
 * could have matched: text without a NUL; NULL for anything else. */
static const char *key_column(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) != SQLITE_TEXT)
        return NULL;
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s && strlen(s) == (size_t)sqlite3_column_bytes(st, i) ? s : NULL;
}

/* The series of the host's metrics that exist: one query for the host
 * (served by the series' UNIQUE (host, check_id, item, field) index, which
 * holds every column asked for) instead of one lookup per metric; each row
 * is looked up among the sorted metrics.  Series the host no longer
 * reports are passed over, so nothing is kept but the metrics. */
static int host_series(struct diff *df, const char *host, struct metric **sorted, size_t n)
{
    sqlite3_stmt *st = nm_history_stmt(df->h, NM_HSTMT_HOST_SERIES,
                                       "SELECT id, check_id, item, field FROM series "
                                       "WHERE host = ?1");
    if (!st)
        return sql_fail(df, "reading series");
    sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct metric key = {
            .check = key_column(st, 1), .item = key_column(st, 2), .field = key_column(st, 3)};
        if (!key.check || !key.item || !key.field)
            continue;
        const struct metric *kp = &key;
        struct metric **hit = bsearch(&kp, sorted, n, sizeof *sorted, metric_pcmp);
        if (hit)
            (*hit)->same->series = sqlite3_column_int64(st, 0);
    }
    int r = rc == SQLITE_DONE ? 0 : sql_fail(df, "reading series");
    sqlite3_reset(st);
    return r;
}

static int add_series(struct diff *df, const char *host, struct metric *m)
{
    sqlite3_stmt *in =
        nm_history_stmt(df->h, NM_HSTMT_SERIES_ADD,
                        "INSERT INTO series(host, check_id, item, field) VALUES (?1, ?2, ?3, ?4)");
    if (!in)
        return sql_fail(df, "adding a series");
    sqlite3_bind_text(in, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_text(in, 2, m->check, -1, SQLITE_STATIC);
    sqlite3_bind_text(in, 3, m->item, -1, SQLITE_STATIC);
    sqlite3_bind_text(in, 4, m->field, -1, SQLITE_STATIC);
    int r = step_done(df, in, "adding a series");
    if (r == 0)
        m->series = sqlite3_last_insert_rowid(df->h->db);
    return r;
}

/*
 * The host's recorded metrics, numbers only: what forecasts and trends
 * read.  The host's series are read at once (host_series()); then per
 * metric only its sample is written, and its series first when it is new,
 * in the metrics' order as before, so new series get the same ids.  The
 * two arrays hold this host's metrics only and are freed before the next
 * host.
 */
static int record_metrics(struct diff *df, const char *host, const json_t *metrics)
{
    const char *check, *item, *field;
    json_t *per_check, *rec, *v;
    struct metric *m = NULL, **sorted = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    json_object_foreach ((json_t *)metrics, check, per_check) {
        json_object_foreach (per_check, item, rec) {
            json_object_foreach (rec, field, v) {
                if (!json_is_number(v))
                    continue;
                if (n == cap) {
                    cap = cap ? 2 * cap : 16;
                    m = nm_xreallocarray(m, cap, sizeof *m);
                }
                m[n++] = (struct metric){
                    .check = check, .item = item, .field = field, .value = json_number_value(v)};
            }
        }
    }
    if (n == 0)
        return 0;
    sorted = nm_xreallocarray(NULL, n, sizeof *sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = &m[i];
    qsort(sorted, n, sizeof *sorted, metric_pcmp);
    /* Keys are unique in each JSON object, but compared as the C strings
     * they are bound as, two that differ only after a NUL are one series:
     * the first of equal keys holds it for all of them. */
    for (size_t i = 0; i < n; i++)
        sorted[i]->same =
            i > 0 && metric_cmp(sorted[i], sorted[i - 1]) == 0 ? sorted[i - 1]->same : sorted[i];
    if ((r = host_series(df, host, sorted, n)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct metric *s = m[i].same;
        if (!s->series && (r = add_series(df, host, s)) < 0)
            goto out;
        sqlite3_stmt *st = nm_history_stmt(
            df->h, NM_HSTMT_SAMPLE_ADD,
            "INSERT OR REPLACE INTO samples(run_id, series_id, value) VALUES (?2,?1,?3)");
        if (!st) {
            r = sql_fail(df, "recording a sample");
            goto out;
        }
        sqlite3_bind_int64(st, 1, s->series);
        sqlite3_bind_int64(st, 2, df->h->run_id);
        sqlite3_bind_double(st, 3, m[i].value);
        if ((r = step_done(df, st, "recording a sample")) < 0)
            goto out;
    }
out:
    free(sorted);
    free(m);
    return r;
}

static int host_scan(struct diff *df, const json_t *host)
{
    sqlite3_stmt *st = nm_history_stmt(
        df->h, NM_HSTMT_HOST_SCAN,
        "INSERT OR REPLACE INTO host_scans(run_id, host, status, score) VALUES (?1,?2,?3,?4)");
    if (!st)
        return sql_fail(df, "recording a host");
    const char *status = jstr(host, "status");
    sqlite3_bind_int64(st, 1, df->h->run_id);
    sqlite3_bind_text(st, 2, jstr(host, "name"), -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, status ? status : "error");
    const json_t *score = json_object_get(host, "score");
    if (json_is_number(score))
        sqlite3_bind_int64(st, 4, (int64_t)json_number_value(score));
    return step_done(df, st, "recording a host");
}

static int previous_run(struct diff *df, int64_t *ret_at, long *ret_runs)
{
    sqlite3_stmt *st = NULL;
    *ret_at = INT64_MIN;
    *ret_runs = 0;
    if (sqlite3_prepare_v2(df->h->db, "SELECT max(started_at), count(*) FROM runs WHERE id != ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(df, "reading runs");
    sqlite3_bind_int64(st, 1, df->h->run_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL)
            *ret_at = sqlite3_column_int64(st, 0);
        *ret_runs = (long)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return 0;
}

static int add_run(struct diff *df)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(df->h->db, "INSERT INTO runs(started_at) VALUES (?1)", -1, &st, NULL) !=
        SQLITE_OK)
        return sql_fail(df, "recording the run");
    sqlite3_bind_int64(st, 1, df->h->now);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sql_fail(df, "recording the run");
    df->h->run_id = sqlite3_last_insert_rowid(df->h->db);
    return 0;
}

static int finish_run(struct diff *df, const json_t *summary)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(df->h->db,
                           "UPDATE runs SET hosts = ?2, scanned = ?3, failed = ?4, new = ?5, "
                           "persisting = ?6, resolved = ?7 WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(df, "recording the run");
    sqlite3_bind_int64(st, 1, df->h->run_id);
    sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(summary, "hosts")));
    sqlite3_bind_int64(st, 3, json_integer_value(json_object_get(summary, "scanned")));
    sqlite3_bind_int64(st, 4, json_integer_value(json_object_get(summary, "failed")));
    sqlite3_bind_int64(st, 5, df->n_new);
    sqlite3_bind_int64(st, 6, df->n_persisting);
    sqlite3_bind_int64(st, 7, df->n_resolved);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sql_fail(df, "recording the run");
}

struct nm_history_diff {
    struct diff df;
    struct nm_history_ctx ctx; /* a copy: the caller's may be gone by the next host */
    int64_t prev_at;
    long prev_runs;
};

int nm_history_diff_begin(struct nm_history *h, const struct nm_history_ctx *ctx,
                          struct nm_history_diff **ret, nm_diag *d)
{
    struct nm_history_diff *x = nm_xcalloc(1, sizeof *x);
    x->ctx = *ctx;
    x->df = (struct diff){
        .h = h, .ctx = &x->ctx, .marks = json_object(), .resolved = json_array(), .d = d};
    int r;
    if ((r = add_run(&x->df)) < 0 || (r = previous_run(&x->df, &x->prev_at, &x->prev_runs)) < 0) {
        nm_history_diff_free(x);
        return r;
    }
    *ret = x;
    return 0;
}

int nm_history_diff_host(struct nm_history_diff *x, json_t *host, nm_diag *d)
{
    struct diff *df = &x->df;
    df->d = d;
    const char *name = jstr(host, "name");
    size_t j;
    json_t *f;
    int r;
    if (!name)
        return 0;
    if ((r = host_scan(df, host)) < 0)
        return r;
    /* A host that could not be scanned tells nothing: its findings are
     * unknown, not fixed, and nothing is marked or resolved. */
    const char *status = jstr(host, "status");
    if (!status || strcmp(status, "ok") != 0)
        return 0;
    json_array_foreach (json_object_get(host, "findings"), j, f) {
        if ((r = mark(df, name, f)) < 0)
            return r;
    }
    r = resolve_missing(df, name, host);
    if (r == 0)
        r = record_metrics(df, name, json_object_get(host, "metrics"));
    return r;
}

int nm_history_diff_end(struct nm_history_diff *x, json_t *report, nm_diag *d)
{
    struct diff *df = &x->df;
    df->d = d;
    size_t j;
    json_t *f;
    int r;
    json_array_foreach (json_object_get(report, "fleet_findings"), j, f) {
        if ((r = mark(df, NULL, f)) < 0)
            return r;
    }
    if ((r = resolve_missing(df, NULL, NULL)) < 0)
        return r;

    json_t *summary = json_object_get(report, "summary");
    if (!json_is_object(summary)) {
        summary = json_object();
        json_object_set_new(report, "summary", summary);
    }
    json_object_set_new(summary, "changes",
                        json_pack("{s:I, s:I, s:I}", "new", (json_int_t)df->n_new, "persisting",
                                  (json_int_t)df->n_persisting, "resolved",
                                  (json_int_t)df->n_resolved));
    json_object_set(report, "resolved", df->resolved);
    if ((r = finish_run(df, summary)) < 0)
        return r;

    json_t *hist = json_object();
    json_object_set_new(hist, "database", json_string(NM_HISTORY_FILE));
    json_object_set_new(hist, "previous_run",
                        x->prev_at == INT64_MIN ? json_null() : iso(x->prev_at));
    json_object_set_new(hist, "runs", json_integer(x->prev_runs + 1));
    json_t *window = NULL;
    if ((r = nm_ledger_window(df->h->db, df->h->now, 30, &window, d)) < 0) {
        json_decref(hist);
        return r;
    }
    json_object_set_new(hist, "ledger", window);
    json_object_set_new(report, "history", hist);
    return 0;
}

void nm_history_diff_free(struct nm_history_diff *x)
{
    if (!x)
        return;
    json_decref(x->df.marks);
    json_decref(x->df.resolved);
    free(x);
}

int nm_history_diff(struct nm_history *h, const struct nm_history_ctx *ctx, json_t *report,
                    nm_diag *d)
{
    struct nm_history_diff *x = NULL;
    int r = nm_history_diff_begin(h, ctx, &x, d);
    size_t i;
    json_t *host;
    if (r < 0)
        return r;
    json_array_foreach (json_object_get(report, "hosts"), i, host) {
        if ((r = nm_history_diff_host(x, host, d)) < 0)
            goto out;
    }
    r = nm_history_diff_end(x, report, d);
out:
    nm_history_diff_free(x);
    return r;
}
