/* What the commands share: error lines, option parsing, the checks directory. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/common.h"
#include "nearmiss/safetext.h"
#include "nearmiss/util.h"

/* The command being run, named once by the dispatcher so that no message has
 * to repeat it (and none can forget it). */
static const char *cli_command;

void nm_cli_set_command(const char *name)
{
    cli_command = name;
}

void nm_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = nm_term_vformat(fmt, ap); /* messages quote host and file text */
    va_end(ap);
    if (cli_command)
        fprintf(stderr, "nearmiss: %s: %s\n", cli_command, msg);
    else
        fprintf(stderr, "nearmiss: %s\n", msg);
    free(msg);
}

int nm_cli_parse_long(const char *name, const char *v, long min, long max, long *ret)
{
    int64_t x;
    if (nm_str_to_i64(v, &x) < 0 || x < min || x > max) {
        nm_cli_error("%s: \"%s\" is not a whole number from %ld to %ld", name, v, min, max);
        return -1;
    }
    *ret = (long)x;
    return 0;
}

void nm_cli_getopt_reset(void)
{
#ifdef __GLIBC__
    optind = 0;
#else
    optind = 1;
#endif
}

bool nm_cli_is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int nm_cli_check_writable_dir(const char *name, const char *path)
{
    if (!nm_cli_is_dir(path)) {
        nm_cli_error("%s: \"%s\" is not a directory", name, path);
        return -1;
    }
    if (access(path, W_OK | X_OK) != 0) {
        nm_cli_error("%s: \"%s\" is not writable", name, path);
        return -1;
    }
    return 0;
}

int nm_cli_parse_file_mode(const char *name, const char *v, int *ret)
{
    int m = 0;
    const char *p = v;
    for (; *p >= '0' && *p <= '7' && m <= 07777; p++)
        m = m * 8 + (*p - '0');
    if (p == v || *p || (m & ~0666) || (m & 0600) != 0600) {
        nm_cli_error("%s: \"%s\" is not a report file mode (octal, owner read and write, "
                     "no execute bits: e.g. 0600, 0640)",
                     name, v);
        return -1;
    }
    *ret = m;
    return 0;
}

int nm_cli_load_checks(const char *dir, struct nm_checkset *cs)
{
    nm_diag d = {{0}};
    nm_checkset_init(cs);
    if (nm_checkset_load_dir(cs, dir, &d) < 0) {
        nm_cli_error("%s", d.msg);
        nm_checkset_finish(cs);
        return -1;
    }
    return 0;
}
