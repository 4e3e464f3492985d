/*
 * A stored report read host by host (nearmiss/reportread.h).
 *
 * The reader only finds where each value starts and ends (brackets and
 * strings, escapes included); jansson parses each value's text on its own,
 * so every syntax rule is still jansson's.  Line numbers are counted here,
 * so that an error inside host 9 000 names the file's line, not the line
 * inside that host's text.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nearmiss/hostiter.h"
#include "nearmiss/reportread.h"
#include "nearmiss/spool.h"
#include "nearmiss/util.h"

struct rd {
    const char *path;
    int fd;
    size_t max;                    /* bytes of the file at most */
    uint64_t taken;                /* bytes consumed so far */
    uint64_t line;                 /* line of the next byte, from 1 */
    size_t pos, len;               /* window into buf */
    bool eof, failed;              /* failed: read error or size cap, already in d */
    int err;                       /* its code */
    uint64_t hosts_at, hosts_line; /* where "hosts"' value starts */
    nm_diag *d;
    unsigned char buf[65536];
};

static int fill(struct rd *r)
{
    if (r->pos < r->len)
        return 1;
    if (r->eof || r->failed)
        return 0;
    for (;;) {
        ssize_t n = read(r->fd, r->buf, sizeof r->buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r->failed = true;
            r->err = nm_diag_set(r->d, NM_ERR_IO, "%s: %s", r->path, strerror(errno));
            return 0;
        }
        if (n == 0) {
            r->eof = true;
            return 0;
        }
        r->pos = 0;
        r->len = (size_t)n;
        return 1;
    }
}

/* The next byte, or -1 at the end (or after a failure). */
static int peek(struct rd *r)
{
    return fill(r) ? r->buf[r->pos] : -1;
}

static int get(struct rd *r)
{
    if (!fill(r))
        return -1;
    if (r->taken >= r->max) {
        r->failed = true;
        r->err = nm_diag_set(r->d, NM_ERR_TOOBIG, "%s: larger than %zu bytes", r->path, r->max);
        return -1;
    }
    int c = r->buf[r->pos++];
    r->taken++;
    if (c == '\n')
        r->line++;
    return c;
}

static void skip_ws(struct rd *r)
{
    for (int c = peek(r); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek(r))
        get(r);
}

/* A syntax error at the current line (a read failure already said more). */
static int bad(struct rd *r, const char *what)
{
    if (r->failed)
        return r->err;
    return nm_diag_set(r->d, NM_ERR_PARSE, "%s:%" PRIu64 ": %s", r->path, r->line, what);
}

static int keep(struct nm_buf *out, int c)
{
    char ch = (char)c;
    return out ? nm_buf_append(out, &ch, 1) : 0;
}

/*
 * The text of one value into out (or skipped when out is NULL): an object
 * or array up to its closing bracket, a string up to its closing quote, a
 * number or literal up to the next delimiter.  Whether the text is valid
 * JSON is left to jansson.
 */
