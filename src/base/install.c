/* Where this copy of nearmiss finds its checks (nearmiss/install.h). */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nearmiss/install.h"
#include "nearmiss/util.h"

#include "nm-config.h"

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The running binary's directory, symlinks resolved; NULL when unknown. */
static char *own_dir(void)
{
    char *exe = realpath("/proc/self/exe", NULL);
    if (!exe)
        return NULL;
    char *slash = strrchr(exe, '/');
    if (!slash) {
        free(exe);
        return NULL;
    }
    *slash = '\0';
    return exe;
}

static bool same_dir(const char *a, const char *b)
{
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    bool same = ra && rb && strcmp(ra, rb) == 0;
    free(ra);
    free(rb);
    return same;
}

/* "/opt/x/bin" ends in bindir "bin" (and "/usr/local/bin" in "local/bin"). */
static bool ends_in(const char *dir, const char *tail)
{
    size_t n = strlen(dir), t = strlen(tail);
    return t > 0 && n > t && strcmp(dir + n - t, tail) == 0 && dir[n - t - 1] == '/';
}

char *nm_default_checks_dir(void)
{
    const char *env = getenv("NEARMISS_CHECKS_DIR");
    if (env && *env)
        return nm_xstrdup(env);
    char *dir = own_dir();
    char *found = NULL;
    if (dir && same_dir(dir, NM_BUILD_DIR)) {
        found = nm_xstrdup(NM_SOURCE_CHECKS_DIR);
    } else if (dir && NM_BINDIR_TO_CHECKS[0] && ends_in(dir, NM_BINDIR)) {
        char *cand = nm_xasprintf("%s/%s", dir, NM_BINDIR_TO_CHECKS);
        if (is_dir(cand))
            found = realpath(cand, NULL); /* "share/...", not "bin/../share/..." in messages */
        free(cand);
    }
    free(dir);
    return found ? found : nm_xstrdup(NM_INSTALL_CHECKS_DIR);
}
