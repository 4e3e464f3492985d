/*
 * `nearmiss sudoers`: the sudoers drop-in that lets a scan user run, as root
 * and without a password, exactly the command lines the selected checks run
 * as root (their probes' "root_commands"), and nothing else.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.h"
#include "nearmiss/check.h"
#include "nearmiss/cli.h"
#include "nearmiss/install.h"
#include "nearmiss/inventory.h"
#include "nearmiss/sudoers.h"
#include "nearmiss/util.h"

#include "nm-config.h"

static const char sudoers_usage[] =
    "Usage: nearmiss sudoers [-c DIR] [--user NAME] [--runas NAME] [--checks ID,...]\n"
    "                        [-i INVENTORY... [--hosts GLOB,...] [--role ROLE]]\n"
    "\n"
    "Prints a sudoers drop-in (for /etc/sudoers.d/) that lets NAME run, as root and\n"
    "without a password, exactly the commands the selected checks run as root:\n"
    "full paths and exact arguments, no shell, no '*'. Where a command's path\n"
    "differs across distributions every variant is listed. Checks whose probe runs\n"
    "a whole script as root cannot be allowed this way; they are named in a comment\n"
    "(scan those hosts as root, or they report error).\n"
    "\n"
    "  -c, --checks-dir DIR  check definitions (default: the installed checks)\n"
    "      --user NAME       the scan's login user (default: the current user)\n"
    "      --runas NAME      the user sudo runs the commands as (default: root;\n"
    "                        ansible_become_user makes the scan use sudo -u NAME)\n"
    "      --checks ID,...   only these checks (default: all)\n"
    "  -i, --inventory FILE  only the checks that apply to these hosts (their roles,\n"
    "                        labels, criticality); their inventory login user and\n"
    "                        ansible_become_user are the defaults of --user and\n"
    "                        --runas when all the hosts agree\n"
    "      --hosts GLOB,...  with -i: only these hosts\n"
    "      --role ROLE       with -i: only the hosts of this role\n"
    "  -h, --help            this text\n"
    "\n"
    "Check the file before installing it:\n"
    "  nearmiss sudoers --user scan >nearmiss && visudo -cf nearmiss &&\n"
    "  install -o root -g root -m 0440 nearmiss /etc/sudoers.d/nearmiss\n";

/* Login and group names as sudoers takes them unquoted. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/*
 * -i: keeps in keep[] the checks that apply to a selected host (what the
 * inventory says; the OS and commands are only known on the host), and
 * fills in the login and run-as users the hosts agree on.  Prints the error.
 */
static int from_inventory(const char *const *files, size_t n_files, const char *hosts,
                          const char *role, const struct nm_checkset *cs, bool *keep,
                          char **ret_user, char **ret_runas, struct nm_buf *notes)
{
    struct nm_inventory inv;
    nm_diag d = {{0}};
    int r = 0;
    nm_inventory_init(&inv);
    for (size_t i = 0; i < n_files && r == 0; i++)
        if ((r = nm_inventory_load_file(&inv, files[i], &d)) < 0)
            nm_cli_error("%s", d.msg);
    if (r == 0 && (hosts || role) && (r = nm_inventory_select(&inv, hosts, role, &d)) < 0)
        nm_cli_error("%s", d.msg);
    if (r < 0)
        goto out;
    const char *user = NULL, *runas = NULL;
    bool users_differ = false, runas_differ = false, runas_default = false;
    for (size_t i = 0; i < inv.n_hosts; i++) {
        const struct nm_host *h = &inv.hosts[i];
        if (h->become != NM_BECOME_DEFAULT) {
            nm_buf_appendf(notes, "#   %s: %s\n", h->name,
                           h->become == NM_BECOME_OFF ? "ansible_become is false"
                                                      : "ansible_become_method is not sudo");
            continue;
        }
        for (size_t k = 0; k < cs->n_checks; k++)
            keep[k] |= nm_check_applies_to_host(&cs->checks[k], h, NULL, 0);
        if (!h->user || (user && strcmp(user, h->user) != 0))
            users_differ = true;
        else
            user = h->user;
        if (!h->become_user)
            runas_default = true;
        else if (runas && strcmp(runas, h->become_user) != 0)
            runas_differ = true;
        else
            runas = h->become_user;
    }
    if (user && !users_differ && !*ret_user)
        *ret_user = nm_xstrdup(user);
    if (runas && !runas_differ && !runas_default && !*ret_runas)
        *ret_runas = nm_xstrdup(runas);
out:
    nm_inventory_finish(&inv);
    return r;
}

static char *current_user(void)
{
    const struct passwd *pw = getpwuid(geteuid());
    return nm_xstrdup(pw && pw->pw_name ? pw->pw_name : "nearmiss");
}

