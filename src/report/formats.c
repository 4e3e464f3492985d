/*
 * The output formats by name (what `--format` accepts) and the writer that
 * puts each under its standard name in a report directory.  Shared by
 * `nearmiss scan` (the run's write step) and `nearmiss report`; both publish
 * through the report directory (nearmiss/outdir.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nearmiss/hostiter.h"
#include "nearmiss/outdir.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"

const struct nm_report_format_info nm_report_formats[] = {
    {"html", NM_FORMAT_HTML, NM_REPORT_HTML_NAME, ".html", nm_report_render_html,
     nm_report_html_stream},
    {"junit", NM_FORMAT_JUNIT, NM_REPORT_JUNIT_NAME, ".junit.xml", nm_report_render_junit,
     nm_report_junit_stream},
    {"prom", NM_FORMAT_PROM, NM_REPORT_PROM_NAME, ".prom", nm_report_render_prom,
     nm_report_prom_stream},
};
const size_t nm_report_n_formats = sizeof nm_report_formats / sizeof nm_report_formats[0];

int nm_report_formats_parse(const char *list, unsigned *ret_formats, nm_diag *d)
{
    unsigned set = 0;
    const char *p = list ? list : "";
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        bool found = len == 0;
        if (len == 4 && memcmp(p, "json", 4) == 0) {
            set |= NM_FORMAT_JSON;
            found = true;
        }
        for (size_t i = 0; !found && i < nm_report_n_formats; i++) {
            const struct nm_report_format_info *f = &nm_report_formats[i];
            if (strlen(f->name) == len && memcmp(p, f->name, len) == 0) {
                set |= f->bit;
                found = true;
            }
        }
        if (!found)
            return nm_diag_set(d, NM_ERR_INVAL,
                               "\"%.*s\" is not a format (json, html, junit, prom)",
                               (int)(len > 64 ? 64 : len), p);
        p += len;
        if (*p == ',')
            p++;
    }
    *ret_formats = set;
    return 0;
}

int nm_report_write_formats(const json_t *report, const char *out_dir, unsigned fmts, nm_diag *d)
{
    struct nm_host_iter it;
    struct nm_host_iter_array_state st;
    nm_host_iter_array(&it, &st, report);
    return nm_report_write_formats_hosts(report, &it, out_dir, fmts, d);
}

int nm_report_write_formats_hosts(const json_t *report, const struct nm_host_iter *it,
                                  const char *out_dir, unsigned fmts, nm_diag *d)
{
    if (!(fmts & (NM_FORMAT_HTML | NM_FORMAT_JUNIT | NM_FORMAT_PROM)))
        return 0;
    struct nm_outdir od;
    nm_outdir_init(&od);
    int r = nm_outdir_open(&od, out_dir, NM_OUTDIR_FILE_MODE, d);
    if (r == 0)
        r = nm_report_stage_formats_hosts(report, it, &od, fmts, d);
    if (r == 0)
        r = nm_outdir_publish(&od, d);
    nm_outdir_finish(&od);
    return r;
}

/* Written straight to its staged file, never whole in memory. */
static int stage_stream(nm_report_streamer write, const json_t *report,
                        const struct nm_host_iter *it, struct nm_outdir *od, const char *name,
                        nm_diag *d)
{
    int fd = nm_outdir_stage_open(od, name, d);
    if (fd < 0)
        return fd;
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    FILE *f = dup_fd >= 0 ? fdopen(dup_fd, "w") : NULL;
    if (!f) {
        int r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, name, strerror(errno));
        if (dup_fd >= 0)
            close(dup_fd);
        close(fd);
        return r;
    }
    errno = 0;
    int r = write(report, it, f, d);
    if (r == 0 && fflush(f) != 0)
        r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, name, strerror(errno ? errno : EIO));
    else if (r < 0 && ferror(f)) {
        /* The writer saw its output fail (a full disk): name the file and
         * the reason, as a failed write of a buffer does. */
        int e = errno ? errno : EIO;
        r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, name, strerror(e));
    }
    if (fclose(f) != 0 && r == 0)
        r = nm_diag_set(d, NM_ERR_IO, "%s/%s: %s", od->path, name, strerror(errno));
    if (r < 0) {
        close(fd);
        return r;
    }
    return nm_outdir_stage_close(od, fd, name, d);
}

int nm_report_stage_formats_hosts(const json_t *report, const struct nm_host_iter *it,
                                  struct nm_outdir *od, unsigned fmts, nm_diag *d)
{
    for (size_t i = 0; i < nm_report_n_formats; i++) {
        const struct nm_report_format_info *f = &nm_report_formats[i];
        if (!(fmts & f->bit))
            continue;
        /* Every writer takes its hosts from the iterator, one at a time:
         * nothing here holds the fleet whole. */
        int r = stage_stream(f->stream, report, it, od, f->file, d);
        if (r < 0)
            return r;
    }
    return 0;
}