static int capture(struct rd *r, struct nm_buf *out)
{
    skip_ws(r);
    int c = peek(r);
    if (c < 0)
        return bad(r, "unexpected end of file");
    if (c == '{' || c == '[' || c == '"') {
        /* A window of the read buffer at a time, appended in one piece:
         * this loop sees every byte of a 100 MB report, several times. */
        size_t depth = 0;
        bool in_str = false, esc = false, done = false;
        while (!done) {
            if (!fill(r))
                return bad(r, "unexpected end of file inside a value");
            size_t start = r->pos;
            while (r->pos < r->len && !done) {
                unsigned char ch = r->buf[r->pos++];
                if (ch == '\n')
                    r->line++;
                if (in_str) {
                    if (esc)
                        esc = false;
                    else if (ch == '\\')
                        esc = true;
                    else if (ch == '"')
                        in_str = false;
                } else if (ch == '"') {
                    in_str = true;
                } else if (ch == '{' || ch == '[') {
                    depth++;
                } else if (ch == '}' || ch == ']') {
                    if (depth == 0)
                        return bad(r, "unbalanced brackets");
                    depth--;
                }
                done = !in_str && depth == 0;
            }
            size_t n = r->pos - start;
            if (r->taken + n > r->max) {
                r->failed = true;
                r->err =
                    nm_diag_set(r->d, NM_ERR_TOOBIG, "%s: larger than %zu bytes", r->path, r->max);
                return r->err;
            }
            r->taken += n;
            if (out && nm_buf_append(out, r->buf + start, n) < 0)
                return nm_diag_set(r->d, NM_ERR_TOOBIG,
                                   "%s:%" PRIu64 ": a value larger than %zu bytes", r->path,
                                   r->line, (size_t)NM_REPORT_READ_VALUE_MAX);
        }
        return 0;
    }
    if (c == ',' || c == ']' || c == '}' || c == ':')
        return bad(r, "a value is missing");
    while ((c = peek(r)) >= 0 && c != ',' && c != ']' && c != '}' && c != ' ' && c != '\t' &&
           c != '\n' && c != '\r') {
        get(r);
        if (keep(out, c) < 0)
            return nm_diag_set(r->d, NM_ERR_TOOBIG, "%s:%" PRIu64 ": a value larger than %zu bytes",
                               r->path, r->line, (size_t)NM_REPORT_READ_VALUE_MAX);
    }
    return r->failed ? bad(r, "") : 0;
}

/* The captured text as JSON; errors at the file's line (line0: where the
 * value began). */
