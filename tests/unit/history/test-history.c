/*
 * History through the library, run by run under a fixed clock: change
 * marks, resolved lists, the ledger's outcomes and margins, forecasts,
 * SMART trends, retention, and refusing damaged or newer databases.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nearmiss/check.h"
#include "nearmiss/history.h"
#include "nearmiss/inventory.h"
#include "nearmiss/util.h"
#include "test.h"

#define T0  1796090400 /* 2026-12-01T02:00:00Z */
#define DAY 86400

static struct nm_checkset cs;
static struct nm_inventory inv;

static void test_fit(void)
{
    double x[] = {0, 1, 2, 3}, y[] = {10, 8, 6, 4};
    struct nm_fit f;
    CHECK(nm_fit_line(x, y, 4, &f) == 0);
    CHECK(fabs(f.slope + 2) < 1e-9);
    CHECK(fabs(f.intercept - 10) < 1e-9);
    CHECK(fabs(f.r2 - 1) < 1e-9);
    double y2[] = {1, 3, 2, 4};
    CHECK(nm_fit_line(x, y2, 4, &f) == 0);
    CHECK(fabs(f.slope - 0.8) < 1e-9); /* sxy 4 / sxx 5 */
    CHECK(fabs(f.r2 - 0.64) < 1e-9);   /* 16 / (5 * 5) */
    double same[] = {2, 2, 2};
    CHECK(nm_fit_line(same, y, 3, &f) == NM_ERR_INVAL);
    CHECK(nm_fit_line(x, y, 1, &f) == NM_ERR_INVAL);
}

/* ---- synthetic reports ---------------------------------------------------- */

static json_t *finding(const char *host, const char *check, const char *category,
                       const char *severity, const char *subject, json_t *item)
{
    char fp[65];
    nm_finding_fingerprint(check, host, subject, fp);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "check", check, "category", category,
                     "severity", severity, "subject", subject, "message", subject, "fingerprint",
                     fp, "item", item);
}

static json_t *host(const char *name, const char *status)
{
    return json_pack("{s:s, s:s, s:[], s:[], s:{}}", "name", name, "status", status, "findings",
                     "checks", "metrics");
}

static void ran(json_t *h, const char *check, const char *result)
{
    json_array_append_new(json_object_get(h, "checks"),
                          json_pack("{s:s, s:s}", "id", check, "result", result));
}

static json_t *report_of(json_t *hosts)
{
    return json_pack("{s:o, s:[], s:{s:i, s:i, s:i}}", "hosts", hosts, "fleet_findings", "summary",
                     "hosts", (int)json_array_size(hosts), "scanned", 0, "failed", 0);
}

/* One run: open, enrich, diff, commit; the report is annotated in place. */
static int run_once(const char *dir, int64_t now, json_t *report, struct nm_retention *keep)
{
    struct nm_history *h = NULL;
    nm_diag d = {{0}};
    struct nm_history_ctx ctx = {.cs = &cs, .inv = &inv, .now = now};
    json_t *files = NULL;
    int r = nm_history_open(dir, now, &h, &d);
    if (r == 0)
        r = nm_history_enrich(h, &ctx, report, &d);
    if (r == 0)
        r = nm_history_diff(h, &ctx, report, &d);
    if (r == 0 && keep)
        r = nm_history_prune(h, keep, &files, &d);
    if (r == 0)
        r = nm_history_commit(h, &d);
    if (r < 0)
        fprintf(stderr, "run at %lld: %s\n", (long long)now, d.msg);
    json_decref(files);
    nm_history_close(h);
    return r;
}

static const json_t *find(const json_t *report, const char *hostname, const char *check,
                          const char *subject)
{
    size_t i, j;
    json_t *h, *f;
    json_array_foreach (json_object_get(report, "hosts"), i, h) {
        if (strcmp(json_string_value(json_object_get(h, "name")), hostname) != 0)
            continue;
        json_array_foreach (json_object_get(h, "findings"), j, f) {
            if (strcmp(json_string_value(json_object_get(f, "check")), check) == 0 &&
                strcmp(json_string_value(json_object_get(f, "subject")), subject) == 0)
                return f;
        }
    }
    return NULL;
}

