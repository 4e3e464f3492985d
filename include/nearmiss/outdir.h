/*
 * The report directory (`-o`), as one unit that a run opens before it
 * contacts any host and publishes into at the end:
 *
 *  - open: the directory exists or is created (mode NM_OUTDIR_DIR_MODE, and
 *    only the components nearmiss creates), is a directory and is writable;
 *    the run takes an exclusive flock(2) on NM_OUTDIR_LOCK_NAME inside it
 *    (released by the kernel when the process dies, so kill -9 never leaves
 *    a stale lock), and removes the temporaries earlier runs left behind;
 *  - stage: each output is written to a temporary beside its final name
 *    (".NAME.nmtmp-PID-XXXXXX", see nm_temp_prefix), mode set exactly, fsynced;
 *  - publish: only when every output is staged, all are renamed into place
 *    (in staging order) and the directory is fsynced.  If anything fails
 *    before that, the temporaries are removed and the previous set of
 *    reports stays as it was.  Each rename is atomic, the set of renames is
 *    not: a kill in the microseconds between two of them leaves newer files
 *    beside older ones (every file whole); latest.json goes last, so it is
 *    never newer than what it points a reader to.
 *
 * Reports list the fleet's weaknesses, so files are created 0600 and a
 * created directory 0700 by default, whatever the umask (README "Reports").
 */
#ifndef NEARMISS_OUTDIR_H
#define NEARMISS_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "nearmiss/error.h"

#define NM_OUTDIR_FILE_MODE 0600
#define NM_OUTDIR_LOCK_NAME ".nearmiss.lock"
/* A temporary whose writer is gone, or older than this, is stale. */
#define NM_OUTDIR_STALE_AGE_S 3600

struct nm_outdir_file {
    char *name; /* final name inside the directory */
    char *tmp;  /* its temporary, until published */
};

struct nm_outdir {
    char *path;
    int dir_fd;
    int lock_fd;
    int file_mode;
    bool created;         /* the directory did not exist before open */
    bool scratch;         /* made by nm_outdir_open_scratch: removed by finish */
    size_t stale_removed; /* temporaries of earlier runs removed by open */
    struct nm_outdir_file *staged;
    size_t n_staged;
};

/* The mode a created directory gets for a file mode: search permission for
 * whoever may read the files (0600 -> 0700, 0640 -> 0750). */
int nm_outdir_dir_mode(int file_mode);

void nm_outdir_init(struct nm_outdir *od);
/* Opens (creating if needed), checks, locks and cleans path.  file_mode is
 * what published files get (NM_OUTDIR_FILE_MODE by default).  NM_ERR_BUSY
 * when another process holds the directory (its pid in d when known),
 * NM_ERR_IO / NM_ERR_INVAL with the reason otherwise. */
int nm_outdir_open(struct nm_outdir *od, const char *path, int file_mode, nm_diag *d);
/* A private directory made for this run under $TMPDIR (default /tmp),
 * "NAME.XXXXXX", 0700, opened as above, for scratch files only (the gate's
 * host spool).  nm_outdir_finish() removes it, after the caller has removed
 * what it put there. */
int nm_outdir_open_scratch(struct nm_outdir *od, const char *name, nm_diag *d);
/* Writes data to a temporary for `name` (one plain path component).  On
 * failure that temporary is gone; the ones staged before stay staged until
 * nm_outdir_discard() or nm_outdir_finish(). */
int nm_outdir_stage(struct nm_outdir *od, const char *name, const void *data, size_t len,
                    nm_diag *d);
/* A temporary for `name` that is not staged (a run's scratch file, such as
 * the host spool): created 0600 with the staging name, so that the sweep
 * of a later run removes it when this one dies.  Returns its descriptor
 * (open for writing) and its name inside the directory in *ret_tmp; the
 * caller removes it (unlinkat on od->dir_fd). */
int nm_outdir_temp(struct nm_outdir *od, const char *name, char **ret_tmp, nm_diag *d);
/* Staging written in pieces: open returns a descriptor to a temporary that
 * is staged at once (a discard removes it, whatever was written), close
 * sets its mode, syncs and closes it.  A writer that fails closes the
 * descriptor itself and leaves the temporary to the discard. */
int nm_outdir_stage_open(struct nm_outdir *od, const char *name, nm_diag *d);
int nm_outdir_stage_close(struct nm_outdir *od, int fd, const char *name, nm_diag *d);
/* Renames every staged file into place, in staging order, then fsyncs the
 * directory.  A failure removes the temporaries not yet renamed. */
int nm_outdir_publish(struct nm_outdir *od, nm_diag *d);
/* Removes every staged temporary; the published files are untouched. */
void nm_outdir_discard(struct nm_outdir *od);
/* Discards what is staged, releases the lock, frees; accepts NULL and an
 * outdir that was only initialised. */
void nm_outdir_finish(struct nm_outdir *od);

/* The stale-temporary sweep on its own, for a directory already opened;
 * returns how many were removed.  Only regular files named by
 * nm_temp_prefix() whose writer is no longer running or that are older than
 * max_age_s are removed. */
size_t nm_outdir_remove_stale(struct nm_outdir *od, long max_age_s);

#endif
