/*
 * Writers rendered from the JSON report: a self-contained HTML page, JUnit
 * XML for CI systems, and a Prometheus textfile for node_exporter.  The JSON
 * report is the only input, so `nearmiss report` can re-render any stored
 * run exactly as `nearmiss scan --format` renders a fresh one.
 *
 * Every string in a report is treated as hostile (host names, outputs,
 * certificate names): HTML and XML are built with libxml2's tree API so the
 * serialiser escapes them, and every string is first made valid UTF-8 without
 * NUL or control characters (U+FFFD stands in for what was removed).
 *
 * jansson ownership: report is borrowed and never modified.
 * nm_report_render_* return malloc'd buffers (free()) through ret_ parameters,
 * written only on success; nm_report_write_* write the file atomically
 * (temporary file, fsync, rename: nm_write_atomic, or for HTML the page
 * streamed into the temporary), mode 0600 (reports list the fleet's
 * weaknesses; README "Reports").
 */
#ifndef NEARMISS_WRITERS_H
#define NEARMISS_WRITERS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nearmiss/error.h"
#include "nearmiss/hostiter.h"

/* Output formats, as a bit set; names as in --format. */
enum nm_report_format {
    NM_FORMAT_JSON = 1u << 0,
    NM_FORMAT_HTML = 1u << 1,
    NM_FORMAT_JUNIT = 1u << 2,
    NM_FORMAT_PROM = 1u << 3,
};

/* File names used inside a report directory. */
#define NM_REPORT_HTML_NAME  "report.html"
#define NM_REPORT_JUNIT_NAME "junit.xml"
#define NM_REPORT_PROM_NAME  "nearmiss.prom"

/* "json,html,junit,prom" (any subset, any order, repeats allowed; empty items
 * ignored) to a bit set.  NM_ERR_INVAL names the unknown item in d. */
int nm_report_formats_parse(const char *list, unsigned *ret_formats, nm_diag *d);

/* The HTML report written to out as it is made: the hosts come only from
 * hosts (report["hosts"] is not read and may be absent), in two passes: the
 * first keeps a compact summary of each host (for "fix first", the worst
 * hosts, the counts), the second writes each host's data as it comes.  The
 * page holds the summary sections as HTML, every host's details as data
 * the page's script shows on demand, and the riskiest hosts as static HTML
 * for readers without JavaScript (docs/report.md).  Errors from the
 * iterator are passed on; NM_ERR_IO when out fails.  out may hold a partial
 * page after an error: write to a temporary (nearmiss/outdir.h). */
int nm_report_html_stream(const json_t *report, const struct nm_host_iter *hosts, FILE *out,
                          nm_diag *d);

/* Renders into memory; *ret_data is NUL-terminated (not counted in *ret_len). */
int nm_report_render_html(const json_t *report, char **ret_data, size_t *ret_len, nm_diag *d);
int nm_report_render_junit(const json_t *report, char **ret_data, size_t *ret_len, nm_diag *d);
int nm_report_render_prom(const json_t *report, char **ret_data, size_t *ret_len, nm_diag *d);

/* The same, with the hosts taken from it (rewound first) and report's own
 * "hosts" ignored: what a run whose hosts are kept on disk renders. */
struct nm_host_iter;
int nm_report_render_junit_hosts(const json_t *report, const struct nm_host_iter *it,
                                 char **ret_data, size_t *ret_len, nm_diag *d);
int nm_report_render_prom_hosts(const json_t *report, const struct nm_host_iter *it,
                                char **ret_data, size_t *ret_len, nm_diag *d);

/* The JUnit document written to f suite by suite: two passes over it (the
 * totals first, which the root carries), never more than one host's suite
 * in memory; the bytes nm_report_render_junit() gives. */
int nm_report_junit_stream(const json_t *report, const struct nm_host_iter *it, FILE *f,
                           nm_diag *d);

/* The Prometheus file written to f family by family, each family's samples
 * freed once written; the bytes nm_report_render_prom() gives. */
int nm_report_prom_stream(const json_t *report, const struct nm_host_iter *it, FILE *f, nm_diag *d);

/* A renderer into memory, as the three above. */
typedef int (*nm_report_renderer)(const json_t *report, char **ret_data, size_t *ret_len,
                                  nm_diag *d);

/* A writer that streams to f, the hosts from it (report's own "hosts"
 * ignored): nm_report_html_stream and the two above.  write_stream runs
 * one into a temporary beside path, then fsyncs it (mode 0600) and renames
 * it over path; nothing is left behind on failure. */
typedef int (*nm_report_streamer)(const json_t *report, const struct nm_host_iter *it, FILE *f,
                                  nm_diag *d);
int nm_report_write_stream(nm_report_streamer stream, const json_t *report,
                           const struct nm_host_iter *it, const char *path, nm_diag *d);

/* One rendered format: its --format name, its bit, its file name inside a
 * report directory, the suffix `nearmiss report` appends to a stored report's
 * stem (latest.json -> latest.html), its renderer and its streaming writer. */
struct nm_report_format_info {
    const char *name;
    unsigned bit;
    const char *file;
    const char *suffix;
    nm_report_renderer render;
    nm_report_streamer stream;
};
/* The formats other than JSON, in the order they are written. */
extern const struct nm_report_format_info nm_report_formats[];
extern const size_t nm_report_n_formats;

/* Writes the formats other than JSON into out_dir (created 0700 if missing,
 * locked while writing) under the NM_REPORT_*_NAME names, all or none: what
 * `nearmiss report -o DIR` does.  Stops at the first failure, naming the
 * file in d, and leaves the previous files as they were. */
int nm_report_write_formats(const json_t *report, const char *out_dir, unsigned formats,
                            nm_diag *d);
/* The same with the hosts taken from it (report's "hosts" ignored). */
int nm_report_write_formats_hosts(const json_t *report, const struct nm_host_iter *it,
                                  const char *out_dir, unsigned formats, nm_diag *d);
/* Renders and stages those formats in an open report directory, published
 * with the rest of the run's files (nearmiss/outdir.h), the hosts taken
 * from it (report's "hosts" ignored): every writer takes one host at a
 * time and writes straight into its staged file, so no format holds the
 * fleet whole. */
struct nm_outdir;
int nm_report_stage_formats_hosts(const json_t *report, const struct nm_host_iter *it,
                                  struct nm_outdir *od, unsigned formats, nm_diag *d);

#endif
