/*
 * Where a key path sits in a JSON text (include/nearmiss/jsonpos.h).
 * jansson reports positions only for syntax errors, so a loader that finds a
 * bad value afterwards walks the raw text along the value's path: strings and
 * nested values are skipped by their brackets and quotes, keys compared
 * after decoding their escapes.
 */
#include <stdbool.h>
#include <string.h>

#include "nearmiss/jsonpos.h"

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p is at the opening quote; returns just past the closing one. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') {
            if (++p >= end)
                break;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return end;
}

static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return end;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        size_t depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                continue;
            }
            if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
            p++;
        }
        return end;
    }
    while (p < end && *p != ',' && *p != ']' && *p != '}' && *p != ' ' && *p != '\t' &&
           *p != '\n' && *p != '\r')
        p++;
    return p;
}

static int hex4(const char *p, const char *end, unsigned *ret)
{
    unsigned v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *ret = v;
    return 0;
}

static size_t utf8_encode(unsigned cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes escapes while comparing, so a key written "z\u006fne" is still found. */
static bool string_equals(const char *p, const char *end, const char *s)
{
    for (p++; p < end && *p != '"';) {
        char buf[4];
        size_t n = 1;
        if (*p != '\\') {
            buf[0] = *p++;
        } else {
            if (end - p < 2)
                return false;
            char e = p[1];
            p += 2;
            switch (e) {
            case 'b':
                buf[0] = '\b';
                break;
            case 'f':
                buf[0] = '\f';
                break;
            case 'n':
                buf[0] = '\n';
                break;
            case 'r':
                buf[0] = '\r';
                break;
            case 't':
                buf[0] = '\t';
                break;
            case 'u': {
                unsigned cp, lo;
                if (hex4(p, end, &cp) < 0)
                    return false;
                p += 4;
                if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
                    hex4(p + 2, end, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                }
                n = utf8_encode(cp, buf);
                break;
            }
            default:
                buf[0] = e;
                break;
            }
        }
        if (strncmp(s, buf, n) != 0)
            return false;
        s += n;
    }
    return *s == '\0';
}

size_t nm_json_line_of(const char *text, size_t len, const struct nm_json_seg *path, size_t depth)
{
    const char *end = text + len;
    const char *p = skip_ws(text, end);
    const char *best = p;

    for (size_t i = 0; i < depth && p < end; i++) {
        const struct nm_json_seg *s = &path[i];
        bool found = false;
        if (!s->key) {
            if (*p != '[')
                break;
            p = skip_ws(p + 1, end);
            for (size_t k = 0; p < end && *p != ']'; k++) {
                if (k == s->index) {
                    found = true;
                    break;
                }
                p = skip_ws(skip_value(p, end), end);
                if (p < end && *p == ',')
                    p = skip_ws(p + 1, end);
            }
            if (found)
                best = p;
        } else {
            if (*p != '{')
                break;
            p = skip_ws(p + 1, end);
            while (p < end && *p == '"') {
                const char *key = p;
                bool match = string_equals(p, end, s->key);
                p = skip_ws(skip_string(p, end), end);
                if (p < end && *p == ':')
                    p = skip_ws(p + 1, end);
                if (match) {
                    best = key;
                    found = true;
                    break;
                }
                p = skip_ws(skip_value(p, end), end);
                if (p < end && *p == ',')
                    p = skip_ws(p + 1, end);
            }
        }
        if (!found)
            break;
    }

    size_t line = 1;
    for (const char *q = text; q < best; q++)
        if (*q == '\n')
            line++;
    return line;
}
