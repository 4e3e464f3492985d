/*
 * Typed reading of a report: the run's report as it is being built, or one
 * loaded from disk (`nearmiss report`, later history and merge).  Every
 * stage that reads a host's status, a finding's severity or whether a
 * finding counts (is not waived) asks here, so the report's strings are
 * compared in one place.  A value this version does not know (a
 * hand-edited or newer report) reads as NM_HOST_UNKNOWN / NM_SEV_NONE, never
 * as a crash.
 *
 * jansson ownership: every json_t is borrowed; nothing is modified.
 * Pointers handed back point into the report and live as long as it does,
 * unchanged.
 */
#ifndef NEARMISS_REPORT_VIEW_H
#define NEARMISS_REPORT_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "nearmiss/model.h"

/* A host object's "status"; NM_HOST_UNKNOWN when missing or unknown. */
enum nm_host_status nm_view_host_status(const json_t *host);
/* Scanned: status "ok". */
bool nm_view_host_ok(const json_t *host);

/* A finding's (host or fleet) "severity"; NM_SEV_NONE when missing or unknown. */
enum nm_severity nm_view_severity(const json_t *finding);
/* Counts towards scores, totals, --fail-on and fleet health: not waived. */
bool nm_view_active(const json_t *finding);

/* The worst severity among the active findings of every host and the fleet
 * findings; NM_SEV_NONE when there are none. */
enum nm_severity nm_view_worst_active(const json_t *report);

/* The report's hosts by name, indexed once (for lookups per role member). */
struct nm_report_index {
    struct nm_report_index_entry {
        const char *name;
        const json_t *host;
        size_t pos; /* in "hosts" */
    } * entries;    /* sorted by name, then position */
    size_t n;
};

/* Indexes report's "hosts" (hosts without a string name are left out; of
 * two with one name, the first wins). */
void nm_report_index_init(struct nm_report_index *idx, const json_t *report);
void nm_report_index_finish(struct nm_report_index *idx);
/* The host object named name, or NULL. */
const json_t *nm_report_index_host(const struct nm_report_index *idx, const char *name);

#endif
