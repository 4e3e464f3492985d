/*
 * The scan: for every selected host, one SSH session running one script
 * with the facts probe and every check's probe; the output is split, parsed
 * and judged into the host's part of the report.  A bounded pool of worker
 * threads (--jobs) takes hosts in inventory order, skipping those whose
 * --max-per groups are full (a worker idles only when nothing it may start
 * waits); each host has its own absolute deadline, counted from its start,
 * so no host can hold up another beyond its own.  Each host's report gets
 * "scan": {started_at, ended_at, start_ms, end_ms} (and its phases when
 * asked for: nm_scan_options.timings).  The
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
#include "nearmiss/discover.h"
#include "nearmiss/inventory.h"
#include "nearmiss/reach.h"

#define NM_DEFAULT_JOBS      32
#define NM_DEFAULT_TIMEOUT_S 90
#define NM_DEFAULT_HOST_CAP  (8u << 20)

/* --max-per LABEL=N: at most max hosts with the same value of label are
 * scanned at once; hosts without the label are not limited by it. */
struct nm_max_per {
    const char *label; /* borrowed */
    size_t max;        /* >= 1 */
};

/* What the progress callback is told.  running[] (borrowed, valid during
 * the call) names the hosts being scanned now, in inventory order, when no
 * more than nm_scan_options.progress_names hosts are unfinished; else
 * n_running is 0. */
struct nm_scan_progress {
    size_t done, total, failed;
    const char *const *running;
    size_t n_running;
};

struct nm_spool;
struct nm_scan_options {
    int jobs;
    /* Threads the jobs run on, many sessions a thread (nearmiss/fiber.h);
     * 0: one per core.  As many as jobs: a thread per session. */
    size_t threads;
    int timeout_s;
    uint64_t host_cap; /* bytes accepted from one host */
    bool accept_new;
    const char *save_scripts;            /* directory: write each host's script there */
    const char *tls_ca;                  /* PEM trust anchors for TLS endpoints; NULL = system */
    int tls_timeout_s;                   /* per endpoint */
    enum nm_tls_discovery tls_discovery; /* TLS endpoints found on the hosts (0 = off) */
    const struct nm_max_per *max_per;    /* n_max_per limits, all applied */
    size_t n_max_per;
    /* When set, each host goes to the spool as it finishes and leaves
     * memory; its place in the report's "hosts" is then null (a host the
     * spool could not take stays in memory, in its place).  Hosts with TLS
     * endpoints are put again once those are attached. */
    struct nm_spool *spool;
    /* Called from the main thread about every 200 ms and once at the end. */
    void (*progress)(void *ctx, const struct nm_scan_progress *p);
    /* Hosts named in nm_scan_progress.running once no more than this many
     * hosts are unfinished (0: never). */
    size_t progress_names;
    /* Called from the worker that scanned a host, once its part of the
     * report is complete (host borrowed; other workers may call at the same
     * time, so the callback serialises its own output). */
    void (*host_done)(void *ctx, const json_t *host);
    void *progress_ctx; /* for progress and host_done */
    /* Each host's "scan" also gets its phases: reach_ms, login_ms, run_ms,
     * judge_ms (off by default: nothing is timed that nobody reads). */
    bool timings;
};

/* reach->hosts[i] says how to connect to inv->hosts[i]; `now` (the run's
 * clock) is the report's started_at. */
/* NEARMISS_THREADS into *ret (0 when unset: one per core). */
int nm_scan_threads_env(size_t *ret, nm_diag *d);

int nm_scan_run(const struct nm_inventory *inv, const struct nm_reach_set *reach,
                const struct nm_checkset *cs, const struct nm_scan_options *o, int64_t now,
                json_t **ret_report, nm_diag *d);

#endif
