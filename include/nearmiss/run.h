/*
 * One run of `nearmiss scan`, as an ordered list of steps.  The command
 * layer fills the inputs and calls nm_run_execute(); the order of the
 * pipeline lives here and nowhere else:
 *
 *   reach    how to connect to each host (nearmiss/reach.h), resolved once
 *   outdir   the report directory is a writable directory (created 0700 if
 *            missing); the run locks it (a second run exits at once) and
 *            removes stale temporaries; held until nm_run_finish()
 *   scan     every host over SSH, and the TLS endpoints, in one worker pool;
 *            leaves the report's first draft (hosts[i] = inventory host i)
 *   merge    (nearmiss merge) the same first draft rebuilt from the shard
 *            reports: hosts judged, waived and scored as their shards left them,
 *            read one at a time into the spool
 *   tls      judge each host's TLS endpoints (checks with "source": "tls",
 *            and the served-versus-on-disk certificate comparison)
 *   waivers  mark accepted risks; list the waivers in the report
 *   score    each host's score
 *   hosts    (a spooled run, see below) tls, waivers, history-load, score
 *            and history-diff's marks done here instead, host by host
 *            from the spool (for a merge, history-load and the marks
 *            only); history-diff then adds the fleet's part
 *   shard    (scan --shard K/N) what the shard is, for merge to check
 *   fleet    role redundancy, spread and shared dependencies
 *   summary  finished_at, the counts and the fleet score (computed once)
 *   write    OUT/nearmiss-<time>.json, --format's files, OUT/latest.json:
 *            all staged, then published together (nearmiss/outdir.h)
 *
 * with the history steps between them (nearmiss/history.h): history-open
 * after outdir (an unusable history stops the run before any scan),
 * history-load after waivers (forecasts, grown SMART counters), history-diff
 * after summary (change marks, resolved), history-commit after write; and the
 * ticket steps (nearmiss/tickets.h): tickets-plan after history-diff, in the
 * same transaction, tickets-deliver after history-commit.
 *
 * Every step says which kinds of run it belongs to (enum nm_run_kind):
 *
 *   whole  reach outdir history-open scan tls waivers history-load score
 *          hosts fleet summary history-diff tickets-plan write history-commit
 *          tickets-deliver
 *   shard  reach outdir scan tls waivers score hosts shard summary write
 *   merge  outdir history-open merge history-load hosts fleet summary
 *          history-diff tickets-plan write history-commit tickets-deliver
 *
 * A shard judges its own hosts only.  Fleet rules need every host, and
 * history and tickets must happen once per fleet run, so those steps belong
 * to whole and merge runs and never to a shard.  A merge run replaces the
 * scanning steps by "merge"; every step after it is shared with a whole run,
 * so the merged report is the single run's.
 *
 * A later capability is one more row in the table of src/run/run.c, reading
 * and annotating run->report; each step sees everything the steps above it
 * left, and names the kinds of run it belongs to.
 *
 * The run has one clock: run->now is taken once (NEARMISS_NOW overrides it,
 * see nm_run_clock) and every use of "now" in the run reads it from here.
 *
 * jansson ownership: run->report is owned by the run (nm_run_finish frees it).
 */
#ifndef NEARMISS_RUN_H
#define NEARMISS_RUN_H

#include <jansson.h>
#include <stdint.h>

#include "nearmiss/check.h"
#include "nearmiss/error.h"
#include "nearmiss/fleet.h"
#include "nearmiss/history.h"
#include "nearmiss/inventory.h"
#include "nearmiss/merge.h"
#include "nearmiss/outdir.h"
#include "nearmiss/packedjson.h"
#include "nearmiss/scan.h"
#include "nearmiss/shard.h"
#include "nearmiss/waiver.h"
#include "nearmiss/tickets.h"

enum nm_run_kind {
    NM_RUN_WHOLE = 1u << 0, /* scan of the whole selection */
    NM_RUN_SHARD = 1u << 1, /* scan --shard K/N */
    NM_RUN_MERGE = 1u << 2, /* nearmiss merge */
};

/* How long a step that ran took (wall clock). */
struct nm_run_step_time {
    const char *name; /* static: the step's name */
    int64_t ms;
};
#define NM_RUN_MAX_STEPS 32

