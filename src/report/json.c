/*
 * The JSON report and the set of files a run publishes: the timestamped
 * JSON, the rendered formats, then latest.json, staged in the report
 * directory and renamed into place together (nearmiss/outdir.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nearmiss/hostiter.h"
#include "nearmiss/jsontext.h"
#include "nearmiss/outdir.h"
#include "nearmiss/report.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"

int nm_report_check(const json_t *report, const char *name, nm_diag *d)
{
    const char *schema = json_string_value(json_object_get(report, "schema"));
    if (!json_is_object(report) || !schema)
        return nm_diag_set(d, NM_ERR_PARSE, "%s: not a nearmiss report (no \"schema\")", name);
    if (strcmp(schema, NM_REPORT_SCHEMA) != 0 && !nm_str_has_prefix(schema, NM_REPORT_SCHEMA "."))
        return nm_diag_set(d, NM_ERR_PARSE,
                           "%s: schema \"%.100s\" is not supported (this version reads %s)", name,
                           schema, NM_REPORT_SCHEMA);
    if (!json_is_array(json_object_get(report, "hosts")))
        return nm_diag_set(d, NM_ERR_PARSE, "%s: \"hosts\" is missing or not an array", name);
    return 0;
}

int nm_report_parse(const char *data, size_t len, const char *name, json_t **ret_report, nm_diag *d)
{
    json_error_t err;
    /* JSON_ALLOW_NUL: a hand-edited report may hold \u0000; the writers turn
     * NULs into U+FFFD rather than cut strings short. */
    json_t *report = json_loadb(data, len, JSON_ALLOW_NUL, &err);
    if (!report)
        return nm_diag_set(d, NM_ERR_PARSE, "%s:%d:%d: not valid JSON: %s", name, err.line,
                           err.column, err.text);
    int r = nm_report_check(report, name, d);
    if (r < 0) {
        json_decref(report);
        return r;
    }
    *ret_report = report;
    return 0;
}

/*
 * The JSON report written piece by piece, each host as the iterator hands
 * it out: the bytes that json_dumps(JSON_INDENT(2) | JSON_PRESERVE_ORDER |
 * JSON_REAL_PRECISION(15)) and a trailing newline give for the same report
 * with those hosts, without the whole text (or the whole tree) in memory.
 * The indented form puts every member on its own line, indented two spaces
 * per level, and a newline in it is always structure (newlines inside
 * strings are escaped), so a value written on its own moves one level in by
 * indenting after each of its newlines (nearmiss/jsontext.h).
 *
 * JSON_ENSURE_ASCII is not used: reports stay readable UTF-8 (host data went
 * through the sanitiser).  Fifteen significant digits print a score of 37.8
 * as 37.8, where jansson's default seventeen show the binary rounding
 * (37.799999999999997).
 */
struct out {
    int fd;
    const char *what; /* for messages */
    char buf[1 << 16];
    size_t len;
    int err; /* errno of the first failed write */
    struct nm_buf text; /* one value's text at a time */
};

static void out_flush(struct out *o)
{
    if (o->len > 0 && !o->err && nm_write_all(o->fd, o->buf, o->len) < 0)
        o->err = errno;
    o->len = 0;
}

static void out_put(struct out *o, const char *s, size_t len)
{
    while (len > 0) {
        if (o->len == sizeof o->buf)
            out_flush(o);
        size_t n = sizeof o->buf - o->len;
        n = n < len ? n : len;
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        s += n;
        len -= n;
    }
}

/* value at `depth` levels in: its text with depth*2 spaces after each
 * newline (nearmiss/jsontext.h), made in o's scratch buffer. */
static int out_value(struct out *o, const json_t *value, int depth, nm_diag *d)
{
    nm_buf_reset(&o->text);
    if (nm_json_indented(&o->text, value, depth) < 0)
        return nm_diag_set(d, NM_ERR_INVAL, "cannot serialise the report: a value is not valid "
                                            "UTF-8 or nested too deep");
    out_put(o, o->text.data, o->text.len);
    return 0;
}

static int out_hosts(struct out *o, const struct nm_host_iter *it, nm_diag *d)
{
    const json_t *h;
    size_t n = 0;
    int r = nm_host_iter_rewind(it, d);
    while (r == 0 && (r = nm_host_iter_next(it, &h, d)) == 0 && h) {
        out_put(o, n++ ? ",\n    " : "[\n    ", 6);
        r = out_value(o, h, 2, d);
    }
    if (r == 0)
        out_put(o, n ? "\n  ]" : "[]", n ? 4 : 2);
    return r;
}