static const char *change_of(const json_t *report, const char *hostname, const char *check,
                             const char *subject)
{
    return json_string_value(json_object_get(find(report, hostname, check, subject), "change"));
}

static long changes(const json_t *report, const char *k)
{
    return (long)json_integer_value(
        json_object_get(json_object_get(json_object_get(report, "summary"), "changes"), k));
}

static const json_t *ledger_entry(const json_t *ledger, const char *subject)
{
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(ledger, "entries"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "subject")), subject) == 0)
            return e;
    }
    return NULL;
}

/*
 * Eight nightly runs.  web1: certificate A counts down from 10 days and is
 * renewed with 4 left (near miss); certificate B runs out (miss); /var sits
 * at 91 % (open) and is waived on day 4 (still there, not resolved).  db1:
 * unreachable on day 2 (nothing resolved, nothing reopened after), its
 * smart check errors on day 5 (its finding is not resolved either).
 */
static void test_sequence(const char *dir)
{
    json_t *ledger = NULL;
    for (int day = 0; day < 8; day++) {
        json_t *web = host("web1", "ok"), *db = host("db1", day == 2 ? "unreachable" : "ok");
        json_t *wf = json_object_get(web, "findings"), *dbf = json_object_get(db, "findings");
        ran(web, "cert-expiry", "fail");
        ran(web, "disk-space", "fail");
        int a = 10 - day, b = 3 - day;
        if (day < 7)
            json_array_append_new(wf, finding("web1", "cert-expiry", "cert",
                                              a < 7 ? "critical" : "high", "/etc/ssl/a.pem",
                                              json_pack("{s:i}", "days_left", a)));
        json_array_append_new(wf, finding("web1", "cert-expiry", "cert", "critical",
                                          "/etc/ssl/b.pem", json_pack("{s:i}", "days_left", b)));
        json_t *var = finding("web1", "disk-space", "disk", "high", "/var",
                              json_pack("{s:i, s:i}", "use_pct", 91, "iuse_pct", 3));
        if (day >= 4)
            json_object_set_new(var, "waived", json_true());
        json_array_append_new(wf, var);
        if (day != 2) {
            ran(db, "smart", day == 5 ? "error" : "fail");
            if (day != 5)
                json_array_append_new(
                    dbf, finding("db1", "smart", "smart", "high", "/dev/sdb",
                                 json_pack("{s:b, s:i}", "passed", 1, "media_errors", 0)));
        }
        json_t *report = report_of(json_pack("[o, o]", web, db));
        CHECK(run_once(dir, T0 + day * DAY, report, NULL) == 0);
        const json_t *res = json_object_get(report, "resolved");
        if (day == 0) {
            CHECK_STR(change_of(report, "web1", "cert-expiry", "/etc/ssl/a.pem"), "new");
            CHECK_INT(changes(report, "new"), 4);
            CHECK(
                json_is_null(json_object_get(json_object_get(report, "history"), "previous_run")));
        } else if (day == 2) {
            /* The unreachable host: no marks, nothing resolved. */
            CHECK_INT(json_array_size(res), 0);
            CHECK_INT(changes(report, "persisting"), 3);
        } else if (day == 3) {
            CHECK_STR(change_of(report, "db1", "smart", "/dev/sdb"), "persisting");
            CHECK_STR(json_string_value(
                          json_object_get(find(report, "db1", "smart", "/dev/sdb"), "first_seen")),
                      "2026-12-01T02:00:00Z");
            CHECK_STR(change_of(report, "web1", "cert-expiry", "/etc/ssl/a.pem"), "persisting");
            CHECK(!json_object_get(find(report, "web1", "cert-expiry", "/etc/ssl/a.pem"),
                                   "previous_severity"));
        } else if (day == 4 || day == 5) {
            if (day == 4)
                CHECK_STR(json_string_value(
                              json_object_get(find(report, "web1", "cert-expiry", "/etc/ssl/a.pem"),
                                              "previous_severity")),
                          "high");
            /* Waived and errored: present or unknown, never resolved. */
            CHECK_INT(json_array_size(res), 0);
        } else if (day == 7) {
            CHECK_INT(json_array_size(res), 1);
            const json_t *r0 = json_array_get(res, 0);
            CHECK_STR(json_string_value(json_object_get(r0, "subject")), "/etc/ssl/a.pem");
            CHECK_STR(json_string_value(json_object_get(r0, "host")), "web1");
            CHECK_STR(json_string_value(json_object_get(r0, "severity")), "critical");
            CHECK_STR(json_string_value(json_object_get(r0, "first_seen")), "2026-12-01T02:00:00Z");
            CHECK_STR(json_string_value(json_object_get(r0, "resolved_at")),
                      "2026-12-08T02:00:00Z");
            CHECK_INT(changes(report, "resolved"), 1);
            const json_t *win = json_object_get(json_object_get(report, "history"), "ledger");
            CHECK(json_array_size(json_object_get(win, "entries")) >= 2);
        }
        json_decref(report);
    }

    struct nm_history *h = NULL;
    nm_diag d = {{0}};
    CHECK(nm_history_open_readonly(dir, &h, &d) == 0);
    struct nm_ledger_query q = {.since = INT64_MIN, .from = NM_SEV_HIGH, .now = T0 + 8 * DAY};
    CHECK(nm_ledger_build(nm_history_db(h), &q, &ledger, &d) == 0);
    const json_t *a = ledger_entry(ledger, "/etc/ssl/a.pem");
    const json_t *b = ledger_entry(ledger, "/etc/ssl/b.pem");
    const json_t *var = ledger_entry(ledger, "/var");
    const json_t *sdb = ledger_entry(ledger, "/dev/sdb");
    CHECK(a && b && var && sdb);
    CHECK_STR(json_string_value(json_object_get(a, "outcome")), "near_miss");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(a, "margin"), "value")), 4);
    CHECK_STR(json_string_value(json_object_get(json_object_get(a, "margin"), "unit")), "days");
    CHECK(fabs(json_real_value(json_object_get(a, "hours_to_fix")) - 168.0) < 1e-9);
    CHECK_STR(json_string_value(json_object_get(a, "worst_severity")), "critical");
    CHECK_STR(json_string_value(json_object_get(a, "worst_at")), "2026-12-05T02:00:00Z");
    CHECK_STR(json_string_value(json_object_get(b, "outcome")), "miss");
    CHECK_STR(json_string_value(json_object_get(b, "failed_at")), "2026-12-04T02:00:00Z");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(b, "margin"), "value")), -4);
    CHECK_STR(json_string_value(json_object_get(var, "outcome")), "open");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(var, "margin"), "value")), 9);
    CHECK_STR(json_string_value(json_object_get(json_object_get(var, "margin"), "unit")),
              "percent");
    CHECK_STR(json_string_value(json_object_get(sdb, "outcome")), "open");
    CHECK(json_is_null(json_object_get(sdb, "margin")));
    const json_t *sum = json_object_get(ledger, "summary");
    CHECK_INT(json_integer_value(json_object_get(sum, "near_miss")), 1);
    CHECK_INT(json_integer_value(json_object_get(sum, "miss")), 1);
    CHECK_INT(json_integer_value(json_object_get(sum, "open")), 2);
    json_decref(ledger);

    /* --from critical drops the high-only ones; --since after A cleared drops A. */
    q.from = NM_SEV_CRITICAL;
    CHECK(nm_ledger_build(nm_history_db(h), &q, &ledger, &d) == 0);
    CHECK(ledger_entry(ledger, "/var") == NULL && ledger_entry(ledger, "/etc/ssl/a.pem"));
    json_decref(ledger);
    q.since = T0 + 7 * DAY + 1;
    CHECK(nm_ledger_build(nm_history_db(h), &q, &ledger, &d) == 0);
    CHECK(ledger_entry(ledger, "/etc/ssl/a.pem") == NULL && ledger_entry(ledger, "/etc/ssl/b.pem"));
    char *csv = NULL, *md = NULL;
    CHECK(nm_ledger_render(ledger, NM_LEDGER_CSV, &csv, &d) == 0);
    CHECK(csv && strstr(csv, "\"miss\",\"web1\",\"cert-expiry\""));
    CHECK(nm_ledger_render(ledger, NM_LEDGER_MD, &md, &d) == 0);
    CHECK(md && strstr(md, "| miss | web1 | cert-expiry |"));
    free(csv);
    free(md);
    json_decref(ledger);
    nm_history_close(h);
}

