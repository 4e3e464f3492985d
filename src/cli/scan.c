/*
 * `nearmiss scan`: turns the options into a run (src/run/run.c), runs it and
 * prints the summary.  The order of the pipeline is the run's, not this
 * file's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.h"
#include "nearmiss/report_view.h"
#include "nearmiss/check.h"
#include "nearmiss/install.h"
#include "nearmiss/cli.h"
#include "nearmiss/fleet.h"
#include "nearmiss/history.h"
#include "nearmiss/inventory.h"
#include "nearmiss/outdir.h"
#include "nearmiss/report.h"
#include "nearmiss/run.h"
#include "nearmiss/safetext.h"
#include "nearmiss/scan.h"
#include "nearmiss/ssh.h"
#include "nearmiss/util.h"
#include "nearmiss/waiver.h"
#include "nearmiss/writers.h"

static const char scan_usage[] =
    "Usage: nearmiss scan -i INVENTORY [-i INVENTORY2 ...] [OPTIONS]\n"
    "\n"
    "  -i, --inventory FILE   native JSON inventory, or `ansible-inventory --list` JSON;\n"
    "                         several are merged\n"
    "  -c, --checks DIR       check definitions (default: $NEARMISS_CHECKS_DIR, else the\n"
    "                         source tree's checks/ for the binary of its build directory,\n"
    "                         else the installed ones: PREFIX/share/nearmiss/checks)\n"
    "  -w, --waivers FILE     accepted risks (JSON, docs/waivers.md); repeatable. Waived\n"
    "                         findings stay in the report but do not count\n"
    "  -o, --out DIR          report directory (default: reports/; see below)\n"
    "  -j, --jobs N           hosts scanned at once (default: 32)\n"
    "      --timeout SEC      whole-host deadline: connect, handshake, auth and all\n"
    "                         probes (default: 90)\n"
    "      --known-hosts FILE OpenSSH known_hosts for hosts whose inventory names none\n"
    "                         (default: ~/.ssh/known_hosts)\n"
    "      --identity FILE    private key for hosts whose inventory names none\n"
    "                         (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)\n"
    "      --passphrase-file FILE  passphrase of an encrypted identity (first line)\n"
    "      --user USER        login user for hosts whose inventory names none\n"
    "                         (default: $USER)\n"
    "      --accept-new       trust unknown host keys on first use and append them to\n"
    "                         known_hosts (never the default; a CHANGED key is never accepted)\n"
    "      --hosts GLOB[,GLOB] scan only hosts whose name matches\n"
    "      --role ROLE        scan only hosts with this role (--hosts and --role that\n"
    "                         select nothing are an error)\n"
    "      --format LIST      outputs: json,html,junit,prom (default json,html; JSON is\n"
    "                         always written): OUT/report.html, OUT/junit.xml,\n"
    "                         OUT/nearmiss.prom\n"
    "      --fail-on SEVERITY exit 100 when a finding at or above it exists\n"
    "                         (info, low, medium, high, critical)\n"
    "      --drain HOST[,HOST] judge the roles as if these hosts were down: \"can I take\n"
    "                         web1 out?\" is `--role web --drain web1 --fail-on high`\n"
    "      --unhealthy-at SEVERITY  a scanned host with a finding at or above this does\n"
    "                         not count as healthy for its roles (default: critical)\n"
    "      --max-output BYTES output accepted from one host (default: 8388608)\n"
    "      --tls-ca FILE      PEM trust anchors for the inventory's TLS endpoints\n"
    "                         (default: the system trust store)\n"
    "      --tls-timeout SEC  deadline of one TLS endpoint probe (default: 10)\n"
    "      --save-scripts DIR write the probe script sent to each host to DIR/HOST.sh\n"
    "                         (for check authors; the directory must exist; host names\n"
    "                         are made safe file names: '/' and a leading '.' become %XX)\n"
    "      --keep-runs N      keep the N latest runs in the history (and their reports)\n"
    "      --keep-days D      keep the runs of the last D days; finding episodes, which\n"
    "                         the ledger and tickets read, are always kept\n"
    "  -q, --quiet            no progress and no summary on the terminal\n"
    "  -h, --help             this text\n"
    "\n"
    "Writes OUT/latest.json, OUT/nearmiss-<start time>.json and OUT/report.html\n"
    "together or not at all (each to a temporary first, renamed when all are\n"
    "written), and records the run in OUT/history.sqlite (docs/history.md): every\n"
    "finding is marked new or persisting, and what is gone is listed as resolved.\n"
    "Host keys are verified against known_hosts: an unknown key gives status\n"
    "hostkey_unknown and a changed one hostkey_mismatch, and that host is not scanned.\n";

/* Sections in their own strings: C limits one literal's length. */
static const char scan_usage_outdir[] =
    "\n"
    "Report directory (-o OUT) and empty inventories:\n"
    "  OUT is created 0700 when missing and locked while the run lasts: a second\n"
    "  run into it exits 1 at once.  Report files are created 0600 whatever the\n"
    "  umask; a run's files are published together or not at all.\n"
    "      --file-mode MODE   mode of the report files (default: 0600; e.g. 0640 to let\n"
    "                         the directory's group read them)\n"
    "      --allow-empty      accept an inventory without hosts and write an empty report\n"
    "                         (otherwise an error: a failed inventory generator must not\n"
    "                         replace the last report)\n";

