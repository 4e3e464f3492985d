/*
 * History: the report directory remembers.  OUT/history.sqlite (SQLite,
 * WAL) holds the runs, each host's scan outcome, one row per finding
 * episode (fingerprint, first and last seen, worst severity, margin, when
 * it cleared), severity changes and the recorded metrics.  Its tables are
 * documented for users in docs/history.md.
 *
 * A run opens the database once, keeps ONE write transaction for the whole
 * run and commits after the reports are written: a run killed at any
 * moment leaves the database as the previous run left it.  A file that is
 * not a database, is damaged, or carries a schema version newer than this
 * binary knows is an error that names the file; it is never reset.
 *
 * jansson ownership in this header: report, items and findings are
 * borrowed and annotated in place; functions documented "new reference"
 * hand one to the caller.
 */
#ifndef NEARMISS_HISTORY_H
#define NEARMISS_HISTORY_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nearmiss/check.h"
#include "nearmiss/error.h"
#include "nearmiss/inventory.h"
#include "nearmiss/waiver.h"

#define NM_HISTORY_FILE "history.sqlite"
/* Its mode when none is given: the reports' (NM_OUTDIR_FILE_MODE). */
#define NM_HISTORY_FILE_MODE 0600
/* The schema version of component "history" this binary writes. */
#define NM_HISTORY_SCHEMA 1

struct nm_history; /* opaque */

/* Opens (creates) OUT/history.sqlite, migrates the "history" component and
 * starts one write transaction (BEGIN IMMEDIATE) that lasts the whole run.
 * now is the run's clock. */
int nm_history_open(const char *out_dir, int64_t now, struct nm_history **ret, nm_diag *d);
/* The same with the mode of the report files (0: NM_HISTORY_FILE_MODE):
 * history.sqlite and its -wal and -shm files get exactly this mode,
 * whatever the umask; existing ones of this user are set to it. */
int nm_history_open_mode(const char *out_dir, int64_t now, int file_mode, struct nm_history **ret,
                         nm_diag *d);
/* Opens an existing database read-only (no transaction, no migration),
 * refusing a newer or damaged schema as nm_history_open does: for
 * `nearmiss ledger` and other readers. */
int nm_history_open_readonly(const char *out_dir, struct nm_history **ret, nm_diag *d);
sqlite3 *nm_history_db(struct nm_history *h); /* borrowed */
int nm_history_commit(struct nm_history *h, nm_diag *d);
/* ROLLBACK if not committed; NULL is fine. */
void nm_history_close(struct nm_history *h);

/* What the run gives history beyond the report. */
struct nm_history_ctx {
    const struct nm_checkset *cs;
    const struct nm_inventory *inv;
    const struct nm_waivers *waivers; /* may be NULL */
    int64_t now;
};

/*
 * Before scores and summaries: findings that only history can give.  Adds
 * the "source": "history" checks' findings (disk-forecast: a straight line
 * through used space and inodes reaching 100 %) and raises drive findings
 * whose counters grew since the host's previous scan.  Touched hosts are
 * waived and scored again.
 */
int nm_history_enrich(struct nm_history *h, const struct nm_history_ctx *ctx, json_t *report,
                      nm_diag *d);

/*
 * After the summary: marks every finding "change" new|persisting with
 * "first_seen", adds "resolved", "summary.changes" and "history" (previous
 * run, 30-day ledger view) to the report, and records the run (runs,
 * host_scans, findings, severity_changes, samples).
 */
int nm_history_diff(struct nm_history *h, const struct nm_history_ctx *ctx, json_t *report,
                    nm_diag *d);
/* The same in three parts, for a run whose hosts are not all in memory:
 * begin (the run recorded), each host in report order (its findings marked,
 * what it no longer has resolved, its samples recorded), then end with the
 * report whose fleet findings and summary are final.  free accepts NULL. */
struct nm_history_diff;
int nm_history_diff_begin(struct nm_history *h, const struct nm_history_ctx *ctx,
                          struct nm_history_diff **ret, nm_diag *d);
int nm_history_diff_host(struct nm_history_diff *x, json_t *host, nm_diag *d);
int nm_history_diff_end(struct nm_history_diff *x, json_t *report, nm_diag *d);
void nm_history_diff_free(struct nm_history_diff *x);

/* The timestamped report file of this run (its base name is stored). */
int nm_history_set_report(struct nm_history *h, const char *path, nm_diag *d);

/* Retention.  0 = no limit.  The current run is always kept; finding
 * episodes (the compact per-fingerprint record the ledger and tickets read)
 * are never pruned, only runs, host outcomes and metric samples. */
struct nm_retention {
    long keep_runs;
    long keep_days;
};
/* Prunes inside the open transaction; the base names of the timestamped
 * reports of pruned runs are appended to *files (new reference, array of
 * strings) so the caller deletes them once the transaction committed. */
int nm_history_prune(struct nm_history *h, const struct nm_retention *keep, json_t **ret_files,
                     nm_diag *d);

/* ---- pieces with their own tests ---- */

/* Least-squares straight line y = a + b x. */
struct nm_fit {
    size_t n;
    double intercept, slope, r2;
};
/* NM_ERR_INVAL with fewer than 2 points or all x equal. */
int nm_fit_line(const double *x, const double *y, size_t n, struct nm_fit *ret);

/* How close one item came to its check's failure point (check.h's
 * nm_ledger_def).  *ret_margin is NAN when the check declares no margin or
 * the item lacks the fields. */
void nm_ledger_measure(const struct nm_ledger_def *def, const json_t *item, double *ret_margin,
                       bool *ret_failed);
/* The definitions of fleet checks (role-redundancy...), which have no
 * checks/ file; NULL for other ids. */
const struct nm_ledger_def *nm_ledger_fleet_def(const char *check);

enum nm_ledger_format { NM_LEDGER_JSON, NM_LEDGER_CSV, NM_LEDGER_MD };
struct nm_ledger_query {
    int64_t since; /* INT64_MIN: everything */
    enum nm_severity from;
    int64_t now;
};
/* The ledger (CONTRACT.md, nearmiss.ledger/1) as a new reference. */
int nm_ledger_build(sqlite3 *db, const struct nm_ledger_query *q, json_t **ret, nm_diag *d);
/* Renders a ledger object; *ret_text is malloc'd. */
int nm_ledger_render(const json_t *ledger, enum nm_ledger_format f, char **ret_text, nm_diag *d);
/* The report's 30-day view for the HTML page: near misses and misses of the
 * last window, margins by unit, median time to fix by category, and the
 * median margins of the window before (new reference). */
int nm_ledger_window(sqlite3 *db, int64_t now, int days, json_t **ret, nm_diag *d);

#endif
