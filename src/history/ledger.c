/*
 * The near-miss ledger (docs/ledger.md): from the finding episodes alone,
 * what almost failed, how close it came and how long it took to fix.
 * Outcomes: miss (reached its check's failure point), near_miss (reached
 * the --from severity and cleared before that), open (neither yet).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history/internal.h"
#include "nearmiss/model.h"
#include "nearmiss/util.h"

/* ---- margins ------------------------------------------------------------- */

static bool num(const json_t *o, const char *k, double *ret)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        return false;
    *ret = json_number_value(v);
    return true;
}

void nm_ledger_measure(const struct nm_ledger_def *def, const json_t *item, double *ret_margin,
                       bool *ret_failed)
{
    double best = NAN;
    *ret_failed = false;
    if (!def || !json_is_object(item)) {
        *ret_margin = NAN;
        return;
    }
    if (def->failure_always) {
        *ret_failed = true;
    } else {
        for (size_t i = 0; i < def->n_failure && !*ret_failed; i++)
            *ret_failed = nm_conds_hold(&def->failure[i], 1, item);
    }
    for (size_t i = 0; def->unit && i < def->n_fields; i++) {
        double v, m;
        if (!num(item, def->fields[i], &v))
            continue;
        if (def->has_from)
            v = def->from - v;
        if (def->minus) {
            if (!num(item, def->minus, &m))
                continue;
            v -= m;
        }
        if (isnan(best) || v < best)
            best = v;
    }
    *ret_margin = best;
}

/* Fleet checks have no checks/ file; their ledger terms live here, in the
 * same language (docs/checks.md), read from the finding's "details". */
static const struct {
    const char *check;
    const char *json;
} fleet_defs[] = {
    {"role-redundancy",
     "{\"item\": \"details\","
     " \"failure\": [{\"field\": \"healthy\", \"op\": \"le\", \"value\": 0}],"
     " \"margin\": {\"unit\": \"hosts\", \"field\": \"healthy\", \"minus\": \"min_healthy\"}}"},
    {"role-spread", "{\"item\": \"details\", \"failure\": [], \"margin\": null}"},
    {"role-shared-dns", "{\"item\": \"details\", \"failure\": [], \"margin\": null}"},
    {"role-shared-ntp", "{\"item\": \"details\", \"failure\": [], \"margin\": null}"},
};

static struct nm_ledger_def parsed_fleet[sizeof fleet_defs / sizeof fleet_defs[0]];
static bool parsed_fleet_ok[sizeof fleet_defs / sizeof fleet_defs[0]];

const struct nm_ledger_def *nm_ledger_fleet_def(const char *check)
{
    for (size_t i = 0; check && i < sizeof fleet_defs / sizeof fleet_defs[0]; i++) {
        if (strcmp(check, fleet_defs[i].check) != 0)
            continue;
        if (!parsed_fleet_ok[i]) {
            /* Parsed on first use; the strings are constants, so a failure
             * is a bug caught by the unit tests. */
            json_t *v = json_loads(fleet_defs[i].json, 0, NULL);
            nm_diag d = {{0}};
            if (v && nm_ledger_def_parse(fleet_defs[i].check, v, &parsed_fleet[i], &d) == 0)
                parsed_fleet_ok[i] = true;
            json_decref(v);
            if (!parsed_fleet_ok[i])
                return NULL;
        }
        return &parsed_fleet[i];
    }
    return NULL;
}

/* ---- the ledger ---------------------------------------------------------- */

static json_t *iso(int64_t t)
{
    char buf[32];
    nm_utc_iso8601(t, buf);
    return json_string(buf);
}

static double round1(double v)
{
    return round(v * 10.0) / 10.0;
}

static json_t *text_col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? json_string(s) : json_null();
}

/* Entries whose worst severity reached `from` and that were still around at
 * or after `since` (first seen, or cleared, at or after it). */
