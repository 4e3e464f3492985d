/*
 * Bounded cursor parsing over host bytes, shared by the parsers.
 *
 * What a host prints may hold NUL bytes, need not be NUL-terminated and may
 * end anywhere, so a parser never hands it to a C string function: it walks
 * (pointer, length) spans over the caller's buffer and advances a cursor
 * that can never pass the end (curl's strparse idea).  A span borrows: it
 * lives as long as the buffer it points into.  Host bytes are copied only
 * into a capped evidence buffer the caller owns and into JSON strings,
 * which are sanitised and capped.
 *
 * A span with p == NULL (always with n == 0) means "absent", as opposed to
 * an empty field that is present; helpers treat it as empty, and the JSON
 * helpers as "".
 *
 * jansson: every json_t * returned here is a NEW reference.
 */
#ifndef NM_CURSOR_H
#define NM_CURSOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nearmiss/parsers.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"

struct nm_span {
    const char *p;
    size_t n;
};

/* [s, e) as a span; empty (never a wrapped length) when e is not past s, so
 * code that finds two ends separately cannot make a huge span by mistake. */
struct nm_span nm_span_range(const char *s, const char *e);

/* One past the last byte.  Written so that an absent span does no
 * arithmetic on NULL, which the sanitizers rightly reject. */
static inline const char *nm_span_end(struct nm_span s)
{
    return s.n ? s.p + s.n : s.p;
}

/* Blanks are what the tools we read put between columns; '\r' and '\n' are
 * not, so that a stray CR stays visible in a token rather than vanish. */
static inline bool nm_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static inline bool nm_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII only: host text is compared as the C locale would, whatever the
 * locale of the scanner. */
static inline char nm_ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The next line of [*cur, end) without its "\n" and one "\r" before it
 * (CRLF output from Windows-edited files and some BMCs); false at the end.
 * A last line without "\n" still counts, an empty input has no line. */
bool nm_span_next_line(const char **cur, const char *end, struct nm_span *ret);

/* Without leading and trailing blanks. */
struct nm_span nm_span_trim(struct nm_span s);
/* Without leading blanks only: what runs to the end of a line (a mount
 * point, an untrimmed value) may end in blanks that belong to it. */
struct nm_span nm_span_ltrim(struct nm_span s);
/* Also without "\r" and "\n": for text cut out of a document rather than
 * taken line by line (smartctl sections, zypper XML text). */
struct nm_span nm_span_trim_crlf(struct nm_span s);
/* Empty or blanks only. */
bool nm_span_is_blank(struct nm_span s);

/* The span past its first k bytes; empty when k >= n, so an offset computed
 * from hostile input cannot step outside. */
struct nm_span nm_span_after(struct nm_span s, size_t k);

/* Next blank-separated token of *rest, which advances past it; false (and
 * *rest empty) when only blanks are left. */
bool nm_span_next_tok(struct nm_span *rest, struct nm_span *tok);

/* Splits line into blank-separated tokens, storing at most max of them.
 * Returns min(count, max + 1): a result above max says "more than max"
 * without reading the rest of a hostile line, so callers compare it with
 * the shape they want (n == 3, n < 6) and never index past max - 1. */
size_t nm_span_split(struct nm_span line, struct nm_span *toks, size_t max);

/* Cuts *rest at the first sep: *field is what precedes it, *rest what
 * follows.  With no sep left, *field is all of *rest, *rest becomes empty
 * and the result is false (so "a," gives "a" then an empty last field). */
bool nm_span_cut(struct nm_span *rest, char sep, struct nm_span *field);

/* Comparisons with a C string: ours or a check file's, never host text,
 * which may hold NUL. */
bool nm_span_eq(struct nm_span s, const char *lit);
bool nm_span_eq_nocase(struct nm_span s, const char *lit);
bool nm_span_has_prefix(struct nm_span s, const char *lit);
bool nm_span_has_prefix_nocase(struct nm_span s, const char *lit);
bool nm_span_has_suffix(struct nm_span s, const char *lit);
/* First occurrence of lit in s, or NULL (always NULL in an empty span). */
const char *nm_span_find(struct nm_span s, const char *lit);
const char *nm_span_find_nocase(struct nm_span s, const char *lit);

/* The whole span as a decimal number (nm_parse_u64/nm_parse_i64), so that
 * "12abc", "" or a value past 64 bits is refused rather than read as 12, 0
 * or a wrapped value.  0, or NM_ERR_PARSE with *ret untouched. */
int nm_span_to_u64(struct nm_span s, uint64_t *ret);
int nm_span_to_i64(struct nm_span s, int64_t *ret);

/* Host bytes as a JSON string: sanitised and cut at max bytes
 * (nm_json_string_sanitized).  The evidence form uses the cap every parser
 * shares, NM_PARSER_MAX_EVIDENCE. */
json_t *nm_span_json(struct nm_span s, size_t max);
json_t *nm_span_evidence(struct nm_span s);
/* The same text as a C string for a diagnostic: at most max bytes of host
 * text, then cut to fit out (outsz > 0). */
void nm_span_quote(struct nm_span s, size_t max, char *out, size_t outsz);

/*
 * Evidence built from several raw lines: they are joined by "\n" in a
 * buffer whose cap the caller chose at nm_buf_init (the raw bytes kept;
 * the JSON string is cut again at NM_PARSER_MAX_EVIDENCE).  Nothing is
 * added once the buffer is full, and an absent span adds nothing, not
 * even an empty line.
 */
void nm_evidence_add(struct nm_buf *ev, struct nm_span line);
json_t *nm_evidence_json(const struct nm_buf *ev);

/* Appends item (stolen) to a parser's items unless NM_PARSER_MAX_ITEMS is
 * reached; false (and item released) once it is. */
bool nm_push_item(json_t *items, json_t *item);

#endif
