#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nearmiss/util.h"

static void nm_oom(void)
{
    /* Nothing sensible can continue without memory; say so and stop. */
    fputs("nearmiss: out of memory\n", stderr);
    abort();
}

void *nm_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        nm_oom();
    return p;
}

void *nm_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        nm_oom();
    return p;
}

void *nm_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        nm_oom();
    return q;
}

void *nm_xreallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        nm_oom();
    return nm_xrealloc(p, n * size);
}

char *nm_xstrdup(const char *s)
{
    return nm_xstrndup(s, strlen(s));
}

char *nm_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = nm_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *nm_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        nm_oom();
    return p;
}

void nm_buf_init(struct nm_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void nm_buf_finish(struct nm_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

void nm_buf_reset(struct nm_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int nm_buf_append(struct nm_buf *b, const void *data, size_t len)
{
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    size_t take = len < room ? len : room;
    if (b->len + take + 1 > b->alloc) {
        size_t want = b->alloc ? b->alloc : 256;
        while (want < b->len + take + 1)
            want = want > SIZE_MAX / 2 ? b->len + take + 1 : want * 2;
        b->data = nm_xrealloc(b->data, want);
        b->alloc = want;
    }
    if (take)
        memcpy(b->data + b->len, data, take);
    b->len += take;
    b->data[b->len] = '\0';
    return take == len ? 0 : NM_ERR_TOOBIG;
}

int nm_buf_appends(struct nm_buf *b, const char *s)
{
    return nm_buf_append(b, s, strlen(s));
}

int nm_buf_appendf(struct nm_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NM_ERR_INVAL;
    if ((size_t)n < sizeof small)
        return nm_buf_append(b, small, (size_t)n);
    char *big = nm_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int r = nm_buf_append(b, big, (size_t)n);
    free(big);
    return r;
}

char *nm_buf_steal(struct nm_buf *b, size_t *ret_len)
{
    char *p = b->data ? b->data : nm_xstrdup("");
    if (ret_len)
        *ret_len = b->len;
    b->data = NULL;
    b->len = b->alloc = 0;
    return p;
}

int nm_parse_u64(const char **p, const char *end, uint64_t *ret)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s >= end || *s < '0' || *s > '9')
        return NM_ERR_PARSE;
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned dgt = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            return NM_ERR_PARSE;
        v = v * 10 + dgt;
        s++;
    }
    *p = s;
    *ret = v;
    return 0;
}

int nm_parse_i64(const char **p, const char *end, int64_t *ret)
{
    const char *s = *p;
    bool neg = false;
    uint64_t u;
    if (s < end && (*s == '-' || *s == '+')) {
        neg = *s == '-';
        s++;
    }
    if (nm_parse_u64(&s, end, &u) < 0)
        return NM_ERR_PARSE;
    if (neg ? u > (uint64_t)INT64_MAX + 1 : u > (uint64_t)INT64_MAX)
        return NM_ERR_PARSE;
    *ret = neg ? (int64_t)(0 - u) : (int64_t)u;
    *p = s;
    return 0;
}

int nm_str_to_u64(const char *s, uint64_t *ret)
{
    const char *p = s, *end = s + strlen(s);
    uint64_t v;
    if (nm_parse_u64(&p, end, &v) < 0 || p != end)
        return NM_ERR_PARSE;
    *ret = v;
    return 0;
}

int nm_str_to_i64(const char *s, int64_t *ret)
{
    const char *p = s, *end = s + strlen(s);
    int64_t v;
    if (nm_parse_i64(&p, end, &v) < 0 || p != end)
        return NM_ERR_PARSE;
    *ret = v;
    return 0;
}

void nm_skip_spaces(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
}

bool nm_str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int nm_buf_append_shquoted(struct nm_buf *b, const char *s)
{
    int r = nm_buf_append(b, "'", 1);
    /* Whole runs between quotes: probe scripts are quoted for every host. */
    for (const char *q = s; *q && r == 0;) {
        size_t n = strcspn(q, "'");
        r = nm_buf_append(b, q, n);
        q += n;
        if (*q == '\'' && r == 0) {
            r = nm_buf_append(b, "'\\''", 4);
            q++;
        }
    }
    if (r == 0)
        r = nm_buf_append(b, "'", 1);
    return r;
}

char *nm_expand_home(const char *path)
{
    if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
        const char *home = getenv("HOME");
        if (!home || !*home)
            home = "/";
        return nm_xasprintf("%s%s", home, path + 1);
    }
    return nm_xstrdup(path);
}

char *nm_temp_prefix(const char *name)
{
    return nm_xasprintf(".%s.nmtmp-%ld-", name, (long)getpid());
}