static int collect(sqlite3 *db, enum nm_severity from, int64_t since, json_t *entries,
                   json_t *summary, nm_diag *d)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT fingerprint, host, check_id, category, subject, first_seen, "
                           "last_seen, resolved_at, severity, worst_severity, worst_at, "
                           "failed_at, margin, margin_unit, margin_at FROM findings "
                           "WHERE resolved_at IS NULL OR resolved_at >= ?1 "
                           "ORDER BY first_seen, id",
                           -1, &st, NULL) != SQLITE_OK)
        return nm_diag_set(d, NM_ERR_IO, "reading the history: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, since);
    long n_near = 0, n_miss = 0, n_open = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *worst = (const char *)sqlite3_column_text(st, 9);
        if (nm_severity_from_name(worst) < from)
            continue;
        bool cleared = sqlite3_column_type(st, 7) != SQLITE_NULL;
        bool failed = sqlite3_column_type(st, 11) != SQLITE_NULL;
        const char *outcome = failed ? "miss" : cleared ? "near_miss" : "open";
        if (failed)
            n_miss++;
        else if (cleared)
            n_near++;
        else
            n_open++;
        int64_t first = sqlite3_column_int64(st, 5);
        json_t *e = json_object();
        json_object_set_new(e, "outcome", json_string(outcome));
        json_object_set_new(e, "host", text_col(st, 1));
        json_object_set_new(e, "check", text_col(st, 2));
        json_object_set_new(e, "category", text_col(st, 3));
        json_object_set_new(e, "subject", text_col(st, 4));
        json_object_set_new(e, "fingerprint", text_col(st, 0));
        json_object_set_new(e, "first_seen", iso(first));
        json_object_set_new(e, "last_seen", iso(sqlite3_column_int64(st, 6)));
        json_object_set_new(e, "severity", text_col(st, 8));
        json_object_set_new(e, "worst_severity", text_col(st, 9));
        json_object_set_new(e, "worst_at", iso(sqlite3_column_int64(st, 10)));
        json_object_set_new(e, "failed_at",
                            failed ? iso(sqlite3_column_int64(st, 11)) : json_null());
        if (cleared) {
            int64_t at = sqlite3_column_int64(st, 7);
            json_object_set_new(e, "cleared_at", iso(at));
            json_object_set_new(e, "hours_to_fix",
                                json_real(round1((double)(at - first) / 3600.0)));
        } else {
            json_object_set_new(e, "cleared_at", json_null());
            json_object_set_new(e, "hours_to_fix", json_null());
        }
        if (sqlite3_column_type(st, 12) != SQLITE_NULL &&
            sqlite3_column_type(st, 13) != SQLITE_NULL) {
            double m = sqlite3_column_double(st, 12);
            json_t *mv = m == floor(m) && fabs(m) < 1e15 ? json_integer((json_int_t)m)
                                                         : json_real(round1(m));
            json_object_set_new(e, "margin",
                                json_pack("{s:o, s:o, s:o}", "value", mv, "unit", text_col(st, 13),
                                          "at", iso(sqlite3_column_int64(st, 14))));
        } else {
            json_object_set_new(e, "margin", json_null());
        }
        json_array_append_new(entries, e);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return nm_diag_set(d, NM_ERR_IO, "reading the history: %s", sqlite3_errmsg(db));
    json_object_set_new(summary, "near_miss", json_integer(n_near));
    json_object_set_new(summary, "miss", json_integer(n_miss));
    json_object_set_new(summary, "open", json_integer(n_open));
    return 0;
}

int nm_ledger_build(sqlite3 *db, const struct nm_ledger_query *q, json_t **ret, nm_diag *d)
{
    json_t *entries = json_array(), *summary = json_object();
    int r = collect(db, q->from, q->since, entries, summary, d);
    if (r < 0) {
        json_decref(entries);
        json_decref(summary);
        return r;
    }
    json_t *l = json_object();
    json_object_set_new(l, "schema", json_string("nearmiss.ledger/1"));
    json_object_set_new(l, "generated_at", iso(q->now));
    json_object_set_new(l, "from", json_string(nm_severity_name(q->from)));
    json_object_set_new(l, "since", q->since == INT64_MIN ? json_null() : iso(q->since));
    json_object_set_new(l, "summary", summary);
    json_object_set_new(l, "entries", entries);
    *ret = l;
    return 0;
}

/* ---- rendering ----------------------------------------------------------- */

/* Host strings were cleaned when the finding was made; cells still get no
 * control characters and nothing that would break the row. */
static void cell(struct nm_buf *b, const json_t *v, char quote_kind)
{
    char num[64];
    const char *s = NULL;
    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v)), s = num;
    else if (json_is_real(v))
        snprintf(num, sizeof num, "%g", json_real_value(v)), s = num;
    else
        s = "";
    if (quote_kind == ',')
        nm_buf_appends(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            nm_buf_appends(b, " ");
        else if (quote_kind == ',' && *p == '"')
            nm_buf_appends(b, "\"\"");
        else if (quote_kind == '|' && (*p == '|' || *p == '\\' || *p == '`' || *p == '<'))
            nm_buf_appendf(b, "\\%c", *p);
        else
            nm_buf_append(b, p, 1);
    }
    if (quote_kind == ',')
        nm_buf_appends(b, "\"");
}

