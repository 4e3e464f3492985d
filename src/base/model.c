#include <string.h>

#include "nearmiss/model.h"

const char *nm_host_status_name(enum nm_host_status s)
{
    switch (s) {
    case NM_HOST_OK:
        return "ok";
    case NM_HOST_UNREACHABLE:
        return "unreachable";
    case NM_HOST_TIMEOUT:
        return "timeout";
    case NM_HOST_AUTH_FAILED:
        return "auth_failed";
    case NM_HOST_HOSTKEY_UNKNOWN:
        return "hostkey_unknown";
    case NM_HOST_HOSTKEY_MISMATCH:
        return "hostkey_mismatch";
    case NM_HOST_ERROR:
    case NM_HOST_UNKNOWN:
        return "error";
    }
    return "error";
}

enum nm_host_status nm_host_status_from_name(const char *name)
{
    for (int s = NM_HOST_OK; s <= NM_HOST_ERROR; s++)
        if (name && strcmp(name, nm_host_status_name((enum nm_host_status)s)) == 0)
            return (enum nm_host_status)s;
    return NM_HOST_UNKNOWN;
}

static const char *const severity_names[] = {"info", "low", "medium", "high", "critical"};

const char *nm_severity_name(enum nm_severity s)
{
    if (s < NM_SEV_INFO || s > NM_SEV_CRITICAL)
        return "none";
    return severity_names[s];
}

enum nm_severity nm_severity_from_name(const char *name)
{
    for (int i = NM_SEV_INFO; i <= NM_SEV_CRITICAL; i++)
        if (name && strcmp(name, severity_names[i]) == 0)
            return (enum nm_severity)i;
    return NM_SEV_NONE;
}

const char *nm_check_result_name(enum nm_check_result r)
{
    switch (r) {
    case NM_RESULT_PASS:
        return "pass";
    case NM_RESULT_WARN:
        return "warn";
    case NM_RESULT_FAIL:
        return "fail";
    case NM_RESULT_ERROR:
        return "error";
    case NM_RESULT_NOTAPPLICABLE:
        return "notapplicable";
    case NM_RESULT_WAIVED:
        return "waived";
    }
    return "error";
}

int nm_category_valid(const char *name)
{
    static const char *const cats[] = {"patch", "reboot", "cert",  "disk",
                                       "smart", "spof",   "health"};
    for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++)
        if (name && strcmp(name, cats[i]) == 0)
            return 1;
    return 0;
}
