/*
 * Private to the command layer: what scan, gate and merge share in turning a
 * command line into a run (nearmiss/run.h) and its outcome into an exit
 * status.  Each command keeps its own options; these are the ones that mean
 * the same in all of them.
 */
#ifndef NM_CLI_RUNOPTS_H
#define NM_CLI_RUNOPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "nearmiss/check.h"
#include "nearmiss/inventory.h"
#include "nearmiss/reach.h"
#include "nearmiss/run.h"
#include "nearmiss/scan.h"
#include "nearmiss/waiver.h"

/*
 * -i (repeatable), -c and -w.  The strings are borrowed from argv,
 * checks_dir is owned.
 * waivers may be NULL for a command without -w.
 */
struct nm_cli_inputs {
    const char **inventories;
    size_t n_inv;
    const char *checks_opt;
    char *checks_dir;
    struct nm_waivers *waivers;
};
void nm_cli_inputs_init(struct nm_cli_inputs *in, int argc, struct nm_waivers *waivers);
void nm_cli_inputs_finish(struct nm_cli_inputs *in);
/* 1 when opt was -i, -c or -w, 0 when not, -1 after printing the error. */
int nm_cli_inputs_option(struct nm_cli_inputs *in, int opt, const char *arg);
/* Nothing left in argv after the options, and one -i at least; cmd is the
 * command's name in the error lines.  Prints the error and returns -1. */
int nm_cli_inputs_require(const struct nm_cli_inputs *in, const char *cmd, int argc,
                          char *const argv[]);
/* Every -i file into inv; prints the error and returns -1. */
int nm_cli_inputs_load_inventories(const struct nm_cli_inputs *in, struct nm_inventory *inv);
/* -c, else the default directory, into cs; prints the error and returns -1. */
int nm_cli_inputs_load_checks(struct nm_cli_inputs *in, struct nm_checkset *cs);

/*
 * How hosts are reached and scanned, taken by scan and by gate: -j, -F, -J
 * and the options below.  NM_CLI_REACH_OPTIONS goes into a command's struct
 * option table (its short options "j:F:J:" into the getopt string);
 * nm_cli_reach_option() returns 1 when opt was one of them, 0 when not, -1
 * after printing the error.  The strings are borrowed from argv.
 */
enum {
    NM_CLI_O_TIMEOUT = 0x1100,
    NM_CLI_O_KNOWN_HOSTS,
    NM_CLI_O_IDENTITY,
    NM_CLI_O_USER,
    NM_CLI_O_PASSFILE,
    NM_CLI_O_ACCEPT_NEW,
};
/* clang-format off */
#define NM_CLI_REACH_OPTIONS                                            \
    {"jobs", required_argument, NULL, 'j'},                             \
    {"ssh-config", required_argument, NULL, 'F'},                       \
    {"jump", required_argument, NULL, 'J'},                             \
    {"timeout", required_argument, NULL, NM_CLI_O_TIMEOUT},             \
    {"known-hosts", required_argument, NULL, NM_CLI_O_KNOWN_HOSTS},     \
    {"identity", required_argument, NULL, NM_CLI_O_IDENTITY},           \
    {"user", required_argument, NULL, NM_CLI_O_USER},                   \
    {"passphrase-file", required_argument, NULL, NM_CLI_O_PASSFILE},    \
    {"accept-new", no_argument, NULL, NM_CLI_O_ACCEPT_NEW}
/* clang-format on */
int nm_cli_reach_option(int opt, const char *arg, struct nm_reach_options *ro,
                        struct nm_scan_options *so);

/* The line after an unknown option or a missing argument. */
void nm_cli_try_help(const char *cmd);

/*
 * nm_run_execute() with its error line (a failed write is said as such);
 * with ssh, libssh2 is set up around the run.  Returns 0, or -1 after
 * printing.
 */
int nm_cli_run_execute(struct nm_run *run, bool ssh);

/* The exit status of a written run: 100 for a finding at or above
 * run->fail_on, 2 when a host could not be scanned, else 0. */
int nm_cli_run_status(const struct nm_run *run);

#endif
