/*
 * Prometheus text exposition for node_exporter's textfile collector
 * (--collector.textfile.directory): gauges in base units (seconds, ratios),
 * HELP and TYPE before each family, label values escaped as the format
 * requires (backslash, double quote, line feed), no sample timestamps (the
 * collector refuses them), no duplicate series, written atomically so the
 * collector never reads half a file.  Metric list: docs/report.md.
 *
 * Families are collected first, then each is sorted and de-duplicated on its
 * label set (first occurrence wins): a report with two hosts of the same
 * name, or a certificate listed twice, must not yield an invalid file.
 * A family keeps its samples packed in one buffer (labels and value, each
 * NUL-terminated) with their offsets beside it: at 10 000 hosts there are
 * hundreds of thousands of samples, and one allocation each would cost
 * more than the text itself.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/hostiter.h"
#include "nearmiss/report_view.h"
#include "nearmiss/model.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"

/* Before sorting, where the sample starts in its family's text; then the
 * text itself (labels "{a=\"x\"}" or "", NUL, value, NUL).  Samples are
 * appended in insertion order, so a lower address is an earlier sample. */
union sample {
    size_t off;
    const char *at;
};

struct family {
    const char *name;
    const char *help;
    struct nm_buf text;
    union sample *s;
    size_t n, alloc;
};

enum {
    F_UP,
    F_SCORE,
    F_FINDINGS,
    F_WAIVED,
    F_DURATION,
    F_CERT,
    F_FS_USED,
    F_FS_INODES,
    F_FS_SIZE,
    F_FS_AVAIL,
    F_FLEET_FINDINGS,
    F_FLEET_SCORE,
    F_LAST_RUN,
    F_DROPPED,
    F_CHANGES,
    F_COUNT
};

/*
 * Certificate and filesystem series one host may add.  A host normally has
 * tens; one with thousands (or one that makes them up) would cost the
 * monitoring system a series each, night after night.  The rest are counted
 * in nearmiss_host_series_dropped; the JSON report keeps the detail.
 */
#define NM_PROM_HOST_SERIES_MAX 2000

static const struct {
    const char *name, *help;
} family_defs[F_COUNT] = {
    [F_UP] = {"nearmiss_host_up",
              "1 if the host could be scanned, 0 if not; the status label says why."},
    [F_SCORE] = {"nearmiss_host_risk_score",
                 "Risk score of the host, 0 to 100, higher is closer to an outage. Absent for "
                 "hosts that could not be scanned (unknown, not zero)."},
    [F_FINDINGS] = {"nearmiss_findings",
                    "Findings not waived, by host, severity and category (only non-zero counts)."},
    [F_WAIVED] = {"nearmiss_waived_findings", "Findings covered by an active waiver, by host."},
    [F_DURATION] = {"nearmiss_scan_duration_seconds",
                    "Time spent scanning the host: connect, authentication and all probes."},
    [F_CERT] = {"nearmiss_certificate_not_after_timestamp_seconds",
                "Expiry time (notAfter) of a certificate the report lists, as unix seconds."},
    [F_FS_USED] = {"nearmiss_filesystem_used_ratio",
                   "Share of the filesystem's space in use, 0 to 1, for filesystems the report "
                   "lists."},
    [F_FS_INODES] = {"nearmiss_filesystem_inodes_used_ratio",
                     "Share of the filesystem's inodes in use, 0 to 1, for filesystems the report "
                     "lists."},
    [F_FS_SIZE] = {"nearmiss_filesystem_size_bytes",
                   "Size of the filesystem, for filesystems the report lists."},
    [F_FS_AVAIL] = {"nearmiss_filesystem_avail_bytes",
                    "Space available to unprivileged users on the filesystem, for filesystems the "
                    "report lists."},
    [F_FLEET_FINDINGS] = {"nearmiss_fleet_findings",
                          "Fleet-level findings (single points of failure), by severity and "
                          "category."},
    [F_FLEET_SCORE] = {"nearmiss_fleet_risk_score",
                       "Risk score of the whole fleet, 0 to 100. Absent when nothing was scanned."},
    [F_LAST_RUN] = {"nearmiss_last_run_timestamp_seconds",
                    "When the scan this file was rendered from finished, as unix seconds."},
    [F_DROPPED] = {"nearmiss_host_series_dropped",
                   "Certificate and filesystem series of the host left out of this file because "
                   "it had more than 2000 (the JSON report has them); only non-zero."},
    [F_CHANGES] = {"nearmiss_findings_changes",
                   "Findings by change since the previous run in the report directory's history: "
                   "new, persisting, and resolved (gone from a successful scan)."},
};

