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

#include "nearmiss/reportread.h"
#include "nearmiss/util.h"

struct rd {
    const char *path;
    int fd;
    size_t max;       /* bytes of the file at most */
    uint64_t taken;   /* bytes consumed so far */
    uint64_t line;    /* line of the next byte, from 1 */
    size_t pos, len;  /* window into buf */
    bool eof, failed; /* failed: read error or size cap, already in d */
    int err;          /* its code */
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
        size_t depth = 0;
        bool in_str = false, esc = false;
        do {
            if ((c = get(r)) < 0)
                return bad(r, "unexpected end of file inside a value");
            if (keep(out, c) < 0)
                return nm_diag_set(r->d, NM_ERR_TOOBIG, "%s:%" PRIu64 ": a value larger than %zu bytes",
                                   r->path, r->line, (size_t)NM_REPORT_READ_VALUE_MAX);
            if (in_str) {
                if (esc)
                    esc = false;
                else if (c == '\\')
                    esc = true;
                else if (c == '"')
                    in_str = false;
            } else if (c == '"') {
                in_str = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (depth == 0)
                    return bad(r, "unbalanced brackets");
                depth--;
            }
        } while (in_str || depth > 0);
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

static int read_hosts(struct rd *r, size_t *n, nm_report_host_fn host_cb, void *ctx)
{
    struct nm_buf b;
    int ret = 0;
    nm_buf_init(&b, NM_REPORT_READ_VALUE_MAX);
    skip_ws(r);
    if (get(r) != '[')
        return bad(r, "\"hosts\" is not an array");
    skip_ws(r);
    if (peek(r) == ']') {
        get(r);
        return 0;
    }
    for (;;) {
        skip_ws(r);
        uint64_t line0 = r->line;
        nm_buf_reset(&b);
        if ((ret = capture(r, host_cb ? &b : NULL)) < 0)
            break;
        if (host_cb) {
            char what[48];
            json_t *h = NULL;
            snprintf(what, sizeof what, "hosts[%zu]", *n);
            if ((ret = parse(r, &b, line0, what, &h)) < 0)
                break;
            ret = host_cb(ctx, *n, h, r->d);
            json_decref(h);
            if (ret < 0)
                break;
        }
        (*n)++;
        skip_ws(r);
        int c = get(r);
        if (c == ']')
            break;
        if (c != ',') {
            ret = bad(r, "expected ',' or ']' after a host");
            break;
        }
    }
    nm_buf_finish(&b);
    return ret;
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
        if (ret < 0)
            break;
        skip_ws(r);
        int c = get(r);
        if (c == '}')
            break;
        if (c != ',') {
            ret = bad(r, "expected ',' or '}' after a member");
            break;
        }
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

int nm_report_read(const char *path, size_t max, json_t **ret_top, size_t *ret_n_hosts,
                   nm_report_host_fn host_cb, void *ctx, nm_diag *d)
{
    struct rd *r = nm_xcalloc(1, sizeof *r);
    r->path = path;
    r->max = max;
    r->line = 1;
    r->d = d;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        free(r);
        return nm_diag_set(d, e == ENOENT ? NM_ERR_NOTFOUND : NM_ERR_IO, "%s: %s", path,
                           strerror(e));
    }
    json_t *top = ret_top ? json_object() : NULL;
    size_t n = 0;
    int ret = read_report(r, top, &n, host_cb, ctx);
    close(r->fd);
    free(r);
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
