/* The binary: dispatches on the command name; each command is in its own file. */
#include <jansson.h>
#include <libssh2.h>
#include <libxml/parser.h>
#include <libxml/xmlversion.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"
#include "nearmiss/cli.h"

#include "nm-config.h"

static const char main_usage[] =
    "Usage: nearmiss COMMAND [OPTIONS]\n"
    "\n"
    "Finds the warnings that precede outages (expiring certificates, full disks,\n"
    "failing drives, pending security patches, single points of failure) on every\n"
    "host of a fleet, over SSH, without installing anything on the hosts.\n"
    "\n"
    "Commands:\n"
    "  scan            scan the hosts of an inventory and write the reports\n"
    "  checks list     list the checks in the checks directory\n"
    "  checks show ID  show what a check runs, where, and with which thresholds\n"
    "  checks parsers  list the parsers checks can use\n"
    "  report FILE     re-render a stored JSON report (HTML, JUnit, Prometheus)\n"
    "  merge REPORT... join the reports of scan --shard K/N into one whole report\n"
    "  ledger -o DIR   near misses and misses from the history of a report directory\n"
    "  tickets         list the open tickets and the events waiting for delivery\n"
    "  gate            is it safe to touch these hosts (and take them out of their\n"
    "                  roles) now? exit 0 ready, 100 not ready, 2 could not tell\n"
    "  sudoers         print the sudoers drop-in for the commands checks run as root\n"
    "\n"
    "  nearmiss --help | --version | COMMAND --help\n"
    "\n"
    "Exit status of scan: 0 done; 1 usage or configuration error (nothing scanned,\n"
    "nothing overwritten); 2 done, but some hosts could not be scanned; 100 a finding\n"
    "at or above --fail-on exists (takes precedence over 2).\n"
    "\n"
    "Every error line reads \"nearmiss: COMMAND: ...\". The manual: nearmiss(1), and\n"
    "nearmiss-checks(5) for the check files.\n";

int main(int argc, char **argv)
{
    /* One hash seed before any thread creates JSON objects. */
    json_object_seed(0);
    if (argc < 2) {
        fputs(main_usage, stderr);
        return NM_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        /* The libraries as loaded at run time, not as compiled against. */
        const char *xv = xmlParserVersion; /* "20914" for 2.9.14 */
        long x = strtol(xv, NULL, 10);
        printf("nearmiss %s\nlibssh2 %s, %s, jansson %s, libxml2 %ld.%ld.%ld\n", NM_VERSION,
               libssh2_version(0), OpenSSL_version(OPENSSL_VERSION), jansson_version_str(),
               x / 10000, (x / 100) % 100, x % 100);
        return 0;
    }
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
    } commands[] = {
        {"scan", nm_cmd_scan},       {"checks", nm_cmd_checks}, {"report", nm_cmd_report},
        {"merge", nm_cmd_merge},     {"ledger", nm_cmd_ledger}, {"gate", nm_cmd_gate},
        {"tickets", nm_cmd_tickets}, {"sudoers", nm_cmd_sudoers},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) != 0)
            continue;
        /* One prefix for every error line of the command, ours and getopt's:
         * getopt names argv[0] in "unrecognized option" and "requires an
         * argument", so the command's argv[0] becomes "nearmiss: NAME". */
        static char prog[64];
        snprintf(prog, sizeof prog, "nearmiss: %s", commands[i].name);
        nm_cli_set_command(commands[i].name);
        argv[1] = prog;
        return commands[i].run(argc - 1, argv + 1);
    }
    nm_cli_error("unknown command \"%s\". Try 'nearmiss --help'.", cmd);
    return NM_EXIT_USAGE;
}
