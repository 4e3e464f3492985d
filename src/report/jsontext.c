/* JSON text as the reports write it (nearmiss/jsontext.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "nearmiss/error.h"
#include "nearmiss/jsontext.h"
#include "nearmiss/utf8.h"

static void newline(struct nm_buf *b, int level)
{
    static const char spaces[] = "\n                                                                ";
    size_t n = (size_t)level * 2;
    nm_buf_append(b, spaces, 1);
    while (n > 0) {
        size_t k = n < sizeof spaces - 2 ? n : sizeof spaces - 2;
        nm_buf_append(b, spaces + 1, k);
        n -= k;
    }
}

/* A string as jansson escapes it: quote, backslash and the controls below
 * U+0020 (the short forms where JSON has them, else \u00XX in capitals);
 * everything else, DEL and all of Unicode included, as it is. */
static int string(struct nm_buf *b, const char *s, size_t len)
{
    const char *p = s, *end = s + len, *run = s;
    nm_buf_append(b, "\"", 1);
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            p++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = nm_utf8_char_len(p, end);
            if (n == 0)
                return NM_ERR_INVAL;
            p += n;
            continue;
        }
        nm_buf_append(b, run, (size_t)(p - run));
        char esc[8];
        const char *e = esc;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        default: snprintf(esc, sizeof esc, "\\u%04X", c); break;
        }
        nm_buf_appends(b, e);
        run = ++p;
    }
    nm_buf_append(b, run, (size_t)(p - run));
    nm_buf_append(b, "\"", 1);
    return 0;
}

/* A real as jansson writes it: fifteen significant digits (%g), a '.'
 * whatever the locale's decimal point, ".0" when the text would read back
 * as an integer, and an exponent without '+' or leading zeros (1e+20 is
 * 1e20, 1e-05 is 1e-5). */
static int real(struct nm_buf *b, double v)
{
    char t[64];
    int n = snprintf(t, sizeof t, "%.15g", v);
    if (n <= 0 || (size_t)n >= sizeof t)
        return NM_ERR_INVAL; /* not for a finite double; never half a number */
    for (char *q = t; *q; q++)
        if (*q == ',')
            *q = '.';
    char *e = strchr(t, 'e');
    if (!e) {
        nm_buf_appends(b, t);
        if (!strchr(t, '.'))
            nm_buf_append(b, ".0", 2);
        return 0;
    }
    nm_buf_append(b, t, (size_t)(e + 1 - t));
    const char *x = e + 1;
    if (*x == '-')
        nm_buf_append(b, x++, 1);
    else if (*x == '+')
        x++;
    while (*x == '0' && x[1])
        x++;
    nm_buf_appends(b, x);
    return 0;
}

static int value(struct nm_buf *b, const json_t *v, int level)
{
    char num[32];
    if (level > NM_JSONTEXT_MAX_DEPTH)
        return NM_ERR_INVAL;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        void *it = json_object_iter((json_t *)v);
        if (!it) {
            nm_buf_append(b, "{}", 2);
            return 0;
        }
        nm_buf_append(b, "{", 1);
        for (bool first = true; it; it = json_object_iter_next((json_t *)v, it), first = false) {
            if (!first)
                nm_buf_append(b, ",", 1);
            newline(b, level + 1);
            const char *key = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
            size_t klen = json_object_iter_key_len(it);
#else
            size_t klen = strlen(key);
#endif
            int r = string(b, key, klen);
            if (r < 0)
                return r;
            nm_buf_append(b, ": ", 2);
            if ((r = value(b, json_object_iter_value(it), level + 1)) < 0)
                return r;
        }
        newline(b, level);
        nm_buf_append(b, "}", 1);
        return 0;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (n == 0) {
            nm_buf_append(b, "[]", 2);
            return 0;
        }
        nm_buf_append(b, "[", 1);
        for (size_t i = 0; i < n; i++) {
            if (i)
                nm_buf_append(b, ",", 1);
            newline(b, level + 1);
            int r = value(b, json_array_get(v, i), level + 1);
            if (r < 0)
                return r;
        }
        newline(b, level);
        nm_buf_append(b, "]", 1);
        return 0;
    }
    case JSON_STRING:
        return string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        nm_buf_appends(b, num);
        return 0;
    case JSON_REAL:
        return real(b, json_real_value(v));
    case JSON_TRUE:
        nm_buf_append(b, "true", 4);
        return 0;
    case JSON_FALSE:
        nm_buf_append(b, "false", 5);
        return 0;
    case JSON_NULL:
        nm_buf_append(b, "null", 4);
        return 0;
    }
    return NM_ERR_INVAL;
}

int nm_json_indented(struct nm_buf *b, const json_t *v, int depth)
{
    return v ? value(b, v, depth) : NM_ERR_INVAL;
}
