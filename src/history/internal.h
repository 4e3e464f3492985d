/* Shared inside src/history/ only. */
#ifndef NEARMISS_HISTORY_INTERNAL_H
#define NEARMISS_HISTORY_INTERNAL_H

#include <stdbool.h>

#include "nearmiss/history.h"

/* Statements prepared once per run (the diff runs them per finding). */
enum nm_hstmt {
    NM_HSTMT_FIND_OPEN,
    NM_HSTMT_INSERT_FINDING,
    NM_HSTMT_UPDATE_FINDING,
    NM_HSTMT_SEV_CHANGE,
    NM_HSTMT_HOST_OPEN,
    NM_HSTMT_RESOLVE,
    NM_HSTMT_HOST_SCAN,
    NM_HSTMT_HOST_SERIES,
    NM_HSTMT_SERIES_ADD,
    NM_HSTMT_SAMPLE_ADD,
    NM_HSTMT_SERIES_POINTS,
    NM_HSTMT_LAST_SAMPLE,
    NM_HSTMT_COUNT
};

struct nm_history {
    sqlite3 *db;
    char *path;
    int64_t now;
    bool readonly;
    bool in_tx;
    int64_t run_id; /* this run's row, once the diff recorded it */
    sqlite3_stmt *stmts[NM_HSTMT_COUNT];
};

int nm_history_exec(struct nm_history *h, const char *sql, nm_diag *d);
/* Prepared on first use, reset and unbound on every call; NULL on error. */
sqlite3_stmt *nm_history_stmt(struct nm_history *h, enum nm_hstmt id, const char *sql);
int nm_history_component_version(sqlite3 *db, const char *component, long *ret);

#endif
