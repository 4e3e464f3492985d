/*
 * The report directory: checked, locked and swept before a run, published
 * into as one set after it (see nearmiss/outdir.h for the contract).
 *
 * Everything inside the directory goes through its descriptor (openat,
 * renameat, unlinkat), so the directory being renamed or replaced by a
 * symlink while a run is under way cannot redirect the writes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nearmiss/outdir.h"
#include "nearmiss/util.h"

int nm_outdir_dir_mode(int file_mode)
{
    int m = 0700;
    if (file_mode & 0060)
        m |= 0050;
    if (file_mode & 0006)
        m |= 0005;
    return m;
}

void nm_outdir_init(struct nm_outdir *od)
{
    memset(od, 0, sizeof *od);
    od->dir_fd = -1;
    od->lock_fd = -1;
    od->file_mode = NM_OUTDIR_FILE_MODE;
}

/* mkdir -p that reports whether the last component was created by us, and
 * gives every component it creates the same restrictive mode. */
static int make_dirs(const char *path, int mode, bool *ret_created, nm_diag *d)
{
    char *p = nm_xstrdup(path);
    bool created = false;
    int r = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, (mode_t)mode) == 0) {
            created = true;
        } else if (errno == EEXIST) {
            created = false;
        } else {
            r = nm_diag_set(d, NM_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
            goto out;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    *ret_created = created;
out:
    free(p);
    return r;
}

/* Tells the user who holds the directory: the holder wrote its pid into the
 * lock file when it took the lock. */
static long lock_holder(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *p = buf, *end = buf + n;
    uint64_t pid;
    if (nm_parse_u64(&p, end, &pid) < 0 || pid > INT32_MAX)
        return 0;
    return (long)pid;
}

static int take_lock(struct nm_outdir *od, nm_diag *d)
{
    int fd = openat(od->dir_fd, NM_OUTDIR_LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                    (mode_t)od->file_mode);
    if (fd < 0)
        return nm_diag_set(d, NM_ERR_IO, "%s/%s: cannot open the lock file: %s", od->path,
                           NM_OUTDIR_LOCK_NAME, strerror(errno));
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR)
            continue;
        int err = errno;
        long pid = err == EWOULDBLOCK ? lock_holder(fd) : 0;
        close(fd);
        if (err != EWOULDBLOCK)
            return nm_diag_set(d, NM_ERR_IO, "%s/%s: cannot lock: %s", od->path,
                               NM_OUTDIR_LOCK_NAME, strerror(err));
        if (pid > 0)
            return nm_diag_set(d, NM_ERR_BUSY,
                               "%s: another nearmiss run (pid %ld) is using this report directory; "
                               "not starting a second one",
                               od->path, pid);
        return nm_diag_set(d, NM_ERR_BUSY,
                           "%s: another nearmiss run is using this report directory; "
                           "not starting a second one",
                           od->path);
    }
    /* Who holds it, for the message a second run prints.  Best effort: the
     * lock itself is what excludes, not this text. */
    char pid[24];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) != n) {
        /* an unreadable pid only makes the second run's message vaguer */
    }
    od->lock_fd = fd;
    return 0;
}

/* The names earlier versions gave their temporaries: FINAL.tmp.XXXXXX. */
static bool legacy_temp_name(const char *e)
{
    static const char *const finals[] = {"latest.json", "report.html", "junit.xml",
                                         "nearmiss.prom"};
    const char *t = strstr(e, ".tmp.");
    if (!t || strlen(t) != strlen(".tmp.") + 6)
        return false;
    size_t base = (size_t)(t - e);
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++)
        if (strlen(finals[i]) == base && memcmp(e, finals[i], base) == 0)
            return true;
    /* nearmiss-<stamp>.json */
    return base > strlen("nearmiss-.json") && nm_str_has_prefix(e, "nearmiss-") &&
           memcmp(e + base - 5, ".json", 5) == 0;
}