/* A certificate that comes back after it was resolved is a new episode. */
static void test_reopen(const char *dir)
{
    for (int day = 0; day < 3; day++) {
        json_t *w = host("w2", "ok");
        ran(w, "cert-expiry", day == 1 ? "pass" : "fail");
        if (day != 1)
            json_array_append_new(json_object_get(w, "findings"),
                                  finding("w2", "cert-expiry", "cert", "high", "/c.pem",
                                          json_pack("{s:i}", "days_left", 12)));
        json_t *report = report_of(json_pack("[o]", w));
        CHECK(run_once(dir, T0 + day * DAY, report, NULL) == 0);
        if (day == 1)
            CHECK_INT(json_array_size(json_object_get(report, "resolved")), 1);
        if (day == 2) {
            CHECK_STR(change_of(report, "w2", "cert-expiry", "/c.pem"), "new");
            CHECK_STR(json_string_value(json_object_get(find(report, "w2", "cert-expiry", "/c.pem"),
                                                        "first_seen")),
                      "2026-12-03T02:00:00Z");
        }
        json_decref(report);
    }
}

static json_t *fs_host(const char *name, long avail, long ifree)
{
    json_t *h = host(name, "ok");
    ran(h, "disk-space", "pass");
    json_object_set_new(json_object_get(h, "metrics"), "disk-space",
                        json_pack("{s:{s:i, s:I, s:I, s:i, s:i}}", "/data", "size_kb", 1000000,
                                  "avail_kb", (json_int_t)avail, "ifree", (json_int_t)ifree,
                                  "inodes", 100000, "use_pct", 100 - (int)(avail / 10000)));
    return h;
}