static int parse(struct rd *r, const struct nm_buf *b, uint64_t line0, const char *what,
                 json_t **ret)
{
    json_error_t jerr;
    json_t *v = json_loadb(b->data ? b->data : "", b->len,
                           JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return nm_diag_set(r->d, NM_ERR_PARSE, "%s:%" PRIu64 ": %s: %s", r->path,
                           line0 + (uint64_t)(jerr.line > 0 ? jerr.line - 1 : 0), what, jerr.text);
    *ret = v;
    return 0;
}

/* After an element or member: ',' (more follow) or close (the end, *done). */
static int next_or_close(struct rd *r, int close, const char *what, bool *done)
{
    skip_ws(r);
    int c = get(r);
    *done = c == close;
    return *done || c == ',' ? 0 : bad(r, what);
}

/* Where a walk through the "hosts" array stands. */
enum file_state { AT_START, IN_ARRAY, AT_END };

/*
 * The next element of "hosts", the reader standing before the '[' (state
 * AT_START) or after an element: *ret gets it parsed (text held in b), or
 * it is only skipped when ret is NULL; *state becomes AT_END after the last
 * (and *ret stays NULL when there was none).  Both the callback walk and
 * the iterator step with it.
 */
static int hosts_next(struct rd *r, enum file_state *state, size_t i, struct nm_buf *b,
                      json_t **ret)
{
    if (*state == AT_START) {
        skip_ws(r);
        if (get(r) != '[')
            return bad(r, "\"hosts\" is not an array");
        skip_ws(r);
        *state = IN_ARRAY;
        if (peek(r) == ']') {
            get(r);
            *state = AT_END;
        }
    }
    if (*state == AT_END)
        return 0;
    skip_ws(r);
    uint64_t line0 = r->line;
    nm_buf_reset(b);
    int ret_c = capture(r, ret ? b : NULL);
    if (ret_c < 0)
        return ret_c;
    if (ret) {
        char what[48];
        snprintf(what, sizeof what, "hosts[%zu]", i);
        if ((ret_c = parse(r, b, line0, what, ret)) < 0)
            return ret_c;
    }
    bool done;
    if ((ret_c = next_or_close(r, ']', "expected ',' or ']' after a host", &done)) < 0) {
        if (ret) {
            json_decref(*ret);
            *ret = NULL;
        }
        return ret_c;
    }
    if (done)
        *state = AT_END;
    return 1;
}

static int read_hosts(struct rd *r, size_t *n, nm_report_host_fn host_cb, void *ctx)
{
    struct nm_buf b;
    enum file_state state = AT_START;
    int ret = 0;
    nm_buf_init(&b, NM_REPORT_READ_VALUE_MAX);
    skip_ws(r);
    r->hosts_at = r->taken;
    r->hosts_line = r->line;
    while (state != AT_END) {
        json_t *h = NULL;
        if ((ret = hosts_next(r, &state, *n, &b, host_cb ? &h : NULL)) <= 0)
            break;
        (*n)++;
        ret = host_cb ? host_cb(ctx, *n - 1, h, r->d) : 0;
        json_decref(h);
        if (ret < 0)
            break;
    }
    nm_buf_finish(&b);
    return ret < 0 ? ret : 0;
}

static int read_report(struct rd *r, json_t *top, size_t *n, nm_report_host_fn host_cb, void *ctx)
{
    struct nm_buf b;
    bool seen_hosts = false;
    int ret = 0;
    skip_ws(r);
    if (get(r) != '{')
        return bad(r, "not a JSON object");
    skip_ws(r);
    if (peek(r) == '}') {
        get(r);
        goto end;
    }
    nm_buf_init(&b, NM_REPORT_READ_VALUE_MAX);
    for (;;) {
        json_t *key = NULL, *v = NULL;
        skip_ws(r);
        uint64_t line0 = r->line;
        nm_buf_reset(&b);
        if (peek(r) != '"') {
            ret = bad(r, "expected a member name");
            break;
        }
        if ((ret = capture(r, &b)) < 0 || (ret = parse(r, &b, line0, "member name", &key)) < 0)
            break;
        const char *k = json_string_value(key);
        skip_ws(r);
        if (get(r) != ':') {
            json_decref(key);
            ret = bad(r, "expected ':' after a member name");
            break;
        }
        if (seen_hosts && strcmp(k, "hosts") == 0) {
            ret = nm_diag_set(r->d, NM_ERR_PARSE, "%s:%" PRIu64 ": duplicate member \"hosts\"",
                              r->path, line0);
        } else if (strcmp(k, "hosts") == 0) {
            seen_hosts = true;
            if ((ret = read_hosts(r, n, host_cb, ctx)) == 0 && top)
                json_object_set_new(top, "hosts", json_array());
        } else if (top && json_object_get(top, k)) {
            ret = nm_diag_set(r->d, NM_ERR_PARSE, "%s:%" PRIu64 ": duplicate member \"%.80s\"",
                              r->path, line0, k);
        } else {
            skip_ws(r);
            line0 = r->line;
            nm_buf_reset(&b);
            if ((ret = capture(r, top ? &b : NULL)) == 0 && top &&
                (ret = parse(r, &b, line0, k, &v)) == 0)
                json_object_set_new(top, k, v);
        }
        json_decref(key);
        bool done;
        if (ret < 0 ||
            (ret = next_or_close(r, '}', "expected ',' or '}' after a member", &done)) < 0 || done)
            break;
    }
    nm_buf_finish(&b);
    if (ret < 0)
        return ret;
end:
    skip_ws(r);
    if (peek(r) >= 0)
        return bad(r, "data after the report's object");
    return r->failed ? bad(r, "") : 0;
}

/* r reads fd (owned from here) and names it `name` in messages. */
static struct rd *rd_new(int fd, const char *name, size_t max, nm_diag *d)
{
    struct rd *r = nm_xcalloc(1, sizeof *r);
    r->path = name;
    r->fd = fd;
    r->max = max;
    r->line = 1;
    r->d = d;
    return r;
}

/* The one way a report file is opened: its errors name it. */
static int open_report(const char *path, nm_diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return nm_diag_set(d, e == ENOENT ? NM_ERR_NOTFOUND : NM_ERR_IO, "%s: %s", path,
                           strerror(e));
    }
    return fd;
}

static int rd_open(const char *path, size_t max, nm_diag *d, struct rd **ret)
{
    int fd = open_report(path, d);
    if (fd < 0)
        return fd;
    *ret = rd_new(fd, path, max, d);
    return 0;
}

static void rd_close(struct rd *r)
{
    if (r) {
        close(r->fd);
        free(r);
    }
}

