/*
 * Hosts kept on disk during a run: a host reads back as the value put (NULs,
 * reals, key order), the scratch file lives in the report directory (0600,
 * staging name) only while the spool does, a host that cannot be written
 * leaves the spool as it was, and the JSON report written host by host (from
 * the report's array or from the spool) is byte for byte jansson's dump of
 * the whole tree.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nearmiss/hostiter.h"
#include "nearmiss/outdir.h"
#include "nearmiss/report.h"
#include "nearmiss/spool.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"
#include "test.h"

static char *read_all(const char *dir, const char *name, size_t *ret_len)
{
    char *p = nm_xasprintf("%s/%s", dir, name), *data = NULL;
    size_t len = 0;
    if (nm_read_file(p, 64u << 20, &data, &len, NULL) < 0)
        data = NULL;
    free(p);
    *ret_len = len;
    return data;
}

/* Names in dir that contain `part`, and the mode of the last one. */
static size_t count_named(const char *dir, const char *part, int *ret_mode)
{
    DIR *dh = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; dh && (e = readdir(dh));) {
        if (!strstr(e->d_name, part))
            continue;
        n++;
        char *p = nm_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (ret_mode && stat(p, &st) == 0)
            *ret_mode = (int)(st.st_mode & 07777);
        free(p);
    }
    if (dh)
        closedir(dh);
    return n;
}

static void rm_dir(const char *dir)
{
    DIR *dh = opendir(dir);
    for (struct dirent *e; dh && (e = readdir(dh));) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            char *p = nm_xasprintf("%s/%s", dir, e->d_name);
            unlink(p);
            free(p);
        }
    }
    if (dh)
        closedir(dh);
    rmdir(dir);
}

/* A report directory dir (opened into od) holding a spool of n hosts with
 * budget bytes of memory; NULL (the failure counted) when either fails. */
static struct nm_spool *open_spool(const char *dir, struct nm_outdir *od, size_t n, size_t budget)
{
    nm_diag d = {{0}};
    nm_outdir_init(od);
    struct nm_spool *sp = NULL;
    CHECK(nm_outdir_open(od, dir, NM_OUTDIR_FILE_MODE, &d) == 0);
    CHECK(nm_spool_create(od, n, &sp, &d) == 0);
    if (sp)
        nm_spool_set_memory(sp, budget);
    return sp;
}

static void close_dir(char *dir, struct nm_outdir *od)
{
    nm_outdir_finish(od);
    rm_dir(dir);
    free(dir);
}

static json_t *odd_host(int i)
{
    /* A NUL inside a string, reals that print differently at 15 and 17
     * digits, a large integer, non-ASCII text, keys out of sorted order. */
    return json_pack("{s:s, s:s%, s:f, s:f, s:I, s:s, s:[{s:s, s:n}], s:{}}", "name",
                     i % 2 ? "zeta" : "alpha", "error", "a\0b", (size_t)3, "score", 37.8 + i,
                     "ratio", 0.1 + 0.2, "big", (json_int_t)9007199254740993LL, "os", "Débian ✓",
                     "findings", "severity", "low", "waived", "metrics");
}

