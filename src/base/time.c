/* The one reader and writer of nearmiss's time form (include/nearmiss/time.h). */
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "nearmiss/error.h"
#include "nearmiss/time.h"

int64_t nm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void nm_utc_iso8601(int64_t unix_sec, char out[32])
{
    time_t t = (time_t)unix_sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t nm_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil: exact for every proleptic Gregorian
     * date, no time zone, no time_t range limits. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t nm_days_between(int64_t now, int64_t t)
{
    int64_t diff = t - now;
    int64_t q = diff / 86400;
    if (diff % 86400 != 0 && diff < 0)
        q--;
    return q;
}

static int fixed_digits(const char *s, size_t n, unsigned *ret)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return NM_ERR_PARSE;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *ret = v;
    return 0;
}

int nm_utc_parsen(const char *s, size_t len, int64_t *ret)
{
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h, mi, se;
    if (!s || len != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z')
        return NM_ERR_PARSE;
    if (fixed_digits(s, 4, &y) < 0 || fixed_digits(s + 5, 2, &mo) < 0 ||
        fixed_digits(s + 8, 2, &d) < 0 || fixed_digits(s + 11, 2, &h) < 0 ||
        fixed_digits(s + 14, 2, &mi) < 0 || fixed_digits(s + 17, 2, &se) < 0)
        return NM_ERR_PARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
        return NM_ERR_PARSE;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return NM_ERR_PARSE;
    *ret = nm_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

int nm_utc_parse(const char *s, int64_t *ret)
{
    return nm_utc_parsen(s, s ? strlen(s) : 0, ret);
}
