/*
 * The vocabulary of results shared by every stage: host status, severity,
 * check result, category.  Names are the report's strings (CONTRACT.md).
 */
#ifndef NEARMISS_MODEL_H
#define NEARMISS_MODEL_H

enum nm_host_status {
    NM_HOST_UNKNOWN = -1, /* a name this version does not know (a report from elsewhere) */
    NM_HOST_OK = 0,
    NM_HOST_UNREACHABLE,
    NM_HOST_TIMEOUT,
    NM_HOST_AUTH_FAILED,
    NM_HOST_HOSTKEY_UNKNOWN,
    NM_HOST_HOSTKEY_MISMATCH,
    NM_HOST_ERROR,
};

enum nm_severity {
    NM_SEV_NONE = -1,
    NM_SEV_INFO = 0,
    NM_SEV_LOW,
    NM_SEV_MEDIUM,
    NM_SEV_HIGH,
    NM_SEV_CRITICAL,
};

enum nm_check_result {
    NM_RESULT_PASS = 0,
    NM_RESULT_WARN,
    NM_RESULT_FAIL,
    NM_RESULT_ERROR,
    NM_RESULT_NOTAPPLICABLE,
    NM_RESULT_WAIVED,
};

const char *nm_host_status_name(enum nm_host_status s);
/* NM_HOST_UNKNOWN for NULL or an unknown name. */
enum nm_host_status nm_host_status_from_name(const char *name);
const char *nm_severity_name(enum nm_severity s);
/* Returns NM_SEV_NONE for an unknown name. */
enum nm_severity nm_severity_from_name(const char *name);
const char *nm_check_result_name(enum nm_check_result r);
/* True for the contract's categories: patch reboot cert disk smart spof health. */
int nm_category_valid(const char *name);

#endif