static void test_round_trip(const char *root, size_t budget)
{
    char *dir = nm_xasprintf("%s/rt-%zu", root, budget);
    struct nm_outdir od;
    nm_diag d = {{0}};
    struct nm_spool *sp = open_spool(dir, &od, 4, budget);
    if (!sp)
        goto out;
    int mode = -1;
    CHECK_INT(count_named(dir, NM_SPOOL_NAME, &mode), 1);
    CHECK_INT(mode, 0600);
    CHECK(!nm_spool_has(sp, 0));
    json_t *got = NULL;
    CHECK(nm_spool_get(sp, 0, &got, &d) == NM_ERR_NOTFOUND);
    for (int i = 0; i < 3; i++) {
        json_t *h = odd_host(i);
        CHECK(nm_spool_put(sp, (size_t)i, h, &d) == 0);
        json_decref(h);
    }
    CHECK(nm_spool_put(sp, 4, json_null(), &d) == NM_ERR_INVAL);
    /* Put again: the new version wins. */
    json_t *h1 = odd_host(1);
    json_object_set_new(h1, "status", json_string("ok"));
    CHECK(nm_spool_put(sp, 1, h1, &d) == 0);
    for (int i = 0; i < 3; i++) {
        got = NULL;
        CHECK(nm_spool_get(sp, (size_t)i, &got, &d) == 0);
        json_t *want = i == 1 ? json_incref(h1) : odd_host(i);
        int fl = JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
        char *a = got ? json_dumps(got, fl) : NULL, *b = json_dumps(want, fl);
        CHECK(a && b && strcmp(a, b) == 0);
        CHECK(got && json_equal(got, want));
        CHECK_INT(json_string_length(json_object_get(got, "error")), 3);
        free(a);
        free(b);
        json_decref(got);
        json_decref(want);
    }
    json_decref(h1);
    nm_spool_destroy(sp);
    CHECK_INT(count_named(dir, NM_SPOOL_NAME, NULL), 0);
out:
    close_dir(dir, &od);
}

/* A file size limit stands in for a full disk: the write fails part way. */
static void test_write_fails(const char *root)
{
    char *dir = nm_xasprintf("%s/full", root);
    struct nm_outdir od;
    nm_diag d = {{0}};
    struct nm_spool *sp = open_spool(dir, &od, 3, 0); /* the file is what fails here */
    if (!sp)
        goto out;
    json_t *small = odd_host(0);
    CHECK(nm_spool_put(sp, 0, small, &d) == 0);
    CHECK(nm_spool_put(sp, 1, small, &d) == 0);

    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    json_t *big = odd_host(1);
    char *filler = nm_xmalloc(20000);
    memset(filler, 'x', 19999);
    filler[19999] = '\0';
    json_object_set_new(big, "evidence", json_string(filler));
    free(filler);
    d.msg[0] = '\0';
    CHECK(nm_spool_put(sp, 1, big, &d) == NM_ERR_IO);
    CHECK(strstr(d.msg, "cannot write a host") != NULL);
    CHECK(nm_spool_put(sp, 2, big, &d) == NM_ERR_IO);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_DFL);

    /* Host 1 is the one put before; host 2 was never put. */
    json_t *got = NULL;
    CHECK(nm_spool_get(sp, 1, &got, &d) == 0);
    CHECK(got && json_equal(got, small));
    json_decref(got);
    CHECK(!nm_spool_has(sp, 2));
    /* What did not fit did not move the end: the next host reads back whole. */
    CHECK(nm_spool_put(sp, 2, small, &d) == 0);
    got = NULL;
    CHECK(nm_spool_get(sp, 2, &got, &d) == 0);
    CHECK(got && json_equal(got, small));
    json_decref(got);
    json_decref(big);
    json_decref(small);
    nm_spool_destroy(sp);
out:
    close_dir(dir, &od);
}

static char *dump_whole(const json_t *report)
{
    char *t = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    char *r = nm_xasprintf("%s\n", t);
    free(t);
    return r;
}

/* Stages report (hosts from the array, or from a spool when spooled) in a
 * fresh directory and compares every JSON file with the whole dump. */
