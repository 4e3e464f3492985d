/*
 * The ticket tables in the history database: the schema and its migrations,
 * and the planning step that turns a plan into rows, all inside the run's one
 * transaction (the caller's).
 *
 *   ticket_state  one row per target and fingerprint: open or not, the last
 *                 severity told, the remote ticket's id once delivered, and
 *                 what a later resolve event needs to describe the finding.
 *   ticket_queue  every event, in order (id), with its delivery record;
 *                 delivered_at NULL = still to deliver.
 */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/model.h"
#include "nearmiss/tickets.h"
#include "nearmiss/util.h"
#include "tickets/store.h"

/* Delivered rows are kept this long for `nearmiss tickets` and for anyone
 * asking the database what was sent; pending rows are never pruned. */
#define DELIVERED_KEEP_S (90 * 86400)

static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE ticket_state ("
    " target TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " open INTEGER NOT NULL,"
    " severity TEXT NOT NULL,"
    " host TEXT,"
    " check_id TEXT,"
    " category TEXT,"
    " subject TEXT,"
    " summary TEXT,"
    " message TEXT,"
    " remediation TEXT,"
    " first_seen TEXT,"
    " opened_at TEXT,"
    " updated_at TEXT NOT NULL,"
    " remote_id TEXT,"
    " PRIMARY KEY (target, fingerprint)) WITHOUT ROWID;"
    "CREATE TABLE ticket_queue ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " target TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " event TEXT NOT NULL,"
    " queued_at TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " last_attempt_at TEXT,"
    " last_error TEXT,"
    " delivered_at TEXT);"
    "CREATE INDEX ticket_queue_pending ON ticket_queue (target, id) WHERE delivered_at IS NULL;",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int nm_tickets_db_error(sqlite3 *db, nm_diag *d, const char *what)
{
    return nm_diag_set(d, NM_ERR_IO, "history database: %s: %s", what, sqlite3_errmsg(db));
}

int nm_tickets_exec(sqlite3 *db, const char *sql, nm_diag *d)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        int r = nm_diag_set(d, NM_ERR_IO, "history database: %s", err ? err : "error");
        sqlite3_free(err);
        return r;
    }
    return 0;
}

