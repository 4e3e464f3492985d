/* JSON values packed as text (nearmiss/packedjson.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/packedjson.h"

void nm_packed_json_init(struct nm_packed_json *p)
{
    nm_buf_init(&p->text, SIZE_MAX);
    p->end = NULL;
    p->n = p->alloc = 0;
}

void nm_packed_json_finish(struct nm_packed_json *p)
{
    if (!p)
        return;
    nm_buf_finish(&p->text);
    free(p->end);
    p->end = NULL;
    p->n = p->alloc = 0;
}

static int to_buf(const char *data, size_t len, void *ctx)
{
    nm_buf_append(ctx, data, len);
    return 0;
}

int nm_packed_json_append(struct nm_packed_json *p, const json_t *v, nm_diag *d)
{
    size_t start = p->text.len;
    /* Reals with all 17 digits, so that a score reads back as it was. */
    if (!v || json_dump_callback(v, to_buf, &p->text,
                                 JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)) != 0) {
        p->text.len = start;
        if (p->text.data)
            p->text.data[start] = '\0';
        return nm_diag_set(d, NM_ERR_INVAL, "a value that JSON cannot hold");
    }
    if (p->n == p->alloc) {
        p->alloc = p->alloc ? p->alloc * 2 : 64;
        p->end = nm_xreallocarray(p->end, p->alloc, sizeof *p->end);
    }
    p->end[p->n++] = p->text.len;
    return 0;
}

int nm_packed_json_get(const struct nm_packed_json *p, size_t i, json_t **ret, nm_diag *d)
{
    if (i >= p->n)
        return nm_diag_set(d, NM_ERR_INVAL, "no packed value %zu (of %zu)", i, p->n);
    size_t start = i ? p->end[i - 1] : 0;
    json_error_t err;
    json_t *v =
        json_loadb(p->text.data + start, p->end[i] - start, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!v)
        return nm_diag_set(d, NM_ERR_INVAL, "packed value %zu does not read back: %s", i, err.text);
    *ret = v;
    return 0;
}

void nm_packed_json_shrink(struct nm_packed_json *p)
{
    if (p->text.data && p->text.alloc > p->text.len + 1) {
        p->text.data = nm_xrealloc(p->text.data, p->text.len + 1);
        p->text.alloc = p->text.len + 1;
    }
    if (p->end && p->alloc > p->n) {
        p->end = nm_xreallocarray(p->end, p->n, sizeof *p->end);
        p->alloc = p->n;
    }
}

/* The pool is an open-addressing table of values by a hash that equal
 * values share; cap is a power of two, the table at most half full. */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint64_t bytes_hash(const char *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL; /* FNV-1a */
    return h;
}

/* Equal values (json_equal) hash alike: an object's members are summed, as
 * json_equal ignores their order; the type is part of the hash, as json_equal
 * tells 1 from 1.0. */
static uint64_t value_hash(const json_t *v)
{
    uint64_t h = 0xcbf29ce484222325ULL + (uint64_t)json_typeof(v);
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        uint64_t sum = 0;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            const char *k = json_object_iter_key(it);
            uint64_t kh = bytes_hash(k, json_object_iter_key_len(it), h);
            sum += mix64(kh ^ value_hash(json_object_iter_value(it)));
        }
        return mix64(h + sum);
    }
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(v); i++)
            h = mix64(h ^ value_hash(json_array_get(v, i)));
        return h;
    case JSON_STRING:
        return mix64(bytes_hash(json_string_value(v), json_string_length(v), h));
    case JSON_INTEGER:
        return mix64(h ^ (uint64_t)json_integer_value(v));
    case JSON_REAL: {
        double x = json_real_value(v);
        uint64_t bits;
        memcpy(&bits, &x, sizeof bits);
        return mix64(h ^ bits);
    }
    default:
        return mix64(h);
    }
}

static void pool_grow(struct nm_json_pool *p)
{
    struct nm_json_pool g = {.cap = p->cap ? p->cap * 2 : 256};
    g.slot = nm_xcalloc(g.cap, sizeof *g.slot);
    for (size_t i = 0; i < p->cap; i++) {
        if (!p->slot[i].v)
            continue;
        size_t j = p->slot[i].hash & (g.cap - 1);
        while (g.slot[j].v)
            j = (j + 1) & (g.cap - 1);
        g.slot[j] = p->slot[i];
    }
    g.n = p->n;
    free(p->slot);
    *p = g;
}

void nm_json_pool_finish(struct nm_json_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->cap; i++)
        json_decref(p->slot[i].v);
    free(p->slot);
}

json_t *nm_json_pool_share(struct nm_json_pool *p, json_t *v)
{
    if (2 * (p->n + 1) > p->cap)
        pool_grow(p);
    uint64_t h = value_hash(v);
    size_t j = h & (p->cap - 1);
    for (; p->slot[j].v; j = (j + 1) & (p->cap - 1)) {
        if (p->slot[j].hash == h && json_equal(p->slot[j].v, v)) {
            json_decref(v);
            return json_incref(p->slot[j].v);
        }
    }
    p->slot[j] = (struct nm_json_pooled){h, json_incref(v)};
    p->n++;
    return v;
}
