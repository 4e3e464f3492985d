/*
 * The hosts of a report, one at a time.  A report of ten thousand hosts is
 * too big to hold as one tree, so the writers and the per-host steps take
 * their hosts through this iterator: over the report's own "hosts" array
 * (nm_host_iter_array) or over hosts kept on disk while the scan runs.
 *
 * jansson ownership: a host handed out by next() is borrowed and valid only
 * until the following next(), rewind() or finish() on the same iterator.
 */
#ifndef NEARMISS_HOSTITER_H
#define NEARMISS_HOSTITER_H

#include <jansson.h>
#include <stddef.h>

#include "nearmiss/error.h"

struct nm_host_iter {
    /* The next host in *ret_host, or NULL after the last; 0, or a negative
     * nm_err with d set (a host that could not be read back). */
    int (*next)(void *ctx, const json_t **ret_host, nm_diag *d);
    /* Back to the first host (a writer may make two passes). */
    int (*rewind)(void *ctx, nm_diag *d);
    void *ctx;
    size_t n_hosts; /* how many next() will hand out */
};

/* Over report["hosts"] (borrowed; the report must outlive the iterator).
 * state is caller storage; no finish needed. */
struct nm_host_iter_array_state {
    const json_t *hosts;
    size_t pos;
};
void nm_host_iter_array(struct nm_host_iter *it, struct nm_host_iter_array_state *state,
                        const json_t *report);

static inline int nm_host_iter_next(const struct nm_host_iter *it, const json_t **ret_host,
                                    nm_diag *d)
{
    return it->next(it->ctx, ret_host, d);
}

static inline int nm_host_iter_rewind(const struct nm_host_iter *it, nm_diag *d)
{
    return it->rewind(it->ctx, d);
}

#endif