static int stream_json(struct out *o, const json_t *report, const struct nm_host_iter *it,
                       nm_diag *d)
{
    const char *key;
    const json_t *value;
    size_t n = 0;
    int r = 0;
    out_put(o, "{", 1);
    json_object_foreach ((json_t *)report, key, value) {
        if (n++)
            out_put(o, ",", 1);
        out_put(o, "\n  ", 3);
        json_t *k = json_string(key);
        r = out_value(o, k, 1, d);
        json_decref(k);
        if (r < 0)
            return r;
        out_put(o, ": ", 2);
        r = strcmp(key, "hosts") == 0 ? out_hosts(o, it, d) : out_value(o, value, 1, d);
        if (r < 0)
            return r;
    }
    out_put(o, n ? "\n}\n" : "}\n", n ? 3 : 2);
    out_flush(o);
    if (o->err)
        return nm_diag_set(d, NM_ERR_IO, "%s: %s", o->what, strerror(o->err));
    return 0;
}

static int stage_streamed(const json_t *report, const struct nm_host_iter *it, struct nm_outdir *od,
                          const char *name, nm_diag *d)
{
    int fd = nm_outdir_stage_open(od, name, d);
    if (fd < 0)
        return fd;
    struct out *o = nm_xcalloc(1, sizeof *o);
    o->fd = fd;
    o->what = name;
    nm_buf_init(&o->text, SIZE_MAX);
    int r = stream_json(o, report, it, d);
    nm_buf_finish(&o->text);
    free(o);
    if (r < 0) {
        close(fd);
        return r;
    }
    return nm_outdir_stage_close(od, fd, name, d);
}

/* latest.json: the staged timestamped file's bytes, read back in pieces. */
static int stage_copy(struct nm_outdir *od, const char *from_tmp, const char *name, nm_diag *d)
{
    int in = openat(od->dir_fd, from_tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, from_tmp, strerror(errno));
    int fd = nm_outdir_stage_open(od, name, d);
    if (fd < 0) {
        close(in);
        return fd;
    }
    struct out *o = nm_xcalloc(1, sizeof *o);
    o->fd = fd;
    int r = 0;
    for (;;) {
        ssize_t n = read(in, o->buf, sizeof o->buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, from_tmp, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        o->len = (size_t)n;
        out_flush(o);
        if (o->err) {
            r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, name, strerror(o->err));
            break;
        }
    }
    free(o);
    close(in);
    if (r < 0) {
        close(fd);
        return r;
    }
    return nm_outdir_stage_close(od, fd, name, d);
}

int nm_report_stage_hosts(const json_t *report, const struct nm_host_iter *it, struct nm_outdir *od,
                          unsigned formats, char **ret_json_name, nm_diag *d)
{
    char *stamped = nm_report_stamped_name(report);
    int r = stage_streamed(report, it, od, stamped, d);
    const char *tmp = r == 0 ? od->staged[od->n_staged - 1].tmp : NULL;
    char *stamped_tmp = tmp ? nm_xstrdup(tmp) : NULL;
    if (r == 0)
        r = nm_report_stage_formats_hosts(report, it, od, formats, d);
    /* Last, so that whoever reads latest.json finds the rest already there. */
    if (r == 0)
        r = stage_copy(od, stamped_tmp, NM_REPORT_LATEST_NAME, d);
    free(stamped_tmp);
    if (r == 0 && ret_json_name) {
        *ret_json_name = stamped;
        stamped = NULL;
    }
    free(stamped);
    return r;
}

char *nm_report_stamped_name(const json_t *report)
{
    /* nearmiss-20261124T020000Z.json: sortable, one per run. */
    const char *started = json_string_value(json_object_get(report, "started_at"));
    char stamp[32] = "unknown";
    if (started) {
        size_t o = 0;
        for (const char *s = started; *s && o + 1 < sizeof stamp; s++)
            if ((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z'))
                stamp[o++] = *s;
        stamp[o] = '\0';
    }
    return nm_xasprintf("nearmiss-%s.json", stamp);
}

int nm_report_stage(const json_t *report, struct nm_outdir *od, unsigned formats,
                    char **ret_json_name, nm_diag *d)
{
    struct nm_host_iter it;
    struct nm_host_iter_array_state st;
    nm_host_iter_array(&it, &st, report);
    return nm_report_stage_hosts(report, &it, od, formats, ret_json_name, d);
}

int nm_report_write_json(const json_t *report, const char *out_dir, char **ret_path, nm_diag *d)
{
    struct nm_outdir od;
    char *name = NULL;
    nm_outdir_init(&od);
    int r = nm_outdir_open(&od, out_dir, NM_OUTDIR_FILE_MODE, d);
    if (r == 0)
        r = nm_report_stage(report, &od, NM_FORMAT_JSON, &name, d);
    if (r == 0)
        r = nm_outdir_publish(&od, d);
    nm_outdir_finish(&od);
    if (r == 0 && ret_path)
        *ret_path = nm_xasprintf("%s/%s", out_dir, name);
    free(name);
    return r;
}
