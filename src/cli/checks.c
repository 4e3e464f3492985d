/*
 * `nearmiss checks list|show ID|parsers`: what the checks directory holds,
 * printed for the people who write or audit checks.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "nearmiss/check.h"
#include "nearmiss/install.h"
#include "nearmiss/cli.h"
#include "nearmiss/parsers.h"
#include "nearmiss/util.h"

static const char *op_name(enum nm_op op)
{
    static const char *const names[] = {"<",         "<=",         ">",         ">=",
                                        "==",        "!=",         "matches",   "does not match",
                                        "version <", "version <=", "version >", "version >=",
                                        "in",        "exists"};
    return (size_t)op < sizeof names / sizeof names[0] ? names[op] : "?";
}

static void print_conds(const char *lead, const struct nm_cond *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *v = c[i].value ? json_dumps(c[i].value, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        printf("%s%s %s %s", i ? " and " : lead, c[i].field, op_name(c[i].op), v ? v : "");
        free(v);
    }
}

static void print_rule(const struct nm_rule *r)
{
    printf("    - ");
    print_conds("when ", r->when, r->n_when);
    if (r->n_when)
        printf(": ");
    if (r->severity_from) {
        char *m = json_dumps(r->severity_map, JSON_COMPACT);
        printf("severity from field \"%s\" via %s", r->severity_from, m ? m : "{}");
        free(m);
    } else if (!r->field) {
        printf("every selected item: %s", nm_severity_name(r->severity));
    } else {
        for (size_t i = 0; i < r->n_thresholds; i++) {
            char *tv = json_dumps(r->thresholds[i].value, JSON_ENCODE_ANY);
            printf("%s%s %s %s -> %s", i ? "; " : "", r->field, op_name(r->op), tv ? tv : "?",
                   nm_severity_name(r->thresholds[i].severity));
            free(tv);
        }
    }
    printf("%s\n", r->override ? " (override)" : "");
}

static const char checks_usage[] =
    "Usage: nearmiss checks [list | show ID | parsers] [-c DIR]\n"
    "\n"
    "  list                   one line per check: id, category, probe, whether it\n"
    "                         needs root, title (the default)\n"
    "  show ID                what check ID runs, where, on which items and with\n"
    "                         which thresholds, and the file it comes from\n"
    "  parsers                the parsers a check file can name\n"
    "\n"
    "  -c, --checks DIR       check definitions (default as for scan -c)\n"
    "  -h, --help             this text\n"
    "\n"
    "The check file format: docs/checks.md, nearmiss-checks(5).\n";

int nm_cmd_checks(int argc, char **argv)
{
    static const struct option opts[] = {{"checks", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir_opt = NULL;
    int c;
    nm_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c') {
            dir_opt = optarg;
        } else if (c == 'h') {
            fputs(checks_usage, stdout);
            return 0;
        } else {
            return NM_EXIT_USAGE;
        }
    }
    const char *sub = optind < argc ? argv[optind] : "list";
    if (strcmp(sub, "parsers") == 0) {
        for (size_t i = 0; i < nm_parser_count(); i++)
            printf("%-16s %s\n", nm_parser_at(i)->name, nm_parser_at(i)->summary);
        return 0;
    }
    char *dir = dir_opt ? nm_xstrdup(dir_opt) : nm_default_checks_dir();
    struct nm_checkset cs;
    int rc = NM_EXIT_USAGE;
    if (nm_cli_load_checks(dir, &cs) < 0) {
        free(dir);
        return NM_EXIT_USAGE;
    }
    if (strcmp(sub, "list") == 0) {
        printf("%-24s %-8s %-16s %-5s %s\n", "ID", "CATEGORY", "PROBE", "ROOT", "TITLE");
        for (size_t i = 0; i < cs.n_checks; i++) {
            const struct nm_check *k = &cs.checks[i];
            printf("%-24s %-8s %-16s %-5s %s\n", k->id, k->category,
                   k->probe            ? k->probe->id
                   : k->source_history ? "(history)"
                                       : "(tls endpoints)",
                   k->probe && k->probe->needs_root ? "yes" : "no", k->title);
        }
        rc = 0;
    } else if (strcmp(sub, "show") == 0 && optind + 1 < argc) {
        const struct nm_check *k = nm_checkset_find(&cs, argv[optind + 1]);
        if (!k) {
            nm_cli_error("no check \"%s\" in %s (see `nearmiss checks list`)", argv[optind + 1],
                         dir);
            goto out;
        }
        printf("%s (version %ld): %s\n  category: %s\n  file: %s\n", k->id, k->version, k->title,
               k->category, k->origin);
        if (k->description)
            printf("  description: %s\n", k->description);
        printf("  applies to: os %s", k->n_os ? "" : "any");
        for (size_t i = 0; i < k->n_os; i++)
            printf("%s%s", i ? ", " : "", k->os[i]);
        for (size_t i = 0; i < k->n_commands; i++)
            printf("%s%s", i ? ", " : "; needs commands ", k->commands[i]);
        for (size_t i = 0; i < k->n_roles; i++)
            printf("%s%s", i ? ", " : "; roles ", k->roles[i]);
        if (k->source_history) {
            printf("\n  items: computed from the history database of the report directory\n");
        } else if (k->source_tls) {
            printf("\n  items: the host's inventory \"tls\" endpoints, probed from the scanner\n");
        } else {
            printf("\n  probe %s (%s, timeout %u s, max output %zu bytes):\n", k->probe->id,
                   !k->probe->needs_root            ? "as the login user"
                   : k->probe->n_root_commands == 0 ? "the whole script as root via sudo -n"
                                                    : "as the login user; the commands below as "
                                                      "root via sudo -n",
                   k->probe->timeout_s, k->probe->max_output);
            for (size_t i = 0; i < k->probe->n_root_commands; i++)
                printf("    root: %s\n", k->probe->root_commands[i]);
            for (const char *p = k->probe->script; *p;) {
                const char *nl = strchr(p, '\n');
                int len = nl ? (int)(nl - p) : (int)strlen(p);
                printf("    | %.*s\n", len, p);
                p += len + (nl ? 1 : 0);
            }
            printf("  parser: %s\n", k->parser->name);
        }
        if (k->n_select) {
            print_conds("  items judged: those where ", k->select, k->n_select);
            printf("\n");
        }
        printf("  rules (worst severity that holds wins, one finding per item):\n");
        for (size_t i = 0; i < k->n_rules; i++)
            print_rule(&k->rules[i]);
        printf("  finding: subject \"%s\", message \"%s\"\n", k->subject, k->message);
        if (k->remediation)
            printf("  remediation: %s\n", k->remediation);
        if (k->fleet)
            printf("  fleet: %s (medium) when every scanned host of a role has a single %s "
                   "(recorded %s), the same one (recorded %s)\n",
                   k->fleet->finding, k->fleet->what, k->fleet->single, k->fleet->server);
        rc = 0;
    } else {
        nm_cli_error("unknown subcommand \"%s\" (list, show ID, parsers)", sub);
    }
out:
    nm_checkset_finish(&cs);
    free(dir);
    return rc;
}
