/*
 * The scan: for every selected host, one SSH session running one script
 * with the facts probe and every check's probe; the output is split, parsed
 * and judged into the host's part of the report.  A bounded pool of worker
 * threads (--jobs) takes hosts from a shared cursor; each host has its own
 * absolute deadline, so no host can hold up another beyond its own.
 *
 * jansson ownership: *ret_report is a new reference.
 */
#ifndef NEARMISS_SCAN_H
#define NEARMISS_SCAN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "nearmiss/check.h"
#include "nearmiss/discover.h"
#include "nearmiss/discover.h"
#include "nearmiss/inventory.h"
#include "nearmiss/waiver.h"

#define NM_DEFAULT_JOBS      32
#define NM_DEFAULT_TIMEOUT_S 90
#define NM_DEFAULT_HOST_CAP  (8u << 20)

struct nm_scan_options {
    int jobs;
    int timeout_s;
    uint64_t host_cap;       /* bytes accepted from one host */
    const char *known_hosts; /* for hosts whose inventory names none */
    const char *identity;    /* likewise */
    const char *user;        /* likewise; NULL = $USER */
    const char *passphrase;
    bool accept_new;
    const char *save_scripts;
    const struct nm_waivers *waivers;     /* may be NULL */
    const char *tls_ca;                   /* PEM trust anchors for TLS endpoints; NULL = system */
    int tls_timeout_s; /* per endpoint */ /* directory: write each host's script there */
    int64_t now; /* the run's clock (unix seconds) for date-bound verdicts; 0 = real */
    enum nm_tls_discovery tls_discovery; /* TLS endpoints found on the hosts (0 = off) */
    /* Called from the main thread about every 200 ms and once at the end. */
    void (*progress)(void *ctx, size_t done, size_t total, size_t failed);
    void *progress_ctx;
};

int nm_scan_run(const struct nm_inventory *inv, const struct nm_checkset *cs,
                const struct nm_scan_options *o, json_t **ret_report, nm_diag *d);

/* Severity counts and the fleet score, recomputed from hosts and fleet findings. */
void nm_report_summarize(json_t *report);

#endif
