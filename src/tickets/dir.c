/*
 * dir:PATH — one ticket, two files, kept current: PATH/FINGERPRINT.json (the
 * latest event, the ticket's state and the list of its events) and
 * PATH/FINGERPRINT.md (the same for people).  Both are replaced atomically;
 * an event whose id is already the last in the list is not added twice, so a
 * retry after a crash changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/outdir.h"
#include "tickets/sink.h"

#define TICKET_FILE_CAP (4u << 20)
#define HISTORY_KEEP    200

static bool fingerprint_ok(const char *fp)
{
    /* It becomes a file name: nothing but what a fingerprint is made of. */
    size_t n = strlen(fp);
    if (n == 0 || n > 128)
        return false;
    for (const char *p = fp; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

static json_t *previous_events(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    nm_diag ignored = {{0}};
    if (nm_read_file(path, TICKET_FILE_CAP, &data, &len, &ignored) < 0)
        return json_array();
    json_t *old = json_loadb(data, len, 0, NULL);
    free(data);
    json_t *ev = json_object_get(old, "events");
    json_t *copy = json_is_array(ev) ? json_deep_copy(ev) : json_array();
    json_decref(old);
    return copy;
}

int nm_sink_dir(struct nm_sink_call *c, nm_diag *d)
{
    const char *fp = nm_ev_str(c->event, "dedup_key");
    const char *action = nm_ev_str(c->event, "action");
    if (!fingerprint_ok(fp))
        return nm_diag_set(d, NM_ERR_INVAL, "event has no usable dedup_key");
    /* Tickets say what the reports say: the same modes (README "Reports"). */
    int mode = c->o->file_mode ? c->o->file_mode : NM_OUTDIR_FILE_MODE;
    int r = nm_mkdir_p(c->t->arg, nm_outdir_dir_mode(mode), d);
    if (r < 0)
        return r;
    char *jpath = nm_xasprintf("%s/%s.json", c->t->arg, fp);
    char *mpath = nm_xasprintf("%s/%s.md", c->t->arg, fp);
    json_t *events = previous_events(jpath);
    json_t *last = json_array_get(events, json_array_size(events) - 1);
    if (json_integer_value(json_object_get(last, "event_id")) != c->event_id) {
        json_t *entry = json_pack(
            "{s:I, s:s, s:s, s:O, s:s}", "event_id", (json_int_t)c->event_id, "action", action,
            "severity", nm_ev_str(c->event, "severity"), "previous_severity",
            json_object_get(c->event, "previous_severity"), "at", nm_ev_str(c->event, "at"));
        if (entry)
            json_array_append_new(events, entry);
        while (json_array_size(events) > HISTORY_KEEP)
            json_array_remove(events, 0);
    }
    json_t *doc = json_deep_copy(c->event);
    json_object_set_new(doc, "state",
                        json_string(strcmp(action, "resolve") == 0 ? "resolved" : "open"));
    json_object_set_new(doc, "events", events);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    struct nm_buf md;
    nm_buf_init(&md, TICKET_FILE_CAP);
    nm_buf_appendf(&md, "<!-- nearmiss:%s -->\n# [%s] ", fp,
                   strcmp(action, "resolve") == 0 ? "RESOLVED" : "OPEN");
    nm_md_inline(&md, nm_ev_str(c->event, "summary"));
    nm_buf_appends(&md, "\n\n");
    nm_ticket_markdown(c->event, &md);
    nm_buf_appends(&md, "### Events\n\n");
    size_t i;
    json_t *h;
    json_array_foreach (json_object_get(doc, "events"), i, h) {
        nm_buf_appends(&md, "- ");
        nm_md_inline(&md, nm_ev_str(h, "at"));
        nm_buf_appends(&md, " ");
        nm_md_inline(&md, nm_ev_str(h, "action"));
        nm_buf_appends(&md, " ");
        nm_md_inline(&md, nm_ev_str(h, "severity"));
        if (json_is_string(json_object_get(h, "previous_severity"))) {
            nm_buf_appends(&md, " \\(was ");
            nm_md_inline(&md, nm_ev_str(h, "previous_severity"));
            nm_buf_appends(&md, "\\)");
        }
        nm_buf_appends(&md, "\n");
    }

    /* Markdown first: the JSON is the record a retry compares against. */
    if (!text)
        r = nm_diag_set(d, NM_ERR_NOMEM, "cannot render the ticket file");
    if (r == 0)
        r = nm_write_atomic(mpath, md.data, md.len, mode, d);
    if (r == 0)
        r = nm_write_atomic(jpath, text, strlen(text), mode, d);
    free(text);
    json_decref(doc);
    nm_buf_finish(&md);
    free(jpath);
    free(mpath);
    return r;
}
