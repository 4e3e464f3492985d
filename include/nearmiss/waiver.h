/*
 * Waivers: an accepted risk, on the record.  A waiver file (-w FILE) lists
 * which findings (check id, host glob, optional subject glob) are accepted,
 * why, by whom and until when.  A waived finding stays in the report, marked
 * with who/why/until, and no longer counts towards scores, exit status or
 * tickets; an expired waiver is ignored and the finding says it expired.
 *
 * jansson ownership: host objects passed in are borrowed and modified.
 */
#ifndef NEARMISS_WAIVER_H
#define NEARMISS_WAIVER_H

#include <jansson.h>
#include <stdint.h>

#include "nearmiss/error.h"

struct nm_waiver {
    char *check;
    char *hosts;   /* glob on the inventory host name */
    char *subject; /* glob on the finding subject; NULL = any */
    char *justification;
    char *approved_by;  /* may be NULL */
    char *expires;      /* "YYYY-MM-DD" or "never", as written */
    int64_t expires_at; /* unix seconds: end of that day UTC; INT64_MAX for never */
    char *origin;       /* FILE:#N for messages */
};

struct nm_waivers {
    struct nm_waiver *w;
    size_t n;
};

void nm_waivers_init(struct nm_waivers *ws);
void nm_waivers_finish(struct nm_waivers *ws);
/* Loads and appends; on error nothing is added and d names file and entry. */
int nm_waivers_load_file(struct nm_waivers *ws, const char *path, nm_diag *d);
int nm_waivers_load_buffer(struct nm_waivers *ws, const char *name, const char *data, size_t len,
                           nm_diag *d);

/* Appends the waivers a report lists (nm_waivers_report's form, borrowed):
 * what a merge of shard reports waives with.  Each keeps its "source" as
 * origin, so the findings it marks read as those the file's waiver marked.
 * NULL or null is none; name is the report, for messages. */
int nm_waivers_from_report(struct nm_waivers *ws, const json_t *list, const char *name, nm_diag *d);

/* Marks the host's matching findings and checks; `now` in unix seconds. */
void nm_waivers_apply(const struct nm_waivers *ws, json_t *host, int64_t now);
/* The waivers as the report lists them, each with "status" active|expired. */
json_t *nm_waivers_report(const struct nm_waivers *ws, int64_t now);

#endif