/* /data loses 50000 KiB (5 %) a day from 400000 free: on the third scan the
 * line reaches 0 six days later; a clean-up stops the forecast at once. */
static void test_forecast(const char *dir)
{
    long avail[] = {400000, 350000, 300000, 900000, 880000};
    for (int day = 0; day < 5; day++) {
        json_t *report = report_of(json_pack("[o]", fs_host("fs1", avail[day], 90000)));
        CHECK(run_once(dir, T0 + day * DAY, report, NULL) == 0);
        const json_t *f = find(report, "fs1", "disk-forecast", "/data");
        if (day < 2) {
            CHECK(f == NULL);
        } else if (day == 2) {
            CHECK(f != NULL);
            CHECK(fabs(json_number_value(json_object_get(f, "value")) - 6.0) < 1e-9);
            CHECK_STR(json_string_value(json_object_get(f, "severity")), "medium");
            const char *ev = json_string_value(json_object_get(f, "evidence"));
            CHECK(ev && strstr(ev, "over 3 successful scans") && strstr(ev, "r2 = 1.000"));
            CHECK_STR(json_string_value(json_object_get(json_object_get(f, "item"), "full_at")),
                      "2026-12-09T02:00:00Z");
        } else {
            CHECK(f == NULL);
        }
        if (day == 3) {
            const json_t *r = json_array_get(json_object_get(report, "resolved"), 0);
            CHECK_STR(json_string_value(json_object_get(r, "check")), "disk-forecast");
        }
        json_decref(report);
    }
}

