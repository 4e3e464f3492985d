/*
 * `nearmiss scan`: turns the options into a run (src/run/run.c), runs it and
 * prints the summary.  The order of the pipeline is the run's, not this
 * file's.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/common.h"
#include "cli/runopts.h"
#include "nearmiss/report_view.h"
#include "nearmiss/check.h"
#include "nearmiss/cli.h"
#include "nearmiss/fleet.h"
#include "nearmiss/history.h"
#include "nearmiss/inventory.h"
#include "nearmiss/knownhosts.h"
#include "nearmiss/outdir.h"
#include "nearmiss/reach.h"
#include "nearmiss/report.h"
#include "nearmiss/run.h"
#include "nearmiss/safetext.h"
#include "nearmiss/scan.h"
#include "nearmiss/shard.h"
#include "nearmiss/spool.h"
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
    "      --max-per LABEL=N  at most N hosts scanned at once per value of the inventory\n"
    "                         label LABEL (repeatable; hosts without it are not limited)\n"
    "      --timeout SEC      whole-host deadline: DNS, connect, handshake, auth and all\n"
    "                         probes (default: 90)\n"
    "      --known-hosts FILE OpenSSH known_hosts for hosts whose inventory names none\n"
    "                         (default: ~/.ssh/known_hosts)\n"
    "      --identity FILE    private key for hosts whose inventory names none\n"
    "                         (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)\n"
    "      --passphrase-file FILE  passphrase of an encrypted identity (first line)\n"
    "      --user USER        login user for hosts whose inventory names none\n"
    "                         (default: $USER)\n"
    "  -F, --ssh-config FILE  OpenSSH client configuration (default: ~/.ssh/config, then\n"
    "                         /etc/ssh/ssh_config; \"none\" for none): HostName, User, Port,\n"
    "                         IdentityFile, UserKnownHostsFile, ProxyJump, HostKeyAlias...\n"
    "  -J, --jump SPEC        jump hosts for hosts whose inventory names none, as ssh -J:\n"
    "                         [user@]host[:port][,...], or \"none\"\n"
    "      --explain-host NAME  print how host NAME would be reached (address, port,\n"
    "                         user, keys, known_hosts, jump hosts) and where each value\n"
    "                         comes from; scans nothing\n"
    "      --accept-new       trust unknown host keys on first use and append them to\n"
    "                         known_hosts (never the default; a CHANGED key is never accepted)\n"
    "      --hosts GLOB[,GLOB] scan only hosts whose name matches\n"
    "      --role ROLE        scan only hosts with this role (--hosts and --role that\n"
    "                         select nothing are an error)\n"
    "      --shard K/N        scan only shard K of N of the selected hosts (by a hash of\n"
    "                         the name); `nearmiss merge` joins the N shard reports\n"
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
    "      --tls-discovery off|local|remote  find the TLS services each host listens\n"
    "                         on and judge them like inventory endpoints: remote\n"
    "                         (default) probes them from here at the host's inventory\n"
    "                         address, loopback-only ones from the host itself\n"
    "                         (openssl s_client); local probes all from the host\n";
/* Two halves: one C string literal of this size is beyond what C17 promises. */
static const char scan_usage_more[] =
    "      --save-scripts DIR write the probe script sent to each host to DIR/HOST.sh\n"
    "                         (for check authors; the directory must exist; host names\n"
    "                         are made safe file names: '/' and a leading '.' become %XX)\n"
    "      --keep-runs N      keep the N latest runs in the history (and their reports)\n"
    "      --keep-days D      keep the runs of the last D days; finding episodes, which\n"
    "                         the ledger and tickets read, are always kept\n"
    "  -q, --quiet            for cron: print nothing unless something needs a person:\n"
    "                         new critical findings (new, or raised to critical, since\n"
    "                         the previous run), hosts that could not be scanned and\n"
    "                         why, ticket events not delivered, errors; no progress\n"
    "  -v, --verbose          per host as it ends, on stderr: the time spent reaching\n"
    "                         it (DNS, TCP, jump hosts), logging in (key exchange, host\n"
    "                         key, authentication), running the script and judging its\n"
    "                         output; then the time of each step of the run and how\n"
    "                         many hosts stayed in memory (NEARMISS_SPOOL_MEMORY); the\n"
    "                         report's hosts[].scan gets reach_ms, login_ms, run_ms and\n"
    "                         judge_ms\n"
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
    "  umask; a run's files are published together or not at all.  The history\n"
    "  (OUT/history.sqlite, its -wal and -shm) and dir: ticket files get the same\n"
    "  mode.\n"
    "      --file-mode MODE   mode of the report files (default: 0600; e.g. 0640 to let\n"
    "                         the directory's group read them)\n"
    "      --allow-empty      accept an inventory without hosts and write an empty report\n"
    "                         (otherwise an error: a failed inventory generator must not\n"
    "                         replace the last report)\n";