struct prom {
    struct family f[F_COUNT];
    size_t host_series;  /* certificate and filesystem series of the current host */
    size_t host_dropped; /* ...left out beyond NM_PROM_HOST_SERIES_MAX */
};

/* Counts a per-host series against the cap; false when it must be left out. */
static bool host_series_room(struct prom *p)
{
    if (p->host_series >= NM_PROM_HOST_SERIES_MAX) {
        p->host_dropped++;
        return false;
    }
    p->host_series++;
    return true;
}

/* Appends `name="value"` with the exposition format's escapes; the value is
 * cleaned to valid UTF-8 first (the format requires UTF-8). */
static void add_label(struct nm_buf *b, const char *name, const char *value, size_t len)
{
    char *c = nm_utf8_clean(value ? value : "", value ? len : 0);
    nm_buf_appends(b, b->len ? "," : "{");
    nm_buf_appends(b, name);
    nm_buf_appends(b, "=\"");
    for (const char *p = c; *p; p++) {
        if (*p == '\\')
            nm_buf_appends(b, "\\\\");
        else if (*p == '"')
            nm_buf_appends(b, "\\\"");
        else if (*p == '\n')
            nm_buf_appends(b, "\\n");
        else
            nm_buf_append(b, p, 1);
    }
    nm_buf_appends(b, "\"");
    free(c);
}

static void add_label_json(struct nm_buf *b, const char *name, const json_t *v)
{
    if (json_is_string(v))
        add_label(b, name, json_string_value(v), json_string_length(v));
    else
        add_label(b, name, "", 0);
}

/* Integers exactly; other values with enough digits to round-trip what
 * the report holds (percentages, milliseconds).  The room is what %.0f of
 * the largest double could take, though integers here stay below 1e15. */
enum { VALUE_MAX = 330 };

static void format_value(double v, char out[static VALUE_MAX])
{
    if (isnan(v))
        snprintf(out, VALUE_MAX, "NaN");
    else if (isinf(v))
        snprintf(out, VALUE_MAX, "%s", v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, VALUE_MAX, "%.0f", v);
    else
        snprintf(out, VALUE_MAX, "%.10g", v);
}

/* Copies the labels buffer into the family's text and empties it. */
static void add_sample(struct prom *p, int fam, struct nm_buf *labels, double v)
{
    struct family *f = &p->f[fam];
    if (f->n == f->alloc) {
        f->alloc = f->alloc ? f->alloc * 2 : 16;
        f->s = nm_xreallocarray(f->s, f->alloc, sizeof *f->s);
    }
    if (labels->len)
        nm_buf_appends(labels, "}");
    char value[VALUE_MAX];
    format_value(v, value);
    f->s[f->n++].off = f->text.len;
    nm_buf_append(&f->text, labels->len ? labels->data : "", labels->len + 1);
    nm_buf_append(&f->text, value, strlen(value) + 1);
    nm_buf_reset(labels);
}

static int cmp_sample(const void *a, const void *b)
{
    const union sample *x = a, *y = b;
    int c = strcmp(x->at, y->at);
    if (c)
        return c;
    return x->at < y->at ? -1 : x->at > y->at;
}

static const char *sample_value(const union sample *s)
{
    return s->at + strlen(s->at) + 1;
}