static const char scan_usage_tickets[] =
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

static void progress(void *ctx, size_t done, size_t total, size_t failed)
{
    (void)ctx;
    fprintf(stderr, "\r\033[Kscanning: %zu/%zu hosts done, %zu could not be scanned", done, total,
            failed);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

static void print_tickets(const struct nm_ticket_counts *c)
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
static void print_changes(const json_t *report)
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

static void print_summary(const json_t *report, const char *path)
{
    const json_t *s = json_object_get(report, "summary");
    const json_t *fc = json_object_get(s, "findings");
    printf("scanned %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
           " hosts; findings: %" JSON_INTEGER_FORMAT " critical, %" JSON_INTEGER_FORMAT
           " high, %" JSON_INTEGER_FORMAT " medium, %" JSON_INTEGER_FORMAT " low\n",
           json_integer_value(json_object_get(s, "scanned")),
           json_integer_value(json_object_get(s, "hosts")),
           json_integer_value(json_object_get(fc, "critical")),
           json_integer_value(json_object_get(fc, "high")),
           json_integer_value(json_object_get(fc, "medium")),
           json_integer_value(json_object_get(fc, "low")));
    size_t i;
    json_t *h;
    json_array_foreach (json_object_get(report, "hosts"), i, h) {
        if (nm_view_host_ok(h))
            continue;
        /* Names, statuses and errors carry host text: escaped, never NULL. */
        char *name = nm_term_safe(json_string_value(json_object_get(h, "name")));
        char *status = nm_term_safe(json_string_value(json_object_get(h, "status")));
        char *error = nm_term_safe(json_string_value(json_object_get(h, "error")));
        printf("  %-20s %-16s %s\n", name, status, error);
        free(name);
        free(status);
        free(error);
    }
    print_changes(report);
    printf("report: %s\n", path);
}

/* --save-scripts failures are per host and do not stop the scan, but the
 * user asked for the files: say which are missing. */
static void warn_unsaved_scripts(const json_t *report)
{
    size_t i;
    json_t *h;
    json_array_foreach (json_object_get(report, "hosts"), i, h) {
        const char *err =
            json_string_value(json_object_get(json_object_get(h, "scan"), "script_save_error"));
        if (err)
            nm_cli_error("--save-scripts: %s", err);
    }
}

int nm_cmd_scan(int argc, char **argv)
{
    enum {
        O_TIMEOUT = 256,
        O_KNOWN_HOSTS,
        O_IDENTITY,
        O_USER,
        O_FORMAT,
        O_FAIL_ON,
        O_HOSTS,
        O_ROLE,
        O_ACCEPT_NEW,
        O_PASSFILE,
        O_MAXOUT,
        O_SAVE_SCRIPTS,
        O_DRAIN,
        O_UNHEALTHY_AT,
        O_TLS_CA,
        O_TLS_TIMEOUT,
        O_KEEP_RUNS,
        O_KEEP_DAYS,
        O_TICKET,
        O_TICKET_MIN,
        O_TICKET_TIMEOUT,
        O_PAGERDUTY_URL,
        O_GITHUB_URL,
        O_JIRA_URL,
        O_JIRA_ISSUE_TYPE,
        O_ALLOW_EMPTY,
        O_FILE_MODE
    };
    struct nm_retention keep = {0};
    struct nm_fleet_options fo = {.unhealthy_at = NM_SEV_CRITICAL};
    /* The operator's page comes by default; machine formats on request. */
    unsigned formats = NM_FORMAT_JSON | NM_FORMAT_HTML;
    char *drain_list = NULL;
    struct nm_waivers waivers;
    nm_waivers_init(&waivers);
    static const struct option opts[] = {
        {"inventory", required_argument, NULL, 'i'},
        {"checks", required_argument, NULL, 'c'},
        {"waivers", required_argument, NULL, 'w'},
        {"out", required_argument, NULL, 'o'},
        {"jobs", required_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"known-hosts", required_argument, NULL, O_KNOWN_HOSTS},
        {"identity", required_argument, NULL, O_IDENTITY},
        {"user", required_argument, NULL, O_USER},
        {"format", required_argument, NULL, O_FORMAT},
        {"fail-on", required_argument, NULL, O_FAIL_ON},
        {"hosts", required_argument, NULL, O_HOSTS},
        {"role", required_argument, NULL, O_ROLE},
        {"accept-new", no_argument, NULL, O_ACCEPT_NEW},
        {"passphrase-file", required_argument, NULL, O_PASSFILE},
        {"max-output", required_argument, NULL, O_MAXOUT},
        {"save-scripts", required_argument, NULL, O_SAVE_SCRIPTS},
        {"drain", required_argument, NULL, O_DRAIN},
        {"tls-ca", required_argument, NULL, O_TLS_CA},
        {"tls-timeout", required_argument, NULL, O_TLS_TIMEOUT},
        {"unhealthy-at", required_argument, NULL, O_UNHEALTHY_AT},
        {"allow-empty", no_argument, NULL, O_ALLOW_EMPTY},
        {"file-mode", required_argument, NULL, O_FILE_MODE},
        {"keep-runs", required_argument, NULL, O_KEEP_RUNS},
        {"keep-days", required_argument, NULL, O_KEEP_DAYS},
        {"ticket", required_argument, NULL, O_TICKET},
        {"ticket-min", required_argument, NULL, O_TICKET_MIN},
        {"ticket-timeout", required_argument, NULL, O_TICKET_TIMEOUT},
        {"pagerduty-url", required_argument, NULL, O_PAGERDUTY_URL},
        {"github-url", required_argument, NULL, O_GITHUB_URL},
        {"jira-url", required_argument, NULL, O_JIRA_URL},
        {"jira-issue-type", required_argument, NULL, O_JIRA_ISSUE_TYPE},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char **inventories = nm_xcalloc((size_t)argc + 1, sizeof *inventories);
    size_t n_inv = 0;
    const char *checks_opt = NULL, *out = "reports", *known_hosts_opt = NULL;
    const char *identity_opt = NULL, *user = NULL, *host_glob = NULL, *role = NULL;
    const char *passfile = NULL;
    bool quiet = false, allow_empty = false;
    int file_mode = NM_OUTDIR_FILE_MODE;
    int fail_on = NM_SEV_NONE;
    struct nm_scan_options so = {.jobs = NM_DEFAULT_JOBS,
                                 .timeout_s = NM_DEFAULT_TIMEOUT_S,
                                 .host_cap = NM_DEFAULT_HOST_CAP,
                                 .tls_timeout_s = 10};
    long v;
    int c, rc = NM_EXIT_USAGE;
    char *checks_dir = NULL;
    struct nm_inventory inv;
    struct nm_run run;
    struct nm_checkset cs;
    const json_t *report = NULL;
    nm_diag d = {{0}};

    struct nm_ticket_options tk;
    nm_ticket_options_init(&tk);
    nm_inventory_init(&inv);
    nm_checkset_init(&cs);
    if (nm_run_init(&run, &d) < 0) {
        nm_cli_error("%s", d.msg);
        return NM_EXIT_USAGE;
    }
    nm_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "i:c:w:o:j:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            inventories[n_inv++] = optarg;
            break;
        case 'c':
            checks_opt = optarg;
            break;
        case 'w':
            /* Loaded now: a malformed waiver file stops the run before any scan. */
            if (nm_waivers_load_file(&waivers, optarg, &d) < 0) {
                nm_cli_error("%s", d.msg);
                goto out;
            }
            break;
        case 'o':
            out = optarg;
            break;
        case 'j':
            if (nm_cli_parse_long("--jobs", optarg, 1, 4096, &v) < 0)
                goto out;
            so.jobs = (int)v;
            break;
        case O_TIMEOUT:
            if (nm_cli_parse_long("--timeout", optarg, 1, 86400, &v) < 0)
                goto out;
            so.timeout_s = (int)v;
            break;
        case O_KNOWN_HOSTS:
            known_hosts_opt = optarg;
            break;
        case O_IDENTITY:
            identity_opt = optarg;
            break;
        case O_USER:
            user = optarg;
            break;
        case O_FORMAT:
            if (nm_report_formats_parse(optarg, &formats, &d) < 0) {
                nm_cli_error("--format: %s", d.msg);
                goto out;
            }
            break;
        case O_FAIL_ON:
            fail_on = nm_severity_from_name(optarg);
            if (fail_on == NM_SEV_NONE) {
                nm_cli_error("--fail-on: \"%s\" is not a severity (info low medium high critical)",
                             optarg);
                goto out;
            }
            break;
        case O_HOSTS:
            host_glob = optarg;
            break;
        case O_ROLE:
            role = optarg;
            break;
        case O_ACCEPT_NEW:
            so.accept_new = true;
            break;
        case O_PASSFILE:
            passfile = optarg;
            break;
        case O_MAXOUT:
            if (nm_cli_parse_long("--max-output", optarg, 4096, 1L << 30, &v) < 0)
                goto out;
            so.host_cap = (uint64_t)v;
            break;
        case O_SAVE_SCRIPTS:
            so.save_scripts = optarg;
            break;
        case O_TLS_CA:
            so.tls_ca = optarg;
            break;
        case O_TLS_TIMEOUT:
            if (nm_cli_parse_long("--tls-timeout", optarg, 1, 600, &v) < 0)
                goto out;
            so.tls_timeout_s = (int)v;
            break;
        case O_DRAIN:
            free(drain_list);
            drain_list = nm_xstrdup(optarg);
            break;
        case O_UNHEALTHY_AT:
            fo.unhealthy_at = nm_severity_from_name(optarg);
            if (fo.unhealthy_at == NM_SEV_NONE) {
                nm_cli_error("--unhealthy-at: \"%s\" is not a severity", optarg);
                goto out;
            }
            break;
        case O_ALLOW_EMPTY:
            allow_empty = true;
            break;
        case O_FILE_MODE:
            if (nm_cli_parse_file_mode("--file-mode", optarg, &file_mode) < 0)
                goto out;
            break;
        case O_KEEP_RUNS:
            if (nm_cli_parse_long("--keep-runs", optarg, 1, 1000000, &v) < 0)
                goto out;
            keep.keep_runs = v;
            break;
        case O_KEEP_DAYS:
            if (nm_cli_parse_long("--keep-days", optarg, 1, 100000, &v) < 0)
                goto out;
            keep.keep_days = v;
            break;
        case O_TICKET:
            if (nm_ticket_options_add_target(&tk, optarg, &d) < 0) {
                nm_cli_error("%s", d.msg);
                goto out;
            }
            break;
        case O_TICKET_MIN:
            tk.min_severity = nm_severity_from_name(optarg);
            if (tk.min_severity == NM_SEV_NONE) {
                nm_cli_error("--ticket-min: \"%s\" is not a severity", optarg);
                goto out;
            }
            break;
        case O_TICKET_TIMEOUT:
            if (nm_cli_parse_long("--ticket-timeout", optarg, 1, 3600, &v) < 0)
                goto out;
            tk.timeout_s = (int)v;
            tk.connect_timeout_s = tk.timeout_s < 10 ? tk.timeout_s : 10;
            break;
        case O_PAGERDUTY_URL:
            tk.pagerduty_url = optarg;
            break;
        case O_GITHUB_URL:
            tk.github_url = optarg;
            break;
        case O_JIRA_URL:
            tk.jira_url = optarg;
            break;
        case O_JIRA_ISSUE_TYPE:
            tk.jira_issue_type = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(scan_usage, stdout);
            fputs(scan_usage_outdir, stdout);
            fputs(scan_usage_tickets, stdout);
            rc = NM_EXIT_OK;
            goto out;
        default:
            fputs("Try 'nearmiss scan --help'.\n", stderr);
            goto out;
        }
    }
    if (optind < argc) {
        nm_cli_error("scan: unexpected argument \"%s\" (Try 'nearmiss scan --help'.)",
                     argv[optind]);
        goto out;
    }
    if (n_inv == 0) {
        nm_cli_error("scan: no inventory given (-i FILE). Try 'nearmiss scan --help'.");
        goto out;
    }
    for (size_t i = 0; i < n_inv; i++) {
        if (nm_inventory_load_file(&inv, inventories[i], &d) < 0) {
            nm_cli_error("%s", d.msg);
            goto out;
        }
    }
    if (inv.n_hosts == 0 && !allow_empty) {
        /* Most often a generator that failed: replacing the last report with
         * an empty one would hide the whole fleet. */
        nm_cli_error("scan: the inventory has no hosts; nothing scanned, no report written "
                     "(--allow-empty to accept it)");
        goto out;
    }
    if ((host_glob || role) && nm_inventory_select(&inv, host_glob, role, &d) < 0) {
        nm_cli_error("%s", d.msg);
        goto out;
    }
    if (drain_list) {
        /* Names must exist: a typo would silently answer "safe to drain". */
        for (char *p = drain_list, *e; p; p = e ? e + 1 : NULL) {
            e = strchr(p, ',');
            if (e)
                *e = '\0';
            if (!*p)
                continue;
            if (!nm_inventory_find_host(&inv, p)) {
                nm_cli_error("--drain: no host \"%s\" among the selected hosts", p);
                goto out;
            }
            fo.drain = nm_xreallocarray(fo.drain, fo.n_drain + 1, sizeof *fo.drain);
            fo.drain[fo.n_drain++] = p;
        }
    }
    /* A missing token or URL is known now, not after the scan. */
    if (nm_ticket_options_check(&tk, &d) < 0) {
        nm_cli_error("%s", d.msg);
        goto out;
    }
    checks_dir = checks_opt ? nm_xstrdup(checks_opt) : nm_default_checks_dir();
    if (nm_cli_load_checks(checks_dir, &cs) < 0)
        goto out;
    if (so.save_scripts && nm_cli_check_writable_dir("--save-scripts", so.save_scripts) < 0)
        goto out;
    run.reach_opts = (struct nm_reach_options){.user = user,
                                               .identity = identity_opt,
                                               .known_hosts = known_hosts_opt,
                                               .passphrase_file = passfile};
    if (!quiet && isatty(STDERR_FILENO)) {
        so.progress = progress;
    }
    run.inv = &inv;
    run.cs = &cs;
    run.scan = so;
    run.waivers = &waivers;
    run.fleet = fo;
    run.out_dir = out;
    run.file_mode = file_mode;
    run.formats = formats;
    run.keep = keep;
    run.fail_on = fail_on;
    run.tickets = tk;
    if (nm_ssh_global_init() < 0) {
        nm_cli_error("cannot initialise libssh2");
        goto out;
    }
    int r = nm_run_execute(&run, &d);
    nm_ssh_global_finish();
    if (r < 0) {
        if (run.failed_step && strcmp(run.failed_step, "write") == 0)
            nm_cli_error("writing the reports failed: %s", d.msg);
        else
            nm_cli_error("%s", d.msg);
        goto out;
    }
    report = run.report;
    warn_unsaved_scripts(report);
    if (!quiet) {
        print_summary(report, run.json_path);
        if (formats & NM_FORMAT_HTML)
            printf("html:   %s/%s\n", out, NM_REPORT_HTML_NAME);
        if (formats & NM_FORMAT_JUNIT)
            printf("junit:  %s/%s\n", out, NM_REPORT_JUNIT_NAME);
        if (formats & NM_FORMAT_PROM)
            printf("prom:   %s/%s\n", out, NM_REPORT_PROM_NAME);
        if (tk.n_targets)
            print_tickets(&run.ticket_counts);
    }
    const json_t *summary = json_object_get(report, "summary");
    if (fail_on != NM_SEV_NONE && nm_view_worst_active(report) >= fail_on)
        rc = NM_EXIT_FINDINGS;
    else if (json_integer_value(json_object_get(summary, "failed")) > 0)
        rc = NM_EXIT_SOME_FAILED;
    else
        rc = NM_EXIT_OK;
out:
    nm_run_finish(&run);
    nm_ticket_options_finish(&tk);
    nm_waivers_finish(&waivers);
    free(fo.drain);
    free(drain_list);
    nm_checkset_finish(&cs);
    nm_inventory_finish(&inv);
    free(checks_dir);
    free(inventories);
    return rc;
}