struct nm_run {
    /* Inputs, borrowed from the caller. */
    enum nm_run_kind kind;                /* NM_RUN_WHOLE after nm_run_init */
    const struct nm_shard_record *shard;  /* NM_RUN_SHARD: what the report records */
    const struct nm_shard_set *shard_set; /* NM_RUN_MERGE: the loaded shard reports */
    const struct nm_inventory *inv;
    const struct nm_checkset *cs;
    struct nm_reach_options reach_opts;
    struct nm_scan_options scan;
    const struct nm_waivers *waivers; /* may be NULL */
    struct nm_fleet_options fleet;
    const char *out_dir;
    int file_mode;    /* of the published files; 0 = NM_OUTDIR_FILE_MODE (0600) */
    unsigned formats; /* enum nm_report_format bits; JSON is always written */
    int fail_on;      /* enum nm_severity of --fail-on; NM_SEV_NONE when not given */
    int64_t now;      /* unix seconds: the run's one clock */
    int64_t t0_ms;    /* monotonic ms when now was taken: finished_at = now + elapsed */
    bool no_history;  /* leave OUT/history.sqlite alone (and add no change marks) */
    bool no_write;    /* no report directory, no report files (the gate) */
    bool spool_only;  /* with no_write: the hosts still go through a spool, in a
                       * scratch directory under $TMPDIR removed at the end (the
                       * gate); out_dir is not used */
    struct nm_retention keep;
    struct nm_ticket_options tickets; /* targets (none: no ticket steps); owned by the caller */

    /* Results, owned by the run. */
    struct nm_outdir outdir; /* open (and locked) from the outdir step on */
    struct nm_reach_set reach;
    json_t *report;
    char *json_path;                       /* the timestamped JSON report, once written */
    const char *failed_step;               /* name of the step that failed, for the message */
    struct nm_history *history;            /* open from history-open to history-commit */
    json_t *pruned_reports;                /* base names of reports of pruned runs (deleted) */
    struct nm_ticket_counts ticket_counts; /* planned and delivered this run */
    /* The steps that ran, in order (the failed one last). */
    struct nm_run_step_time step_times[NM_RUN_MAX_STEPS];
    size_t n_step_times;
    /* A scan or a merge that writes a report (and the gate, in its scratch
     * directory) keeps its hosts in the spool (nearmiss/spool.h) from the
     * moment each is scanned or read from its shard: the per-host
     * steps (tls, waivers, history-load, score, and history-diff's marks)
     * take them one at a time from there and put them back, and
     * report["hosts"] holds only each host's summary (nm_run_host_summary),
     * which is all that the fleet steps and the command layer read.  Ticket
     * planning and the writers take the whole hosts from the spool. */
    struct nm_spool *spool;
    /* Bytes of hosts the spool keeps in memory before it uses its file
     * (nm_spool_set_memory): NEARMISS_SPOOL_MEMORY, in MiB, or the default. */
    size_t spool_memory;
    size_t threads; /* NEARMISS_THREADS, 0 unset (nm_scan_options.threads) */
    json_t *full_hosts; /* per host: null (in the spool), or the host the spool could not take */
    /* A spooled run: the summaries, packed as text; report["hosts"] is
     * decoded from them, and left empty while the writers run (whose
     * buffers would otherwise come on top of ten thousand summary trees). */
    struct nm_packed_json sums;
    struct nm_history_diff *diff; /* a spooled run: from the hosts step to history-diff */
};

/* What report["hosts"] holds for a host whose whole object is on disk: name,
 * status, error, criticality, score, its active findings' severity, message
 * and change, the metrics of checks that fleet rules read (cs), and a
 * script-saving error.  A new reference; host is borrowed. */
json_t *nm_run_host_summary(const struct nm_checkset *cs, const json_t *host);

/* Zeroes the run (fail_on NM_SEV_NONE) and takes its clock (nm_run_clock); NM_ERR_INVAL in d when
 * NEARMISS_NOW is set but malformed. */
int nm_run_init(struct nm_run *run, nm_diag *d);
void nm_run_finish(struct nm_run *run);

/* The run's "now": NEARMISS_NOW ("YYYY-MM-DDTHH:MM:SSZ") when set and not
 * empty, else the real clock. */
int nm_run_clock(int64_t *ret_now, nm_diag *d);

/* Runs every step in order; stops at the first that fails: its name in
 * run->failed_step, the reason in d. */
int nm_run_execute(struct nm_run *run, nm_diag *d);

#endif