static void help_escaped(struct nm_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            nm_buf_appends(b, "\\\\");
        else if (*s == '\n')
            nm_buf_appends(b, "\\n");
        else
            nm_buf_append(b, s, 1);
    }
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool number(const json_t *v, double *ret)
{
    if (!json_is_number(v))
        return false;
    *ret = json_number_value(v);
    return isfinite(*ret);
}

/*
 * Records that describe a certificate or a filesystem, wherever the report
 * has them: first the host's "metrics" (every certificate and filesystem a
 * check examined, with or without a finding: metrics["cert-expiry"][SHA256],
 * metrics["disk-space"][MOUNT]), then the items of findings (reports without
 * metrics).  A record with not_after_unix is a certificate, labelled by its
 * subject (the finding subject: path or endpoint); one with use_pct and a
 * mount or fstype is a filesystem, labelled by its mount (or its key).
 * Duplicates from both sources collapse: the first series wins.
 */
static void record_metrics(struct prom *p, const json_t *host, const json_t *subject,
                           const char *key, const json_t *rec)
{
    double v;
    struct nm_buf b;
    const json_t *name = json_object_get(host, "name");
    if (!json_is_object(rec))
        return;
    nm_buf_init(&b, SIZE_MAX);
    if (number(json_object_get(rec, "not_after_unix"), &v) && host_series_room(p)) {
        const json_t *subj = json_is_string(subject) ? subject : json_object_get(rec, "subject");
        if (!json_is_string(subj))
            subj = json_array_get(json_object_get(rec, "paths"), 0);
        if (!json_is_string(subj))
            subj = json_object_get(rec, "cn");
        add_label_json(&b, "host", name);
        if (json_is_string(subj))
            add_label_json(&b, "subject", subj);
        else
            add_label(&b, "subject", key ? key : "", key ? strlen(key) : 0);
        add_sample(p, F_CERT, &b, v);
    }
    const json_t *mount = json_object_get(rec, "mount");
    bool is_fs = json_is_string(mount) || (key && json_is_string(json_object_get(rec, "fstype")));
    static const struct {
        const char *field;
        int fam;
        double scale;
    } fs[] = {
        {"use_pct", F_FS_USED, 0.01},
        {"iuse_pct", F_FS_INODES, 0.01},
        {"size_kb", F_FS_SIZE, 1024},
        {"avail_kb", F_FS_AVAIL, 1024},
    };
    for (size_t i = 0; is_fs && i < sizeof fs / sizeof fs[0]; i++) {
        if (!number(json_object_get(rec, fs[i].field), &v) || !host_series_room(p))
            continue;
        add_label_json(&b, "host", name);
        if (json_is_string(mount))
            add_label_json(&b, "mount", mount);
        else
            add_label(&b, "mount", key, strlen(key));
        add_sample(p, fs[i].fam, &b, v * fs[i].scale);
    }
    nm_buf_finish(&b);
}

/* Counts findings per (severity, category) from a findings array. */
struct pair_count {
    const char *sev;
    size_t sev_len;
    const char *cat;
    size_t cat_len;
    size_t n;
};

static void count_pair(struct pair_count **arr, size_t *n, const json_t *f)
{
    const json_t *s = json_object_get(f, "severity"), *c = json_object_get(f, "category");
    const char *sv = json_is_string(s) ? json_string_value(s) : "";
    const char *cv = json_is_string(c) ? json_string_value(c) : "";
    size_t sl = json_is_string(s) ? json_string_length(s) : 0;
    size_t cl = json_is_string(c) ? json_string_length(c) : 0;
    for (size_t i = 0; i < *n; i++) {
        struct pair_count *x = &(*arr)[i];
        if (x->sev_len == sl && x->cat_len == cl && memcmp(x->sev, sv, sl) == 0 &&
            memcmp(x->cat, cv, cl) == 0) {
            x->n++;
            return;
        }
    }
    *arr = nm_xreallocarray(*arr, *n + 1, sizeof **arr);
    (*arr)[(*n)++] = (struct pair_count){sv, sl, cv, cl, 1};
}

