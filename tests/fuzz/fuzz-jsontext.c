/*
 * The report's JSON writer (nm_json_indented) against jansson: any JSON
 * text that loads gives, at depth 0 and at a depth taken from the input's
 * size, exactly json_dumps's bytes (indented after each newline for the
 * depth), or both refuse it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nearmiss/jsontext.h"

static void compare(const json_t *v, int depth)
{
    char *t = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15) |
                                JSON_ENCODE_ANY);
    struct nm_buf got, want;
    nm_buf_init(&got, SIZE_MAX);
    nm_buf_init(&want, SIZE_MAX);
    int r = nm_json_indented(&got, v, depth);
    FUZZ_ASSERT((t != NULL) == (r == 0));
    if (t) {
        for (const char *p = t; *p; p++) {
            nm_buf_append(&want, p, 1);
            if (*p == '\n')
                for (int i = 0; i < depth; i++)
                    nm_buf_append(&want, "  ", 2);
        }
        FUZZ_ASSERT(got.len == want.len && memcmp(got.data, want.data, got.len) == 0);
    }
    free(t);
    nm_buf_finish(&got);
    nm_buf_finish(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v)
        return 0;
    compare(v, 0);
    compare(v, 1 + (int)(size % 3));
    json_decref(v);
    return 0;
}

const struct nm_fuzz_replay nm_fuzz_replay = {"jsontext", NULL};
