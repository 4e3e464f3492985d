/*
 * Host bytes into text that is safe everywhere it goes: valid UTF-8, no NUL
 * and no control character but tab and newline (a terminal, an XML parser
 * and a JSON reader all stop or misbehave on the others).  One sanitiser for
 * every stage: what is replaced is replaced with U+FFFD, one per bad byte.
 *
 * jansson ownership in this header: json_t* arguments are borrowed; the
 * functions returning json_t* return a NEW reference.
 */
#ifndef NEARMISS_UTF8_H
#define NEARMISS_UTF8_H

#include <jansson.h>
#include <stddef.h>

#include "nearmiss/util.h"

enum nm_utf8_flags {
    /* CR LF becomes LF and a lone CR a LF (text shown as lines, as the
     * report writers do); without it CR is a control like any other. */
    NM_UTF8_LINES = 1u << 0,
};

/*
 * Appends s[0, len) to b as clean UTF-8.  Replaced with U+FFFD: invalid
 * and overlong sequences, surrogates, values past U+10FFFF, C0 controls but
 * tab and newline, DEL, C1 controls (U+0080..U+009F: some terminals act on
 * them as on ESC) and the noncharacters U+FFFE and U+FFFF (XML forbids them).
 * Stops once b holds max bytes or more, never inside a character (so up to
 * max + 3).  Returns what nm_buf_append returns for the last append.
 */
int nm_utf8_sanitize(struct nm_buf *b, const char *s, size_t len, size_t max, unsigned flags);

/* Length of the well-formed character (RFC 3629: no overlong form, no
 * surrogate, nothing past U+10FFFF) that starts at p, or 0 when none does. */
size_t nm_utf8_char_len(const char *p, const char *end);

/* The whole of s, cleaned with NM_UTF8_LINES, as a malloc'd string. */
char *nm_utf8_clean(const char *s, size_t len);

/* The same for a JSON string (embedded NULs included); NULL when v is not a
 * string. */
char *nm_utf8_clean_json(const json_t *v);

/* A JSON string from host bytes, cleaned (CR replaced, not a line break)
 * and cut at max bytes as nm_utf8_sanitize cuts.  New reference. */
json_t *nm_json_string_sanitized(const char *s, size_t len, size_t max);

#endif