static const char *const columns[] = {"outcome",  "host",        "check",      "category",
                                      "subject",  "fingerprint", "first_seen", "worst_severity",
                                      "worst_at", "failed_at",   "cleared_at", "hours_to_fix"};

int nm_ledger_render(const json_t *ledger, enum nm_ledger_format f, char **ret_text, nm_diag *d)
{
    struct nm_buf b;
    size_t i, c;
    json_t *e;
    const size_t nc = sizeof columns / sizeof columns[0];
    if (f == NM_LEDGER_JSON) {
        char *s = json_dumps(ledger, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s)
            return nm_diag_set(d, NM_ERR_NOMEM, "cannot render the ledger");
        *ret_text = nm_xasprintf("%s\n", s);
        free(s);
        return 0;
    }
    nm_buf_init(&b, (size_t)1 << 30);
    const json_t *entries = json_object_get(ledger, "entries");
    if (f == NM_LEDGER_CSV) {
        for (c = 0; c < nc; c++)
            nm_buf_appendf(&b, "%s,", columns[c]);
        nm_buf_appends(&b, "margin,margin_unit\n");
        json_array_foreach (entries, i, e) {
            for (c = 0; c < nc; c++) {
                cell(&b, json_object_get(e, columns[c]), ',');
                nm_buf_appends(&b, ",");
            }
            const json_t *m = json_object_get(e, "margin");
            cell(&b, json_object_get(m, "value"), ',');
            nm_buf_appends(&b, ",");
            cell(&b, json_object_get(m, "unit"), ',');
            nm_buf_appends(&b, "\n");
        }
    } else {
        const json_t *s = json_object_get(ledger, "summary");
        nm_buf_appendf(&b,
                       "# Near-miss ledger\n\nGenerated %s from severity %s. "
                       "**%" JSON_INTEGER_FORMAT " near misses, %" JSON_INTEGER_FORMAT
                       " misses, %" JSON_INTEGER_FORMAT " open.**\n\n",
                       json_string_value(json_object_get(ledger, "generated_at")),
                       json_string_value(json_object_get(ledger, "from")),
                       json_integer_value(json_object_get(s, "near_miss")),
                       json_integer_value(json_object_get(s, "miss")),
                       json_integer_value(json_object_get(s, "open")));
        nm_buf_appends(&b, "| outcome | host | check | subject | worst | first seen | cleared | "
                           "hours to fix | margin |\n|---|---|---|---|---|---|---|---|---|\n");
        static const char *const md_cols[] = {"outcome",    "host",           "check",
                                              "subject",    "worst_severity", "first_seen",
                                              "cleared_at", "hours_to_fix"};
        json_array_foreach (entries, i, e) {
            nm_buf_appends(&b, "|");
            for (c = 0; c < sizeof md_cols / sizeof md_cols[0]; c++) {
                nm_buf_appends(&b, " ");
                const json_t *v = json_object_get(e, md_cols[c]);
                if (json_is_null(v) || !v)
                    nm_buf_appends(&b, "–");
                else
                    cell(&b, v, '|');
                nm_buf_appends(&b, " |");
            }
            const json_t *m = json_object_get(e, "margin");
            nm_buf_appends(&b, " ");
            if (json_is_object(m)) {
                cell(&b, json_object_get(m, "value"), '|');
                nm_buf_appends(&b, " ");
                cell(&b, json_object_get(m, "unit"), '|');
            } else {
                nm_buf_appends(&b, "–");
            }
            nm_buf_appends(&b, " |\n");
        }
    }
    *ret_text = nm_buf_steal(&b, NULL);
    return 0;
}

