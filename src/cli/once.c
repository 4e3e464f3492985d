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
#include "nearmiss/safetext.h"

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
