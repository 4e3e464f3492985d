/*
 * Writers.  The JSON report is the one source every other output is rendered
 * from.  A run's files are published together (nearmiss/outdir.h), so a run
 * that dies or fails leaves the previous set whole.
 *
 * jansson ownership: report is borrowed (nm_report_summarize modifies it).
 */
#ifndef NEARMISS_REPORT_H
#define NEARMISS_REPORT_H

#include <jansson.h>

#include "nearmiss/error.h"

#define NM_REPORT_SCHEMA      "nearmiss.report/1"
#define NM_REPORT_LATEST_NAME "latest.json"

struct nm_outdir;

/* A stored report (what `nearmiss report` reads): valid JSON, an object with
 * this schema (or a compatible "nearmiss.report/1.x") and a "hosts" array.
 * name labels errors.  *ret_report is a new reference. */
int nm_report_parse(const char *data, size_t len, const char *name, json_t **ret_report,
                    nm_diag *d);
/* The same checks on a report already parsed (or its top level, as
 * nearmiss/reportread.h gives it). */
int nm_report_check(const json_t *report, const char *name, nm_diag *d);

/* "nearmiss-<started_at without - and :>.json" (malloc'd). */
char *nm_report_stamped_name(const json_t *report);

/* Stages a run's files in od: nearmiss-<start>.json, the formats asked for
 * (nearmiss/writers.h), then latest.json.  Nothing is visible until
 * nm_outdir_publish(); on failure the caller discards (nm_outdir_finish
 * does).  The timestamped file's name (inside od) in *ret_json_name. */
int nm_report_stage(const json_t *report, struct nm_outdir *od, unsigned formats,
                    char **ret_json_name, nm_diag *d);

/* The same, with the hosts taken from it and report's own "hosts" ignored
 * (its place among the keys kept): the JSON is written host by host, never
 * held whole.  What a run whose hosts are kept on disk publishes. */
struct nm_host_iter;
int nm_report_stage_hosts(const json_t *report, const struct nm_host_iter *it, struct nm_outdir *od,
                          unsigned formats, char **ret_json_name, nm_diag *d);

/* Opens out_dir (taking its lock: not for a caller that holds it already),
 * stages the JSON files and publishes them.  The timestamped file's path in
 * *ret_path (malloc'd) if not NULL. */
int nm_report_write_json(const json_t *report, const char *out_dir, char **ret_path, nm_diag *d);

/* Sets report's "summary": hosts, scanned, failed, non-waived findings per
 * severity (fleet findings included) and the fleet score.  The report is
 * modified here (its "summary" is replaced in place). */
void nm_report_summarize(json_t *report);

#endif
