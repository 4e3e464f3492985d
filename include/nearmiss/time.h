/*
 * Time as nearmiss writes and reads it: UTC only, in the one textual form
 * "YYYY-MM-DDTHH:MM:SSZ" (the report's timestamps, certificate dates,
 * NEARMISS_NOW, the "now" option of certificate parsers), and whole days
 * counted without time zones or time_t range limits.
 */
#ifndef NEARMISS_TIME_H
#define NEARMISS_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds (deadlines; never the date). */
int64_t nm_now_ms(void);

/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ". */
void nm_utc_iso8601(int64_t unix_sec, char out[32]);

/*
 * "YYYY-MM-DDTHH:MM:SSZ" to unix seconds: exactly that shape, nothing around
 * it, a real calendar date (29 February only in leap years), seconds up to
 * 60.  0, or NM_ERR_PARSE with *ret untouched.  nm_utc_parse takes a C
 * string and accepts NULL (an error).
 */
int nm_utc_parsen(const char *s, size_t len, int64_t *ret);
int nm_utc_parse(const char *s, int64_t *ret);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t nm_days_from_civil(int64_t y, unsigned m, unsigned d);

/* floor((t - now) / 86400), also for negative differences: 12 hours ago is
 * day -1, as "days left" must count it. */
int64_t nm_days_between(int64_t now, int64_t t);

#endif
