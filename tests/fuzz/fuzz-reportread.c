/*
 * A stored report read host by host (nm_report_read, what merge uses on
 * shard files) against the same file parsed whole by jansson: whenever one
 * of the two accepts the file, both must, and they must agree on the top
 * level and on every host, in order.  The reader only finds where values
 * start and end; this is where a bracket inside a string, an escaped quote
 * or a line count going wrong would show.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "nearmiss/hostiter.h"
#include "nearmiss/reportread.h"

static int collect(void *ctx, size_t i, json_t *host, nm_diag *d)
{
    (void)d;
    FUZZ_ASSERT(json_array_size(ctx) == i);
    json_array_append(ctx, host);
    return 0;
}

static int count_only(void *ctx, size_t i, json_t *host, nm_diag *d)
{
    (void)ctx, (void)i, (void)host, (void)d;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[] = "/tmp/nm-fuzz-reportread.XXXXXX";
    static int fd = -1;
    if (fd < 0) {
        fd = mkstemp(path);
        FUZZ_ASSERT(fd >= 0);
        unlink(path); /* read through /proc/self/fd from here on */
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    FUZZ_ASSERT(ftruncate(fd, 0) == 0);
    FUZZ_ASSERT(pwrite(fd, data, size, 0) == (ssize_t)size);

    json_error_t jerr;
    json_t *whole =
        json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    json_t *top = NULL, *hosts = json_array();
    size_t n = 0, n2 = 0;
    nm_diag d = {{0}};
    int r = nm_report_read(path, SIZE_MAX, &top, &n, collect, hosts, &d);
    if (r == 0) {
        /* The reader took it: jansson takes the whole (unless only the
         * whole is too deep: each host is parsed two levels higher). */
        if (!whole)
            FUZZ_ASSERT(strstr(jerr.text, "depth") != NULL);
        if (whole) {
            json_t *wh = json_object_get(whole, "hosts");
            FUZZ_ASSERT(n == json_array_size(hosts));
            FUZZ_ASSERT(wh ? json_equal(wh, hosts) : n == 0);
            json_t *rest = json_copy(whole);
            if (wh)
                json_object_set_new(rest, "hosts", json_array());
            FUZZ_ASSERT(json_equal(rest, top));
            json_decref(rest);
        }
        /* As an iterator, whatever part of it stays parsed: two passes,
         * each the same hosts in the same order (a file without "hosts"
         * is not one to iterate). */
        for (size_t mem = 0; json_object_get(top, "hosts") && mem <= 4096; mem += 2048) {
            json_t *top2 = NULL;
            struct nm_host_iter it;
            struct nm_report_file_iter *st = NULL;
            FUZZ_ASSERT(nm_report_iter_open(path, SIZE_MAX, mem, &top2, &it, &st, &d) == 0);
            FUZZ_ASSERT(it.n_hosts == n && json_equal(top2, top));
            for (int pass = 0; pass < 2; pass++) {
                const json_t *h;
                size_t k = 0;
                FUZZ_ASSERT(nm_host_iter_rewind(&it, &d) == 0);
                while (nm_host_iter_next(&it, &h, &d) == 0 && h)
                    FUZZ_ASSERT(json_equal(h, json_array_get(hosts, k++)));
                FUZZ_ASSERT(k == n);
            }
            nm_report_iter_close(st);
            json_decref(top2);
        }
        /* Counting only, and without the top level, sees the same hosts. */
        FUZZ_ASSERT(nm_report_read(path, SIZE_MAX, NULL, &n2, NULL, NULL, &d) == 0 && n2 == n);
        FUZZ_ASSERT(nm_report_read(path, SIZE_MAX, NULL, &n2, count_only, NULL, &d) == 0 &&
                    n2 == n);
    } else {
        /* Refused: then the whole is not a report-shaped object either. */
        FUZZ_ASSERT(d.msg[0] != '\0');
        FUZZ_ASSERT(
            !whole || !json_is_object(whole) ||
            (json_object_get(whole, "hosts") && !json_is_array(json_object_get(whole, "hosts"))));
    }
    json_decref(top);
    json_decref(hosts);
    json_decref(whole);
    return 0;
}

const struct nm_fuzz_replay nm_fuzz_replay = {"reportread", NULL};
