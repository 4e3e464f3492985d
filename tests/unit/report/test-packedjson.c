/*
 * JSON values packed as text: every value reads back equal to what was
 * appended and dumps to the same bytes (key order, reals that are whole
 * numbers, reals needing all 17 digits, integers beyond 2^53, strings with
 * NUL bytes and non-ASCII text), before and after the buffers are shrunk; a
 * value that cannot be appended leaves the list as it was; an index past
 * the end is refused.  The value pool gives back one tree for values that
 * are json_equal (objects in any member order) and keeps apart values that
 * are not (1, 1.0 and "1"; arrays in another order), past its growth.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/packedjson.h"
#include "test.h"

static json_t *sample(int i)
{
    json_t *v = json_pack("{s:s, s:s, s:f, s:I, s:[{s:s, s:s}], s:n, s:b}", "name", "h-%d",
                          "status", i % 2 ? "ok" : "unreachable", "score", 12.0 + i / 7.0, "big",
                          (json_int_t)9007199254740993LL + i, "findings", "severity", "high",
                          "message", "disk \xc3\xa9t\xc3\xa9 full", "error", "waived", i % 3 == 0);
    /* The name differs per value; a string with a NUL byte in it. */
    char name[32];
    int n = snprintf(name, sizeof name, "h%d", i);
    json_object_set_new(v, "name", json_string(name));
    json_object_set_new(v, "raw", json_stringn("a\0b", 3));
    json_object_set_new(v, "zero", json_real(0.1 + 0.2));
    json_object_set_new(v, "order", json_pack("{s:i, s:i, s:i}", "z", n, "a", 2, "m", 3));
    return v;
}

static void check_pool(void)
{
    struct nm_json_pool pool = {0};
    json_t *a = nm_json_pool_share(&pool, json_pack("{s:s, s:[i, i]}", "sev", "high", "l", 1, 2));
    json_t *b = nm_json_pool_share(&pool, json_pack("{s:[i, i], s:s}", "l", 1, 2, "sev", "high"));
    CHECK(a == b); /* the same tree: member order does not matter */
    json_t *c = nm_json_pool_share(&pool, json_pack("{s:s, s:[i, i]}", "sev", "high", "l", 2, 1));
    CHECK(c != a); /* array order does */
    json_t *one[3] = {nm_json_pool_share(&pool, json_integer(1)),
                      nm_json_pool_share(&pool, json_real(1.0)),
                      nm_json_pool_share(&pool, json_string("1"))};
    CHECK(one[0] != one[1] && one[1] != one[2] && one[0] != one[2]);
    CHECK(json_is_integer(one[0]) && json_is_real(one[1]) && json_is_string(one[2]));
    /* Strings with a NUL byte are told apart by their whole length. */
    json_t *n1 = nm_json_pool_share(&pool, json_stringn("a\0b", 3));
    json_t *n2 = nm_json_pool_share(&pool, json_stringn("a\0c", 3));
    CHECK(n1 != n2);
    /* Many values, through several growths: each found again, none merged. */
    enum { M = 2000 };
    json_t *first[M];
    for (int i = 0; i < M; i++)
        first[i] = nm_json_pool_share(&pool, json_pack("{s:i, s:s}", "i", i, "s", "x"));
    for (int i = 0; i < M; i++) {
        json_t *again = nm_json_pool_share(&pool, json_pack("{s:s, s:i}", "s", "x", "i", i));
        CHECK(again == first[i]);
        CHECK_INT(json_integer_value(json_object_get(again, "i")), i);
        json_decref(again);
    }
    CHECK(pool.n == (size_t)M + 7);
    for (int i = 0; i < M; i++)
        json_decref(first[i]);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    for (int i = 0; i < 3; i++)
        json_decref(one[i]);
    json_decref(n1);
    json_decref(n2);
    nm_json_pool_finish(&pool);
    nm_json_pool_finish(NULL);
}

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
}

static void check_all(const struct nm_packed_json *p, json_t *const *want, size_t n)
{
    nm_diag d = {{0}};
    CHECK(p->n >= n);
    for (size_t i = 0; i < n; i++) {
        json_t *got = NULL;
        CHECK(nm_packed_json_get(p, i, &got, &d) == 0);
        CHECK(got && json_equal(got, want[i]));
        char *a = dump(got), *b = dump(want[i]);
        CHECK(a && b && strcmp(a, b) == 0);
        free(a);
        free(b);
        /* Whole numbers stay reals, and reals keep every bit. */
        CHECK(json_is_real(json_object_get(got, "score")));
        CHECK(json_real_value(json_object_get(got, "zero")) == 0.1 + 0.2);
        CHECK_INT(json_string_length(json_object_get(got, "raw")), 3);
        json_decref(got);
    }
}

int main(void)
{
    struct nm_packed_json p;
    nm_packed_json_init(&p);
    nm_diag d = {{0}};
    enum { N = 300 };
    json_t *want[N];
    for (int i = 0; i < N; i++) {
        want[i] = sample(i);
        CHECK(nm_packed_json_append(&p, want[i], &d) == 0);
        if (i == 5) {
            /* Refused: nothing appended, nothing after it moves. */
            CHECK(nm_packed_json_append(&p, NULL, &d) == NM_ERR_INVAL);
            CHECK_INT(p.n, 6);
        }
    }
    check_all(&p, want, N);
    /* Any value, not only objects. */
    json_t *scalar = json_integer(-4);
    CHECK(nm_packed_json_append(&p, scalar, &d) == 0);
    nm_packed_json_shrink(&p);
    CHECK_INT(p.alloc, N + 1);
    CHECK_INT(p.text.alloc, p.text.len + 1);
    check_all(&p, want, N);
    json_t *got = NULL;
    CHECK(nm_packed_json_get(&p, N, &got, &d) == 0);
    CHECK(got && json_equal(got, scalar));
    json_decref(got);
    got = NULL;
    CHECK(nm_packed_json_get(&p, N + 1, &got, &d) == NM_ERR_INVAL);
    CHECK(got == NULL);
    /* Much smaller than the trees: the point of packing. */
    CHECK(p.text.len < (size_t)N * 400);

    json_decref(scalar);
    for (int i = 0; i < N; i++)
        json_decref(want[i]);
    nm_packed_json_finish(&p);
    nm_packed_json_finish(&p);
    nm_packed_json_finish(NULL);
    check_pool();
    return test_result();
}