static int current_version(sqlite3 *db, int *ret, nm_diag *d)
{
    sqlite3_stmt *st = NULL;
    int r = nm_tickets_exec(db,
                            "CREATE TABLE IF NOT EXISTS schema_version ("
                            " component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                            d);
    if (r < 0)
        return r;
    if (sqlite3_prepare_v2(db, "SELECT version FROM schema_version WHERE component = 'tickets'", -1,
                           &st, NULL) != SQLITE_OK)
        return nm_tickets_db_error(db, d, "reading schema_version");
    int v = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    else if (rc != SQLITE_DONE)
        r = nm_tickets_db_error(db, d, "reading schema_version");
    sqlite3_finalize(st);
    if (r == 0)
        *ret = v;
    return r;
}

int nm_tickets_migrate(sqlite3 *db, nm_diag *d)
{
    int v = 0;
    int r = current_version(db, &v, d);
    if (r < 0)
        return r;
    if (v > N_MIGRATIONS)
        return nm_diag_set(d, NM_ERR_CONFIG,
                           "history database: its tickets schema is version %d, newer than this "
                           "nearmiss knows (%d); use a newer nearmiss (nothing was changed)",
                           v, N_MIGRATIONS);
    for (int i = v; i < N_MIGRATIONS; i++) {
        if ((r = nm_tickets_exec(db, migrations[i], d)) < 0)
            return r;
    }
    if (v == N_MIGRATIONS)
        return 0;
    char *sql = nm_xasprintf("INSERT INTO schema_version (component, version) VALUES "
                             "('tickets', %d) ON CONFLICT (component) DO UPDATE SET "
                             "version = excluded.version",
                             N_MIGRATIONS);
    r = nm_tickets_exec(db, sql, d);
    free(sql);
    return r;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? nm_xstrdup((const char *)t) : NULL;
}

static int load_states(sqlite3 *db, const char *target, struct nm_ticket_state **ret, size_t *ret_n,
                       nm_diag *d)
{
    sqlite3_stmt *st = NULL;
    struct nm_ticket_state *v = NULL;
    size_t n = 0;
    int r = 0, rc;
    /* Closed tickets matter too: a closed one that comes back reopens, and
     * a waived or low finding with no open ticket must stay silent. */
    if (sqlite3_prepare_v2(db,
                           "SELECT fingerprint, open, severity, host, check_id, category, "
                           "subject, summary, message, remediation, first_seen FROM "
                           "ticket_state WHERE target = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return nm_tickets_db_error(db, d, "reading ticket_state");
    sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        v = nm_xreallocarray(v, n + 1, sizeof *v);
        struct nm_ticket_state *s = &v[n++];
        s->fingerprint = col_dup(st, 0);
        s->open = sqlite3_column_int(st, 1);
        s->severity = nm_severity_from_name((const char *)sqlite3_column_text(st, 2));
        s->host = col_dup(st, 3);
        s->check = col_dup(st, 4);
        s->category = col_dup(st, 5);
        s->subject = col_dup(st, 6);
        s->summary = col_dup(st, 7);
        s->message = col_dup(st, 8);
        s->remediation = col_dup(st, 9);
        s->first_seen = col_dup(st, 10);
    }
    if (rc != SQLITE_DONE)
        r = nm_tickets_db_error(db, d, "reading ticket_state");
    sqlite3_finalize(st);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            nm_ticket_state_finish(&v[i]);
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static void bind_opt(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int store_plan(sqlite3 *db, const char *target, const struct nm_ticket_plan *p,
                      const char *now, nm_diag *d)
{
    sqlite3_stmt *ins = NULL, *up = NULL;
    int r = 0;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO ticket_queue (target, fingerprint, action, event, "
                           "queued_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(
            db,
            "INSERT INTO ticket_state (target, fingerprint, open, severity, host, check_id, "
            "category, subject, summary, message, remediation, first_seen, opened_at, "
            "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
            "CASE WHEN ?3 THEN ?13 END, ?13) "
            "ON CONFLICT (target, fingerprint) DO UPDATE SET open = excluded.open, "
            "severity = excluded.severity, host = excluded.host, check_id = excluded.check_id, "
            "category = excluded.category, subject = excluded.subject, summary = "
            "excluded.summary, message = excluded.message, remediation = excluded.remediation, "
            "first_seen = excluded.first_seen, opened_at = CASE WHEN excluded.open AND NOT "
            "ticket_state.open THEN excluded.updated_at ELSE ticket_state.opened_at END, "
            "updated_at = excluded.updated_at",
            -1, &up, NULL) != SQLITE_OK) {
        r = nm_tickets_db_error(db, d, "preparing the ticket queue");
        goto out;
    }
    for (size_t i = 0; i < p->n_events; i++) {
        const json_t *e = p->events[i];
        char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, target, -1, SQLITE_TRANSIENT);
        bind_opt(ins, 2, json_string_value(json_object_get(e, "dedup_key")));
        bind_opt(ins, 3, json_string_value(json_object_get(e, "action")));
        sqlite3_bind_text(ins, 4, text ? text : "{}", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 5, now, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(ins);
        free(text);
        if (rc != SQLITE_DONE) {
            r = nm_tickets_db_error(db, d, "queueing a ticket event");
            goto out;
        }
    }
    for (size_t i = 0; i < p->n_states; i++) {
        const struct nm_ticket_state *s = &p->states[i];
        sqlite3_reset(up);
        sqlite3_bind_text(up, 1, target, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(up, 2, s->fingerprint, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(up, 3, s->open ? 1 : 0);
        sqlite3_bind_text(up, 4, nm_severity_name(s->severity), -1, SQLITE_STATIC);
        bind_opt(up, 5, s->host);
        bind_opt(up, 6, s->check);
        bind_opt(up, 7, s->category);
        bind_opt(up, 8, s->subject);
        bind_opt(up, 9, s->summary);
        bind_opt(up, 10, s->message);
        bind_opt(up, 11, s->remediation);
        bind_opt(up, 12, s->first_seen);
        sqlite3_bind_text(up, 13, now, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(up) != SQLITE_DONE) {
            r = nm_tickets_db_error(db, d, "updating ticket_state");
            goto out;
        }
    }
out:
    sqlite3_finalize(ins);
    sqlite3_finalize(up);
    return r;
}

static int prune_delivered(sqlite3 *db, int64_t now, nm_diag *d)
{
    char cut[32];
    nm_utc_iso8601(now - DELIVERED_KEEP_S, cut);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "DELETE FROM ticket_queue WHERE delivered_at IS NOT NULL AND "
                           "delivered_at < ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return nm_tickets_db_error(db, d, "pruning ticket_queue");
    sqlite3_bind_text(st, 1, cut, -1, SQLITE_TRANSIENT);
    int r =
        sqlite3_step(st) == SQLITE_DONE ? 0 : nm_tickets_db_error(db, d, "pruning ticket_queue");
    sqlite3_finalize(st);
    return r;
}

int nm_tickets_plan(sqlite3 *db, const struct nm_ticket_options *o, const json_t *report,
                    const struct nm_host_iter *hosts, int64_t now, struct nm_ticket_counts *ret,
                    nm_diag *d)
{
    char now_s[32];
    nm_utc_iso8601(now, now_s);
    struct nm_ticket_counts c = {0};
    int r = nm_tickets_migrate(db, d);
    if (r < 0)
        return r;
    for (size_t i = 0; i < o->n_targets; i++) {
        struct nm_ticket_state *states = NULL;
        size_t n = 0;
        struct nm_ticket_plan plan = {0};
        const char *target = o->targets[i].key;
        r = load_states(db, target, &states, &n, d);
        if (r == 0)
            r = nm_tickets_plan_events(states, n, report, hosts, o->min_severity, now, &plan, d);
        if (r == 0)
            r = store_plan(db, target, &plan, now_s, d);
        c.opened += plan.opened;
        c.updated += plan.updated;
        c.resolved += plan.resolved;
        nm_ticket_plan_finish(&plan);
        for (size_t k = 0; k < n; k++)
            nm_ticket_state_finish(&states[k]);
        free(states);
        if (r < 0)
            return r;
    }
    if ((r = prune_delivered(db, now, d)) < 0)
        return r;
    if (ret) {
        ret->opened += c.opened;
        ret->updated += c.updated;
        ret->resolved += c.resolved;
    }
    return 0;
}
