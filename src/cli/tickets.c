/*
 * `nearmiss tickets -o DIR`: the open tickets and the delivery queue kept in
 * DIR/history.sqlite, read-only (a running scan is not disturbed: WAL).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.h"
#include "nearmiss/cli.h"
#include "nearmiss/tickets.h"
#include "nearmiss/util.h"

static const char tickets_usage[] =
    "Usage: nearmiss tickets [-o DIR] [--format text|json]\n"
    "\n"
    "Lists the open tickets (per target: severity, host, check, subject, the remote\n"
    "ticket's id, since when) and the events still queued for delivery (with their\n"
    "attempts and last error), from DIR/history.sqlite.\n"
    "\n"
    "  -o, --out DIR          report directory (default: reports/)\n"
    "      --format FORMAT    text (default) or json\n"
    "  -h, --help             this text\n";

/* Host text on a terminal: control bytes (C0, DEL, and C1 as UTF-8) become '?'. */
static void put_safe(const char *s, int width)
{
    int n = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "-");
    for (; *p && (width <= 0 || n < width); p++, n++) {
        if (*p < 0x20 || *p == 0x7f) {
            putchar('?');
        } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            putchar('?');
            p++;
        } else {
            putchar(*p);
        }
    }
    for (; width > 0 && n < width; n++)
        putchar(' ');
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
        return json_integer(sqlite3_column_int64(st, i));
    return t ? json_string((const char *)t) : json_null();
}

static const char *col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static int tables_present(sqlite3 *db, bool *ret)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT version FROM schema_version WHERE component = 'tickets'", -1,
                           &st, NULL) != SQLITE_OK) {
        *ret = false; /* no schema_version at all: nothing was ever ticketed */
        return 0;
    }
    int r = 0;
    *ret = false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        int v = sqlite3_column_int(st, 0);
        if (v > NM_TICKETS_SCHEMA_VERSION) {
            nm_cli_error("the tickets schema in this history is version %d, newer than this "
                         "nearmiss knows (%d)",
                         v, NM_TICKETS_SCHEMA_VERSION);
            r = -1;
        } else {
            *ret = true;
        }
    }
    sqlite3_finalize(st);
    return r;
}

static const char open_sql[] =
    "SELECT target, severity, host, check_id, subject, remote_id, opened_at, fingerprint, "
    "summary FROM ticket_state WHERE open ORDER BY target, CASE severity WHEN 'critical' THEN 0 "
    "WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, opened_at";
static const char queue_sql[] =
    "SELECT q.id, q.target, q.action, json_extract(q.event, '$.severity'), "
    "json_extract(q.event, '$.host'), json_extract(q.event, '$.subject'), q.queued_at, "
    "q.attempts, q.last_error, q.fingerprint FROM ticket_queue q WHERE q.delivered_at IS NULL "
    "ORDER BY q.target, q.id";

int nm_cmd_tickets(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = "reports", *format = "text";
    int c;
    nm_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'o') {
            out = optarg;
        } else if (c == 'f') {
            format = optarg;
        } else if (c == 'h') {
            fputs(tickets_usage, stdout);
            return NM_EXIT_OK;
        } else {
            fputs("Try 'nearmiss tickets --help'.\n", stderr);
            return NM_EXIT_USAGE;
        }
    }
    bool json = strcmp(format, "json") == 0;
    if (!json && strcmp(format, "text") != 0) {
        nm_cli_error("--format is text or json, not \"%s\"", format);
        return NM_EXIT_USAGE;
    }
    if (optind < argc) {
        nm_cli_error("unexpected argument \"%s\"", argv[optind]);
        return NM_EXIT_USAGE;
    }
    char *path = nm_xasprintf("%s/history.sqlite", out);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = NM_EXIT_USAGE;
    bool present = false;
    if (access(path, R_OK) != 0) {
        nm_cli_error("%s: no history here (a scan with -o %s creates it)", path, out);
        goto out;
    }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        nm_cli_error("%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        goto out;
    }
    sqlite3_busy_timeout(db, 2000);
    if (tables_present(db, &present) < 0)
        goto out;
    json_t *doc = json_pack("{s:s, s:[], s:[]}", "schema", "nearmiss.tickets/1", "open", "queue");
    size_t n_open = 0, n_queue = 0;
    for (int pass = 0; present && pass < 2; pass++) {
        if (sqlite3_prepare_v2(db, pass ? queue_sql : open_sql, -1, &st, NULL) != SQLITE_OK) {
            nm_cli_error("%s: %s", path, sqlite3_errmsg(db));
            json_decref(doc);
            goto out;
        }
        if (!json && pass == 0)
            printf("%-28s %-8s %-16s %-16s %-32s %-8s %s\n", "TARGET", "SEVERITY", "HOST", "CHECK",
                   "SUBJECT", "REMOTE", "OPENED");
        if (!json && pass == 1)
            printf("\n%-6s %-28s %-8s %-8s %-16s %-24s %-8s %s\n", "QUEUED", "TARGET", "ACTION",
                   "SEVERITY", "HOST", "SUBJECT", "ATTEMPTS", "LAST ERROR");
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (json) {
                static const char *const open_keys[] = {"target",    "severity",    "host",
                                                        "check",     "subject",     "remote_id",
                                                        "opened_at", "fingerprint", "summary"};
                static const char *const queue_keys[] = {
                    "id",      "target",    "action",   "severity",   "host",
                    "subject", "queued_at", "attempts", "last_error", "fingerprint"};
                json_t *o = json_object();
                size_t nk = pass ? 10 : 9;
                for (size_t k = 0; k < nk; k++)
                    json_object_set_new(o, pass ? queue_keys[k] : open_keys[k],
                                        col_json(st, (int)k));
                json_array_append_new(json_object_get(doc, pass ? "queue" : "open"), o);
            } else if (pass == 0) {
                put_safe(col(st, 0), 28);
                putchar(' ');
                put_safe(col(st, 1), 8);
                putchar(' ');
                put_safe(col(st, 2), 16);
                putchar(' ');
                put_safe(col(st, 3), 16);
                putchar(' ');
                put_safe(col(st, 4), 32);
                putchar(' ');
                put_safe(col(st, 5), 8);
                putchar(' ');
                put_safe(col(st, 6), 0);
                putchar('\n');
            } else {
                printf("%-6lld ", (long long)sqlite3_column_int64(st, 0));
                put_safe(col(st, 1), 28);
                putchar(' ');
                put_safe(col(st, 2), 8);
                putchar(' ');
                put_safe(col(st, 3), 8);
                putchar(' ');
                put_safe(col(st, 4), 16);
                putchar(' ');
                put_safe(col(st, 5), 24);
                printf(" %-8d ", sqlite3_column_int(st, 7));
                put_safe(col(st, 8), 160);
                putchar('\n');
            }
            if (pass)
                n_queue++;
            else
                n_open++;
        }
        sqlite3_finalize(st);
        st = NULL;
        if (step != SQLITE_DONE) {
            nm_cli_error("%s: %s", path, sqlite3_errmsg(db));
            json_decref(doc);
            goto out;
        }
    }
    if (json) {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
    } else {
        printf("\n%zu open ticket(s), %zu event(s) waiting for delivery\n", n_open, n_queue);
    }
    json_decref(doc);
    rc = NM_EXIT_OK;
out:
    sqlite3_finalize(st);
    sqlite3_close_v2(db);
    free(path);
    return rc;
}