int nm_cmd_sudoers(int argc, char **argv)
{
    enum { O_USER = 0x100, O_RUNAS, O_CHECKS, O_HOSTS, O_ROLE };
    static const struct option opts[] = {{"checks-dir", required_argument, NULL, 'c'},
                                         {"user", required_argument, NULL, O_USER},
                                         {"runas", required_argument, NULL, O_RUNAS},
                                         {"checks", required_argument, NULL, O_CHECKS},
                                         {"inventory", required_argument, NULL, 'i'},
                                         {"hosts", required_argument, NULL, O_HOSTS},
                                         {"role", required_argument, NULL, O_ROLE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir_opt = NULL, *user_opt = NULL, *runas_opt = NULL, *only = NULL;
    const char *hosts = NULL, *role = NULL;
    const char **invs = nm_xcalloc((size_t)argc + 1, sizeof *invs);
    size_t n_invs = 0;
    int c;
    nm_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "c:i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            invs[n_invs++] = optarg;
            break;
        case O_HOSTS:
            hosts = optarg;
            break;
        case O_ROLE:
            role = optarg;
            break;
        case 'c':
            dir_opt = optarg;
            break;
        case O_USER:
            user_opt = optarg;
            break;
        case O_RUNAS:
            runas_opt = optarg;
            break;
        case O_CHECKS:
            only = optarg;
            break;
        case 'h':
            free(invs);
            fputs(sudoers_usage, stdout);
            return 0;
        default:
            free(invs);
            return NM_EXIT_USAGE;
        }
    }
    if (optind < argc || ((hosts || role) && n_invs == 0)) {
        if (optind < argc)
            nm_cli_error("unexpected argument \"%s\" (try --help)", argv[optind]);
        else
            nm_cli_error("--hosts and --role select hosts of an inventory: give -i");
        free(invs);
        return NM_EXIT_USAGE;
    }
    char *user = user_opt ? nm_xstrdup(user_opt) : NULL;
    char *runas = runas_opt ? nm_xstrdup(runas_opt) : NULL;
    char *dir = dir_opt ? nm_xstrdup(dir_opt) : nm_default_checks_dir();
    bool *keep = NULL;
    struct nm_buf notes;
    nm_buf_init(&notes, 1u << 16);
    char **ids = NULL;
    size_t n_ids = 0;
    struct nm_checkset cs;
    struct nm_buf b;
    bool loaded = false;
    int rc = NM_EXIT_USAGE;
    nm_buf_init(&b, 1u << 20);

    if (nm_cli_load_checks(dir, &cs) < 0)
        goto out;
    loaded = true;
    keep = nm_xcalloc(cs.n_checks + 1, sizeof *keep);
    for (size_t k = 0; k < cs.n_checks; k++)
        keep[k] = n_invs == 0;
    if (n_invs && from_inventory(invs, n_invs, hosts, role, &cs, keep, &user, &runas, &notes) < 0)
        goto out;
    if (!user)
        user = current_user();
    if (!runas)
        runas = nm_xstrdup("root");
    if (!name_ok(user) || !name_ok(runas)) {
        nm_cli_error("\"%s\" is not a user name sudoers can take", name_ok(user) ? runas : user);
        goto out;
    }
    if (only) {
        for (const char *t = only; *t;) {
            const char *e = strchr(t, ',');
            size_t len = e ? (size_t)(e - t) : strlen(t);
            if (len) {
                ids = nm_xreallocarray(ids, n_ids + 1, sizeof *ids);
                ids[n_ids++] = nm_xstrndup(t, len);
            }
            t += len + (e ? 1 : 0);
        }
        nm_diag d = {{0}};
        bool any = false;
        for (size_t i = 0; i < n_ids && n_ids; i++) {
            const struct nm_check *k = nm_checkset_find(&cs, ids[i]);
            if (!k) {
                nm_cli_error("--checks: no check \"%s\" in %s", ids[i], dir);
                goto out;
            }
        }
        for (size_t k = 0; k < cs.n_checks; k++) {
            bool named = false;
            for (size_t i = 0; i < n_ids && !named; i++)
                named = strcmp(ids[i], cs.checks[k].id) == 0;
            keep[k] &= named;
            any |= named;
        }
        if (!any) {
            nm_cli_error("--checks: %s", d.msg[0] ? d.msg : "no check named");
            goto out;
        }
    }

    nm_buf_appendf(&b,
                   "# sudoers drop-in for nearmiss %s: lets %s run as %s, without a password,\n"
                   "# exactly the commands below (full path, exact arguments; \"\" means none)\n"
                   "# and nothing else: no shell, no '*'.  Generated by `nearmiss sudoers` from\n"
                   "# %s.  Check and install it with:\n"
                   "#   visudo -cf FILE && install -o root -g root -m 0440 FILE "
                   "/etc/sudoers.d/nearmiss\n",
                   NM_VERSION, user, runas, dir);

    nm_sudoers_render(&b, &cs, keep, user, runas);
    if (notes.len)
        nm_buf_appendf(&b, "\n# Hosts of the inventory where nearmiss never runs sudo:\n%s",
                       notes.data);
    fwrite(b.data, 1, b.len, stdout);
    rc = fflush(stdout) == 0 ? NM_EXIT_OK : NM_EXIT_USAGE;
out:
    nm_buf_finish(&b);
    nm_buf_finish(&notes);
    free(keep);
    free(invs);
    free(runas);
    if (loaded)
        nm_checkset_finish(&cs);
    for (size_t i = 0; i < n_ids; i++)
        free(ids[i]);
    free(ids);
    free(dir);
    free(user);
    return rc;
}
