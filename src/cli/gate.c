/*
 * `nearmiss gate`: is it safe to touch these hosts (and take them out of
 * their roles) now?  Scans the hosts to touch and the other hosts of their
 * roles as a run that writes nothing (no report directory, no history, no
 * tickets), then prints one verdict line per host and role
 * (nearmiss/gate.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "cli/runopts.h"
#include "nearmiss/check.h"
#include "nearmiss/cli.h"
#include "nearmiss/gate.h"
#include "nearmiss/inventory.h"
#include "nearmiss/reach.h"
#include "nearmiss/run.h"
#include "nearmiss/safetext.h"
#include "nearmiss/scan.h"
#include "nearmiss/util.h"
#include "nearmiss/waiver.h"

#define NM_EXIT_NOT_READY 100
#define NM_EXIT_UNKNOWN   2

static const char gate_usage[] =
    "Usage: nearmiss gate -i INVENTORY [--hosts GLOB[,GLOB]] [--role ROLE]\n"
    "                     [--drain HOST[,HOST]] [--fail-on SEVERITY] [OPTIONS]\n"
    "\n"
    "Is it safe to touch these hosts, and take them out of their roles, now?\n"
    "Scans the hosts to touch and the other hosts of their roles, writes nothing\n"
    "(no report, no history, no tickets) and prints one verdict per host and role.\n"
    "\n"
    "  -i, --inventory FILE   native JSON inventory or `ansible-inventory --list` JSON\n"
    "      --hosts GLOB[,GLOB] the hosts to touch, by name\n"
    "      --role ROLE        the hosts to touch: those with this role\n"
    "      --drain HOST[,HOST] the hosts taken out of their roles (default: all the\n"
    "                         hosts to touch; without --hosts/--role they are the\n"
    "                         hosts to touch)\n"
    "      --fail-on SEVERITY a finding at or above it makes a host not ready\n"
    "                         (default: high)\n"
    "      --checks ID[,ID]   only these checks\n"
    "      --unhealthy-at SEVERITY  a finding at or above it makes a host not count as\n"
    "                         healthy for its roles (default: critical)\n"
    "      --junit FILE       write the verdicts as JUnit XML (one test per host and role)\n"
    "      --json FILE        write the verdicts as JSON (nearmiss.gate/1)\n"
    "  -c, --checks-dir DIR   check definitions (as scan -c)\n"
    "  -w, --waivers FILE     accepted risks (as scan -w); repeatable\n"
    "  -F, --ssh-config FILE  OpenSSH client configuration (as scan -F; \"none\" for none)\n"
    "  -J, --jump SPEC        jump hosts, as scan -J\n"
    "  -j, --jobs N           hosts scanned at once (default: 32)\n"
    "      --timeout SEC      whole-host deadline (default: 90)\n"
    "      --known-hosts FILE OpenSSH known_hosts (as scan)\n"
    "      --identity FILE    private key (as scan)\n"
    "      --passphrase-file FILE  passphrase of an encrypted identity\n"
    "      --user USER        login user (as scan)\n"
    "      --accept-new       trust unknown host keys on first use (as scan)\n"
    "  -q, --quiet            print only the final verdict line\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit status: 0 ready; 100 not ready; 2 could not tell (a host could not be\n"
    "scanned and nothing else says not ready); 1 usage or configuration error.\n";

static void print_item(const json_t *it, const char *key, const char *kind, bool quiet)
{
    if (quiet)
        return;
    const char *v = json_string_value(json_object_get(it, "verdict"));
    char *name = nm_term_safe(json_string_value(json_object_get(it, key)));
    const char *shown = strcmp(v, "ready") == 0       ? "ready"
                        : strcmp(v, "not_ready") == 0 ? "NOT READY"
                                                      : "UNKNOWN";
    printf("%s %s: %s", kind, name, shown);
    if (json_is_true(json_object_get(it, "drained")))
        printf(" (taken out)");
    if (json_object_get(it, "min_healthy") &&
        json_integer_value(json_object_get(it, "min_healthy")))
        printf(" (%" JSON_INTEGER_FORMAT " healthy, needs %" JSON_INTEGER_FORMAT ")",
               json_integer_value(json_object_get(it, "healthy")),
               json_integer_value(json_object_get(it, "min_healthy")));
    putchar('\n');
    free(name);
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(it, "reasons"), i, r) {
        char *s = nm_term_safe(json_string_value(r));
        printf("    %s\n", s);
        free(s);
    }
}

/* Comma list into owned strings. */
static void split_names(const char *list, char ***v, size_t *n)
{
    char *copy = nm_xstrdup(list);
    for (char *p = copy, *e; p; p = e ? e + 1 : NULL) {
        e = strchr(p, ',');
        if (e)
            *e = '\0';
        if (!*p)
            continue;
        *v = nm_xreallocarray(*v, *n + 1, sizeof **v);
        (*v)[(*n)++] = nm_xstrdup(p);
    }
    free(copy);
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int nm_cmd_gate(int argc, char **argv)
{
    enum {
        O_FAIL_ON = 256,
        O_HOSTS,
        O_ROLE,
        O_DRAIN,
        O_UNHEALTHY_AT,
        O_CHECKS,
        O_JUNIT,
        O_JSON,
    };
    static const struct option opts[] = {
        {"inventory", required_argument, NULL, 'i'},
        {"checks-dir", required_argument, NULL, 'c'},
        {"waivers", required_argument, NULL, 'w'},
        NM_CLI_REACH_OPTIONS,
        {"fail-on", required_argument, NULL, O_FAIL_ON},
        {"hosts", required_argument, NULL, O_HOSTS},
        {"role", required_argument, NULL, O_ROLE},
        {"drain", required_argument, NULL, O_DRAIN},
        {"unhealthy-at", required_argument, NULL, O_UNHEALTHY_AT},
        {"checks", required_argument, NULL, O_CHECKS},
        {"junit", required_argument, NULL, O_JUNIT},
        {"json", required_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct nm_cli_inputs in;
    const char *host_glob = NULL, *role = NULL, *junit = NULL, *json_out = NULL;
    struct nm_reach_options ro = {0};
    struct nm_scan_options so = {.jobs = NM_DEFAULT_JOBS,
                                 .timeout_s = NM_DEFAULT_TIMEOUT_S,
                                 .host_cap = NM_DEFAULT_HOST_CAP,
                                 .tls_timeout_s = 10};
    struct nm_gate_options go = {.fail_on = NM_SEV_HIGH,
                                 .fleet = {.unhealthy_at = NM_SEV_CRITICAL}};
    char **drain = NULL, **only = NULL;
    size_t n_drain = 0, n_only = 0;
    bool quiet = false;
    int c, rc = NM_EXIT_USAGE;
    struct nm_inventory inv;
    struct nm_checkset cs;
    struct nm_waivers waivers;
    struct nm_run run;
    json_t *verdict = NULL;
    nm_diag d = {{0}};

    nm_inventory_init(&inv);
    nm_checkset_init(&cs);
    nm_waivers_init(&waivers);
    if (nm_run_init(&run, &d) < 0) {
        nm_cli_error("%s", d.msg);
        return NM_EXIT_USAGE;
    }
    nm_cli_inputs_init(&in, argc, &waivers);
    nm_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "i:c:w:j:F:J:qh", opts, NULL)) != -1) {
        int shared = nm_cli_inputs_option(&in, c, optarg);
        if (shared == 0)
            shared = nm_cli_reach_option(c, optarg, &ro, &so);
        if (shared < 0)
            goto out;
        if (shared > 0)
            continue;
        switch (c) {
        case O_FAIL_ON:
        case O_UNHEALTHY_AT: {
            int s = nm_severity_from_name(optarg);
            if (s == NM_SEV_NONE) {
                nm_cli_error("%s: \"%s\" is not a severity (info low medium high critical)",
                             c == O_FAIL_ON ? "--fail-on" : "--unhealthy-at", optarg);
                goto out;
            }
            if (c == O_FAIL_ON)
                go.fail_on = s;
            else
                go.fleet.unhealthy_at = (enum nm_severity)s;
            break;
        }
        case O_HOSTS:
            host_glob = optarg;
            break;
        case O_ROLE:
            role = optarg;
            break;
        case O_DRAIN:
            split_names(optarg, &drain, &n_drain);
            break;
        case O_CHECKS:
            split_names(optarg, &only, &n_only);
            break;
        case O_JUNIT:
            junit = optarg;
            break;
        case O_JSON:
            json_out = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(gate_usage, stdout);
            rc = NM_EXIT_OK;
            goto out;
        default:
            nm_cli_try_help("gate");
            goto out;
        }
    }
    if (nm_cli_inputs_require(&in, "gate", argc, argv) < 0 ||
        nm_cli_inputs_load_inventories(&in, &inv) < 0)
        goto out;
    for (size_t i = 0; i < n_drain; i++)
        if (!nm_inventory_find_host(&inv, drain[i])) {
            nm_cli_error("--drain: no host \"%s\" in the inventory", drain[i]);
            goto out;
        }
    /* The hosts to touch: the selection, else the drained ones, else all. */
    if (host_glob || role || n_drain) {
        char *joined = NULL;
        if (!host_glob && !role) {
            struct nm_buf b;
            nm_buf_init(&b, 1u << 20);
            for (size_t i = 0; i < n_drain; i++)
                nm_buf_appendf(&b, "%s%s", i ? "," : "", drain[i]);
            joined = nm_buf_steal(&b, NULL);
        }
        int r = nm_inventory_select(&inv, joined ? joined : host_glob, role, &d);
        free(joined);
        if (r < 0) {
            nm_cli_error("%s", d.msg);
            goto out;
        }
    }
    for (size_t i = 0; i < n_drain; i++)
        if (!nm_inventory_find_host(&inv, drain[i])) {
            nm_cli_error("--drain: host \"%s\" is not among the hosts to touch", drain[i]);
            goto out;
        }
    go.n_touch = inv.n_hosts;
    go.touch = nm_xcalloc(inv.n_hosts, sizeof *go.touch);
    for (size_t i = 0; i < inv.n_hosts; i++)
        go.touch[i] = nm_xstrdup(inv.hosts[i].name);
    if (!n_drain)
        for (size_t i = 0; i < go.n_touch; i++)
            split_names(go.touch[i], &drain, &n_drain);
    go.fleet.drain = drain;
    go.fleet.n_drain = n_drain;
    /* Their roles are judged from real scans of the other hosts too. */
    nm_inventory_add_role_peers(&inv);

    if (nm_cli_inputs_load_checks(&in, &cs) < 0)
        goto out;
    if (n_only && nm_checkset_keep(&cs, only, n_only, &d) < 0) {
        nm_cli_error("--checks: %s", d.msg);
        goto out;
    }
    run.inv = &inv;
    run.cs = &cs;
    run.reach_opts = ro;
    run.scan = so;
    run.waivers = &waivers;
    run.fleet = go.fleet;
    run.no_history = true;
    run.no_write = true;
    run.fail_on = go.fail_on;
    /* No report, but a role of thousands of hosts should not hold every
     * scanned host in memory either: they go through the spool, in a
     * scratch directory of the run's own. */
    run.spool_only = true;
    if (nm_cli_run_execute(&run, true) < 0)
        goto out;
    verdict = nm_gate_judge(&inv, &cs, &go, run.report);
    size_t i;
    json_t *it;
    json_array_foreach (json_object_get(verdict, "hosts"), i, it)
        print_item(it, "name", "host", quiet);
    json_array_foreach (json_object_get(verdict, "roles"), i, it)
        print_item(it, "role", "role", quiet);
    const char *vv = json_string_value(json_object_get(verdict, "verdict"));
    printf("gate: %s (fail-on %s)\n",
           strcmp(vv, "ready") == 0       ? "ready"
           : strcmp(vv, "not_ready") == 0 ? "NOT READY"
                                          : "could not tell",
           nm_severity_name(go.fail_on));
    if (junit && nm_gate_write_junit(verdict, junit, &d) < 0) {
        nm_cli_error("--junit: %s", d.msg);
        goto out;
    }
    if (json_out) {
        char *text = json_dumps(verdict, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        int w = nm_write_atomic(json_out, text, strlen(text), 0644, &d);
        free(text);
        if (w < 0) {
            nm_cli_error("--json: %s", d.msg);
            goto out;
        }
    }
    rc = strcmp(vv, "ready") == 0       ? NM_EXIT_OK
         : strcmp(vv, "not_ready") == 0 ? NM_EXIT_NOT_READY
                                        : NM_EXIT_UNKNOWN;
out:
    json_decref(verdict);
    nm_run_finish(&run);
    nm_waivers_finish(&waivers);
    nm_checkset_finish(&cs);
    nm_inventory_finish(&inv);
    free_names(drain, n_drain);
    free_names(only, n_only);
    free_names(go.touch, go.n_touch);
    nm_cli_inputs_finish(&in);
    return rc;
}