static void check_streamed(const char *root, const char *label, const json_t *report, bool spooled)
{
    char *dir = nm_xasprintf("%s/stream-%s-%d", root, label, spooled);
    struct nm_outdir od;
    nm_outdir_init(&od);
    nm_diag d = {{0}};
    char *name = NULL;
    struct nm_spool *sp = NULL;
    CHECK(nm_outdir_open(&od, dir, NM_OUTDIR_FILE_MODE, &d) == 0);
    int r;
    if (spooled) {
        const json_t *hosts = json_object_get(report, "hosts");
        CHECK(nm_spool_create(&od, json_array_size(hosts), &sp, &d) == 0);
        if (sp)
            nm_spool_set_memory(sp, 0); /* every host read back from the file */
        size_t i;
        const json_t *h;
        json_array_foreach (hosts, i, h)
            CHECK(nm_spool_put(sp, i, h, &d) == 0);
        /* Only the key's place is taken from the report itself. */
        json_t *bare = json_copy((json_t *)report);
        json_object_set_new(bare, "hosts", json_array());
        struct nm_host_iter it;
        struct nm_host_iter_spool_state st;
        nm_host_iter_spool(&it, &st, sp);
        r = nm_report_stage_hosts(bare, &it, &od, NM_FORMAT_JSON | NM_FORMAT_PROM | NM_FORMAT_JUNIT,
                                  &name, &d);
        nm_host_iter_spool_finish(&st);
        json_decref(bare);
    } else {
        r = nm_report_stage(report, &od, NM_FORMAT_JSON | NM_FORMAT_PROM | NM_FORMAT_JUNIT, &name,
                            &d);
    }
    CHECK(r == 0);
    if (r < 0)
        fprintf(stderr, "%s: %s\n", label, d.msg);
    CHECK(nm_outdir_publish(&od, &d) == 0);
    nm_spool_destroy(sp);
    char *want = dump_whole(report);
    size_t len = 0, plen = 0;
    char *got = read_all(dir, NM_REPORT_LATEST_NAME, &len);
    CHECK(got && len == strlen(want) && memcmp(got, want, len) == 0);
    if (!(got && len == strlen(want) && memcmp(got, want, len) == 0))
        fprintf(stderr, "%s (spooled %d): streamed JSON differs\n", label, spooled);
    free(got);
    got = name ? read_all(dir, name, &len) : NULL;
    CHECK(got && len == strlen(want) && memcmp(got, want, len) == 0);
    free(got);
    /* The Prometheus file from the iterator is the in-memory rendering. */
    char *prom = NULL;
    CHECK(nm_report_render_prom(report, &prom, &plen, &d) == 0);
    got = read_all(dir, NM_REPORT_PROM_NAME, &len);
    CHECK(got && prom && len == plen && memcmp(got, prom, len) == 0);
    free(got);
    free(prom);
    /* And JUnit, written suite by suite, is the document built whole. */
    char *junit = NULL;
    CHECK(nm_report_render_junit(report, &junit, &plen, &d) == 0);
    got = read_all(dir, NM_REPORT_JUNIT_NAME, &len);
    CHECK(got && junit && len == plen && memcmp(got, junit, len) == 0);
    if (!(got && junit && len == plen && memcmp(got, junit, len) == 0))
        fprintf(stderr, "%s (spooled %d): streamed JUnit differs\n", label, spooled);
    free(got);
    free(junit);
    free(want);
    free(name);
    nm_outdir_finish(&od);
    CHECK_INT(count_named(dir, NM_SPOOL_NAME, NULL), 0);
    rm_dir(dir);
    free(dir);
}

static void test_streamed_json(const char *root)
{
    static const char *const reports[] = {"empty", "fleet-full", "fleet-test", "hostile-sanitised"};
    for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++) {
        char *path = nm_xasprintf("data/reports/%s.json", reports[i]);
        char *data = NULL;
        size_t len = 0;
        json_t *report = NULL;
        nm_diag d = {{0}};
        CHECK(nm_read_file(path, 64u << 20, &data, &len, &d) == 0);
        CHECK(data && nm_report_parse(data, len, path, &report, &d) == 0);
        if (report) {
            check_streamed(root, reports[i], report, false);
            check_streamed(root, reports[i], report, true);
        }
        json_decref(report);
        free(data);
        free(path);
    }
    /* Shapes the stored reports may lack: no hosts, hosts not the first
     * array, odd strings inside hosts. */
    json_t *r = json_pack("{s:s, s:{}, s:[], s:[]}", "schema", NM_REPORT_SCHEMA, "summary", "hosts",
                          "fleet_findings");
    check_streamed(root, "no-hosts", r, false);
    check_streamed(root, "no-hosts", r, true);
    for (int i = 0; i < 3; i++)
        json_array_append_new(json_object_get(r, "hosts"), odd_host(i));
    json_object_set_new(r, "resolved", json_pack("[{s:s}]", "host", "a\nb"));
    check_streamed(root, "odd", r, false);
    check_streamed(root, "odd", r, true);
    json_decref(r);
}

