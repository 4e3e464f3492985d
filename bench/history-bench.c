/*
 * bench-history DIR RUNS HOSTS [KEEP_DAYS]: synthesises RUNS nightly runs
 * of a HOSTS-host fleet through the library (open, enrich, diff, prune,
 * commit, as a scan does) and prints the time each history step took in
 * the last runs and the size of the state files.  Each host has 4
 * filesystems, 2 drives and 3 certificates recorded, about 12 findings of
 * which a few patch findings come and go every week.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nearmiss/check.h"
#include "nearmiss/history.h"
#include "nearmiss/inventory.h"
#include "nearmiss/util.h"

static json_t *finding(const char *host, const char *check, const char *cat, const char *sev,
                       const char *subject, json_t *item)
{
    char fp[65];
    nm_finding_fingerprint(check, host, subject, fp);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "check", check, "category", cat,
                     "severity", sev, "subject", subject, "message", subject, "fingerprint", fp,
                     "item", item);
}

static json_t *host_at(int hi, int day)
{
    char name[32], subj[96];
    snprintf(name, sizeof name, "host-%03d", hi);
    json_t *h =
        json_pack("{s:s, s:s, s:[], s:[], s:{}}", "name", name, "status",
                  (day + hi) % 97 == 0 ? "unreachable" : "ok", "findings", "checks", "metrics");
    json_t *f = json_object_get(h, "findings"), *c = json_object_get(h, "checks");
    const char *checks[] = {"disk-space", "smart", "cert-expiry", "patch-apt", "time-sync"};
    for (int i = 0; i < 5; i++)
        json_array_append_new(c, json_pack("{s:s, s:s}", "id", checks[i], "result", "warn"));
    json_t *ds = json_object(), *sm = json_object(), *ce = json_object();
    static const char *const mounts[] = {"/", "/var", "/srv", "/boot"};
    for (int m = 0; m < 4; m++) {
        long size = 50000000, used = 20000000 + (long)((day * (hi + m)) % 300) * 90000;
        json_object_set_new(
            ds, mounts[m],
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "fstype", "ext4", "size_kb",
                      (json_int_t)size, "avail_kb", (json_int_t)(size - used), "use_pct",
                      (json_int_t)(used * 100 / size), "inodes", (json_int_t)3000000, "ifree",
                      (json_int_t)2500000, "iuse_pct", (json_int_t)17));
    }
    for (int d = 0; d < 2; d++) {
        snprintf(subj, sizeof subj, "/dev/sd%c MODEL SER%03d%d", 'a' + d, hi, d);
        json_object_set_new(sm, subj,
                            json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "power_on_hours",
                                      20000 + day * 24, "temperature_c", 30 + day % 7, "ata_5_raw",
                                      hi % 13 == 0 ? day / 60 : 0, "ata_187_raw", 0, "ata_197_raw",
                                      0, "ata_198_raw", 0, "ata_199_raw", 0));
    }
    for (int k = 0; k < 3; k++) {
        snprintf(subj, sizeof subj, "%064d", hi * 10 + k);
        json_object_set_new(
            ce, subj,
            json_pack("{s:I}", "not_after_unix", (json_int_t)(1800000000 + (hi * 3 + k) * 86400)));
    }
    json_object_set_new(json_object_get(h, "metrics"), "disk-space", ds);
    json_object_set_new(json_object_get(h, "metrics"), "smart", sm);
    json_object_set_new(json_object_get(h, "metrics"), "cert-expiry", ce);
    /* Steady findings, and patch findings that appear and go weekly. */
    json_array_append_new(f, finding(name, "time-sync", "spof", "low", "clock", json_object()));
    json_array_append_new(f, finding(name, "disk-space", "disk", "medium", "/var",
                                     json_pack("{s:i, s:i}", "use_pct", 86, "iuse_pct", 17)));
    int wk = (day + hi) / 7;
    for (int p = 0; p < 10; p++) {
        snprintf(subj, sizeof subj, "pkg-%d-w%d", p, wk - (p % 3));
        json_array_append_new(
            f, finding(name, "patch-apt", "patch", p < 2 ? "high" : "low", subj, json_object()));
    }
    return h;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench-history DIR RUNS HOSTS [KEEP_DAYS]\n");
        return 1;
    }
    const char *dir = argv[1];
    int64_t runs_v, hosts_v, keep_v = 0;
    if (nm_str_to_i64(argv[2], &runs_v) < 0 || nm_str_to_i64(argv[3], &hosts_v) < 0 ||
        (argc > 4 && nm_str_to_i64(argv[4], &keep_v) < 0) || runs_v < 1 || hosts_v < 1) {
        fprintf(stderr, "bench-history: RUNS, HOSTS and KEEP_DAYS are whole numbers\n");
        return 1;
    }
    int runs = (int)runs_v, hosts = (int)hosts_v;
    struct nm_retention keep = {.keep_days = keep_v};
    struct nm_checkset cs;
    struct nm_inventory inv;
    nm_diag d = {{0}};
    nm_checkset_init(&cs);
    nm_inventory_init(&inv);
    const char *checks = getenv("NEARMISS_CHECKS_DIR") ? getenv("NEARMISS_CHECKS_DIR") : "checks";
    if (nm_checkset_load_dir(&cs, checks, &d) < 0) {
        fprintf(stderr, "%s\n", d.msg);
        return 1;
    }
    struct nm_buf ib;
    nm_buf_init(&ib, SIZE_MAX);
    nm_buf_appends(&ib, "{\"hosts\": [");
    for (int i = 0; i < hosts; i++)
        nm_buf_appendf(&ib, "%s{\"name\": \"host-%03d\"}", i ? "," : "", i);
    nm_buf_appends(&ib, "]}");
    if (nm_inventory_load_buffer(&inv, "bench", ib.data, ib.len, &d) < 0) {
        fprintf(stderr, "%s\n", d.msg);
        return 1;
    }
    nm_buf_finish(&ib);
    mkdir(dir, 0755);
    int64_t t0 = 1796090400;
    double total_ms = 0, last_ms = 0;
    int last_n = 0;
    for (int day = 0; day < runs; day++) {
        json_t *hs = json_array();
        for (int i = 0; i < hosts; i++)
            json_array_append_new(hs, host_at(i, day));
        json_t *report = json_pack("{s:o, s:[], s:{s:i, s:i, s:i}}", "hosts", hs, "fleet_findings",
                                   "summary", "hosts", hosts, "scanned", hosts, "failed", 0);
        int64_t now = t0 + (int64_t)day * 86400;
        struct nm_history_ctx ctx = {.cs = &cs, .inv = &inv, .now = now};
        struct nm_history *h = NULL;
        json_t *files = NULL;
        int64_t start = nm_now_ms();
        if (nm_history_open(dir, now, &h, &d) < 0 || nm_history_enrich(h, &ctx, report, &d) < 0 ||
            nm_history_diff(h, &ctx, report, &d) < 0 ||
            nm_history_prune(h, &keep, &files, &d) < 0 || nm_history_commit(h, &d) < 0) {
            fprintf(stderr, "run %d: %s\n", day, d.msg);
            return 1;
        }
        nm_history_close(h);
        double ms = (double)(nm_now_ms() - start);
        total_ms += ms;
        if (day >= runs - 10) {
            last_ms += ms;
            last_n++;
        }
        json_decref(files);
        json_decref(report);
    }
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/history.sqlite", dir);
    long long size = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    snprintf(path, sizeof path, "%s/history.sqlite-wal", dir);
    long long wal = stat(path, &st) == 0 ? (long long)st.st_size : 0;
    printf("runs %d, hosts %d, keep_days %ld\n", runs, hosts, keep.keep_days);
    printf("history.sqlite %lld bytes (%.1f MiB), -wal %lld bytes\n", size,
           (double)size / 1048576.0, wal);
    printf("history steps per run: mean %.1f ms over all runs, %.1f ms over the last %d\n",
           total_ms / runs, last_n ? last_ms / last_n : 0, last_n);
    nm_checkset_finish(&cs);
    nm_inventory_finish(&inv);
    return 0;
}