/* The terminal side of a running scan: the progress line (stderr is a
 * terminal) and the --verbose lines, which may come from several workers
 * at once and cut through the progress line. */
struct live {
    bool progress; /* a progress line is being drawn */
    bool verbose;
};

/* Hosts still running are always named when this few; more only when all
 * of them fit on the line. */
#define NAMED_ALWAYS 5
/* The scan looks the running hosts up once this few are unfinished. */
#define NAMES_LOOKUP 64

static size_t term_columns(void)
{
    struct winsize ws;
    int64_t v;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *env = getenv("COLUMNS");
    if (env && nm_str_to_i64(env, &v) == 0 && v > 0 && v <= 4096)
        return (size_t)v;
    return 80;
}

/* Columns a code point takes: 2 for the wide (East Asian, emoji) blocks, 0
 * for combining marks, else 1.  Erring wide only leaves the line shorter. */
static size_t cp_columns(uint32_t c)
{
    if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) || (c >= 0xfe00 && c <= 0xfe0f))
        return 0;
    if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) ||
        (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
        (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
        (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff) || c >= 0x20000)
        return 2;
    return 1;
}

/* Bytes of s (valid UTF-8: nm_term_safe output) that fit in max columns;
 * *ret_cols gets their width. */
static size_t fit_columns(const char *s, size_t max, size_t *ret_cols)
{
    size_t i = 0, cols = 0;
    while (s[i]) {
        unsigned char b = (unsigned char)s[i];
        size_t len = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        uint32_t c = len == 1 ? b : b & (0x3f >> (len - 1));
        for (size_t k = 1; k < len; k++) {
            if (!s[i + k])
                goto out;
            c = c << 6 | ((unsigned char)s[i + k] & 0x3f);
        }
        size_t w = cp_columns(c);
        if (cols + w > max)
            break;
        cols += w;
        i += len;
    }
out:
    *ret_cols = cols;
    return i;
}

static size_t text_columns(const char *s)
{
    size_t cols;
    fit_columns(s, SIZE_MAX, &cols);
    return cols;
}

/* line cut to width columns, "..." marking the cut. */
static void clip_line(struct nm_buf *line, size_t width)
{
    size_t cols, keep = fit_columns(line->data, width, &cols);
    if (line->data[keep] && width > 3)
        keep = fit_columns(line->data, width - 3, &cols);
    bool cut = line->data[keep] != '\0';
    line->len = keep;
    line->data[keep] = '\0';
    if (cut && width > 3)
        nm_buf_appends(line, "...");
}

/* "; still running: a, b +N more": as many names as fit in width with the
 * count of the others; nothing when there are many and not all fit.  On a
 * narrow terminal the line's words make room for the names. */
static void append_running(struct nm_buf *line, const struct nm_scan_progress *p, size_t width)
{
    char **names = nm_xcalloc(p->n_running, sizeof *names);
    const char *lead = "; still running: ";
    size_t all = 0;
    for (size_t i = 0; i < p->n_running; i++) {
        names[i] = nm_term_safe(p->running[i]);
        all += text_columns(names[i]) + (i ? 2 : 0);
    }
    if (text_columns(line->data) + text_columns(lead) + 16 > width) {
        line->len = 0;
        line->data[0] = '\0';
        nm_buf_appendf(line, "%zu/%zu done", p->done, p->total);
        lead = "; running: ";
    }
    all += text_columns(line->data) + text_columns(lead);
    if (p->n_running > NAMED_ALWAYS && all > width)
        goto out;
    nm_buf_appends(line, lead);
    for (size_t i = 0; i < p->n_running; i++) {
        char more[40] = "";
        if (i + 1 < p->n_running)
            snprintf(more, sizeof more, " +%zu more", p->n_running - i - 1);
        size_t need = text_columns(names[i]) + (i ? 2 : 0) + text_columns(more);
        if (i > 0 && text_columns(line->data) + need > width) {
            nm_buf_appendf(line, " +%zu more", p->n_running - i);
            break;
        }
        size_t used = text_columns(line->data), room = width > used ? width - used : 0;
        if (i == 0 && need > room && room > text_columns(more) + 4) {
            /* One long name: its start, and the count of the others. */
            struct nm_buf one;
            nm_buf_init(&one, 1u << 20);
            nm_buf_appends(&one, names[0]);
            clip_line(&one, room - text_columns(more));
            nm_buf_appendf(line, "%s%s", one.data, more);
            nm_buf_finish(&one);
            break;
        }
        nm_buf_appendf(line, "%s%s", i ? ", " : "", names[i]);
    }
out:
    for (size_t i = 0; i < p->n_running; i++)
        free(names[i]);
    free(names);
}

