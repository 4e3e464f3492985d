/*
 * The options and lines of the steps that run once per fleet run: history
 * retention and tickets.  A whole scan takes them; so does the merge of a
 * sharded scan, and a shard refuses them (its report is not the run).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "nearmiss/report_view.h"
#include "nearmiss/safetext.h"
#include "nearmiss/util.h"

const char nm_cli_tickets_usage[] =
    "\n"
    "Tickets (docs/tickets.md):\n"
    "      --ticket TARGET    open, update and resolve one ticket per finding at or above\n"
    "                         --ticket-min (repeatable; docs/tickets.md): exec:COMMAND,\n"
    "                         dir:PATH, pagerduty:ROUTING_KEY, github:OWNER/REPO\n"
    "                         ($GITHUB_TOKEN), jira:PROJECT ($JIRA_USER, $JIRA_TOKEN)\n"
    "      --ticket-min SEVERITY  the severity that opens a ticket (default: high)\n"
    "      --ticket-timeout SEC  deadline of one delivery: an HTTP request or an\n"
    "                         exec: command (default: 30)\n"
    "      --pagerduty-url URL  Events API base (default: https://events.pagerduty.com)\n"
    "      --github-url URL   GitHub REST base (default: https://api.github.com)\n"
    "      --jira-url URL     Jira base, e.g. https://example.atlassian.net (needed for jira:)\n"
    "      --jira-issue-type NAME  issue type of new Jira issues (default: Task)\n";

int nm_cli_once_option(int opt, const char *arg, struct nm_retention *keep,
                       struct nm_ticket_options *tk)
{
    long v;
    nm_diag d = {{0}};
    switch (opt) {
    case NM_CLI_O_KEEP_RUNS:
        if (nm_cli_parse_long("--keep-runs", arg, 1, 1000000, &v) < 0)
            return -1;
        keep->keep_runs = v;
        return 1;
    case NM_CLI_O_KEEP_DAYS:
        if (nm_cli_parse_long("--keep-days", arg, 1, 100000, &v) < 0)
            return -1;
        keep->keep_days = v;
        return 1;
    case NM_CLI_O_TICKET:
        if (nm_ticket_options_add_target(tk, arg, &d) < 0) {
            nm_cli_error("%s", d.msg);
            return -1;
        }
        return 1;
    case NM_CLI_O_TICKET_MIN:
        tk->min_severity = nm_severity_from_name(arg);
        if (tk->min_severity == NM_SEV_NONE) {
            nm_cli_error("--ticket-min: \"%s\" is not a severity", arg);
            return -1;
        }
        return 1;
    case NM_CLI_O_TICKET_TIMEOUT:
        if (nm_cli_parse_long("--ticket-timeout", arg, 1, 3600, &v) < 0)
            return -1;
        tk->timeout_s = (int)v;
        tk->connect_timeout_s = tk->timeout_s < 10 ? tk->timeout_s : 10;
        return 1;
    case NM_CLI_O_PAGERDUTY_URL:
        tk->pagerduty_url = arg;
        return 1;
    case NM_CLI_O_GITHUB_URL:
        tk->github_url = arg;
        return 1;
    case NM_CLI_O_JIRA_URL:
        tk->jira_url = arg;
        return 1;
    case NM_CLI_O_JIRA_ISSUE_TYPE:
        tk->jira_issue_type = arg;
        return 1;
    default:
        return 0;
    }
}

void nm_cli_print_tickets(const struct nm_ticket_counts *c)
{
    printf("tickets: %zu opened, %zu updated, %zu resolved; %zu delivered", c->opened, c->updated,
           c->resolved, c->delivered);
    if (c->waiting)
        printf(", %zu kept for the next run", c->waiting);
    printf("\n");
    /* The message names a target and a URL or command, never a credential. */
    if (c->failed)
        nm_cli_error("%zu ticket event(s) could not be delivered; first: %s", c->failed,
                     c->first_error);
}

/* Host text (names, messages) escaped for the terminal, never NULL. */
static void print_clean(const char *s)
{
    char *t = nm_term_safe(s);
    fputs(t, stdout);
    free(t);
}

