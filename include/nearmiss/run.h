/*
 * One run of `nearmiss scan`, as an ordered list of steps.  The command
 * layer fills the inputs and calls nm_run_execute(); the order of the
 * pipeline lives here and nowhere else:
 *
 *   scan -> fleet -> summary -> write                 (a whole run)
 *   scan -> summary -> shard -> write                 (scan --shard K/N)
 *   merge -> fleet -> summary -> write                (nearmiss merge)
 *
 * Every step says which kinds of run it belongs to.  A shard run judges its
 * own hosts only: fleet rules need every host, so they run at merge, and
 * so does everything that must happen once per fleet run (history, tickets:
 * steps marked for whole and merge runs, never for shards).  A merge run
 * replaces the scanning steps by "merge", which builds the same first draft
 * of the report from the shard reports; every step after it is shared with
 * a whole run, so the merged report is the single run's.
 *
 * A later capability (history, tickets) is one more step in the table of
 * src/run/run.c, reading and annotating run->report.
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
#include "nearmiss/inventory.h"
#include "nearmiss/merge.h"
#include "nearmiss/scan.h"
#include "nearmiss/shard.h"

enum nm_run_kind {
    NM_RUN_WHOLE = 1u << 0, /* scan of the whole selection */
    NM_RUN_SHARD = 1u << 1, /* scan --shard K/N */
    NM_RUN_MERGE = 1u << 2, /* nearmiss merge */
};

struct nm_run {
    /* Inputs, borrowed from the caller. */
    enum nm_run_kind kind;                /* NM_RUN_WHOLE after nm_run_init */
    const struct nm_shard_record *shard;  /* NM_RUN_SHARD: what the report records */
    const struct nm_shard_set *shard_set; /* NM_RUN_MERGE: the loaded shard reports */
    const struct nm_inventory *inv;
    const struct nm_checkset *cs;
    struct nm_scan_options scan;
    struct nm_fleet_options fleet;
    const char *out_dir;
    unsigned formats; /* enum nm_report_format bits; JSON is always written */
    int fail_on;      /* enum nm_severity of --fail-on; NM_SEV_NONE when not given */
    int64_t now;      /* unix seconds: the run's one clock */

    /* Results, owned by the run. */
    json_t *report;
    char *json_path;         /* the timestamped JSON report, once written */
    const char *failed_step; /* name of the step that failed, for the message */
};

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
