#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
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

int nm_write_atomic(const char *path, const void *data, size_t len, int mode, nm_diag *d)
{
    char *tmp = nm_xasprintf("%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    int r = 0;
    if (fd < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: cannot create temporary file: %s", path,
                        strerror(errno));
        goto out;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            r = nm_diag_set(d, NM_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
            goto out_unlink;
        }
        p += w;
        left -= (size_t)w;
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
