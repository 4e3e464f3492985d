/*
 * The report directory: modes whatever the umask, all-or-nothing publishing,
 * the lock (held across processes, gone with its holder), the sweep of stale
 * temporaries, and the one mapping from host names to file names.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nearmiss/outdir.h"
#include "nearmiss/report.h"
#include "nearmiss/scan.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"
#include "test.h"

static char *read_text(const char *dir, const char *name)
{
    char *p = nm_xasprintf("%s/%s", dir, name), *data = NULL;
    size_t len = 0;
    if (nm_read_file(p, 1u << 20, &data, &len, NULL) < 0)
        data = NULL;
    free(p);
    return data;
}

static int mode_of(const char *dir, const char *name)
{
    char *p = name ? nm_xasprintf("%s/%s", dir, name) : nm_xstrdup(dir);
    struct stat st;
    int m = stat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
    free(p);
    return m;
}

/* Entries other than the lock file: what a reader of the directory sees. */
static size_t count_entries(const char *dir, const char *containing)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            strcmp(e->d_name, NM_OUTDIR_LOCK_NAME) &&
            (!containing || strstr(e->d_name, containing)))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = nm_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_rf(p);
        else
            unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void test_safe_names(void)
{
    static const struct {
        const char *name, *want;
    } cases[] = {
        {"web1", "web1.sh"},
        {"db-1.example.org", "db-1.example.org.sh"},
        {"../../x", "%2E.%2F..%2Fx.sh"},
        {"..", "%2E..sh"},
        {".", "%2E.sh"},
        {".hidden", "%2Ehidden.sh"},
        {"a/b", "a%2Fb.sh"},
        {"a%2Fb", "a%252Fb.sh"}, /* '%' is escaped too: no two names share a file */
        {"sp ace\n", "sp%20ace%0A.sh"},
        {"caf\xc3\xa9", "caf%C3%A9.sh"},
        {"", "%.sh"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = nm_safe_file_name(cases[i].name, ".sh");
        CHECK_STR(got, cases[i].want);
        free(got);
    }
    /* Long names: cut, never inside an escape, distinct by their digest. */
    char a[600], b[600];
    memset(a, '/', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[sizeof b - 2] = 'z';
    char *fa = nm_safe_file_name(a, NULL), *fb = nm_safe_file_name(b, NULL);
    CHECK(strlen(fa) <= NM_FILE_NAME_MAX && strlen(fb) <= NM_FILE_NAME_MAX);
    CHECK(strcmp(fa, fb) != 0);
    CHECK(!strchr(fa, '/'));
    const char *tilde = strrchr(fa, '~');
    CHECK(tilde && strlen(tilde) == 17);
    /* What precedes '~' is whole escapes only. */
    CHECK(tilde && (tilde - fa) % 3 == 0);
    free(fa);
    free(fb);
    char *p = nm_safe_path_in("/tmp/scripts", "../../etc/cron.d/x", ".sh");
    CHECK_STR(p, "/tmp/scripts/%2E.%2F..%2Fetc%2Fcron.d%2Fx.sh");
    free(p);
}

static void test_temp_names(void)
{
    long pid = 0;
    CHECK(nm_temp_name_parse(".latest.json.nmtmp-123-aB3dE9", &pid));
    CHECK_INT(pid, 123);
    CHECK(nm_temp_name_parse("..x.nmtmp-y.nmtmp-7-abcdef", &pid));
    CHECK_INT(pid, 7);
    CHECK(!nm_temp_name_parse("latest.json.nmtmp-123-aB3dE9", NULL)); /* not hidden */
    CHECK(!nm_temp_name_parse(".latest.json.nmtmp-123-aB3dE", NULL));
    CHECK(!nm_temp_name_parse(".latest.json.nmtmp-123-aB3dE9x", NULL));
    CHECK(!nm_temp_name_parse(".latest.json.nmtmp--aB3dE9", NULL));
    CHECK(!nm_temp_name_parse(".latest.json.nmtmp-0-aB3dE9", NULL));
    CHECK(!nm_temp_name_parse(".latest.json.nmtmp-12-aB/dE9", NULL));
    CHECK(!nm_temp_name_parse(".nmtmp-12-abcdef", NULL));
    char *pre = nm_temp_prefix("report.html");
    char *full = nm_xasprintf("%sQw3rty", pre);
    CHECK(nm_temp_name_parse(full, &pid));
    CHECK_INT(pid, getpid());
    free(pre);
    free(full);
}

static void test_modes_and_publish(const char *root)
{
    /* A permissive umask must not make reports world-readable. */
    mode_t old = umask(0);
    char *dir = nm_xasprintf("%s/a/b", root);
    struct nm_outdir od;
    nm_outdir_init(&od);
    nm_diag d = {{0}};
    CHECK_INT(nm_outdir_open(&od, dir, NM_OUTDIR_FILE_MODE, &d), 0);
    CHECK(od.created);
    CHECK_INT(mode_of(dir, NULL), 0700);
    char *parent = nm_xasprintf("%s/a", root);
    CHECK_INT(mode_of(parent, NULL), 0700);
    free(parent);
    CHECK_INT(nm_outdir_stage(&od, "one.json", "1\n", 2, &d), 0);
    CHECK_INT(nm_outdir_stage(&od, "two.html", "<p>", 3, &d), 0);
    /* Staged but not published: the final names do not exist yet. */
    CHECK(read_text(dir, "one.json") == NULL);
    CHECK_INT(count_entries(dir, ".nmtmp-"), 2);
    CHECK_INT(nm_outdir_publish(&od, &d), 0);
    CHECK_INT(count_entries(dir, ".nmtmp-"), 0);
    CHECK_INT(mode_of(dir, "one.json"), 0600);
    CHECK_INT(mode_of(dir, "two.html"), 0600);
    char *t = read_text(dir, "two.html");
    CHECK_STR(t, "<p>");
    free(t);
    /* Not a plain name: refused before anything is created. */
    CHECK(nm_outdir_stage(&od, "../x", "x", 1, &d) < 0);
    CHECK(nm_outdir_stage(&od, ".lock", "x", 1, &d) < 0);
    CHECK(nm_outdir_stage(&od, "", "x", 1, &d) < 0);
    /* A second set, abandoned half way: the first stays, no temporary left. */
    CHECK_INT(nm_outdir_stage(&od, "one.json", "2\n", 2, &d), 0);
    nm_outdir_discard(&od);
    t = read_text(dir, "one.json");
    CHECK_STR(t, "1\n");
    free(t);
    CHECK_INT(count_entries(dir, ".nmtmp-"), 0);
    nm_outdir_finish(&od);
    nm_outdir_finish(&od); /* twice is harmless */

    /* An existing directory keeps its mode; the files take the mode asked. */
    chmod(dir, 0750);
    nm_outdir_init(&od);
    CHECK_INT(nm_outdir_open(&od, dir, 0640, &d), 0);
    CHECK(!od.created);
    CHECK_INT(nm_outdir_stage(&od, "one.json", "3\n", 2, &d), 0);
    CHECK_INT(nm_outdir_publish(&od, &d), 0);
    CHECK_INT(mode_of(dir, "one.json"), 0640);
    CHECK_INT(mode_of(dir, NULL), 0750);
    nm_outdir_finish(&od);
    CHECK_INT(nm_outdir_dir_mode(0640), 0750);
    CHECK_INT(nm_outdir_dir_mode(0644), 0755);
    umask(old);

    /* A regular file, or a path through one, is refused at open. */
    char *file = nm_xasprintf("%s/one.json", dir);
    nm_outdir_init(&od);
    CHECK_INT(nm_outdir_open(&od, file, NM_OUTDIR_FILE_MODE, &d), NM_ERR_INVAL);
    CHECK(strstr(d.msg, "not a directory") != NULL);
    char *below = nm_xasprintf("%s/sub", file);
    CHECK(nm_outdir_open(&od, below, NM_OUTDIR_FILE_MODE, &d) < 0);
    CHECK(od.dir_fd < 0 && od.lock_fd < 0 && !od.path);
    nm_outdir_finish(&od);
    free(below);
    free(file);
    free(dir);
}

/* The whole report set, as the write step stages it. */
static void test_report_set(const char *root)
{
    char *dir = nm_xasprintf("%s/set", root);
    json_t *r = json_pack("{s:s, s:s, s:[], s:[]}", "schema", NM_REPORT_SCHEMA, "started_at",
                          "2026-11-24T02:00:00Z", "hosts", "fleet_findings");
    nm_report_summarize(r);
    struct nm_outdir od;
    nm_outdir_init(&od);
    nm_diag d = {{0}};
    char *name = NULL;
    CHECK_INT(nm_outdir_open(&od, dir, NM_OUTDIR_FILE_MODE, &d), 0);
    CHECK_INT(nm_report_stage(r, &od, NM_FORMAT_JSON | NM_FORMAT_HTML | NM_FORMAT_PROM, &name, &d),
              0);
    CHECK_STR(name, "nearmiss-20261124T020000Z.json");
    /* latest.json is staged last: a reader of it finds the rest in place. */
    CHECK(od.n_staged == 4 && !strcmp(od.staged[od.n_staged - 1].name, NM_REPORT_LATEST_NAME));
    CHECK_INT(nm_outdir_publish(&od, &d), 0);
    CHECK_INT(count_entries(dir, NULL), 4);
    CHECK_INT(mode_of(dir, NM_REPORT_PROM_NAME), 0600);
    nm_outdir_finish(&od);
    free(name);
    json_decref(r);
    free(dir);
}

static void test_lock(const char *root)
{
    char *dir = nm_xasprintf("%s/locked", root);
    struct nm_outdir od;
    nm_outdir_init(&od);
    nm_diag d = {{0}};
    CHECK_INT(nm_outdir_open(&od, dir, NM_OUTDIR_FILE_MODE, &d), 0);
    /* Another process: refused at once, naming the holder. */
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct nm_outdir o2;
        nm_outdir_init(&o2);
        nm_diag d2 = {{0}};
        int r = nm_outdir_open(&o2, dir, NM_OUTDIR_FILE_MODE, &d2);
        char want[64];
        snprintf(want, sizeof want, "pid %ld", (long)getppid());
        _exit(r == NM_ERR_BUSY && strstr(d2.msg, want) && strstr(d2.msg, dir) ? 0 : 1);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* Even in the same process a second open is refused: flock belongs to
     * the open file, not the process. */
    struct nm_outdir again;
    nm_outdir_init(&again);
    CHECK_INT(nm_outdir_open(&again, dir, NM_OUTDIR_FILE_MODE, &d), NM_ERR_BUSY);
    nm_outdir_finish(&again);
    nm_outdir_finish(&od);

    /* A holder killed with SIGKILL leaves no lock behind. */
    pid = fork();
    if (pid == 0) {
        struct nm_outdir o3;
        nm_outdir_init(&o3);
        if (nm_outdir_open(&o3, dir, NM_OUTDIR_FILE_MODE, NULL) < 0)
            _exit(1);
        if (write(pipefd[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    CHECK(read(pipefd[0], &c, 1) == 1);
    CHECK_INT(nm_outdir_open(&od, dir, NM_OUTDIR_FILE_MODE, &d), NM_ERR_BUSY);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    CHECK_INT(nm_outdir_open(&od, dir, NM_OUTDIR_FILE_MODE, &d), 0);
    nm_outdir_finish(&od);
    close(pipefd[0]);
    close(pipefd[1]);
    free(dir);
}

static void make_file(const char *dir, const char *name, time_t age_s)
{
    char *p = nm_xasprintf("%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(write(fd, "old", 3) == 3);
        close(fd);
    }
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= age_s;
    tv[1] = tv[0];
    CHECK(utimes(p, tv) == 0);
    free(p);
}

static bool present(const char *dir, const char *name)
{
    char *p = nm_xasprintf("%s/%s", dir, name);
    bool ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

static void test_stale_sweep(const char *root)
{
    char *dir = nm_xasprintf("%s/stale", root);
    CHECK_INT(nm_mkdir_p(dir, 0700, NULL), 0);
    /* A pid that surely ended: a child we reaped. */
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    char *dead_young = nm_xasprintf(".latest.json.nmtmp-%ld-abcDEF", (long)gone);
    char *live_young = nm_xasprintf(".report.html.nmtmp-%ld-abcDEF", (long)getppid());
    char *live_old = nm_xasprintf(".junit.xml.nmtmp-%ld-abcDEF", (long)getppid());
    make_file(dir, dead_young, 0);                                        /* writer gone */
    make_file(dir, live_young, 0);                                        /* writer alive: kept */
    make_file(dir, live_old, NM_OUTDIR_STALE_AGE_S + 60);                 /* too old: removed */
    make_file(dir, "latest.json.tmp.Ab3dEf", NM_OUTDIR_STALE_AGE_S + 60); /* older naming */
    make_file(dir, "latest.json.tmp.Zz9yYx", 0);                          /* older naming, young */
    make_file(dir, "nearmiss-20261124T020000Z.json.tmp.q1w2e3", NM_OUTDIR_STALE_AGE_S + 60);
    make_file(dir, "notes.tmp.123456", NM_OUTDIR_STALE_AGE_S + 60); /* not ours */
    make_file(dir, "latest.json", NM_OUTDIR_STALE_AGE_S + 60);      /* a report */
    make_file(dir, ".keep.nmtmpx-1-abcdef", NM_OUTDIR_STALE_AGE_S + 60);
    /* A directory with a temporary's name is not touched. */
    char *subdir = nm_xasprintf("%s/.x.nmtmp-%ld-abcdef", dir, (long)gone);
    CHECK(mkdir(subdir, 0700) == 0);

    struct nm_outdir od;
    nm_outdir_init(&od);
    CHECK_INT(nm_outdir_open(&od, dir, NM_OUTDIR_FILE_MODE, NULL), 0);
    CHECK_INT(od.stale_removed, 4);
    CHECK(!present(dir, dead_young));
    CHECK(present(dir, live_young));
    CHECK(!present(dir, live_old));
    CHECK(!present(dir, "latest.json.tmp.Ab3dEf"));
    CHECK(present(dir, "latest.json.tmp.Zz9yYx"));
    CHECK(!present(dir, "nearmiss-20261124T020000Z.json.tmp.q1w2e3"));
    CHECK(present(dir, "notes.tmp.123456"));
    CHECK(present(dir, "latest.json"));
    CHECK(present(dir, ".keep.nmtmpx-1-abcdef"));
    CHECK(access(subdir, F_OK) == 0);
    nm_outdir_finish(&od);
    rmdir(subdir);
    free(subdir);
    free(dead_young);
    free(live_young);
    free(live_old);
    free(dir);
}

int main(void)
{
    char root[] = "/tmp/nm-outdir-XXXXXX";
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_safe_names();
    test_temp_names();
    test_modes_and_publish(root);
    test_report_set(root);
    test_lock(root);
    test_stale_sweep(root);
    rm_rf(root);
    return test_result();
}