static void progress(void *ctx, const struct nm_scan_progress *p)
{
    (void)ctx;
    size_t width = term_columns() - 1; /* the last column would wrap on some terminals */
    struct nm_buf line;
    nm_buf_init(&line, 1u << 20);
    if (p->n_running) {
        nm_buf_appendf(&line, "scanning: %zu/%zu done, %zu failed", p->done, p->total, p->failed);
        append_running(&line, p, width);
    } else {
        nm_buf_appendf(&line, "scanning: %zu/%zu hosts done, %zu could not be scanned", p->done,
                       p->total, p->failed);
    }
    clip_line(&line, width);
    flockfile(stderr);
    fprintf(stderr, "\r\033[K%s%s", line.data, p->done == p->total ? "\n" : "");
    fflush(stderr);
    funlockfile(stderr);
    nm_buf_finish(&line);
}

static json_int_t scan_ms(const json_t *h, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(h, "scan"), key));
}

/* --verbose: one line per host as it ends; called from the scan's workers. */
static void host_timing(void *ctx, const json_t *h)
{
    const struct live *lv = ctx;
    if (!lv->verbose)
        return;
    char *name = nm_term_safe(json_string_value(json_object_get(h, "name")));
    char *status = nm_term_safe(json_string_value(json_object_get(h, "status")));
    flockfile(stderr);
    fprintf(stderr,
            "%stiming: %s: reach %" JSON_INTEGER_FORMAT " ms, login %" JSON_INTEGER_FORMAT
            " ms, run %" JSON_INTEGER_FORMAT " ms, judge %" JSON_INTEGER_FORMAT
            " ms; total %" JSON_INTEGER_FORMAT " ms (%s)\n",
            lv->progress ? "\r\033[K" : "", name, scan_ms(h, "reach_ms"), scan_ms(h, "login_ms"),
            scan_ms(h, "run_ms"), scan_ms(h, "judge_ms"),
            scan_ms(h, "end_ms") - scan_ms(h, "start_ms"), status);
    fflush(stderr);
    funlockfile(stderr);
    free(name);
    free(status);
}

/* --verbose: the run's steps that ran, in order. */
static void print_step_times(const struct nm_run *run)
{
    int64_t total = 0;
    for (size_t i = 0; i < run->n_step_times; i++) {
        fprintf(stderr, "timing: step %s %" PRId64 " ms\n", run->step_times[i].name,
                run->step_times[i].ms);
        total += run->step_times[i].ms;
    }
    fprintf(stderr, "timing: steps %" PRId64 " ms in all\n", total);
    if (run->spool)
        fprintf(stderr, "memory: %zu of %zu hosts kept in memory, the rest read back from disk\n",
                nm_spool_in_memory(run->spool), nm_spool_size(run->spool));
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
    nm_cli_print_changes(report);
    json_t *part;
    json_array_foreach (json_object_get(report, "partial_roles"), i, part) {
        struct nm_buf b;
        nm_buf_init(&b, 4096);
        size_t k;
        json_t *hn;
        json_array_foreach (json_object_get(part, "not_selected"), k, hn)
            nm_buf_appendf(&b, "%s%s", k ? ", " : "", json_string_value(hn));
        char *role = nm_term_safe(json_string_value(json_object_get(part, "role")));
        char *names = nm_term_safe(b.data ? b.data : "");
        printf("role %s judged from the selected hosts only; not selected (counted as "
               "healthy): %s\n",
               role, names);
        free(role);
        free(names);
        nm_buf_finish(&b);
    }
    printf("report: %s\n", path);
}

static void explain_line(const char *field, const char *value, const char *from)
{
    char *v = nm_term_safe(value ? value : "(none)");
    char *f = nm_term_safe(from ? from : "");
    printf("  %-16s %-34s %s\n", field, v, f);
    free(v);
    free(f);
}

