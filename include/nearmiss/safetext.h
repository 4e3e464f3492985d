/*
 * Text that came from a host, made safe for where it goes.
 *
 * Terminal: a host can put escape sequences into anything it sends (an
 * auth-methods list, a hostname, a message), and a terminal obeys them
 * (window title, cleared screen, faked lines).  Everything the command layer
 * prints that a host could have influenced goes through nm_term_safe().
 *
 * JSON and fixed buffers: jansson refuses invalid UTF-8 (json_string returns
 * NULL), so a message cut in the middle of a character, or carrying a host's
 * raw bytes, would vanish from the report.  nm_utf8_fix() repairs a buffer
 * in place after a bounded formatter filled it.
 */
#ifndef NEARMISS_SAFETEXT_H
#define NEARMISS_SAFETEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Length of the longest prefix of s[0..len) that ends on a character
 * boundary (a cut there never splits a UTF-8 sequence). */
size_t nm_utf8_clip(const char *s, size_t len);

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool nm_utf8_valid(const char *s, size_t len);

/* In place on a NUL-terminated string: drops a partial character at the end
 * and replaces every byte that is not part of a valid UTF-8 sequence with
 * '?'.  The result is always valid UTF-8 and never longer. */
void nm_utf8_fix(char *s);

/* A new string (free() it) safe to print on a terminal: C0 controls, DEL,
 * C1 controls, bidirectional overrides and invalid bytes are written as
 * \xNN or \u{NNNN}; valid printable UTF-8 stays.  Backslashes are left
 * alone so that the function is idempotent: text escaped where it was
 * received (a peer's first line in an error) is not escaped twice when
 * printed.  NULL gives "(none)".  Never returns NULL. */
char *nm_term_safe(const char *s);

/* Same for a byte range that may hold NUL. */
char *nm_term_safe_bytes(const char *s, size_t len);

/* vsnprintf into a new string, then nm_term_safe(): for messages whose
 * arguments may carry host text.  free() the result. */
char *nm_term_vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
