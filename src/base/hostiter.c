/* The array-backed host iterator (nearmiss/hostiter.h). */
#include "nearmiss/hostiter.h"

static int array_next(void *ctx, const json_t **ret_host, nm_diag *d)
{
    (void)d;
    struct nm_host_iter_array_state *st = ctx;
    *ret_host = st->pos < json_array_size(st->hosts) ? json_array_get(st->hosts, st->pos++) : NULL;
    return 0;
}

static int array_rewind(void *ctx, nm_diag *d)
{
    (void)d;
    struct nm_host_iter_array_state *st = ctx;
    st->pos = 0;
    return 0;
}

void nm_host_iter_array(struct nm_host_iter *it, struct nm_host_iter_array_state *state,
                        const json_t *report)
{
    state->hosts = json_object_get(report, "hosts");
    state->pos = 0;
    it->next = array_next;
    it->rewind = array_rewind;
    it->ctx = state;
    it->n_hosts = json_array_size(state->hosts);
}
