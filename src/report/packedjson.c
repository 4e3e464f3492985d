/* JSON values packed as text (nearmiss/packedjson.h). */
#include <stdlib.h>

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
