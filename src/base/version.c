/*
 * Version strings compared as package managers do: a base helper because
 * check conditions ("version <") and release lifecycles both need it.
 */
#include <stdbool.h>
#include <string.h>

#include "nearmiss/version.h"

int nm_version_compare(const char *a, const char *b)
{
    while (*a || *b) {
        /* '~' sorts before anything, even the end (1.0~rc1 < 1.0). */
        if (*a == '~' || *b == '~') {
            if (*a != '~')
                return 1;
            if (*b != '~')
                return -1;
            a++;
            b++;
            continue;
        }
        bool da = *a >= '0' && *a <= '9', db = *b >= '0' && *b <= '9';
        if (da && db) {
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            const char *sa = a, *sb = b;
            while (*a >= '0' && *a <= '9')
                a++;
            while (*b >= '0' && *b <= '9')
                b++;
            size_t la = (size_t)(a - sa), lb = (size_t)(b - sb);
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(sa, sb, la);
            if (c)
                return c < 0 ? -1 : 1;
            continue;
        }
        if (!*a || !*b)
            return *a ? 1 : -1;
        if (da != db)
            return da ? 1 : -1; /* a number segment is newer than letters */
        bool aa = (*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z');
        bool ab = (*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z');
        if (aa != ab)
            return aa ? 1 : -1; /* letters sort after separators */
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return 0;
}
