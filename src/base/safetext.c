#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/safetext.h"
#include "nearmiss/util.h"

/*
 * Decodes one UTF-8 sequence at s[0..len).  Returns its length and the code
 * point, or 0 when the bytes there are not a valid (shortest-form,
 * non-surrogate) sequence; *incomplete says a valid start ran out of bytes.
 */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp, bool *incomplete)
{
    *incomplete = false;
    if (len == 0)
        return 0;
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (i >= len) {
            *incomplete = true;
            return 0;
        }
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

size_t nm_utf8_clip(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    /* At most three continuation bytes can belong to an unfinished tail. */
    size_t i = len;
    for (size_t back = 0; back < 4 && i > 0; back++) {
        i--;
        if ((u[i] & 0xc0) != 0x80) {
            size_t need = u[i] < 0x80    ? 1
                          : u[i] >= 0xf0 ? 4
                          : u[i] >= 0xe0 ? 3
                          : u[i] >= 0xc0 ? 2
                                         : 1;
            return len - i >= need ? len : i;
        }
    }
    return len;
}

bool nm_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        bool inc;
        size_t n = utf8_decode(u + i, len - i, &cp, &inc);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

void nm_utf8_fix(char *s)
{
    unsigned char *u = (unsigned char *)s;
    size_t len = strlen(s), i = 0;
    while (i < len) {
        uint32_t cp;
        bool inc;
        size_t n = utf8_decode(u + i, len - i, &cp, &inc);
        if (n > 0) {
            i += n;
        } else if (inc) {
            u[i] = '\0'; /* a character cut by the end of the buffer */
            return;
        } else {
            u[i++] = '?';
        }
    }
}

static bool term_unsafe(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
           cp == 0x200f || cp == 0x061c;
}

char *nm_term_safe_bytes(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    struct nm_buf b;
    nm_buf_init(&b, SIZE_MAX);
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        bool inc;
        size_t n = utf8_decode(u + i, len - i, &cp, &inc);
        if (n == 0) {
            nm_buf_appendf(&b, "\\x%02x", u[i]);
            i++;
        } else if (cp == '\t' || !term_unsafe(cp)) {
            nm_buf_append(&b, s + i, n);
            i += n;
        } else if (cp < 0x80) {
            nm_buf_appendf(&b, "\\x%02x", (unsigned)cp);
            i++;
        } else {
            nm_buf_appendf(&b, "\\u{%04x}", (unsigned)cp);
            i += n;
        }
    }
    return nm_buf_steal(&b, NULL);
}

char *nm_term_safe(const char *s)
{
    if (!s)
        return nm_xstrdup("(none)");
    return nm_term_safe_bytes(s, strlen(s));
}

char *nm_term_vformat(const char *fmt, va_list ap)
{
    /* Never NULL from our callers; said outright, because the sanitizer
     * build's null-argument check otherwise leaves GCC a path to warn on. */
    if (!fmt)
        return nm_xstrdup("");
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return nm_xstrdup("(unprintable message)");
    char *raw = nm_xmalloc((size_t)n + 1);
    vsnprintf(raw, (size_t)n + 1, fmt, ap);
    char *safe = nm_term_safe_bytes(raw, (size_t)n);
    free(raw);
    return safe;
}
