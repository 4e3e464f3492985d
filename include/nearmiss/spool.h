/*
 * The hosts of a run kept on disk while it runs, so that memory does not
 * grow with the fleet.  Each host is appended, in a compact binary form of
 * its JSON value (src/report/spool.c), to one
 * scratch file in the report directory (created 0600 under the staging
 * name, so that a run killed half way leaves nothing a later run's sweep
 * does not remove); only its offset stays in memory.  Putting a host again
 * appends its new version and forgets the old one.
 *
 * Reading a host back gives the same JSON value that was put (key order,
 * integers and reals exactly, strings with NUL), so a report written from
 * the spool is byte for byte the one written from memory.
 *
 * Hosts are kept in memory as they are until their estimated size reaches a
 * budget (nm_spool_set_memory; NM_SPOOL_MEMORY_DEFAULT), and only the rest
 * goes to the file: a small fleet pays nothing for the spool, a large one
 * holds at most the budget.  A host kept in memory is shared, not copied:
 * get hands out the host that was put, so a caller must not change a host
 * after putting it, and one that changes a host it got puts it back.
 *
 * nm_spool_put() may be called from several threads at once.
 *
 * jansson ownership: put borrows the host; get returns a new reference.
 * A host handed out by the spool iterator is owned by the iterator and
 * valid until its next next(), rewind() or nm_host_iter_spool_finish().
 */
#ifndef NEARMISS_SPOOL_H
#define NEARMISS_SPOOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "nearmiss/error.h"
#include "nearmiss/hostiter.h"

struct nm_outdir;
struct nm_spool;

/* Name the scratch file is staged under (".nearmiss-hosts.spool.nmtmp-..."). */
#define NM_SPOOL_NAME "nearmiss-hosts.spool"

/* A spool for n hosts (indexes 0..n-1) in the open report directory od,
 * which must stay open until nm_spool_destroy(). */
int nm_spool_create(struct nm_outdir *od, size_t n, struct nm_spool **ret, nm_diag *d);
/* Bytes of hosts (estimated) kept in memory at most; 0 = every host to the
 * file.  Set before the first put. */
#define NM_SPOOL_MEMORY_DEFAULT ((size_t)8 << 20)
void nm_spool_set_memory(struct nm_spool *sp, size_t bytes);
/* That budget as NEARMISS_SPOOL_MEMORY gives it (MiB; unset or empty: the
 * default); NM_ERR_INVAL naming the variable when it is not a number. */
int nm_spool_memory_env(size_t *ret, nm_diag *d);
/* The file's form of one value (malloc'd), and back: NULL for bytes that
 * are not exactly one encoded value (truncated, trailing bytes, a bad tag,
 * a count past the data, a number not in its shortest form, a key given
 * twice, nesting deeper than 512, invalid UTF-8). */
void nm_spool_encode(const json_t *v, char **ret, size_t *ret_len);
json_t *nm_spool_decode(const void *data, size_t len);
/* What a host (any JSON value) is estimated to take in memory as a tree. */
size_t nm_spool_json_cost(const json_t *v);
/* How many hosts are in memory now (for tests and -v). */
size_t nm_spool_in_memory(const struct nm_spool *sp);
/* Removes the file and frees; accepts NULL. */
void nm_spool_destroy(struct nm_spool *sp);

/* Appends host as host i.  NM_ERR_IO (the file cannot grow: disk full, size
 * limit) leaves host i as it was before the call. */
int nm_spool_put(struct nm_spool *sp, size_t i, const json_t *host, nm_diag *d);
/* Host i as last put; NM_ERR_NOTFOUND when it never was. */
int nm_spool_get(struct nm_spool *sp, size_t i, json_t **ret_host, nm_diag *d);
bool nm_spool_has(const struct nm_spool *sp, size_t i);
size_t nm_spool_size(const struct nm_spool *sp);
/* The scratch file's name inside the report directory. */
const char *nm_spool_name(const struct nm_spool *sp);

/* Hosts 0..n-1 in order; every host must have been put. */
struct nm_host_iter_spool_state {
    struct nm_spool *sp;
    size_t pos;
    json_t *cur;
};
void nm_host_iter_spool(struct nm_host_iter *it, struct nm_host_iter_spool_state *st,
                        struct nm_spool *sp);
void nm_host_iter_spool_finish(struct nm_host_iter_spool_state *st);

#endif