bool nm_temp_name_parse(const char *entry, long *ret_pid)
{
    /* ".NAME.nmtmp-PID-XXXXXX": the last ".nmtmp-" is the marker, since NAME
     * may contain anything but '/'. */
    if (entry[0] != '.')
        return false;
    const char *m = NULL;
    for (const char *p = strstr(entry, ".nmtmp-"); p; p = strstr(p + 1, ".nmtmp-"))
        m = p;
    if (!m || m == entry)
        return false;
    const char *p = m + strlen(".nmtmp-"), *end = p + strlen(p);
    uint64_t pid;
    if (nm_parse_u64(&p, end, &pid) < 0 || pid == 0 || pid > INT32_MAX || *p != '-')
        return false;
    p++;
    if (end - p != 6)
        return false;
    for (; p < end; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return false;
    if (ret_pid)
        *ret_pid = (long)pid;
    return true;
}

int nm_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int nm_write_atomic(const char *path, const void *data, size_t len, int mode, nm_diag *d)
{
    const char *slash = strrchr(path, '/');
    char *prefix = nm_temp_prefix(slash ? slash + 1 : path);
    char *tmp = slash ? nm_xasprintf("%.*s/%sXXXXXX", (int)(slash - path), path, prefix)
                      : nm_xasprintf("%sXXXXXX", prefix);
    free(prefix);
    int fd = mkstemp(tmp);
    int r = 0;
    if (fd < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: cannot create temporary file: %s", path,
                        strerror(errno));
        goto out;
    }
    if (nm_write_all(fd, data, len) < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
        goto out_unlink;
    }
    if (fchmod(fd, (mode_t)mode) < 0 || fsync(fd) < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto out_unlink;
    }
    if (close(fd) < 0) {
        fd = -1;
        r = nm_diag_set(d, NM_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
        goto out_unlink;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
        goto out_unlink;
    }
    goto out;
out_unlink:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out:
    free(tmp);
    return r;
}

int nm_mkdir_p(const char *path, int mode, nm_diag *d)
{
    char *p = nm_xstrdup(path);
    int r = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
                r = nm_diag_set(d, NM_ERR_IO, "%s: cannot create directory: %s", p,
                                strerror(errno));
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return r;
}

int nm_read_file(const char *path, size_t cap, char **ret_data, size_t *ret_len, nm_diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nm_diag_set(d, errno == ENOENT ? NM_ERR_NOTFOUND : NM_ERR_IO, "%s: %s", path,
                           strerror(errno));
    struct nm_buf b;
    nm_buf_init(&b, cap);
    char chunk[65536];
    int r = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = nm_diag_set(d, NM_ERR_IO, "%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (nm_buf_append(&b, chunk, (size_t)n) < 0) {
            r = nm_diag_set(d, NM_ERR_TOOBIG, "%s: larger than %zu bytes", path, cap);
            break;
        }
    }
    close(fd);
    if (r < 0) {
        nm_buf_finish(&b);
        return r;
    }
    *ret_data = nm_buf_steal(&b, ret_len);
    return 0;
}

bool nm_glob_match(const char *pattern, const char *s)
{
    return fnmatch(pattern, s, 0) == 0;
}

char *nm_safe_file_name(const char *name, const char *suffix)
{
    static const char hex[] = "0123456789ABCDEF";
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX / 2);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
                     (*p == '.' && p != (const unsigned char *)name);
        if (plain) {
            nm_buf_append(&b, p, 1);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            nm_buf_append(&b, esc, 3);
        }
    }
    if (b.len == 0)
        nm_buf_appends(&b, "%"); /* an empty name still names something */
    if (b.len > NM_FILE_NAME_MAX) {
        /* Keep a readable start; the digest keeps long names apart. */
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)name, strlen(name), md);
        size_t keep = NM_FILE_NAME_MAX - 17;
        /* Never cut inside a %XX escape. */
        if (keep >= 1 && b.data[keep - 1] == '%')
            keep -= 1;
        else if (keep >= 2 && b.data[keep - 2] == '%')
            keep -= 2;
        b.len = keep;
        nm_buf_appends(&b, "~");
        for (size_t i = 0; i < 8; i++) {
            char x[2] = {hex[md[i] >> 4], hex[md[i] & 15]};
            nm_buf_append(&b, x, 2);
        }
    }
    if (suffix)
        nm_buf_appends(&b, suffix);
    return nm_buf_steal(&b, NULL);
}

char *nm_safe_path_in(const char *dir, const char *name, const char *suffix)
{
    char *file = nm_safe_file_name(name, suffix);
    char *path = nm_xasprintf("%s/%s", dir, file);
    free(file);
    return path;
}