static void explain_reach(const struct nm_reach *t)
{
    char port[16], timeout[32];
    snprintf(port, sizeof port, "%d", t->port);
    snprintf(timeout, sizeof timeout, "%ds", t->connect_timeout_s);
    struct nm_buf ids;
    nm_buf_init(&ids, 65536);
    for (size_t i = 0; i < t->n_identities; i++)
        nm_buf_appendf(&ids, "%s%s", i ? ", " : "", t->identities[i]);
    if (t->use_agent)
        nm_buf_appendf(&ids, "%sssh-agent first%s", ids.len ? "; " : "",
                       t->n_identities ? "" : ", then ~/.ssh/id_*");
    explain_line("address", t->address, t->from[NM_REACH_ADDRESS]);
    explain_line("port", port, t->from[NM_REACH_PORT]);
    explain_line("user", t->user, t->from[NM_REACH_USER]);
    explain_line("identity", ids.data, t->from[NM_REACH_IDENTITY]);
    explain_line("known_hosts", t->known_hosts, t->from[NM_REACH_KNOWN_HOSTS]);
    explain_line("global_kh", nm_known_hosts_global_paths(),
                 getenv("NEARMISS_GLOBAL_KNOWN_HOSTS") ? "environment (NEARMISS_GLOBAL_KNOWN_HOSTS)"
                                                       : "built in");
    explain_line("hostkey_alias", t->hostkey_alias, t->from[NM_REACH_HOSTKEY_ALIAS]);
    explain_line("connect_timeout", t->connect_timeout_s ? timeout : NULL,
                 t->from[NM_REACH_CONNECT_TIMEOUT]);
    if (t->note)
        explain_line("note", t->note, "");
    if (t->warning)
        explain_line("warning", t->warning, "");
    nm_buf_finish(&ids);
}

/* --explain-host: how NAME would be reached, and why. */
static int explain_host(const struct nm_inventory *inv, const struct nm_reach_options *ro,
                        const char *name)
{
    const struct nm_host *h = nm_inventory_find_host(inv, name);
    if (!h) {
        nm_cli_error("--explain-host: no host \"%s\" in the inventory", name);
        return NM_EXIT_USAGE;
    }
    struct nm_reach_set rs;
    nm_diag d = {{0}};
    if (nm_reach_resolve(inv, ro, &rs, &d) < 0) {
        nm_cli_error("%s", d.msg);
        return NM_EXIT_USAGE;
    }
    const struct nm_reach *t = &rs.hosts[h - inv->hosts];
    char *hn = nm_term_safe(h->name), *org = nm_term_safe(h->origin ? h->origin : "");
    char *src = nm_term_safe(rs.ssh_config_sources), *asked = nm_term_safe(t->name);
    printf("host %s (%s)\n  ssh_config read: %s; asked about \"%s\"\n", hn, org, src, asked);
    free(hn);
    free(org);
    free(src);
    free(asked);
    explain_reach(t);
    if (t->n_jumps) {
        struct nm_buf chain;
        nm_buf_init(&chain, 65536);
        for (size_t i = 0; i < t->n_jumps; i++)
            nm_buf_appendf(&chain, "%s%s", i ? " -> " : "", t->jumps[i].name);
        explain_line("proxy_jump", chain.data, t->from[NM_REACH_JUMP]);
        nm_buf_finish(&chain);
        for (size_t i = 0; i < t->n_jumps; i++) {
            char *jn = nm_term_safe(t->jumps[i].name);
            printf("jump host %zu of %zu: %s\n", i + 1, t->n_jumps, jn);
            free(jn);
            explain_reach(&t->jumps[i]);
        }
    } else {
        explain_line("proxy_jump", "none (direct)", t->from[NM_REACH_JUMP]);
    }
    if (t->error)
        explain_line("error", t->error, "");
    nm_reach_set_finish(&rs);
    return NM_EXIT_OK;
}

/* --max-per LABEL=N; a label given again takes the later N. */
static int add_max_per(const char *arg, struct nm_max_per **list, size_t *n)
{
    const char *eq = strrchr(arg, '=');
    long v;
    if (!eq || eq == arg) {
        nm_cli_error("--max-per: \"%s\" is not LABEL=N", arg);
        return -1;
    }
    for (const char *p = arg; p < eq; p++)
        if (*p <= 0x20 || *p >= 0x7f) {
            nm_cli_error("--max-per: the label must be printable ASCII without spaces");
            return -1;
        }
    if (nm_cli_parse_long("--max-per", eq + 1, 1, 100000, &v) < 0)
        return -1;
    size_t len = (size_t)(eq - arg);
    for (size_t i = 0; i < *n; i++)
        if (strlen((*list)[i].label) == len && strncmp((*list)[i].label, arg, len) == 0) {
            (*list)[i].max = (size_t)v;
            return 0;
        }
    *list = nm_xreallocarray(*list, *n + 1, sizeof **list);
    (*list)[*n] = (struct nm_max_per){.label = nm_xstrndup(arg, len), .max = (size_t)v};
    (*n)++;
    return 0;
}