static json_t *drive_host(long realloc)
{
    json_t *h = host("st1", "ok");
    ran(h, "smart", "warn");
    json_object_set_new(json_object_get(h, "metrics"), "smart",
                        json_pack("{s:{s:I, s:i}}", "/dev/sda X1", "ata_5_raw", (json_int_t)realloc,
                                  "percentage_used", 0));
    json_array_append_new(json_object_get(h, "findings"),
                          finding("st1", "smart", "smart", "medium", "/dev/sda X1",
                                  json_pack("{s:s, s:I}", "subject", "/dev/sda X1", "ata_5_raw",
                                            (json_int_t)realloc)));
    return h;
}

static void test_trend(const char *dir)
{
    long counts[] = {4, 9, 9};
    for (int day = 0; day < 3; day++) {
        json_t *report = report_of(json_pack("[o]", drive_host(counts[day])));
        CHECK(run_once(dir, T0 + day * DAY, report, NULL) == 0);
        const json_t *f = find(report, "st1", "smart", "/dev/sda X1");
        const char *sev = json_string_value(json_object_get(f, "severity"));
        const char *msg = json_string_value(json_object_get(f, "message"));
        if (day == 1) {
            CHECK_STR(sev, "high");
            CHECK_STR(json_string_value(json_object_get(f, "raised_from")), "medium");
            CHECK(msg && strstr(msg, "ata_5_raw grew from 4 to 9 since 2026-12-01"));
        } else {
            CHECK_STR(sev, "medium"); /* no growth, no raise */
        }
        json_decref(report);
    }
}