/* What changed since the previous run, and the new criticals by name. */
void nm_cli_print_changes(const json_t *report)
{
    const json_t *ch = json_object_get(json_object_get(report, "summary"), "changes");
    const json_t *prev = json_object_get(json_object_get(report, "history"), "previous_run");
    if (!ch)
        return;
    if (!json_is_string(prev)) {
        printf("history: first run in this directory; %" JSON_INTEGER_FORMAT " findings recorded\n",
               json_integer_value(json_object_get(ch, "new")));
        return;
    }
    printf("since %s: %" JSON_INTEGER_FORMAT " new, %" JSON_INTEGER_FORMAT
           " resolved, %" JSON_INTEGER_FORMAT " persisting\n",
           json_string_value(prev), json_integer_value(json_object_get(ch, "new")),
           json_integer_value(json_object_get(ch, "resolved")),
           json_integer_value(json_object_get(ch, "persisting")));
    size_t i, j;
    json_t *h, *f;
    json_array_foreach (json_object_get(report, "hosts"), i, h) {
        json_array_foreach (json_object_get(h, "findings"), j, f) {
            const char *sev = json_string_value(json_object_get(f, "severity"));
            const char *change = json_string_value(json_object_get(f, "change"));
            if (!sev || !change || strcmp(sev, "critical") != 0 || strcmp(change, "new") != 0 ||
                json_is_true(json_object_get(f, "waived")))
                continue;
            printf("  new critical: ");
            print_clean(json_string_value(json_object_get(h, "name")));
            printf(": ");
            print_clean(json_string_value(json_object_get(f, "message")));
            putchar('\n');
        }
    }
    json_array_foreach (json_object_get(report, "fleet_findings"), j, f) {
        const char *sev = json_string_value(json_object_get(f, "severity"));
        const char *change = json_string_value(json_object_get(f, "change"));
        if (sev && change && strcmp(sev, "critical") == 0 && strcmp(change, "new") == 0) {
            printf("  new critical: fleet: ");
            print_clean(json_string_value(json_object_get(f, "message")));
            putchar('\n');
        }
    }
}

/* A finding that became critical this run: new, or persisting and raised
 * to critical (previous_severity says from what).  Without history marks
 * (no summary.changes) every critical counts. */
static bool newly_critical(const json_t *f, bool marked)
{
    const char *sev = json_string_value(json_object_get(f, "severity"));
    if (!sev || strcmp(sev, "critical") != 0 || json_is_true(json_object_get(f, "waived")))
        return false;
    if (!marked)
        return true;
    const char *change = json_string_value(json_object_get(f, "change"));
    const char *was = json_string_value(json_object_get(f, "previous_severity"));
    return (change && strcmp(change, "new") == 0) || (was && strcmp(was, "critical") != 0);
}

static void print_critical(const char *host, const json_t *f)
{
    const char *was = json_string_value(json_object_get(f, "previous_severity"));
    printf("  new critical: ");
    print_clean(host);
    printf(": ");
    print_clean(json_string_value(json_object_get(f, "message")));
    if (was) {
        printf(" (was ");
        print_clean(was);
        putchar(')');
    }
    putchar('\n');
}

bool nm_cli_print_attention(const json_t *report, const struct nm_ticket_counts *tickets,
                            const char *report_path)
{
    bool marked = json_object_get(json_object_get(report, "summary"), "changes") != NULL;
    size_t n_crit = 0, n_down = 0, i, j;
    json_t *h, *f;
    json_array_foreach (json_object_get(report, "hosts"), i, h) {
        if (!nm_view_host_ok(h))
            n_down++;
        json_array_foreach (json_object_get(h, "findings"), j, f)
            n_crit += newly_critical(f, marked);
    }
    json_array_foreach (json_object_get(report, "fleet_findings"), j, f)
        n_crit += newly_critical(f, marked);
    size_t n_undelivered = tickets ? tickets->failed : 0;
    if (!n_crit && !n_down && !n_undelivered)
        return false;

    struct nm_buf head;
    nm_buf_init(&head, 512);
    if (n_crit)
        nm_buf_appendf(&head, "%zu new critical finding%s", n_crit, n_crit == 1 ? "" : "s");
    if (n_down)
        nm_buf_appendf(&head, "%s%zu host%s could not be scanned", head.len ? ", " : "", n_down,
                       n_down == 1 ? "" : "s");
    if (n_undelivered)
        nm_buf_appendf(&head, "%s%zu ticket event%s not delivered", head.len ? ", " : "",
                       n_undelivered, n_undelivered == 1 ? "" : "s");
    printf("%s\n", head.data);
    nm_buf_finish(&head);
    json_array_foreach (json_object_get(report, "hosts"), i, h) {
        const char *name = json_string_value(json_object_get(h, "name"));
        json_array_foreach (json_object_get(h, "findings"), j, f)
            if (newly_critical(f, marked))
                print_critical(name, f);
    }
    json_array_foreach (json_object_get(report, "fleet_findings"), j, f)
        if (newly_critical(f, marked))
            print_critical("fleet", f);
    json_array_foreach (json_object_get(report, "hosts"), i, h) {
        if (nm_view_host_ok(h))
            continue;
        printf("  not scanned: ");
        print_clean(json_string_value(json_object_get(h, "name")));
        printf(" (");
        print_clean(json_string_value(json_object_get(h, "status")));
        printf("): ");
        print_clean(json_string_value(json_object_get(h, "error")));
        putchar('\n');
    }
    /* The message names a target and a URL or command, never a credential. */
    if (n_undelivered) {
        printf("  tickets: %zu event%s could not be delivered (kept for the next run); first: ",
               n_undelivered, n_undelivered == 1 ? "" : "s");
        print_clean(tickets->first_error);
        putchar('\n');
    }
    if (report_path) {
        printf("report: ");
        print_clean(report_path);
        putchar('\n');
    }
    return true;
}