static void host_metrics(struct prom *p, const json_t *h)
{
    const json_t *name = json_object_get(h, "name");
    bool ok = nm_view_host_ok(h);
    struct nm_buf b;
    double v;
    nm_buf_init(&b, SIZE_MAX);

    add_label_json(&b, "host", name);
    add_label_json(&b, "status", json_object_get(h, "status"));
    add_sample(p, F_UP, &b, ok ? 1 : 0);
    p->host_series = 0;
    p->host_dropped = 0;

    if (number(json_object_get(h, "score"), &v)) {
        add_label_json(&b, "host", name);
        add_sample(p, F_SCORE, &b, v);
    }
    if (number(json_object_get(json_object_get(h, "scan"), "duration_ms"), &v)) {
        add_label_json(&b, "host", name);
        add_sample(p, F_DURATION, &b, v / 1000.0);
    }

    const char *check, *key;
    const json_t *recs, *rec;
    json_object_foreach ((json_t *)json_object_get(h, "metrics"), check, recs) {
        json_object_foreach ((json_t *)recs, key, rec)
            record_metrics(p, h, NULL, key, rec);
    }
    struct pair_count *pairs = NULL;
    size_t n_pairs = 0, waived = 0, i;
    const json_t *f;
    json_array_foreach (json_object_get(h, "findings"), i, f) {
        record_metrics(p, h, json_object_get(f, "subject"), NULL, json_object_get(f, "item"));
        if (!nm_view_active(f))
            waived++;
        else
            count_pair(&pairs, &n_pairs, f);
    }
    for (i = 0; i < n_pairs; i++) {
        add_label_json(&b, "host", name);
        add_label(&b, "severity", pairs[i].sev, pairs[i].sev_len);
        add_label(&b, "category", pairs[i].cat, pairs[i].cat_len);
        add_sample(p, F_FINDINGS, &b, (double)pairs[i].n);
    }
    free(pairs);
    if (p->host_dropped) {
        add_label_json(&b, "host", name);
        add_sample(p, F_DROPPED, &b, (double)p->host_dropped);
    }
    if (waived) {
        add_label_json(&b, "host", name);
        add_sample(p, F_WAIVED, &b, (double)waived);
    }
    nm_buf_finish(&b);
}

static void free_family(struct family *f)
{
    nm_buf_finish(&f->text);
    free(f->s);
    f->s = NULL;
    f->n = f->alloc = 0;
}

static void free_families(struct prom *p)
{
    for (int k = 0; k < F_COUNT; k++)
        free_family(&p->f[k]);
}

int nm_report_render_prom(const json_t *report, char **ret_data, size_t *ret_len, nm_diag *d)
{
    struct nm_host_iter it;
    struct nm_host_iter_array_state st;
    nm_host_iter_array(&it, &st, report);
    return nm_report_render_prom_hosts(report, &it, ret_data, ret_len, d);
}

static int prom_render(const json_t *report, const struct nm_host_iter *it, FILE *to,
                       char **ret_data, size_t *ret_len, nm_diag *d);

int nm_report_render_prom_hosts(const json_t *report, const struct nm_host_iter *it,
                                char **ret_data, size_t *ret_len, nm_diag *d)
{
    return prom_render(report, it, NULL, ret_data, ret_len, d);
}

int nm_report_prom_stream(const json_t *report, const struct nm_host_iter *it, FILE *f, nm_diag *d)
{
    return prom_render(report, it, f, NULL, NULL, d);
}

/* Into memory, or (to set) family by family into to, each family's samples
 * freed once written. */
