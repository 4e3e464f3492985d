/*
 * Delivery: each target's queue, oldest first.  Runs after the run's history
 * transaction has committed, so what it sends was planned for good.
 *
 * Exactly once: an event is marked delivered in its own small transaction
 * right after its target accepted it; a failure is recorded on the row and
 * the event stays queued.  A ticket whose event failed sends nothing more
 * this run (its later events would arrive out of order); other tickets go
 * on, unless the target itself is unreachable, when its whole queue waits.
 * The one window left is a crash between the target's "yes" and the mark:
 * the event is then sent again next run (PagerDuty's dedup_key and the
 * dir: target's event ids make that harmless there).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/tickets.h"
#include "nearmiss/util.h"
#include "tickets/curlapi.h"
#include "tickets/sink.h"
#include "tickets/store.h"

struct row {
    int64_t id;
    char *fingerprint;
    char *event;
};

static int load_pending(sqlite3 *db, const char *target, struct row **ret, size_t *ret_n,
                        nm_diag *d)
{
    sqlite3_stmt *st = NULL;
    struct row *v = NULL;
    size_t n = 0;
    int rc, r = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, fingerprint, event FROM ticket_queue WHERE target = ?1 "
                           "AND delivered_at IS NULL ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return nm_tickets_db_error(db, d, "reading ticket_queue");
    sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        v = nm_xreallocarray(v, n + 1, sizeof *v);
        v[n].id = sqlite3_column_int64(st, 0);
        v[n].fingerprint = nm_xstrdup((const char *)sqlite3_column_text(st, 1));
        v[n].event = nm_xstrdup((const char *)sqlite3_column_text(st, 2));
        n++;
    }
    if (rc != SQLITE_DONE)
        r = nm_tickets_db_error(db, d, "reading ticket_queue");
    sqlite3_finalize(st);
    *ret = v;
    *ret_n = n;
    return r;
}

static int remote_id(sqlite3 *db, const char *target, const char *fp, char **ret, nm_diag *d)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT remote_id FROM ticket_state WHERE target = ?1 AND "
                           "fingerprint = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return nm_tickets_db_error(db, d, "reading ticket_state");
    sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fp, -1, SQLITE_STATIC);
    char *v = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = nm_xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    *ret = v;
    return 0;
}

/* One small transaction per outcome, so a crash right after it keeps it. */
static int record(sqlite3 *db, const char *target, const struct row *row, bool ok,
                  const char *new_remote, const char *err, const char *now, nm_diag *d)
{
    sqlite3_stmt *q = NULL, *s = NULL;
    int r = nm_tickets_exec(db, "BEGIN IMMEDIATE", d);
    if (r < 0)
        return r;
    if (sqlite3_prepare_v2(db,
                           "UPDATE ticket_queue SET attempts = attempts + 1, last_attempt_at = "
                           "?2, delivered_at = CASE WHEN ?3 THEN ?2 END, last_error = ?4 "
                           "WHERE id = ?1",
                           -1, &q, NULL) != SQLITE_OK) {
        r = nm_tickets_db_error(db, d, "recording a delivery");
        goto out;
    }
    sqlite3_bind_int64(q, 1, row->id);
    sqlite3_bind_text(q, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, ok ? 1 : 0);
    if (err)
        sqlite3_bind_text(q, 4, err, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 4);
    if (sqlite3_step(q) != SQLITE_DONE) {
        r = nm_tickets_db_error(db, d, "recording a delivery");
        goto out;
    }
    if (new_remote) {
        if (sqlite3_prepare_v2(db,
                               "UPDATE ticket_state SET remote_id = ?3 WHERE target = ?1 AND "
                               "fingerprint = ?2",
                               -1, &s, NULL) != SQLITE_OK) {
            r = nm_tickets_db_error(db, d, "recording a ticket id");
            goto out;
        }
        sqlite3_bind_text(s, 1, target, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, row->fingerprint, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, new_remote, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE) {
            r = nm_tickets_db_error(db, d, "recording a ticket id");
            goto out;
        }
    }
out:
    sqlite3_finalize(q);
    sqlite3_finalize(s);
    if (r == 0)
        r = nm_tickets_exec(db, "COMMIT", d);
    if (r < 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

static int (*const sinks[])(struct nm_sink_call *, nm_diag *) = {
    [NM_TICKET_EXEC] = nm_sink_exec,           [NM_TICKET_DIR] = nm_sink_dir,
    [NM_TICKET_PAGERDUTY] = nm_sink_pagerduty, [NM_TICKET_GITHUB] = nm_sink_github,
    [NM_TICKET_JIRA] = nm_sink_jira,
};

static bool in_list(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static int deliver_target(sqlite3 *db, const struct nm_ticket_options *o,
                          const struct nm_ticket_target *t, const char *now,
                          struct nm_ticket_counts *c, nm_diag *d)
{
    struct row *rows = NULL;
    size_t n = 0;
    char **blocked = NULL;
    size_t n_blocked = 0;
    bool unreachable = false;
    int r = load_pending(db, t->key, &rows, &n, d);
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (unreachable || in_list(blocked, n_blocked, rows[i].fingerprint)) {
            c->waiting++;
            continue;
        }
        json_error_t jerr;
        json_t *event = json_loads(rows[i].event, 0, &jerr);
        char *rid = NULL;
        nm_diag sd = {{0}};
        struct nm_sink_call call = {.o = o, .t = t, .event = event, .event_id = rows[i].id};
        int sr;
        if ((r = remote_id(db, t->key, rows[i].fingerprint, &rid, d)) < 0) {
            json_decref(event);
            break;
        }
        call.remote_id = rid;
        if (!event)
            sr = nm_diag_set(&sd, NM_ERR_PARSE, "queued event %lld is not JSON: %s",
                             (long long)rows[i].id, jerr.text);
        else
            sr = sinks[t->kind](&call, &sd);
        if (sr == 0) {
            r = record(db, t->key, &rows[i], true, call.new_remote_id, NULL, now, d);
            c->delivered++;
        } else {
            char *msg = nm_xasprintf("%s: %s", t->key, sd.msg[0] ? sd.msg : nm_strerror(sr));
            r = record(db, t->key, &rows[i], false, NULL, msg, now, d);
            if (!c->first_error[0])
                snprintf(c->first_error, sizeof c->first_error, "%s", msg);
            free(msg);
            c->failed++;
            c->waiting++;
            blocked = nm_xreallocarray(blocked, n_blocked + 1, sizeof *blocked);
            blocked[n_blocked++] = rows[i].fingerprint;
            unreachable = sr == NM_ERR_CONNECT || sr == NM_ERR_TIMEOUT;
        }
        free(call.new_remote_id);
        free(rid);
        json_decref(event);
    }
    for (size_t i = 0; i < n; i++) {
        free(rows[i].fingerprint);
        free(rows[i].event);
    }
    free(rows);
    free(blocked);
    return r;
}

int nm_tickets_deliver(sqlite3 *db, const struct nm_ticket_options *o, int64_t now,
                       struct nm_ticket_counts *ret, nm_diag *d)
{
    char now_s[32];
    nm_utc_iso8601(now, now_s);
    struct nm_ticket_counts c = {0};
    bool http = false;
    int r = 0;
    for (size_t i = 0; i < o->n_targets; i++)
        http |= o->targets[i].kind >= NM_TICKET_PAGERDUTY;
    /* Without libcurl, each HTTP target fails as unreachable (its events
     * wait, the reason recorded) and the other targets are still served. */
    const struct nm_curl_api *C = http ? nm_curl(NULL) : NULL;
    if (C && C->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return nm_diag_set(d, NM_ERR_IO, "tickets: cannot initialise libcurl");
    for (size_t i = 0; r == 0 && i < o->n_targets; i++)
        r = deliver_target(db, o, &o->targets[i], now_s, &c, d);
    if (C)
        C->global_cleanup();
    if (r < 0)
        return r;
    if (ret) {
        ret->delivered += c.delivered;
        ret->failed += c.failed;
        ret->waiting += c.waiting;
        if (!ret->first_error[0])
            memcpy(ret->first_error, c.first_error, sizeof ret->first_error);
    }
    return 0;
}
