/*
 * `nearmiss ledger -o DIR [--format json|csv|md] [--since TS] [--from SEVERITY]`:
 * the near-miss ledger of a report directory, from its history database
 * alone (read-only; a scan may run at the same time).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "nearmiss/cli.h"
#include "nearmiss/history.h"
#include "nearmiss/model.h"
#include "nearmiss/run.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"

static const char ledger_usage[] =
    "Usage: nearmiss ledger -o DIR [--format json|csv|md] [--since TS] [--from SEVERITY]\n"
    "\n"
    "One entry per finding episode that reached --from (default: high), from the\n"
    "history in DIR/history.sqlite, printed to stdout (docs/ledger.md):\n"
    "  miss       reached its check's failure point (certificate expired, filesystem\n"
    "             full or read-only, drive failing, array failed...)\n"
    "  near_miss  cleared before that; its margin says how close it came\n"
    "  open       neither yet\n"
    "\n"
    "  -o, --out DIR          the report directory of the scans (default: reports/)\n"
    "      --format FORMAT    json (default), csv, or md (Markdown, for postmortems)\n"
    "      --since TS         only entries still open at or cleared after TS\n"
    "                         (YYYY-MM-DDTHH:MM:SSZ)\n"
    "      --from SEVERITY    the severity an entry must have reached (default: high)\n"
    "  -h, --help             this text\n";

static void say(const char *msg)
{
    nm_cli_error("%s", msg);
}

int nm_cmd_ledger(int argc, char **argv)
{
    enum { O_FORMAT = 256, O_SINCE, O_FROM };
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"format", required_argument, NULL, O_FORMAT},
                                         {"since", required_argument, NULL, O_SINCE},
                                         {"from", required_argument, NULL, O_FROM},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = "reports";
    struct nm_ledger_query q = {.since = INT64_MIN, .from = NM_SEV_HIGH};
    enum nm_ledger_format fmt = NM_LEDGER_JSON;
    struct nm_history *h = NULL;
    json_t *ledger = NULL;
    char *text = NULL, msg[1200];
    nm_diag d = {{0}};
    int c, rc = NM_EXIT_USAGE;
    nm_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case O_FORMAT:
            if (strcmp(optarg, "json") == 0)
                fmt = NM_LEDGER_JSON;
            else if (strcmp(optarg, "csv") == 0)
                fmt = NM_LEDGER_CSV;
            else if (strcmp(optarg, "md") == 0 || strcmp(optarg, "markdown") == 0)
                fmt = NM_LEDGER_MD;
            else {
                say("--format: one of json, csv, md");
                return NM_EXIT_USAGE;
            }
            break;
        case O_SINCE:
            if (nm_utc_parse(optarg, &q.since) < 0) {
                say("--since: not a time like 2026-12-01T02:00:00Z");
                return NM_EXIT_USAGE;
            }
            break;
        case O_FROM:
            q.from = nm_severity_from_name(optarg);
            if (q.from == NM_SEV_NONE) {
                say("--from: not a severity (info low medium high critical)");
                return NM_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(ledger_usage, stdout);
            return 0;
        default:
            fputs("Try 'nearmiss ledger --help'.\n", stderr);
            return NM_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        say("unexpected argument (Try 'nearmiss ledger --help'.)");
        return NM_EXIT_USAGE;
    }
    if (nm_run_clock(&q.now, &d) < 0 || nm_history_open_readonly(out, &h, &d) < 0 ||
        nm_ledger_build(nm_history_db(h), &q, &ledger, &d) < 0 ||
        nm_ledger_render(ledger, fmt, &text, &d) < 0) {
        snprintf(msg, sizeof msg, "%s", d.msg);
        say(msg);
        goto out;
    }
    fputs(text, stdout);
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    free(text);
    json_decref(ledger);
    nm_history_close(h);
    return rc;
}
