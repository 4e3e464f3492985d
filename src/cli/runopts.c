/* What scan, gate and merge share between their command line and their run. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "cli/runopts.h"
#include "nearmiss/install.h"
#include "nearmiss/report_view.h"
#include "nearmiss/ssh.h"
#include "nearmiss/util.h"

void nm_cli_inputs_init(struct nm_cli_inputs *in, int argc, struct nm_waivers *waivers)
{
    /* argc bounds the -i count: no growth while parsing. */
    *in = (struct nm_cli_inputs){
        .inventories = nm_xcalloc((size_t)argc + 1, sizeof *in->inventories), .waivers = waivers};
}

void nm_cli_inputs_finish(struct nm_cli_inputs *in)
{
    if (!in)
        return;
    free(in->inventories);
    free(in->checks_dir);
    in->inventories = NULL;
    in->checks_dir = NULL;
}

int nm_cli_inputs_option(struct nm_cli_inputs *in, int opt, const char *arg)
{
    nm_diag d = {{0}};
    switch (opt) {
    case 'i':
        in->inventories[in->n_inv++] = arg;
        return 1;
    case 'c':
        in->checks_opt = arg;
        return 1;
    case 'w':
        if (!in->waivers)
            return 0;
        /* Loaded now: a malformed waiver file stops the run before any scan. */
        if (nm_waivers_load_file(in->waivers, arg, &d) < 0) {
            nm_cli_error("%s", d.msg);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

int nm_cli_inputs_require(const struct nm_cli_inputs *in, const char *cmd, int argc,
                          char *const argv[])
{
    if (optind < argc) {
        nm_cli_error("unexpected argument \"%s\" (Try 'nearmiss %s --help'.)", argv[optind], cmd);
        return -1;
    }
    if (in->n_inv == 0) {
        nm_cli_error("no inventory given (-i FILE). Try 'nearmiss %s --help'.", cmd);
        return -1;
    }
    return 0;
}

void nm_cli_try_help(const char *cmd)
{
    fprintf(stderr, "Try 'nearmiss %s --help'.\n", cmd);
}

int nm_cli_inputs_load_inventories(const struct nm_cli_inputs *in, struct nm_inventory *inv)
{
    nm_diag d = {{0}};
    for (size_t i = 0; i < in->n_inv; i++) {
        if (nm_inventory_load_file(inv, in->inventories[i], &d) < 0) {
            nm_cli_error("%s", d.msg);
            return -1;
        }
    }
    return 0;
}

int nm_cli_inputs_load_checks(struct nm_cli_inputs *in, struct nm_checkset *cs)
{
    free(in->checks_dir);
    in->checks_dir = in->checks_opt ? nm_xstrdup(in->checks_opt) : nm_default_checks_dir();
    return nm_cli_load_checks(in->checks_dir, cs);
}

int nm_cli_reach_option(int opt, const char *arg, struct nm_reach_options *ro,
                        struct nm_scan_options *so)
{
    long v;
    switch (opt) {
    case 'j':
        if (nm_cli_parse_long("--jobs", arg, 1, 4096, &v) < 0)
            return -1;
        so->jobs = (int)v;
        return 1;
    case NM_CLI_O_TIMEOUT:
        if (nm_cli_parse_long("--timeout", arg, 1, 86400, &v) < 0)
            return -1;
        so->timeout_s = (int)v;
        return 1;
    case NM_CLI_O_ACCEPT_NEW:
        so->accept_new = true;
        return 1;
    case 'F':
        ro->ssh_config = arg;
        return 1;
    case 'J':
        ro->proxy_jump = arg;
        return 1;
    case NM_CLI_O_KNOWN_HOSTS:
        ro->known_hosts = arg;
        return 1;
    case NM_CLI_O_IDENTITY:
        ro->identity = arg;
        return 1;
    case NM_CLI_O_USER:
        ro->user = arg;
        return 1;
    case NM_CLI_O_PASSFILE:
        ro->passphrase_file = arg;
        return 1;
    default:
        return 0;
    }
}

int nm_cli_run_execute(struct nm_run *run, bool ssh)
{
    nm_diag d = {{0}};
    if (ssh && nm_ssh_global_init() < 0) {
        nm_cli_error("cannot initialise libssh2");
        return -1;
    }
    int r = nm_run_execute(run, &d);
    if (ssh)
        nm_ssh_global_finish();
    if (r < 0) {
        if (run->failed_step && strcmp(run->failed_step, "write") == 0)
            nm_cli_error("writing the reports failed: %s", d.msg);
        else
            nm_cli_error("%s", d.msg);
        return -1;
    }
    return 0;
}

int nm_cli_run_status(const struct nm_run *run)
{
    const json_t *summary = json_object_get(run->report, "summary");
    if (run->fail_on != NM_SEV_NONE && nm_view_worst_active(run->report) >= run->fail_on)
        return NM_EXIT_FINDINGS;
    if (json_integer_value(json_object_get(summary, "failed")) > 0)
        return NM_EXIT_SOME_FAILED;
    return NM_EXIT_OK;
}
