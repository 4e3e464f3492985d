/* Bounded cursor parsing over host bytes: see cursor.h. */
#include <stdio.h>
#include <string.h>

#include "nearmiss/utf8.h"
#include "parsers/cursor.h"

struct nm_span nm_span_range(const char *s, const char *e)
{
    return (struct nm_span){s, s && e > s ? (size_t)(e - s) : 0};
}

bool nm_span_next_line(const char **cur, const char *end, struct nm_span *ret)
{
    const char *s = *cur;
    if (!s || s >= end)
        return false;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl ? nl : end;
    *cur = nl ? nl + 1 : end;
    if (e > s && e[-1] == '\r')
        e--;
    ret->p = s;
    ret->n = (size_t)(e - s);
    return true;
}

struct nm_span nm_span_ltrim(struct nm_span s)
{
    while (s.n > 0 && nm_is_blank(s.p[0])) {
        s.p++;
        s.n--;
    }
    return s;
}

struct nm_span nm_span_trim(struct nm_span s)
{
    s = nm_span_ltrim(s);
    while (s.n > 0 && nm_is_blank(s.p[s.n - 1]))
        s.n--;
    return s;
}

static bool is_space_or_eol(char c)
{
    return nm_is_blank(c) || c == '\n' || c == '\r';
}

struct nm_span nm_span_trim_crlf(struct nm_span s)
{
    while (s.n > 0 && is_space_or_eol(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_space_or_eol(s.p[s.n - 1]))
        s.n--;
    return s;
}

bool nm_span_is_blank(struct nm_span s)
{
    return nm_span_trim(s).n == 0;
}

struct nm_span nm_span_after(struct nm_span s, size_t k)
{
    if (k >= s.n)
        return (struct nm_span){nm_span_end(s), 0};
    return (struct nm_span){s.p + k, s.n - k};
}

bool nm_span_next_tok(struct nm_span *rest, struct nm_span *tok)
{
    size_t i = 0;
    while (i < rest->n && nm_is_blank(rest->p[i]))
        i++;
    if (i == rest->n) {
        *rest = nm_span_after(*rest, i);
        return false;
    }
    size_t j = i;
    while (j < rest->n && !nm_is_blank(rest->p[j]))
        j++;
    tok->p = rest->p + i;
    tok->n = j - i;
    rest->p += j;
    rest->n -= j;
    return true;
}

size_t nm_span_split(struct nm_span line, struct nm_span *toks, size_t max)
{
    size_t n = 0;
    struct nm_span t;
    while (nm_span_next_tok(&line, &t)) {
        if (n < max)
            toks[n] = t;
        if (++n > max)
            break;
    }
    return n;
}

bool nm_span_cut(struct nm_span *rest, char sep, struct nm_span *field)
{
    const char *c = rest->n ? memchr(rest->p, sep, rest->n) : NULL;
    if (!c) {
        *field = *rest;
        *rest = nm_span_after(*rest, rest->n);
        return false;
    }
    size_t k = (size_t)(c - rest->p);
    *field = (struct nm_span){rest->p, k};
    *rest = nm_span_after(*rest, k + 1);
    return true;
}

bool nm_span_eq(struct nm_span s, const char *lit)
{
    size_t l = strlen(lit);
    return s.n == l && (l == 0 || memcmp(s.p, lit, l) == 0);
}

static bool prefix_nocase(const char *p, const char *lit, size_t l)
{
    for (size_t i = 0; i < l; i++)
        if (nm_ascii_lower(p[i]) != nm_ascii_lower(lit[i]))
            return false;
    return true;
}

bool nm_span_eq_nocase(struct nm_span s, const char *lit)
{
    size_t l = strlen(lit);
    return s.n == l && prefix_nocase(s.p, lit, l);
}

bool nm_span_has_prefix(struct nm_span s, const char *lit)
{
    size_t l = strlen(lit);
    return s.n >= l && (l == 0 || memcmp(s.p, lit, l) == 0);
}

bool nm_span_has_prefix_nocase(struct nm_span s, const char *lit)
{
    size_t l = strlen(lit);
    return s.n >= l && prefix_nocase(s.p, lit, l);
}

bool nm_span_has_suffix(struct nm_span s, const char *lit)
{
    size_t l = strlen(lit);
    return s.n >= l && (l == 0 || memcmp(s.p + s.n - l, lit, l) == 0);
}

const char *nm_span_find(struct nm_span s, const char *lit)
{
    if (s.n == 0)
        return NULL;
    return memmem(s.p, s.n, lit, strlen(lit));
}

const char *nm_span_find_nocase(struct nm_span s, const char *lit)
{
    /* Naive, which is fine for the short spans and needles it is used on
     * (callers bound the span, e.g. to the first bytes of a log line). */
    size_t l = strlen(lit);
    for (size_t i = 0; l <= s.n && i <= s.n - l; i++)
        if (prefix_nocase(s.p + i, lit, l))
            return s.p + i;
    return NULL;
}

int nm_span_to_u64(struct nm_span s, uint64_t *ret)
{
    if (s.n == 0)
        return NM_ERR_PARSE;
    const char *p = s.p, *end = s.p + s.n;
    uint64_t v;
    if (nm_parse_u64(&p, end, &v) < 0 || p != end)
        return NM_ERR_PARSE;
    *ret = v;
    return 0;
}

int nm_span_to_i64(struct nm_span s, int64_t *ret)
{
    if (s.n == 0)
        return NM_ERR_PARSE;
    const char *p = s.p, *end = s.p + s.n;
    int64_t v;
    if (nm_parse_i64(&p, end, &v) < 0 || p != end)
        return NM_ERR_PARSE;
    *ret = v;
    return 0;
}

json_t *nm_span_json(struct nm_span s, size_t max)
{
    return nm_json_string_sanitized(s.p ? s.p : "", s.p ? s.n : 0, max);
}

json_t *nm_span_evidence(struct nm_span s)
{
    return nm_span_json(s, NM_PARSER_MAX_EVIDENCE);
}

void nm_span_quote(struct nm_span s, size_t max, char *out, size_t outsz)
{
    json_t *j = nm_span_json(s, max);
    const char *v = json_string_value(j);
    snprintf(out, outsz, "%s", v ? v : "");
    json_decref(j);
}

void nm_evidence_add(struct nm_buf *ev, struct nm_span line)
{
    if (!line.p || ev->len >= ev->cap)
        return;
    if (ev->len)
        nm_buf_append(ev, "\n", 1);
    nm_buf_append(ev, line.p, line.n);
}

json_t *nm_evidence_json(const struct nm_buf *ev)
{
    return nm_json_string_sanitized(ev->data ? ev->data : "", ev->len, NM_PARSER_MAX_EVIDENCE);
}

bool nm_push_item(json_t *items, json_t *item)
{
    if (json_array_size(items) >= NM_PARSER_MAX_ITEMS) {
        json_decref(item);
        return false;
    }
    json_array_append_new(items, item);
    return true;
}
