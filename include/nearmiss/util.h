/*
 * Small shared helpers: allocation that aborts on exhaustion (as OpenSSH's
 * xmalloc: a scanner out of memory has no useful way on), a byte buffer with
 * a hard cap (curl's dynbuf idea: every buffer filled from a host is bounded),
 * bounded number parsing that advances a cursor (never sscanf/atoi).
 */
#ifndef NEARMISS_UTIL_H
#define NEARMISS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nearmiss/error.h"
/* The clocks were declared here first; callers still find them through util.h. */
#include "nearmiss/time.h"

void *nm_xmalloc(size_t n);
void *nm_xcalloc(size_t n, size_t size);
void *nm_xrealloc(void *p, size_t n);
void *nm_xreallocarray(void *p, size_t n, size_t size);
char *nm_xstrdup(const char *s);
char *nm_xstrndup(const char *s, size_t n);
char *nm_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer with a cap.  Always NUL-terminated (not counted in len). */
struct nm_buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t cap; /* maximum len; appends beyond it fail with NM_ERR_TOOBIG */
};
void nm_buf_init(struct nm_buf *b, size_t cap);
void nm_buf_finish(struct nm_buf *b);
void nm_buf_reset(struct nm_buf *b);
/* Appends as much as fits; returns NM_ERR_TOOBIG when anything was dropped. */
int nm_buf_append(struct nm_buf *b, const void *data, size_t len);
int nm_buf_appends(struct nm_buf *b, const char *s);
int nm_buf_appendf(struct nm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes ownership of the data (NUL-terminated); the buffer is left empty. */
char *nm_buf_steal(struct nm_buf *b, size_t *ret_len);

/* Cursor parsing over [*p, end): each advances *p only on success. */
int nm_parse_u64(const char **p, const char *end, uint64_t *ret);
int nm_parse_i64(const char **p, const char *end, int64_t *ret);
/* Whole string must be a number (no trailing bytes). */
int nm_str_to_u64(const char *s, uint64_t *ret);
int nm_str_to_i64(const char *s, int64_t *ret);
void nm_skip_spaces(const char **p, const char *end);

bool nm_str_has_prefix(const char *s, const char *prefix);
/* Shell-safe single quoting: appends 'x'\''y' form. */
int nm_buf_append_shquoted(struct nm_buf *b, const char *s);

/* "~/" expansion with $HOME; returns malloc'd copy. */
char *nm_expand_home(const char *path);

/*
 * Temporary files are named ".NAME.nmtmp-PID-XXXXXX" beside NAME, so a later
 * run can tell its own leftovers (and whether their writer still lives) from
 * anyone else's files.  nm_temp_prefix() gives ".NAME.nmtmp-PID-" (malloc'd);
 * nm_temp_name_parse() recognises such a name and returns the writer's pid.
 */
char *nm_temp_prefix(const char *name);
bool nm_temp_name_parse(const char *entry, long *ret_pid);

/* All of data to fd, through short writes and EINTR; -1 with errno set. */
int nm_write_all(int fd, const void *data, size_t len);

/* Writes the whole buffer to path atomically: temp file in the same
 * directory (named as above), mode set exactly (not through the umask),
 * fsync, rename.  A crash leaves the old file intact. */
int nm_write_atomic(const char *path, const void *data, size_t len, int mode, nm_diag *d);
/*
 * The one way a name that came from outside (a host name from an inventory)
 * becomes a file name: a single path component that cannot climb out of its
 * directory, hide itself or name a device.  Bytes other than ASCII letters,
 * digits, '-', '_' and '.' become %XX, and so does a leading '.', so "." and
 * ".." cannot come out and distinct names never share a file.  Names longer
 * than NM_FILE_NAME_MAX are cut and end in "~" plus 16 hex digits of their
 * SHA-256, so they stay distinct too.  suffix (e.g. ".sh") is appended
 * verbatim and must itself be safe.  Returns malloc'd memory.
 */
#define NM_FILE_NAME_MAX 200
char *nm_safe_file_name(const char *name, const char *suffix);
/* DIR "/" nm_safe_file_name(name, suffix), malloc'd. */
char *nm_safe_path_in(const char *dir, const char *name, const char *suffix);

/* mkdir -p */
int nm_mkdir_p(const char *path, int mode, nm_diag *d);
/* Reads a whole file, refusing files larger than cap. */
int nm_read_file(const char *path, size_t cap, char **ret_data, size_t *ret_len, nm_diag *d);

/* The keys a file loader accepts at one place of its file: prefix + key is
 * the documented dotted name ("applies." "os").  Tables of these end with
 * {NULL, NULL}; the loaders reject unknown keys with the same lists. */
struct nm_keyset {
    const char *prefix;
    const char *const *keys; /* NULL-terminated */
};

/* fnmatch-style glob on plain strings (no path semantics). */
bool nm_glob_match(const char *pattern, const char *s);

#endif
