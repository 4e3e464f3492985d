/*
 * A list of JSON values kept as compact text in one buffer, for many small
 * values held a long time: ten thousand host summaries as jansson trees
 * cost about 2.5 KiB each (an allocation per object, key and bucket array),
 * as text about a tenth of that.  A value is encoded once when appended
 * and decoded each time it is read; what is read equals what was appended
 * (key order, integers and reals, strings with NUL bytes).
 *
 * jansson ownership: append() borrows its value; get() returns a new
 * reference the caller owns.
 */
#ifndef NEARMISS_PACKEDJSON_H
#define NEARMISS_PACKEDJSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "nearmiss/error.h"
#include "nearmiss/util.h"

struct nm_packed_json {
    struct nm_buf text; /* each value's compact encoding, one after the other */
    size_t *end;        /* where value i ends in text (it starts where i - 1 ends) */
    size_t n, alloc;
};

void nm_packed_json_init(struct nm_packed_json *p);
/* Frees what p holds; p may be NULL. */
void nm_packed_json_finish(struct nm_packed_json *p);
/* Appends v (any JSON value); NM_ERR_INVAL with d set when it cannot be
 * encoded (a non-finite real), and then p is unchanged. */
int nm_packed_json_append(struct nm_packed_json *p, const json_t *v, nm_diag *d);
/* Value i (< p->n), decoded, in *ret. */
int nm_packed_json_get(const struct nm_packed_json *p, size_t i, json_t **ret, nm_diag *d);
/* Hands back the buffers' unused room once nothing more is appended. */
void nm_packed_json_shrink(struct nm_packed_json *p);

/*
 * Values that many trees hold alike, one tree each: decoded summaries share
 * their statuses, findings and servers through it (jansson counts the
 * references), which is only safe because nothing changes them afterwards.
 * Equal means json_equal (object members in any order; 1 and 1.0 differ).
 * Zero-initialised; nm_json_pool_finish drops what it holds.
 */
struct nm_json_pool {
    struct nm_json_pooled {
        uint64_t hash;
        json_t *v; /* a reference the pool holds; NULL = empty slot */
    } *slot;
    size_t n, cap;
};

/* Takes v; gives back the value equal to it that the pool already holds (a
 * new reference; v is released), or v itself, now held by the pool too. */
json_t *nm_json_pool_share(struct nm_json_pool *p, json_t *v);
void nm_json_pool_finish(struct nm_json_pool *p);

#endif
