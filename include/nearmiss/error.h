/*
 * One table of error codes for the whole program (after OpenSSH's ssherr.h).
 * Functions that can fail return 0 or one of these negative codes and write
 * their out-parameters only on success.  Human detail (file, line, key) goes
 * into an optional nm_diag the caller passes in; library code never prints.
 */
#ifndef NEARMISS_ERROR_H
#define NEARMISS_ERROR_H

#include <stddef.h>

enum nm_err {
    NM_OK = 0,
    NM_ERR_NOMEM = -1,
    NM_ERR_INVAL = -2,   /* bad argument or value */
    NM_ERR_IO = -3,      /* read/write/open failed (errno in diag) */
    NM_ERR_PARSE = -4,   /* malformed input */
    NM_ERR_TOOBIG = -5,  /* a size cap was reached */
    NM_ERR_TIMEOUT = -6, /* a deadline passed */
    NM_ERR_CONNECT = -7, /* TCP connect failed */
    NM_ERR_AUTH = -8,    /* authentication refused */
    NM_ERR_HOSTKEY_UNKNOWN = -9,
    NM_ERR_HOSTKEY_MISMATCH = -10,
    NM_ERR_SSH = -11, /* SSH protocol or session failure */
    NM_ERR_NOTFOUND = -12,
    NM_ERR_CONFIG = -13, /* configuration is inconsistent */
    NM_ERR_EXISTS = -14,
    NM_ERR_BUSY = -15, /* held by another process (a lock) */
};

const char *nm_strerror(int err);

/* Detail for the command layer to print: "FILE:LINE: key: what is wrong". */
typedef struct nm_diag {
    char msg[1024];
} nm_diag;

/* printf-style; d may be NULL.  Returns code so callers can `return nm_diag_set(...)`. */
int nm_diag_set(nm_diag *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