static void test_retention(const char *dir)
{
    struct nm_retention keep = {.keep_runs = 2};
    for (int day = 0; day < 4; day++) {
        json_t *w = host("r1", "ok");
        ran(w, "cert-expiry", "fail");
        json_array_append_new(json_object_get(w, "findings"),
                              finding("r1", "cert-expiry", "cert", "high", "/r.pem",
                                      json_pack("{s:i}", "days_left", 12 - day)));
        json_object_set_new(json_object_get(w, "metrics"), "disk-space",
                            json_pack("{s:{s:i}}", "/", "avail_kb", 5 + day));
        json_t *report = report_of(json_pack("[o]", w));
        CHECK(run_once(dir, T0 + day * DAY, report, &keep) == 0);
        json_decref(report);
    }
    struct nm_history *h = NULL;
    nm_diag d = {{0}};
    CHECK(nm_history_open_readonly(dir, &h, &d) == 0);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(nm_history_db(h),
                       "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM samples), "
                       "(SELECT first_seen FROM findings WHERE subject = '/r.pem'), "
                       "(SELECT margin FROM findings WHERE subject = '/r.pem')",
                       -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_INT(sqlite3_column_int64(st, 0), 2);
    CHECK_INT(sqlite3_column_int64(st, 1), 2);
    CHECK_INT(sqlite3_column_int64(st, 2), T0); /* the episode outlives its runs */
    CHECK_INT(sqlite3_column_int64(st, 3), 9);
    sqlite3_finalize(st);
    nm_history_close(h);
}

/* One number from the history in dir: the first column of sql's first row
 * (-1: no row). */
static double query_num(const char *dir, const char *sql)
{
    struct nm_history *h = NULL;
    nm_diag d = {{0}};
    sqlite3_stmt *st = NULL;
    double v = -1;
    if (nm_history_open_readonly(dir, &h, &d) < 0)
        return -2;
    if (sqlite3_prepare_v2(nm_history_db(h), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    nm_history_close(h);
    return v;
}

static double sample_of(const char *dir, int run, const char *hostname, const char *check,
                        const char *item, const char *field)
{
    char *sql = nm_xasprintf("SELECT value FROM samples v JOIN series s ON s.id = v.series_id "
                             "WHERE v.run_id = %d AND s.host = '%s' AND s.check_id = '%s' AND "
                             "s.item = '%s' AND s.field = '%s'",
                             run, hostname, check, item, field);
    double v = query_num(dir, sql);
    free(sql);
    return v;
}

static double series_of(const char *dir, const char *hostname, const char *check, const char *item,
                        const char *field)
{
    char *sql = nm_xasprintf("SELECT id FROM series WHERE host = '%s' AND check_id = '%s' AND "
                             "item = '%s' AND field = '%s'",
                             hostname, check, item, field);
    double v = query_num(dir, sql);
    free(sql);
    return v;
}

/*
 * Samples go to the host's series, found among all its series at once:
 * keys in no sorted order, a check whose name is a prefix of another's,
 * bytes above 0x7f, the same keys on another host, text values skipped; a
 * series that is new on the second run gets the next id, the others keep
 * theirs, and one the host stopped reporting gets no sample.  Two keys the
 * same up to a NUL are one series (as bound, C strings): the last wins.
 */
static json_t *metrics_host(const char *name, int day)
{
    json_t *h = host(name, "ok");
    json_t *m = json_object_get(h, "metrics");
    ran(h, "disk-space", "pass");
    json_t *ds = json_pack("{s:{s:i, s:s}, s:{s:i}}", "/var", "use_pct", 50 + day, "label", "x",
                           "/", "use_pct", 10 + day);
    if (day == 0)
        json_object_set_new(json_object_get(ds, "/var"), "avail_kb", json_integer(100));
    else
        json_object_set_new(json_object_get(ds, "/"), "ifree", json_integer(7));
#if JANSSON_VERSION_HEX >= 0x020e00
    if (day == 1) {
        json_object_setn_new(ds, "/tmp\0a", 6, json_pack("{s:i}", "use_pct", 31));
        json_object_setn_new(ds, "/tmp\0b", 6, json_pack("{s:i}", "use_pct", 32));
    }
#endif
    json_object_set_new(m, "disk-space", ds);
    json_object_set_new(m, "disk", json_pack("{s:{s:f}}", "/", "use_pct", 1.5 + day));
    json_object_set_new(m, "smart",
                        json_pack("{s:{s:i}, s:{s:i}}", "/dev/sda \xc3\xa9", "ata_5_raw", 3 + day,
                                  "/dev/sda z", "ata_5_raw", 4 + day));
    return h;
}

static void test_series(const char *dir)
{
    for (int day = 0; day < 2; day++) {
        json_t *report =
            report_of(json_pack("[o, o]", metrics_host("m1", day), metrics_host("m2", day * 10)));
        CHECK(run_once(dir, T0 + day * DAY, report, NULL) == 0);
        json_decref(report);
    }
    /* In the metrics' order, m1's then m2's; then day 1's new ones. */
    CHECK_INT(series_of(dir, "m1", "disk-space", "/var", "use_pct"), 1);
    CHECK_INT(series_of(dir, "m1", "disk-space", "/var", "avail_kb"), 2);
    CHECK_INT(series_of(dir, "m1", "disk-space", "/", "use_pct"), 3);
    CHECK_INT(series_of(dir, "m1", "disk", "/", "use_pct"), 4);
    CHECK_INT(series_of(dir, "m1", "smart", "/dev/sda \xc3\xa9", "ata_5_raw"), 5);
    CHECK_INT(series_of(dir, "m1", "smart", "/dev/sda z", "ata_5_raw"), 6);
    CHECK_INT(series_of(dir, "m2", "disk-space", "/var", "use_pct"), 7);
    CHECK_INT(series_of(dir, "m2", "smart", "/dev/sda z", "ata_5_raw"), 12);
    CHECK_INT(series_of(dir, "m1", "disk-space", "/", "ifree"), 13);
    CHECK_INT(series_of(dir, "m1", "disk-space", "/var", "label"), -1);
    CHECK_INT(sample_of(dir, 1, "m1", "disk-space", "/var", "use_pct"), 50);
    CHECK_INT(sample_of(dir, 2, "m1", "disk-space", "/var", "use_pct"), 51);
    CHECK_INT(sample_of(dir, 2, "m1", "disk-space", "/var", "avail_kb"), -1);
    CHECK_INT(sample_of(dir, 2, "m1", "disk-space", "/", "use_pct"), 11);
    CHECK_INT(sample_of(dir, 2, "m1", "disk-space", "/", "ifree"), 7);
    CHECK(sample_of(dir, 2, "m1", "disk", "/", "use_pct") == 2.5);
    CHECK_INT(sample_of(dir, 2, "m1", "smart", "/dev/sda \xc3\xa9", "ata_5_raw"), 4);
    CHECK_INT(sample_of(dir, 2, "m1", "smart", "/dev/sda z", "ata_5_raw"), 5);
    CHECK_INT(sample_of(dir, 2, "m2", "disk-space", "/var", "use_pct"), 60);
    CHECK_INT(sample_of(dir, 2, "m2", "smart", "/dev/sda z", "ata_5_raw"), 14);
#if JANSSON_VERSION_HEX >= 0x020e00
    CHECK_INT(query_num(dir, "SELECT count(*) FROM series WHERE host = 'm1' AND item = '/tmp'"), 1);
    CHECK_INT(series_of(dir, "m1", "disk-space", "/tmp", "use_pct"), 14);
    CHECK_INT(sample_of(dir, 2, "m1", "disk-space", "/tmp", "use_pct"), 32);
    CHECK_INT(series_of(dir, "m2", "disk-space", "/", "ifree"), 15);
    CHECK_INT(query_num(dir, "SELECT count(*) FROM series"), 15);
    CHECK_INT(query_num(dir, "SELECT count(*) FROM samples WHERE run_id = 2"), 13);
#else
    CHECK_INT(series_of(dir, "m2", "disk-space", "/", "ifree"), 14);
    CHECK_INT(query_num(dir, "SELECT count(*) FROM series"), 14);
    CHECK_INT(query_num(dir, "SELECT count(*) FROM samples WHERE run_id = 2"), 12);
#endif
    CHECK_INT(query_num(dir, "SELECT count(*) FROM samples WHERE run_id = 1"), 12);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
}

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    nm_diag d;
    if (nm_read_file(path, 1 << 26, &data, len, &d) < 0)
        return NULL;
    return data;
}

/* Damaged, half-written and newer histories: refused with a message naming
 * the file, and left byte for byte as they were. */
static void test_refusals(const char *base)
{
    char dir[512], path[600];
    nm_diag d = {{0}};
    struct nm_history *h = NULL;

    snprintf(dir, sizeof dir, "%s/garbage", base);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/history.sqlite", dir);
    write_file(path, "{\"not\": \"a database\"}\n", 22);
    CHECK(nm_history_open(dir, T0, &h, &d) < 0 && h == NULL);
    CHECK(strstr(d.msg, "history.sqlite: not an SQLite database") != NULL);
    size_t len;
    char *data = slurp(path, &len);
    CHECK(len == 22 && memcmp(data, "{\"not\": \"a database\"}\n", 22) == 0);
    free(data);

    /* A real history cut in half. */
    snprintf(dir, sizeof dir, "%s/half", base);
    mkdir(dir, 0700);
    json_t *report = report_of(json_pack("[o]", fs_host("fs1", 500000, 90000)));
    for (int i = 0; i < 40; i++) {
        char mount[16];
        snprintf(mount, sizeof mount, "/m%d", i);
        json_array_append_new(
            json_object_get(json_array_get(json_object_get(report, "hosts"), 0), "findings"),
            finding("fs1", "disk-space", "disk", "high", mount, json_pack("{s:i}", "use_pct", 91)));
    }
    CHECK(run_once(dir, T0, report, NULL) == 0);
    json_decref(report);
    snprintf(path, sizeof path, "%s/history.sqlite", dir);
    data = slurp(path, &len);
    CHECK(data && len > 8192);
    write_file(path, data, len / 2);
    free(data);
    d.msg[0] = '\0';
    CHECK(nm_history_open(dir, T0 + DAY, &h, &d) < 0 && h == NULL);
    CHECK(strstr(d.msg, "history.sqlite") &&
          (strstr(d.msg, "damaged") || strstr(d.msg, "malformed")));
    size_t len2;
    char *data2 = slurp(path, &len2);
    CHECK(len2 == len / 2);
    free(data2);

    /* From a newer nearmiss. */
    snprintf(dir, sizeof dir, "%s/newer", base);
    mkdir(dir, 0700);
    report = report_of(json_array());
    CHECK(run_once(dir, T0, report, NULL) == 0);
    json_decref(report);
    snprintf(path, sizeof path, "%s/history.sqlite", dir);
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "UPDATE schema_version SET version = 99 WHERE component = 'history'", NULL,
                 NULL, NULL);
    sqlite3_close(db);
    data = slurp(path, &len);
    d.msg[0] = '\0';
    CHECK(nm_history_open(dir, T0 + DAY, &h, &d) < 0 && h == NULL);
    CHECK(strstr(d.msg, "newer nearmiss (history schema 99") != NULL);
    CHECK(nm_history_open_readonly(dir, &h, &d) < 0 && h == NULL);
    data2 = slurp(path, &len2);
    CHECK(len == len2 && memcmp(data, data2, len) == 0);
    free(data);
    free(data2);

    /* Two runs at once: the second is turned away at once. */
    snprintf(dir, sizeof dir, "%s/busy", base);
    mkdir(dir, 0700);
    struct nm_history *h1 = NULL, *h2 = NULL;
    CHECK(nm_history_open(dir, T0, &h1, &d) == 0);
    CHECK(nm_history_open(dir, T0, &h2, &d) == NM_ERR_EXISTS && h2 == NULL);
    CHECK(strstr(d.msg, "another nearmiss run") != NULL);
    nm_history_close(h1);
}

static void test_fleet_def(void)
{
    const struct nm_ledger_def *def = nm_ledger_fleet_def("role-redundancy");
    CHECK(def != NULL);
    double m;
    bool failed;
    json_t *details = json_pack("{s:i, s:i}", "healthy", 1, "min_healthy", 2);
    nm_ledger_measure(def, details, &m, &failed);
    CHECK(m == -1 && !failed);
    json_object_set_new(details, "healthy", json_integer(0));
    nm_ledger_measure(def, details, &m, &failed);
    CHECK(m == -2 && failed);
    json_decref(details);
    CHECK(nm_ledger_fleet_def("nope") == NULL);
}

int main(void)
{
    char tmpl[] = "/tmp/nm-history-XXXXXX";
    char *base = mkdtemp(tmpl);
    char dir[600];
    nm_diag d = {{0}};
    nm_checkset_init(&cs);
    nm_inventory_init(&inv);
    static const char inv_json[] =
        "{\"hosts\": [{\"name\": \"web1\"}, {\"name\": \"db1\"}, {\"name\": \"w2\"},"
        " {\"name\": \"fs1\"}, {\"name\": \"st1\"}, {\"name\": \"r1\"},"
        " {\"name\": \"m1\"}, {\"name\": \"m2\"}]}";
    if (!base || nm_checkset_load_dir(&cs, "../checks", &d) < 0 ||
        nm_inventory_load_buffer(&inv, "inv.json", inv_json, strlen(inv_json), &d) < 0) {
        fprintf(stderr, "setup: %s\n", d.msg);
        return 1;
    }
    test_fit();
    test_fleet_def();
    const char *names[] = {"seq", "reopen", "forecast", "trend", "retention", "series"};
    void (*fns[])(const char *) = {test_sequence, test_reopen,    test_forecast,
                                   test_trend,    test_retention, test_series};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        snprintf(dir, sizeof dir, "%s/%s", base, names[i]);
        mkdir(dir, 0700);
        fns[i](dir);
    }
    test_refusals(base);
    nm_checkset_finish(&cs);
    nm_inventory_finish(&inv);
    char *cmd = nm_xasprintf("rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", base);
    free(cmd);
    return test_result();
}
