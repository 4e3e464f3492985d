#include <stdarg.h>
#include <stdio.h>

#include "nearmiss/error.h"
#include "nearmiss/safetext.h"

const char *nm_strerror(int err)
{
    switch (err) {
    case NM_OK:
        return "success";
    case NM_ERR_NOMEM:
        return "out of memory";
    case NM_ERR_INVAL:
        return "invalid argument";
    case NM_ERR_IO:
        return "input/output error";
    case NM_ERR_PARSE:
        return "malformed input";
    case NM_ERR_TOOBIG:
        return "size limit reached";
    case NM_ERR_TIMEOUT:
        return "deadline passed";
    case NM_ERR_CONNECT:
        return "connection failed";
    case NM_ERR_AUTH:
        return "authentication refused";
    case NM_ERR_HOSTKEY_UNKNOWN:
        return "host key unknown";
    case NM_ERR_HOSTKEY_MISMATCH:
        return "host key mismatch";
    case NM_ERR_SSH:
        return "SSH session failure";
    case NM_ERR_NOTFOUND:
        return "not found";
    case NM_ERR_CONFIG:
        return "configuration error";
    case NM_ERR_EXISTS:
        return "already exists";
    case NM_ERR_BUSY:
        return "in use by another process";
    }
    return "unknown error";
}

int nm_diag_set(nm_diag *d, int code, const char *fmt, ...)
{
    if (d) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
        /* Cut on a character boundary, host bytes made valid: jansson
         * refuses invalid UTF-8, and the message would vanish from JSON. */
        nm_utf8_fix(d->msg);
    }
    return code;
}