static bool pid_gone(long pid)
{
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

size_t nm_outdir_remove_stale(struct nm_outdir *od, long max_age_s)
{
    int fd = dup(od->dir_fd);
    if (fd < 0)
        return 0;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return 0;
    }
    size_t removed = 0;
    time_t now = time(NULL);
    for (struct dirent *e; (e = readdir(dir));) {
        long pid = 0;
        bool ours = nm_temp_name_parse(e->d_name, &pid);
        if (!ours && !legacy_temp_name(e->d_name))
            continue;
        struct stat st;
        if (fstatat(od->dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        bool old = now - st.st_mtime > max_age_s;
        /* Our own pid on an old name is a reused pid: only age can tell. */
        bool dead = ours && pid != (long)getpid() && pid_gone(pid);
        if ((old || dead) && unlinkat(od->dir_fd, e->d_name, 0) == 0)
            removed++;
    }
    closedir(dir);
    return removed;
}

int nm_outdir_open(struct nm_outdir *od, const char *path, int file_mode, nm_diag *d)
{
    struct stat st;
    int r;
    if (!path || !*path)
        return nm_diag_set(d, NM_ERR_INVAL, "no report directory given");
    od->path = nm_xstrdup(path);
    od->file_mode = file_mode;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            r = nm_diag_set(d, NM_ERR_INVAL, "%s: the report directory is not a directory", path);
            goto fail;
        }
    } else if (errno == ENOENT) {
        r = make_dirs(path, nm_outdir_dir_mode(file_mode), &od->created, d);
        if (r < 0)
            goto fail;
    } else {
        r = nm_diag_set(d, NM_ERR_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    od->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (od->dir_fd < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: cannot open the report directory: %s", path,
                        strerror(errno));
        goto fail;
    }
    if (faccessat(od->dir_fd, ".", W_OK | X_OK, AT_EACCESS) < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: the report directory is not writable: %s", path,
                        strerror(errno));
        goto fail;
    }
    r = take_lock(od, d);
    if (r < 0)
        goto fail;
    od->stale_removed = nm_outdir_remove_stale(od, NM_OUTDIR_STALE_AGE_S);
    return 0;
fail:
    nm_outdir_finish(od);
    nm_outdir_init(od);
    return r;
}

static bool plain_component(const char *name)
{
    return *name && name[0] != '.' && !strchr(name, '/');
}

/* openat(O_EXCL) with a random suffix: mkstemp has no *at form. */
static int create_temp(struct nm_outdir *od, const char *name, char **ret_tmp, nm_diag *d)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char *prefix = nm_temp_prefix(name);
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned char rnd[6];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
            /* Uniqueness is what O_EXCL checks; randomness only avoids retries. */
            for (size_t i = 0; i < sizeof rnd; i++)
                rnd[i] = (unsigned char)(nm_now_ms() >> (i * 3)) ^ (unsigned char)attempt;
        }
        char suffix[7];
        for (size_t i = 0; i < 6; i++)
            suffix[i] = alnum[rnd[i] % (sizeof alnum - 1)];
        suffix[6] = '\0';
        char *tmp = nm_xasprintf("%s%s", prefix, suffix);
        int fd =
            openat(od->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0) {
            free(prefix);
            *ret_tmp = tmp;
            return fd;
        }
        int err = errno;
        free(tmp);
        if (err != EEXIST) {
            free(prefix);
            return nm_diag_set(d, NM_ERR_IO, "%s/%s: cannot create a temporary file: %s", od->path,
                               name, strerror(err));
        }
    }
    free(prefix);
    return nm_diag_set(d, NM_ERR_IO, "%s/%s: cannot create a temporary file", od->path, name);
}

int nm_outdir_stage(struct nm_outdir *od, const char *name, const void *data, size_t len,
                    nm_diag *d)
{
    if (od->dir_fd < 0)
        return nm_diag_set(d, NM_ERR_INVAL, "the report directory is not open");
    if (!plain_component(name))
        return nm_diag_set(d, NM_ERR_INVAL, "\"%s\" is not a plain file name", name);
    char *tmp = NULL;
    int fd = create_temp(od, name, &tmp, d);
    if (fd < 0)
        return fd;
    int r = 0;
    if (nm_write_all(fd, data, len) < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, name, strerror(errno));
        goto fail;
    }
    /* fchmod, not the open mode: the umask must not decide who reads this. */
    if (fchmod(fd, (mode_t)od->file_mode) < 0 || fsync(fd) < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, name, strerror(errno));
        goto fail;
    }
    int c = close(fd);
    fd = -1;
    if (c < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, name, strerror(errno));
        goto fail;
    }
    od->staged = nm_xreallocarray(od->staged, od->n_staged + 1, sizeof *od->staged);
    od->staged[od->n_staged++] = (struct nm_outdir_file){nm_xstrdup(name), tmp};
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlinkat(od->dir_fd, tmp, 0);
    free(tmp);
    return r;
}

