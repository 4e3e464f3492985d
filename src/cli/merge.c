/*
 * `nearmiss merge`: shard reports into one report, written as scan writes
 * it.  The shard reports say how they were cut and selected; this file
 * checks the command line, fills a merge run (nearmiss/run.h) and prints.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.h"
#include "cli/runopts.h"
#include "nearmiss/check.h"
#include "nearmiss/cli.h"
#include "nearmiss/inventory.h"
#include "nearmiss/merge.h"
#include "nearmiss/run.h"
#include "nearmiss/util.h"
#include "nearmiss/waiver.h"
#include "nearmiss/writers.h"

static const char merge_usage[] =
    "Usage: nearmiss merge -i INVENTORY [-i INVENTORY2 ...] [OPTIONS] REPORT.json...\n"
    "\n"
    "Joins the reports of `scan --shard K/N` (one per shard, K = 1..N) into the\n"
    "report one scan of the whole inventory would have written: the hosts in\n"
    "inventory order, the fleet rules run over all of them, scores and summary.\n"
    "\n"
    "  -i, --inventory FILE   the inventory the shards scanned (the same files; the\n"
    "                         shards' --hosts/--role are applied again): the fleet\n"
    "                         rules need every host's roles and the roles' policies\n"
    "  -c, --checks DIR       the check set the shards used (default as for scan)\n"
    "  -o, --out DIR          report directory (default: reports/)\n"
    "      --format LIST      outputs: json,html,junit,prom (default json,html)\n"
    "      --keep-runs N      keep the N latest runs in the history (and their reports)\n"
    "      --keep-days D      keep the runs of the last D days\n"
    "  -q, --quiet            for cron: print nothing unless something needs a person\n"
    "                         (new criticals, hosts not scanned, tickets not\n"
    "                         delivered; as scan -q)\n"
    "  -h, --help             this text\n"
    "\n"
    "The merged report is the fleet's run: it is recorded in OUT/history.sqlite\n"
    "(change marks, resolved findings, forecasts; the shards record none) and the\n"
    "tickets below are opened from it, dated by the earliest shard's start.\n"
    "\n"
    "Refuses (exit 1, nothing written) shard reports of different inventories,\n"
    "check sets, cuts or options, a shard given twice and a missing shard.  Exit\n"
    "status otherwise as for scan: 0, 2 when a host could not be scanned, 100 when\n"
    "a finding is at or above the shards' --fail-on.\n";

int nm_cmd_merge(int argc, char **argv)
{
    enum { O_FORMAT = 256 };
    static const struct option opts[] = {
        {"inventory", required_argument, NULL, 'i'},
        {"checks", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, O_FORMAT},
        NM_CLI_ONCE_OPTIONS,
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct nm_cli_inputs in;
    const char *out = "reports";
    unsigned formats = NM_FORMAT_JSON | NM_FORMAT_HTML;
    bool quiet = false;
    int c, rc = NM_EXIT_USAGE;
    struct nm_inventory inv;
    struct nm_checkset cs;
    struct nm_shard_set set;
    struct nm_run run;
    struct nm_waivers waivers;
    struct nm_retention keep = {0};
    struct nm_ticket_options tk;
    nm_diag d = {{0}};

    nm_inventory_init(&inv);
    nm_checkset_init(&cs);
    nm_shard_set_init(&set);
    nm_waivers_init(&waivers);
    nm_ticket_options_init(&tk);
    if (nm_run_init(&run, &d) < 0) {
        nm_cli_error("%s", d.msg);
        nm_ticket_options_finish(&tk);
        return NM_EXIT_USAGE;
    }
    /* No -w: the shards' waivers are the merge's. */
    nm_cli_inputs_init(&in, argc, NULL);
    nm_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "i:c:o:qh", opts, NULL)) != -1) {
        int once = nm_cli_once_option(c, optarg, &keep, &tk);
        if (once == 0)
            once = nm_cli_inputs_option(&in, c, optarg);
        if (once < 0)
            goto out;
        if (once > 0)
            continue;
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case O_FORMAT:
            if (nm_report_formats_parse(optarg, &formats, &d) < 0) {
                nm_cli_error("--format: %s", d.msg);
                goto out;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(merge_usage, stdout);
            fputs(nm_cli_tickets_usage, stdout);
            rc = NM_EXIT_OK;
            goto out;
        default:
            nm_cli_try_help("merge");
            goto out;
        }
    }
    if (in.n_inv == 0) {
        nm_cli_error("no inventory given (-i FILE): the fleet rules need it. Try "
                     "'nearmiss merge --help'.");
        goto out;
    }
    if (optind >= argc) {
        nm_cli_error("no shard report given. Try 'nearmiss merge --help'.");
        goto out;
    }
    /* A missing token or URL is known now, not after the merge. */
    if (nm_ticket_options_check(&tk, &d) < 0) {
        nm_cli_error("%s", d.msg);
        goto out;
    }
    if (nm_shard_set_load(&set, (const char *const *)argv + optind, (size_t)(argc - optind), &d) <
        0) {
        nm_cli_error("%s", d.msg);
        goto out;
    }
    if (nm_cli_inputs_load_inventories(&in, &inv) < 0)
        goto out;
    if ((set.hosts || set.role) && nm_inventory_select(&inv, set.hosts, set.role, &d) < 0) {
        nm_cli_error("the shards' selection: %s", d.msg);
        goto out;
    }
    if (nm_cli_inputs_load_checks(&in, &cs) < 0)
        goto out;
    /* Forecasts and raised drive findings that history adds at merge are
     * waived as the shards waived theirs (the shards agreed on the list). */
    if (nm_waivers_from_report(&waivers, json_object_get(set.reports[0], "waivers"), set.paths[0],
                               &d) < 0) {
        nm_cli_error("%s", d.msg);
        goto out;
    }
    const char *fail_on = json_string_value(json_object_get(set.reports[0], "fail_on"));
    run.kind = NM_RUN_MERGE;
    run.shard_set = &set;
    run.inv = &inv;
    run.cs = &cs;
    run.fleet.unhealthy_at = set.unhealthy_at;
    run.fleet.drain = set.drain;
    run.fleet.n_drain = set.n_drain;
    run.fail_on = fail_on ? nm_severity_from_name(fail_on) : NM_SEV_NONE;
    run.waivers = &waivers;
    run.out_dir = out;
    run.formats = formats;
    run.keep = keep;
    run.tickets = tk;
    /* The merged run happened when its shards did: history and forecasts
     * date it by the earliest shard's start, not by the merge. */
    run.now = set.started_at;
    if (nm_cli_run_execute(&run, false) < 0)
        goto out;
    const json_t *s = json_object_get(run.report, "summary");
    if (quiet)
        nm_cli_print_attention(run.report, tk.n_targets ? &run.ticket_counts : NULL, run.json_path);
    else {
        printf("merged %u shards: %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
               " hosts scanned, %zu fleet findings\nreport: %s\n",
               set.n, json_integer_value(json_object_get(s, "scanned")),
               json_integer_value(json_object_get(s, "hosts")),
               json_array_size(json_object_get(run.report, "fleet_findings")), run.json_path);
        nm_cli_print_changes(run.report);
        if (tk.n_targets)
            nm_cli_print_tickets(&run.ticket_counts);
    }
    rc = nm_cli_run_status(&run);
out:
    nm_run_finish(&run);
    nm_shard_set_finish(&set);
    nm_ticket_options_finish(&tk);
    nm_waivers_finish(&waivers);
    nm_checkset_finish(&cs);
    nm_inventory_finish(&inv);
    nm_cli_inputs_finish(&in);
    return rc;
}
