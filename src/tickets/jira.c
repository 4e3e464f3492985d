/*
 * jira:PROJECT — the REST API v2 (plain-text description and comments; v3
 * would need Atlassian Document Format for the same), basic auth with
 * JIRA_USER and JIRA_TOKEN:
 *   open    POST /rest/api/2/issue                       (201; keeps "key")
 *   update  POST /rest/api/2/issue/KEY/comment           (201)
 *   resolve GET  /rest/api/2/issue/KEY/transitions, then
 *           POST /rest/api/2/issue/KEY/transitions with the transition that
 *           leads to the "done" status category            (204)
 * The issue carries the labels "nearmiss" and "nearmiss-FINGERPRINT".
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nearmiss/tickets.h"
#include "tickets/sink.h"

static const char *const headers[] = {"Accept: application/json", "Content-Type: application/json",
                                      NULL};

struct jira {
    struct nm_sink_call *c;
    const char *base;
    struct nm_http_auth auth;
    const char *secrets[3];
};

/* One request; 2xx or a diagnostic.  *ret_body only on success. */
static int call(struct jira *j, const char *method, char *url, json_t *b, char **ret_body,
                nm_diag *d)
{
    char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    char *resp = NULL;
    long status = 0;
    int r = nm_http_request(j->c->o, method, url, headers, &j->auth, body, &status, &resp, d);
    if (r == 0 && (status < 200 || status > 299))
        r = nm_http_fail(d, method, url, status, resp, j->secrets);
    if (r == 0 && ret_body)
        *ret_body = resp;
    else
        free(resp);
    free(body);
    free(url);
    json_decref(b);
    return r;
}

/* {noformat} keeps host text from being read as Jira wiki markup; a
 * {noformat} inside it is broken up so it cannot end the block. */
static void append_noformat(struct nm_buf *t, const char *v)
{
    nm_buf_appends(t, "{noformat}\n");
    for (const char *p = v; *p; p++) {
        if (strncmp(p, "{noformat}", 10) == 0) {
            nm_buf_appends(t, "{ noformat}");
            p += 9;
        } else {
            nm_buf_append(t, p, 1);
        }
    }
    nm_buf_appends(t, "\n{noformat}\n");
}

static json_t *text_value(struct nm_buf *t)
{
    json_t *s = json_stringn(t->data, t->len);
    nm_buf_finish(t);
    return s ? s : json_string("");
}

static json_t *description(const json_t *e)
{
    struct nm_buf t;
    nm_buf_init(&t, 1u << 20);
    static const char *const keys[] = {"severity", "host",       "check",    "category",
                                       "subject",  "first_seen", "dedup_key"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (*nm_ev_str(e, keys[i]))
            nm_buf_appendf(&t, "%s: %s\n", keys[i], nm_ev_str(e, keys[i]));
    static const char *const blocks[] = {"message", "evidence", "remediation"};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        const char *v = nm_ev_str(e, blocks[i]);
        if (!*v)
            continue;
        nm_buf_appendf(&t, "\n%s:\n", blocks[i]);
        append_noformat(&t, v);
    }
    return text_value(&t);
}

static json_t *comment(const json_t *e)
{
    struct nm_buf t;
    nm_buf_init(&t, 1u << 20);
    nm_buf_appendf(&t, "nearmiss: severity changed from %s to %s (%s).\n\n",
                   nm_ev_str(e, "previous_severity"), nm_ev_str(e, "severity"), nm_ev_str(e, "at"));
    append_noformat(&t, nm_ev_str(e, "message"));
    return text_value(&t);
}