int nm_outdir_temp(struct nm_outdir *od, const char *name, char **ret_tmp, nm_diag *d)
{
    if (od->dir_fd < 0)
        return nm_diag_set(d, NM_ERR_INVAL, "the report directory is not open");
    if (!plain_component(name))
        return nm_diag_set(d, NM_ERR_INVAL, "\"%s\" is not a plain file name", name);
    char *tmp = NULL;
    int fd = create_temp(od, name, &tmp, d);
    if (fd < 0)
        return fd;
    if (fchmod(fd, 0600) < 0) {
        int r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, name, strerror(errno));
        close(fd);
        unlinkat(od->dir_fd, tmp, 0);
        free(tmp);
        return r;
    }
    *ret_tmp = tmp;
    return fd;
}

int nm_outdir_stage_open(struct nm_outdir *od, const char *name, nm_diag *d)
{
    char *tmp = NULL;
    int fd = nm_outdir_temp(od, name, &tmp, d);
    if (fd < 0)
        return fd;
    /* Staged from the start, so that a discard removes it whatever the
     * writer managed to write. */
    od->staged = nm_xreallocarray(od->staged, od->n_staged + 1, sizeof *od->staged);
    od->staged[od->n_staged++] = (struct nm_outdir_file){nm_xstrdup(name), tmp};
    return fd;
}

int nm_outdir_stage_close(struct nm_outdir *od, int fd, const char *name, nm_diag *d)
{
    int r = 0;
    if (fchmod(fd, (mode_t)od->file_mode) < 0 || fsync(fd) < 0)
        r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, name, strerror(errno));
    if (close(fd) < 0 && r == 0)
        r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, name, strerror(errno));
    return r;
}

static void drop_staged(struct nm_outdir *od, size_t from)
{
    for (size_t i = from; i < od->n_staged; i++) {
        if (od->staged[i].tmp && od->dir_fd >= 0)
            unlinkat(od->dir_fd, od->staged[i].tmp, 0);
        free(od->staged[i].tmp);
        free(od->staged[i].name);
    }
    for (size_t i = 0; i < from && i < od->n_staged; i++) {
        free(od->staged[i].tmp);
        free(od->staged[i].name);
    }
    free(od->staged);
    od->staged = NULL;
    od->n_staged = 0;
}

int nm_outdir_publish(struct nm_outdir *od, nm_diag *d)
{
    int r = 0;
    size_t i = 0;
    for (; i < od->n_staged; i++) {
        if (renameat(od->dir_fd, od->staged[i].tmp, od->dir_fd, od->staged[i].name) < 0) {
            r = nm_diag_set(d, NM_ERR_IO, "%s/%s: cannot rename into place: %s", od->path,
                            od->staged[i].name, strerror(errno));
            break;
        }
    }
    drop_staged(od, i);
    /* The renames are durable only once the directory itself is synced. */
    if (r == 0 && fsync(od->dir_fd) < 0 && errno != EINVAL)
        r = nm_diag_set(d, NM_ERR_IO, "%s: %s", od->path, strerror(errno));
    return r;
}

void nm_outdir_discard(struct nm_outdir *od)
{
    if (od)
        drop_staged(od, 0);
}

int nm_outdir_open_scratch(struct nm_outdir *od, const char *name, nm_diag *d)
{
    const char *tmp = getenv("TMPDIR");
    char *path = nm_xasprintf("%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (!mkdtemp(path)) {
        int r = nm_diag_set(d, NM_ERR_IO, "cannot make a scratch directory %s: %s", path,
                            strerror(errno));
        free(path);
        return r;
    }
    int r = nm_outdir_open(od, path, NM_OUTDIR_FILE_MODE, d);
    if (r < 0)
        rmdir(path);
    else
        od->scratch = true;
    free(path);
    return r;
}

void nm_outdir_finish(struct nm_outdir *od)
{
    if (!od)
        return;
    drop_staged(od, 0);
    if (od->scratch && od->dir_fd >= 0)
        unlinkat(od->dir_fd, NM_OUTDIR_LOCK_NAME, 0);
    if (od->lock_fd >= 0)
        close(od->lock_fd); /* closing the last descriptor releases the flock */
    if (od->dir_fd >= 0)
        close(od->dir_fd);
    if (od->scratch && od->path)
        rmdir(od->path);
    od->scratch = false;
    free(od->path);
    od->path = NULL;
    od->lock_fd = od->dir_fd = -1;
}