/* What the inventory's ssh arguments held that is not used, once per host. */
static void warn_reach(const struct nm_run *run)
{
    for (size_t i = 0; i < run->reach.n_hosts && i < run->inv->n_hosts; i++)
        if (run->reach.hosts[i].warning)
            nm_cli_error("scan: warning: host %s: %s", run->inv->hosts[i].name,
                         run->reach.hosts[i].warning);
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
        O_FORMAT = 256,
        O_FAIL_ON,
        O_HOSTS,
        O_ROLE,
        O_MAXOUT,
        O_SAVE_SCRIPTS,
        O_DRAIN,
        O_UNHEALTHY_AT,
        O_TLS_CA,
        O_TLS_TIMEOUT,
        O_SHARD,
        O_TLS_DISCOVERY,
        O_MAX_PER,
        O_EXPLAIN,
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
        NM_CLI_REACH_OPTIONS,
        {"format", required_argument, NULL, O_FORMAT},
        {"fail-on", required_argument, NULL, O_FAIL_ON},
        {"hosts", required_argument, NULL, O_HOSTS},
        {"role", required_argument, NULL, O_ROLE},
        {"max-output", required_argument, NULL, O_MAXOUT},
        {"save-scripts", required_argument, NULL, O_SAVE_SCRIPTS},
        {"drain", required_argument, NULL, O_DRAIN},
        {"tls-ca", required_argument, NULL, O_TLS_CA},
        {"tls-timeout", required_argument, NULL, O_TLS_TIMEOUT},
        {"tls-discovery", required_argument, NULL, O_TLS_DISCOVERY},
        {"max-per", required_argument, NULL, O_MAX_PER},
        {"unhealthy-at", required_argument, NULL, O_UNHEALTHY_AT},
        {"shard", required_argument, NULL, O_SHARD},
        NM_CLI_ONCE_OPTIONS,
        {"explain-host", required_argument, NULL, O_EXPLAIN},
        {"allow-empty", no_argument, NULL, O_ALLOW_EMPTY},
        {"file-mode", required_argument, NULL, O_FILE_MODE},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct nm_cli_inputs in;
    nm_cli_inputs_init(&in, argc, &waivers);
    struct nm_reach_options ro = {0};
    const char *out = "reports", *host_glob = NULL, *role = NULL, *explain = NULL;
    bool quiet = false, allow_empty = false;
    struct live live = {0};
    int file_mode = NM_OUTDIR_FILE_MODE;
    int fail_on = NM_SEV_NONE;
    struct nm_scan_options so = {.jobs = NM_DEFAULT_JOBS,
                                 .timeout_s = NM_DEFAULT_TIMEOUT_S,
                                 .host_cap = NM_DEFAULT_HOST_CAP,
                                 .tls_timeout_s = 10,
                                 .tls_discovery = NM_TLS_DISCOVERY_REMOTE};
    long v;
    int c, rc = NM_EXIT_USAGE;
    struct nm_max_per *max_per = NULL;
    size_t n_max_per = 0;
    struct nm_inventory inv;
    struct nm_run run;
    struct nm_checkset cs;
    struct nm_shard shard = {0, 0};
    struct nm_shard_record shard_rec;
    nm_diag d = {{0}};

    struct nm_ticket_options tk;
    nm_ticket_options_init(&tk);
    nm_inventory_init(&inv);
    nm_checkset_init(&cs);
    if (nm_run_init(&run, &d) < 0) {
        nm_cli_error("%s", d.msg);
        nm_cli_inputs_finish(&in);
        return NM_EXIT_USAGE;
    }
    nm_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "i:c:w:o:j:F:J:qvh", opts, NULL)) != -1) {
        int once = nm_cli_once_option(c, optarg, &keep, &tk);
        if (once < 0)
            goto out;
        if (once > 0)
            continue;
        int shared = nm_cli_inputs_option(&in, c, optarg);
        if (shared == 0)
            shared = nm_cli_reach_option(c, optarg, &ro, &so);
        if (shared < 0)
            goto out;
        if (shared > 0)
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
        case O_MAX_PER:
            if (add_max_per(optarg, &max_per, &n_max_per) < 0)
                goto out;
            break;
        case O_TLS_DISCOVERY:
            if (nm_tls_discovery_parse(optarg, &so.tls_discovery) < 0) {
                nm_cli_error("--tls-discovery: \"%s\" is not off, local or remote", optarg);
                goto out;
            }
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
        case O_EXPLAIN:
            explain = optarg;
            break;
        case O_SHARD:
            if (nm_shard_parse(optarg, &shard, &d) < 0) {
                nm_cli_error("--shard: %s", d.msg);
                goto out;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case 'v':
            live.verbose = true;
            break;
        case 'h':
            fputs(scan_usage, stdout);
            fputs(scan_usage_more, stdout);
            fputs(scan_usage_outdir, stdout);
            fputs(nm_cli_tickets_usage, stdout);
            rc = NM_EXIT_OK;
            goto out;
        default:
            nm_cli_try_help("scan");
            goto out;
        }
    }
    if (nm_cli_inputs_require(&in, "scan", argc, argv) < 0 ||
        nm_cli_inputs_load_inventories(&in, &inv) < 0)
        goto out;
    if (explain) {
        rc = explain_host(&inv, &ro, explain);
        goto out;
    }
    if (inv.n_hosts == 0 && !allow_empty) {
        /* Most often a generator that failed: replacing the last report with
         * an empty one would hide the whole fleet. */
        nm_cli_error("the inventory has no hosts; nothing scanned, no report written "
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
    /* The cut comes after the selection and the --drain names (a drained
     * host may sit in another shard); the shard records the whole selection. */
    if (shard.n) {
        /* History and tickets happen once, on the merged report. */
        if (tk.n_targets || keep.keep_runs || keep.keep_days) {
            nm_cli_error("--shard: --ticket, --keep-runs and --keep-days belong to `nearmiss "
                         "merge`, which records the history and opens the tickets once for "
                         "all shards");
            goto out;
        }
        nm_inventory_shard(&inv, &shard, host_glob, role, &shard_rec);
        run.kind = NM_RUN_SHARD;
        run.shard = &shard_rec;
    }
    if (nm_cli_inputs_load_checks(&in, &cs) < 0)
        goto out;
    if (so.save_scripts && nm_cli_check_writable_dir("--save-scripts", so.save_scripts) < 0)
        goto out;
    run.reach_opts = ro;
    if (!quiet && isatty(STDERR_FILENO)) {
        so.progress = progress;
        so.progress_names = NAMES_LOOKUP;
        live.progress = true;
    }
    if (live.verbose) {
        so.host_done = host_timing;
        so.timings = true;
    }
    so.progress_ctx = &live;
    run.inv = &inv;
    run.cs = &cs;
    so.max_per = max_per;
    so.n_max_per = n_max_per;
    run.scan = so;
    run.waivers = &waivers;
    run.fleet = fo;
    run.out_dir = out;
    run.file_mode = file_mode;
    run.formats = formats;
    run.keep = keep;
    run.fail_on = fail_on;
    run.tickets = tk;
    int ran = nm_cli_run_execute(&run, true);
    if (live.verbose)
        print_step_times(&run);
    if (ran < 0)
        goto out;
    warn_unsaved_scripts(run.report);
    if (quiet)
        nm_cli_print_attention(run.report, tk.n_targets ? &run.ticket_counts : NULL, run.json_path);
    else {
        warn_reach(&run);
        print_summary(run.report, run.json_path);
        if (formats & NM_FORMAT_HTML)
            printf("html:   %s/%s\n", out, NM_REPORT_HTML_NAME);
        if (formats & NM_FORMAT_JUNIT)
            printf("junit:  %s/%s\n", out, NM_REPORT_JUNIT_NAME);
        if (formats & NM_FORMAT_PROM)
            printf("prom:   %s/%s\n", out, NM_REPORT_PROM_NAME);
        if (tk.n_targets)
            nm_cli_print_tickets(&run.ticket_counts);
    }
    rc = nm_cli_run_status(&run);
out:
    nm_run_finish(&run);
    nm_ticket_options_finish(&tk);
    nm_waivers_finish(&waivers);
    free(fo.drain);
    free(drain_list);
    for (size_t i = 0; i < n_max_per; i++)
        free((char *)max_per[i].label);
    free(max_per);
    nm_checkset_finish(&cs);
    nm_inventory_finish(&inv);
    nm_cli_inputs_finish(&in);
    return rc;
}