/* ---- the report's 30-day view -------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

struct bag {
    char *key;
    double *v;
    size_t n;
};

static void bag_add(struct bag **bags, size_t *n, const char *key, double v)
{
    size_t i;
    for (i = 0; i < *n && strcmp((*bags)[i].key, key) != 0; i++)
        ;
    if (i == *n) {
        *bags = nm_xreallocarray(*bags, *n + 1, sizeof **bags);
        (*bags)[i] = (struct bag){.key = nm_xstrdup(key)};
        (*n)++;
    }
    (*bags)[i].v = nm_xreallocarray((*bags)[i].v, (*bags)[i].n + 1, sizeof(double));
    (*bags)[i].v[(*bags)[i].n++] = v;
}

static json_t *bag_medians(struct bag *bags, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        json_object_set_new(o, bags[i].key, json_real(round1(median(bags[i].v, bags[i].n))));
        free(bags[i].key);
        free(bags[i].v);
    }
    free(bags);
    return o;
}

/* Episodes that ended (cleared or failed) in [lo, hi) at high or worse. */
static int window_entries(sqlite3 *db, int64_t lo, int64_t hi, json_t *entries,
                          json_t **ret_margins, json_t **ret_fix, nm_diag *d)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(
            db,
            "SELECT host, check_id, category, subject, worst_severity, first_seen, resolved_at, "
            "failed_at, margin, margin_unit FROM findings WHERE worst_severity IN ('high', "
            "'critical') AND coalesce(resolved_at, failed_at) >= ?1 AND "
            "coalesce(resolved_at, failed_at) < ?2 ORDER BY coalesce(resolved_at, failed_at)",
            -1, &st, NULL) != SQLITE_OK)
        return nm_diag_set(d, NM_ERR_IO, "reading the history: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    struct bag *mb = NULL, *fb = NULL;
    size_t nmb = 0, nfb = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bool cleared = sqlite3_column_type(st, 6) != SQLITE_NULL;
        bool failed = sqlite3_column_type(st, 7) != SQLITE_NULL;
        bool has_margin = sqlite3_column_type(st, 8) != SQLITE_NULL;
        const char *unit = (const char *)sqlite3_column_text(st, 9);
        const char *cat = (const char *)sqlite3_column_text(st, 2);
        double hours =
            cleared ? (double)(sqlite3_column_int64(st, 6) - sqlite3_column_int64(st, 5)) / 3600.0
                    : NAN;
        if (has_margin && unit)
            bag_add(&mb, &nmb, unit, sqlite3_column_double(st, 8));
        if (cleared && cat)
            bag_add(&fb, &nfb, cat, hours);
        if (!entries)
            continue;
        json_t *e = json_object();
        json_object_set_new(e, "outcome", json_string(failed ? "miss" : "near_miss"));
        json_object_set_new(e, "host", text_col(st, 0));
        json_object_set_new(e, "check", text_col(st, 1));
        json_object_set_new(e, "category", text_col(st, 2));
        json_object_set_new(e, "subject", text_col(st, 3));
        json_object_set_new(e, "worst_severity", text_col(st, 4));
        json_object_set_new(e, "first_seen", iso(sqlite3_column_int64(st, 5)));
        json_object_set_new(e, "cleared_at",
                            cleared ? iso(sqlite3_column_int64(st, 6)) : json_null());
        json_object_set_new(e, "hours_to_fix", cleared ? json_real(round1(hours)) : json_null());
        json_object_set_new(e, "margin",
                            has_margin && unit
                                ? json_pack("{s:f, s:s}", "value",
                                            round1(sqlite3_column_double(st, 8)), "unit", unit)
                                : json_null());
        json_array_append_new(entries, e);
    }
    sqlite3_finalize(st);
    json_t *m = bag_medians(mb, nmb), *f = bag_medians(fb, nfb);
    if (rc != SQLITE_DONE) {
        json_decref(m);
        json_decref(f);
        return nm_diag_set(d, NM_ERR_IO, "reading the history: %s", sqlite3_errmsg(db));
    }
    *ret_margins = m;
    *ret_fix = f;
    return 0;
}

int nm_ledger_window(sqlite3 *db, int64_t now, int days, json_t **ret, nm_diag *d)
{
    int64_t span = (int64_t)days * 86400;
    json_t *entries = json_array(), *m_now = NULL, *fix = NULL, *m_before = NULL,
           *fix_before = NULL;
    int r = window_entries(db, now - span, now + 1, entries, &m_now, &fix, d);
    if (r < 0) {
        json_decref(entries);
        return r;
    }
    r = window_entries(db, now - 2 * span, now - span, NULL, &m_before, &fix_before, d);
    if (r < 0) {
        json_decref(entries);
        json_decref(m_now);
        json_decref(fix);
        return r;
    }
    json_decref(fix_before);
    /* Running on luck: the same kind of margin got smaller than before. */
    json_t *luck = json_array();
    const char *unit;
    json_t *v;
    json_object_foreach (m_now, unit, v) {
        const json_t *b = json_object_get(m_before, unit);
        if (b && json_real_value(v) < json_real_value(b))
            json_array_append_new(
                luck, json_pack("{s:s, s:O, s:O}", "unit", unit, "median", v, "median_before", b));
    }
    *ret = json_pack("{s:i, s:o, s:o, s:o, s:o, s:o}", "days", days, "entries", entries,
                     "median_margin", m_now, "median_margin_before", m_before,
                     "median_hours_to_fix", fix, "running_on_luck", luck);
    return 0;
}