/* Bytes of the spool's file (its staging name), -1 when there is none. */
static long long spool_file_size(const char *dir)
{
    DIR *dh = opendir(dir);
    long long size = -1;
    struct dirent *e;
    while (dh && (e = readdir(dh))) {
        if (!strstr(e->d_name, NM_SPOOL_NAME))
            continue;
        char *p = nm_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0)
            size = (long long)st.st_size;
        free(p);
    }
    if (dh)
        closedir(dh);
    return size;
}

/* Hosts stay in memory while they fit the budget and go to the file past
 * it; a host that grows past it on its way back moves to the file. */
static void test_memory_budget(const char *root)
{
    char *dir = nm_xasprintf("%s/budget", root);
    struct nm_outdir od;
    nm_diag d = {{0}};
    /* Room for a few small hosts (each a few hundred bytes). */
    struct nm_spool *sp = open_spool(dir, &od, 6, 2000);
    if (!sp)
        goto out;
    json_t *hosts[6];
    for (int i = 0; i < 6; i++) {
        hosts[i] = odd_host(i);
        CHECK(nm_spool_put(sp, (size_t)i, hosts[i], &d) == 0);
    }
    size_t kept = nm_spool_in_memory(sp);
    CHECK(kept >= 1 && kept < 6);
    long long before = spool_file_size(dir);
    CHECK(before > 0);

    /* Host 0 (in memory) comes back as the very host put; grown past the
     * budget it goes to the file, which grows. */
    json_t *got = NULL;
    CHECK(nm_spool_get(sp, 0, &got, &d) == 0);
    CHECK(got == hosts[0]);
    char *filler = nm_xmalloc(5000);
    memset(filler, 'y', 4999);
    filler[4999] = '\0';
    json_object_set_new(got, "evidence", json_string(filler));
    free(filler);
    CHECK(nm_spool_put(sp, 0, got, &d) == 0);
    json_decref(got);
    CHECK(spool_file_size(dir) > before + 4999);
    CHECK_INT(nm_spool_in_memory(sp), kept - 1);
    got = NULL;
    CHECK(nm_spool_get(sp, 0, &got, &d) == 0);
    CHECK(got && got != hosts[0] && json_equal(got, hosts[0]));
    json_decref(got);

    /* Every host reads back equal, from wherever it is. */
    for (int i = 1; i < 6; i++) {
        got = NULL;
        CHECK(nm_spool_get(sp, (size_t)i, &got, &d) == 0);
        CHECK(got && json_equal(got, hosts[i]));
        json_decref(got);
    }
    /* Budget 0: nothing in memory, every put goes to the file. */
    nm_spool_set_memory(sp, 0);
    json_t *h5 = odd_host(5);
    CHECK(nm_spool_put(sp, 5, h5, &d) == 0);
    got = NULL;
    CHECK(nm_spool_get(sp, 5, &got, &d) == 0);
    CHECK(got && got != h5 && json_equal(got, h5));
    json_decref(got);
    json_decref(h5);
    for (int i = 0; i < 6; i++)
        json_decref(hosts[i]);
    nm_spool_destroy(sp); /* frees the hosts still in memory (valgrind, ASan) */
    CHECK_INT(count_named(dir, NM_SPOOL_NAME, NULL), 0);
out:
    close_dir(dir, &od);
}

int main(void)
{
    char root[] = "/tmp/nm-spool-XXXXXX";
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip(root, 0);
    test_round_trip(root, NM_SPOOL_MEMORY_DEFAULT);
    test_write_fails(root);
    test_memory_budget(root);
    test_streamed_json(root);
    rm_dir(root);
    return test_result();
}
