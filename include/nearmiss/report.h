/*
 * Writers.  The JSON report is the one source every other output is rendered
 * from.  Every file is written atomically (temporary file, fsync, rename), so
 * a run that dies leaves the previous report whole.
 *
 * jansson ownership: report is borrowed (nm_report_summarize modifies it).
 */
#ifndef NEARMISS_REPORT_H
#define NEARMISS_REPORT_H

#include <jansson.h>

#include "nearmiss/error.h"

#define NM_REPORT_SCHEMA "nearmiss.report/1"

/* Writes OUT/nearmiss-<started_at>.json, then OUT/latest.json.  The path
 * of the timestamped file is returned in *ret_path (malloc'd) if not NULL. */
int nm_report_write_json(const json_t *report, const char *out_dir, char **ret_path, nm_diag *d);

/* Sets report's "summary": hosts, scanned, failed, non-waived findings per
 * severity (fleet findings included) and the fleet score.  The report is
 * modified here (its "summary" is replaced in place). */
void nm_report_summarize(json_t *report);

#endif
