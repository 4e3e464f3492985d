/* Private to the command layer: what every command prints or parses alike. */
#ifndef NM_CLI_COMMON_H
#define NM_CLI_COMMON_H

#include <stdbool.h>

#include <jansson.h>

#include "nearmiss/check.h"
#include "nearmiss/history.h"
#include "nearmiss/tickets.h"

/* Exit statuses (README, "Exit status"). */
#define NM_EXIT_OK          0
#define NM_EXIT_USAGE       1
#define NM_EXIT_SOME_FAILED 2
#define NM_EXIT_FINDINGS    100

/* Every error line of the command layer reads "nearmiss: COMMAND: MESSAGE"
 * (docs/man: DIAGNOSTICS).  The dispatcher names the command once (a static
 * string, or NULL before one is known); messages never repeat it. */
void nm_cli_set_command(const char *name);

/* "nearmiss: COMMAND: MESSAGE\n" on stderr, control characters escaped
 * (nm_term_safe); "nearmiss: MESSAGE\n" while no command is set. */
void nm_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A whole number option within [min, max]; prints the error itself. */
int nm_cli_parse_long(const char *name, const char *v, long min, long max, long *ret);

/* Starts a fresh getopt_long() pass: a command may run after another
 * command's loop in the same process (the tests do).  glibc resets its hidden
 * state only for optind 0. */
void nm_cli_getopt_reset(void);

bool nm_cli_is_dir(const char *path);

/* An existing directory this process may write into; prints the error. */
int nm_cli_check_writable_dir(const char *name, const char *path);

/* An octal file mode for reports: owner read/write, no execute bits, nothing
 * beyond 0666 (e.g. 0600, 0640); prints the error. */
int nm_cli_parse_file_mode(const char *name, const char *v, int *ret);

/* Loads dir into cs (initialised here); prints the error and returns -1. */
int nm_cli_load_checks(const char *dir, struct nm_checkset *cs);

/*
 * Options of the steps that run once per fleet run (src/cli/once.c): history
 * retention and tickets, taken by scan and by merge.  NM_CLI_ONCE_OPTIONS
 * goes into a command's struct option table; nm_cli_once_option() returns 1
 * when opt was one of them, 0 when not, -1 after printing the error.  The
 * targets' arguments are borrowed from argv.
 */
enum {
    NM_CLI_O_KEEP_RUNS = 0x1000,
    NM_CLI_O_KEEP_DAYS,
    NM_CLI_O_TICKET,
    NM_CLI_O_TICKET_MIN,
    NM_CLI_O_TICKET_TIMEOUT,
    NM_CLI_O_PAGERDUTY_URL,
    NM_CLI_O_GITHUB_URL,
    NM_CLI_O_JIRA_URL,
    NM_CLI_O_JIRA_ISSUE_TYPE,
};
/* clang-format off */
#define NM_CLI_ONCE_OPTIONS                                             \
    {"keep-runs", required_argument, NULL, NM_CLI_O_KEEP_RUNS},         \
    {"keep-days", required_argument, NULL, NM_CLI_O_KEEP_DAYS},         \
    {"ticket", required_argument, NULL, NM_CLI_O_TICKET},               \
    {"ticket-min", required_argument, NULL, NM_CLI_O_TICKET_MIN},       \
    {"ticket-timeout", required_argument, NULL, NM_CLI_O_TICKET_TIMEOUT}, \
    {"pagerduty-url", required_argument, NULL, NM_CLI_O_PAGERDUTY_URL}, \
    {"github-url", required_argument, NULL, NM_CLI_O_GITHUB_URL},       \
    {"jira-url", required_argument, NULL, NM_CLI_O_JIRA_URL},           \
    {"jira-issue-type", required_argument, NULL, NM_CLI_O_JIRA_ISSUE_TYPE}
/* clang-format on */
int nm_cli_once_option(int opt, const char *arg, struct nm_retention *keep,
                       struct nm_ticket_options *tk);
/* The tickets section of --help. */
extern const char nm_cli_tickets_usage[];

/* What changed since the previous run (report borrowed), and the ticket
 * counts of the run; host text escaped. */
void nm_cli_print_changes(const json_t *report);
void nm_cli_print_tickets(const struct nm_ticket_counts *c);

/* -q: what needs a person, or nothing at all (cron mails whatever a job
 * prints).  New criticals (new, or raised to critical since the previous
 * run), hosts that could not be scanned and why, ticket events that could
 * not be delivered (tickets may be NULL), then the report's path; host text
 * escaped.  Returns whether anything was printed. */
bool nm_cli_print_attention(const json_t *report, const struct nm_ticket_counts *tickets,
                            const char *report_path);

#endif
