/* The sudoers drop-in for the commands probes run as root (nearmiss/sudoers.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/sudoers.h"
#include "nearmiss/util.h"

/* NEARMISS_ plus the probe id upper-cased, other characters as '_': an alias
 * name sudoers accepts ([A-Z][A-Z0-9_]*). */
static void alias_name(struct nm_buf *b, const char *probe_id)
{
    nm_buf_appends(b, "NEARMISS_");
    for (const char *p = probe_id; *p; p++) {
        char c = *p;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            c = '_';
        nm_buf_append(b, &c, 1);
    }
}

/*
 * One command line in sudoers syntax.  The loader has vetted it (an
 * absolute path, arguments of printable ASCII without '*', '"' or '\'); the
 * characters sudoers gives a meaning to inside a command are escaped, and a
 * command without arguments gets "" (bare, sudoers would allow any).
 */
static void sudoers_command(struct nm_buf *b, const char *cmd)
{
    const char *sp = strchr(cmd, ' ');
    for (const char *p = cmd; *p; p++) {
        if (p > sp && sp && strchr(",:=#!", *p))
            nm_buf_appends(b, "\\");
        nm_buf_append(b, p, 1);
    }
    if (!sp)
        nm_buf_appends(b, " \"\"");
}

/* The program's name and arguments, without its directory. */
static const char *after_dir(const char *cmd, size_t *ret_dir_len)
{
    const char *sp = strchr(cmd, ' ');
    size_t plen = sp ? (size_t)(sp - cmd) : strlen(cmd);
    size_t d = plen;
    while (d > 0 && cmd[d - 1] != '/')
        d--;
    *ret_dir_len = d;
    return cmd + d;
}

/* "# dmesg: /usr/bin/dmesg or /bin/dmesg ..." for a program listed under
 * several directories in one probe. */
static void path_variants(struct nm_buf *b, const struct nm_probe_def *p)
{
    for (size_t i = 0; i < p->n_root_commands; i++) {
        size_t di, pi;
        const char *ni = after_dir(p->root_commands[i], &di);
        const char *spi = strchr(ni, ' ');
        size_t nlen = spi ? (size_t)(spi - ni) : strlen(ni);
        bool first = true, other = false;
        for (size_t k = 0; k < i && first; k++) {
            const char *nk = after_dir(p->root_commands[k], &pi);
            if (strncmp(nk, ni, nlen) == 0 && (nk[nlen] == ' ' || nk[nlen] == '\0'))
                first = false;
        }
        if (!first)
            continue;
        /* seen: " /a/x /b/x " so a path is found whole, never as a suffix. */
        struct nm_buf dirs, seen;
        nm_buf_init(&dirs, 4096);
        nm_buf_init(&seen, 4096);
        nm_buf_appendf(&dirs, "%.*s", (int)(di + nlen), p->root_commands[i]);
        nm_buf_appendf(&seen, " %s ", dirs.data);
        for (size_t k = i + 1; k < p->n_root_commands; k++) {
            const char *nk = after_dir(p->root_commands[k], &pi);
            if (strncmp(nk, ni, nlen) != 0 || (nk[nlen] != ' ' && nk[nlen] != '\0'))
                continue;
            char *alt = nm_xasprintf(" %.*s ", (int)(pi + nlen), p->root_commands[k]);
            if (!strstr(seen.data, alt)) {
                nm_buf_appends(&seen, alt + 1);
                nm_buf_appendf(&dirs, " or %.*s", (int)(pi + nlen), p->root_commands[k]);
                other = true;
            }
            free(alt);
        }
        if (other)
            nm_buf_appendf(b,
                           "#   %.*s is at %s depending on the distribution (merged /usr or "
                           "not, BusyBox): each variant is listed\n",
                           (int)nlen, ni, dirs.data);
        nm_buf_finish(&seen);
        nm_buf_finish(&dirs);
    }
}

void nm_sudoers_render(struct nm_buf *b, const struct nm_checkset *cs, const bool *keep,
                       const char *user, const char *runas)
{
    struct nm_buf aliases, whole;
    nm_buf_init(&aliases, 1u << 16);
    nm_buf_init(&whole, 1u << 16);
    for (size_t pi = 0; pi < cs->n_probes; pi++) {
        const struct nm_probe_def *p = cs->probes[pi];
        struct nm_buf users;
        nm_buf_init(&users, 1u << 14);
        for (size_t k = 0; k < cs->n_checks; k++)
            if ((!keep || keep[k]) && cs->checks[k].probe == p)
                nm_buf_appendf(&users, "%s%s", users.len ? ", " : "", cs->checks[k].id);
        if (!p->needs_root || users.len == 0) {
            nm_buf_finish(&users);
            continue;
        }
        if (p->n_root_commands == 0) {
            nm_buf_appendf(&whole, "#   %s (probe %s)\n", users.data, p->id);
            nm_buf_finish(&users);
            continue;
        }
        nm_buf_appendf(b, "\n# %s (probe %s)\n", users.data, p->id);
        path_variants(b, p);
        nm_buf_appends(b, "Cmnd_Alias ");
        alias_name(b, p->id);
        nm_buf_appends(b, " = \\\n");
        for (size_t i = 0; i < p->n_root_commands; i++) {
            nm_buf_appends(b, "    ");
            sudoers_command(b, p->root_commands[i]);
            nm_buf_appends(b, i + 1 < p->n_root_commands ? ", \\\n" : "\n");
        }
        if (aliases.len)
            nm_buf_appends(&aliases, ", ");
        alias_name(&aliases, p->id);
        nm_buf_finish(&users);
    }
    if (aliases.len) {
        nm_buf_appendf(b,
                       "\nCmnd_Alias NEARMISS_ROOT = %s\n"
                       "# The scan has no terminal: where sudoers sets requiretty (older RHEL "
                       "and\n# CentOS), these commands must be exempt from it.\n"
                       "Defaults!NEARMISS_ROOT !requiretty\n"
                       "%s ALL=(%s) NOPASSWD: NEARMISS_ROOT\n",
                       aliases.data, user, runas);
    } else {
        nm_buf_appends(b, "\n# None of the selected checks runs a command as root.\n");
    }
    if (whole.len)
        nm_buf_appendf(b,
                       "\n# Not allowed here: these checks run a whole script as root, which no "
                       "exact\n# command can allow; scan their hosts as root (or they report "
                       "error):\n%s",
                       whole.data);
    nm_buf_finish(&aliases);
    nm_buf_finish(&whole);
}
