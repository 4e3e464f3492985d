/*
 * os_lifecycle: the os-lifecycle probe's output, os-release lines (ID,
 * VERSION_ID, ID_LIKE, VERSION_CODENAME, PRETTY_NAME, with os-release
 * quoting) and one "NM_EXTENDED=marker" line per extended support program
 * the probe found configured.  One item for the host; where the release
 * stands is added by the check (nearmiss/lifecycle.h), not here: a parser
 * only describes what it read.
 */
#include <string.h>

#include "nearmiss/util.h"
#include "parsers/builtin.h"
#include "parsers/cursor.h"

#define OS_VALUE_MAX 256
#define MAX_MARKERS  16
#define MAX_LINES    4096

/* os-release values may be quoted with " or ' and hold backslash escapes;
 * the unquoted form is what the shell would see. */
static json_t *os_value(struct nm_span v)
{
    char out[OS_VALUE_MAX];
    size_t o = 0;
    v = nm_span_trim(v);
    if (v.n >= 2 && (v.p[0] == '"' || v.p[0] == '\'') && v.p[v.n - 1] == v.p[0]) {
        char q = v.p[0];
        for (size_t i = 1; i + 1 < v.n && o < sizeof out; i++) {
            if (q == '"' && v.p[i] == '\\' && i + 2 < v.n)
                i++;
            out[o++] = v.p[i];
        }
    } else {
        for (size_t i = 0; i < v.n && o < sizeof out; i++)
            out[o++] = v.p[i];
    }
    return nm_json_string_sanitized(out, o, OS_VALUE_MAX);
}

static bool marker_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int nm_parse_os_lifecycle(const char *data, size_t len, const json_t *options, json_t **ret_items,
                          nm_diag *d)
{
    if (options && json_object_size(options))
        return nm_diag_set(d, NM_ERR_INVAL, "os_lifecycle takes no option");
    const char *cur = data ? data : "", *end = data ? data + len : cur;
    json_t *item = json_object(), *markers = json_array(), *like = json_array();
    struct nm_buf ev;
    struct nm_span line;
    size_t lines = 0;
    nm_buf_init(&ev, NM_PARSER_MAX_EVIDENCE);
    while (lines < MAX_LINES && nm_span_next_line(&cur, end, &line)) {
        struct nm_span rest = line, key;
        lines++;
        if (!nm_span_cut(&rest, '=', &key))
            continue;
        key = nm_span_trim(key);
        if (nm_span_eq(key, "NM_EXTENDED")) {
            struct nm_span m = nm_span_trim(rest);
            bool ok = m.n > 0 && m.n <= 64;
            for (size_t i = 0; ok && i < m.n; i++)
                ok = marker_char(m.p[i]);
            if (ok && json_array_size(markers) < MAX_MARKERS)
                json_array_append_new(markers, json_stringn(m.p, m.n));
            nm_evidence_add(&ev, line);
            continue;
        }
        static const struct {
            const char *from, *to;
        } keys[] = {{"ID", "os"},
                    {"VERSION_ID", "version_id"},
                    {"VERSION_CODENAME", "version_codename"},
                    {"PRETTY_NAME", "pretty_name"}};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            if (nm_span_eq(key, keys[i].from)) {
                json_object_set_new(item, keys[i].to, os_value(rest));
                nm_evidence_add(&ev, line);
            }
        }
        if (nm_span_eq(key, "ID_LIKE")) {
            json_t *v = os_value(rest);
            struct nm_span words = {json_string_value(v), json_string_length(v)}, w;
            json_array_clear(like);
            while (nm_span_next_tok(&words, &w) && json_array_size(like) < 16)
                json_array_append_new(like, json_stringn(w.p, w.n));
            json_decref(v);
        }
    }
    json_t *items = json_array();
    if (lines == 0) {
        /* Nothing at all: the empty input the check loader tries options on. */
        json_decref(item);
        json_decref(markers);
        json_decref(like);
    } else {
        if (!json_object_get(item, "os"))
            json_object_set_new(item, "os", json_string(""));
        json_object_set_new(item, "id_like", like);
        json_object_set_new(item, "extended_markers", markers);
        json_object_set_new(item, "evidence", nm_evidence_json(&ev));
        nm_push_item(items, item);
    }
    nm_buf_finish(&ev);
    *ret_items = items;
    return 0;
}
