/*
 * bench-html REPORT.json [OUT.html]: what the HTML writer alone costs.  The
 * report is loaded first (that memory belongs to the caller: a scan that
 * keeps its hosts on disk never holds it), then nm_report_html_stream
 * writes the page to OUT.html (default /dev/null) through the array host
 * iterator.  Prints the writer's CPU time, the growth of peak RSS while it
 * ran, and the page's size, as one JSON line for bench/html.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "nearmiss/hostiter.h"
#include "nearmiss/writers.h"

/* kB from a "Name:   123 kB" line of /proc/self/status. */
static long status_kb(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-html REPORT.json [OUT.html]\n");
        return 2;
    }
    json_error_t err;
    json_t *report = json_load_file(argv[1], 0, &err);
    if (!report) {
        fprintf(stderr, "%s: %s\n", argv[1], err.text);
        return 1;
    }
    /* The peak from here on: "5" to clear_refs resets VmHWM (Linux 4.0). */
    FILE *cr = fopen("/proc/self/clear_refs", "w");
    if (cr) {
        fputs("5", cr);
        fclose(cr);
    }
    long rss0 = status_kb("VmRSS");
    FILE *out = fopen(argc > 2 ? argv[2] : "/dev/null", "w");
    long bytes = 0;
    if (!out) {
        perror("open");
        return 1;
    }
    struct nm_host_iter it;
    struct nm_host_iter_array_state st;
    nm_host_iter_array(&it, &st, report);
    nm_diag d = {{0}};
    double c0 = cpu_s();
    /* NM_BENCH_LOAD_ONLY: the same run without the writer, to subtract. */
    int r = getenv("NM_BENCH_LOAD_ONLY") ? 0 : nm_report_html_stream(report, &it, out, &d);
    double c1 = cpu_s();
    fflush(out);
    struct stat sb;
    if (argc > 2 && stat(argv[2], &sb) == 0)
        bytes = (long)sb.st_size;
    fclose(out);
    long hwm1 = status_kb("VmHWM");
    if (r < 0) {
        fprintf(stderr, "html: %s\n", d.msg);
        return 1;
    }
    /* The writer's own peak: the high-water mark above what the loaded
     * report already held. */
    long grown = hwm1 > rss0 ? hwm1 - rss0 : 0;
    printf("{\"hosts\": %zu, \"writer_cpu_s\": %.3f, \"writer_peak_mib_above_report\": %.1f, "
           "\"report_rss_mib\": %.1f, \"page_bytes\": %ld}\n",
           it.n_hosts, c1 - c0, (double)grown / 1024, (double)rss0 / 1024, bytes);
    json_decref(report);
    return 0;
}
