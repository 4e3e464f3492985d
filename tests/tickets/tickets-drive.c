/*
 * One run's ticket steps over a stored report, as the scan does them:
 * open DB (WAL), BEGIN IMMEDIATE, plan, COMMIT, deliver.  Prints the counts
 * as JSON.  The integration tests drive sequences of runs with it.
 *
 *   tickets-drive DB NOW REPORT.json [--ticket T]... [--ticket-min S]
 *       [--pagerduty-url U] [--github-url U] [--jira-url U] [--timeout S]
 *       [--no-deliver] [--crash-before-commit]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nearmiss/time.h"
#include "nearmiss/model.h"
#include "nearmiss/tickets.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "tickets-drive: %s: %s\n", what, msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return fail("usage", "DB NOW REPORT.json [options]");
    struct nm_ticket_options o;
    nm_ticket_options_init(&o);
    nm_diag d = {{0}};
    int64_t now;
    bool deliver = true, crash = false;
    if (nm_utc_parse(argv[2], &now) < 0)
        return fail("NOW", argv[2]);
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-deliver") == 0) {
            deliver = false;
            continue;
        }
        if (strcmp(a, "--crash-before-commit") == 0) {
            crash = true;
            continue;
        }
        if (!v)
            return fail(a, "needs a value");
        i++;
        if (strcmp(a, "--ticket") == 0) {
            if (nm_ticket_options_add_target(&o, v, &d) < 0)
                return fail(a, d.msg);
        } else if (strcmp(a, "--ticket-min") == 0) {
            o.min_severity = nm_severity_from_name(v);
        } else if (strcmp(a, "--pagerduty-url") == 0) {
            o.pagerduty_url = v;
        } else if (strcmp(a, "--github-url") == 0) {
            o.github_url = v;
        } else if (strcmp(a, "--jira-url") == 0) {
            o.jira_url = v;
        } else if (strcmp(a, "--timeout") == 0) {
            o.timeout_s = (int)strtol(v, NULL, 10);
            o.connect_timeout_s = o.timeout_s;
        } else {
            return fail(a, "unknown option");
        }
    }
    if (nm_ticket_options_check(&o, &d) < 0)
        return fail("options", d.msg);
    char *data = NULL;
    size_t len = 0;
    if (nm_read_file(argv[3], 1u << 28, &data, &len, &d) < 0)
        return fail("report", d.msg);
    json_t *report = json_loadb(data, len, 0, NULL);
    free(data);
    if (!report)
        return fail("report", "not JSON");

    sqlite3 *db = NULL;
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        return fail("db", sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 2000);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    struct nm_ticket_counts c = {0};
    int r = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    if (r == 0)
        r = nm_tickets_plan(db, &o, report, NULL, now, &c, &d);
    if (r == 0 && crash) {
        /* As a run killed after planning: the transaction never commits. */
        sqlite3_close_v2(db);
        _exit(3);
    }
    if (r == 0)
        r = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    if (r == 0 && deliver)
        r = nm_tickets_deliver(db, &o, now, &c, &d);
    if (r < 0) {
        fail("run", d.msg[0] ? d.msg : sqlite3_errmsg(db));
    } else {
        json_t *out =
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "opened", (json_int_t)c.opened,
                      "updated", (json_int_t)c.updated, "resolved", (json_int_t)c.resolved,
                      "delivered", (json_int_t)c.delivered, "failed", (json_int_t)c.failed,
                      "waiting", (json_int_t)c.waiting, "first_error", c.first_error);
        json_dumpf(out, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(out);
    }
    sqlite3_close_v2(db);
    json_decref(report);
    nm_ticket_options_finish(&o);
    return r < 0 ? 1 : 0;
}
