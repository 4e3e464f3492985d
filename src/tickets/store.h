/* Inside the tickets stage: small helpers over the history database. */
#ifndef NM_TICKETS_STORE_H
#define NM_TICKETS_STORE_H

#include <sqlite3.h>

#include "nearmiss/error.h"

/* NM_ERR_IO with "history database: WHAT: sqlite's message". */
int nm_tickets_db_error(sqlite3 *db, nm_diag *d, const char *what);
/* Runs SQL without results; NM_ERR_IO with sqlite's message on failure. */
int nm_tickets_exec(sqlite3 *db, const char *sql, nm_diag *d);

#endif
