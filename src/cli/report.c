/*
 * `nearmiss report`: renders a stored JSON report again (HTML, JUnit XML,
 * Prometheus textfile) without scanning anything, so any past run can be
 * looked at with the current renderer.  The formats themselves are the
 * report stage's (src/report/formats.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.h"
#include "nearmiss/cli.h"
#include "nearmiss/report.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"

#define REPORT_INPUT_CAP ((size_t)2 << 30) /* a 2 000-host report is ~30 MiB */

static const char report_usage[] =
    "Usage: nearmiss report REPORT.json [-o OUT] [-f LIST]\n"
    "\n"
    "Renders a stored JSON report (OUT/latest.json or any OUT/nearmiss-<time>.json of\n"
    "`nearmiss scan`) again as HTML, JUnit XML or a Prometheus textfile, without\n"
    "scanning anything. REPORT.json may be - for standard input.\n"
    "\n"
    "  -f, --format LIST  html, junit, prom, comma-separated (default: html)\n"
    "  -o, --out OUT      where to write:\n"
    "                       a directory (existing, or ending in /, or with several\n"
    "                       formats): report.html, junit.xml, nearmiss.prom inside it,\n"
    "                       the names `nearmiss scan --format` uses;\n"
    "                       a file name, with one format;\n"
    "                       -, with one format: standard output.\n"
    "                     Default: beside REPORT.json; for a scan's latest.json the\n"
    "                     names scan writes (report.html, junit.xml, nearmiss.prom),\n"
    "                     for any other file named after it (run.json -> run.html,\n"
    "                     run.junit.xml, run.prom).\n"
    "  -q, --quiet        do not print the paths written\n"
    "  -h, --help         this text\n"
    "\n"
    "Files are written atomically (a reader never sees half a file). The HTML is one\n"
    "self-contained page (no network access) that works from file:// and as an e-mail\n"
    "attachment; the Prometheus file is for node_exporter's textfile collector.\n"
    "\n"
    "Exit status: 0 written; 1 usage error, unreadable or invalid report, or a write\n"
    "failed (files already written stay).\n";

static int read_stdin(char **ret, size_t *ret_len)
{
    struct nm_buf b;
    char chunk[65536];
    nm_buf_init(&b, REPORT_INPUT_CAP);
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            nm_cli_error("standard input: %s", strerror(errno));
            nm_buf_finish(&b);
            return -1;
        }
        if (n == 0)
            break;
        if (nm_buf_append(&b, chunk, (size_t)n) < 0) {
            nm_cli_error("standard input: larger than %zu bytes", REPORT_INPUT_CAP);
            nm_buf_finish(&b);
            return -1;
        }
    }
    *ret = nm_buf_steal(&b, ret_len);
    return 0;
}

static json_t *load_report(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    nm_diag d = {{0}};
    if (strcmp(path, "-") == 0) {
        if (read_stdin(&data, &len) < 0)
            return NULL;
    } else if (nm_read_file(path, REPORT_INPUT_CAP, &data, &len, &d) < 0) {
        nm_cli_error("%s", d.msg);
        return NULL;
    }
    const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
    json_t *report = NULL;
    int r = nm_report_parse(data, len, name, &report, &d);
    free(data);
    if (r < 0) {
        nm_cli_error("%s", d.msg);
        return NULL;
    }
    return report;
}

/* "dir/run.json" -> "dir/run"; "-" has no stem. */
static char *input_stem(const char *path)
{
    size_t len = strlen(path);
    if (len > 5 && strcmp(path + len - 5, ".json") == 0)
        len -= 5;
    return nm_xstrndup(path, len);
}

/* Where a format goes without -o.  Beside a scan's latest.json, the names
 * scan itself writes (report.html, junit.xml, nearmiss.prom): one name for
 * the current report, whichever command rendered it.  Beside any other
 * file (an older nearmiss-<time>.json), named after it, so that rendering
 * an old run never replaces the current report. */
static char *default_path(const char *input, const char *stem, size_t fi)
{
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    if (strcmp(base, "latest.json") == 0)
        return nm_xasprintf("%.*s%s", (int)(base - input), input, nm_report_formats[fi].file);
    return nm_xasprintf("%s%s", stem, nm_report_formats[fi].suffix);
}

