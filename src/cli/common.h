/* Private to the command layer: what every command prints or parses alike. */
#ifndef NM_CLI_COMMON_H
#define NM_CLI_COMMON_H

#include <stdbool.h>

#include "nearmiss/check.h"

/* Exit statuses (README, "Exit status"). */
#define NM_EXIT_OK          0
#define NM_EXIT_USAGE       1
#define NM_EXIT_SOME_FAILED 2
#define NM_EXIT_FINDINGS    100

/* "nearmiss: MESSAGE\n" on stderr, control characters escaped (nm_term_safe). */
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

#endif