static int resolve(struct jira *j, nm_diag *d)
{
    const char *key = j->c->remote_id;
    char *resp = NULL;
    int r = call(j, "GET", nm_http_url(j->base, "/rest/api/2/issue/%s/transitions", key), NULL,
                 &resp, d);
    if (r < 0)
        return r;
    json_t *doc = json_loads(resp, 0, NULL);
    free(resp);
    size_t i;
    json_t *t;
    const char *id = NULL;
    /* Workflows name their transitions freely; the status category "done"
     * is what every workflow's finishing statuses share.  By name only when
     * the server says nothing about categories. */
    json_array_foreach (json_object_get(doc, "transitions"), i, t) {
        const json_t *cat =
            json_object_get(json_object_get(json_object_get(t, "to"), "statusCategory"), "key");
        if (json_is_string(cat) && strcmp(json_string_value(cat), "done") == 0) {
            id = json_string_value(json_object_get(t, "id"));
            break;
        }
    }
    json_array_foreach (json_object_get(doc, "transitions"), i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (!id && name &&
            (strcasecmp(name, "done") == 0 || strcasecmp(name, "resolve") == 0 ||
             strcasecmp(name, "resolve issue") == 0 || strcasecmp(name, "close") == 0 ||
             strcasecmp(name, "close issue") == 0))
            id = json_string_value(json_object_get(t, "id"));
    }
    if (!id) {
        /* Closed by hand already?  Then there is nothing left to do. */
        r = call(j, "GET", nm_http_url(j->base, "/rest/api/2/issue/%s?fields=status", key), NULL,
                 &resp, d);
        if (r == 0) {
            json_t *issue = json_loads(resp, 0, NULL);
            const char *cat = json_string_value(json_object_get(
                json_object_get(json_object_get(json_object_get(issue, "fields"), "status"),
                                "statusCategory"),
                "key"));
            if (!cat || strcmp(cat, "done") != 0)
                r = nm_diag_set(d, NM_ERR_NOTFOUND,
                                "%s: no transition to a done status is available", key);
            json_decref(issue);
            free(resp);
        }
        json_decref(doc);
        return r;
    }
    r = call(j, "POST", nm_http_url(j->base, "/rest/api/2/issue/%s/transitions", key),
             json_pack("{s:{s:s}}", "transition", "id", id), NULL, d);
    json_decref(doc);
    return r;
}

static bool issue_key_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 80)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

int nm_sink_jira(struct nm_sink_call *c, nm_diag *d)
{
    const char *user = getenv("JIRA_USER"), *token = getenv("JIRA_TOKEN");
    if (!user || !*user || !token || !*token)
        return nm_diag_set(d, NM_ERR_CONFIG, "JIRA_USER and JIRA_TOKEN must be set");
    if (!c->o->jira_url || !*c->o->jira_url)
        return nm_diag_set(d, NM_ERR_CONFIG, "--jira-url is not set");
    struct jira j = {.c = c,
                     .base = c->o->jira_url,
                     .auth = {.user = user, .password = token},
                     .secrets = {token, user, NULL}};
    const json_t *e = c->event;
    const char *action = nm_ev_str(e, "action");
    if (strcmp(action, "open") == 0) {
        char label[160], summary[256];
        snprintf(label, sizeof label, "nearmiss-%s", nm_ev_str(e, "dedup_key"));
        /* Jira summaries are one line of at most 255 characters. */
        snprintf(summary, sizeof summary, "[%s] %s", nm_ev_str(e, "severity"),
                 nm_ev_str(e, "summary"));
        for (char *p = summary; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        json_t *b = json_pack("{s:{s:{s:s}, s:{s:s}, s:s, s:o, s:[s,s]}}", "fields", "project",
                              "key", c->t->arg, "issuetype", "name",
                              c->o->jira_issue_type ? c->o->jira_issue_type : "Task", "summary",
                              summary, "description", description(e), "labels", "nearmiss", label);
        char *resp = NULL;
        int r = call(&j, "POST", nm_http_url(j.base, "/rest/api/2/issue"), b, &resp, d);
        if (r < 0)
            return r;
        json_t *doc = json_loads(resp, 0, NULL);
        const char *key = json_string_value(json_object_get(doc, "key"));
        if (issue_key_ok(key))
            c->new_remote_id = nm_xstrdup(key);
        else
            r = nm_diag_set(d, NM_ERR_PARSE, "Jira created an issue but sent no usable key");
        json_decref(doc);
        free(resp);
        return r;
    }
    if (!issue_key_ok(c->remote_id))
        return nm_diag_set(d, NM_ERR_NOTFOUND, "no Jira issue key known for %.80s",
                           nm_ev_str(e, "dedup_key"));
    if (strcmp(action, "resolve") == 0)
        return resolve(&j, d);
    int r = call(&j, "POST", nm_http_url(j.base, "/rest/api/2/issue/%s/comment", c->remote_id),
                 json_pack("{s:o}", "body", comment(e)), NULL, d);
    return r;
}