int nm_report_read(const char *path, size_t max, json_t **ret_top, size_t *ret_n_hosts,
                   nm_report_host_fn host_cb, void *ctx, nm_diag *d)
{
    struct rd *r = NULL;
    int ret = rd_open(path, max, d, &r);
    if (ret < 0)
        return ret;
    json_t *top = ret_top ? json_object() : NULL;
    size_t n = 0;
    ret = read_report(r, top, &n, host_cb, ctx);
    rd_close(r);
    if (ret < 0) {
        json_decref(top);
        return ret;
    }
    if (ret_top)
        *ret_top = top;
    if (ret_n_hosts)
        *ret_n_hosts = n;
    return 0;
}

/* ---- the hosts as an iterator: one pass to learn where they are, then
 * each pass reads them from there again ---- */

struct nm_report_file_iter {
    struct rd *r;
    char *path;
    enum file_state state;
    struct nm_buf buf;
    json_t *cur;
    size_t i, n;
    /* The first hosts stay parsed while they fit the memory budget; later
     * passes hand them out from here and read the rest from the file,
     * from just after the last of them (resume_*). */
    json_t **cache;
    size_t n_cached, cost, budget;
    bool caching, serving;
    uint64_t resume_at, resume_line;
    enum file_state resume_state;
};

static int seek_to(struct nm_report_file_iter *st, uint64_t at, uint64_t line, nm_diag *d)
{
    struct rd *r = st->r;
    if (lseek(r->fd, (off_t)at, SEEK_SET) < 0)
        return nm_diag_set(d, NM_ERR_IO, "%s: %s", st->path, strerror(errno));
    r->pos = r->len = 0;
    r->eof = r->failed = false;
    r->taken = at;
    r->line = line;
    return 0;
}

static int file_iter_rewind(void *ctx, nm_diag *d)
{
    struct nm_report_file_iter *st = ctx;
    json_decref(st->cur);
    st->cur = NULL;
    /* Only the first pass fills the cache (a rewind before it has read a
     * host does not end it), and only with a first run of hosts: what
     * follows the cached ones is always read from the file. */
    if (st->i > 0)
        st->caching = false;
    st->serving = false;
    st->i = 0;
    st->state = AT_START;
    if (st->n_cached) {
        st->serving = true;
        return 0;
    }
    return seek_to(st, st->r->hosts_at, st->r->hosts_line, d);
}

static int file_iter_next(void *ctx, const json_t **ret_host, nm_diag *d)
{
    struct nm_report_file_iter *st = ctx;
    struct rd *r = st->r;
    json_decref(st->cur);
    st->cur = NULL;
    *ret_host = NULL;
    r->d = d;
    if (st->serving) {
        if (st->i < st->n_cached) {
            st->cur = json_incref(st->cache[st->i++]);
            *ret_host = st->cur;
            return 0;
        }
        st->serving = false;
        int ret = seek_to(st, st->resume_at, st->resume_line, d);
        if (ret < 0)
            return ret;
        st->state = st->resume_state;
    }
    int ret = hosts_next(r, &st->state, st->i, &st->buf, &st->cur);
    if (ret <= 0)
        return ret;
    if (st->caching && st->n_cached == st->i && st->n_cached < st->n) {
        size_t cost = nm_spool_json_cost(st->cur);
        if (cost <= st->budget - st->cost) {
            st->cache[st->n_cached++] = json_incref(st->cur);
            st->cost += cost;
            st->resume_at = r->taken;
            st->resume_line = r->line;
            st->resume_state = st->state;
        } else {
            st->caching = false;
        }
    }
    st->i++;
    *ret_host = st->cur;
    return 0;
}

static int iter_open_fd(int fd, const char *name, size_t max, size_t memory, json_t **ret_top,
                        struct nm_host_iter *it, struct nm_report_file_iter **ret_state,
                        nm_diag *d);

int nm_report_iter_open(const char *path, size_t max, size_t memory, json_t **ret_top,
                        struct nm_host_iter *it, struct nm_report_file_iter **ret_state, nm_diag *d)
{
    int fd = open_report(path, d);
    if (fd < 0)
        return fd;
    return iter_open_fd(fd, path, max, memory, ret_top, it, ret_state, d);
}

