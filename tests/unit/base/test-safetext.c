#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>

#include "nearmiss/error.h"
#include "nearmiss/safetext.h"
#include "test.h"

static void check_safe(const char *in, size_t len, const char *want)
{
    char *got = nm_term_safe_bytes(in, len);
    CHECK_STR(got, want);
    free(got);
}

static void test_term_safe(void)
{
    /* Window title, clear screen, C1 CSI, bidi override, DEL, NUL, invalid
     * bytes: all shown as escapes; plain UTF-8 (é, 日本) stays as it is. */
    check_safe("\x1b]0;owned\x07", 10, "\\x1b]0;owned\\x07");
    check_safe("a\x1b[2Jb", 6, "a\\x1b[2Jb");
    check_safe("x\xc2\x9b"
               "31m",
               6, "x\\u{009b}31m");
    check_safe("\xe2\x80\xae"
               "evil",
               7, "\\u{202e}evil");
    check_safe("a\x7f"
               "b",
               3, "a\\x7fb");
    check_safe("a\0b", 3, "a\\x00b");
    check_safe("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", 12, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
    check_safe("\xff\xfe", 2, "\\xff\\xfe");
    check_safe("\xc3\x28", 2, "\\xc3(");
    check_safe("\xed\xa0\x80", 3, "\\xed\\xa0\\x80"); /* a UTF-16 surrogate */
    check_safe("\xc0\xaf", 2, "\\xc0\\xaf");          /* an overlong "/" */
    check_safe("line\nforged", 11, "line\\x0aforged");
    /* Idempotent: escaping escaped text changes nothing. */
    char *once = nm_term_safe("\x1b]0;t\x07 \xff \xe2\x80\xae");
    char *twice = nm_term_safe(once);
    CHECK_STR(twice, once);
    free(once);
    free(twice);
    char *n = nm_term_safe(NULL);
    CHECK_STR(n, "(none)");
    free(n);
}

static void test_clip_and_fix(void)
{
    const char *s = "ab\xe6\x97\xa5"; /* "ab" + a 3-byte character */
    CHECK_INT(nm_utf8_clip(s, 5), 5);
    CHECK_INT(nm_utf8_clip(s, 4), 2);
    CHECK_INT(nm_utf8_clip(s, 3), 2);
    CHECK_INT(nm_utf8_clip(s, 2), 2);
    CHECK_INT(nm_utf8_clip("\xf0\x9f\x98\x80", 3), 0);
    CHECK(nm_utf8_valid(s, 5));
    CHECK(!nm_utf8_valid(s, 4));

    char cut[] = "ok \xe6\x97";
    nm_utf8_fix(cut);
    CHECK_STR(cut, "ok ");
    char bad[] = "a\xff"
                 "b\xc3\x28"
                 "c";
    nm_utf8_fix(bad);
    CHECK_STR(bad, "a?b?(c");
}

/* A diagnostic filled to its cap with multi-byte text is cut between
 * characters, so jansson takes it (json_string returns NULL otherwise). */
static void test_diag_cut(void)
{
    char big[4000];
    size_t o = 0;
    big[o++] = 'x';
    while (o + 2 < sizeof big) {
        big[o++] = '\xc3';
        big[o++] = '\xa9';
    }
    big[o] = '\0';
    nm_diag d;
    nm_diag_set(&d, NM_ERR_INVAL, "%s", big);
    CHECK(strlen(d.msg) < sizeof d.msg);
    CHECK(nm_utf8_valid(d.msg, strlen(d.msg)));
    json_t *j = json_string(d.msg);
    CHECK(j != NULL);
    json_decref(j);
    nm_diag_set(&d, NM_ERR_INVAL, "server said \"%s\"", "\xff\x1b[2J");
    CHECK(nm_utf8_valid(d.msg, strlen(d.msg)));
}

static char *vformat(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *vformat(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = nm_term_vformat(fmt, ap);
    va_end(ap);
    return s;
}

static void test_vformat(void)
{
    char *s = vformat("host %s: %d", "\x1b]2;t\x07", 7);
    CHECK_STR(s, "host \\x1b]2;t\\x07: 7");
    free(s);
}

int main(void)
{
    test_term_safe();
    test_clip_and_fix();
    test_diag_cut();
    test_vformat();
    return test_result();
}
