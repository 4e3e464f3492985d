/*
 * The scan: for every selected host, one SSH session running one script
 * with the facts probe and every check's probe; the output is split, parsed
 * and judged into the host's part of the report.  A bounded pool of worker
 * threads (--jobs) takes hosts from a shared cursor; each host has its own
 * absolute deadline, so no host can hold up another beyond its own.  The
 * inventory's TLS endpoints are probed by the same pool; their results are
 * left in each host's "tls" for the run's tls step to judge.
 *
 * The report it returns is the run's first draft: hosts[i] is the
 * inventory's hosts[i], and waivers, scores, fleet findings, finished_at and
 * the summary are the later steps' (src/run/run.c).
 *
 * jansson ownership: *ret_report is a new reference.
 */
#ifndef NEARMISS_SCAN_H
#define NEARMISS_SCAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "nearmiss/check.h"
#include "nearmiss/inventory.h"
#include "nearmiss/reach.h"

#define NM_DEFAULT_JOBS      32
#define NM_DEFAULT_TIMEOUT_S 90
#define NM_DEFAULT_HOST_CAP  (8u << 20)

struct nm_scan_options {
    int jobs;
    int timeout_s;
    uint64_t host_cap; /* bytes accepted from one host */
    bool accept_new;
    const char *save_scripts; /* directory: write each host's script there */
    const char *tls_ca;       /* PEM trust anchors for TLS endpoints; NULL = system */
    int tls_timeout_s;        /* per endpoint */
    /* Called from the main thread about every 200 ms and once at the end. */
    void (*progress)(void *ctx, size_t done, size_t total, size_t failed);
    void *progress_ctx;
};

/* reach->hosts[i] says how to connect to inv->hosts[i]; `now` (the run's
 * clock) is the report's started_at. */
int nm_scan_run(const struct nm_inventory *inv, const struct nm_reach_set *reach,
                const struct nm_checkset *cs, const struct nm_scan_options *o, int64_t now,
                json_t **ret_report, nm_diag *d);

#endif