static int prom_render(const json_t *report, const struct nm_host_iter *it, FILE *to,
                       char **ret_data, size_t *ret_len, nm_diag *d)
{
    if (!json_is_object(report))
        return nm_diag_set(d, NM_ERR_INVAL, "the report is not a JSON object");
    struct prom p = {0};
    for (int i = 0; i < F_COUNT; i++) {
        p.f[i].name = family_defs[i].name;
        p.f[i].help = family_defs[i].help;
        nm_buf_init(&p.f[i].text, SIZE_MAX);
    }
    size_t i;
    const json_t *h;
    int r = nm_host_iter_rewind(it, d);
    while (r == 0 && (r = nm_host_iter_next(it, &h, d)) == 0 && h)
        host_metrics(&p, h);
    if (r < 0) {
        free_families(&p);
        return r;
    }

    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    struct pair_count *pairs = NULL;
    size_t n_pairs = 0;
    json_array_foreach (json_object_get(report, "fleet_findings"), i, h)
        count_pair(&pairs, &n_pairs, h);
    for (i = 0; i < n_pairs; i++) {
        add_label(&b, "severity", pairs[i].sev, pairs[i].sev_len);
        add_label(&b, "category", pairs[i].cat, pairs[i].cat_len);
        add_sample(&p, F_FLEET_FINDINGS, &b, (double)pairs[i].n);
    }
    free(pairs);
    double v;
    /* No sample when nothing was scanned, even from a report whose writer
     * still gave a number then: an absent series reads as unknown. */
    const json_t *summary = json_object_get(report, "summary");
    const json_t *scanned = json_object_get(summary, "scanned");
    if (number(json_object_get(summary, "fleet_score"), &v) &&
        !(json_is_integer(scanned) && json_integer_value(scanned) == 0))
        add_sample(&p, F_FLEET_SCORE, &b, v);
    /* Counts by change (the history's summary.changes), when the run had one. */
    static const char *const changes[] = {"new", "persisting", "resolved"};
    const json_t *ch = json_object_get(json_object_get(report, "summary"), "changes");
    for (size_t c = 0; json_is_object(ch) && c < 3; c++) {
        if (!number(json_object_get(ch, changes[c]), &v))
            continue;
        add_label(&b, "change", changes[c], strlen(changes[c]));
        add_sample(&p, F_CHANGES, &b, v);
    }
    int64_t t;
    if (nm_utc_parse(str(report, "finished_at"), &t) == 0 ||
        nm_utc_parse(str(report, "started_at"), &t) == 0)
        add_sample(&p, F_LAST_RUN, &b, (double)t);

    struct nm_buf out;
    nm_buf_init(&out, SIZE_MAX);
    for (int k = 0; k < F_COUNT; k++) {
        struct family *f = &p.f[k];
        if (f->n == 0)
            continue;
        nm_buf_appendf(&out, "# HELP %s ", f->name);
        help_escaped(&out, f->help);
        nm_buf_appendf(&out, "\n# TYPE %s gauge\n", f->name);
        /* The text no longer grows: offsets become addresses. */
        for (size_t j = 0; j < f->n; j++)
            f->s[j].at = f->text.data + f->s[j].off;
        if (f->n > 1)
            qsort(f->s, f->n, sizeof *f->s, cmp_sample);
        for (size_t j = 0; j < f->n; j++) {
            if (j > 0 && strcmp(f->s[j].at, f->s[j - 1].at) == 0)
                continue;
            nm_buf_appendf(&out, "%s%s %s\n", f->name, f->s[j].at, sample_value(&f->s[j]));
            /* Streamed: a family's lines go out as they are made. */
            if (to && out.len >= 1 << 16) {
                fwrite(out.data, 1, out.len, to);
                nm_buf_reset(&out);
            }
        }
        if (to) {
            if (out.len)
                fwrite(out.data, 1, out.len, to);
            nm_buf_finish(&out);
            nm_buf_init(&out, SIZE_MAX);
            free_family(f);
        }
    }
    free_families(&p);
    nm_buf_finish(&b);
    if (to) {
        nm_buf_finish(&out);
        if (ferror(to))
            return nm_diag_set(d, NM_ERR_IO, "cannot write the Prometheus file: %s",
                               strerror(errno));
        return 0;
    }
    size_t len = 0;
    char *data = nm_buf_steal(&out, &len);
    if (!data)
        data = nm_xstrdup("");
    *ret_data = data;
    *ret_len = len;
    return 0;
}
