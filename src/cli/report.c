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
#include "nearmiss/reportread.h"
#include "nearmiss/spool.h"
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

/*
 * The report and its hosts, read host by host (each writer's pass reads
 * the hosts from the file again, past the first ones that fit in
 * NEARMISS_SPOOL_MEMORY: nearmiss/reportread.h), so that rendering a
 * 10 000-host report does not hold them all; standard input is read the
 * same way, through a temporary file.
 */
struct input {
    json_t *report;
    struct nm_host_iter it;
    struct nm_report_file_iter *file;
};

static int load_report(const char *path, struct input *in)
{
    nm_diag d = {{0}};
    size_t memory = 0;
    if (nm_spool_memory_env(&memory, &d) < 0) {
        nm_cli_error("%s", d.msg);
        return -1;
    }
    bool in_stdin = strcmp(path, "-") == 0;
    const char *name = in_stdin ? "standard input" : path;
    int r;
    if (in_stdin) {
        r = nm_report_iter_open_stream(STDIN_FILENO, name, REPORT_INPUT_CAP, memory, &in->report,
                                       &in->it, &in->file, &d);
    } else {
        r = nm_report_iter_open(path, REPORT_INPUT_CAP, memory, &in->report, &in->it, &in->file,
                                &d);
    }
    if (r < 0 || nm_report_check(in->report, name, &d) < 0) {
        nm_cli_error("%s", d.msg);
        return -1;
    }
    return 0;
}

static void input_finish(struct input *in)
{
    nm_report_iter_close(in->file);
    json_decref(in->report);
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

static int write_stdout(const struct input *in, size_t fi)
{
    nm_diag d = {{0}};
    errno = 0;
    int r = nm_report_formats[fi].stream(in->report, &in->it, stdout, &d);
    if (r == 0 && fflush(stdout) != 0)
        r = nm_diag_set(&d, NM_ERR_IO, "standard output: %s", strerror(errno));
    else if (r < 0 && ferror(stdout))
        nm_diag_set(&d, NM_ERR_IO, "standard output: %s", strerror(errno ? errno : EIO));
    if (r < 0)
        nm_cli_error("%s", d.msg);
    return r;
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
    struct input in = {0};
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
    if (load_report(input, &in) < 0)
        goto out;

    if (out && strcmp(out, "-") == 0) {
        if (write_stdout(&in, only) < 0)
            goto out;
        rc = 0;
        goto out;
    }
    size_t outlen = out ? strlen(out) : 0;
    bool dir_mode = out && (nm_cli_is_dir(out) || out[outlen - 1] == '/' || n_fmts > 1);
    if (dir_mode) {
        if (nm_report_write_formats_hosts(in.report, &in.it, out, fmts, &d) < 0) {
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
        if (nm_report_write_stream(nm_report_formats[i].stream, in.report, &in.it, path, &d) < 0) {
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
    input_finish(&in);
    return rc;
}