static int write_stdout(const json_t *report, size_t fi)
{
    char *data = NULL;
    size_t len = 0;
    nm_diag d = {{0}};
    if (nm_report_formats[fi].render(report, &data, &len, &d) < 0) {
        nm_cli_error("%s", d.msg);
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(STDOUT_FILENO, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            nm_cli_error("standard output: %s", strerror(errno));
            free(data);
            return -1;
        }
        off += (size_t)w;
    }
    free(data);
    return 0;
}

int nm_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *format_list = "html";
    bool quiet = false;
    int c, rc = 1;
    unsigned fmts = 0;
    json_t *report = NULL;
    char *stem = NULL;
    nm_diag d = {{0}};

    nm_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "f:o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            format_list = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(report_usage, stdout);
            return 0;
        default:
            fputs("Try 'nearmiss report --help'.\n", stderr);
            return 1;
        }
    }
    if (optind >= argc) {
        nm_cli_error("no report given. Try 'nearmiss report --help'.");
        return 1;
    }
    if (argc - optind > 1) {
        nm_cli_error("one report at a time (unexpected \"%s\")", argv[optind + 1]);
        return 1;
    }
    const char *input = argv[optind];
    if (nm_report_formats_parse(format_list, &fmts, &d) < 0) {
        nm_cli_error("--format: %s", d.msg);
        return 1;
    }
    if (fmts & NM_FORMAT_JSON) {
        nm_cli_error("--format: the input is the JSON report already (html, junit, prom)");
        return 1;
    }
    if (fmts == 0) {
        nm_cli_error("--format: no format given (html, junit, prom)");
        return 1;
    }
    size_t n_fmts = 0, only = 0;
    for (size_t i = 0; i < nm_report_n_formats; i++)
        if (fmts & nm_report_formats[i].bit)
            n_fmts++, only = i;
    if (!out && strcmp(input, "-") == 0) {
        nm_cli_error("reading standard input: say where to write with -o");
        return 1;
    }
    if (out && strcmp(out, "-") == 0 && n_fmts > 1) {
        nm_cli_error("-o -: standard output takes one format at a time");
        return 1;
    }
    /* Everything is checked before the (possibly large) report is read. */
    report = load_report(input);
    if (!report)
        goto out;

    if (out && strcmp(out, "-") == 0) {
        if (write_stdout(report, only) < 0)
            goto out;
        rc = 0;
        goto out;
    }
    size_t outlen = out ? strlen(out) : 0;
    bool dir_mode = out && (nm_cli_is_dir(out) || out[outlen - 1] == '/' || n_fmts > 1);
    if (dir_mode) {
        if (nm_report_write_formats(report, out, fmts, &d) < 0) {
            nm_cli_error("%s", d.msg);
            goto out;
        }
        for (size_t i = 0; !quiet && i < nm_report_n_formats; i++)
            if (fmts & nm_report_formats[i].bit)
                printf("%s%s%s\n", out, out[outlen - 1] == '/' ? "" : "/",
                       nm_report_formats[i].file);
        rc = 0;
        goto out;
    }
    stem = input_stem(input);
    for (size_t i = 0; i < nm_report_n_formats; i++) {
        if (!(fmts & nm_report_formats[i].bit))
            continue;
        char *path = out ? nm_xstrdup(out) : default_path(input, stem, i);
        char *slash = strrchr(path, '/');
        if (slash && slash != path) {
            *slash = '\0';
            int r = nm_mkdir_p(path, 0700, &d);
            *slash = '/';
            if (r < 0) {
                nm_cli_error("%s", d.msg);
                free(path);
                goto out;
            }
        }
        if (nm_report_write_rendered(nm_report_formats[i].render, report, path, &d) < 0) {
            nm_cli_error("%s", d.msg);
            free(path);
            goto out;
        }
        if (!quiet)
            printf("%s\n", path);
        free(path);
    }
    rc = 0;
out:
    free(stem);
    json_decref(report);
    return rc;
}