/*
 * A stream cannot be read twice: it is copied to an unnamed private file in
 * $TMPDIR (O_TMPFILE; else a mkostemp file unlinked at once, so that even a
 * killed run leaves nothing), then read host by host like any report file.
 */
static int stream_to_file(int in_fd, const char *name, size_t max, nm_diag *d)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        char *path = nm_xasprintf("%s/nearmiss-stdin.XXXXXX", tmp);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd >= 0)
            unlink(path);
        free(path);
    }
    if (fd < 0)
        return nm_diag_set(d, NM_ERR_IO, "%s: cannot make a temporary file in %s: %s", name, tmp,
                           strerror(errno));
    char chunk[65536];
    size_t total = 0;
    int r = 0;
    for (;;) {
        ssize_t n = read(in_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = nm_diag_set(d, NM_ERR_IO, "%s: %s", name, strerror(errno));
            break;
        }
        if (n == 0) {
            if (lseek(fd, 0, SEEK_SET) == 0)
                return fd;
            r = nm_diag_set(d, NM_ERR_IO, "%s: %s", name, strerror(errno));
            break;
        }
        if ((total += (size_t)n) > max) {
            r = nm_diag_set(d, NM_ERR_TOOBIG, "%s: larger than %zu bytes", name, max);
            break;
        }
        if (nm_write_all(fd, chunk, (size_t)n) < 0) {
            r = nm_diag_set(d, NM_ERR_IO, "%s: copying it to %s: %s", name, tmp, strerror(errno));
            break;
        }
    }
    close(fd);
    return r;
}

int nm_report_iter_open_stream(int in_fd, const char *name, size_t max, size_t memory,
                               json_t **ret_top, struct nm_host_iter *it,
                               struct nm_report_file_iter **ret_state, nm_diag *d)
{
    int fd = stream_to_file(in_fd, name, max, d);
    if (fd < 0)
        return fd;
    return iter_open_fd(fd, name, max, memory, ret_top, it, ret_state, d);
}

/* The iterator over fd (owned from here), called name in messages. */
static int iter_open_fd(int fd, const char *name, size_t max, size_t memory, json_t **ret_top,
                        struct nm_host_iter *it, struct nm_report_file_iter **ret_state,
                        nm_diag *d)
{
    struct rd *r = rd_new(fd, name, max, d);
    json_t *top = json_object();
    size_t n = 0;
    int ret = read_report(r, top, &n, NULL, NULL);
    if (ret == 0 && !json_object_get(top, "hosts"))
        ret = nm_diag_set(d, NM_ERR_PARSE, "%s: \"hosts\" is missing or not an array", name);
    if (ret < 0) {
        json_decref(top);
        rd_close(r);
        return ret;
    }
    struct nm_report_file_iter *st = nm_xcalloc(1, sizeof *st);
    st->r = r;
    st->path = nm_xstrdup(name);
    r->path = st->path;
    nm_buf_init(&st->buf, NM_REPORT_READ_VALUE_MAX);
    st->n = n;
    st->budget = memory;
    st->cache = nm_xcalloc(n + 1, sizeof *st->cache);
    *it = (struct nm_host_iter){
        .next = file_iter_next, .rewind = file_iter_rewind, .ctx = st, .n_hosts = n};
    if ((ret = file_iter_rewind(st, d)) < 0) {
        nm_report_iter_close(st);
        json_decref(top);
        return ret;
    }
    st->caching = true; /* the first pass */
    *ret_top = top;
    *ret_state = st;
    return 0;
}

void nm_report_iter_close(struct nm_report_file_iter *st)
{
    if (!st)
        return;
    json_decref(st->cur);
    for (size_t i = 0; i < st->n_cached; i++)
        json_decref(st->cache[i]);
    free(st->cache);
    nm_buf_finish(&st->buf);
    rd_close(st->r);
    free(st->path);
    free(st);
}
