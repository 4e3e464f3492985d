/*
 * A stored report read host by host.  A command that reads whole reports
 * (merge reads every shard's) would otherwise hold each file's text and its
 * whole tree at once: some 60 KiB a host at 10 000 hosts, where a scan
 * holds a few.  The reader keeps one host's text and tree at a time.
 *
 * nm_report_read() parses the JSON object in PATH (at most max bytes):
 * every top-level member except "hosts" goes into *ret_top (a new object,
 * or skipped when ret_top is NULL), with "hosts" there as an empty array
 * when the file has a "hosts" array; each element of that array is parsed
 * on its own and handed, in order, to host_cb (when host_cb is NULL the
 * elements are only checked for balanced brackets and counted).
 * *ret_n_hosts (may be NULL) gets the number of elements.
 *
 * The file is as hostile as any input: a member or host larger than
 * NM_REPORT_READ_VALUE_MAX, malformed JSON, a duplicate top-level member or
 * data after the object is refused, and every error names the file and the
 * line.  host_cb borrows the host; a negative return stops the read and is
 * returned as is.
 */
#ifndef NEARMISS_REPORTREAD_H
#define NEARMISS_REPORTREAD_H

#include <jansson.h>
#include <stddef.h>

#include "nearmiss/error.h"

/* One top-level member or one host, as text. */
#define NM_REPORT_READ_VALUE_MAX ((size_t)256 << 20)

typedef int (*nm_report_host_fn)(void *ctx, size_t i, json_t *host, nm_diag *d);

int nm_report_read(const char *path, size_t max, json_t **ret_top, size_t *ret_n_hosts,
                   nm_report_host_fn host_cb, void *ctx, nm_diag *d);

/*
 * The same file's hosts as a host iterator (nearmiss/hostiter.h), for the
 * writers: the file is read once through (the top level into *ret_top, the
 * hosts counted and checked for balance), then every pass of the iterator
 * reads the hosts from the file again, one at a time (a rewind seeks back
 * to them).  The first hosts that fit in memory bytes (estimated as the
 * spool does) are kept parsed after the first pass and not read again.
 * The file stays open until nm_report_iter_close(), so a report replaced
 * meanwhile (renamed over) is still read whole.  A file without a "hosts"
 * array is refused.
 */
struct nm_host_iter;
struct nm_report_file_iter;
int nm_report_iter_open(const char *path, size_t max, size_t memory, json_t **ret_top,
                        struct nm_host_iter *it, struct nm_report_file_iter **ret_state,
                        nm_diag *d);
/* The same for a stream that cannot be read twice (standard input), called
 * `name` in messages: copied (at most max bytes) to an unnamed private file
 * in $TMPDIR that nothing can leave behind, then read from there, so that
 * memory stays as flat as for a file.  in_fd is read to its end, not closed. */
int nm_report_iter_open_stream(int in_fd, const char *name, size_t max, size_t memory,
                               json_t **ret_top, struct nm_host_iter *it,
                               struct nm_report_file_iter **ret_state, nm_diag *d);
void nm_report_iter_close(struct nm_report_file_iter *st);

#endif
