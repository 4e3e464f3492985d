/*
 * github:OWNER/REPO — the REST API with GITHUB_TOKEN:
 *   open    POST  /repos/OWNER/REPO/issues                 (201; keeps "number")
 *   update  POST  /repos/OWNER/REPO/issues/N/comments      (201)
 *   resolve PATCH /repos/OWNER/REPO/issues/N  state=closed (200)
 * The issue body carries a hidden marker, <!-- nearmiss:FINGERPRINT -->, so
 * the issue can be found by its finding (search "nearmiss:FINGERPRINT").
 */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/tickets.h"
#include "tickets/sink.h"

static const char *const headers[] = {"Accept: application/vnd.github+json",
                                      "X-GitHub-Api-Version: 2022-11-28",
                                      "Content-Type: application/json", NULL};

static json_t *open_body(const json_t *e)
{
    struct nm_buf md;
    nm_buf_init(&md, 1u << 20);
    nm_buf_appendf(&md, "<!-- nearmiss:%s -->\n", nm_ev_str(e, "dedup_key"));
    nm_ticket_markdown(e, &md);
    nm_buf_appends(&md, "_Opened by nearmiss; it comments when the severity changes and closes "
                        "this issue when the finding is resolved._\n");
    /* Titles are plain text on GitHub; keep them to one short line. */
    char title[257];
    snprintf(title, sizeof title, "[%s] %s", nm_ev_str(e, "severity"), nm_ev_str(e, "summary"));
    for (char *p = title; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    json_t *b = json_pack("{s:s, s:s%, s:[s]}", "title", title, "body", md.data, md.len, "labels",
                          "nearmiss");
    nm_buf_finish(&md);
    return b;
}

static json_t *comment_body(const json_t *e)
{
    struct nm_buf md;
    nm_buf_init(&md, 1u << 20);
    nm_buf_appendf(&md, "Severity changed from **%s** to **%s** (%s).\n\n",
                   nm_ev_str(e, "previous_severity"), nm_ev_str(e, "severity"), nm_ev_str(e, "at"));
    if (*nm_ev_str(e, "message"))
        nm_md_fenced(&md, nm_ev_str(e, "message"));
    json_t *b = json_pack("{s:s%}", "body", md.data, md.len);
    nm_buf_finish(&md);
    return b;
}

static bool issue_number_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 12)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int nm_sink_github(struct nm_sink_call *c, nm_diag *d)
{
    const char *base = c->o->github_url ? c->o->github_url : NM_TICKET_DEFAULT_GITHUB_URL;
    const char *token = getenv("GITHUB_TOKEN");
    const char *action = nm_ev_str(c->event, "action");
    if (!token || !*token)
        return nm_diag_set(d, NM_ERR_CONFIG, "GITHUB_TOKEN is not set");
    const char *secrets[] = {token, NULL};
    struct nm_http_auth auth = {.bearer = token};
    bool open = strcmp(action, "open") == 0;
    bool resolve = strcmp(action, "resolve") == 0;
    if (!open && !issue_number_ok(c->remote_id))
        return nm_diag_set(d, NM_ERR_NOTFOUND, "no issue number known for %.80s",
                           nm_ev_str(c->event, "dedup_key"));
    char *url, *body = NULL, *resp = NULL;
    const char *method = resolve ? "PATCH" : "POST";
    json_t *b;
    if (open) {
        url = nm_http_url(base, "/repos/%s/issues", c->t->arg);
        b = open_body(c->event);
    } else if (resolve) {
        url = nm_http_url(base, "/repos/%s/issues/%s", c->t->arg, c->remote_id);
        b = json_pack("{s:s, s:s}", "state", "closed", "state_reason", "completed");
    } else {
        url = nm_http_url(base, "/repos/%s/issues/%s/comments", c->t->arg, c->remote_id);
        b = comment_body(c->event);
    }
    body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    long status = 0;
    int r = body ? nm_http_request(c->o, method, url, headers, &auth, body, &status, &resp, d)
                 : nm_diag_set(d, NM_ERR_NOMEM, "cannot render the GitHub request");
    if (r == 0 && (status < 200 || status > 299))
        r = nm_http_fail(d, method, url, status, resp, secrets);
    if (r == 0 && open) {
        json_t *j = json_loads(resp, 0, NULL);
        json_int_t n = json_integer_value(json_object_get(j, "number"));
        if (n > 0)
            c->new_remote_id = nm_xasprintf("%" JSON_INTEGER_FORMAT, n);
        else
            r = nm_diag_set(d, NM_ERR_PARSE, "POST %s: HTTP %ld but no issue number in the answer",
                            url, status);
        json_decref(j);
    }
    json_decref(b);
    free(body);
    free(resp);
    free(url);
    return r;
}
