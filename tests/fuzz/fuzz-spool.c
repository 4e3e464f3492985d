/*
 * The spool's binary form of a host (nm_spool_decode): any bytes must decode
 * to one value or be refused, never crash; a value that decodes encodes to
 * the same bytes (the form has one spelling per value) and decodes again
 * to the same value.  Each input is also read as JSON text and, when it is
 * some, sent through the form and back.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nearmiss/spool.h"

/* Encoded, decoded and encoded again: the same bytes.  (Not json_equal:
 * it looks keys up as C strings, so two objects with a key holding a NUL
 * never compare equal.) */
static void round_trip(const json_t *v)
{
    char *enc = NULL, *enc2 = NULL;
    size_t len = 0, len2 = 0;
    nm_spool_encode(v, &enc, &len);
    json_t *back = nm_spool_decode(enc, len);
    FUZZ_ASSERT(back);
    nm_spool_encode(back, &enc2, &len2);
    FUZZ_ASSERT(len2 == len && memcmp(enc, enc2, len) == 0);
    json_decref(back);
    free(enc);
    free(enc2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = nm_spool_decode(data, size);
    if (v) {
        char *enc = NULL;
        size_t len = 0;
        nm_spool_encode(v, &enc, &len);
        FUZZ_ASSERT(len == size && memcmp(enc, data, size) == 0);
        free(enc);
        round_trip(v);
        json_decref(v);
    }
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (j)
        round_trip(j);
    json_decref(j);
    return 0;
}

const struct nm_fuzz_replay nm_fuzz_replay = {"spool", NULL};
