/*
 * nm_json_indented against jansson itself: for values made to hit every
 * branch (escapes of each control byte, quote and backslash; DEL and
 * multi-byte UTF-8 kept; NUL bytes in strings; integers at both ends; reals
 * whole and fractional, tiny and huge, negative zero, exponents with and
 * without leading zeros; empty and nested containers; key order as
 * inserted), the text equals json_dumps(INDENT(2) | REAL_PRECISION(15) |
 * ENCODE_ANY) at depth 0 and, indented after each newline, at depths 1-3.
 * Strings that are not UTF-8 fail as json_dumps fails; so do keys (where
 * jansson writes broken text) and nesting past the limit.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/jsontext.h"
#include "nearmiss/util.h"
#include "test.h"

#define FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY)

/* jansson's text with 2*depth spaces after each newline. */
static char *want_text(const json_t *v, int depth)
{
    char *t = json_dumps(v, FLAGS);
    if (!t)
        return NULL;
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    for (const char *p = t; *p; p++) {
        nm_buf_append(&b, p, 1);
        if (*p == '\n')
            for (int i = 0; i < depth; i++)
                nm_buf_append(&b, "  ", 2);
    }
    free(t);
    return nm_buf_steal(&b, NULL);
}

static void same(const char *what, json_t *v)
{
    for (int depth = 0; depth <= 3; depth++) {
        char *want = want_text(v, depth);
        struct nm_buf got;
        nm_buf_init(&got, SIZE_MAX);
        int r = nm_json_indented(&got, v, depth);
        if (!want || r != 0)
            fprintf(stderr, "%s at depth %d: jansson %s, nm_json_indented %d\n", what, depth,
                    want ? "wrote it" : "refused", r);
        CHECK(want != NULL);
        CHECK_INT(r, 0);
        if (want && (got.len != strlen(want) || memcmp(got.data, want, got.len) != 0)) {
            fprintf(stderr, "%s at depth %d:\n want: %s\n got:  %.*s\n", what, depth, want,
                    (int)got.len, got.data ? got.data : "");
            CHECK(0);
        }
        free(want);
        nm_buf_finish(&got);
    }
    json_decref(v);
}

static void refused(const char *what, json_t *v)
{
    char *t = json_dumps(v, FLAGS);
    struct nm_buf got;
    nm_buf_init(&got, SIZE_MAX);
    int r = nm_json_indented(&got, v, 0);
    if (t || r == 0)
        fprintf(stderr, "%s: jansson %s, nm_json_indented %d\n", what, t ? "wrote it" : "refused", r);
    CHECK(t == NULL);
    CHECK_INT(r, NM_ERR_INVAL);
    free(t);
    nm_buf_finish(&got);
    json_decref(v);
}

int main(void)
{
    /* Scalars on their own (ENCODE_ANY). */
    same("null", json_null());
    same("true", json_true());
    same("false", json_false());
    same("zero", json_integer(0));
    same("int max", json_integer(INT64_MAX));
    same("int min", json_integer(INT64_MIN));
    const double reals[] = {0.0,     -0.0,     1.0,     -1.0,   37.8,    0.1 + 0.2, 1e20,
                            1e21,    1e-5,     1.5e-7,  1e100,  -2.5e-300, 123456789012345.0,
                            1234567890123456.0, 0.000123, DBL_MAX, DBL_MIN, 5e-324, 100.0,
                            1e15,    1e16,     3.0e7,   -7.25e+8};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "real %.17g", reals[i]);
        same(what, json_real(reals[i]));
    }

    /* Every byte below 0x80 and then some multi-byte text in one string. */
    char all[128 + 13];
    for (int c = 0; c < 128; c++)
        all[c] = (char)c;
    memcpy(all + 128, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"\\/", 13);
    same("every ASCII byte, UTF-8, DEL", json_stringn(all, sizeof all));
    same("empty string", json_string(""));

    /* Containers: empty, nested, keys in insertion order (not sorted), keys
     * that need escaping. */
    same("empty object", json_object());
    same("empty array", json_array());
    json_t *o = json_pack("{s:i, s:s, s:[], s:{}, s:[i, [], {}, [[]], {s:{}}], s:f, s:n}", "z", 1,
                          "a", "x\ty", "empty-a", "empty-o", "nest", 2, "inner", "k", 1.5, "n");
    CHECK(o != NULL);
    json_object_set_new(o, "key \"quoted\"\n\x01", json_true());
    json_object_set_new(o, "\xc3\xa9t\xc3\xa9", json_real(-0.5));
    json_object_set_new(o, "nul", json_stringn("a\0b", 3));
    same("nested object", o);
    json_t *deep = json_integer(7);
    for (int i = 0; i < 40; i++)
        deep = i % 2 ? json_pack("[o]", deep) : json_pack("{s:o}", "d", deep);
    same("forty levels", deep);

    /* Not UTF-8 (made without jansson's check): refused, as jansson does. */
    refused("lone continuation byte", json_stringn_nocheck("a\x80", 2));
    refused("overlong slash", json_stringn_nocheck("\xc0\xaf", 2));
    refused("surrogate", json_stringn_nocheck("\xed\xa0\x80", 3));
    refused("past U+10FFFF", json_stringn_nocheck("\xf4\x90\x80\x80", 4));
    refused("cut short", json_stringn_nocheck("\xe2\x82", 2));
    /* A key that is not UTF-8 (only set_nocheck can make one): refused,
     * where jansson 2.14 writes a broken text (the key's opening quote,
     * then the rest of the object). */
    json_t *bad_key = json_object();
    json_object_set_new_nocheck(bad_key, "k\xff", json_null());
    struct nm_buf kb;
    nm_buf_init(&kb, SIZE_MAX);
    CHECK_INT(nm_json_indented(&kb, bad_key, 0), NM_ERR_INVAL);
    nm_buf_finish(&kb);
    json_decref(bad_key);

    /* Deeper than the limit: refused, and not by running out of stack. */
    json_t *tower = json_null();
    for (int i = 0; i < NM_JSONTEXT_MAX_DEPTH + 10; i++)
        tower = json_pack("[o]", tower);
    struct nm_buf got;
    nm_buf_init(&got, SIZE_MAX);
    CHECK_INT(nm_json_indented(&got, tower, 0), NM_ERR_INVAL);
    nm_buf_finish(&got);
    json_decref(tower);
    return test_result();
}
