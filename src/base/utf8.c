/*
 * The one UTF-8 sanitiser (include/nearmiss/utf8.h).  Decoding follows
 * RFC 3629: a lead byte announces the length, every following byte must be
 * a continuation, and the decoded value must need that length.  On any
 * failure only the lead byte is replaced and decoding resumes at the next
 * byte, so one bad byte never swallows good text after it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "nearmiss/utf8.h"

static const char fffd[] = "\xef\xbf\xbd";

/* Length of the well-formed character at p, or 0 when p starts none. */
static size_t char_len(const unsigned char *p, const unsigned char *end, uint32_t *ret_cp)
{
    unsigned c = *p;
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) {
        *ret_cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *ret_cp = cp;
    return n;
}

size_t nm_utf8_char_len(const char *p, const char *end)
{
    uint32_t cp;
    return p < end ? char_len((const unsigned char *)p, (const unsigned char *)end, &cp) : 0;
}

static bool unwanted(uint32_t cp)
{
    return (cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe ||
           cp == 0xffff;
}

/* Printable ASCII, tab and newline: nearly every byte a host sends, kept
 * as it is without decoding. */
static bool plain(unsigned char c)
{
    return (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t';
}

int nm_utf8_sanitize(struct nm_buf *b, const char *s, size_t len, size_t max, unsigned flags)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    /* Valid text is copied in runs, not character by character: out is
     * what b->len would be had the pending run been appended already. */
    const unsigned char *run = p;
    size_t out = b->len;
    int r = 0;
    while (p < end && out < max) {
        if (plain(*p)) {
            p++;
            out++;
            continue;
        }
        uint32_t cp = 0;
        size_t n = char_len(p, end, &cp);
        bool lf = n == 1 && cp == '\r' && (flags & NM_UTF8_LINES);
        if (!lf && n != 0 && !unwanted(cp)) {
            p += n;
            out += n;
            continue;
        }
        if (p > run)
            r = nm_buf_append(b, run, (size_t)(p - run));
        if (lf) {
            /* CR LF -> LF; a lone CR is a line break too. */
            if (p + 1 < end && p[1] == '\n')
                p++;
            r = nm_buf_append(b, "\n", 1);
            p++;
        } else {
            r = nm_buf_append(b, fffd, 3);
            p += n ? n : 1;
        }
        run = p;
        out = b->len;
    }
    if (p > run)
        r = nm_buf_append(b, run, (size_t)(p - run));
    return r;
}

char *nm_utf8_clean(const char *s, size_t len)
{
    struct nm_buf b;
    /* Worst case: every byte becomes a 3-byte U+FFFD. */
    size_t cap = len > (SIZE_MAX - 4) / 3 ? SIZE_MAX - 4 : len * 3;
    nm_buf_init(&b, cap);
    nm_utf8_sanitize(&b, s, len, cap, NM_UTF8_LINES);
    return nm_buf_steal(&b, NULL);
}

char *nm_utf8_clean_json(const json_t *v)
{
    if (!json_is_string(v))
        return NULL;
    return nm_utf8_clean(json_string_value(v), json_string_length(v));
}

json_t *nm_json_string_sanitized(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        /* Already clean and short enough (the usual case): no copy to make,
         * and nothing for jansson to check again. */
        const unsigned char *p = (const unsigned char *)s, *end = p + len;
        while (p < end && plain(*p))
            p++;
        if (p == end)
            return json_stringn_nocheck(len ? s : "", len);
    }
    struct nm_buf b;
    nm_buf_init(&b, max + 4);
    nm_utf8_sanitize(&b, s, len, max, 0);
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    nm_buf_finish(&b);
    return j;
}
