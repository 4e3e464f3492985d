/*
 * A ticket as Markdown, for the dir: target's .md file and a GitHub issue's
 * body.  Host text is hostile: inline values are backslash-escaped (every
 * ASCII punctuation character, so no link, HTML tag or emphasis survives) and
 * multi-line text sits in a code fence longer than any backtick run inside.
 */
#include <string.h>

#include "tickets/sink.h"

const char *nm_ev_str(const json_t *event, const char *key)
{
    const char *s = json_string_value(json_object_get(event, key));
    return s ? s : "";
}

void nm_md_inline(struct nm_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            nm_buf_append(b, " ", 1);
        } else if (strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", *p)) {
            char esc[2] = {'\\', (char)*p};
            nm_buf_append(b, esc, 2);
        } else {
            nm_buf_append(b, p, 1);
        }
    }
}

void nm_md_fenced(struct nm_buf *b, const char *s)
{
    size_t run = 0, longest = 0;
    for (const char *p = s; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    size_t fence = longest < 3 ? 3 : longest + 1;
    for (size_t i = 0; i < fence; i++)
        nm_buf_append(b, "`", 1);
    nm_buf_appends(b, "text\n");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* Keep lines and tabs; other control bytes could drive a terminal
         * that shows the file. */
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            nm_buf_append(b, " ", 1);
        else
            nm_buf_append(b, p, 1);
    }
    if (!*s || s[strlen(s) - 1] != '\n')
        nm_buf_append(b, "\n", 1);
    for (size_t i = 0; i < fence; i++)
        nm_buf_append(b, "`", 1);
    nm_buf_append(b, "\n", 1);
}

static void field(struct nm_buf *b, const char *name, const char *value)
{
    if (!value || !*value)
        return;
    nm_buf_appendf(b, "- **%s:** ", name);
    nm_md_inline(b, value);
    nm_buf_append(b, "\n", 1);
}

void nm_ticket_markdown(const json_t *e, struct nm_buf *b)
{
    nm_buf_appends(b, "## ");
    nm_md_inline(b, nm_ev_str(e, "summary"));
    nm_buf_appends(b, "\n\n");
    field(b, "Severity", nm_ev_str(e, "severity"));
    field(b, "Previous severity", nm_ev_str(e, "previous_severity"));
    field(b, "Host", nm_ev_str(e, "host"));
    const json_t *hosts = json_object_get(e, "hosts");
    if (json_array_size(hosts)) {
        size_t i;
        const json_t *h;
        nm_buf_appends(b, "- **Hosts:** ");
        json_array_foreach (hosts, i, h) {
            if (i)
                nm_buf_appends(b, ", ");
            nm_md_inline(b, json_string_value(h) ? json_string_value(h) : "?");
        }
        nm_buf_append(b, "\n", 1);
    }
    field(b, "Check", nm_ev_str(e, "check"));
    field(b, "Category", nm_ev_str(e, "category"));
    field(b, "Subject", nm_ev_str(e, "subject"));
    field(b, "First seen", nm_ev_str(e, "first_seen"));
    field(b, "Fingerprint", nm_ev_str(e, "dedup_key"));
    nm_buf_append(b, "\n", 1);
    if (*nm_ev_str(e, "message")) {
        nm_buf_appends(b, "### Message\n\n");
        nm_md_fenced(b, nm_ev_str(e, "message"));
        nm_buf_append(b, "\n", 1);
    }
    if (*nm_ev_str(e, "evidence")) {
        nm_buf_appends(b, "### Evidence\n\n");
        nm_md_fenced(b, nm_ev_str(e, "evidence"));
        nm_buf_append(b, "\n", 1);
    }
    if (*nm_ev_str(e, "remediation")) {
        nm_buf_appends(b, "### Remediation\n\n");
        nm_md_fenced(b, nm_ev_str(e, "remediation"));
        nm_buf_append(b, "\n", 1);
    }
}
