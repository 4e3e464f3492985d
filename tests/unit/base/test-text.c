/*
 * The one UTF-8 sanitiser and the one time parser, as the JSON side sees
 * them (the writers' side is tested in test-writers): host strings keep
 * tabs and newlines, lose every other control, and are cut between
 * characters; times are read strictly, calendar included.
 */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/time.h"
#include "nearmiss/utf8.h"
#include "test.h"

static void json_case(const char *in, size_t len, size_t max, const char *want, size_t want_len)
{
    json_t *j = nm_json_string_sanitized(in, len, max);
    CHECK(j != NULL);
    if (!j)
        return;
    CHECK_INT(json_string_length(j), want_len);
    CHECK(json_string_length(j) == want_len && memcmp(json_string_value(j), want, want_len) == 0);
    json_decref(j);
}

static void test_json_strings(void)
{
    json_case("a\tb\nc", 5, 100, "a\tb\nc", 5);
    /* In JSON a CR is a control like any other: no line semantics. */
    json_case("a\r\nb", 4, 100, "a\xef\xbf\xbd\nb", 6);
    json_case("\x1b]0;title\x07", 10, 100, "\xef\xbf\xbd]0;title\xef\xbf\xbd", 14);
    /* C1 CSI (U+009B) acts as ESC [ on some terminals. */
    json_case("\xc2\x9b"
              "2J",
              4, 100,
              "\xef\xbf\xbd"
              "2J",
              5);
    json_case("a\0b", 3, 100,
              "a\xef\xbf\xbd"
              "b",
              5);
    /* Cut after max bytes, never inside a character: a 4-byte character
     * that starts before the cap is kept whole. */
    json_case("ab\xf0\x9f\x98\x80z", 7, 3, "ab\xf0\x9f\x98\x80", 6);
    json_case("abc\xf0\x9f\x98\x80", 7, 3, "abc", 3);
    json_case("", 0, 10, "", 0);
    /* Clean text takes a shorter way; it must cut and keep as the long one. */
    json_case("abc", 3, 3, "abc", 3);
    json_case("abcdef", 6, 3, "abc", 3);
    json_case("ab\x7f", 3, 10, "ab\xef\xbf\xbd", 5);
    for (int c = 0; c < 256; c++) {
        char in[3] = {'x', (char)c, 'y'};
        struct nm_buf b;
        nm_buf_init(&b, 64);
        nm_utf8_sanitize(&b, in, sizeof in, 64, 0);
        json_case(in, sizeof in, 64, b.data, b.len);
        nm_buf_finish(&b);
    }
}

static void test_sanitize_flags(void)
{
    struct nm_buf b;
    nm_buf_init(&b, 64);
    CHECK_INT(nm_utf8_sanitize(&b, "x\ry\r\n", 5, 64, NM_UTF8_LINES), 0);
    CHECK_STR(b.data, "x\ny\n");
    nm_buf_reset(&b);
    CHECK_INT(nm_utf8_sanitize(&b, "x\ry", 3, 64, 0), 0);
    CHECK_STR(b.data, "x\xef\xbf\xbdy");
    nm_buf_finish(&b);
}

static void test_time(void)
{
    int64_t t = 0;
    CHECK_INT(nm_utc_parsen("1970-01-01T00:00:00Z", 20, &t), 0);
    CHECK_INT(t, 0);
    CHECK_INT(nm_utc_parse("2026-11-24T00:00:00Z", &t), 0);
    CHECK_INT(t, 1795478400);
    CHECK_INT(nm_utc_parse("2028-02-29T12:00:00Z", &t), 0);
    t = 42;
    CHECK(nm_utc_parse("2027-02-29T12:00:00Z", &t) < 0);
    CHECK(nm_utc_parse("2026-04-31T00:00:00Z", &t) < 0);
    CHECK(nm_utc_parse("2026-11-24T24:00:00Z", &t) < 0);
    CHECK(nm_utc_parse("2026-11-24T00:00:00+00:00", &t) < 0);
    CHECK(nm_utc_parse(" 2026-11-24T00:00:00Z", &t) < 0);
    CHECK(nm_utc_parsen("2026-11-24T00:00:00Z\0", 21, &t) < 0);
    CHECK(nm_utc_parsen("2026-11-24T00:00:00Z", 19, &t) < 0);
    CHECK_INT(t, 42); /* untouched on error */
    char out[32];
    nm_utc_iso8601(1795514417, out);
    CHECK_STR(out, "2026-11-24T10:00:17Z");
    CHECK_INT(nm_utc_parse(out, &t), 0);
    CHECK_INT(t, 1795514417);
    CHECK_INT(nm_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(nm_days_from_civil(1969, 12, 31), -1);
    CHECK_INT(nm_days_between(0, 86399), 0);
    CHECK_INT(nm_days_between(0, -1), -1);
}

int main(void)
{
    test_json_strings();
    test_sanitize_flags();
    test_time();
    return test_result();
}
